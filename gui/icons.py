"""The window's icons: SVGs from resources/icons and media glyphs drawn for the current palette."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap, QPolygonF

ICON_DIR = Path(__file__).resolve().parents[1] / "resources" / "icons"


def icon(name: str) -> QIcon:
    """An icon from resources/icons (SVG), or an empty icon when missing."""
    path = ICON_DIR / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


GLYPH_COLORS = {"start": "#2e9d4f", "play": None, "pause": None, "stop": "#d9534f", "resume": "#2f7de1",
                "run-pause": "#d99a00"}


def glyph_icon(name: str, color: QColor | str | None = None) -> QIcon:
    """A crisp media glyph drawn for the current palette: play, pause, stop, first, last, prev, next, resume,
    start, run-pause. Normal and disabled states use the palette's text colours (or `color`)."""
    app = QGuiApplication.instance()
    palette = QGuiApplication.palette() if app is not None else QPalette()
    fixed = color if color is not None else GLYPH_COLORS.get(name)
    normal = QColor(fixed) if fixed is not None else palette.color(QPalette.ColorRole.WindowText)
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
    disabled.setAlpha(110)
    result = QIcon()
    for mode, c in ((QIcon.Mode.Normal, normal), (QIcon.Mode.Disabled, disabled)):
        for size in (16, 24, 32):
            result.addPixmap(_glyph_pixmap(name, c, size), mode)
    return result


def _glyph_pixmap(name: str, color: QColor, size: int) -> QPixmap:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    s = size / 16.0

    def tri(x0: float, x1: float, y0: float = 3, y1: float = 13) -> None:
        p.drawPolygon(QPolygonF([QPointF(x0 * s, y0 * s), QPointF(x1 * s, (y0 + y1) / 2 * s),
                                 QPointF(x0 * s, y1 * s)]))

    def bar(x: float, w: float, y0: float = 3, y1: float = 13) -> None:
        p.drawRoundedRect(QRectF(x * s, y0 * s, w * s, (y1 - y0) * s), 0.6 * s, 0.6 * s)

    if name in ("play", "start"):
        tri(4, 13)
    elif name in ("pause", "run-pause"):
        bar(4, 3)
        bar(9, 3)
    elif name == "stop":
        bar(3.5, 9, 3.5, 12.5)
    elif name == "resume":
        bar(3, 2.2)
        tri(7, 14)
    elif name == "next":
        tri(4, 10)
        bar(10.5, 2)
    elif name == "prev":
        bar(3.5, 2)
        p.drawPolygon(QPolygonF([QPointF(12 * s, 3 * s), QPointF(6 * s, 8 * s), QPointF(12 * s, 13 * s)]))
    elif name == "first":
        bar(2.5, 2)
        p.drawPolygon(QPolygonF([QPointF(9 * s, 3 * s), QPointF(4.5 * s, 8 * s), QPointF(9 * s, 13 * s)]))
        p.drawPolygon(QPolygonF([QPointF(14 * s, 3 * s), QPointF(9.5 * s, 8 * s), QPointF(14 * s, 13 * s)]))
    elif name == "last":
        tri(2, 6.5)
        tri(7, 11.5)
        bar(11.5, 2)
    p.end()
    return pm
