"""The views of the generation panel: distribution (one view per scenario kind), drift heatmap, timelines."""

from gui.views.distribution import KINDS, DistributionView
from gui.views.heatmap import HeatmapView
from gui.views.timeline import TimelineView

__all__ = ["KINDS", "DistributionView", "HeatmapView", "TimelineView"]
