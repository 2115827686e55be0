"""Run control: Start / Pause / Resume / Stop (the Run menu, the toolbar and Run setup's buttons), the status
line of the run being computed and its progress bar.

A component of the main window: it is handed the state model (whose run queue computes the runs), the
notifier, the dialogs and the Run setup panel, and owns its actions, the status line and the progress bar.
`own_project` is asked before a new run is created (the demo is a read-only example).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QProgressBar, QWidget

from core.engine import RunSpec
from core.runner import version_change
from core.store import ProjectError
from gui.icons import glyph_icon
from gui.panels.run_panel import RunPanel
from gui.panels.runs_panel import is_resumable
from gui.state.run_queue import RunEnd
from gui.state.window_state import WindowState
from gui.window.make_action import make_action
from gui.window.notifier import Notifier

log = logging.getLogger("collapse_lab.window")

OUTCOME_MS = 30_000  # how long "Finished ..." stays on the status line
BAR_INTERVAL_S = 0.25  # the progress bar moves at most this often


def _worth_showing(message: str | None) -> bool:
    """A finished run's stored message, unless it is a leftover pause/stop note."""
    if not message:
        return False
    low = message.lower()
    return not (low.startswith("paused after") or low.startswith("stopped after") or low == "not started yet"
                or "resume to continue" in low)


def fmt_eta(seconds: float) -> str:
    """Time left in words a person reads at a glance."""
    if seconds < 1:
        return "< 1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class RunControl(QObject):
    """Start, pause, resume and stop runs; the status line and progress bar of the run computing."""

    def __init__(self, state: WindowState, notifier: Notifier, run_panel: RunPanel,
                 own_project: Callable[[], bool], parent: QWidget) -> None:
        super().__init__(parent)
        self.state = state
        self.notifier = notifier
        self.run_panel = run_panel
        self._own_project = own_project
        self.start_action = make_action(self, "&Start", run_panel.request_start, "F5",
                                        "Create a run from Run setup and compute it", glyph_icon("start"))
        self.pause_action = make_action(self, "&Pause", self.pause_run, "F6", "Pause after the current generation",
                                        glyph_icon("run-pause"))
        self.resume_action = make_action(self, "&Resume", self.resume_run, "Ctrl+R",
                                         "Continue the paused run, or the selected interrupted runs",
                                         glyph_icon("resume"))
        self.stop_action = make_action(self, "S&top", self.stop_run, "Shift+F5",
                                       "Stop after the current generation (the run stays resumable)",
                                       glyph_icon("stop"))
        self.status_label = QLabel()
        self.status_label.setObjectName("run_status")
        self.status_label.setToolTip("What the run worker is doing: generation, speed and time left")
        self.progress = QProgressBar()
        self.progress.setObjectName("run_progress")
        self.progress.setMaximumWidth(180)
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        self.progress.setToolTip("Progress of the run being computed")
        self.progress.hide()
        self._bar_at = 0.0
        self._clear_timer = QTimer(self)
        self._clear_timer.setSingleShot(True)
        self._clear_timer.timeout.connect(self.status_label.clear)

        run_panel.start_requested.connect(self.start_run)
        run_panel.pause_requested.connect(self.pause_run)
        run_panel.resume_requested.connect(self.resume_run)
        run_panel.stop_requested.connect(self.stop_run)
        run_panel.start_enabled_changed.connect(self.start_action.setEnabled)
        q = state.queue
        q.changed.connect(self.update_actions)
        q.starting.connect(self._on_starting)
        q.run_started.connect(self._on_run_started)
        q.progressed.connect(self._on_progress)
        q.ended.connect(self._on_ended)
        q.failed.connect(self._on_failed)
        state.project_changed.connect(self._on_project_changed)
        state.selection_changed.connect(self.update_actions)
        self._on_project_changed()

    def actions(self) -> tuple[QAction, ...]:
        """Start, Pause, Resume, Stop (for the Run menu and the toolbar)."""
        return (self.start_action, self.pause_action, self.resume_action, self.stop_action)

    def _show(self, text: str, stays: bool = True) -> None:
        self._clear_timer.stop()
        self.status_label.setText(text)
        if not stays:
            self._clear_timer.start(OUTCOME_MS)

    # ---- enabling -----------------------------------------------------------------------------------------------
    def _on_project_changed(self) -> None:
        project = self.state.project
        self._show("")
        self.progress.hide()
        if project is None:
            self.run_panel.set_can_start(False, "Open or create a project to run experiments (File > New Project...).")
        elif project.full_disk:
            self.run_panel.set_can_start(False, "The disk is full, so this project is open read-only; free some "
                                         "space and open it again to run experiments.")
        elif project.readonly:
            self.run_panel.set_can_start(False, "This project is read-only, so new runs cannot be added. Use "
                                         "File > Save As to continue in a writable copy.")
        else:
            self.run_panel.set_can_start(True)
        self.update_actions()

    def _resumable_selected(self) -> list[int]:
        return [r.id for r in self.state.selected if is_resumable(r)]

    def update_actions(self) -> None:
        """Enable what can be done now."""
        q = self.state.queue
        writable = self.state.writable
        running, stopping = q.running, q.stopping
        can_resume = writable and not running and (bool(q.paused) or bool(self._resumable_selected()))
        can_pause = running and not stopping
        can_stop = (running and not stopping) or (not running and bool(q.paused))
        self.run_panel.set_run_state(running=running, can_pause=can_pause, can_resume=can_resume, can_stop=can_stop)
        self.start_action.setEnabled(self.run_panel.start_button.isEnabled())
        self.pause_action.setEnabled(can_pause)
        self.resume_action.setEnabled(can_resume)
        self.stop_action.setEnabled(can_stop)

    # ---- commands -----------------------------------------------------------------------------------------------
    def start_run(self, spec: RunSpec, replicates: int = 1, name: str = "") -> list[int]:
        """Create runs from a validated spec (R replicates) and compute them one after the other."""
        if self.state.queue.running:
            self.notifier.error("A run is in progress", "Wait for it to finish, or pause it, before starting another.")
            return []
        if not self._own_project() or not self.state.writable:
            return []
        try:
            ids = self.state.create_runs(spec, replicates, name)
        except ProjectError as exc:
            self.notifier.error("Cannot start the run", str(exc))
            return []
        except Exception as exc:
            self.notifier.unexpected("creating the run", exc)
            return []
        self.state.playback.set_follow(True)
        self.state.select(ids[0], ids)
        self.state.queue.start(ids)
        return ids

    def pause_run(self) -> None:
        """Pause after the current generation (the run and any queued runs can be resumed)."""
        if self.state.queue.pause():
            self._show("Pausing after the current generation...")

    def stop_run(self) -> None:
        """Stop after the current generation and forget queued runs (they stay resumable)."""
        was_running = self.state.queue.running
        if self.state.queue.stop():
            self._show("Stopping after the current generation..." if was_running else
                       "Stopped. The interrupted runs can be resumed from the Runs panel.", stays=was_running)

    def resume_run(self) -> None:
        """Resume the paused runs, else the selected interrupted runs."""
        if self.state.queue.running or self.state.queue.resume_paused():
            return
        self.resume_runs(self._resumable_selected())

    def resume_runs(self, run_ids: list[int]) -> None:
        """Continue interrupted runs from their last saved generation (asking first when a run was started by
        other versions of Collapse Lab or its libraries)."""
        if not run_ids or not self.state.writable:
            return
        notes = [n for n in (version_change(r) for r in map(self.state.run, run_ids) if r is not None) if n]
        if notes and not self.notifier.confirm("Resume with other versions?", "\n\n".join(
                [n[0].upper() + n[1:] + "." for n in notes] + ["Resume anyway?"])):
            return
        if not self.state.queue.running:
            self.state.playback.set_follow(True)
        self.state.resume(run_ids)

    # ---- the queue's signals --------------------------------------------------------------------------------------
    def _name(self, run_id: int) -> str:
        run = self.state.run(run_id)
        return run.name if run is not None else f"run {run_id}"

    def _on_starting(self, run_id: int) -> None:
        self.notifier.status_bar.clearMessage()  # a temporary message would hide the run's progress line
        run = self.state.run(run_id)
        self._show(f"Starting {self._name(run_id)}...")
        self.progress.setRange(0, run.spec.generations if run else 0)
        self.progress.setValue(max(run.last_generation, 0) if run else 0)
        self.progress.show()

    def _on_run_started(self, run_id: int, first: int, target: int) -> None:
        self.progress.setRange(0, target)

    def _remaining(self, run_id: int) -> int:
        run = self.state.run(run_id)
        return max(run.spec.generations - max(run.last_generation, 0), 0) if run is not None else 0

    def _on_progress(self, run_id: int, generation: int, target: int, metrics: object, rate: float) -> None:
        q = self.state.queue
        name = self._name(run_id)
        left = max(target - generation, 0) + sum(self._remaining(i) for i in q.queue)
        eta = fmt_eta(left / rate) if rate > 0 else "?"
        queued = f" (+{len(q.queue)} queued)" if q.queue else ""
        if q.stopping:
            self._show(f"{'Pausing' if q.stop_mode == 'pause' else 'Stopping'} {name} after generation "
                       f"{generation}...")
        else:
            self._show(f"Running {name}: generation {generation}/{target}, {rate:,.0f} gen/s, ETA {eta}{queued}")
        now = time.perf_counter()
        if now - self._bar_at >= BAR_INTERVAL_S or generation >= target:
            # QProgressBar.setValue repaints at once (not at the next paint pass): at most a few times a second
            self._bar_at = now
            self.progress.setValue(generation)

    def _on_failed(self, run_id: int, message: str) -> None:
        self.notifier.error("The run stopped", message)

    def _on_ended(self, end: RunEnd) -> None:
        self.progress.hide()
        info = self.state.run(end.run_id)
        name = info.name if info is not None else f"run {end.run_id}"
        if end.mode == "pause":
            self._show(f"Paused {name} after generation {end.last_generation}. Press Resume to continue; every "
                       "finished generation is saved.")
        elif end.mode == "stop":
            self._show(f"Stopped {name} after generation {end.last_generation}. It can be resumed from the Runs "
                       "panel.", stays=False)
        elif end.mode == "halt":
            self._show(f"Paused {name} after generation {end.last_generation}.", stays=False)
        elif end.mode == "failed" or info is None or info.status == "failed":
            note = f": {info.message}" if info is not None and info.message else ""
            self._show(f"{name} stopped{note}", stays=False)
        else:
            done = (info.last_generation - end.first_generation + 1) if info is not None else 0
            note = f" ({info.message})" if _worth_showing(info.message) else ""
            self._show(f"Finished {name}: {max(done, 0)} generations in {end.elapsed:.1f} s{note}", stays=False)
        self.update_actions()
