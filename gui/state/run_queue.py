"""The runs waiting to be computed and the one worker computing a run now.

One :class:`gui.worker.RunWorker` at a time, each with its own project connection, takes the next run of the
queue. Pause keeps the run and the queue to resume later; Stop forgets the queue (every run stays resumable);
halt stops at once, waiting for the generation in flight to be saved (switching or closing the project).

Threads: worker signals are queued to the GUI thread and connected only to bound methods of this object (a
lambda receiver would run in the worker thread); a signal from a worker that was stopped and replaced is
ignored. A worker object is kept until its own ``finished`` signal arrives, so no queued signal outlives it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication

from core.store import RunInfo
from gui.preload import preload
from gui.worker import RunWorker


@dataclass(frozen=True)
class RunEnd:
    """How a worker's run ended: mode is 'pause', 'stop', 'halt', 'failed' or '' (it ran to its end)."""

    run_id: int
    mode: str
    last_generation: int
    first_generation: int
    elapsed: float


class RunQueue(QObject):
    """Start, pause, resume, stop and queue runs; one worker at a time."""

    changed = Signal()  # the worker, the queue or the paused runs changed
    starting = Signal(int)  # a worker was started for this run
    run_started = Signal(int, int, int)  # run id, first generation to compute, target
    progressed = Signal(int, int, int, object, float)  # run id, generation, target, metrics, gen/s
    ended = Signal(object)  # RunEnd, after the worker's thread ended (the file holds every generation)
    failed = Signal(int, str)  # run id, the message to show

    def __init__(self, project_path: Callable[[], Path | None], run_info: Callable[[int], RunInfo | None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._project_path = project_path
        self._run_info = run_info  # the run as the file has it now
        self.worker: RunWorker | None = None
        self.queue: list[int] = []  # waiting, in order (after the worker's run)
        self.paused: list[int] = []  # paused by Pause (Resume continues them first)
        self._retired: list[RunWorker] = []
        self._mode: str | None = None
        self._started_at = 0.0
        self._first = 0

    # ---- what it holds ----------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether a run is being computed now."""
        return self.worker is not None

    @property
    def stopping(self) -> bool:
        """Whether the worker was asked to stop (pause, stop or halt)."""
        return self.worker is not None and self.worker.stop_requested

    @property
    def stop_mode(self) -> str | None:
        """'pause' or 'stop' while such a request is pending."""
        return self._mode

    def run_id(self) -> int | None:
        """The run being computed."""
        return self.worker.run_id if self.worker is not None else None

    def last_generation(self, run_id: int) -> int:
        """The last generation the worker reported for this run (-1 when it is not computing it)."""
        w = self.worker
        return w.last_generation if w is not None and w.run_id == run_id else -1

    def busy(self) -> set[int]:
        """Runs being computed, queued or paused."""
        return set(self.queue) | set(self.paused) | ({self.worker.run_id} if self.worker else set())

    # ---- commands -----------------------------------------------------------------------------------------------
    def start(self, run_ids: list[int]) -> None:
        """Compute these runs one after the other (what was paused is forgotten; it stays resumable)."""
        self.paused = []
        self.queue = list(run_ids)
        self._start_next()

    def add(self, run_ids: list[int]) -> None:
        """Compute these runs after the worker's run and the queue; start now when idle."""
        current = self.run_id()
        self.queue.extend(i for i in run_ids if i not in self.queue and i != current)
        if self.worker is None:
            self.paused = []
            self._start_next()
        else:
            self.changed.emit()

    def resume_paused(self) -> bool:
        """Continue the paused runs first, then the queue; False when nothing was paused."""
        if self.worker is not None or not self.paused:
            return False
        self.queue = self.paused + [i for i in self.queue if i not in self.paused]
        self.paused = []
        self._start_next()
        return True

    def pause(self) -> bool:
        """Pause after the current generation (the run and the queue can be resumed)."""
        return self._request_stop("pause")

    def stop(self) -> bool:
        """Stop after the current generation and forget the queue; forgets paused runs when idle. True when
        something was stopped or forgotten."""
        asked = self._request_stop("stop")
        forgot = self.worker is None and bool(self.paused)
        if forgot:
            self.paused = []
        self.queue = []
        self.changed.emit()
        return asked or forgot

    def halt(self) -> list[int]:
        """Stop now, blocking until the generation in flight is saved (a generation always ends; nothing is
        cut off mid-write); return the runs that were running, paused or queued, and forget them."""
        pending: list[int] = []
        w = self.worker
        if w is not None:
            pending.append(w.run_id)
            self._mode = "halt"
            w.request_stop()
            QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                w.wait()
            finally:
                QGuiApplication.restoreOverrideCursor()
            self._finish(w)
        pending += [i for i in self.paused + self.queue if i not in pending]
        self.queue, self.paused = [], []
        self.changed.emit()
        return pending

    # ---- internals ----------------------------------------------------------------------------------------------
    def _request_stop(self, mode: str) -> bool:
        if self.worker is None or self.worker.stop_requested:
            return False
        self._mode = mode
        self.worker.request_stop()
        self.changed.emit()
        return True

    def _start_next(self) -> None:
        path = self._project_path()
        if self.worker is not None or not self.queue or path is None:
            self.changed.emit()
            return
        run_id = self.queue.pop(0)
        preload()  # heavy imports on this (GUI) thread, never first inside a worker
        worker = RunWorker(path, run_id)
        worker.run_started.connect(self._on_run_started)
        worker.progressed.connect(self._on_progress)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self._mode = None
        self._started_at = time.perf_counter()
        self._first = 0
        self.starting.emit(run_id)
        worker.start()
        self.changed.emit()

    def _from_current(self, run_id: int) -> bool:
        w = self.worker
        return w is not None and w.run_id == run_id and self.sender() in (w, None)

    def _on_run_started(self, run_id: int, first: int, target: int) -> None:
        if self._from_current(run_id):
            self._first = first
            self.run_started.emit(run_id, first, target)

    def _on_progress(self, run_id: int, generation: int, target: int, metrics: object, rate: float) -> None:
        if self._from_current(run_id):
            self.progressed.emit(run_id, generation, target, metrics, rate)

    def _on_failed(self, run_id: int, message: str) -> None:
        if self._from_current(run_id):
            self.queue = []
            self._mode = "failed"
        self.failed.emit(run_id, message)

    def _on_finished(self) -> None:
        # QThread.finished is the last signal a worker sends: after it, nothing queued can name it as sender.
        w = self.sender()
        if isinstance(w, RunWorker):
            self._finish(w)
            if w in self._retired:
                self._retired.remove(w)
                w.deleteLater()

    def _finish(self, w: RunWorker) -> None:
        """Bookkeeping after a worker's thread ended (idempotent: a halted worker is finished at once)."""
        if w is not self.worker:
            return
        self.worker = None
        self._retired.append(w)  # kept alive until its queued finished signal has been delivered
        mode, self._mode = self._mode, None
        end = RunEnd(w.run_id, mode or "", w.last_generation, self._first, time.perf_counter() - self._started_at)
        info = self._run_info(w.run_id)
        if mode == "pause":
            keep = [] if info is None or info.complete else [w.run_id]
            self.paused = keep + [i for i in self.queue if i != w.run_id]
            self.queue = []
        elif mode in ("stop", "failed") or info is None or info.status == "failed":
            self.queue = []
        self.ended.emit(end)
        if not mode and self.queue:
            self._start_next()
        else:
            self.changed.emit()
