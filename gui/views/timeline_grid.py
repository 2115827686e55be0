"""Several metric timelines at once: a grid of TimelineView panels (two columns when there are more than one),
each with its own metric, smoothing and options, all sharing the generation cursor.

The grid has the interface the generation panel uses for one timeline (`set_cache`, `set_runs`, `runs`,
`set_generation`, `refresh`, `generation_picked`, `export_target`, `table`), so it stands in for a single view.
"Add panel" (in the first panel's header) adds a panel for a chosen metric; each panel's remove button
removes it, except the last one left. Removing a panel moves the panels after it up (their settings move
into the panel before), so the first panel (`first`) stays the same widget for the window's lifetime: the
chart exported as "timeline", and the one the drift heatmap's generation axis follows while it spans the
full width (alone in the grid).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QMenu, QToolButton, QWidget

from core.store import RunInfo
from gui.cache import RunCache
from gui.views.base import Table
from gui.views.timeline import TimelineView

MAX_PANELS = 8


class TimelineGrid(QWidget):
    """One or more metric timelines in a grid, one generation cursor for all of them."""

    generation_picked = Signal(int)
    panels_changed = Signal()  # a panel was added or removed (the window may save the view state)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cache: RunCache | None = None
        self._runs: list[RunInfo] = []
        self.generation = 0
        self.panels: list[TimelineView] = []
        self._remove_buttons: list[QToolButton] = []
        self._x_partner: pg.ViewBox | None = None  # a view box whose x axis follows the first panel (see link_x)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(6)
        self._grid.setVerticalSpacing(4)
        self.add_button = QToolButton()
        self.add_button.setText("Add panel")
        self.add_button.setAccessibleName("Add panel")
        self.add_button.setToolTip("Add panel: a timeline of another metric beside this one (each panel has its "
                                   "own metric, smoothing and options; all follow the current generation)")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.add_menu = QMenu(self.add_button)
        self.add_menu.aboutToShow.connect(self._fill_add_menu)
        self.add_button.setMenu(self.add_menu)
        self._new_panel()
        self.first.header.addWidget(self.add_button)
        self._layout_panels()

    # ---- panels ----------------------------------------------------------------------------------------------
    @property
    def first(self) -> TimelineView:
        """The first panel (always the same widget)."""
        return self.panels[0]

    def metrics(self) -> list[str]:
        """Each panel's metric (the chosen one also while nothing is shown), in order."""
        return [p.metric or p.preferred_metric for p in self.panels]

    def available_metrics(self) -> list[tuple[str, str]]:
        """(metric name, readable name) of the metrics the selected runs have, in the first panel's order."""
        combo = self.first.metric_combo
        return [(str(combo.itemData(i)), combo.itemText(i)) for i in range(combo.count())]

    def add_panel(self, metric: str = "") -> TimelineView | None:
        """A new panel showing `metric` (when the runs have it; else the first metric not shown yet); None when
        the grid is full."""
        if len(self.panels) >= MAX_PANELS:
            return None
        if not metric:
            shown = set(self.metrics())
            metric = next((m for m, _ in self.available_metrics() if m not in shown), "")
        panel = self._new_panel()
        first = self.first
        panel.replicates_check.setChecked(first.replicates_check.isChecked())
        panel.theory_check.setChecked(first.theory_check.isChecked())
        panel.preferred_metric = metric
        panel.set_cache(self.cache)
        if self.cache is not None and self._runs:
            panel.set_runs(self._runs)
        panel.set_metric(metric)
        panel.set_generation(self.generation)
        self._layout_panels()
        self.panels_changed.emit()
        return panel

    def remove_panel(self, index: int) -> bool:
        """Remove panel `index` (the panels after it move up); False for the last panel left or a bad index."""
        if len(self.panels) <= 1 or not 0 <= index < len(self.panels):
            return False
        for i in range(index, len(self.panels) - 1):
            self.panels[i].apply_settings(self.panels[i + 1].settings())
        panel = self.panels.pop()
        button = self._remove_buttons.pop()
        button.deleteLater()
        self._grid.removeWidget(panel)
        panel.hide()
        panel.generation_picked.disconnect(self.generation_picked)
        panel.deleteLater()
        self._layout_panels()
        self.panels_changed.emit()
        return True

    def set_metrics(self, names: list[str]) -> None:
        """Show these metrics, one panel each (at least one panel; extra panels are removed)."""
        names = [str(n) for n in names][:MAX_PANELS] or [self.first.metric or self.first.preferred_metric]
        while len(self.panels) > len(names):
            self.remove_panel(len(self.panels) - 1)
        for panel, name in zip(self.panels, names):
            panel.preferred_metric = name
            panel.set_metric(name)
        for name in names[len(self.panels):]:
            self.add_panel(name)

    def link_x(self, vb: pg.ViewBox | None) -> None:
        """Let `vb` (the drift heatmap's) follow the first panel's generation axis while that panel spans the
        grid's width (one panel); with two columns the axes could not line up, and `vb` keeps its own range."""
        if self._x_partner is not None and self._x_partner is not vb:
            self._x_partner.setXLink(None)
        self._x_partner = vb
        self._relink()

    def _new_panel(self) -> TimelineView:
        panel = TimelineView()
        panel.setMinimumHeight(110)
        remove = QToolButton()
        remove.setText("×")
        remove.setAccessibleName("Remove panel")
        remove.setToolTip("Remove this timeline panel")
        remove.setAutoRaise(True)
        remove.clicked.connect(lambda _=False, b=remove: self.remove_panel(self._remove_buttons.index(b)))
        panel.header.addWidget(remove)
        panel.generation_picked.connect(self.generation_picked)
        self.panels.append(panel)
        self._remove_buttons.append(remove)
        return panel

    def _layout_panels(self) -> None:
        n = len(self.panels)
        for panel in self.panels:
            self._grid.removeWidget(panel)
        for i, panel in enumerate(self.panels):
            if n == 1:
                self._grid.addWidget(panel, 0, 0, 1, 2)
            else:
                span = 2 if i == n - 1 and n % 2 else 1  # an odd last panel takes the whole row
                self._grid.addWidget(panel, i // 2, i % 2, 1, span)
            panel.show()
        for c in range(2):
            self._grid.setColumnStretch(c, 1)
        rows = max(1, -(-n // 2))
        for r in range(MAX_PANELS):
            self._grid.setRowStretch(r, 1 if r < rows else 0)
        for b in self._remove_buttons:
            b.setVisible(n > 1)
        for panel in self.panels:
            panel.set_compact(n > 1)
        self.add_button.setText("+" if n > 1 else "Add panel")  # "Add panel" in its tooltip and name
        self.add_button.setEnabled(n < MAX_PANELS)
        self._relink()

    def _relink(self) -> None:
        partner = self._x_partner
        if partner is None:
            return
        vb = self.first.plot.plotItem.vb
        if len(self.panels) == 1:
            partner.setXLink(vb)  # (it follows the panel's resizes too)
        elif partner.linkedView(partner.XAxis) is not None:
            partner.setXLink(None)
            partner.setXRange(*vb.viewRange()[0], padding=0)  # the generations shown, not a lined-up range

    def _fill_add_menu(self) -> None:
        self.add_menu.clear()
        metrics = self.available_metrics()
        if not metrics:
            self.add_menu.addAction("Select a run first").setEnabled(False)
            return
        shown = set(self.metrics())
        for name, label in metrics:
            act = self.add_menu.addAction(label + ("  (shown)" if name in shown else ""))
            act.triggered.connect(lambda _=False, m=name: self.add_panel(m))

    # ---- the timeline interface --------------------------------------------------------------------------------
    def set_cache(self, cache: RunCache | None) -> None:
        self.cache = cache
        self._runs = []
        for p in self.panels:
            p.set_cache(cache)

    def set_runs(self, runs: list[RunInfo]) -> None:
        self._runs = list(runs)
        for p in self.panels:
            p.set_runs(self._runs)

    @property
    def runs(self) -> list[RunInfo]:
        return list(self._runs)

    @runs.setter
    def runs(self, runs: list[RunInfo]) -> None:
        """Fresh RunInfo objects of the same runs (a running run grew); redraw with `refresh`."""
        self._runs = list(runs)
        for p in self.panels:
            p.runs = list(runs)

    def set_generation(self, k: int) -> None:
        """Move every panel's cursor (the scrubbing fast path: nothing is redrawn)."""
        self.generation = k
        for p in self.panels:
            p.set_generation(k)

    def refresh(self, run_id: int) -> None:
        for p in self.panels:
            p.refresh(run_id)

    # ---- export ----------------------------------------------------------------------------------------------
    def export_target(self) -> QWidget:
        """An export of the grid is the first panel's chart."""
        return self.first.export_target()

    def table(self) -> Table:
        return self.first.table()
