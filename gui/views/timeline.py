"""Metric timelines: one metric over generations for the selected runs, replicate groups as mean and 95%
band, the closed-form theory dashed, a cursor at the current generation; click or drag to jump.

The chart is titled with the metric's readable name (its MetricInfo label; the value axis says the same, the
other axis "generation"), and its legend sits in a row of its own above the plot area, so it never covers a
line; title, labels and legend live inside the plot item, so PNG and SVG exports carry them. "Smoothing" is an
exponential moving average (`ema`, causal: the curve keeps its place along the generations) drawn over the faint
raw values; the weight belongs to the chart and is not saved with the view state. Several charts side by side
are a `gui.views.timeline_grid.TimelineGrid`."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QMenu,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from core.scenarios import scenario_class
from core.scenarios.base import MetricInfo
from core.store import ProjectError, RunInfo
from gui.cache import RunCache
from gui.theme_colors import ChartColors, with_alpha
from gui.views.base import (
    ElidedLabel,
    GenerationChartPane,
    Table,
    cache_static,
    finite_range,
    scenario_metric_infos,
)
from gui.views.run_groups import run_groups

MSG_NO_PROJECT = ("Metric timelines appear here once a project is open: variance, distance to the real data, "
                  "tail mass … generation by generation.")
MSG_NO_RUN = "Select one or more runs in the Runs list to compare their metrics over the generations."
LEGEND_MAX_SHARE = 0.25  # a legend taller than this share of the chart is hidden (hovering names the lines)
LEGEND_GAP = 4  # pixels between the legend row(s) and the plot area below them
LEGEND_ENTRY_GAP = 14  # pixels between two entries side by side
LEGEND_ROW_SPACING = -6  # the legend's text items have blank margins: rows overlap by this much
TITLE_HEIGHT = 24  # the title row's height (pyqtgraph's default is 30)
TITLE_SIZE = "10pt"
LEGEND_TEXT_SIZE = "9pt"
SMOOTHING_MAX = 0.99
DEFAULT_METRICS = ("var_ratio", "test_error", "diversity", "kl", "w1")


@dataclass
class Series:
    """One drawn line: a run, or the mean of a replicate group with its 95% band."""

    name: str
    runs: list[RunInfo]
    color_index: int
    gens: np.ndarray
    values: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    raw: list[tuple[np.ndarray, np.ndarray]] | None = None  # replicates


EMA_BLOCK = 128  # ema() works through the series in blocks of this many values (one matrix product each)


def ema(values: np.ndarray, weight: float, debias: bool = True) -> np.ndarray:
    """Exponential moving average of a series (the TensorBoard / W&B "smoothing" convention).

    With weight w in [0, 1): s_t = w s_{t-1} + (1 - w) x_t over the finite values x_t. It is causal: s_t uses
    x_0..x_t only, so smoothing never shifts the curve along the generations (the result has the input's
    length and positions). Non-finite values are skipped: the result is NaN there and the average carries on
    from the previous finite value, as if that step had not happened (a NaN never poisons later values).

    `debias` (the default, as TensorBoard does): s_t is divided by 1 - w^(n_t), n_t the number of finite
    values so far, which makes s_t the weighted mean of x_0..x_t with weights w^(age). Without it the
    recursion starts at s_0 = x_0 and generation 0 keeps the weight w^t, 1/(1-w) times that of a later value,
    pulling the start of the curve toward generation 0. Either way the first finite value is returned
    unchanged (s_0 = x_0), a constant series stays constant and w = 0 returns the input.
    """
    v = np.asarray(values, dtype=np.float64)
    w = float(weight)
    if not 0.0 <= w < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), not {weight!r}")
    if w == 0.0 or v.size == 0:
        return v.copy()
    ok = np.isfinite(v)
    x = v[ok]
    n = len(x)
    out = np.full(v.shape, np.nan)
    if n == 0:
        return out
    # Inside a block of B values, s_{b+j} = w^(j+1) s_{b-1} + sum_{i<=j} (1-w) w^(j-i) x_{b+i}: a matrix product
    # for the sums, then one carry per block (powers below B never overflow; tiny ones underflow to 0)
    b = min(EMA_BLOCK, n)
    j = np.arange(b)
    lag = j[:, None] - j[None, :]
    mix = np.where(lag >= 0, (1.0 - w) * w ** np.maximum(lag, 0), 0.0)  # mix[j, i]
    carry_w = w ** (j + 1.0)
    blocks = -(-n // b)
    padded = np.zeros(blocks * b)
    padded[:n] = x
    local = padded.reshape(blocks, b) @ mix.T
    carry = 0.0 if debias else x[0]  # s_{-1}: 0 (debiased below), or x_0 so that s_0 = x_0
    for k in range(blocks):
        local[k] += carry_w * carry
        carry = local[k, -1]
    s = local.reshape(-1)[:n]
    if debias:
        s = s / -np.expm1(np.arange(1, n + 1) * np.log(w))  # 1 - w^(n_t), accurate also for w near 1
    s[0] = x[0]  # exactly (the sums above may round it by an ulp)
    out[ok] = s
    return out


def t_quantile_975(df: np.ndarray) -> np.ndarray:
    """Student-t 97.5% quantile for each degrees-of-freedom value (NaN for df < 1)."""
    from scipy.stats import t

    df = np.asarray(df, dtype=np.float64)
    out = np.full(df.shape, np.nan)
    ok = df >= 1
    out[ok] = t.ppf(0.975, df[ok])
    return out


def group_mean_band(series: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                           np.ndarray]:
    """(generations, mean, low, high) across replicates: mean +- t(0.975, n-1) sd / sqrt(n) per generation."""
    if not series:
        e = np.empty(0)
        return e, e, e, e
    top = max((int(g.max()) for g, _ in series if len(g)), default=-1)
    gens = np.arange(top + 1)
    mat = np.full((len(series), top + 1), np.nan)
    for i, (g, v) in enumerate(series):
        if len(g):
            mat[i, g] = np.where(np.isfinite(v), v, np.nan)
    n = np.sum(np.isfinite(mat), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(mat, axis=0) / n
        dev = np.where(np.isfinite(mat), mat - mean, 0.0)
        sd = np.sqrt(np.sum(dev * dev, axis=0) / (n - 1))
        half = t_quantile_975(n - 1) * sd / np.sqrt(n)
    mean[n == 0] = np.nan
    half[n < 2] = np.nan
    return gens, mean, mean - half, mean + half


class TimelineView(GenerationChartPane):
    """One metric over generations for the selected runs."""

    generation_picked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.metric_combo = QComboBox()
        self.metric_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.metric_combo.setToolTip("The metric to plot; hover an entry for what it means")
        self.log_check = QCheckBox("log y")
        self.log_check.setToolTip("Logarithmic value axis (the default depends on the metric)")
        self.smoothing_label = QLabel("Smoothing")
        self.smoothing_spin = QDoubleSpinBox()
        self.smoothing_spin.setRange(0.0, SMOOTHING_MAX)
        self.smoothing_spin.setSingleStep(0.05)
        self.smoothing_spin.setDecimals(2)
        self.smoothing_spin.setValue(0.0)
        self.smoothing_spin.setSpecialValueText("off")
        self.smoothing_spin.setAccessibleName("Smoothing")
        tip = ("Exponential moving average with this weight (0 = off, 0.99 = strongest), as in TensorBoard: each "
               "generation's value is averaged with the earlier ones only, so the curve never shifts along the "
               "generations and generation 0 keeps its value; the raw values stay faint behind")
        self.smoothing_spin.setToolTip(tip)
        self.smoothing_label.setToolTip(tip)
        self.smoothing_label.setBuddy(self.smoothing_spin)
        self.replicates_check = QCheckBox("replicates")
        self.replicates_check.setToolTip("Replicate groups are drawn as the mean with a 95% confidence band across "
                                         "seeds; also draw each replicate faintly")
        self.theory_check = QCheckBox("theory")
        self.theory_check.setChecked(True)
        self.theory_check.setToolTip("Dashed: the closed-form expectation from the literature, when the scenario "
                                     "and policy have one")
        self.help_label = ElidedLabel()
        # side by side with other panels (set_compact), log y, replicates and theory move into this menu
        self.options_button = QToolButton()
        self.options_button.setText("…")
        self.options_button.setAccessibleName("More options")
        self.options_button.setToolTip("More options: log y, replicates, theory")
        self.options_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._options_box = QWidget()
        QVBoxLayout(self._options_box).setContentsMargins(8, 4, 8, 4)
        options_menu = QMenu(self.options_button)
        holder = QWidgetAction(options_menu)
        holder.setDefaultWidget(self._options_box)
        options_menu.addAction(holder)
        self.options_button.setMenu(options_menu)
        self.options_button.hide()
        self.compact = False
        for w in (self.metric_combo, self.log_check, self.smoothing_label, self.smoothing_spin,
                  self.options_button, self.replicates_check, self.theory_check):
            self.header.addWidget(w)
        self.header.addWidget(self.help_label, 1)
        pi = self.plot.plotItem
        pi.showGrid(x=True, y=True, alpha=0.12)
        # The legend sits in a row of its own between the title and the plot area (the empty top-axis row of
        # the plot item's layout), its entries side by side: it never covers a line, and it is part of the
        # plot item, so PNG and SVG exports carry it (and the title and the axis labels).
        self.legend = pg.LegendItem(offset=None, frame=False, labelTextSize=LEGEND_TEXT_SIZE,
                                    verSpacing=LEGEND_ROW_SPACING)
        self.legend.layout.setContentsMargins(0, 0, 0, 0)  # its size is set from its entries (see _fit_legend)
        self.legend.setParentItem(pi)
        pi.legend = self.legend  # named items join it (PlotItem.addItem), the theme colours its text
        self._legend_layout: tuple[int, int, bool] | None = None  # (columns, row height, shown) as last set
        self._title = ""
        self.plot.installEventFilter(self)  # a resize re-flows the legend before the plot lays itself out
        self.plot.apply_theme()
        self.cursor = pg.InfiniteLine(angle=90, movable=True)
        self.cursor.setZValue(50)
        self.cursor.setToolTip("Current generation: drag to scrub")
        pi.addItem(self.cursor)
        self.cursor.sigDragged.connect(self._dragged)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.plot.scene().sigMouseMoved.connect(self._hover)
        self.plot.theme_changed.append(self._recolor)

        self.cache: RunCache | None = None
        self.runs: list[RunInfo] = []
        self.series: list[Series] = []
        self.unreadable: list[str] = []  # series whose stored values of the metric cannot be read
        self.without_data: list[str] = []  # selected runs that have no value of the metric (not drawn)
        self.items: dict[str, pg.GraphicsObject] = {}  # legend name -> main item (tests, export)
        self._lines: list[tuple[str, np.ndarray, np.ndarray]] = []  # (name, gens, drawn values) for hovering
        self._drawn: list[pg.GraphicsObject] = []
        self._infos: dict[str, MetricInfo] = {}
        self.generation = 0
        self._max_gen = 0
        self._drawn_last: dict[int, int] = {}
        self._keys: list[tuple] = []  # identities of the drawn items (see redraw)
        self._log_state = False  # the plot's log-y mode as last set
        self._ranges: tuple | None = None  # (wanted, resulting view range) as last set
        self._theory_cache: dict[str, list[tuple[str, int, np.ndarray, np.ndarray]]] = {}
        self.preferred_metric = ""  # the metric chosen last (kept across run changes when available)
        self.metric_combo.currentIndexChanged.connect(self._metric_changed)
        for w in (self.log_check, self.replicates_check, self.theory_check):
            w.toggled.connect(self.redraw)
        self.smoothing_spin.valueChanged.connect(self.redraw)
        self._recolor(self.plot.colors)
        self.show_message(MSG_NO_PROJECT)

    # ---- set-up ---------------------------------------------------------------------------------------------
    @property
    def metric(self) -> str:
        return str(self.metric_combo.currentData() or "")

    @property
    def smoothing(self) -> float:
        """The smoothing weight in [0, 0.99] (0: off); see `ema`."""
        return float(self.smoothing_spin.value())

    def set_smoothing(self, weight: float) -> None:
        self.smoothing_spin.setValue(min(max(float(weight), 0.0), SMOOTHING_MAX))

    def metric_label(self, name: str | None = None) -> str:
        """A metric's readable name (its MetricInfo label, else the stored name); default the current one."""
        name = self.metric if name is None else name
        mi = self._infos.get(name)
        return mi.label if mi else name

    @property
    def title(self) -> str:
        """The chart's title as drawn (the metric's readable name)."""
        return self._title

    def settings(self) -> dict[str, object]:
        """This chart's choices: metric, log y, smoothing, replicates, theory (see apply_settings)."""
        return {"metric": self.metric or self.preferred_metric, "log": self.log_check.isChecked(),
                "smoothing": self.smoothing, "replicates": self.replicates_check.isChecked(),
                "theory": self.theory_check.isChecked()}

    def apply_settings(self, settings: dict[str, object]) -> None:
        """Take over what `settings()` of another chart returned (one redraw)."""
        controls = (self.metric_combo, self.log_check, self.smoothing_spin, self.replicates_check,
                    self.theory_check)
        for w in controls:
            w.blockSignals(True)
        try:
            metric = str(settings.get("metric") or "")
            if metric:
                self.preferred_metric = metric
                self.set_metric(metric)
            self.log_check.setChecked(bool(settings.get("log", self.log_check.isChecked())))
            self.set_smoothing(float(settings.get("smoothing", self.smoothing)))  # type: ignore[arg-type]
            self.replicates_check.setChecked(bool(settings.get("replicates", self.replicates_check.isChecked())))
            self.theory_check.setChecked(bool(settings.get("theory", self.theory_check.isChecked())))
        finally:
            for w in controls:
                w.blockSignals(False)
        self._metric_tip()
        self.redraw()

    def set_compact(self, compact: bool) -> None:
        """A narrow header (panels side by side): the metric menu shrinks, and log y, replicates and theory move
        into the "…" menu (the same check boxes)."""
        if compact == self.compact:
            return
        self.compact = compact
        moved = (self.log_check, self.replicates_check, self.theory_check)
        if compact:
            for w in moved:
                self._options_box.layout().addWidget(w)
            self.metric_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            self.metric_combo.setMinimumContentsLength(10)
        else:
            self.header.insertWidget(1, self.log_check)
            at = self.header.indexOf(self.options_button) + 1
            self.header.insertWidget(at, self.replicates_check)
            self.header.insertWidget(at + 1, self.theory_check)
            self.metric_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        for w in moved:
            w.show()
        self.options_button.setVisible(compact)
        self.header.setSpacing(4 if compact else 8)

    def set_metric(self, name: str) -> bool:
        i = self.metric_combo.findData(name)
        if i >= 0:
            self.metric_combo.setCurrentIndex(i)
        return i >= 0

    def set_cache(self, cache: RunCache | None) -> None:
        self.cache = cache
        self.set_runs([])

    def set_runs(self, runs: list[RunInfo]) -> None:
        self.runs = list(runs)
        if self.cache is None:
            self.show_message(MSG_NO_PROJECT)
            self._clear_items()
            return
        if not self.runs:
            self.show_message(MSG_NO_RUN)
            self._clear_items()
            return
        self.show_content()
        self._fill_metrics()
        self.redraw()

    def _fill_metrics(self) -> None:
        assert self.cache is not None
        infos: dict[str, MetricInfo] = {}
        for run in self.runs:
            for mi in scenario_metric_infos(run):
                infos.setdefault(mi.name, mi)
        stored: list[str] = []
        for run in self.runs:
            try:
                stored.extend(n for n in self.cache.metric_names(run) if n not in stored)
            except ProjectError:  # damaged metrics: the run's line says so when drawn (see _collect)
                continue
        names = [n for n in infos if n in stored or not stored] + sorted(n for n in stored if n not in infos)
        if not names:
            names = list(infos)
        self._infos = infos
        current = self.metric
        self.metric_combo.blockSignals(True)
        self.metric_combo.clear()
        for n in names:
            mi = infos.get(n)
            self.metric_combo.addItem(mi.label if mi else n, n)
            self.metric_combo.setItemData(self.metric_combo.count() - 1,
                                          f"{mi.label}: {mi.help}" if mi else f"{n} (stored metric)",
                                          Qt.ItemDataRole.ToolTipRole)
        wanted = [current, self.preferred_metric, *DEFAULT_METRICS]
        pick = next((m for m in wanted if m and m in names), names[0] if names else "")
        self.metric_combo.setCurrentIndex(max(0, self.metric_combo.findData(pick)))
        self.metric_combo.blockSignals(False)
        if pick != current:
            self._apply_metric_defaults()

    def _metric_changed(self) -> None:
        self.preferred_metric = self.metric
        self._apply_metric_defaults()
        self.redraw()

    def _apply_metric_defaults(self) -> None:
        mi = self._infos.get(self.metric)
        self.log_check.blockSignals(True)
        self.log_check.setChecked(bool(mi and mi.log_scale))
        self.log_check.blockSignals(False)
        self._metric_tip()

    def _metric_tip(self) -> None:
        mi = self._infos.get(self.metric)
        self.metric_combo.setToolTip(f"{mi.label}: {mi.help}" if mi else "The metric to plot")

    def _recolor(self, c: ChartColors) -> None:
        self.cursor.setPen(pg.mkPen(c.cursor, width=2))
        self.cursor.setHoverPen(pg.mkPen(c.cursor, width=4))
        if self._title:
            self._set_title(self._title, force=True)
        if self.series:
            self.redraw()

    def _set_title(self, text: str, force: bool = False) -> None:
        """The plot's title (inside the plot item, so exports carry it) and the value axis' label."""
        if text == self._title and not force:
            return
        self._title = text
        pi = self.plot.plotItem
        if not text:
            pi.setTitle(None)
            self.plot.set_axis_label("left", "")
            pi.getAxis("left").showLabel(False)
            return
        pi.setTitle(text, color=self.plot.colors.foreground.name(), size=TITLE_SIZE)
        pi.layout.setRowFixedHeight(0, TITLE_HEIGHT)
        self.plot.set_axis_label("left", text)

    # ---- data ------------------------------------------------------------------------------------------------
    def _groups(self) -> list[tuple[str, list[RunInfo]]]:
        return run_groups(self.runs)

    def _collect(self) -> list[Series]:
        assert self.cache is not None
        metric = self.metric
        out = []
        self.unreadable, self.without_data = [], []
        for i, (name, members) in enumerate(self._groups()):
            try:
                data = [self.cache.series(r, metric) for r in members]
                if any(self.cache.unreadable_metrics(r) for r in members):
                    self.unreadable.append(name)  # drawn without the damaged generations
            except ProjectError:
                self.unreadable.append(name)
                continue
            if not any(np.isfinite(np.asarray(v, dtype=np.float64)).any() for _, v in data):
                self.without_data.append(name)  # another scenario's metric, or nothing computed yet
                continue
            if len(members) == 1:
                g, v = data[0]
                out.append(Series(name, members, i, np.asarray(g), np.asarray(v, dtype=np.float64)))
            else:
                g, mean, lo, hi = group_mean_band([(np.asarray(a), np.asarray(b)) for a, b in data])
                out.append(Series(f"{name} (mean of {len(members)}, 95% band)", members, i, g, mean, lo, hi,
                                  raw=[(np.asarray(a), np.asarray(b, dtype=np.float64)) for a, b in data]))
        return out

    def _theories(self, series: list[Series]) -> list[tuple[str, int, np.ndarray, np.ndarray]]:
        """The closed-form curves for these series (they depend on the runs' settings only: memoised, so a
        refresh of a running run does not evaluate them again)."""
        metric = self.metric
        memo_key = json.dumps([metric, [(s.name, s.color_index, [(r.id, r.created_at, r.scenario, r.spec.generations)
                                                                  for r in s.runs]) for s in series]], default=str)
        hit = self._theory_cache.get(memo_key)
        if hit is not None:
            return hit
        out: list[tuple[str, int, np.ndarray, np.ndarray]] = []
        seen: dict[str, int] = {}
        for s in series:
            run = s.runs[0]
            try:
                cls = scenario_class(run.scenario).variant(run.spec.scenario_params)
                settings = run.spec.theory_run()
                gens = np.arange(run.spec.generations + 1)
                th = cls.theory(metric, gens, settings)
            except Exception:  # a scenario without (or with a broken) closed form: draw none
                th = None
            if th is None:
                continue
            key = json.dumps([run.scenario, settings, run.spec.generations], sort_keys=True, default=str)
            if key in seen:
                continue
            seen[key] = s.color_index
            th = np.asarray(th, dtype=np.float64)
            th.flags.writeable = False
            out.append((s.name, s.color_index, gens, th))
        if len(self._theory_cache) > 32:
            self._theory_cache.clear()
        self._theory_cache[memo_key] = out
        return out

    # ---- drawing -------------------------------------------------------------------------------------------
    def _clear_items(self) -> None:
        pi = self.plot.plotItem
        for it in self._drawn:
            pi.removeItem(it)
        self._drawn.clear()
        self.items.clear()
        self.series = []
        self._keys = []
        self._ranges = None
        self.legend.clear()

    def _add(self, item: pg.GraphicsObject, name: str | None = None) -> None:
        self.plot.plotItem.addItem(item)
        cache_static(item)  # the cursor moves over them on every scrub step; they change only on redraw
        self._drawn.append(item)
        if name:
            self.items[name] = item

    @staticmethod
    def _clean(v: np.ndarray, log: bool) -> np.ndarray:
        v = np.asarray(v, dtype=np.float64).copy()
        v[~np.isfinite(v)] = np.nan
        if log:
            v[v <= 0] = np.nan
        return v

    def redraw(self) -> None:
        """Draw the lines from the cache (after set_runs, a metric or option change, or new generations).

        What is drawn is first described as a plan (one entry per item: its identity, data and style). When
        the plan has the same items as what is on screen (a running run grew), the existing items only get
        their new data (`setData`); otherwise they are rebuilt. A refresh thus costs a few array updates,
        not new items, legend entries and scene bookkeeping every 100 ms.
        """
        if self.cache is None or not self.runs:
            return
        c = self.plot.colors
        log = self.log_check.isChecked()
        weight = self.smoothing
        pi = self.plot.plotItem
        self.series = self._collect()
        self.help_label.set_full_text(self._help_text())
        self._set_title(self.metric_label())
        self._drawn_last = {r.id: self.cache.last_generation(r) for r in self.runs}
        ranges: list[np.ndarray] = []
        plan: list[tuple[tuple, np.ndarray | None, np.ndarray | None, dict]] = []  # (key, x, y, style)
        self._lines = []
        for s in self.series:
            color = c.series(s.color_index)
            style = c.series_style(s.color_index)
            cname = f"{color.name(color.NameFormat.HexArgb)} {style.name}"
            y = self._clean(s.values, log)
            if s.raw is not None and self.replicates_check.isChecked():
                for j, (g, v) in enumerate(s.raw):
                    plan.append((("raw", s.name, j, cname), g, self._clean(v, log),
                                 {"pen": pg.mkPen(with_alpha(color, 55), width=1), "connect": "finite"}))
            if s.low is not None and s.high is not None:
                lo, hi = self._clean(s.low, log), self._clean(s.high, log)
                if log:
                    lo = np.where(np.isnan(lo) & np.isfinite(hi), np.nanmin(y[y > 0]) if np.any(y > 0) else np.nan,
                                  lo)
                ok = np.isfinite(lo) & np.isfinite(hi)
                if ok.sum() >= 2:
                    g = s.gens[ok]
                    clear = pg.mkPen(with_alpha(color, 0))  # a pen (not None) so the band's paths exist
                    # added first: the band is built from their log-mapped paths
                    plan.append((("lo", s.name, cname), g, lo[ok], {"pen": clear}))
                    plan.append((("hi", s.name, cname), g, hi[ok], {"pen": clear}))
                    plan.append((("band", s.name, cname), None, None, {"brush": pg.mkBrush(with_alpha(color, 50))}))
                    ranges += [lo[ok], hi[ok]]
            if weight > 0:  # the raw values faint behind the smoothed line
                plan.append((("faint", s.name, cname), s.gens, y,
                             {"pen": pg.mkPen(with_alpha(color, 70), width=1), "connect": "finite"}))
                shown = self._clean(ema(y, weight), log)
            else:
                shown = y
            self._lines.append((s.name, np.asarray(s.gens), shown))
            plan.append((("main", s.name, cname), s.gens, shown,
                         {"pen": pg.mkPen(color, width=2, style=style), "connect": "finite", "name": s.name}))
            ranges.append(y)
        theories = self._theories(self.series)
        self.theory_check.setEnabled(bool(theories))
        self.theory_check.setToolTip(
            "Dashed: the closed-form expectation from the literature for these runs' settings" if theories else
            "No closed form is known for this metric with these runs' scenario and policy")
        if self.theory_check.isChecked():
            top = max((int(s.gens.max()) for s in self.series if len(s.gens)), default=0)
            for name, ci, g, th in theories:
                label = "theory" if len(theories) == 1 else f"theory ({name})"
                tcolor = c.series(ci) if len(theories) > 1 else c.theory
                plan.append((("theory", label, tcolor.name(tcolor.NameFormat.HexArgb)), g, self._clean(th, log),
                             {"pen": pg.mkPen(tcolor, width=1.5, style=Qt.PenStyle.DashLine), "name": label,
                              "connect": "finite"}))
                # the theory widens the range only over the generations that exist, so a long target does
                # not squash the data into a corner
                ranges.append(self._clean(th[: top + 1], log))
        keys = [key for key, *_ in plan]
        if keys == self._keys and log == self._log_state and len(self._drawn) == len(plan):
            for item, (key, x, y, _) in zip(self._drawn, plan):
                if key[0] != "band":  # a band follows its two curves by itself
                    item.setData(x, y)
        else:
            series = self.series
            self._clear_items()
            self.series = series
            if log != self._log_state:
                pi.setLogMode(False, log)
                self._log_state = log
            for key, x, y, style in plan:
                if key[0] == "band":
                    band = pg.FillBetweenItem(self._drawn[-2], self._drawn[-1], brush=style["brush"])
                    band.setZValue(-5)
                    self._add(band)
                    continue
                item = pg.PlotDataItem(x, y, **style)
                if key[0] == "theory":
                    item.setZValue(20)
                self._add(item, style.get("name"))
                if key[0] == "main":
                    item.setDownsampling(auto=True, method="peak")  # after adding: needs its ViewBox
                    item.setClipToView(True)
            self._keys = keys
            self._legend_layout = None
        self._max_gen = max([max(r.spec.generations for r in self.runs)] + [0])
        self._apply_ranges(ranges, log)
        self._fit_legend()

    def eventFilter(self, watched: QObject, ev: QEvent) -> bool:  # noqa: N802 (Qt override)
        if watched is self.plot and ev.type() == QEvent.Type.Resize:
            self._fit_legend(ev.size().width(), ev.size().height())  # before the plot item is laid out anew
        return super().eventFilter(watched, ev)

    def _fit_legend(self, width: int | None = None, height: int | None = None) -> None:
        """Flow the legend's entries into as many columns as the chart's width holds, and give it its row above
        the plot area; hide it when it would take more than a quarter of the chart's height (hovering a line
        names it anyway). The legend's size is set here from its entries' natural sizes (pyqtgraph's own sizing
        adds up the widths its layout handed out last, which grows the legend with every update)."""
        width = self.plot.width() if width is None else width
        height = self.plot.height() if height is None else height
        legend = self.legend
        entries = legend.items
        columns, box, shown = 1, (0.0, 0.0), False
        if entries and self.series:
            hs, vs = legend.layout.horizontalSpacing(), legend.layout.verticalSpacing()
            sizes = [(sample.boundingRect().width() + hs + label.item.boundingRect().width(),
                      max(sample.boundingRect().height(), label.item.boundingRect().height()))
                     for sample, label in entries]
            n = len(sizes)

            def extent(k: int) -> tuple[float, float]:  # entries fill the rows left to right
                w = sum(max(sz[0] for sz in sizes[c::k]) for c in range(k)) + (k - 1) * (hs + LEGEND_ENTRY_GAP)
                rows = [max(sz[1] for sz in sizes[r:r + k]) for r in range(0, n, k)]
                return w, sum(rows) + (len(rows) - 1) * vs

            columns = next((k for k in range(n, 0, -1) if extent(k)[0] <= width - 24), 1)
            box = extent(columns)
            shown = height <= 0 or box[1] + LEGEND_GAP <= LEGEND_MAX_SHARE * height
        row_height = int(math.ceil(box[1])) + LEGEND_GAP if shown else 0
        wanted = (columns, row_height, shown, box)
        if wanted == self._legend_layout:
            return
        self._legend_layout = wanted
        if columns != legend.columnCount:
            legend.setColumnCount(columns)
        for c in range(columns - 1):  # room between an entry's text and the next entry's line sample
            legend.layout.setColumnSpacing(2 * c + 1, hs + LEGEND_ENTRY_GAP if entries else 0)
        legend.size = box  # a fixed size: pyqtgraph's updateSize leaves it alone
        legend.setGeometry(QRectF(0, 0, *box))
        legend.setVisible(shown)
        pi = self.plot.plotItem
        pi.layout.setRowFixedHeight(1, row_height)  # the (hidden) top axis' row: room for the legend
        top = pi.layout.getContentsMargins()[1] + (TITLE_HEIGHT if self._title else 0)
        legend.anchor(itemPos=(0.5, 0), parentPos=(0.5, 0), offset=(0, top))
        crowded = bool(entries) and bool(self.series) and not shown
        self.plot.setToolTip("Too many lines for a legend at this height: hover a line for its name, or make "
                             "this pane taller" if crowded else "")

    def line_at(self, scene_pos: QPointF, tolerance: float = 8.0) -> tuple[str, int, float] | None:
        """(series name, generation, drawn value) of the line nearest the scene point, within `tolerance`
        pixels vertically at the nearest generation; None when no line is that close."""
        vb = self.plot.plotItem.vb
        if not self._lines or not vb.sceneBoundingRect().contains(scene_pos):
            return None
        g = int(round(vb.mapSceneToView(scene_pos).x()))
        log = self._log_state
        best: tuple[float, str, int, float] | None = None
        for name, gens, values in self._lines:
            i = int(np.searchsorted(gens, g))
            if i >= len(gens) or gens[i] != g or not np.isfinite(values[i]) or (log and values[i] <= 0):
                continue
            y = math.log10(values[i]) if log else float(values[i])
            dist = abs(vb.mapViewToScene(QPointF(g, y)).y() - scene_pos.y())
            if dist <= tolerance and (best is None or dist < best[0]):
                best = (dist, name, g, float(values[i]))
        return None if best is None else best[1:]

    def _hover(self, scene_pos: QPointF) -> None:
        hit = self.line_at(scene_pos)
        if hit is None:
            QToolTip.hideText()
            return
        name, g, v = hit
        weight = self.smoothing
        what = f"smoothed, weight {weight:.2f}" if weight > 0 else "value"
        QToolTip.showText(QCursor.pos(), f"{name}\ngeneration {g}: {v:.4g} ({what})", self.plot)

    def _help_text(self) -> str:
        """The metric's help line, or what is wrong: unreadable stored values, selected runs without the metric."""
        mi = self._infos.get(self.metric)
        label = mi.label if mi else self.metric
        notes = []
        if self.unreadable:
            notes.append(f"⚠ the stored {label} of {', '.join(self.unreadable)} cannot be read in places (the "
                         "project file is damaged there; those generations are left out)")
        if self.without_data:
            notes.append(f"not drawn, no {label} values: {', '.join(self.without_data)}")
        return "; ".join(notes) if notes else (mi.help if mi else "")

    def _apply_ranges(self, arrays: list[np.ndarray], log: bool) -> None:
        x1 = float(max(self._max_gen, 1))
        r = finite_range(*arrays, log=log)
        pad: float | None = None
        if r is None:
            lo, hi = -1.0, 1.0
        else:
            lo, hi = r
            if log:
                lo, hi = math.log10(lo), math.log10(hi)
            if hi - lo < 1e-12:
                p = abs(hi) * 0.05 or (0.5 if log else 1.0)
                lo, hi = lo - p, hi + p
            pad = 0.06
        vb = self.plot.plotItem.vb
        wanted = (x1, lo, hi, pad)
        if self._ranges is not None and self._ranges[0] == wanted and vb.viewRange() == self._ranges[1]:
            return  # unchanged (and not zoomed since): setting it again would re-layout the axes for nothing
        vb.setXRange(0, x1, padding=0.01)
        vb.setYRange(lo, hi, padding=pad)
        self._ranges = (wanted, vb.viewRange())

    def refresh(self, run_id: int) -> None:
        """New generations of a run: redraw when it is shown and has grown."""
        if self.cache is None or not self.showing_chart:
            return
        run = next((r for r in self.runs if r.id == run_id), None)
        if run is None:
            return
        if self.cache.last_generation(run) != self._drawn_last.get(run_id):
            self.redraw()

    # ---- the fast path ------------------------------------------------------------------------------------
    def set_generation(self, k: int) -> None:
        if k != self.generation:
            self.generation = k
            self.cursor.setValue(k)

    def _dragged(self) -> None:
        g = int(round(self.cursor.value()))
        g = max(0, g)
        self.generation_picked.emit(g)

    def _clicked(self, ev) -> None:  # noqa: ANN001
        if ev.button() != Qt.MouseButton.LeftButton or not self.runs:
            return
        vb = self.plot.plotItem.vb
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        g = int(round(vb.mapSceneToView(ev.scenePos()).x()))
        self.generation_picked.emit(min(max(g, 0), self._max_gen))

    # ---- export ------------------------------------------------------------------------------------------------
    def table(self) -> Table:
        """The drawn values; with smoothing on, also the smoothed line (column smoothed_ema_<weight>)."""
        weight = self.smoothing
        drawn = {name: values for name, _, values in self._lines} if weight > 0 else {}
        rows = []
        for s in self.series:
            smoothed = drawn.get(s.name)
            for i, g in enumerate(s.gens):
                lo = "" if s.low is None or not np.isfinite(s.low[i]) else float(s.low[i])
                hi = "" if s.high is None or not np.isfinite(s.high[i]) else float(s.high[i])
                v = float(s.values[i]) if np.isfinite(s.values[i]) else ""
                row = [s.name, self.metric, int(g), v, lo, hi]
                if weight > 0:
                    ok = smoothed is not None and i < len(smoothed) and np.isfinite(smoothed[i])
                    row.append(float(smoothed[i]) if ok else "")
                rows.append(row)
        header = ["series", "metric", "generation", "value", "band_low_95", "band_high_95"]
        return (header + [f"smoothed_ema_{weight:.2f}"] if weight > 0 else header), rows
