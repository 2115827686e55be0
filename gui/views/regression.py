"""`regression`: labels y against the true signal x·w* for one generation, with the truth and the fit.

Every generation relabels the same design X, so the x axis (the true signal s = x·w*) is the same for all
generations and the truth is the diagonal y = s. The fitted line is the fit's conditional mean in signal
space, E[x·w | x·w* = s] = (w·w* / w*·w*) s for the N(0, I) design: slope 1 is a perfect fit, and drifting
weights show as the line turning away from the diagonal while the points spread.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QWidget

from gui.theme_colors import ChartColors, with_alpha
from gui.views.base import ChartPlot, Table, fmt_num
from gui.views.kind import KindView

MAX_POINTS = 3000


class RegressionView(KindView):
    kind = "regression"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ghost_check = QCheckBox("gen 0")
        self.ghost_check.setChecked(True)
        self.ghost_check.setToolTip("Show generation 0 (real labels) as faint points")
        self.ghost_check.toggled.connect(self._options_changed)
        self.header.addWidget(self.ghost_check)
        self.finish_header()
        self.plot = ChartPlot.still(self.table, "true signal x·w*", "label y")
        self.body.addWidget(self.plot, 1)
        pi = self.plot.plotItem
        pi.showGrid(x=True, y=True, alpha=0.12)
        pi.getAxis("left").setWidth(56)
        self.legend = pi.addLegend(offset=(10, 10))
        self.ghost_points = pg.ScatterPlotItem(size=4, pen=None, name="generation 0 labels")
        self.points = pg.ScatterPlotItem(size=4, pen=None, name="this generation's labels")
        self.truth_line = pg.PlotDataItem(name="truth y = x·w*")
        self.fit_line = pg.PlotDataItem(name="fit E[x·w | x·w*]")
        for it in (self.ghost_points, self.points, self.truth_line, self.fit_line):
            pi.addItem(it)
        self.plot.apply_theme()
        self.gen_text = pg.TextItem(anchor=(1, 1))
        self.gen_text.setParentItem(pi.vb)
        pi.vb.sigResized.connect(lambda: self.gen_text.setPos(pi.vb.width() - 8, pi.vb.height() - 4))
        self._w_true = np.zeros(1)
        self._s0: np.ndarray | None = None
        self._xr = (-3.0, 3.0)
        self.plot.theme_changed.append(self._recolor)
        self._recolor(self.plot.colors)

    def _recolor(self, c: ChartColors) -> None:
        self.ghost_points.setBrush(pg.mkBrush(with_alpha(c.foreground, 45)))
        self.points.setBrush(pg.mkBrush(with_alpha(c.current, 150)))
        self.truth_line.setPen(pg.mkPen(c.truth, width=2, style=Qt.PenStyle.DashLine))
        self.fit_line.setPen(pg.mkPen(c.model, width=2.5))
        self.gen_text.setColor(c.foreground)

    def set_run(self, cache, run) -> None:  # noqa: ANN001
        super().set_run(cache, run)
        self._w_true = np.asarray(run.reference.get("true_w") or [1.0], dtype=np.float64)
        edges = np.asarray(run.reference.get("bins", {}).get("edges") or [-3.0, 3.0], dtype=np.float64)
        self._s0 = None
        self._ghost_loaded = False
        # fixed axes: y over the run's label bins, x over the signal's range (unit variance: +-4 sd)
        lim = 4.0 * float(np.linalg.norm(self._w_true) or 1.0)
        self._xr = (-lim, lim)
        pi = self.plot.plotItem
        pi.setXRange(*self._xr, padding=0)
        pi.setYRange(float(edges[0]), float(edges[-1]), padding=0)
        self.truth_line.setData(np.array(self._xr), np.array(self._xr))

    def _split(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = len(self._w_true)
        rows = np.asarray(samples, dtype=np.float64).reshape(-1, d + 1)[:MAX_POINTS]
        return rows[:, :d] @ self._w_true, rows[:, d]

    def _options_changed(self) -> None:
        if self.generation >= 0:
            k, self.generation = self.generation, -1
            self.show_generation(k)

    def show_generation(self, k: int) -> None:
        if self.run is None or self.cache is None or k == self.generation:
            return
        frame = self.cache.frame(self.run, k)
        self.generation = k
        if not self._ghost_loaded:
            s0, y0 = self._split(self.cache.frame(self.run, 0).samples)
            self.ghost_points.setData(s0, y0)
            self._ghost_loaded = True
        self.ghost_points.setVisible(self.ghost_check.isChecked())
        s, y = self._split(frame.samples)
        self.points.setData(s, y)
        w = np.asarray(frame.model.get("w") or self._w_true, dtype=np.float64)
        ww = float(self._w_true @ self._w_true)
        slope = float(w @ self._w_true / ww) if ww > 0 and len(w) == len(self._w_true) else float("nan")
        if np.isfinite(slope):
            self.fit_line.setData(np.array(self._xr), slope * np.array(self._xr))
            self.fit_line.setVisible(True)
        else:
            self.fit_line.setVisible(False)
        err = float(np.sum((w - self._w_true) ** 2)) if len(w) == len(self._w_true) else float("nan")
        self.gen_text.setText(f"generation {k}")
        note = f" · {frame.note}" if frame.note else ""
        self.set_info(f"Generation {k} · {frame.n_samples:,} rows · fit slope along w*: {fmt_num(slope)} · "
                      f"||w − w*||² = {fmt_num(err)}{note}")

    def table(self) -> Table:
        if self.run is None or self.cache is None or self.generation < 0:
            return [], []
        s, y = self._split(self.cache.frame(self.run, self.generation).samples)
        return ["true_signal", f"y_gen_{self.generation}"], [[float(a), float(b)] for a, b in zip(s, y)]
