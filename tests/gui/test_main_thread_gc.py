"""Garbage made in a worker thread is collected on the GUI thread once the app moved collection there."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtWidgets import QApplication

from gui import main_thread_gc


def _make_cycles(count: int, freed_in: list[int]) -> None:
    """`count` unreachable reference cycles, each reporting the thread that frees it; enough of them that an
    automatic collection would start while this runs."""

    class Node:
        pass

    for _ in range(count):
        node = Node()
        node.me = node
        weakref.finalize(node, lambda: freed_in.append(threading.get_ident()))
        del node


def _in_thread(count: int) -> list[int]:
    freed_in: list[int] = []
    t = threading.Thread(target=_make_cycles, args=(count, freed_in))
    t.start()
    t.join()
    return freed_in


def test_worker_garbage_is_freed_on_the_gui_thread(qtbot) -> None:  # noqa: ANN001
    collector = main_thread_gc.install(QApplication.instance())
    assert main_thread_gc.install(QApplication.instance()) is collector  # once per application
    assert not gc.isenabled()
    gui_thread = threading.get_ident()
    # Control: with CPython's automatic collection, the worker itself frees (most of) its cycles.
    gc.enable()
    try:
        freed_auto = _in_thread(3000)
    finally:
        gc.disable()
    assert freed_auto and set(freed_auto) - {gui_thread}
    gc.collect()
    # With the collector: nothing is freed in the worker; the GUI thread's timer frees every cycle.
    freed = _in_thread(3000)
    assert freed == []
    qtbot.waitUntil(lambda: len(freed) == 3000, timeout=5000)
    assert set(freed) == {gui_thread}


def test_no_collection_below_the_first_threshold(qtbot) -> None:  # noqa: ANN001
    collector = main_thread_gc.install(QApplication.instance())
    gc.collect()
    assert collector.check() == -1
    _make_cycles(collector.thresholds[0] + 50, [])
    assert collector.check() >= 0
    assert gc.get_count()[0] < collector.thresholds[0]
