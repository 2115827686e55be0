"""The drift heatmap: generation on x, value (or category rank) on y, colour = share of the generation's
samples in the bin. One ImageItem over a buffer that grows by doubling, so a running run appends rows
instead of recomputing them, and 10,000 generations x 100 bins stay one cheap image.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QWidget

from core.params import ParamError
from core.store import ProjectError, RunInfo
from gui.cache import RunCache
from gui.theme_colors import ChartColors, heat_colormap
from gui.views.base import ElidedLabel, GenerationChartPane, Table, view_kind

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


class HeatmapView(GenerationChartPane):
    """Whole-run drift at a glance, with a line at the current generation; click to jump."""

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
        for w in (self.title, self.log_check, self.axis_combo):
            self.header.addWidget(w)
        self.header.addWidget(self.scale_label, 1)
        self.plot.setMenuEnabled(False)
        pi = self.plot.plotItem
        self.image = _GrowingImage(axisOrder="col-major")
        self.image.setColorMap(heat_colormap())
        self.image.setAutoDownsample(True)
        pi.addItem(self.image)
        self.cursor = pg.InfiniteLine(angle=90, movable=False)
        self.cursor.setZValue(10)
        pi.addItem(self.cursor)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.plot.theme_changed.append(self._recolor)
        self._recolor(self.plot.colors)

        self.cache: RunCache | None = None
        self.run: RunInfo | None = None
        self.kind = ""
        self.rows: _Rows | None = None
        self.display: _Rows | None = None
        self._consumed = 0  # histogram rows turned into display rows
        self._first_gen = 0
        self._order: np.ndarray | None = None
        self._order_from_gen0 = False
        self._y0, self._y1 = 0.0, 1.0
        self._floor = 1e-4
        self.generation = 0
        self.log_check.toggled.connect(self._rebuild_display)
        self.axis_combo.currentIndexChanged.connect(self._reset_rows)
        self.show_message(MSG_NO_PROJECT)

    # ---- set-up ---------------------------------------------------------------------------------------------
    def _recolor(self, c: ChartColors) -> None:
        self.cursor.setPen(pg.mkPen(c.cursor, width=2))

    def set_cache(self, cache: RunCache | None) -> None:
        self.cache = cache
        self.set_run(None)

    def set_run(self, run: RunInfo | None) -> None:
        self.run = run
        self.rows = self.display = None
        self.image.clear()
        if self.cache is None:
            self.show_message(MSG_NO_PROJECT)
            return
        if run is None:
            self.show_message(MSG_NO_RUN)
            return
        try:
            self.kind = view_kind(run)
        except ParamError:
            self.kind = ""
        bins = run.reference.get("bins", {})
        bkind = bins.get("kind")
        if not bins:
            self.show_message(f"Run “{run.name}” has no generation yet: its heatmap fills in column by column "
                              "as generations are computed.")
            return
        if bkind not in ("1d", "2d") and bins.get("labels") is None:
            self.show_message(f"Run “{run.name}” stores histograms over bins of an unknown kind ({bkind!r}); "
                              "this version of Collapse Lab cannot draw them as a heatmap.")
            return
        self.axis_combo.setVisible(bkind == "2d")
        self.show_content()
        self._reset_rows()

    def _show_damage(self, exc: Exception) -> None:
        name = self.run.name if self.run is not None else "this run"
        self.rows = self.display = None
        self.image.clear()
        self.show_message(f"The histograms of run “{name}” cannot be read, so its heatmap is not drawn: {exc}")

    def _reset_rows(self) -> None:
        try:
            self._reset_rows_unguarded()
        except (ProjectError, KeyError, ValueError, TypeError, IndexError) as exc:  # damaged file or reference
            self._show_damage(exc)

    def _reset_rows_unguarded(self) -> None:
        run = self.run
        if run is None or self.cache is None:
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
            self.plot.set_axis_label("left", label)
        elif bkind == "2d":
            axis = int(self.axis_combo.currentData() or 0)
            edges = np.asarray(bins["x_edges" if axis == 0 else "y_edges"], dtype=np.float64)
            self._y0, self._y1 = float(edges[0]), float(edges[-1])
            self.plot.set_axis_label("left", "x₁" if axis == 0 else "x₂")
        else:
            labels = list(bins.get("labels") or [])
            gens, mat = self.cache.histograms(run)
            n_ranks = min(len(labels) if labels else (mat.shape[1] if mat.size else 1), MAX_RANKS)
            self._order_from_gen0 = bool(len(gens) and gens[0] == 0 and mat.size)
            if self._order_from_gen0:
                self._order = np.argsort(-mat[0].astype(np.int64), kind="stable")[:n_ranks]
            else:
                self._order = np.arange(n_ranks)
            self._y0, self._y1 = 0.5, n_ranks + 0.5
            if labels and n_ranks <= 20:
                left.setTicks([[(i + 1, str(labels[j])) for i, j in enumerate(self._order)]])
                self.plot.set_axis_label("left", "class" if self.kind == "images" else "category")
            else:
                self.plot.set_axis_label("left", "rank")
        self.rows = None
        self.display = None
        self._consumed = 0
        self.image.clear()
        self.update_data()
        self._update_scale_label()

    # ---- data -------------------------------------------------------------------------------------------------
    def _to_rows(self, mat: np.ndarray) -> np.ndarray:
        """Histogram rows -> display rows: shares of each generation's samples per bin (or per ranked category)."""
        m = np.asarray(mat, dtype=np.float64)
        bins = self.run.reference.get("bins", {}) if self.run else {}
        if bins.get("kind") == "2d":
            nx, ny = len(bins["x_edges"]) - 1, len(bins["y_edges"]) - 1
            cube = m.reshape(len(m), nx, ny)
            axis = int(self.axis_combo.currentData() or 0)
            total = cube.sum(axis=(1, 2))
            m = cube.sum(axis=2 if axis == 0 else 1)
        else:
            total = m.sum(axis=1)
            if self._order is not None:
                m = m[:, self._order]
        total = np.where(total > 0, total, 1.0)
        return (m / total[:, None]).astype(np.float32)

    def _display_rows(self, share: np.ndarray) -> np.ndarray:
        if self.log_check.isChecked():
            return np.log10(np.maximum(share, self._floor)).astype(np.float32)
        return share

    def refresh(self, run: RunInfo | None = None) -> None:
        """The current run has new generations (`run`: its fresh RunInfo)."""
        if run is not None and self.run is not None and run.id == self.run.id:
            if not self.showing_chart or self.rows is None:
                self.set_run(run)
                self.cursor.setValue(self.generation)
                return
            self.run = run
            if self._order is not None and not self._order_from_gen0:
                self._reset_rows()  # generation 0 arrived: rank categories by it
                return
        self.update_data()

    def update_data(self) -> None:
        """Append the generations committed since the last call (cheap; called by refresh)."""
        run = self.run
        if run is None or self.cache is None or not self.showing_chart:
            return
        try:
            gens, mat = self.cache.histograms(run)
        except ProjectError as exc:
            self._show_damage(exc)
            return
        if not len(gens) or not mat.size:
            return
        if self.rows is None:
            cap = max(run.spec.generations + 1, len(gens))  # the whole run: no regrowth while it computes
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
            self._render()

    def _rebuild_display(self) -> None:
        if self.rows is None:
            self._update_scale_label()
            return
        self.display = _Rows(self.rows.width, len(self.rows.buf))
        self.display.append(self._display_rows(self.rows.data))
        self._render()
        self._update_scale_label()

    def _levels(self) -> tuple[float, float]:
        if self.log_check.isChecked():
            return math.log10(self._floor), 0.0
        # linear: saturate at 2x generation 0's peak share, so the real data's shape is visible and a
        # collapsed generation shows as a saturated streak
        assert self.rows is not None
        peak0 = float(self.rows.data[0].max()) if self.rows.n else 1.0
        return 0.0, min(1.0, max(2.0 * peak0, 1e-6))

    def _render(self) -> None:
        if self.display is None or not self.display.n:
            return
        data = self.display.data
        self.image.setImage(data, autoLevels=False, levels=self._levels())
        n = data.shape[0]
        self.image.setRect(QRectF(self._first_gen - 0.5, self._y0, n, self._y1 - self._y0))
        vb = self.plot.plotItem.vb
        if vb.viewRange()[1] != [self._y0, self._y1]:  # fixed for the run: set once, not on every append
            vb.setYRange(self._y0, self._y1, padding=0)
        self._set_x_range()

    def _set_x_range(self) -> None:
        if self.run is None:
            return
        # the x axis may be linked to the timelines, which own the range; alone, span the run's target
        vb = self.plot.plotItem.vb
        if vb.linkedView(vb.XAxis) is None:
            x1 = max(self.run.spec.generations, 1) + 0.5
            if vb.viewRange()[0] != [-0.5, x1]:
                vb.setXRange(-0.5, x1, padding=0)

    def _update_scale_label(self) -> None:
        if self.log_check.isChecked():
            text = "colour: share of samples per bin, log scale (dark = empty)"
        else:
            text = "colour: share of samples per bin (saturates at 2× generation 0's peak)"
        if self._order is not None:
            text = text.replace("per bin", "per category") + "; rows: categories by generation-0 frequency"
            if self.rows is not None and self.run is not None:
                labels = self.run.reference.get("bins", {}).get("labels") or []
                if len(labels) > self.rows.width:
                    text += f", the top {self.rows.width} of {len(labels)}"
        self.scale_label.set_full_text(text)

    # ---- the fast path ------------------------------------------------------------------------------------
    def set_generation(self, k: int) -> None:
        if k != self.generation:
            self.generation = k
            self.cursor.setValue(k)

    def _clicked(self, ev) -> None:  # noqa: ANN001
        if ev.button() != Qt.MouseButton.LeftButton or self.run is None:
            return
        vb = self.plot.plotItem.vb
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        x = vb.mapSceneToView(ev.scenePos()).x()
        g = int(round(x))
        last = self._first_gen + (self.rows.n - 1 if self.rows is not None else 0)
        if self.rows is not None and self.rows.n:
            g = min(max(g, self._first_gen), last)
            self.generation_picked.emit(g)

    # ---- export ----------------------------------------------------------------------------------------------
    @property
    def image_shape(self) -> tuple[int, ...]:
        """(generations, display bins) of the drawn image; (0, 0) when empty."""
        img = self.image.image
        return tuple(img.shape) if img is not None else (0, 0)

    def table(self) -> Table:
        if self.rows is None or not self.rows.n or self.run is None:
            return [], []
        bins = self.run.reference.get("bins", {})
        if bins.get("kind") in ("1d", "2d"):
            if bins.get("kind") == "1d":
                edges = np.asarray(bins["edges"], dtype=np.float64)
            else:
                edges = np.asarray(bins["x_edges" if int(self.axis_combo.currentData() or 0) == 0 else "y_edges"])
            cols = [f"{0.5 * (edges[i] + edges[i + 1]):.6g}" for i in range(len(edges) - 1)]
        else:
            labels = list(bins.get("labels") or [])
            order = self._order if self._order is not None else np.arange(self.rows.width)
            cols = [str(labels[j]) if j < len(labels) else str(j) for j in order]
        data = self.rows.data
        return (["generation", *cols],
                [[self._first_gen + i, *map(float, data[i])] for i in range(len(data))])
