"""The generation panel and its views, offscreen: what is drawn equals what the store holds.

Small projects are built through core (RunSpec.build, create_runs, drive). Category kinds whose scenarios
may not exist yet (rank, text, images) are written straight into the store under a test scenario class
registered for the test, following docs/CONTRACTS.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF, Qt

from core.engine import GenerationRecord, RunSpec
from core.runner import create_runs, drive
from core.scenarios import SCENARIOS, scenario_class
from core.scenarios.base import MetricInfo
from core.scenarios.gaussian import GaussianScenario
from core.store import Project, RunInfo
from gui.cache import RunCache
from gui.panels.generation_panel import GenerationPanel
from gui.views.timeline import ema, group_mean_band
from tests.simulate import drive_until


# ---- projects ---------------------------------------------------------------------------------------------------
def run_all(project: Project, ids: list[int]) -> None:
    for rid in ids:
        for _ in drive(project, rid):
            pass


@pytest.fixture(scope="module")
def project_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("views") / "views.collapse"
    with Project(path, create=True) as p:
        run_all(p, create_runs(p, RunSpec.build("gaussian", "replace", {}, 30, 400, 1), name="replace"))
        run_all(p, create_runs(p, RunSpec.build("gaussian", "replace", {}, 20, 200, 2), 3, name="reps"))
        run_all(p, create_runs(p, RunSpec.build("gmm", "replace", {"dims": 2}, 6, 300, 3), name="gmm2d"))
        run_all(p, create_runs(p, RunSpec.build("regression", "replace", {"dims": 3}, 6, 60, 4), name="reg"))
    return path


@pytest.fixture
def project(project_path: Path) -> Project:
    p = Project(project_path, readonly=True)
    yield p
    p.close()


def by_name(project: Project, name: str) -> RunInfo:
    return next(r for r in project.runs() if r.name == name)


@pytest.fixture
def panel(qtbot, project: Project) -> GenerationPanel:  # noqa: ANN001
    w = GenerationPanel()
    qtbot.addWidget(w)
    w.resize(900, 800)
    w.show()
    w.set_cache(RunCache(project))
    return w


class FakeScenario(GaussianScenario):
    """A registered scenario class whose only job is to name a view kind (never instantiated)."""

    name = "fake"
    view = "rank"
    metric_infos: ClassVar[tuple[MetricInfo, ...]] = (
        MetricInfo("diversity", "Diversity", "test metric", log_scale=False),)

    @classmethod
    def theory(cls, metric: str, generations: np.ndarray, run: dict[str, Any]) -> np.ndarray | None:
        return None


def fake_run(project: Project, name: str, view: str, ref: dict[str, Any], gens: list[dict[str, Any]],
             unit_shape: tuple[int, ...] = (), dtype: Any = np.int32) -> RunInfo:
    """Write a run straight into the store: one dict per generation (samples, histogram, metrics)."""
    spec = RunSpec(scenario=f"fake_{view}", policy="replace", scenario_params={}, policy_params={},
                   generations=len(gens) - 1, samples=len(gens[0]["samples"]), seed=0)
    rid = project.add_run(spec, name, name, unit_shape, dtype)
    project.set_reference(rid, ref)
    info = project.run(rid)
    for g, d in enumerate(gens):
        project.commit_generation(info, GenerationRecord(g, d["samples"], d.get("model", {}), d.get("metrics", {}),
                                                         d["histogram"], None, d.get("note")))
    project.set_status(rid, "finished")
    return project.run(rid)


@pytest.fixture
def fake_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    for view in ("rank", "text", "images", "hologram"):
        # the sample layout the store checks a run's against: token ids, or 8x8 images
        layout = {"dtype": np.float32, "unit_shape": lambda self: (64,)} if view == "images" else \
            {"dtype": np.int32, "unit_shape": lambda self: (6,)} if view == "text" else {"dtype": np.int32}
        cls = type(f"Fake_{view}", (FakeScenario,), {"name": f"fake_{view}", "view": view, **layout})
        monkeypatch.setitem(SCENARIOS, f"fake_{view}", cls)


def data_of(item: pg.PlotDataItem) -> tuple[np.ndarray, np.ndarray]:
    x, y = item.getOriginalDataset()
    return np.asarray(x), np.asarray(y)


# ---- hist1d -----------------------------------------------------------------------------------------------------
def test_hist1d_draws_the_stored_counts_with_fixed_axes(panel: GenerationPanel, project: Project) -> None:
    run = by_name(project, "replace")
    panel.set_runs(run, [run])
    view = panel.distribution.view
    assert panel.distribution.kind == "hist1d" and view is not None
    edges = np.asarray(run.reference["bins"]["edges"])
    ranges = []
    for k in (0, 7, 30, 13):
        panel.set_generation(k)
        x, y = data_of(view.hist_item)
        assert np.array_equal(y, project.histogram(run.id, k)), k
        assert np.allclose(x, edges)
        ranges.append(view.plot.plotItem.vb.viewRange())
        row = project.generation_row(run.id, k)
        cx, cy = data_of(view.curve_item)
        width = float(np.mean(np.diff(edges)))
        assert np.allclose(cy, row["curve"] * row["n_samples"] * width, rtol=1e-5)
        assert f"Generation {k}" in view.info.full_text()
    assert all(r == ranges[0] for r in ranges)  # fixed axes while scrubbing
    gx, gy = data_of(view.ghost_item)
    assert np.array_equal(gy, project.histogram(run.id, 0))
    ymax = ranges[0][1][1]
    assert ymax >= max(project.histogram(run.id, k).max() for k in range(31))
    # never load samples for hist1d
    assert not any(f.samples_loaded for f in panel.cache._frames.values())


def test_hist1d_modes_and_log_y(panel: GenerationPanel, project: Project) -> None:
    run = by_name(project, "replace")
    panel.set_runs(run, [run])
    view = panel.distribution.view
    view.every_spin.setValue(2)
    view.k_spin.setValue(4)
    view.mode_combo.setCurrentIndex(view.mode_combo.findData("overlay"))
    panel.set_generation(20)
    shown = [it for it in view.layer_items if it.isVisible()]
    assert len(shown) == 3
    for i, it in enumerate(shown, start=1):
        assert np.array_equal(data_of(it)[1], project.histogram(run.id, 20 - 2 * i))
    view.mode_combo.setCurrentIndex(view.mode_combo.findData("ridgeline"))
    shown = [it for it in view.layer_items if it.isVisible()]
    offsets = [data_of(it)[1] - project.histogram(run.id, 20 - 2 * i) for i, it in enumerate(shown, start=1)]
    assert all(np.ptp(o) == 0 and o[0] > 0 for o in offsets)  # each ridge raised by a constant
    assert [lab.toPlainText() for lab in view.ridge_labels if lab.isVisible()] == ["gen 20", "gen 18", "gen 16",
                                                                                   "gen 14"]
    view.mode_combo.setCurrentIndex(view.mode_combo.findData("single"))
    view.log_check.setChecked(True)
    assert view.plot.plotItem.ctrl.logYCheck.isChecked()
    counts = project.histogram(run.id, 20)
    y = data_of(view.hist_item)[1]
    assert np.array_equal(y[counts > 0], counts[counts > 0]) and np.all(y[counts == 0] == 0.5)
    assert not any(it.isVisible() for it in view.layer_items)
    assert not any(lab.isVisible() for lab in view.ridge_labels)


def test_charts_follow_a_dark_palette(panel: GenerationPanel, project: Project) -> None:
    from PySide6.QtGui import QColor, QPalette

    run = by_name(project, "replace")
    panel.set_runs(run, [run])
    panel.set_generation(5)
    plot = panel.distribution.view.plot
    assert plot.backgroundBrush().color().lightness() > 128
    dark = QPalette(panel.palette())
    for role, color in ((QPalette.ColorRole.Window, "#202020"), (QPalette.ColorRole.Base, "#181818"),
                        (QPalette.ColorRole.Text, "#eeeeee"), (QPalette.ColorRole.WindowText, "#eeeeee")):
        dark.setColor(role, QColor(color))
    panel.setPalette(dark)
    assert plot.backgroundBrush().color().lightness() < 64
    assert panel.timeline.plot.backgroundBrush().color().lightness() < 64
    axis = plot.plotItem.getAxis("bottom")
    assert axis.textPen().color().lightness() > 200
    assert "theory" in panel.timeline.items  # redrawn with the new colours, nothing lost


def test_scrubbing_past_the_last_generation_shows_the_last_one(panel: GenerationPanel, project: Project) -> None:
    run = by_name(project, "replace")
    panel.set_runs(run, [run])
    panel.set_generation(500)
    assert panel.distribution.shown_generation == 30
    assert "not computed yet" in panel.distribution.view.info.full_text()
    panel.set_generation(3)
    assert "not computed" not in panel.distribution.view.info.full_text()


# ---- heatmap ---------------------------------------------------------------------------------------------------
def test_heatmap_shape_cursor_and_click_to_jump(qtbot, panel: GenerationPanel, project: Project) -> None:  # noqa: ANN001
    run = by_name(project, "replace")
    panel.set_runs(run, [run])
    panel.set_generation(12)
    hm = panel.heatmap
    assert hm.image_shape == (31, 100)
    assert hm.cursor.value() == 12
    img = hm.image.image
    counts = project.histogram(run.id, 5)
    expected = np.log10(np.maximum(counts / counts.sum(), 0.5 / run.spec.samples))
    assert np.allclose(img[5], expected, atol=1e-6)
    hm.log_check.setChecked(False)
    assert np.allclose(hm.image.image[5], counts / counts.sum(), atol=1e-6)
    # click on generation 20 -> generation_picked(20)
    vb = hm.plot.plotItem.vb
    qtbot.waitExposed(hm.plot)
    scene_pos = vb.mapViewToScene(QPointF(20, 0.0))
    pos = hm.plot.mapFromScene(scene_pos)
    with qtbot.waitSignal(panel.generation_picked, timeout=2000) as sig:
        qtbot.mouseClick(hm.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert sig.args == [20]


def test_heatmap_2d_marginal_and_hist2d_image(panel: GenerationPanel, project: Project) -> None:
    run = by_name(project, "gmm2d")
    panel.set_runs(run, [run])
    panel.set_generation(4)
    view = panel.distribution.view
    assert panel.distribution.kind == "hist2d"
    bins = run.reference["bins"]
    nx, ny = len(bins["x_edges"]) - 1, len(bins["y_edges"]) - 1
    counts = project.histogram(run.id, 4).reshape(nx, ny)
    view.log_check.setChecked(False)
    assert np.array_equal(view.image.image, counts)
    assert panel.heatmap.image_shape == (7, nx)
    panel.heatmap.log_check.setChecked(False)
    assert np.allclose(panel.heatmap.image.image[4], counts.sum(axis=1) / counts.sum(), atol=1e-6)
    panel.heatmap.axis_combo.setCurrentIndex(1)
    assert np.allclose(panel.heatmap.image.image[4], counts.sum(axis=0) / counts.sum(), atol=1e-6)


# ---- timelines ---------------------------------------------------------------------------------------------------
def test_timeline_series_theory_and_cursor(panel: GenerationPanel, project: Project) -> None:
    run = by_name(project, "replace")
    panel.set_runs(run, [run])
    panel.set_generation(9)
    tl = panel.timeline
    assert tl.metric == "var_ratio" and tl.log_check.isChecked()  # MetricInfo.log_scale default
    gens, vals = project.metric_series(run.id, "var_ratio")
    x, y = data_of(tl.items["replace"])
    assert np.array_equal(x, gens) and np.allclose(y, vals)
    tx, ty = data_of(tl.items["theory"])
    expected = GaussianScenario.theory("var_ratio", tx, run.spec.theory_run())
    assert np.allclose(ty, expected) and len(tx) == run.spec.generations + 1
    assert tl.cursor.value() == 9
    names = [tl.metric_combo.itemData(i) for i in range(tl.metric_combo.count())]
    assert {"var_ratio", "w1", "tail_mass", "fit_var"} <= set(names)
    i = tl.metric_combo.findData("w1")
    assert "Wasserstein" in tl.metric_combo.itemData(i, Qt.ItemDataRole.ToolTipRole)
    tl.set_metric("w1")
    assert not tl.log_check.isChecked() and "theory" not in tl.items
    tl.smoothing_spin.setValue(0.6)
    xs, ys = data_of(tl.items["replace"])
    assert np.array_equal(xs, project.metric_series(run.id, "w1")[0])  # smoothing moves no point along x
    assert np.allclose(ys, ema(project.metric_series(run.id, "w1")[1], 0.6), equal_nan=True)


def test_timeline_leaves_out_runs_without_the_metric_and_says_so(panel: GenerationPanel, project: Project) -> None:
    gauss, reg = by_name(project, "replace"), by_name(project, "reg")
    panel.set_runs(gauss, [gauss, reg])
    tl = panel.timeline
    tl.set_metric("var_ratio")
    assert "replace" in tl.items and "reg" not in tl.items
    assert [s.name for s in tl.series] == ["replace"]
    assert tl.help_label.full_text() == "not drawn, no Variance ratio values: reg"
    assert [label.text for _, label in tl.legend.items] == ["replace", "theory"]
    assert tl.legend.columnCount == 2  # side by side in one row above the plot
    tl.set_metric("test_error")
    assert "reg" in tl.items and "replace" not in tl.items and "replace" in tl.help_label.full_text()


def test_hovering_a_line_names_it_and_a_crowded_legend_steps_aside(qtbot, panel: GenerationPanel,  # noqa: ANN001
                                                                  project: Project) -> None:
    runs = project.runs()
    panel.set_runs(runs[0], runs)
    tl = panel.timeline
    tl.set_metric("var_ratio")
    panel.flush()
    vb = tl.plot.plotItem.vb
    run = by_name(project, "replace")
    gens, vals = project.metric_series(run.id, "var_ratio")
    y = float(np.log10(vals[10])) if tl.log_check.isChecked() else float(vals[10])
    hit = tl.line_at(vb.mapViewToScene(QPointF(10.2, y)))
    assert hit is not None and hit[0] == "replace" and hit[1] == 10 and np.isclose(hit[2], vals[10])
    far = vb.mapViewToScene(QPointF(10, y)) + QPointF(0, 40)
    assert tl.line_at(far) is None or tl.line_at(far)[0] != "replace"
    panel.resize(900, 1600)
    qtbot.waitUntil(tl.legend.isVisible, timeout=3000)
    assert tl.plot.toolTip() == ""
    panel.resize(900, 300)  # a very short pane: the legend would hide the lines
    qtbot.waitUntil(lambda: not tl.legend.isVisible(), timeout=3000)
    assert "hover a line" in tl.plot.toolTip()


def test_series_beyond_the_palette_change_line_style() -> None:
    from gui.theme_colors import ChartColors

    styles = [ChartColors.series_style(i) for i in range(30)]
    assert set(styles[:10]) == {Qt.PenStyle.SolidLine}
    assert set(styles[10:20]) == {Qt.PenStyle.DotLine} and set(styles[20:30]) == {Qt.PenStyle.DashDotLine}


def test_timeline_replicate_group_mean_and_band(panel: GenerationPanel, project: Project) -> None:
    reps = [r for r in project.runs() if r.group == "reps"]
    single = by_name(project, "replace")
    panel.set_runs(reps[0], [single, *reps])
    tl = panel.timeline
    names = list(tl.items)
    group = next(n for n in names if n.startswith("reps"))
    assert "mean of 3" in group
    vals = np.array([project.metric_series(r.id, "var_ratio")[1] for r in reps])
    assert np.allclose(data_of(tl.items[group])[1], vals.mean(axis=0))
    s = next(s for s in tl.series if s.name == group)
    from scipy.stats import t
    half = t.ppf(0.975, 2) * vals.std(axis=0, ddof=1) / np.sqrt(3)
    assert np.allclose(s.high - s.values, half, equal_nan=True)
    assert sum(isinstance(it, pg.FillBetweenItem) for it in tl._drawn) == 1
    tl.replicates_check.setChecked(True)
    faint = [it for it in tl._drawn if isinstance(it, pg.PlotDataItem) and it.name() is None]
    assert len(faint) >= 3
    # the header, the csv table and the legend agree
    header, rows = tl.table()
    assert header[:4] == ["series", "metric", "generation", "value"] and len(rows) == 31 + 21


def test_group_band_and_smoothing_handle_non_finite_values() -> None:
    g = np.arange(5)
    a = (g, np.array([1.0, np.nan, 3.0, np.inf, 5.0]))
    b = (g[:3], np.array([1.0, 2.0, 5.0]))
    gens, mean, lo, hi = group_mean_band([a, b])
    assert len(gens) == 5 and mean[0] == 1.0 and mean[1] == 2.0 and np.isnan(lo[1]) and np.isfinite(hi[2])
    assert np.isnan(mean[3])  # a's inf is dropped and b has no generation 3: no value, no crash
    m = ema(np.array([np.nan, 1.0, np.nan, 3.0]), 0.5)
    assert np.isnan(m[0]) and m[1] == 1.0 and np.isnan(m[2]) and np.isclose(m[3], (0.5 * 1 + 3) / 1.5)


def test_non_finite_metrics_do_not_break_plotting(panel: GenerationPanel, project_path: Path, tmp_path: Path,
                                                  fake_kinds: None) -> None:
    path = tmp_path / "nan.collapse"
    with Project(path, create=True) as p:
        vals = [np.nan, np.inf, -np.inf, 0.5, np.nan]
        gens = [{"samples": np.array([0, 1, 1], dtype=np.int32), "histogram": np.array([1, 2]),
                 "metrics": {"diversity": v}} for v in vals]
        run = fake_run(p, "nan", "rank", {"bins": {"kind": "categories", "labels": ["a", "b"]}}, gens)
    p = Project(path, readonly=True)
    panel.set_cache(RunCache(p))
    panel.set_runs(run, [run])
    panel.timeline.log_check.setChecked(True)
    panel.timeline.smoothing_spin.setValue(0.5)
    panel.set_generation(2)
    x, y = data_of(panel.timeline.items["nan"])
    assert len(x) == 5
    panel.grab()  # paints without raising
    p.close()


# ---- category kinds, regression, unknown kinds ----------------------------------------------------------------
def test_rank_text_and_images_views(panel: GenerationPanel, tmp_path: Path, fake_kinds: None) -> None:
    path = tmp_path / "kinds.collapse"
    rng = np.random.default_rng(0)
    with Project(path, create=True) as p:
        labels = [f"c{i}" for i in range(50)]
        probs = 1.0 / np.arange(1, 51)
        probs /= probs.sum()
        gens = []
        for g in range(4):
            s = rng.choice(50 - 10 * g, size=300, p=probs[:50 - 10 * g] / probs[:50 - 10 * g].sum()).astype(np.int32)
            gens.append({"samples": s, "histogram": np.bincount(s, minlength=50)})
        rank = fake_run(p, "zipf", "rank", {"bins": {"kind": "categories", "labels": labels},
                                            "real_probs": probs.tolist()}, gens)
        vocab = ["the", "cat", "sat", "on", "mat", ".", "a", "dog"]
        tg = []
        for g in range(3):
            s = rng.integers(0, 8, size=(40, 6)).astype(np.int32)
            s[:, -1] = -1
            if g == 2:
                s[:20, :5] = [0, 1, 2, 3, 0]  # a repeated sentence
            tg.append({"samples": s, "histogram": np.bincount(s[s >= 0], minlength=8)})
        text = fake_run(p, "tiny text", "text", {"vocab": vocab, "bins": {"kind": "categories", "labels": vocab}},
                        tg, unit_shape=(6,))
        ig = []
        for _ in range(3):
            s = rng.uniform(0, 16, size=(30, 64)).astype(np.float32)
            ig.append({"samples": s, "histogram": np.bincount(rng.integers(0, 10, 30), minlength=10)})
        images = fake_run(p, "digits-ish", "images", {"image_shape": [8, 8], "bins": {
            "kind": "categories", "labels": [str(i) for i in range(10)]}}, ig, unit_shape=(64,), dtype=np.float32)
    p = Project(path, readonly=True)
    panel.set_cache(RunCache(p))

    panel.set_runs(rank, [rank])
    panel.set_generation(3)
    view = panel.distribution.view
    assert panel.distribution.kind == "rank"
    counts = p.histogram(rank.id, 3)
    _, f = data_of(view.rank_item)
    assert np.allclose(f, np.sort(counts[counts > 0])[::-1] / counts.sum())
    assert "categories seen: 20 of 50" in view.info.full_text()
    assert panel.heatmap.image_shape == (4, 50)

    panel.set_runs(text, [text])
    panel.set_generation(2)
    html = panel.distribution.view.browser.toHtml()
    assert "Generation 2" in html and "Generation 0 (real text)" in html
    assert "the cat sat on the" in panel.distribution.view.browser.toPlainText()
    assert "background-color" in html  # the repeated 3-grams are highlighted

    panel.set_runs(images, [images])
    panel.set_generation(1)
    v = panel.distribution.view
    assert panel.distribution.kind == "images"
    img = v.current_image.image
    first = p.samples(images, 1)[0].reshape(8, 8)
    assert np.array_equal(img[:8, :8], first) and np.isnan(img[8, 0])
    assert panel.heatmap.plot.plotItem.getAxis("left")._tickLevels is not None  # class labels on the rows
    p.close()


def test_regression_view(panel: GenerationPanel, project: Project) -> None:
    run = by_name(project, "reg")
    panel.set_runs(run, [run])
    panel.set_generation(5)
    view = panel.distribution.view
    assert panel.distribution.kind == "regression"
    rows = project.samples(run, 5)
    w_true = np.asarray(run.reference["true_w"])
    sx, sy = view.points.getData()
    assert np.allclose(sx, rows[:, :3].astype(np.float64) @ w_true) and np.allclose(sy, rows[:, 3])
    w = np.asarray(project.generation_row(run.id, 5)["model"]["w"])
    fx, fy = data_of(view.fit_line)
    assert np.isclose((fy[1] - fy[0]) / (fx[1] - fx[0]), w @ w_true / (w_true @ w_true))
    assert "theory" in panel.timeline.items  # test_error under replace has a closed form


def test_unknown_view_kind_and_empty_states(qtbot, panel: GenerationPanel, project: Project, tmp_path: Path,  # noqa: ANN001
                                           fake_kinds: None) -> None:
    blank = GenerationPanel()
    qtbot.addWidget(blank)
    assert "Open a project" in blank.distribution.message
    assert blank.heatmap.message and blank.timeline.message
    panel.set_runs(None, [])
    assert "Run setup" in panel.distribution.message and "Runs list" in panel.distribution.message
    assert "Runs list" in panel.timeline.message and "Runs list" in panel.heatmap.message
    panel.set_generation(3)  # no crash without runs

    path = tmp_path / "weird.collapse"
    with Project(path, create=True) as p:
        gens = [{"samples": np.array([0, 1], dtype=np.int32), "histogram": np.array([1, 1]),
                 "metrics": {"diversity": 0.5}} for _ in range(3)]
        run = fake_run(p, "holo", "hologram", {"bins": {"kind": "categories", "labels": ["a", "b"]}}, gens)
    p = Project(path, readonly=True)
    panel.set_cache(RunCache(p))
    panel.set_runs(run, [run])
    panel.set_generation(1)
    assert "hologram" in panel.distribution.message and "cannot draw" in panel.distribution.message
    assert panel.heatmap.message is None and panel.heatmap.image_shape == (3, 2)
    assert "holo" in panel.timeline.items
    assert scenario_class("fake_hologram").view == "hologram"
    p.close()


# ---- a growing run --------------------------------------------------------------------------------------------------
def test_refresh_appends_new_generations(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "grow.collapse"
    writer = Project(path, create=True)
    (rid,) = create_runs(writer, RunSpec.build("gaussian", "replace", {}, 40, 200, 9), name="grow")
    drive_until(writer, rid, 10)
    reader = Project(path)
    cache = RunCache(reader)
    panel = GenerationPanel()
    qtbot.addWidget(panel)
    panel.resize(800, 700)
    panel.show()
    panel.set_cache(cache)
    run = reader.run(rid)
    panel.set_runs(run, [run])
    panel.set_generation(10)
    assert panel.heatmap.image_shape == (11, 100)
    for rec in drive(writer, rid, group_seconds=0):  # the view sees each generation as it is committed
        if rec.generation in (20, 40):
            reads = cache.reads
            panel.refresh(rid)
            panel.flush()
            assert panel.heatmap.image_shape == (rec.generation + 1, 100)
            assert len(data_of(panel.timeline.items["grow"])[0]) == rec.generation + 1
            assert cache.reads - reads <= 8  # incremental: a span check, new rows, the run row, the series
    gens, mat = cache.histograms(reader.run(rid))
    assert np.array_equal(mat, writer.histograms(rid)[1])
    panel.set_generation(40)
    assert np.array_equal(data_of(panel.distribution.view.hist_item)[1], writer.histogram(rid, 40))
    reader.close()
    writer.close()


def test_run_without_generations_then_generation_zero_arrives(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "fresh.collapse"
    writer = Project(path, create=True)
    (rid,) = create_runs(writer, RunSpec.build("gaussian", "replace", {}, 5, 100, 1), name="fresh")
    reader = Project(path)
    panel = GenerationPanel()
    qtbot.addWidget(panel)
    panel.set_cache(RunCache(reader))
    run = reader.run(rid)
    panel.set_runs(run, [run])
    assert "no generation yet" in panel.distribution.message
    gen_iter = drive(writer, rid, group_seconds=0)
    next(gen_iter)
    gen_iter.close()
    panel.refresh(rid)
    panel.flush()
    assert panel.distribution.message is None and panel.distribution.kind == "hist1d"
    assert np.array_equal(data_of(panel.distribution.view.hist_item)[1], writer.histogram(rid, 0))
    assert panel.heatmap.image_shape == (1, 100)
    reader.close()
    writer.close()


# ---- the cache -------------------------------------------------------------------------------------------------------
def test_cache_reads_incrementally_and_drops_deleted_runs(tmp_path: Path) -> None:
    path = tmp_path / "cache.collapse"
    p = Project(path, create=True)
    (rid,) = create_runs(p, RunSpec.build("gaussian", "replace", {}, 8, 100, 1), name="a")
    run_all(p, [rid])
    cache = RunCache(p)
    run = p.run(rid)
    gens, mat = cache.histograms(run)
    assert np.array_equal(mat, p.histograms(rid)[1]) and list(gens) == list(range(9))
    reads = cache.reads
    cache.histograms(run)
    cache.series(run, "var_ratio")
    s_reads = cache.reads
    cache.series(run, "var_ratio")
    assert cache.reads == s_reads and s_reads - reads == 1  # cached
    f = cache.frame(run, 3)
    assert not f.samples_loaded and np.array_equal(f.counts, p.histogram(rid, 3))
    assert np.array_equal(f.samples, p.samples(run, 3)) and f.samples_loaded
    assert cache.frame(run, 3) is f
    p.extend_run(rid, 12)
    run_all(p, [rid])
    cache.invalidate(rid)
    gens, mat = cache.histograms(p.run(rid))
    assert len(gens) == 13 and np.array_equal(mat, p.histograms(rid)[1])
    assert len(cache.series(p.run(rid), "var_ratio")[0]) == 13
    p.delete_run(rid)
    cache.invalidate(rid)
    gens, mat = cache.histograms(run)
    assert len(gens) == 0
    p.close()


def test_view_state_round_trip(qtbot, panel: GenerationPanel, project: Project) -> None:  # noqa: ANN001
    run = by_name(project, "replace")
    panel.set_runs(run, [run])
    view = panel.distribution.view
    view.mode_combo.setCurrentIndex(view.mode_combo.findData("overlay"))
    view.k_spin.setValue(5)
    panel.timeline.set_metric("w1")
    panel.timeline.smoothing_spin.setValue(0.7)
    panel.heatmap.log_check.setChecked(False)
    state = panel.view_state()
    other = GenerationPanel()
    qtbot.addWidget(other)
    other.restore_view_state(state)
    other.restore_view_state({"hist_k": "nonsense", "splitter": "x"})  # ignored, no exception
    other.set_cache(panel.cache)
    other.set_runs(run, [run])
    assert other.distribution.view.mode == "overlay" and other.distribution.view.k_spin.value() == 5
    assert other.timeline.metric == "w1" and other.timeline.smoothing == 0.0  # the chart's own, not saved
    assert "smooth" not in state and "smoothing" not in state
    assert not other.heatmap.log_check.isChecked()
    reg = by_name(project, "reg")
    other.set_runs(reg, [reg])
    assert other.timeline.metric != "w1"
    other.set_runs(run, [run])
    assert other.timeline.metric == "w1"  # the choice comes back with a run that has it


# ---- a growing run stays cheap to redraw (and draws the same) ------------------------------------------------------
def test_growing_run_updates_items_in_place_and_draws_the_same(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "inplace.collapse"
    writer = Project(path, create=True)
    (rid,) = create_runs(writer, RunSpec.build("gaussian", "replace", {}, 30, 200, 5), name="inplace")
    reader = Project(path)
    panel = GenerationPanel()
    qtbot.addWidget(panel)
    panel.resize(800, 700)
    panel.show()
    panel.set_cache(RunCache(reader))
    run = reader.run(rid)
    panel.set_runs(run, [run])
    # the distribution view is built when the run is set, not when its first generation arrives
    assert panel.distribution.views.get("hist1d") is not None and panel.distribution.message is not None
    drive_until(writer, rid, 10)
    panel.refresh(rid)
    panel.flush()
    qtbot.wait(10)
    tl, hm = panel.timeline, panel.heatmap
    drawn = list(tl._drawn)
    main = tl.items["inplace"]
    panel.heatmap.image.render()
    renders = hm.image.full_renders
    for rec in drive(writer, rid, group_seconds=0):  # the view sees each generation as it is committed
        if rec.generation in (20, 30):
            panel.refresh(rid)
            panel.flush()
            hm.image.render()
    # the timeline's items were updated, not rebuilt, and show every stored value
    assert tl._drawn == drawn and tl.items["inplace"] is main
    gens, vals = writer.metric_series(rid, tl.metric)
    x, y = data_of(main)
    assert np.array_equal(x, gens) and np.allclose(y, vals)
    # the heatmap appended its columns without mapping the old ones again, and draws what ImageItem draws
    assert hm.image_shape == (31, 100) and hm.image.full_renders == renders
    ref = pg.ImageItem(axisOrder="col-major")
    ref.setLookupTable(hm.image.lut)
    ref.setImage(np.array(hm.image.image), autoLevels=False, levels=hm.image.levels)
    ref.render()
    a = hm.image.qimage.convertToFormat(ref.qimage.format())
    assert a.size() == ref.qimage.size() and a == ref.qimage
    # another option (log colour off) maps everything again, with the new levels
    hm.log_check.setChecked(False)
    hm.image.render()
    assert hm.image.full_renders == renders + 1
    ref.setImage(np.array(hm.image.image), autoLevels=False, levels=hm.image.levels)
    ref.render()
    assert hm.image.qimage.convertToFormat(ref.qimage.format()) == ref.qimage
    reader.close()
    writer.close()


def test_a_narrow_log_axis_still_has_several_labelled_ticks(qtbot) -> None:  # noqa: ANN001
    from gui.views.base import ReadableAxis

    axis = ReadableAxis("left")
    axis.setLogMode(False, True)
    for lo, hi in ((0.95, 1.05), (0.3, 0.9), (1.001, 1.002), (120.0, 180.0)):
        ticks = [v for _, values in axis.tickValues(np.log10(lo), np.log10(hi), 300) for v in values
                 if np.log10(lo) <= v <= np.log10(hi)]
        axis.setRange(np.log10(lo), np.log10(hi))
        labels = [t for t in axis.tickStrings(ticks, 1.0, 1.0) if t]
        assert len(labels) >= 3, (lo, hi, labels)
        assert all(lo <= float(t) <= hi for t in labels), labels
    wide = [v for _, values in axis.tickValues(-3.0, 1.0, 300) for v in values]
    assert {-3.0, -2.0, -1.0, 0.0, 1.0} <= {round(v, 9) for v in wide}  # decades as before


def test_a_slow_refresh_stretches_its_own_interval_so_the_event_loop_is_never_starved(qtbot) -> None:  # noqa: ANN001
    import time as _time

    from gui.views.base import Coalescer

    runs: list[float] = []

    def slow() -> None:
        runs.append(_time.monotonic())
        _time.sleep(0.04)

    c = Coalescer(slow, 10)
    end = _time.monotonic() + 1.0
    while _time.monotonic() < end:  # a burst of progress signals, each asking for a refresh
        c()
        qtbot.wait(5)
    # 40 ms per run stretches the 10 ms interval to 120 ms: about 8 runs in a second, not ~20
    gaps = np.diff(runs)
    assert len(runs) <= 10 and gaps.min() >= 0.11, (len(runs), gaps)
    assert c.effective_interval >= 3 * 0.04
