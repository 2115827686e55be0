"""`hist1d`: the histogram of one generation over the run's fixed bins, with generation 0 and the fit.

Axes are fixed for the whole run: x spans the bin edges, y goes up to a rounded maximum over every stored
generation (it only grows when a running run sets a new record), so scrubbing never makes the axes jump.
Counts come from the cache's histogram matrix; samples are never loaded.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QCheckBox, QComboBox, QSpinBox, QWidget

from gui.theme_colors import ChartColors, with_alpha
from gui.views.base import ChartPlot, Table, cache_static, describe_model, nice_ceiling
from gui.views.kind import KindView

LOG_FLOOR = 0.5  # zero counts are drawn at this level in log-y (just below the visible range)
MODES = (("single", "Single generation"), ("overlay", "Overlay last k"), ("ridgeline", "Ridgeline"))


def _set_text(item: pg.TextItem, text: str) -> None:
    """TextItem.setText, skipped when the text is unchanged."""
    if item.toPlainText() != text:
        item.setText(text)


class Hist1DView(KindView):
    kind = "hist1d"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode_combo = QComboBox()
        for key, text in MODES:
            self.mode_combo.addItem(text, key)
        self.mode_combo.setToolTip("Single: the current generation. Overlay: the last k shown generations, older "
                                   "ones fading. Ridgeline: the last k shown generations stacked, oldest on top.")
        self.k_spin = QSpinBox()
        self.k_spin.setRange(2, 40)
        self.k_spin.setValue(8)
        self.k_spin.setPrefix("k ")
        self.k_spin.setToolTip("How many generations overlay and ridgeline show")
        self.every_spin = QSpinBox()
        self.every_spin.setRange(1, 100000)
        self.every_spin.setPrefix("every ")
        self.every_spin.setToolTip("Step between the generations overlay and ridgeline show")
        self.log_check = QCheckBox("log y")
        self.log_check.setToolTip("Logarithmic count axis: shows how the tails empty out")
        self.ghost_check = QCheckBox("gen 0")
        self.ghost_check.setChecked(True)
        self.ghost_check.setToolTip("Show generation 0 (the real data) as a faint reference")
        self.model_check = QCheckBox("fit")
        self.model_check.setChecked(True)
        self.model_check.setToolTip("Show the fitted model's density, scaled to counts")
        for w in (self.mode_combo, self.k_spin, self.every_spin, self.log_check, self.ghost_check,
                  self.model_check):
            self.header.addWidget(w)
        self.finish_header()

        self.plot = ChartPlot.still(self.table, "value", "samples per bin")
        self.body.addWidget(self.plot, 1)
        pi = self.plot.plotItem
        pi.showGrid(x=False, y=True, alpha=0.15)
        pi.getAxis("left").setWidth(56)

        self.ghost_item = pg.PlotDataItem(stepMode="center", fillLevel=0)
        self.hist_item = pg.PlotDataItem(stepMode="center", fillLevel=0)
        self.curve_item = pg.PlotDataItem()
        self.ghost_item.setZValue(-10)
        self.hist_item.setZValue(0)
        self.curve_item.setZValue(20)
        for it in (self.ghost_item, self.hist_item, self.curve_item):
            pi.addItem(it)
        cache_static(self.ghost_item)  # generation 0 never changes while scrubbing
        self.layer_items: list[pg.PlotDataItem] = []  # overlay / ridgeline generations (older ones)
        self.ridge_labels: list[pg.TextItem] = []
        self.gen_text = pg.TextItem(anchor=(1, 0))
        self.gen_text.setParentItem(pi.vb)
        pi.vb.sigResized.connect(self._place_text)

        self._edges = np.zeros(2)
        self._centres = np.zeros(1)
        self._width = 1.0
        self._grid: np.ndarray | None = None
        self._ymax = 1.0
        self._max_seen = -1
        self._ghost_loaded = False
        self._gens = np.empty(0, dtype=np.int64)
        self._mat = np.empty((0, 0), dtype=np.int32)

        self.mode_combo.currentIndexChanged.connect(self._options_changed)
        self.k_spin.valueChanged.connect(self._options_changed)
        self.every_spin.valueChanged.connect(self._options_changed)
        self.log_check.toggled.connect(self._options_changed)
        self.ghost_check.toggled.connect(self._options_changed)
        self.model_check.toggled.connect(self._options_changed)
        self.plot.theme_changed.append(self._recolor)
        self._recolor(self.plot.colors)
        self._update_controls()

    # ---- set-up ---------------------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return str(self.mode_combo.currentData())

    def set_run(self, cache, run) -> None:  # noqa: ANN001
        super().set_run(cache, run)
        bins = run.reference.get("bins", {})
        edges = np.asarray(bins.get("edges", [0.0, 1.0]), dtype=np.float64)
        if len(edges) < 2:
            edges = np.array([0.0, 1.0])
        self._edges = edges
        self._centres = 0.5 * (edges[:-1] + edges[1:])
        self._width = float(np.mean(np.diff(edges)))
        grid = run.reference.get("grid")
        self._grid = np.asarray(grid, dtype=np.float64) if grid else None
        self._max_seen = -1
        self._ymax = 1.0
        self.every_spin.blockSignals(True)
        self.every_spin.setValue(max(1, round(run.spec.generations / 40)))
        self.every_spin.blockSignals(False)
        self._load_matrix()
        self._apply_ranges()
        self._load_ghost()

    def refresh(self) -> None:
        if self.run is None or self.cache is None:
            return
        old = self._ymax
        self._load_matrix()
        if self._ymax != old:
            self._apply_ranges()
        if self._ymax != old or not self._ghost_loaded:
            self._load_ghost()

    def _load_matrix(self) -> None:
        assert self.cache is not None and self.run is not None
        self._gens, self._mat = self.cache.histograms(self.run)
        if len(self._gens) and self._mat.size:
            new = self._mat[self._max_seen + 1:] if self._max_seen >= 0 else self._mat
            if len(new):
                peak = float(new.max())
                self._ymax = max(self._ymax, nice_ceiling(peak * 1.08))
            self._max_seen = len(self._gens) - 1

    def _row(self, generation: int) -> np.ndarray | None:
        i = int(np.searchsorted(self._gens, generation))
        if i < len(self._gens) and self._gens[i] == generation:
            return self._mat[i]
        return None

    def _load_ghost(self) -> None:
        row = self._row(0)
        self._ghost_loaded = row is not None
        if row is None:
            self.ghost_item.setData([], [])
            return
        self.ghost_item.setData(self._edges, self._y(row), fillLevel=self._fill_level())

    # ---- drawing -------------------------------------------------------------------------------------------
    def _log(self) -> bool:
        return self.log_check.isChecked() and self.mode != "ridgeline"

    def _fill_level(self) -> float:
        return math.log10(LOG_FLOOR) if self._log() else 0.0

    def _y(self, counts: np.ndarray) -> np.ndarray:
        y = np.asarray(counts, dtype=np.float64)
        return np.maximum(y, LOG_FLOOR) if self._log() else y

    def _ridge_step(self) -> float:
        return 0.35 * self._ymax

    def _apply_ranges(self) -> None:
        pi = self.plot.plotItem
        log = self._log()
        pi.setLogMode(False, log)
        x0, x1 = float(self._edges[0]), float(self._edges[-1])
        pi.setXRange(x0, x1, padding=0.01)
        left = pi.getAxis("left")
        if self.mode == "ridgeline":
            k = self.k_spin.value()
            left.setTicks([[]])  # each ridge is labelled in the plot (cheaper than new ticks every step)
            pi.setYRange(0, self._ymax + (k - 1) * self._ridge_step(), padding=0.02)
            self.plot.set_axis_label("left", "generations (newest at the bottom)")
        elif log:
            left.setTicks(None)
            pi.setYRange(math.log10(0.8), math.log10(self._ymax * 1.5), padding=0)
            self.plot.set_axis_label("left", "samples per bin")
        else:
            left.setTicks(None)
            pi.setYRange(0, self._ymax, padding=0)
            self.plot.set_axis_label("left", "samples per bin")
        self._place_text()

    def _place_text(self) -> None:
        vb = self.plot.plotItem.vb
        self.gen_text.setPos(vb.width() - 8, 4)

    def _options_changed(self) -> None:
        self._update_controls()
        self._style_layers()
        if self.run is None:
            return
        self._apply_ranges()
        self._load_ghost()
        k = self.generation
        self.generation = -1
        if k >= 0:
            self.show_generation(k)

    def _update_controls(self) -> None:
        layered = self.mode != "single"
        self.k_spin.setEnabled(layered)
        self.every_spin.setEnabled(layered)
        self.log_check.setEnabled(self.mode != "ridgeline")

    def _recolor(self, c: ChartColors) -> None:
        self.ghost_item.setPen(pg.mkPen(c.ghost, width=1))
        self.ghost_item.setBrush(pg.mkBrush(c.ghost_fill))
        self.hist_item.setPen(pg.mkPen(c.current, width=1.5))
        self.hist_item.setBrush(pg.mkBrush(c.current_fill))
        self.curve_item.setPen(pg.mkPen(c.model, width=2.5))
        self.gen_text.setColor(c.foreground)
        for lab in self.ridge_labels:
            lab.setColor(c.foreground)
        self._style_layers()

    def _ensure_layers(self, n: int) -> None:
        if len(self.layer_items) >= n:
            return  # styled already (restyled by _options_changed and _recolor): nothing per scrub step
        pi = self.plot.plotItem
        while len(self.layer_items) < n:
            it = pg.PlotDataItem(stepMode="center")
            pi.addItem(it)
            self.layer_items.append(it)
        self._style_layers()

    def _ensure_ridge_labels(self, n: int) -> None:
        while len(self.ridge_labels) < n:
            lab = pg.TextItem(anchor=(0, 1), color=self.plot.colors.foreground)
            lab.setZValue(30)
            self.plot.plotItem.addItem(lab, ignoreBounds=True)
            self.ridge_labels.append(lab)

    def _style_layers(self) -> None:
        c = self.plot.colors
        n = max(1, self.k_spin.value())
        for i, it in enumerate(self.layer_items, start=1):
            fade = max(0.0, 1.0 - i / n)
            if self.mode == "ridgeline":
                it.setPen(pg.mkPen(with_alpha(c.current, int(90 + 165 * fade)), width=1.2))
                bg, fg = pg.mkColor(c.background), pg.mkColor(c.current)
                t = 0.10 * fade  # opaque, so a ridge hides the ones behind it; tinted more when recent
                fill = pg.mkColor(int(bg.red() + t * (fg.red() - bg.red())),
                                  int(bg.green() + t * (fg.green() - bg.green())),
                                  int(bg.blue() + t * (fg.blue() - bg.blue())))
                it.setBrush(pg.mkBrush(fill))
                it.setZValue(-i)
            else:
                it.setPen(pg.mkPen(with_alpha(c.current, int(30 + 170 * fade**1.5)), width=1))
                it.setBrush(None)
                it.setZValue(-1 - i / n)

    def show_generation(self, k: int) -> None:
        if self.run is None or self.cache is None or k == self.generation:
            return
        counts = self._row(k)
        if counts is None:  # the matrix is behind the file (a running run): read the frame itself
            counts = self.cache.frame(self.run, k).counts
        frame = self.cache.frame(self.run, k)
        self.generation = k
        mode = self.mode
        ridge = mode == "ridgeline"
        fill = self._fill_level()
        self.hist_item.setData(self._edges, self._y(counts), fillLevel=fill)
        self.ghost_item.setVisible(self.ghost_check.isChecked())
        # the fitted density, as expected counts per bin
        curve = frame.curve
        if self.model_check.isChecked() and curve is not None and self._grid is not None \
                and len(curve) == len(self._grid):
            y = np.asarray(curve, dtype=np.float64) * frame.n_samples * self._width
            if self._log():
                y = np.where(y > 0, y, np.nan)
            self.curve_item.setData(self._grid, y, connect="finite")
            self.curve_item.setVisible(True)
        else:
            self.curve_item.setVisible(False)
        # older generations
        k_layers = self.k_spin.value() - 1 if mode != "single" else 0
        self._ensure_layers(k_layers)
        every = self.every_spin.value()
        step = self._ridge_step()
        labels = [(0.0, k)] if ridge else []
        for i, it in enumerate(self.layer_items, start=1):
            g = k - i * every
            row = self._row(g) if i <= k_layers and g >= 0 else None
            if row is None:
                it.setVisible(False)
                continue
            off = i * step if ridge else 0.0
            y = self._y(row) + off
            it.setData(self._edges, y, fillLevel=off if ridge else None)
            it.setVisible(True)
            if ridge:
                labels.append((off, g))
        self._ensure_ridge_labels(len(labels))
        x0 = float(self._edges[0])
        for lab, (off, g) in zip(self.ridge_labels, labels):
            lab.setPos(x0, off)
            _set_text(lab, f"gen {g}")  # (re-laying out a text item costs more than the curves)
            lab.setVisible(True)
        for lab in self.ridge_labels[len(labels):]:
            lab.setVisible(False)
        _set_text(self.gen_text, f"generation {k}")
        note = f" · {frame.note}" if frame.note else ""
        model = describe_model(frame.model)
        self.set_info(f"Generation {k} · {frame.n_samples:,} samples"
                      f"{' · fit: ' + model if model else ''}{note}")

    # ---- export ----------------------------------------------------------------------------------------------
    def table(self) -> Table:
        if self.run is None or self.cache is None or self.generation < 0:
            return [], []
        k = self.generation
        frame = self.cache.frame(self.run, k)
        ref = self._row(0)
        model = None
        if frame.curve is not None and self._grid is not None and len(frame.curve) == len(self._grid):
            model = np.interp(self._centres, self._grid, np.asarray(frame.curve, dtype=np.float64)) \
                * frame.n_samples * self._width
        cols = ["bin_left", "bin_right", f"count_gen_{k}", "count_gen_0", f"model_gen_{k}_expected_count"]
        rows = []
        for i in range(len(self._centres)):
            rows.append([float(self._edges[i]), float(self._edges[i + 1]), int(frame.counts[i]),
                         "" if ref is None else int(ref[i]), "" if model is None else float(model[i])])
        return cols, rows

