"""Shared pieces of the generation views: a palette-aware plot widget, a pane with a message, helpers."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QPainter, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.params import ParamError
from core.scenarios import scenario_class
from core.scenarios.base import LOOP_METRICS, MetricInfo
from core.store import RunInfo
from gui.theme_colors import ChartColors, chart_colors, with_alpha

# A table for CSV export: column names and rows.
Table = tuple[list[str], list[Sequence[Any]]]

AXIS_WIDTH = 64  # fixed left-axis width, so generation axes of stacked charts line up


class ReadableAxis(pg.AxisItem):
    """An axis whose log-mode labels stay readable: only 1, 2 and 5 x 10^k are labelled (others stay ticks)."""

    def tickValues(self, minVal, maxVal, size):  # noqa: ANN001, ANN201, N802, N803 (pyqtgraph override)
        levels = super().tickValues(minVal, maxVal, size)
        if not self.logMode:
            return levels
        seen: set[float] = set()
        out = []
        for spacing, values in levels:  # log mode repeats 10^k on the minor level: drawn twice it looks bold
            keep = [v for v in values if round(float(v), 9) not in seen]
            seen.update(round(float(v), 9) for v in keep)
            out.append((spacing, keep))
        return out

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: ANN001, ANN201, N802, N803 (pyqtgraph)
        """Decades and their 2..9 multiples; where fewer than three of those fall in a narrow range (0.95 to 1.05),
        evenly spaced values instead, so the axis never shows a single label."""
        ticks = super().logTickValues(minVal, maxVal, size, stdTicks)
        shown = sum(1 for _, values in ticks for v in values if minVal <= v <= maxVal)
        if shown >= 3 or not maxVal > minVal or not -300 < minVal < maxVal < 300:
            return ticks
        lo, hi = 10.0**minVal, 10.0**maxVal
        raw = (hi - lo) / 5
        base = 10.0 ** math.floor(math.log10(raw))
        step = next(m * base for m in (1, 2, 5, 10) if m * base >= raw)
        values = np.arange(math.ceil(lo / step) * step, hi + step * 1e-6, step)
        return [(None, [float(v) for v in np.log10(values[values > 0])])]

    def tickStrings(self, values, scale, spacing):  # noqa: ANN001, ANN201, N802 (pyqtgraph override)
        if not self.logMode:
            return super().tickStrings(values, scale, spacing)
        lo, hi = (float(v) for v in self.range) if self.range is not None else (0.0, 0.0)
        sparse = hi - lo > 1.2  # more than about a decade shown: label only 1, 2, 5 x 10^k
        out = []
        for v in values:
            try:
                val = 10.0 ** float(v)
            except OverflowError:
                out.append("")
                continue
            m = val / 10.0 ** math.floor(math.log10(val) + 1e-9)
            if sparse and min(abs(m - 1), abs(m - 2), abs(m - 5), abs(m - 10)) > 1e-6:
                out.append("")
            elif 1e-3 <= val < 1e5:
                out.append(f"{val:.6g}")
            else:
                out.append(f"{val:.0e}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e"))
        return out


class ElidedLabel(QWidget):
    """One line of text, shortened with an ellipsis to fit, full text as tooltip.

    It paints its own text and has a constant size hint, so changing the text on every scrub step repaints
    only this strip instead of re-running the layouts of the panes above it (a QLabel would).
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(20)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)  # no parent repaint behind it
        self.set_full_text(text)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(200, self.fontMetrics().height() + 6)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(20, self.fontMetrics().height() + 6)

    def set_full_text(self, text: str) -> None:
        if text == self._full:
            return
        self._full = text
        self.setToolTip(text)
        self.update()

    def full_text(self) -> str:
        return self._full

    def text(self) -> str:
        """The text as shown (elided to the current width)."""
        return self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(10, self.width()))

    def paintEvent(self, ev) -> None:  # noqa: ANN001, N802
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Window))
        p.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        p.drawText(self.rect(), int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), self.text())
        p.end()


class ChartPlot(pg.PlotWidget):
    """A PlotWidget that follows the application palette and can describe its data as a table.

    `theme_changed` callbacks run after the colours are re-applied (views recolour their items there).
    `table` (optional) returns the chart's data for CSV export.
    """

    @classmethod
    def still(cls, table: Callable[[], Table] | None, bottom: str, left: str | None = None) -> ChartPlot:
        """A chart with fixed axes (no mouse zoom, no context menu), labelled, with an optional data table."""
        plot = cls()
        plot.setMouseEnabled(False, False)
        plot.setMenuEnabled(False)
        plot.table = table
        plot.set_axis_label("bottom", bottom)
        if left is not None:
            plot.set_axis_label("left", left)
        return plot

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, axisItems={"left": ReadableAxis("left"), "bottom": ReadableAxis("bottom")})
        self.theme_changed: list[Callable[[ChartColors], None]] = []
        self.width_changed: list[Callable[[], None]] = []  # called after a resize that changed the width
        self.table: Callable[[], Table] | None = None
        self.accent: int | None = None  # see set_accent
        self.hideButtons()
        self.plotItem.layout.setContentsMargins(4, 8, 10, 4)  # room for the top tick label
        for name in ("left", "bottom", "right", "top"):
            # An axis (with its grid lines) only changes with the range; cached as a pixmap it is blitted
            # instead of replayed when a cursor or a curve moves over it (the scrubbing fast path).
            self.plotItem.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self.plotItem.getAxis(name).enableAutoSIPrefix(False)  # no "(x0.001)" on unit-less axes
        self.setMinimumSize(120, 90)
        self.colors = chart_colors()
        self.apply_theme()

    def set_accent(self, series: int | None) -> None:
        """Draw what the views draw in the "current" colour in the theme's series colour `series` instead (one
        run among several compared: the colour the timeline gives it); None: the usual current colour."""
        if series != getattr(self, "accent", None):
            self.accent = series
            self.apply_theme()

    def apply_theme(self) -> None:
        c = self.colors = chart_colors(self.palette())
        accent = getattr(self, "accent", None)
        if accent is not None:
            c = self.colors = replace(c, current=c.series(accent), current_fill=with_alpha(c.series(accent), 110))
        self.setBackground(c.background)
        for name in ("left", "bottom", "right", "top"):
            ax = self.plotItem.getAxis(name)
            ax.setPen(pg.mkPen(c.ghost))
            ax.setTextPen(pg.mkPen(c.foreground))
            label = ax.label
            if label is not None:
                ax.labelStyle = {**ax.labelStyle, "color": c.foreground.name()}
                if ax.labelText:
                    ax.setLabel(ax.labelText, ax.labelUnits, ax.labelUnitPrefix)
        legend = self.plotItem.legend
        if legend is not None:
            legend.setLabelTextColor(c.foreground)
            for _, label in legend.items:
                label.setText(label.text)  # existing labels only take the colour when re-rendered
            bg = pg.mkColor(c.background)
            bg.setAlpha(200)
            legend.setBrush(pg.mkBrush(bg))
            legend.setPen(pg.mkPen(c.grid))
        for cb in self.theme_changed:
            cb(c)

    def resizeEvent(self, ev: QResizeEvent | None) -> None:  # noqa: N802 (Qt override)
        """Lay out as usual, then tell whoever fits text to the width (elided titles). pyqtgraph calls this
        with None itself when its scene changes."""
        super().resizeEvent(ev)
        if ev is None or ev.size().width() != ev.oldSize().width():
            for cb in getattr(self, "width_changed", ()):
                cb()

    def changeEvent(self, ev: QEvent) -> None:  # noqa: N802 (Qt override)
        if ev.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) and \
                getattr(self, "theme_changed", None) is not None and self.plotItem is not None:
            self.apply_theme()
        super().changeEvent(ev)

    def set_axis_label(self, which: str, text: str, units: str | None = None) -> None:
        self.plotItem.setLabel(which, text, units=units, color=self.colors.foreground.name())


class Pane(QStackedWidget):
    """A chart area that shows either its content or a sentence saying what to do next."""

    def __init__(self, content: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.content = content
        self.label = QLabel()
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        self.label.setMargin(16)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.addWidget(self.content)
        self.addWidget(self.label)

    def show_message(self, text: str) -> None:
        self.label.setText(text)
        self.setCurrentWidget(self.label)

    def show_content(self) -> None:
        self.setCurrentWidget(self.content)

    @property
    def message(self) -> str | None:
        """The sentence shown, or None when the content is shown."""
        return self.label.text() if self.currentWidget() is self.label else None


def header_layout(widget: QWidget) -> tuple[QVBoxLayout, QHBoxLayout]:
    """Lay `widget` out as a row of controls above a body; returns (the whole column, the control row)."""
    outer = QVBoxLayout(widget)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.setSpacing(2)
    header = QHBoxLayout()
    header.setContentsMargins(6, 2, 6, 0)
    header.setSpacing(8)
    outer.addLayout(header)
    return outer, header


class GenerationChartPane(Pane):
    """A Pane whose content is a row of controls (``header``) above a chart (``plot``) with generations along x;
    subclasses add their controls to the header and provide ``table()`` for the chart's data export."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self._box = QWidget()
        super().__init__(self._box, parent)
        outer, self.header = header_layout(self._box)
        self.plot = ChartPlot()
        self.plot.setMouseEnabled(True, False)
        self.plot.table = self.table
        outer.addWidget(self.plot, 1)
        self.plot.plotItem.getAxis("left").setWidth(AXIS_WIDTH)
        self.plot.set_axis_label("bottom", "generation")

    def table(self) -> Table | None:
        raise NotImplementedError

    @property
    def showing_chart(self) -> bool:
        """Whether the chart (not a message) is shown."""
        return self.currentWidget() is self._box

    def export_target(self) -> QWidget:
        """What Export image captures: the chart, or the message when no chart is shown."""
        return self.plot if self.showing_chart else self


class Coalescer(QObject):
    """Runs a callback at most once per `interval_ms`: the first call runs at once, later ones are merged.

    The interval stretches to COST_FACTOR x the callback's own last duration: a refresh that has grown slow (a
    long run's curves, read and drawn whole) then takes at most 1/COST_FACTOR of the GUI thread, so the
    queued worker signals, input and timers are always served (without this, a refresh slower than the
    interval ran on every progress signal and starved every timer)."""

    COST_FACTOR = 3.0

    def __init__(self, callback: Callable[[], None], interval_ms: int = 100, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.callback = callback
        self.interval = interval_ms / 1000.0
        self.cost = 0.0  # seconds the callback took last time
        self._last = -math.inf
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._run)

    @property
    def effective_interval(self) -> float:
        """The interval now, stretched by the callback's cost."""
        return max(self.interval, self.COST_FACTOR * self.cost)

    def __call__(self) -> None:
        wait = self._last + self.effective_interval - time.monotonic()
        if wait <= 0 and not self._timer.isActive():
            self._run()
        elif not self._timer.isActive():
            self._timer.start(max(1, int(wait * 1000)))

    def flush(self) -> None:
        """Run now if a call is pending."""
        if self._timer.isActive():
            self._timer.stop()
            self._run()

    def cancel(self) -> None:
        self._timer.stop()

    def _run(self) -> None:
        start = time.monotonic()
        self._last = start
        self.callback()
        self.cost = time.monotonic() - start


def cache_static(*items: pg.GraphicsObject) -> None:
    """Paint these items once into a device pixmap and blit it afterwards.

    For items that rarely change (generation 0, the timelines' curves, grids): when a cursor moves over
    them, Qt repaints only the exposed strip, and a cached item costs a blit instead of re-stroking a path
    of thousands of points. The cache is rebuilt when the item's data or the view's range changes.
    """
    for it in items:
        for sub in (it, getattr(it, "curve", None)):
            if sub is not None:
                sub.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def view_kind(run: RunInfo) -> str:
    """The run's view kind from its scenario class; raises ParamError for an unknown scenario."""
    return str(scenario_class(run.scenario).variant(run.spec.scenario_params).view)


def scenario_metric_infos(run: RunInfo) -> tuple[MetricInfo, ...]:
    try:
        return tuple(scenario_class(run.scenario).variant(run.spec.scenario_params).metric_infos) + LOOP_METRICS
    except (ParamError, Exception):  # an unknown or broken scenario: fall back to stored metric names
        return ()


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k at least x (stable axis maxima)."""
    if not np.isfinite(x) or x <= 0:
        return 1.0
    k = math.floor(math.log10(x))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        v = m * 10.0**k
        if v >= x * (1 - 1e-12):
            return v
    return 10.0 ** (k + 1)


def fmt_num(v: Any) -> str:
    """A compact number: 3 significant digits, scientific when tiny or huge."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not np.isfinite(f):
        return str(f)
    if f == 0:
        return "0"
    a = abs(f)
    if f.is_integer() and a < 1e9:
        return f"{int(f):,}"
    if a >= 1e5 or a < 1e-3:
        return f"{f:.2e}"
    return f"{f:.3g}"


def describe_model(model: dict[str, Any], limit: int = 4) -> str:
    """A short human description of stored model parameters: its scalar values, and list lengths."""
    parts = []
    fam = model.get("family")
    if isinstance(fam, str):
        parts.append(fam)
    if "pooled" in model and isinstance(model["pooled"], list):
        parts.append(f"pooled from {len(model['pooled'])} models")
    for k, v in model.items():
        if k in ("family", "pooled"):
            continue
        if isinstance(v, bool) or v is None:
            continue
        if isinstance(v, (int, float)):
            parts.append(f"{k} {fmt_num(v)}")
        elif k == "weights" and isinstance(v, list):
            parts.append(f"{sum(1 for w in v if isinstance(w, (int, float)) and w >= 0.01)} components")
        if len(parts) >= limit:
            break
    return ", ".join(parts)


def finite_range(*arrays: np.ndarray, log: bool = False) -> tuple[float, float] | None:
    """(min, max) over the finite (and, for log, positive) values of the arrays, or None."""
    lo, hi = math.inf, -math.inf
    for a in arrays:
        if a is None:
            continue
        a = np.asarray(a, dtype=np.float64)
        m = np.isfinite(a)
        if log:
            m &= a > 0
        if m.any():
            v = a[m]
            lo = min(lo, float(v.min()))
            hi = max(hi, float(v.max()))
    if lo > hi:
        return None
    return lo, hi
