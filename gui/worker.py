"""The simulation worker: one QThread per run, owning its own project connection.

The thread iterates :func:`core.runner.drive`, which computes and *commits* each generation before yielding
it. Between generations it checks for a stop request; stopping closes the generator, which records the run
as ``interrupted`` ("paused after generation k; resume to continue"), so pausing, stopping, quitting and
crashing all leave a resumable run and lose nothing that was committed.

Signals are small (ids, numbers, a dict of floats) and throttled to about 30 per second (plus the last
generation), so a fast run cannot flood the GUI's event queue. Connect them only to bound methods of
GUI-thread objects: a lambda receiver would run in this worker thread.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal

from core.runner import drive
from core.store import Project, ProjectError

log = logging.getLogger("collapse_lab.worker")

EMIT_INTERVAL_S = 1 / 30
WORKER_NICE = int(os.environ.get("COLLAPSE_LAB_WORKER_NICE", "5"))


def _lower_thread_priority() -> None:
    """Let the GUI thread win the CPU over the computing thread (Linux: per-thread nice; else a no-op)."""
    if WORKER_NICE <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + WORKER_NICE)
    except (OSError, AttributeError):
        pass


class RunWorker(QThread):
    """Drives one stored run to its end (or until asked to stop) in a background thread."""

    run_started = Signal(int, int, int)  # run id, first generation to compute, target generations
    progressed = Signal(int, int, int, object, float)  # run id, generation, target, metrics dict, gen/s
    run_ended = Signal(int, str, str)  # run id, status ('finished', 'interrupted', 'failed'), message
    failed = Signal(int, str)  # run id, user-facing message (file errors, unexpected errors)

    def __init__(self, project_path: str | Path, run_id: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project_path = Path(project_path)
        self.run_id = run_id
        self._stop = threading.Event()
        self.last_generation = -1
        self.setObjectName(f"RunWorker-{run_id}")

    def request_stop(self) -> None:
        """Ask the worker to stop after the generation in flight (thread-safe, returns at once)."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        """Whether a stop was requested."""
        return self._stop.is_set()

    def run(self) -> None:
        """Thread body: open a connection, drive the run, report, close."""
        _lower_thread_priority()
        status, message = "failed", ""
        try:
            project = Project(self.project_path)
        except ProjectError as exc:
            self.failed.emit(self.run_id, str(exc))
            self.run_ended.emit(self.run_id, "failed", str(exc))
            return
        except Exception as exc:  # reported, never raised into Qt
            log.exception("worker could not open %s", self.project_path)
            self.failed.emit(self.run_id, f"Could not open the project for the run: {type(exc).__name__}: {exc}")
            self.run_ended.emit(self.run_id, "failed", str(exc))
            return
        try:
            status, message = self._drive(project)
        except ProjectError as exc:
            status, message = "interrupted", str(exc)
            self.failed.emit(self.run_id, str(exc))
        except Exception as exc:
            log.exception("run %s failed", self.run_id)
            status, message = "failed", f"{type(exc).__name__}: {exc}"
            self.failed.emit(self.run_id, f"The run stopped with an unexpected error ({type(exc).__name__}: {exc}). "
                                          f"Every generation finished before it is saved.")
        finally:
            try:
                info = project.run(self.run_id)
                status, message = info.status, info.message or message
            except Exception:  # the run may have been deleted meanwhile
                pass
            project.close()
        self.run_ended.emit(self.run_id, status, message or "")

    def _drive(self, project: Project) -> tuple[str, str]:
        info = project.run(self.run_id)
        target = info.spec.generations
        self.last_generation = info.last_generation
        self.run_started.emit(self.run_id, info.last_generation + 1, target)
        gen = drive(project, self.run_id)
        t0 = time.perf_counter()
        last_emit = 0.0
        done = 0
        rate = 0.0
        emitted = info.last_generation
        pending: dict[str, float] = {}
        try:
            for rec in gen:
                done += 1
                self.last_generation = rec.generation
                now = time.perf_counter()
                rate = done / max(now - t0, 1e-9)
                pending = {k: float(v) for k, v in rec.metrics.items()}
                if now - last_emit >= EMIT_INTERVAL_S or rec.generation >= target:
                    last_emit = now
                    emitted = rec.generation
                    self.progressed.emit(self.run_id, rec.generation, target, pending, rate)
                if self._stop.is_set() and rec.generation < target:
                    break
        finally:
            gen.close()  # between generations: drive records 'interrupted' (resumable)
            if emitted != self.last_generation:  # the last generation's throttled signal
                self.progressed.emit(self.run_id, self.last_generation, target, pending, rate)
        return "", ""
