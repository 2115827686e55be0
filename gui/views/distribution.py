"""The distribution pane: picks the view for the current run's scenario kind and shows one generation."""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from core.params import ParamError
from core.store import ProjectError, RunInfo
from gui.cache import RunCache
from gui.views.base import Pane, Table, view_kind
from gui.views.kind import KindView


def _factories() -> dict[str, Callable[[], KindView]]:
    from gui.views.categorical import ImagesView, RankView, TextView
    from gui.views.hist1d import Hist1DView
    from gui.views.hist2d import Hist2DView
    from gui.views.regression import RegressionView

    return {"hist1d": Hist1DView, "hist2d": Hist2DView, "rank": RankView, "text": TextView,
            "images": ImagesView, "regression": RegressionView}


KINDS = ("hist1d", "hist2d", "rank", "text", "images", "regression")

MSG_NO_PROJECT = ("No project is open.\nOpen a project (File ▸ Open), or start a run in the Run setup panel: "
                  "each generation's distribution will appear here.")
MSG_NO_RUN = ("No run selected.\nSelect a run in the Runs list, or start one in the Run setup panel, to see its "
              "distribution generation by generation.")


class DistributionView(Pane):
    """Distribution at the current generation, drawn by the view kind of the run's scenario."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self._host = QWidget()
        super().__init__(self._host, parent)
        self.cache: RunCache | None = None
        self.run: RunInfo | None = None
        self.kind: str | None = None
        self.views: dict[str, KindView] = {}
        self.view: KindView | None = None
        self.generation = -1
        self._last = -1
        self.show_message(MSG_NO_PROJECT)
        # Built up front, not when a run's first generation arrives (building a plot costs tens of ms, a
        # visible stall while a run starts): the common kind now, the others one per event-loop turn as soon
        # as the event loop runs (at launch, before anything is computed; hidden or not), and the current
        # run's kind at the latest in set_run.
        self.prepare("hist1d")
        self._to_prepare = [k for k in KINDS if k != "hist1d"]
        self._prepare_timer = QTimer(self)
        self._prepare_timer.setSingleShot(True)
        self._prepare_timer.setInterval(0)
        self._prepare_timer.timeout.connect(self._prepare_next)
        self._prepare_timer.start()

    def prepare(self, kind: str) -> KindView:
        """The view of this kind, built now when it does not exist yet (it is not shown)."""
        view = self.views.get(kind)
        if view is None:
            view = _factories()[kind]()
            self.views[kind] = view
            self.addWidget(view)
            view.ensurePolished()
        return view

    def _prepare_next(self) -> None:
        if not shiboken6.isValid(self):  # the pane is being destroyed (a queued timeout may still arrive)
            self._to_prepare.clear()
            return
        try:
            while self._to_prepare:
                kind = self._to_prepare.pop(0)
                if kind not in self.views:
                    self.prepare(kind)
                    break
            if self._to_prepare:
                self._prepare_timer.start()
        except RuntimeError:  # deleted meanwhile ("Internal C++ object already deleted")
            self._to_prepare.clear()

    # ---- set-up ---------------------------------------------------------------------------------------------
    def set_cache(self, cache: RunCache | None) -> None:
        self.cache = cache
        self.set_run(None)

    def set_run(self, run: RunInfo | None) -> None:
        self.run, self.kind, self.view, self.generation = run, None, None, -1
        if self.cache is None:
            self.show_message(MSG_NO_PROJECT)
            return
        if run is None:
            self.show_message(MSG_NO_RUN)
            return
        try:
            kind = view_kind(run)
        except ParamError:
            self.show_message(f"Run “{run.name}” uses the scenario “{run.scenario}”, which this version of "
                              "Collapse Lab does not know, so its distribution cannot be drawn. The metric "
                              "timelines below still show its stored metrics.")
            return
        if kind in KINDS:
            self.prepare(kind)  # now, not when generation 0 arrives while the run computes
        if not run.reference.get("bins"):
            self.show_message(f"Run “{run.name}” has no generation yet. Start or resume it in the Run setup "
                              "panel; generation 0 (the real data) appears here first.")
            return
        if kind not in KINDS:
            self.kind = kind
            self.show_message(f"Run “{run.name}” ({run.scenario}) asks for a “{kind}” view, which this version "
                              "of Collapse Lab cannot draw. The drift heatmap and the metric timelines still work; "
                              "a newer Collapse Lab may draw this kind.")
            return
        view = self.prepare(kind)
        self.kind, self.view = kind, view
        try:
            view.set_run(self.cache, run)
        except (ProjectError, KeyError, ValueError, TypeError, IndexError) as exc:
            self.view = None
            self.show_message(f"Run “{run.name}” cannot be drawn: its stored reference data is incomplete "
                              f"({type(exc).__name__}: {exc}).")
            return
        self._last = self.cache.last_generation(run)
        if self._last < 0:
            self.show_message(f"Run “{run.name}” has no generation yet. Start or resume it in the Run setup "
                              "panel; generation 0 (the real data) appears here first.")
        else:
            self.setCurrentWidget(view)

    def refresh(self, run: RunInfo | None = None) -> None:
        """The current run has new generations (`run`: its fresh RunInfo)."""
        if run is not None and self.run is not None and run.id == self.run.id:
            if self.view is None and run.reference.get("bins"):
                k = self.generation
                self.set_run(run)  # generation 0 arrived: set the view up now
                self.set_generation(max(k, 0))
                return
            self.run = run
        if self.view is None or self.run is None or self.cache is None:
            return
        was_empty = self._last < 0
        self._last = self.cache.last_generation(self.run)
        if self._last < 0:
            return
        self.view.refresh()
        if was_empty:
            self.setCurrentWidget(self.view)
        if was_empty or self.generation > self.view.generation:
            # the requested generation (or a closer one) exists now
            k = max(self.generation, 0)
            self.generation = -1
            self.set_generation(k)

    # ---- the fast path ------------------------------------------------------------------------------------
    def set_generation(self, k: int) -> None:
        if self.view is None or self._last < 0:
            self.generation = k
            return
        shown = min(max(int(k), 0), self._last)
        if shown == self.view.generation and k == self.generation:
            return
        self.generation = k
        self.view.notice = (f"Generation {k} is not computed yet; showing the last one." if shown != k else "")
        try:
            self.view.show_generation(shown)
        except ProjectError as exc:
            self.view.set_info(str(exc))
            return
        self.view.set_info()

    @property
    def shown_generation(self) -> int:
        return -1 if self.view is None else self.view.generation

    # ---- export -----------------------------------------------------------------------------------------------
    def export_target(self) -> QWidget:
        if self.view is not None and self.currentWidget() is self.view:
            return self.view.export_target()
        return self

    def table(self) -> Table:
        return self.view.table() if self.view is not None else ([], [])
