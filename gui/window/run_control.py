"""The main window's run control: Start / Pause / Resume / Stop, the queue of runs waiting to be computed, the
:class:`gui.worker.RunWorker` life cycle, and the status bar's progress line.

:class:`RunControl` is one part (a mixin) of :class:`gui.window.main_window.MainWindow`. Every run is computed by a
RunWorker with its own project connection. Threads: worker signals are queued to the GUI thread and connected
only to bound methods of the window (a lambda receiver would run in the worker thread); a signal from a worker
that has been stopped and replaced is ignored (:meth:`RunControl._from_current_worker`).
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QLabel, QMainWindow, QProgressBar

from core.engine import RunSpec
from core.runner import create_runs, version_change
from core.store import Project, ProjectError, RunInfo
from gui.cache import RunCache
from gui.demo import DEMO_READY
from gui.dialogs import Dialogs
from gui.icons import glyph_icon
from gui.panels.generation_panel import GenerationPanel
from gui.panels.run_panel import RunPanel
from gui.panels.runs_panel import RunsPanel, is_resumable
from gui.panels.scrubber import Scrubber
from gui.worker import RunWorker

log = logging.getLogger("collapse_lab.window")

FOLLOW_INTERVAL_S = 1 / 15  # "follow latest" moves the views at most this often while a run computes


def _worth_showing(message: str | None) -> bool:
    """A finished run's stored message, unless it is a leftover pause/stop note."""
    if not message:
        return False
    low = message.lower()
    return not (low.startswith("paused after") or low.startswith("stopped after") or low == "not started yet"
                or "resume to continue" in low)


def _fmt_eta(seconds: float) -> str:
    if seconds < 1:
        return "< 1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class RunControl(QMainWindow):
    """Start, pause, resume and stop runs; queue them; follow the worker's progress."""

    project: Project | None
    dialogs: Dialogs
    cache: RunCache | None
    generation_panel: GenerationPanel
    runs_panel: RunsPanel
    run_panel: RunPanel
    scrubber: Scrubber
    status_label: QLabel
    progress: QProgressBar
    _current: RunInfo | None
    _selected: list[RunInfo]
    _is_demo: bool
    _autoplay_run: int | None

    def _init_run_state(self) -> None:
        self._worker: RunWorker | None = None
        self._retired: list[RunWorker] = []  # ended workers whose last queued signals may still be on the way
        self._queue: list[int] = []  # runs waiting to be computed, in order (after the worker's run)
        self._paused: list[int] = []  # runs paused by Pause (Resume continues them first)
        self._stop_mode: str | None = None  # 'pause' or 'stop' while a stop request is pending
        self._run_started_at = 0.0
        self._run_first_generation = 0
        self._last_follow = 0.0

    def _build_run_actions(self) -> None:
        self.start_action = self._action("&Start", self.run_panel.request_start, "F5",
                                         "Create a run from Run setup and compute it", glyph_icon("start"))
        self.pause_action = self._action("&Pause", self.pause_run, "F6",
                                         "Pause after the current generation", glyph_icon("run-pause"))
        self.resume_action = self._action("&Resume", self.resume_run, "Ctrl+R",
                                          "Continue the paused run, or the selected interrupted runs",
                                          glyph_icon("resume"))
        self.stop_action = self._action("S&top", self.stop_run, "Shift+F5",
                                        "Stop after the current generation (the run stays resumable)",
                                        glyph_icon("stop"))

    def _run_control_actions(self) -> tuple[QAction, ...]:
        """Start, Pause, Resume, Stop (for the Run menu and the toolbar)."""
        return (self.start_action, self.pause_action, self.resume_action, self.stop_action)

    def _connect_run_panel(self) -> None:
        rp = self.run_panel
        rp.start_requested.connect(self.start_run)
        rp.pause_requested.connect(self.pause_run)
        rp.resume_requested.connect(self.resume_run)
        rp.stop_requested.connect(self.stop_run)
        rp.start_enabled_changed.connect(self.start_action.setEnabled)

    def _update_run_actions(self) -> None:
        writable = self.project is not None and not self.project.readonly
        running = self._worker is not None
        stopping = running and self._worker.stop_requested  # type: ignore[union-attr]
        resumable_sel = bool(self.runs_panel.resumable_selected()) or (
            self._current is not None and is_resumable(self._current))
        can_resume = writable and not running and (bool(self._paused) or resumable_sel)
        can_pause = running and not stopping
        can_stop = (running and not stopping) or (not running and bool(self._paused))
        self.run_panel.set_run_state(running=running, can_pause=can_pause, can_resume=can_resume, can_stop=can_stop)
        self.runs_panel.set_pending(self._queue, self._paused)
        self.start_action.setEnabled(self.run_panel.start_button.isEnabled())
        self.pause_action.setEnabled(can_pause)
        self.resume_action.setEnabled(can_resume)
        self.stop_action.setEnabled(can_stop)

    # ---- commands -----------------------------------------------------------------------------------------------
    @property
    def worker(self) -> RunWorker | None:
        """The worker computing a run now, if any."""
        return self._worker

    def is_running(self) -> bool:
        """Whether a run is being computed now."""
        return self._worker is not None

    def start_run(self, spec: RunSpec, replicates: int = 1, name: str = "") -> list[int]:
        """Create runs from a validated spec (R replicates) and compute them one after the other."""
        if self.project is None or self.project.readonly:
            return []
        if self._worker is not None:
            self.show_error("A run is in progress", "Wait for it to finish, or pause it, before starting another.")
            return []
        try:
            ids = create_runs(self.project, spec, replicates, name or None)
        except ProjectError as exc:
            self.show_error("Cannot start the run", str(exc))
            return []
        except Exception as exc:
            self._unexpected("creating the run", exc)
            return []
        self._paused = []  # a new run replaces whatever was paused (those runs stay resumable individually)
        self.reload_runs()
        self.scrubber.follow_box.setChecked(True)
        self.runs_panel.select_runs(ids, ids[0])
        self._queue = list(ids)
        self._start_next()
        return ids

    def _start_next(self) -> None:
        if self._worker is not None or not self._queue or self.project is None:
            self._update_actions()
            return
        run_id = self._queue.pop(0)
        from gui.preload import preload

        preload()  # heavy imports on this (GUI) thread, never first inside a worker
        worker = RunWorker(self.project.path, run_id)
        worker.run_started.connect(self._on_run_started)
        worker.progressed.connect(self._on_progress)
        worker.run_ended.connect(self._on_run_ended)
        worker.failed.connect(self._on_worker_failed)
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker
        self._stop_mode = None
        self._run_started_at = time.perf_counter()
        self.statusBar().clearMessage()  # a temporary message would hide the run's progress line
        run = self.runs_panel.run(run_id)
        self.status_label.setText(f"Starting {run.name if run else 'run'}...")
        self.progress.setRange(0, run.spec.generations if run else 0)
        self.progress.setValue(max(run.last_generation, 0) if run else 0)
        self.progress.show()
        worker.start()
        self._update_actions()

    def _request_stop(self, mode: str) -> bool:
        """Ask the worker to stop after the current generation ('pause' or 'stop'); False when none runs or it
        is stopping already."""
        if self._worker is None or self._worker.stop_requested:
            return False
        self._stop_mode = mode
        self._worker.request_stop()
        return True

    def pause_run(self) -> None:
        """Pause after the current generation (the run and any queued runs can be resumed)."""
        if self._request_stop("pause"):
            self.status_label.setText("Pausing after the current generation...")
            self._update_actions()

    def stop_run(self) -> None:
        """Stop after the current generation and forget queued runs (they stay resumable)."""
        if self._request_stop("stop"):
            self.status_label.setText("Stopping after the current generation...")
        elif self._worker is None and self._paused:
            self._paused = []
            self.status_label.setText("Stopped. The interrupted runs can be resumed from the Runs panel.")
        self._queue = []
        self._update_actions()

    def resume_run(self) -> None:
        """Resume the paused runs, else the selected interrupted runs."""
        if self._worker is not None:
            return
        if self._paused:
            self._queue = self._paused + [i for i in self._queue if i not in self._paused]
            self._paused = []
            self._start_next()
            return
        ids = self.runs_panel.resumable_selected()
        if not ids and self._current is not None and is_resumable(self._current):
            ids = [self._current.id]
        self.resume_runs(ids)

    def resume_runs(self, run_ids: list[int]) -> None:
        """Continue interrupted runs from their last saved generation (asking first when a run was started by
        other versions of Collapse Lab or its libraries)."""
        if not run_ids or self.project is None or self.project.readonly:
            return
        notes = [n for n in (version_change(r) for r in map(self.runs_panel.run, run_ids) if r is not None) if n]
        if notes and not self.dialogs.confirm(self, "Resume with other versions?", "\n\n".join(
                [n[0].upper() + n[1:] + "." for n in notes] + ["Resume anyway?"])):
            return
        if self._worker is not None:
            self._queue.extend(i for i in run_ids if i not in self._queue and i != self._worker.run_id)
            self._update_actions()
            return
        self._paused = []
        self._queue = list(run_ids)
        self.scrubber.follow_box.setChecked(True)
        self._start_next()

    def _busy_run_ids(self) -> set[int]:
        """Runs being computed, queued or paused."""
        return set(self._queue) | set(self._paused) | ({self._worker.run_id} if self._worker else set())

    def _halt_worker(self) -> list[int]:
        """Stop the worker now, blocking until the generation in flight is saved (a generation always ends;
        nothing is cut off mid-write); return the runs that were running, paused or queued."""
        pending: list[int] = []
        w = self._worker
        if w is not None:
            pending.append(w.run_id)
            self._stop_mode = "halt"
            w.request_stop()
            self.status_label.setText("Saving the generation in progress...")
            QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                w.wait()
            finally:
                QGuiApplication.restoreOverrideCursor()
            self._finish_worker(w)
        pending += [i for i in self._paused + self._queue if i not in pending]
        self._queue, self._paused = [], []
        self._update_actions()
        return pending

    def _resume_after(self, pending: list[int]) -> None:
        if pending and self.project is not None and not self.project.readonly:
            self._queue = list(pending)
            self._start_next()

    # ---- worker signals (queued to the GUI thread; bound methods only) --------------------------------------------
    def _from_current_worker(self, run_id: int) -> bool:
        """Whether a worker signal comes from the worker running now (not a stopped one's late signal)."""
        w = self._worker
        return w is not None and w.run_id == run_id and self.sender() in (w, None)

    def _on_run_started(self, run_id: int, first: int, target: int) -> None:
        if not self._from_current_worker(run_id):
            return
        self._run_first_generation = first
        self.progress.setRange(0, target)
        if self.project is not None:
            try:
                info = self.project.run(run_id)
            except ProjectError:
                return
            self.runs_panel.update_run(info)

    def _on_progress(self, run_id: int, generation: int, target: int, metrics: dict[str, float],
                     rate: float) -> None:
        if self.project is None or not self._from_current_worker(run_id):
            return
        assert self._worker is not None
        run = self.runs_panel.run(run_id)
        name = run.name if run is not None else f"run {run_id}"
        left = max(target - generation, 0) + sum(self._remaining(i) for i in self._queue)
        eta = _fmt_eta(left / rate) if rate > 0 else "?"
        queued = f" (+{len(self._queue)} queued)" if self._queue else ""
        if self._worker.stop_requested:
            self.status_label.setText(f"{'Pausing' if self._stop_mode == 'pause' else 'Stopping'} {name} after "
                                      f"generation {generation}...")
        else:
            self.status_label.setText(f"Running {name}: generation {generation}/{target}, {rate:,.0f} gen/s, "
                                      f"ETA {eta}{queued}")
        self.progress.setValue(generation)
        if self.cache is not None:
            self.cache.invalidate(run_id)
        try:
            info = self.project.run(run_id)
        except ProjectError:
            return
        self.runs_panel.update_run(info)
        if self._current is not None and self._current.id == run_id:
            self._current = info
        self._selected = [info if r.id == run_id else r for r in self._selected]
        shown = any(r.id == run_id for r in self._selected)
        if shown:
            self.generation_panel.refresh(run_id)  # coalesced by the panel
        if self._current is not None and self._current.id == run_id:
            now = time.perf_counter()
            last_signal = generation >= target or self._worker.stop_requested
            if self.scrubber.follow and (last_signal or now - self._last_follow >= FOLLOW_INTERVAL_S):
                self._last_follow = now
                if shown:
                    self.generation_panel.flush()  # the views have generation k before the scrubber asks for it
                self.scrubber.set_latest(generation, target)
            else:
                self.scrubber.set_range(generation, target)

    def _remaining(self, run_id: int) -> int:
        run = self.runs_panel.run(run_id)
        return max(run.spec.generations - max(run.last_generation, 0), 0) if run is not None else 0

    def _on_run_ended(self, run_id: int, status: str, message: str) -> None:
        if self._from_current_worker(run_id) and status == "failed" and message:
            log.warning("run %s failed: %s", run_id, message)

    def _on_worker_failed(self, run_id: int, message: str) -> None:
        if self._from_current_worker(run_id):
            self._queue = []
            self._stop_mode = "failed"
        self.show_error("The run stopped", message)

    def _on_worker_finished(self) -> None:
        # QThread.finished is the last signal a worker sends: after it, nothing queued can name it as sender.
        w = self.sender()
        if isinstance(w, RunWorker):
            self._finish_worker(w)
            if w in self._retired:
                self._retired.remove(w)
                w.deleteLater()

    def _finish_worker(self, w: RunWorker) -> None:
        """Bookkeeping after a worker's thread ended (idempotent: a halted worker is finished at once)."""
        if w is not self._worker:
            return
        self._worker = None
        self._retired.append(w)  # kept alive until its queued finished signal has been delivered
        mode, self._stop_mode = self._stop_mode, None
        elapsed = time.perf_counter() - self._run_started_at
        runs = self.reload_runs()
        info = next((r for r in runs if r.id == w.run_id), None)
        if self.cache is not None:
            self.cache.invalidate(w.run_id)
        if info is not None and any(r.id == w.run_id for r in self._selected):
            self.generation_panel.refresh(w.run_id)
            if self._current is not None and self._current.id == w.run_id:
                self.scrubber.set_range(info.last_generation, info.spec.generations)
        self.progress.hide()
        self.statusBar().clearMessage()
        name = info.name if info is not None else f"run {w.run_id}"
        if mode == "pause":
            if info is not None and not info.complete:
                self._paused = [w.run_id] + [i for i in self._queue if i != w.run_id]
            else:
                self._paused = list(self._queue)
            self._queue = []
            self.status_label.setText(f"Paused {name} after generation {w.last_generation}. Press Resume to "
                                      "continue; every finished generation is saved.")
        elif mode == "stop":
            self._queue = []
            self.status_label.setText(f"Stopped {name} after generation {w.last_generation}. It can be resumed "
                                      "from the Runs panel.")
        elif mode == "halt":
            self.status_label.setText(f"Paused {name} after generation {w.last_generation}.")
        elif mode == "failed" or info is None or info.status == "failed":
            self._queue = []
            note = f": {info.message}" if info is not None and info.message else ""
            self.status_label.setText(f"{name} stopped{note}")
        else:
            done = (info.last_generation - self._run_first_generation + 1) if info is not None else 0
            note = f" ({info.message})" if info is not None and _worth_showing(info.message) else ""
            self.status_label.setText(f"Finished {name}: {max(done, 0)} generations in {elapsed:.1f} s{note}")
            if self._autoplay_run == w.run_id:
                self._start_autoplay()
            if self._is_demo and not self._queue:
                self.status_label.setText(DEMO_READY)
        if mode is None and self._queue:
            self._start_next()
        self._update_actions()
