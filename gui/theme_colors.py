"""Palette-aware colours for the charts: every view asks here instead of hard-coding black or white.

Charts follow the application palette (light or dark). `chart_colors()` reads it at call time, so a view
re-applies its colours when Qt sends a ``PaletteChange`` event (see ``gui.views.base.ChartPlot``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

# Okabe-Ito inspired categorical colours (colour-blind safe), one variant tuned for each background.
_SERIES_LIGHT = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#7A5C00", "#56B4E9", "#E69F00", "#444444",
                 "#8C2D04", "#6A3D9A")
_SERIES_DARK = ("#56B4E9", "#E69F00", "#2BD9A0", "#F08DCB", "#F0E442", "#7FA7FF", "#FF8C69", "#DDDDDD",
                "#C7A26B", "#B39DDB")

_SERIES_STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine)


@dataclass(frozen=True)
class ChartColors:
    """The colours one chart needs, for the current palette."""

    dark: bool
    background: QColor
    foreground: QColor  # axis lines, tick labels, titles
    muted: QColor  # secondary text (hints, captions)
    grid: QColor
    ghost: QColor  # generation 0 reference outline
    ghost_fill: QColor
    current: QColor  # the current generation
    current_fill: QColor
    model: QColor  # fitted model density
    truth: QColor  # the real process / true signal
    cursor: QColor  # the current-generation line
    theory: QColor
    highlight: QColor  # text highlight (repeated n-grams)

    def series(self, i: int) -> QColor:
        """The i-th categorical colour (runs in a timeline); see series_style beyond the table's length."""
        table = _SERIES_DARK if self.dark else _SERIES_LIGHT
        return QColor(table[i % len(table)])

    @staticmethod
    def series_style(i: int) -> Qt.PenStyle:
        """The line style of the i-th series: solid for the first ten, then dotted, then dash-dotted, so
        series that share a colour still differ (dashes alone mean a theory curve)."""
        return _SERIES_STYLES[(i // len(_SERIES_LIGHT)) % len(_SERIES_STYLES)]


def is_dark(palette: QPalette | None = None) -> bool:
    """True when the window background is dark."""
    if palette is None:
        app = QGuiApplication.instance()
        palette = QGuiApplication.palette() if app is not None else QPalette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def with_alpha(color: QColor, alpha: int) -> QColor:
    c = QColor(color)
    c.setAlpha(max(0, min(255, int(alpha))))
    return c


def chart_colors(palette: QPalette | None = None) -> ChartColors:
    """Colours for the current (or given) palette."""
    if palette is None:
        palette = QGuiApplication.palette() if QGuiApplication.instance() is not None else QPalette()
    dark = is_dark(palette)
    bg = QColor(palette.color(QPalette.ColorRole.Base))
    fg = QColor(palette.color(QPalette.ColorRole.Text))
    if dark:
        current, model, truth, cursor, theory = "#4FA3E0", "#FFB347", "#BBBBBB", "#FF6B6B", "#DDDDDD"
        highlight = "#7A5B00"
    else:
        current, model, truth, cursor, theory = "#1F6FB2", "#D55E00", "#555555", "#D62728", "#222222"
        highlight = "#FFE28A"
    muted = QColor(fg)
    muted.setAlpha(170)
    return ChartColors(
        dark=dark,
        background=bg,
        foreground=fg,
        muted=muted,
        grid=with_alpha(fg, 40),
        ghost=with_alpha(fg, 120),
        ghost_fill=with_alpha(fg, 28),
        current=QColor(current),
        current_fill=with_alpha(QColor(current), 110),
        model=QColor(model),
        truth=QColor(truth),
        cursor=QColor(cursor),
        theory=QColor(theory),
        highlight=QColor(highlight),
    )


def heat_colormap() -> pg.ColorMap:
    """Perceptually uniform map for densities, readable on light and dark backgrounds."""
    return pg.colormap.get("viridis")


def css(color: QColor) -> str:
    """A colour for Qt style sheets / HTML (rgba with alpha)."""
    return f"rgba({color.red()}, {color.green()}, {color.blue()}, {color.alpha()})"
