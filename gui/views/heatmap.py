"""The drift heatmap: generation on x, value (or category rank) on y, colour = share of the generation's
samples in the bin. One ImageItem over a buffer that grows by doubling, so a running run appends rows
instead of recomputing them, and 10,000 generations x 100 bins stay one cheap image.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QWidget

from core.params import ParamError
from core.store import ProjectError, RunInfo
from gui.cache import RunCache
from gui.theme_colors import ChartColors, heat_colormap
from gui.views.base import AXIS_WIDTH, ChartPlot, ElidedLabel, GenerationChartPane, Table, view_kind
from gui.views.compare import (
    COMPACT_TITLE_HEIGHT,
    COMPACT_TITLE_SIZE,
    MAX_HEATMAPS,
    Multiple,
    SmallMultiples,
    mark_series,
    plan_multiples,
    set_plot_title,
    showing_hint,
    showing_text,
    with_current,
)

MAX_RANKS = 200  # category kinds: the heatmap shows the most frequent categories of generation 0
CATEGORY_KINDS = ("rank", "text", "images")

MSG_NO_PROJECT = "The drift heatmap appears here once a project is open: each column is one generation."
MSG_NO_RUN = ("Select a run in the Runs list to see its drift heatmap: generation left to right, value bottom to "
              "top, colour = how many samples fell there.")


class _Rows:
    """Float32 rows (generations x display bins), preallocated for the run's target and grown by doubling."""

    def __init__(self, width: int, capacity: int = 64) -> None:
        self.width = width
        self.n = 0
        self.buf = np.zeros((max(capacity, 64), width), dtype=np.float32)

    def append(self, rows: np.ndarray) -> None:
        k = len(rows)
        if self.n + k > len(self.buf):
            cap = max(self.n + k, 2 * len(self.buf))
            new = np.zeros((cap, self.width), dtype=np.float32)
            new[:self.n] = self.buf[:self.n]
            self.buf = new
        self.buf[self.n:self.n + k] = rows
        self.n += k

    @property
    def data(self) -> np.ndarray:
        return self.buf[:self.n]


class _GrowingImage(pg.ImageItem):
    """An ImageItem (column-major: generation x bin) whose QImage is updated only where rows were appended.

    pyqtgraph's ImageItem converts the whole array to a QImage after every `setImage`: O(generations x bins)
    per refresh of a running run. Here the colour indices live in a persistent Indexed8 buffer (bins x
    capacity): appending rows maps only the new ones (and the last, partial downsampling block), the rest is
    reused. Any other change (levels, colour map, downsampling factors, a new buffer) maps everything again.
    The result is what ImageItem draws: the same rescaling, the same mean-downsampling, the same colour table.
    """

    def __init__(self, **kwargs) -> None:  # noqa: ANN003
        super().__init__(**kwargs)
        self._idx: np.ndarray | None = None  # uint8 (bins // yds, capacity columns)
        self._src: np.ndarray | None = None
        self._state: tuple | None = None  # (source buffer id, levels, lut id, xds, yds) of _idx
        self._done = 0  # source rows whose columns in _idx are final
        self._table: list[int] = []
        self.full_renders = 0  # (tests, benchmarks)

    def clear(self) -> None:
        super().clear()
        self._idx, self._state, self._done, self._src = None, None, 0, None

    def render(self) -> None:  # noqa: C901 (one straight path)
        image = self.image
        lut = self.lut
        levels = self.levels
        if (image is None or image.size == 0 or image.ndim != 2 or image.base is None or levels is None
                or not isinstance(lut, np.ndarray) or len(lut) > 256 or self.axisOrder != "col-major"):
            self._state = None
            super().render()
            return
        xds, yds = self._computeDownsampleFactors() if self.autoDownsample else (1, 1)
        if xds is None:
            self._unrenderable = True
            return
        src = image.base  # the preallocated buffer the image is a view of (kept alive: its id is the key)
        n, bins = image.shape
        cols, rows = n // xds, bins // yds
        if cols == 0 or rows == 0:
            super().render()
            return
        lo, hi = (float(v) for v in np.ravel(levels)[:2])
        state = (id(src), src.shape, lo, hi, id(lut), xds, yds)
        if state != self._state or self._idx is None:
            cap = max(len(src) // xds, cols)
            self._idx = np.zeros((rows, cap), dtype=np.uint8)
            self._state, self._done, self._src = state, 0, src
            self._table = [pg.QtGui.qRgba(*(int(v) for v in (list(c) + [255])[:4])) for c in lut]
            self.full_renders += 1
        elif cols > self._idx.shape[1]:
            grown = np.zeros((rows, max(cols, 2 * self._idx.shape[1])), dtype=np.uint8)
            grown[:, :self._idx.shape[1]] = self._idx
            self._idx = grown
        first = self._done // xds  # the first block that may have changed
        block = image[first * xds: cols * xds]
        if len(block):
            if xds > 1:
                block = block.reshape(-1, xds, bins).mean(axis=1)
            if yds > 1:
                block = block[:, :rows * yds].reshape(len(block), rows, yds).mean(axis=2)
            rng = (hi - lo) or 1.0
            scaled = (block - lo) * (len(lut) / rng)
            np.clip(scaled, 0, len(lut) - 1, out=scaled)
            self._idx[:, first:cols] = scaled.T.astype(np.uint8)
        self._done = cols * xds
        idx = self._idx
        qimage = pg.QtGui.QImage(idx.data, cols, rows, idx.strides[0], pg.QtGui.QImage.Format.Format_Indexed8)
        qimage.setColorTable(self._table)
        self._qbuf = idx  # the QImage borrows this memory
        self.qimage = qimage
        self._lastDownsample = (xds, yds)
        self._renderRequired = False
        self._unrenderable = False


PREALLOC_ROWS = 16_384  # generations of buffer set aside at first (about 6 MB for 100 bins)
MIN_PANE_HEIGHT = 110  # the pane's least height with one run
COMPACT_ROW_MIN = 54  # px of a stacked row: its title and about 30 px of data
LAST_ROW_AXIS = 36  # px of the generation axis and its label under the last stacked row


class HeatRow:
    """One run's heatmap: a plot with the image and the current-generation line, and the rows drawn in it.

    The options (log colour, the 2-D marginal) are the owning `HeatmapView`'s; a row that cannot be drawn says
    why in its plot (`problem`) when it is one of several, or the owner shows the sentence instead of its chart.
    """

    def __init__(self, owner: HeatmapView, plot: ChartPlot) -> None:
        self.owner = owner
        self.plot = plot
        plot.setMenuEnabled(False)
        pi = plot.plotItem
        self.image = _GrowingImage(axisOrder="col-major")
        self.image.setColorMap(heat_colormap())
        self.image.setAutoDownsample(True)
        pi.addItem(self.image)
        self.cursor = pg.InfiniteLine(angle=90, movable=False)
        self.cursor.setZValue(10)
        pi.addItem(self.cursor)
        self.problem = pg.TextItem(anchor=(0.5, 0.5))
        self.problem.setParentItem(pi.vb)
        self.problem.setZValue(20)
        self.problem.hide()
        pi.vb.sigResized.connect(self._place_problem)
        plot.scene().sigMouseClicked.connect(self._clicked)
        plot.theme_changed.append(self._recolor)
        self._recolor(plot.colors)

        self.multiple: Multiple | None = None
        self.run: RunInfo | None = None
        self.compact = False
        self.kind = ""
        self.rows: _Rows | None = None
        self.display: _Rows | None = None
        self._consumed = 0  # histogram rows turned into display rows
        self._first_gen = 0
        self._order: np.ndarray | None = None
        self._order_from_gen0 = False
        self._y0, self._y1 = 0.0, 1.0
        self._floor = 1e-4

    def _recolor(self, c: ChartColors) -> None:
        self.cursor.setPen(pg.mkPen(c.cursor, width=2))
        self.problem.setColor(c.foreground)

    def _label_left(self, text: str) -> None:
        self.plot.set_axis_label("left", text)
        if self.compact:
            self.plot.plotItem.getAxis("left").showLabel(False)  # a short row: its title says what y is

    def set_compact(self, compact: bool, last: bool = True) -> None:
        """A short row among several: no left axis label, the title over the data area, less height; the `last`
        row alone shows the generation axis (all rows share it)."""
        self.compact = compact
        pi = self.plot.plotItem
        pi.getAxis("left").showLabel(not compact)
        pi.showAxis("bottom", last)
        self.plot.setMinimumHeight(90 if not compact else COMPACT_ROW_MIN + (LAST_ROW_AXIS if last else 0))

    def _place_problem(self) -> None:
        vb = self.plot.plotItem.vb
        self.problem.setTextWidth(max(80.0, vb.width() - 24))
        self.problem.setPos(vb.width() / 2, vb.height() / 2)

    def show_problem(self, text: str | None) -> None:
        """Say in the plot why this run's heatmap is not drawn (None: nothing to say)."""
        if text:
            self.problem.setText(text)
            self._place_problem()
        self.problem.setVisible(bool(text))

    @property
    def bins(self) -> dict:
        return self.run.reference.get("bins", {}) if self.run is not None else {}

    def what(self, short: bool = False) -> str:
        """What the colour shows, for the title (`short`: for a row among several; the header says the rest)."""
        bkind = self.bins.get("kind")
        if bkind == "2d":
            where = "x₁ bin" if int(self.owner.axis_combo.currentData() or 0) == 0 else "x₂ bin"
        elif bkind == "1d":
            where = "label bin" if self.kind == "regression" else "value bin"
        else:
            where = "category"
        if short:
            return f"share per {where}"
        log = ", log colour" if self.owner.log_check.isChecked() else ""
        return f"share of samples per {where} by generation{log}"

    # ---- set-up ---------------------------------------------------------------------------------------------
    def clear(self) -> None:
        self.rows = self.display = None
        self.image.clear()

    def setup(self, multiple: Multiple) -> str | None:
        """Draw this run; returns why it cannot be drawn (None: drawn)."""
        self.multiple, self.run = multiple, multiple.run
        run = multiple.run
        self.clear()
        try:
            self.kind = view_kind(run)
        except ParamError:
            self.kind = ""
        bins = run.reference.get("bins", {})
        if not bins:
            return (f"Run “{run.name}” has no generation yet: its heatmap fills in column by column as "
                    "generations are computed.")
        if bins.get("kind") not in ("1d", "2d") and bins.get("labels") is None:
            return (f"Run “{run.name}” stores histograms over bins of an unknown kind ({bins.get('kind')!r}); "
                    "this version of Collapse Lab cannot draw them as a heatmap.")
        return self.reset()

    def damage(self, exc: Exception) -> str:
        name = self.run.name if self.run is not None else "this run"
        self.clear()
        return f"The histograms of run “{name}” cannot be read, so its heatmap is not drawn: {exc}"

    def reset(self) -> str | None:
        """Read the run's rows again (new options, or generation 0 arrived); returns a damage message."""
        try:
            self._reset_unguarded()
        except (ProjectError, KeyError, ValueError, TypeError, IndexError) as exc:  # damaged file or reference
            return self.damage(exc)
        return None

    def _reset_unguarded(self) -> None:
        run, cache = self.run, self.owner.cache
        if run is None or cache is None:
            return
        bins = run.reference.get("bins", {})
        bkind = bins.get("kind")
        self._order = None
        left = self.plot.plotItem.getAxis("left")
        left.setTicks(None)
        self._floor = 0.5 / max(run.spec.samples, 1)
        if bkind == "1d":
            edges = np.asarray(bins["edges"], dtype=np.float64)
            self._y0, self._y1 = float(edges[0]), float(edges[-1])
            label = "label y" if self.kind == "regression" else "value"
            self._label_left(label)
        elif bkind == "2d":
            axis = int(self.owner.axis_combo.currentData() or 0)
            edges = np.asarray(bins["x_edges" if axis == 0 else "y_edges"], dtype=np.float64)
            self._y0, self._y1 = float(edges[0]), float(edges[-1])
            self._label_left("x₁" if axis == 0 else "x₂")
        else:
            labels = list(bins.get("labels") or [])
            gens, mat = cache.histograms(run)
            n_ranks = min(len(labels) if labels else (mat.shape[1] if mat.size else 1), MAX_RANKS)
            self._order_from_gen0 = bool(len(gens) and gens[0] == 0 and mat.size)
            if self._order_from_gen0:
                self._order = np.argsort(-mat[0].astype(np.int64), kind="stable")[:n_ranks]
            else:
                self._order = np.arange(n_ranks)
            self._y0, self._y1 = 0.5, n_ranks + 0.5
            if labels and n_ranks <= (3 if self.compact else 20):  # (a short row has room for a few)
                left.setTicks([[(i + 1, str(labels[j])) for i, j in enumerate(self._order)]])
                self._label_left("class" if self.kind == "images" else "category")
            else:
                self._label_left("rank")
        self._fit_ticks()
        self.clear()
        self._consumed = 0
        self._update_unguarded()

    def _fit_ticks(self) -> None:
        """A short row labels two or three values of its y axis (the automatic spacing would overlap them)."""
        left = self.plot.plotItem.getAxis("left")
        span = self._y1 - self._y0
        if not self.compact or not span > 0:
            left.setTickSpacing()
            return
        raw = span / 3.0
        base = 10.0 ** math.floor(math.log10(raw))
        step = next(m * base for m in (1, 2, 5, 10) if m * base >= raw)
        left.setTickSpacing(step, step)

    # ---- data -------------------------------------------------------------------------------------------------
    def _to_rows(self, mat: np.ndarray) -> np.ndarray:
        """Histogram rows -> display rows: shares of each generation's samples per bin (or per ranked category)."""
        m = np.asarray(mat, dtype=np.float64)
        bins = self.bins
        if bins.get("kind") == "2d":
            nx, ny = len(bins["x_edges"]) - 1, len(bins["y_edges"]) - 1
            cube = m.reshape(len(m), nx, ny)
            axis = int(self.owner.axis_combo.currentData() or 0)
            total = cube.sum(axis=(1, 2))
            m = cube.sum(axis=2 if axis == 0 else 1)
        else:
            total = m.sum(axis=1)
            if self._order is not None:
                m = m[:, self._order]
        total = np.where(total > 0, total, 1.0)
        return (m / total[:, None]).astype(np.float32)

    def _display_rows(self, share: np.ndarray) -> np.ndarray:
        if self.owner.log_check.isChecked():
            return np.log10(np.maximum(share, self._floor)).astype(np.float32)
        return share

    def update_data(self) -> str | None:
        """Append the generations committed since the last call (cheap); returns a damage message."""
        try:
            self._update_unguarded()
        except ProjectError as exc:
            return self.damage(exc)
        return None

    def _update_unguarded(self) -> None:
        run, cache = self.run, self.owner.cache
        if run is None or cache is None:
            return
        gens, mat = cache.histograms(run)
        if not len(gens) or not mat.size:
            return
        if self.rows is None:
            # room for the whole run (no regrowth while it computes), up to PREALLOC_ROWS: a million-generation
            # run must not take gigabytes before its first generations are drawn; beyond, it grows by doubling
            cap = max(min(run.spec.generations + 1, PREALLOC_ROWS), len(gens))
            self.rows = _Rows(self._to_rows(mat[:1]).shape[1], cap)
            self.display = _Rows(self.rows.width, cap)
            self._consumed = 0
            self._first_gen = int(gens[0])
        new = mat[self._consumed:]
        if len(new):
            share = self._to_rows(new)
            self.rows.append(share)
            assert self.display is not None
            self.display.append(self._display_rows(share))
            self._consumed = len(gens)
            self.render()

    def rebuild_display(self) -> None:
        if self.rows is None:
            return
        self.display = _Rows(self.rows.width, len(self.rows.buf))
        self.display.append(self._display_rows(self.rows.data))
        self.render()

    def levels(self) -> tuple[float, float]:
        if self.owner.log_check.isChecked():
            return math.log10(self._floor), 0.0
        # linear: saturate at 2x generation 0's peak share, so the real data's shape is visible and a
        # collapsed generation shows as a saturated streak
        assert self.rows is not None
        peak0 = float(self.rows.data[0].max()) if self.rows.n else 1.0
        return 0.0, min(1.0, max(2.0 * peak0, 1e-6))

    def render(self) -> None:
        if self.display is None or not self.display.n:
            return
        data = self.display.data
        self.image.setImage(data, autoLevels=False, levels=self.levels())
        n = data.shape[0]
        self.image.setRect(QRectF(self._first_gen - 0.5, self._y0, n, self._y1 - self._y0))
        vb = self.plot.plotItem.vb
        if vb.viewRange()[1] != [self._y0, self._y1]:  # fixed for the run: set once, not on every append
            vb.setYRange(self._y0, self._y1, padding=0)
        self.owner._set_x_range()

    @property
    def last(self) -> int:
        """The last generation drawn (-1: none)."""
        return self._first_gen + self.rows.n - 1 if self.rows is not None and self.rows.n else -1

    def _clicked(self, ev) -> None:  # noqa: ANN001
        if ev.button() != Qt.MouseButton.LeftButton or self.run is None or not self.plot.isVisible():
            return
        vb = self.plot.plotItem.vb
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        if self.rows is not None and self.rows.n:
            g = int(round(vb.mapSceneToView(ev.scenePos()).x()))
            self.owner.generation_picked.emit(min(max(g, self._first_gen), self.last))

    # ---- export ----------------------------------------------------------------------------------------------
    @property
    def image_shape(self) -> tuple[int, ...]:
        img = self.image.image
        return tuple(img.shape) if img is not None else (0, 0)

    def table(self) -> Table:
        if self.rows is None or not self.rows.n or self.run is None:
            return [], []
        bins = self.bins
        if bins.get("kind") in ("1d", "2d"):
            if bins.get("kind") == "1d":
                edges = np.asarray(bins["edges"], dtype=np.float64)
            else:
                axis = int(self.owner.axis_combo.currentData() or 0)
                edges = np.asarray(bins["x_edges" if axis == 0 else "y_edges"])
            cols = [f"{0.5 * (edges[i] + edges[i + 1]):.6g}" for i in range(len(edges) - 1)]
        else:
            labels = list(bins.get("labels") or [])
            order = self._order if self._order is not None else np.arange(self.rows.width)
            cols = [str(labels[j]) if j < len(labels) else str(j) for j in order]
        data = self.rows.data
        return (["generation", *cols],
                [[self._first_gen + i, *map(float, data[i])] for i in range(len(data))])


class HeatmapView(GenerationChartPane):
    """Whole-run drift at a glance, with a line at the current generation; click to jump.

    One run (or one group of replicates) selected: one heatmap. Several: one row per series of the timeline
    (at most `MAX_HEATMAPS`, stacked so every row shares the timeline's generation axis), each titled with its
    run's name and framed in the series colour the timeline gives it. `plot`, `image` and `cursor` are the first
    row's (the one whose generation axis is linked to the timeline; the others follow it).
    """

    generation_picked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Drift heatmap")
        self.title.setToolTip("Each column is one generation; colour = share of that generation's samples in each "
                              "bin. Click to jump to a generation.")
        self.log_check = QCheckBox("log colour")
        self.log_check.setChecked(True)
        self.log_check.setToolTip("Colour by the logarithm of the share: thin tails stay visible, so you can watch "
                                  "them disappear")
        self.axis_combo = QComboBox()
        self.axis_combo.addItem("x₁ marginal", 0)
        self.axis_combo.addItem("x₂ marginal", 1)
        self.axis_combo.setToolTip("2-D runs: which coordinate's distribution the heatmap shows")
        self.axis_combo.setVisible(False)
        self.scale_label = ElidedLabel()
        self.note_label = QLabel()  # "showing N of M selected runs" when not every selected run has a row
        self.note_label.setObjectName("compareNote")
        self.note_label.hide()
        for w in (self.title, self.log_check, self.axis_combo, self.note_label):
            self.header.addWidget(w)
        self.header.addWidget(self.scale_label, 1)
        outer = self._box.layout()
        outer.removeWidget(self.plot)  # into the sheet of rows
        self.sheet = SmallMultiples()
        self.sheet.last_row_extra = LAST_ROW_AXIS  # the generation axis under the last row only
        outer.addWidget(self.sheet, 1)
        first = HeatRow(self, self.plot)
        self.heat_rows: list[HeatRow] = [first]  # built so far (the first always; more for several runs)
        self.active: list[HeatRow] = [first]  # shown
        self.image = first.image
        self.cursor = first.cursor
        self.sheet.set_cells([self.plot], 1)

        self.cache: RunCache | None = None
        self.run: RunInfo | None = None
        self.runs: list[RunInfo] = []
        self.generation = 0
        self._key: tuple | None = None
        self._many = False
        self.log_check.toggled.connect(self._log_changed)
        self.axis_combo.currentIndexChanged.connect(self._axis_changed)
        self.show_message(MSG_NO_PROJECT)

    # ---- what older callers read --------------------------------------------------------------------------------
    def _main(self) -> HeatRow:
        """The current run's row (the first when the current run is not shown)."""
        rid = self.run.id if self.run is not None else None
        return next((r for r in self.active if r.run is not None and r.run.id == rid), self.active[0])

    @property
    def kind(self) -> str:
        return self._main().kind

    @property
    def rows(self) -> _Rows | None:
        return self._main().rows

    @property
    def comparing(self) -> bool:
        """Whether several runs' heatmaps are shown."""
        return self._many

    # ---- set-up ---------------------------------------------------------------------------------------------
    def set_cache(self, cache: RunCache | None) -> None:
        self.cache = cache
        self.set_run(None)

    def set_run(self, run: RunInfo | None) -> None:
        """Show one run (None: none), set up anew."""
        self._key = None
        self.set_runs([run] if run is not None else [], run)

    def set_runs(self, runs: list[RunInfo], current: RunInfo | None) -> None:
        """Show the selected runs: one heatmap for one series, a row per series for several (see
        gui.views.compare). `current` picks a group's replicate and is always among the rows."""
        self.runs = runs = with_current(runs, current)
        plan, total = plan_multiples(runs, current, MAX_HEATMAPS)
        if self.cache is None or len(plan) <= 1:
            single = plan[0] if plan and self.cache is not None else None
            key: tuple = ("one", single.key if single else None)
            row = self.active[0]
            if key == self._key and single is not None and self.showing_chart and row.rows is not None:
                row.multiple, row.run, self.run = single, single.run, single.run  # a fresh RunInfo
                self._title_rows()
                return
            self._key = key
            self._set_single(single)
            return
        key = ("many", tuple(m.key for m in plan), total)
        if key == self._key:
            for row, m in zip(self.active, plan):
                row.multiple, row.run = m, m.run
            self.run = next((m.run for m in plan if current is not None and m.run.id == current.id), plan[0].run)
            self._title_rows()
            return
        self._key = key
        self._set_compare(plan, total, len(runs), current)

    def _lay_out(self, rows: list[HeatRow]) -> None:
        many = len(rows) > 1
        self._many = many
        for r in self.active:
            if r not in rows:
                r.run, r.multiple = None, None
                r.clear()
        self.active = rows
        self.sheet.set_cells([r.plot for r in rows], 1)
        for i, r in enumerate(rows):
            r.set_compact(many, i == len(rows) - 1)
            r.show_problem(None)
        # the pane asks the splitter for room enough for every row (a squeezed row shows nothing)
        rows_min = sum(r.plot.minimumHeight() for r in rows) + self.sheet.grid.spacing() * (len(rows) - 1)
        self.setMinimumHeight(max(MIN_PANE_HEIGHT, rows_min + self.header.sizeHint().height() + 8))

    def _row(self, i: int) -> HeatRow:
        while len(self.heat_rows) <= i:
            plot = ChartPlot()
            plot.setMouseEnabled(True, False)
            plot.table = None
            plot.plotItem.getAxis("left").setWidth(AXIS_WIDTH)
            plot.set_axis_label("bottom", "generation")
            plot.plotItem.vb.setXLink(self.plot.plotItem.vb)  # one generation axis (the first row's)
            self.heat_rows.append(HeatRow(self, plot))
        return self.heat_rows[i]

    def _set_single(self, multiple: Multiple | None) -> None:
        row = self.heat_rows[0]
        self._lay_out([row])
        self.note_label.hide()
        mark_series(row.plot, None)
        row.clear()
        row.run = row.multiple = None
        self.run = multiple.run if multiple is not None else None
        if self.cache is None:
            self.show_message(MSG_NO_PROJECT)
            return
        if multiple is None:
            self.show_message(MSG_NO_RUN)
            return
        problem = row.setup(multiple)
        self.axis_combo.setVisible(row.bins.get("kind") == "2d")
        if problem is not None:
            self.show_message(problem)
            return
        self.show_content()
        row.cursor.setValue(self.generation)
        self._title_rows()
        self._update_scale_label()

    def _set_compare(self, plan: list[Multiple], total: int, n_runs: int, current: RunInfo | None) -> None:
        rows = [self._row(i) for i in range(len(plan))]
        self._lay_out(rows)
        for row, m in zip(rows, plan):
            mark_series(row.plot, m.color_index)
            row.show_problem(row.setup(m))
            row.cursor.setValue(self.generation)
        self.note_label.setText(showing_text(len(plan), total, n_runs))
        self.note_label.setToolTip(showing_hint(len(plan), total))
        self.note_label.setVisible(bool(self.note_label.text()))
        self.run = next((m.run for m in plan if current is not None and m.run.id == current.id), plan[0].run)
        self.axis_combo.setVisible(any(r.bins.get("kind") == "2d" for r in rows))
        self.show_content()
        self._set_x_range()
        self._title_rows()
        self._update_scale_label()

    def _title_rows(self) -> None:
        for r in self.active:
            if r.multiple is None:
                continue
            if self._many:  # stacked short rows: a compact title row above each (never over the data)
                set_plot_title(r.plot, r.multiple.label, r.what(short=True), r.multiple.color_index,
                               height=COMPACT_TITLE_HEIGHT, size=COMPACT_TITLE_SIZE)
            else:
                set_plot_title(r.plot, r.multiple.label, r.what())

    def _problem(self, row: HeatRow, text: str | None) -> None:
        if text is None:
            return
        if self._many:
            row.show_problem(text)
        else:
            self.show_message(text)

    # ---- options ----------------------------------------------------------------------------------------------
    def _log_changed(self) -> None:
        for r in self.active:
            r.rebuild_display()
        self._title_rows()
        self._update_scale_label()

    def _axis_changed(self) -> None:
        for r in self.active:
            if r.run is not None and r.bins:
                self._problem(r, r.reset())
        self._title_rows()
        self._update_scale_label()

    # ---- new generations ------------------------------------------------------------------------------------------
    def refresh(self, run: RunInfo | None = None) -> None:
        """A shown run has new generations (`run`: its fresh RunInfo; None: every shown run)."""
        for row in list(self.active):
            if row.run is None or (run is not None and row.run.id != run.id):
                continue
            m = row.multiple if run is None or row.multiple is None else replace(row.multiple, run=run)
            if run is not None and self.run is not None and self.run.id == run.id:
                self.run = run
            if row.rows is None or (not self._many and not self.showing_chart):
                if self._many:
                    assert m is not None
                    row.show_problem(row.setup(m))
                    row.cursor.setValue(self.generation)
                    self._title_rows()
                else:
                    self._set_single(m)
                continue
            row.multiple, row.run = m, m.run if m is not None else row.run
            if row._order is not None and not row._order_from_gen0:
                self._problem(row, row.reset())  # generation 0 arrived: rank categories by it
                continue
            self._problem(row, row.update_data())

    def update_data(self) -> None:
        """Append the generations committed since the last call to every shown row (cheap)."""
        for r in self.active:
            if r.run is not None:
                self._problem(r, r.update_data())

    def _set_x_range(self) -> None:
        # the x axis may be linked to the timelines, which own the range; alone, span the runs' target
        vb = self.plot.plotItem.vb
        if vb.linkedView(vb.XAxis) is None:
            gens = [r.run.spec.generations for r in self.active if r.run is not None]
            if not gens:
                return
            x1 = max(max(gens), 1) + 0.5
            if vb.viewRange()[0] != [-0.5, x1]:
                vb.setXRange(-0.5, x1, padding=0)

    def _update_scale_label(self) -> None:
        row = self._main()
        if self.log_check.isChecked():
            text = "colour: share of samples per bin, log scale (dark = empty)"
        else:
            text = "colour: share of samples per bin (saturates at 2× generation 0's peak)"
        if row._order is not None:
            text = text.replace("per bin", "per category") + "; rows: categories by generation-0 frequency"
            if row.rows is not None and row.run is not None:
                labels = row.bins.get("labels") or []
                if len(labels) > row.rows.width:
                    text += f", the top {row.rows.width} of {len(labels)}"
        self.scale_label.set_full_text(text)

    # ---- the fast path ------------------------------------------------------------------------------------
    def set_generation(self, k: int) -> None:
        """Move every row's current-generation line (the scrubbing fast path: nothing else is redrawn)."""
        if k != self.generation:
            self.generation = k
            for r in self.active:
                r.cursor.setValue(k)

    # ---- export ----------------------------------------------------------------------------------------------
    def export_target(self) -> QWidget:
        """What Export image captures: the chart; with several runs, the sheet of every row; or the message."""
        if not self.showing_chart:
            return self
        return self.sheet if self._many else self.plot

    @property
    def image_shape(self) -> tuple[int, ...]:
        """(generations, display bins) of the first row's image; (0, 0) when empty."""
        return self.heat_rows[0].image_shape

    def table(self) -> Table:
        """The drawn shares for CSV: the run's, or with several runs the current run's row's (see `tables`)."""
        return self._main().table()

    def tables(self) -> list[tuple[str, Table]]:
        """(row title, its drawn shares) of every row shown."""
        return [(r.multiple.label, r.table()) for r in self.active if r.multiple is not None]
