"""Small multiples: the distribution and the drift heatmap of several selected runs side by side.

Which runs, in which colour: `plan_multiples` follows `gui.views.run_groups`, so pane i is drawn in the series
colour i the timeline gives the same run. Replicates of one group (two or more of them selected) are one series
in the timeline, and one pane here: the current run when it is one of them, else the group's first replicate,
titled "group (replicate k of R)". At most `limit` panes are shown (the current run's always among them); the
sheet then says "showing N of M selected runs".

Titles are drawn inside the plot (the PlotItem's title row), so an exported chart names its run:
`set_plot_title` keeps them cheap to change on every scrub step (the text is swapped in place, without the
layout pass `PlotItem.setTitle` triggers).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from core.store import RunInfo
from gui.theme_colors import ChartColors
from gui.views.base import ChartPlot
from gui.views.run_groups import run_groups

# Why these maxima: the distribution pane (about half the window's height) still draws a readable histogram
# in each cell of a 2 x 3 grid, and a scrub step costs one redraw per pane (6 x ~2-3 ms stays within a 60 Hz
# frame); the heatmap pane is shorter (about a quarter of the height) and its rows share the timeline's
# generation axis, so they are stacked: four rows of ~60 px are the least that still shows a tail.
QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's "no maximum"
MAX_DISTRIBUTIONS = 6
MAX_HEATMAPS = 4

TITLE_SIZE = "9pt"
TITLE_HEIGHT = 20  # px of the title row (PlotItem.setTitle reserves 30)
COMPACT_TITLE_SIZE = "8pt"  # the stacked heatmap rows' titles: small, but above the data, never over it
COMPACT_TITLE_HEIGHT = 15


@dataclass(frozen=True)
class Multiple:
    """One pane: the run it draws, and the series of the timeline it stands for."""

    run: RunInfo
    name: str  # the series name: the run's, or its group's for two or more selected replicates
    color_index: int  # the index in run_groups(selected): the timeline draws it in ChartColors.series(i)
    replicate: int = 1  # the run's position in its group (1-based)
    replicates: int = 1  # how many of the group's replicates are selected

    @property
    def label(self) -> str:
        """What the pane's title calls it: the run's name, or "group (replicate k of R)"."""
        if self.replicates > 1:
            return f"{self.name} (replicate {self.replicate} of {self.replicates})"
        return self.name

    @property
    def key(self) -> tuple:
        return (self.run.id, self.run.created_at, self.color_index)


def with_current(runs: list[RunInfo] | None, current: RunInfo | None) -> list[RunInfo]:
    """The selected runs, with the current run after them when it is not among them (so the selected runs'
    series colours stay the timeline's)."""
    out = list(runs) if runs else []
    if current is not None and all(r.id != current.id for r in out):
        out.append(current)
    return out


def plan_multiples(runs: list[RunInfo], current: RunInfo | None, limit: int) -> tuple[list[Multiple], int]:
    """The panes for these selected runs (at most `limit`, the current run's series always among them) and how
    many series there are in all."""
    cur = current.id if current is not None else None
    out = []
    for i, (name, members) in enumerate(run_groups(list(runs))):
        j = next((n for n, m in enumerate(members) if m.id == cur), 0)
        out.append(Multiple(members[j], name, i, j + 1, len(members)))
    total = len(out)
    if total > limit:
        shown = out[:limit]
        mine = next((m for m in out if m.run.id == cur), None)
        if mine is not None and mine not in shown:
            shown = [*shown[:limit - 1], mine]  # still in run_groups order: the current series comes last
        out = shown
    return out, total


def showing_text(shown: int, total: int, n_runs: int) -> str:
    """The note beside truncated multiples ("" when every series is shown)."""
    if shown >= total:
        return ""
    if total == n_runs:
        return f"showing {shown} of {total} selected runs"
    return f"showing {shown} of {total} series ({n_runs} selected runs)"


def showing_hint(shown: int, total: int) -> str:
    """The note's tooltip: why not all, and where the others are."""
    if shown >= total:
        return ""
    return (f"Only {shown} panes fit here: the first series in the timeline's order, and always the current run's. "
            "The timeline shows all of them; select fewer runs to compare them all here. Replicates of one group "
            "are one series (their current or first replicate is drawn).")


def grid_columns(n: int) -> int:
    """Columns of a grid of n panes: side by side up to three, then two rows (2 x 2, 2 x 3, ...)."""
    if n <= 3:
        return max(n, 1)
    return math.ceil(n / 2) if n <= 6 else math.ceil(math.sqrt(n))


def title_html(label: str, detail: str, colors: ChartColors, series: int | None) -> str:
    """A title: the series colour's swatch (several panes), the name, a dash and what is drawn."""
    text = html.escape(label) + (f" — {html.escape(detail)}" if detail else "")
    if series is None:
        return text
    return f"<span style='color: {colors.series(series).name()}'>■</span>&nbsp;{text}"


def elide_title(label: str, detail: str, width: int, size: str, swatch: bool, font: QFont | None = None) -> str:
    """The run name shortened with "…" so that name, dash and detail fit `width` pixels in `font` at `size` (a
    plot not laid out yet, narrower than 80 px, keeps the whole name)."""
    if width < 80:
        return label
    font = QFont(font) if font is not None else QFont()
    font.setPointSizeF(float(size.removesuffix("pt")) if size.endswith("pt") else font.pointSizeF())
    fm = QFontMetrics(font)
    room = width - 40 - (fm.horizontalAdvance(f" — {detail}") if detail else 0) - (
        fm.horizontalAdvance("■ ") if swatch else 0)
    return fm.elidedText(label, Qt.TextElideMode.ElideRight, max(room, fm.horizontalAdvance("Mmm…")))


def set_plot_title(plot: ChartPlot, label: str, detail: str = "", series: int | None = None,
                   height: int = TITLE_HEIGHT, size: str = TITLE_SIZE) -> None:
    """Title the plot "<label> — <detail>" inside its PlotItem (exports include it); with `series`, a swatch of
    that series colour in front; the name is elided to the plot's width (the detail always shows). Cheap when
    only the text changes (every scrub step)."""
    plot._title_args = (label, detail, series)  # type: ignore[attr-defined]  (re-applied on a theme change)
    plot._title_style = (int(height), str(size))  # type: ignore[attr-defined]
    if not getattr(plot, "_title_hooked", False):
        plot._title_hooked = True  # type: ignore[attr-defined]
        plot.theme_changed.append(lambda _c, p=plot: _apply_title(p, force=True))
        plot.width_changed.append(lambda p=plot: _apply_title(p))
    _apply_title(plot)


def plot_title_text(plot: ChartPlot) -> str:
    """The plot's title as shown (plain text)."""
    return plot.plotItem.titleLabel.item.toPlainText() if plot.plotItem.titleLabel.isVisible() else ""


def _apply_title(plot: ChartPlot, force: bool = False) -> None:
    args = getattr(plot, "_title_args", None)
    if args is None:
        return
    c = plot.colors
    height, size = getattr(plot, "_title_style", (TITLE_HEIGHT, TITLE_SIZE))
    label, detail, series = args
    pi = plot.plotItem
    text = title_html(elide_title(label, detail, plot.width(), size, series is not None, pi.titleLabel.item.font()),
                      detail, c, series)
    lab = pi.titleLabel
    full = f"<span style='color: {c.foreground.name()}; font-size: {size}'>{text}</span>"
    if not force and lab.isVisible() and lab.text == text and getattr(plot, "_title_full", None) == full:
        return
    if force or not lab.isVisible() or lab.maximumHeight() != height or \
            getattr(plot, "_title_text", None) != lab.text:
        # first time (or someone else set a title meanwhile, e.g. a headless export): the full set-up
        pi.setTitle(text, color=c.foreground.name(), size=size)
        lab.setMaximumHeight(height)
        pi.layout.setRowFixedHeight(0, height)
    else:
        # only the text changed: swap it and centre it again; no minimum-size change, so no layout pass
        lab.text = text
        lab.item.setHtml(full)
        lab.item.setPos(0, 0)
        bounds = lab.itemRect()
        bounds.moveCenter(lab.rect().center())
        lab.item.setPos(bounds.topLeft() - lab.itemRect().topLeft())
    lab.setMinimumWidth(0)  # a long title never widens the plot (it is clipped instead)
    plot._title_text = text  # type: ignore[attr-defined]
    plot._title_full = full  # type: ignore[attr-defined]


def clear_plot_title(plot: ChartPlot) -> None:
    """Remove the title set by set_plot_title (its row takes no room)."""
    if getattr(plot, "_title_args", None) is not None:
        plot._title_args = None  # type: ignore[attr-defined]
        plot._title_text = None  # type: ignore[attr-defined]
        plot.plotItem.setTitle(None)


def mark_series(plot: ChartPlot, series: int | None) -> None:
    """Frame the plot's data area in the series colour (None: no frame), following the palette."""
    plot._series_mark = series  # type: ignore[attr-defined]
    if not getattr(plot, "_mark_hooked", False):
        plot._mark_hooked = True  # type: ignore[attr-defined]
        plot.theme_changed.append(lambda c, p=plot: _apply_mark(p, c))
    _apply_mark(plot, plot.colors)


def _apply_mark(plot: ChartPlot, c: ChartColors) -> None:
    series = getattr(plot, "_series_mark", None)
    plot.plotItem.vb.setBorder(None if series is None else pg.mkPen(c.series(series), width=2))


class SmallMultiples(QWidget):
    """A sheet of panes in a grid, with a note above them when not every selected run fits.

    The sheet is what an export of several runs renders: every pane with its title, and the note.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.note = QLabel()
        self.note.setObjectName("compareNote")
        self.note.setContentsMargins(6, 0, 6, 0)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note.hide()
        lay.addWidget(self.note)
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(4)
        lay.addLayout(self.grid, 1)
        self._cells: list[QWidget] = []
        self._shape = (0, 0)
        self.last_row_extra = 0  # px the last row needs beyond the others (a shared axis drawn only there)

    @property
    def cells(self) -> list[QWidget]:
        return list(self._cells)

    def set_cells(self, cells: list[QWidget], columns: int) -> None:
        """Lay these widgets out row by row, `columns` to a row (others taken out are hidden, not deleted)."""
        columns = max(1, columns)
        rows = max(1, math.ceil(len(cells) / columns))
        if cells == self._cells and self._shape == (rows, columns):
            return
        for w in self._cells:
            self.grid.removeWidget(w)
            if w not in cells:
                w.hide()
            w.setMaximumHeight(QWIDGETSIZE_MAX)
        for i, w in enumerate(cells):
            r, c = divmod(i, columns)
            self.grid.addWidget(w, r, c)
            w.show()
        old_rows, old_cols = self._shape
        for c in range(max(columns, old_cols)):
            self.grid.setColumnStretch(c, 1 if c < columns else 0)
        for r in range(max(rows, old_rows)):
            self.grid.setRowStretch(r, 1 if r < rows else 0)
        self._cells = list(cells)
        self._shape = (rows, columns)
        self._share_rows()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        """Keep the rows' data areas equal when the last row also carries the shared axis."""
        super().resizeEvent(event)
        self._share_rows()

    def _share_rows(self) -> None:
        rows, columns = self._shape
        if not self._cells:
            return
        if rows < 2 or self.last_row_extra <= 0:
            for w in self._cells:
                w.setMaximumHeight(QWIDGETSIZE_MAX)
            return
        note = self.note.sizeHint().height() + 2 if self.note.isVisible() else 0
        free = self.height() - note - self.grid.spacing() * (rows - 1) - self.last_row_extra
        share = max(free // rows, 0)
        for i, w in enumerate(self._cells):  # the rows above take a share each; the last one the rest
            w.setMaximumHeight(QWIDGETSIZE_MAX if i // columns == rows - 1 else share)

    def set_note(self, text: str, hint: str = "") -> None:
        self.note.setText(text)
        self.note.setToolTip(hint or text)
        self.note.setVisible(bool(text))

    def export_target(self) -> QWidget:
        return self
