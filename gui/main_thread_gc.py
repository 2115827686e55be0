"""Python's cyclic garbage collection, done on the GUI thread only, while the app runs.

An automatic collection starts in whichever thread happens to allocate. Started in a run's worker thread, it
can free Qt objects the GUI thread made (pyqtgraph menus, plot items in a reference cycle): ~QObject then
takes Qt's lock for the object's connections and asks for the GIL, while the GUI thread, holding the GIL,
waits for that same lock in another ~QObject. Both wait for ever (seen in tests/gui: the worker inside a
collection during a commit, the GUI thread in QObject::~QObject). So the app turns automatic collection off
and a timer on the GUI thread collects instead, with CPython's own thresholds: the youngest generation when
its count passes the first threshold, older ones when theirs pass too.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, QThread, QTimer

CHECK_INTERVAL_MS = 100
FULL_COLLECTION_MIN_S = 30.0  # a full pass scans every unfrozen object; CPython also spaces them out

_installed: MainThreadCollector | None = None


class MainThreadCollector(QObject):
    """Collects garbage from a GUI-thread timer in place of CPython's automatic collection."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self._last_full = time.monotonic()
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_INTERVAL_MS)
        self.timer.timeout.connect(self.check)
        gc.disable()
        self.timer.start()

    def check(self) -> int:
        """Collect the generations whose counts passed their thresholds; returns the oldest one collected
        (-1: none)."""
        c0, c1, c2 = gc.get_count()
        t0, t1, t2 = self.thresholds
        if c0 <= t0:
            return -1
        generation = 0
        if c1 > t1:
            generation = 1
            now = time.monotonic()
            if c2 > t2 and now - self._last_full >= FULL_COLLECTION_MIN_S:
                generation, self._last_full = 2, now
        gc.collect(generation)
        return generation

    def stop(self) -> None:
        """Stop the timer and give collection back to CPython."""
        self.timer.stop()
        gc.enable()


def install(parent: QObject) -> MainThreadCollector:
    """Move garbage collection onto the GUI thread for the life of `parent` (the application); idempotent."""
    global _installed
    if _installed is None:
        if QThread.currentThread() != parent.thread():
            raise RuntimeError("the collector must be installed from the GUI thread")
        _installed = MainThreadCollector(parent)
        parent.destroyed.connect(_forget)
    return _installed


def _forget() -> None:
    global _installed
    _installed = None
    gc.enable()
