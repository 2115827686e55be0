"""Views of category-valued scenarios: `rank` (rank-frequency), `text` (sample sentences), `images` (digits).

They follow docs/CONTRACTS.md: counts over ``ref["bins"]["labels"]`` per generation, samples as int32
category ids (rank), int32 token ids with -1 padding (text), or float32 8x8 pixel rows 0..16 (images).
"""

from __future__ import annotations

import html
import math
from collections import Counter

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QSpinBox, QTextBrowser, QWidget

from gui.theme_colors import ChartColors, chart_colors, css
from gui.views.base import ChartPlot, Table, describe_model, fmt_num
from gui.views.kind import KindView

# ---- rank -----------------------------------------------------------------------------------------------------


def rank_frequency(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ranks 1..k, relative frequencies sorted descending) of the categories that occur."""
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum()
    nz = np.sort(c[c > 0])[::-1]
    if total <= 0 or not len(nz):
        return np.empty(0), np.empty(0)
    return np.arange(1, len(nz) + 1, dtype=np.float64), nz / total


class RankView(KindView):
    """Log-log rank-frequency of the current generation, generation 0 and the real probabilities behind it."""

    kind = "rank"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.finish_header()
        self.plot = ChartPlot.still(self.table, "rank (most frequent first)", "frequency")
        self.body.addWidget(self.plot, 1)
        pi = self.plot.plotItem
        pi.setLogMode(True, True)
        pi.showGrid(x=True, y=True, alpha=0.12)
        pi.getAxis("left").setWidth(56)
        self.legend = pi.addLegend(offset=(-10, 10))
        self.truth_item = pg.PlotDataItem(name="real probabilities")
        self.ghost_item = pg.PlotDataItem(name="generation 0")
        self.rank_item = pg.PlotDataItem(name="this generation")
        for it in (self.truth_item, self.ghost_item, self.rank_item):
            pi.addItem(it)
        self.plot.apply_theme()
        self.gen_text = pg.TextItem(anchor=(0, 1))
        self.gen_text.setParentItem(pi.vb)
        pi.vb.sigResized.connect(lambda: self.gen_text.setPos(8, pi.vb.height() - 4))
        self._gens = np.empty(0, dtype=np.int64)
        self._mat = np.empty((0, 0), dtype=np.int32)
        self._labels: list[str] = []
        self._n0 = 0
        self.plot.theme_changed.append(self._recolor)
        self._recolor(self.plot.colors)

    def _recolor(self, c: ChartColors) -> None:
        self.truth_item.setPen(pg.mkPen(c.truth, width=1.5, style=Qt.PenStyle.DashLine))
        self.ghost_item.setPen(pg.mkPen(c.ghost, width=2))
        self.rank_item.setPen(pg.mkPen(c.current, width=2.5))
        self.gen_text.setColor(c.foreground)

    def set_run(self, cache, run) -> None:  # noqa: ANN001
        super().set_run(cache, run)
        self._labels = list(run.reference.get("bins", {}).get("labels") or [])
        probs = run.reference.get("real_probs")
        if probs:
            r, f = rank_frequency(np.asarray(probs, dtype=np.float64))
            self.truth_item.setData(r, f)
            self.truth_item.setVisible(True)
        else:
            self.truth_item.setData([], [])
            self.truth_item.setVisible(False)
        self._load()

    def refresh(self) -> None:
        if self.run is not None:
            self._load()

    def _load(self) -> None:
        assert self.cache is not None and self.run is not None
        self._gens, self._mat = self.cache.histograms(self.run)
        if len(self._gens) and self._gens[0] == 0:
            r, f = rank_frequency(self._mat[0])
            self.ghost_item.setData(r, f)
            self._n0 = len(r)
            self._apply_ranges()

    def _apply_ranges(self) -> None:
        """Fixed log-log axes: ranks 1..categories, frequency from one sample in M up to the largest share."""
        assert self.run is not None
        k = max(len(self._labels), self._n0, 2)
        m = max(int(self._mat[0].sum()) if len(self._mat) else self.run.spec.samples, 1)
        top = 1.0
        if self._mat.size:
            sums = self._mat.sum(axis=1).astype(np.float64)
            sums[sums == 0] = 1.0
            top = float(np.max(self._mat.max(axis=1) / sums))
        pi = self.plot.plotItem
        pi.setXRange(0, math.log10(k * 1.15), padding=0)
        pi.setYRange(math.log10(0.5 / m), math.log10(min(1.0, top * 2.0)), padding=0.02)

    def show_generation(self, k: int) -> None:
        if self.run is None or self.cache is None or k == self.generation:
            return
        frame = self.cache.frame(self.run, k)
        self.generation = k
        r, f = rank_frequency(frame.counts)
        self.rank_item.setData(r, f)
        self.gen_text.setText(f"generation {k}")
        total = len(self._labels) or len(frame.counts)
        model = describe_model(frame.model)
        self.set_info(f"Generation {k} · {frame.n_samples:,} samples · categories seen: {len(r):,} of {total:,} "
                      f"(generation 0: {self._n0:,}){' · fit: ' + model if model else ''}")

    def table(self) -> Table:
        if self.run is None or self.cache is None or self.generation < 0:
            return [], []
        counts = self.cache.frame(self.run, self.generation).counts
        total = max(int(counts.sum()), 1)
        order = np.argsort(-counts, kind="stable")
        rows = []
        for rank, idx in enumerate(order, start=1):
            if counts[idx] <= 0:
                break
            label = self._labels[idx] if idx < len(self._labels) else str(idx)
            rows.append([rank, label, int(counts[idx]), float(counts[idx] / total)])
        return ["rank", "category", f"count_gen_{self.generation}", "frequency"], rows


# ---- text ------------------------------------------------------------------------------------------------------
_NO_SPACE_BEFORE = set(",.;:!?)]}'’”%")
_NO_SPACE_AFTER = set("([{‘“")


def _join(tokens: list[str]) -> list[tuple[str, str]]:
    """(separator, token) pairs: words separated by spaces, no space before punctuation; characters joined."""
    chars = all(len(t) <= 1 for t in tokens)
    out = []
    prev = ""
    for i, t in enumerate(tokens):
        if i == 0 or chars or t[:1] in _NO_SPACE_BEFORE or prev[-1:] in _NO_SPACE_AFTER:
            sep = ""
        else:
            sep = " "
        out.append((sep, t))
        prev = t
    return out


def repeated_ngrams(rows: np.ndarray, n: int, min_count: int = 2) -> tuple[set[tuple[int, ...]], float]:
    """N-grams occurring at least `min_count` times across the sentences, and the distinct share of n-grams."""
    counter: Counter[tuple[int, ...]] = Counter()
    for row in rows:
        toks = [int(t) for t in row if t >= 0]
        for i in range(len(toks) - n + 1):
            counter[tuple(toks[i:i + n])] += 1
    total = sum(counter.values())
    distinct = len(counter) / total if total else float("nan")
    return {g for g, c in counter.items() if c >= min_count}, distinct


class TextView(KindView):
    """Sample sentences of this generation beside generation 0's, repeated n-grams highlighted."""

    kind = "text"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lines_spin = QSpinBox()
        self.lines_spin.setRange(1, 100)
        self.lines_spin.setValue(12)
        self.lines_spin.setPrefix("sentences ")
        self.lines_spin.setToolTip("How many sample sentences to show per generation")
        self.n_spin = QSpinBox()
        self.n_spin.setRange(2, 8)
        self.n_spin.setValue(3)
        self.n_spin.setPrefix("n-gram ")
        self.n_spin.setToolTip("Highlight word sequences of this length that occur more than once among all of "
                               "the generation's stored samples: repetition grows as a language model collapses")
        self.header.addWidget(self.lines_spin)
        self.header.addWidget(self.n_spin)
        self.finish_header()
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.body.addWidget(self.browser, 1)
        self._vocab: list[str] = []
        self._gen0: tuple[str, float] | None = None
        self.lines_spin.valueChanged.connect(self._options_changed)
        self.n_spin.valueChanged.connect(self._options_changed)

    def set_run(self, cache, run) -> None:  # noqa: ANN001
        super().set_run(cache, run)
        vocab = run.reference.get("vocab")
        if vocab is None:
            vocab = run.reference.get("bins", {}).get("labels") or []
        self._vocab = [str(t) for t in vocab]
        self._gen0 = None

    def changeEvent(self, ev: QEvent) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(ev)
        if ev.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._options_changed()  # the highlight colours follow the palette

    def _options_changed(self) -> None:
        self._gen0 = None
        if self.generation >= 0:
            k, self.generation = self.generation, -1
            self.show_generation(k)

    def _token(self, t: int) -> str:
        return self._vocab[t] if 0 <= t < len(self._vocab) else f"<{t}>"

    def _render(self, rows: np.ndarray) -> tuple[str, float]:
        """HTML list of the first sentences, repeated n-grams highlighted; and the distinct n-gram share."""
        n = self.n_spin.value()
        rows = np.asarray(rows).reshape(len(rows), -1) if len(rows) else np.empty((0, 0), dtype=np.int32)
        repeated, distinct = repeated_ngrams(rows, n)
        c = chart_colors(self.palette())
        mark = f"background-color: {css(c.highlight)};"
        items = []
        for row in rows[:self.lines_spin.value()]:
            toks = [int(t) for t in row if t >= 0]
            hit = [False] * len(toks)
            for i in range(len(toks) - n + 1):
                if tuple(toks[i:i + n]) in repeated:
                    for j in range(i, i + n):
                        hit[j] = True
            parts = []
            for (sep, word), h in zip(_join([self._token(t) for t in toks]), hit):
                w = html.escape(word)
                parts.append(sep + (f'<span style="{mark}">{w}</span>' if h else w))
            items.append(f"<li>{''.join(parts) or '<i>(empty)</i>'}</li>")
        return f"<ol style='margin-left: 0px;'>{''.join(items)}</ol>", distinct

    def show_generation(self, k: int) -> None:
        if self.run is None or self.cache is None or k == self.generation:
            return
        frame = self.cache.frame(self.run, k)
        self.generation = k
        body, distinct = self._render(frame.samples)
        if self._gen0 is None:
            self._gen0 = self._render(self.cache.frame(self.run, 0).samples)
        body0, distinct0 = self._gen0
        n = self.n_spin.value()
        c = chart_colors(self.palette())
        muted = css(c.muted)
        html_text = (
            f"<table width='100%' cellspacing='0' cellpadding='6'><tr>"
            f"<td width='50%' valign='top'><b>Generation {k}</b><br><span style='color:{muted}'>distinct {n}-grams: "
            f"{fmt_num(100 * distinct)}%</span>{body}</td>"
            f"<td width='50%' valign='top'><b>Generation 0 (real text)</b><br><span style='color:{muted}'>distinct "
            f"{n}-grams: {fmt_num(100 * distinct0)}%</span>{body0}</td></tr></table>"
            f"<p style='color:{muted}'>Highlighted: {n}-word sequences that occur more than once among the "
            f"generation's {frame.n_stored:,} stored samples.</p>")
        self.browser.setHtml(html_text)
        model = describe_model(frame.model)
        self.set_info(f"Generation {k} · {frame.n_samples:,} samples{' · fit: ' + model if model else ''}")

    def export_target(self) -> QWidget:
        return self.browser

    def table(self) -> Table:
        if self.run is None or self.cache is None or self.generation < 0:
            return [], []
        frame = self.cache.frame(self.run, self.generation)
        rows = []
        for i, row in enumerate(np.asarray(frame.samples)[:self.lines_spin.value()]):
            words = _join([self._token(int(t)) for t in np.ravel(row) if t >= 0])
            rows.append([self.generation, i, "".join(s + w for s, w in words)])
        return ["generation", "index", "text"], rows


# ---- images ------------------------------------------------------------------------------------------------------
def mosaic(images: np.ndarray, shape: tuple[int, int], cols: int, rows: int, gap: int = 1) -> np.ndarray:
    """A (rows x cols) grid of images (NaN in the gaps and empty cells, which draw transparent)."""
    h, w = shape
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan, dtype=np.float32)
    imgs = np.asarray(images, dtype=np.float32).reshape(-1, h, w)
    for i in range(min(len(imgs), rows * cols)):
        r, c = divmod(i, cols)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = imgs[i]
    return out


class ImagesView(KindView):
    """A grid of this generation's sampled images beside real ones (generation 0)."""

    kind = "images"
    COLS, ROWS = 8, 6

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.finish_header()
        self.plot = ChartPlot()
        self.plot.setMouseEnabled(False, False)
        self.plot.setMenuEnabled(False)
        self.body.addWidget(self.plot, 1)
        pi = self.plot.plotItem
        for ax in ("left", "bottom"):
            pi.hideAxis(ax)
        pi.vb.setAspectLocked(True)
        pi.vb.invertY(True)
        self.current_image = pg.ImageItem(axisOrder="row-major")
        self.real_image = pg.ImageItem(axisOrder="row-major")
        pi.addItem(self.current_image)
        pi.addItem(self.real_image)
        self.current_label = pg.TextItem(anchor=(0, 1))
        self.real_label = pg.TextItem("generation 0 (real)", anchor=(0, 1))
        pi.addItem(self.current_label)
        pi.addItem(self.real_label)
        self._shape = (8, 8)
        self._vmax = 16.0
        self._labels: list[str] = []
        self.plot.theme_changed.append(self._recolor)
        self._recolor(self.plot.colors)

    def _recolor(self, c: ChartColors) -> None:
        paper = pg.mkColor(c.background).lighter(96 if not c.dark else 135)
        ink = pg.mkColor(c.foreground)
        cmap = pg.ColorMap([0.0, 1.0], [paper, ink])
        for img in (self.current_image, self.real_image):
            img.setColorMap(cmap)
        self.current_label.setColor(c.foreground)
        self.real_label.setColor(c.foreground)

    def set_run(self, cache, run) -> None:  # noqa: ANN001
        super().set_run(cache, run)
        shape = run.reference.get("image_shape") or [8, 8]
        self._shape = (int(shape[0]), int(shape[1]))
        self._vmax = float(run.reference.get("pixel_max", 16.0))
        self._labels = list(run.reference.get("bins", {}).get("labels") or [])
        h, w = self._shape
        width = self.COLS * (w + 1) - 1
        height = self.ROWS * (h + 1) - 1
        gap = max(3, w // 2)
        self.real_image.setPos(width + gap * 2, 0)
        self.current_image.setPos(0, 0)
        self.current_label.setPos(0, -0.5)
        self.real_label.setPos(width + gap * 2, -0.5)
        pi = self.plot.plotItem
        pi.setXRange(-1, 2 * width + 2 * gap + 1, padding=0)
        pi.setYRange(-h * 0.9, height + 1, padding=0)
        self._real_loaded = False

    def show_generation(self, k: int) -> None:
        if self.run is None or self.cache is None or k == self.generation:
            return
        frame = self.cache.frame(self.run, k)
        self.generation = k
        n = self.COLS * self.ROWS
        levels = (0.0, self._vmax)
        self.current_image.setImage(mosaic(frame.samples[:n], self._shape, self.COLS, self.ROWS), levels=levels)
        if not self._real_loaded:
            real = self.cache.frame(self.run, 0).samples[:n]
            self.real_image.setImage(mosaic(real, self._shape, self.COLS, self.ROWS), levels=levels)
            self._real_loaded = True
        self.current_label.setText(f"generation {k} (sampled)")
        counts = np.asarray(frame.counts)
        present = int(np.count_nonzero(counts))
        share = ""
        if counts.sum() > 0 and self._labels:
            top = int(np.argmax(counts))
            share = f" · most common class {self._labels[top]} ({fmt_num(100 * counts[top] / counts.sum())}%)"
        self.set_info(f"Generation {k} · {frame.n_samples:,} samples · classes present: {present} of "
                      f"{len(self._labels) or len(counts)}{share}")

    def table(self) -> Table:
        if self.run is None or self.cache is None or self.generation < 0:
            return [], []
        counts = self.cache.frame(self.run, self.generation).counts
        labels = self._labels or [str(i) for i in range(len(counts))]
        return ["class", f"count_gen_{self.generation}"], [[lab, int(c)] for lab, c in zip(labels, counts)]
