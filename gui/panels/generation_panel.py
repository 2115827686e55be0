"""The centre of the window: the distribution at the current generation (top), the drift heatmap (middle)
and the metric timelines (bottom), in a vertical splitter.

One current generation drives all three (`set_generation`, the scrubbing fast path: each view only moves a
cursor or swaps one generation's data). `refresh(run_id)` after new generations are committed appends them
(the heatmap and the timelines are updated at most every 100 ms while a run is fast). Everything is read
through a `RunCache`; nothing is read from the worker.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from core.store import ProjectError, RunInfo
from gui.cache import RunCache
from gui.views.base import Coalescer
from gui.views.distribution import DistributionView
from gui.views.heatmap import HeatmapView
from gui.views.timeline import TimelineView
from gui.views.timeline_grid import TimelineGrid

REFRESH_INTERVAL_MS = 100


class GenerationPanel(QWidget):
    """Distribution, drift heatmap and metric timelines of the current / selected runs."""

    generation_picked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cache: RunCache | None = None
        self.current: RunInfo | None = None
        self.selected: list[RunInfo] = []
        self.generation = 0
        self.distribution = DistributionView()
        self.heatmap = HeatmapView()
        self.timelines = TimelineGrid()  # one or more metric timelines side by side
        self.timeline: TimelineView = self.timelines.first  # the first (exported as "timeline")
        self.distribution.setObjectName("distributionPane")
        self.heatmap.setObjectName("heatmapPane")
        self.timeline.setObjectName("timelinePane")
        self.timelines.setObjectName("timelinesPane")
        # the generation axes of the heatmap and the (single) timeline line up and zoom together
        self.timelines.link_x(self.heatmap.plot.plotItem.vb)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        for w in (self.distribution, self.heatmap, self.timelines):
            w.setMinimumHeight(110)
            self.splitter.addWidget(w)
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 4)
        self.splitter.setSizes([500, 300, 400])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.splitter)
        self.heatmap.generation_picked.connect(self.generation_picked)
        self.timelines.generation_picked.connect(self.generation_picked)
        self._pending: set[int] = set()
        self._refresh = Coalescer(self._apply_refresh, REFRESH_INTERVAL_MS, self)

    # ---- the contract ----------------------------------------------------------------------------------------
    def set_cache(self, cache: RunCache | None) -> None:
        """A project was opened (or closed: None). Shows the empty state until runs are set."""
        self._refresh.cancel()
        self._pending.clear()
        self.cache = cache
        self.current, self.selected = None, []
        self.distribution.set_cache(cache)
        self.heatmap.set_cache(cache)
        self.timelines.set_cache(cache)

    def set_runs(self, current: RunInfo | None, selected: list[RunInfo]) -> None:
        """`selected` (or the current run) drive every view: one run is drawn large, several as small multiples in
        the distribution and the heatmap (`current` picks a group's replicate there) and overlaid in the timelines."""
        if self.cache is None:
            return
        selected = list(selected) if selected else ([current] if current is not None else [])
        self.current, self.selected = current, selected
        self.distribution.set_runs(selected, current)  # unchanged runs are not set up again
        self.heatmap.set_runs(selected, current)
        self.timelines.set_runs(selected)
        k, self.generation = self.generation, -1
        self.set_generation(k)

    def set_generation(self, k: int) -> None:
        """Show generation k everywhere (the scrubbing fast path)."""
        k = max(0, int(k))
        if k == self.generation:
            return
        self.generation = k
        self.distribution.set_generation(k)
        self.heatmap.set_generation(k)
        self.timelines.set_generation(k)

    def refresh(self, run_id: int) -> None:
        """New generations of this run were committed: append them (coalesced to every 100 ms at most)."""
        if self.cache is None:
            return
        self.cache.invalidate(run_id)
        self._pending.add(int(run_id))
        self._refresh()

    def flush(self) -> None:
        """Apply a pending refresh now (tests, before exporting)."""
        self._refresh.flush()

    def flush_if_cheap(self) -> None:
        """Apply a pending refresh now unless refreshing has grown slow (a long run): then it waits its turn,
        and the views catch up with the generation asked for when it comes."""
        if self._refresh.effective_interval <= self._refresh.interval:
            self._refresh.flush()

    def charts(self) -> dict[str, QWidget]:
        """The exportable charts by name (see gui.export.charts)."""
        return {"distribution": self.distribution, "heatmap": self.heatmap, "timeline": self.timeline}

    # ---- view options (for the shell's settings) --------------------------------------------------------------
    def view_state(self) -> dict[str, Any]:
        """The user's view choices as JSON-friendly values (save them in QSettings; see restore_view_state)."""
        state: dict[str, Any] = {"splitter": self.splitter.sizes(), "heatmap_log": self.heatmap.log_check.isChecked(),
                                 "replicates": self.timeline.replicates_check.isChecked(),
                                 "theory": self.timeline.theory_check.isChecked(),
                                 "timelines": self.timelines.metrics()}  # smoothing is each chart's own, not saved
        metric = self.timeline.metric or self.timeline.preferred_metric  # the choice also when nothing is shown
        if metric:
            state["metric"] = metric
        h1 = self.distribution.views.get("hist1d")
        if h1 is not None:
            state.update(hist_mode=h1.mode, hist_k=h1.k_spin.value(), hist_log=h1.log_check.isChecked())
        return state

    def restore_view_state(self, state: dict[str, Any]) -> None:
        """Apply what view_state returned (unknown or invalid entries are ignored)."""
        try:
            if isinstance(state.get("splitter"), list) and len(state["splitter"]) == 3:
                self.splitter.setSizes([max(int(v), 1) for v in state["splitter"]])
            if "heatmap_log" in state:
                self.heatmap.log_check.setChecked(bool(state["heatmap_log"]))
            for key, box in (("replicates", self.timeline.replicates_check), ("theory", self.timeline.theory_check)):
                if key in state:
                    box.setChecked(bool(state[key]))
            if isinstance(state.get("metric"), str):
                self.timeline.preferred_metric = state["metric"]
                self.timeline.set_metric(state["metric"])
            timelines = state.get("timelines")  # (an old "smooth" entry is ignored: smoothing is not saved)
            if isinstance(timelines, list) and timelines and all(isinstance(m, str) for m in timelines):
                self.timelines.set_metrics(timelines)
            if any(k in state for k in ("hist_mode", "hist_k", "hist_log")):
                from gui.views.hist1d import Hist1DView

                h1 = self.distribution.prepare("hist1d")
                assert isinstance(h1, Hist1DView)
                if "hist_mode" in state:
                    h1.mode_combo.setCurrentIndex(max(0, h1.mode_combo.findData(str(state["hist_mode"]))))
                if "hist_k" in state:
                    h1.k_spin.setValue(int(state["hist_k"]))
                if "hist_log" in state:
                    h1.log_check.setChecked(bool(state["hist_log"]))
        except (TypeError, ValueError):
            pass

    # ---- internals -------------------------------------------------------------------------------------------
    def _apply_refresh(self) -> None:
        pending, self._pending = self._pending, set()
        if self.cache is None:
            return
        for run_id in pending:
            try:
                fresh = self.cache.run(run_id)
            except ProjectError:  # deleted meanwhile: the shell will call set_runs
                continue
            if self.current is not None and self.current.id == run_id:
                self.current = fresh
            if (self.current is not None and self.current.id == run_id) or any(r.id == run_id for r in self.selected):
                self.distribution.refresh(fresh)  # (each ignores a run it does not show)
                self.heatmap.refresh(fresh)
            replaced = False
            for i, r in enumerate(self.selected):
                if r.id == run_id:
                    self.selected[i] = fresh
                    replaced = True
            if replaced:
                self.timelines.runs = [fresh if r.id == run_id else r for r in self.timelines.runs]
                self.timelines.refresh(run_id)
