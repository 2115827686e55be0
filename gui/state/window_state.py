"""The window's state in one object: the open project and its cache, the runs, the selection, the current
generation and its playback, and the run queue. It emits signals when any of them changes, holds no widget and
is tested without a window.

Only this object and the run worker touch the store: components and views ask it (or its cache) for data and
call its methods to change the file; errors come back as :class:`core.store.ProjectError` for the caller to
show, and damage found while reading arrives through ``problem``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from core.engine import RunSpec
from core.runner import create_runs
from core.store import Project, ProjectError, RunInfo, remove_foreign_objects
from gui.cache import RunCache
from gui.state.playback import Playback
from gui.state.run_queue import RunQueue

FOLLOW_INTERVAL_S = 1 / 15  # "follow latest" moves the views at most this often while a run computes
SELECT_ALL_MAX = 4  # opening a project with this many runs or fewer selects them all


class WindowState(QObject):
    """The open project, its runs, the selection, the generation shown, playback and the run queue."""

    project_changed = Signal()  # a project was opened, switched to or closed
    runs_changed = Signal()  # the list of runs was read again
    run_updated = Signal(int)  # one run's row changed (new generations, status)
    selection_changed = Signal()  # the current run or the selected runs changed
    problem = Signal(str, str)  # (title, text): something found while reading that the user must be told

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.cache: RunCache | None = None
        self.is_demo = False
        self.runs: list[RunInfo] = []
        self.current: RunInfo | None = None
        self.selected: list[RunInfo] = []
        self._damaged_reported: set[str] = set()
        self._last_follow = 0.0
        self.playback = Playback(self)
        self.queue = RunQueue(lambda: self.project.path if self.project is not None else None, self.fresh_run,
                              self)
        self.queue.progressed.connect(self._on_progress)
        self.queue.run_started.connect(self._on_run_started)
        self.queue.ended.connect(self._on_run_ended)

    # ---- the project ---------------------------------------------------------------------------------------------
    @property
    def writable(self) -> bool:
        """Whether runs can be added to, renamed in or deleted from the open project."""
        return self.project is not None and not self.project.readonly

    @property
    def path(self) -> Path | None:
        """The open project's file."""
        return self.project.path if self.project is not None else None

    def is_open(self, path: str | os.PathLike[str]) -> bool:
        """Whether `path` is the project that is open now."""
        p = Path(path)
        return self.project is not None and p.exists() and p.resolve() == self.project.path.resolve()

    def folder(self) -> Path:
        """Where file dialogs start: the open project's folder, else the home folder."""
        return self.project.path.parent if self.project is not None else Path.home()

    def open(self, path: str | os.PathLike[str], *, create: bool = False, readonly: bool = False,
             remove_foreign: bool = False, demo: bool = False) -> list[int]:
        """Open (or create) a project and show it instead of the open one, whose run is halted (it stays
        resumable). Returns the runs that were computing, paused or queued in the old project.

        Raises ProjectError (UnsafeProjectError for a file holding SQL of its own) before anything switches,
        also when not even the list of runs can be read. `remove_foreign` first removes such SQL."""
        p = Path(path)
        if remove_foreign:
            remove_foreign_objects(p)
        project = Project(p, create=create, readonly=readonly)
        try:
            project.read_runs()
        except ProjectError:
            project.close()
            raise
        pending = self.queue.halt()
        self._set_project(project, demo)
        return pending

    def close_project(self) -> list[int]:
        """Halt any run and close the project; return the runs that were pending."""
        pending = self.queue.halt()
        if self.project is not None:
            self._set_project(None, False)
        return pending

    def save_as(self, target: str | os.PathLike[str]) -> None:
        """Copy the project with SQLite's backup API and continue in the copy, keeping the selection and
        resuming what was computing. Raises ProjectError (the open project stays as it was)."""
        if self.project is None:
            return
        target = Path(target)
        pending = self.queue.halt()
        keep_current = self.current.id if self.current is not None else None
        keep_selected = [r.id for r in self.selected]
        try:
            self.project.save_as(target)
            copy = Project(target)
        except ProjectError:
            self.resume(pending)
            raise
        self._set_project(copy, False)
        if keep_selected:
            self.select(keep_current, keep_selected)
        self.resume(pending)

    def _set_project(self, project: Project | None, demo: bool) -> None:
        old = self.project
        self.playback.pause()
        self.project = project
        self.is_demo = demo and project is not None
        self.cache = RunCache(project) if project is not None else None
        self.runs, self.current, self.selected = [], None, []
        self._damaged_reported = set()
        if old is not None and old is not project:
            old.close()
        self.project_changed.emit()
        if project is not None:
            self.reload_runs()
        else:
            self.runs_changed.emit()
        self.selection_changed.emit()
        self.playback.set_range(-1, 0)

    def file_size(self) -> tuple[int, int]:
        """(bytes the file takes, bytes of it that are free for reuse after deletions)."""
        if self.project is None:
            return 0, 0
        try:
            return self.project.size_bytes(), self.project.free_bytes()
        except (ProjectError, OSError):
            return 0, 0

    # ---- runs ----------------------------------------------------------------------------------------------------
    def reload_runs(self) -> list[RunInfo]:
        """Read the runs from the file again (keeping the selection of runs that are still there)."""
        if self.project is None:
            return []
        try:
            runs, damaged = self.project.read_runs()
        except ProjectError as exc:
            runs, damaged = [], []
            self.problem.emit("Cannot read the project", str(exc))
        new_damage = [d for d in damaged if d not in self._damaged_reported]
        if new_damage:
            self._damaged_reported.update(new_damage)
            n = len(new_damage)
            self.problem.emit("Some runs cannot be read",
                              f"{self.project.path}: {n} run{'s are' if n != 1 else ' is'} damaged and not listed; "
                              "the other runs are shown as usual.\n\n" + "\n".join(f"• {d}" for d in new_damage))
        self.runs = runs
        by_id = {r.id: r for r in runs}
        self.current = by_id.get(self.current.id) if self.current is not None else None
        self.selected = [by_id[r.id] for r in self.selected if r.id in by_id]
        self.runs_changed.emit()
        return runs

    def run(self, run_id: int) -> RunInfo | None:
        """A run of the list as last read."""
        return next((r for r in self.runs if r.id == run_id), None)

    def fresh_run(self, run_id: int) -> RunInfo | None:
        """A run as the file has it now (None when gone or unreadable)."""
        if self.project is None:
            return None
        try:
            return self.project.run(run_id)
        except ProjectError:
            return None

    def create_runs(self, spec: RunSpec, replicates: int = 1, name: str = "") -> list[int]:
        """Add R replicate runs of a validated spec (not computed yet); ProjectError when they cannot be."""
        if self.project is None:
            raise ProjectError("no project is open")
        ids = create_runs(self.project, spec, replicates, name or None)
        self.reload_runs()
        return ids

    def rename_run(self, run_id: int, name: str) -> None:
        """Rename a run in the file; ProjectError (e.g. a duplicate name) keeps the old name."""
        if self.project is None:
            return
        self.project.rename_run(run_id, name)
        if self.cache is not None:
            self.cache.invalidate(run_id)
        self.reload_runs()
        self.selection_changed.emit()

    def delete_runs(self, run_ids: Sequence[int]) -> None:
        """Delete runs and their generations; ProjectError stops at the first that cannot be deleted (the
        ones before it are gone). Runs being computed, queued or paused are refused."""
        if self.project is None:
            return
        busy = self.queue.busy() & set(run_ids)
        if busy:
            raise ProjectError("a selected run is being computed or waits to be resumed; stop it first")
        try:
            for rid in run_ids:
                self.project.delete_run(rid)
                if self.cache is not None:
                    self.cache.invalidate(rid)
        finally:
            self.reload_runs()
            self.selection_changed.emit()

    def write_runs(self, writer: Callable[[Project, list[RunInfo], Any], Any], runs: Sequence[RunInfo],
                   target: Any) -> Any:
        """Call a core.export writer on fresh copies of these runs (the file may have grown since)."""
        if self.project is None:
            raise ProjectError("no project is open")
        fresh = [self.project.run(r.id) for r in runs]
        return writer(self.project, fresh, target)

    # ---- the selection -----------------------------------------------------------------------------------------
    def select(self, current_id: int | None, run_ids: Sequence[int]) -> None:
        """The current run (what the distribution and heatmap centre on) and the selected runs (compared);
        the current run is always among the selected."""
        by_id = {r.id: r for r in self.runs}
        current = by_id.get(current_id) if current_id is not None else None
        selected = [by_id[i] for i in run_ids if i in by_id]
        if current is not None and current not in selected:
            selected.insert(0, current)
        if current is None and selected:
            current = selected[0]
        changed_current = (self.current.id if self.current else None) != (current.id if current else None)
        self.current, self.selected = current, selected
        pb = self.playback
        if current is not None:
            last = max(current.last_generation, self.queue.last_generation(current.id))
            pb.set_range(last, current.spec.generations)
            if changed_current and pb.follow:
                pb.go_to(last, by_user=False)
        else:
            pb.set_range(-1, 0)
        self.selection_changed.emit()
        pb.request_current()

    def initial_selection(self) -> tuple[int | None, list[int]]:
        """What to show after opening: the newest run is current; small projects compare all their runs,
        larger ones the newest run's replicate group."""
        if not self.runs:
            return None, []
        newest = self.runs[-1]
        if len(self.runs) <= SELECT_ALL_MAX:
            return newest.id, [r.id for r in self.runs]
        return newest.id, [r.id for r in self.runs if r.group == newest.group]

    # ---- running -------------------------------------------------------------------------------------------------
    def resume(self, run_ids: list[int]) -> None:
        """Compute these runs (after whatever computes now), when the project is writable."""
        if run_ids and self.writable:
            self.queue.add(run_ids)

    def _replace(self, info: RunInfo) -> None:
        self.runs = [info if r.id == info.id else r for r in self.runs]
        if self.current is not None and self.current.id == info.id:
            self.current = info
        self.selected = [info if r.id == info.id else r for r in self.selected]

    def _on_run_started(self, run_id: int, first: int, target: int) -> None:
        info = self.fresh_run(run_id)
        if info is not None:
            self._replace(info)
            self.run_updated.emit(run_id)

    def _on_progress(self, run_id: int, generation: int, target: int, metrics: object, rate: float) -> None:
        if self.project is None:
            return
        if self.cache is not None:
            self.cache.invalidate(run_id)
        info = self.fresh_run(run_id)
        if info is None:
            return
        self._replace(info)
        self.run_updated.emit(run_id)
        if self.current is not None and self.current.id == run_id:
            pb = self.playback
            now = time.perf_counter()
            last_signal = generation >= target or self.queue.stopping
            if pb.follow and (last_signal or now - self._last_follow >= FOLLOW_INTERVAL_S):
                self._last_follow = now
                pb.set_latest(generation, target)
            else:
                pb.set_range(generation, target)

    def _on_run_ended(self, end: object) -> None:
        run_id = getattr(end, "run_id", None)
        if self.cache is not None and run_id is not None:
            self.cache.invalidate(run_id)
        self.reload_runs()
        if run_id is not None:
            self.run_updated.emit(run_id)
            if self.current is not None and self.current.id == run_id:
                self.playback.set_range(self.current.last_generation, self.current.spec.generations)
