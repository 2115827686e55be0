"""`hist2d`: the 2-D histogram of one generation as an image over the run's fixed grid, generation 0 as
contour lines, the fitted density as contours, and optionally the stored sample points."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QTransform
from PySide6.QtWidgets import QCheckBox, QWidget

from gui.theme_colors import ChartColors, heat_colormap, with_alpha
from gui.views.base import ChartPlot, Table, describe_model
from gui.views.kind import KindView

MAX_POINTS = 4000
GHOST_LEVELS = (0.08, 0.4)  # generation-0 contours, as fractions of its (smoothed) peak
FIT_LEVELS = (0.08, 0.4)


def _smooth(a: np.ndarray) -> np.ndarray:
    """3x3 box blur (edges padded), so contours of a noisy histogram are readable."""
    p = np.pad(np.asarray(a, dtype=np.float64), 1, mode="edge")
    out = np.zeros_like(a, dtype=np.float64)
    for dx in range(3):
        for dy in range(3):
            out += p[dx:dx + a.shape[0], dy:dy + a.shape[1]]
    return out / 9.0


class Hist2DView(KindView):
    kind = "hist2d"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.log_check = QCheckBox("log colour")
        self.log_check.setChecked(True)
        self.log_check.setToolTip("Colour by log(1 + count): sparse outer regions stay visible")
        self.ghost_check = QCheckBox("gen 0")
        self.ghost_check.setChecked(True)
        self.ghost_check.setToolTip("Contours of generation 0 (the real data)")
        self.fit_check = QCheckBox("fit")
        self.fit_check.setChecked(True)
        self.fit_check.setToolTip("Contours of this generation's fitted density")
        self.points_check = QCheckBox("points")
        self.points_check.setToolTip(f"Overlay the stored samples (at most {MAX_POINTS:,})")
        for w in (self.log_check, self.ghost_check, self.fit_check, self.points_check):
            self.header.addWidget(w)
        self.finish_header()

        self.plot = ChartPlot.still(self.table, "x₁", "x₂")
        self.body.addWidget(self.plot, 1)
        pi = self.plot.plotItem
        pi.getAxis("left").setWidth(56)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setColorMap(heat_colormap())
        pi.addItem(self.image)
        self.ghost_isos = [pg.IsocurveItem(level=lv) for lv in GHOST_LEVELS]
        self.fit_isos = [pg.IsocurveItem(level=lv) for lv in FIT_LEVELS]
        for iso in self.ghost_isos:
            iso.setParentItem(self.image)  # in the image's pixel coordinates
            iso.setZValue(5)
        for iso in self.fit_isos:
            pi.addItem(iso)
            iso.setZValue(6)
        self.points = pg.ScatterPlotItem(size=2.5, pen=None, pxMode=True)
        self.points.setZValue(8)
        pi.addItem(self.points)
        self.gen_text = pg.TextItem(anchor=(1, 0))
        self.gen_text.setParentItem(pi.vb)
        pi.vb.sigResized.connect(lambda: self.gen_text.setPos(pi.vb.width() - 8, 4))
        self._xe = np.array([0.0, 1.0])
        self._rect = QRectF(0, 0, 1, 1)
        self._ye = np.array([0.0, 1.0])
        self._gx: np.ndarray | None = None
        self._gy: np.ndarray | None = None
        self._max = 1
        self._ghost_loaded = False
        self._gens = np.empty(0, dtype=np.int64)
        self._mat = np.empty((0, 0), dtype=np.int32)
        for cb in (self.log_check, self.ghost_check, self.fit_check, self.points_check):
            cb.toggled.connect(self._options_changed)
        self.plot.theme_changed.append(self._recolor)
        self._recolor(self.plot.colors)

    def set_run(self, cache, run) -> None:  # noqa: ANN001
        super().set_run(cache, run)
        bins = run.reference.get("bins", {})
        self._xe = np.asarray(bins["x_edges"], dtype=np.float64)
        self._ye = np.asarray(bins["y_edges"], dtype=np.float64)
        g = run.reference.get("grid2d") or {}
        self._gx = np.asarray(g["x"], dtype=np.float64) if g.get("x") else None
        self._gy = np.asarray(g["y"], dtype=np.float64) if g.get("y") else None
        x0, x1, y0, y1 = self._xe[0], self._xe[-1], self._ye[0], self._ye[-1]
        self._rect = QRectF(x0, y0, x1 - x0, y1 - y0)
        if self._gx is not None and self._gy is not None and len(self._gx) > 1 and len(self._gy) > 1:
            dx = (self._gx[-1] - self._gx[0]) / (len(self._gx) - 1)
            dy = (self._gy[-1] - self._gy[0]) / (len(self._gy) - 1)
            tr = QTransform()
            tr.translate(self._gx[0], self._gy[0])
            tr.scale(dx, dy)
            for iso in self.fit_isos:
                iso.setTransform(tr)
        pi = self.plot.plotItem
        pi.setXRange(x0, x1, padding=0)
        pi.setYRange(y0, y1, padding=0)
        self._max = 1
        self._ghost_loaded = False
        self._load()

    def refresh(self) -> None:
        if self.run is not None:
            old = self._max
            self._load()
            if self._max != old and self.generation >= 0:
                k, self.generation = self.generation, -1
                self.show_generation(k)

    def _load(self) -> None:
        assert self.cache is not None and self.run is not None
        self._gens, self._mat = self.cache.histograms(self.run)
        if self._mat.size:
            self._max = max(self._max, int(self._mat.max()))
        if not self._ghost_loaded and len(self._gens) and self._gens[0] == 0:
            self._ghost_loaded = True
            h0 = _smooth(self._shape(self._mat[0]))
            peak = float(h0.max()) or 1.0
            for iso, lv in zip(self.ghost_isos, GHOST_LEVELS):
                iso.setData(h0, level=lv * peak)
                iso.setTransform(QTransform.fromTranslate(0.5, 0.5))

    def _shape(self, counts: np.ndarray) -> np.ndarray:
        return np.asarray(counts).reshape(len(self._xe) - 1, len(self._ye) - 1)

    def _options_changed(self) -> None:
        if self.generation >= 0:
            k, self.generation = self.generation, -1
            self.show_generation(k)

    def _recolor(self, c: ChartColors) -> None:
        ghost = QColor(255, 255, 255, 200)
        for iso in self.ghost_isos:
            iso.setPen(pg.mkPen(ghost, width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine))
        for iso in self.fit_isos:
            iso.setPen(pg.mkPen(c.model, width=2))
        self.points.setBrush(pg.mkBrush(255, 255, 255, 150))
        self.gen_text.setColor(c.foreground)
        self.gen_text.fill = pg.mkBrush(with_alpha(c.background, 200))  # readable over the colour map

    def show_generation(self, k: int) -> None:
        if self.run is None or self.cache is None or k == self.generation:
            return
        frame = self.cache.frame(self.run, k)
        self.generation = k
        h = self._shape(frame.counts).astype(np.float32)
        if self.log_check.isChecked():
            self.image.setImage(np.log10(1.0 + h), autoLevels=False, levels=(0.0, math.log10(1.0 + self._max)))
        else:
            self.image.setImage(h, autoLevels=False, levels=(0.0, float(self._max)))
        self.image.setRect(self._rect)  # after setImage: the rect maps the image's pixels
        for iso in self.ghost_isos:
            iso.setVisible(self.ghost_check.isChecked() and self._ghost_loaded)
        fit = frame.curve
        nx = 0 if self._gx is None else len(self._gx)
        ny = 0 if self._gy is None else len(self._gy)
        if self.fit_check.isChecked() and fit is not None and nx * ny == len(fit) and nx > 1:
            dens = np.asarray(fit, dtype=np.float64).reshape(nx, ny)
            peak = float(np.nanmax(dens)) if dens.size else 0.0
            for iso, lv in zip(self.fit_isos, FIT_LEVELS):
                if peak > 0:
                    iso.setData(dens, level=lv * peak)
                iso.setVisible(peak > 0)
        else:
            for iso in self.fit_isos:
                iso.setVisible(False)
        if self.points_check.isChecked():
            pts = np.asarray(frame.samples, dtype=np.float64).reshape(-1, 2)[:MAX_POINTS]
            self.points.setData(pts[:, 0], pts[:, 1])
            self.points.setVisible(True)
        else:
            self.points.setVisible(False)
        self.gen_text.setText(f"generation {k}")
        model = describe_model(frame.model)
        note = f" · {frame.note}" if frame.note else ""
        self.set_info(f"Generation {k} · {frame.n_samples:,} samples{' · fit: ' + model if model else ''}{note}")

    def table(self) -> Table:
        if self.run is None or self.cache is None or self.generation < 0:
            return [], []
        frame = self.cache.frame(self.run, self.generation)
        h = self._shape(frame.counts)
        rows = []
        for i in range(h.shape[0]):
            for j in range(h.shape[1]):
                rows.append([float(self._xe[i]), float(self._xe[i + 1]), float(self._ye[j]), float(self._ye[j + 1]),
                             int(h[i, j])])
        return ["x_left", "x_right", "y_bottom", "y_top", f"count_gen_{self.generation}"], rows
