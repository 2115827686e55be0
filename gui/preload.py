"""The heavy imports a run needs, done once on the GUI thread before any worker thread starts."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QApplication

from gui import main_thread_gc

log = logging.getLogger("collapse_lab")

# ---- start-up ----------------------------------------------------------------------------------------------------
PRELOAD_MODULES = ("scipy", "scipy.special", "scipy.stats", "sklearn", "sklearn.mixture", "sklearn.neighbors",
                   "sklearn.decomposition", "sklearn.linear_model", "sklearn.datasets", "sklearn.model_selection")


_preloaded = False


def preload() -> None:
    """Import the heavy libraries a run needs, on the GUI thread, once, before any worker thread starts.

    Importing scikit-learn for the first time inside a worker thread while the GUI thread ran Qt timers
    deadlocked intermittently (both threads waiting for the GIL inside the import; seen in tests/gui), so the
    imports happen here instead, before the first run; later calls return at once. Then the start-up
    objects are frozen out of the garbage collector's full passes, and collection moves to the GUI thread
    (gui/main_thread_gc.py: a collection inside a worker could deadlock with the GUI thread)."""
    global _preloaded
    if _preloaded:
        return
    _preloaded = True
    import gc
    import importlib

    app = QApplication.instance()
    if app is not None:
        main_thread_gc.install(app)

    for name in PRELOAD_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # a missing optional module only costs time later
            log.info("could not preload %s", name, exc_info=True)
    # Everything loaded so far (Qt wrappers, pyqtgraph, scipy, scikit-learn: ~150k objects) lives as long as
    # the app. Freezing it keeps later full garbage collections from scanning it: unfrozen, one gen-2 pass
    # during a run held the GIL for ~80 ms and stalled the window.
    gc.collect()
    gc.freeze()
