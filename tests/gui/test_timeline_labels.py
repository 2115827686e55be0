"""Metric timelines: exponential smoothing, the title, axis labels and a legend beside (not over) the lines on
screen and in exports, several timeline panels sharing the generation cursor, and the animation options."""

from __future__ import annotations

import os
import xml.dom.minidom
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QComboBox, QDialog, QDialogButtonBox, QSpinBox

from core.engine import RunSpec
from core.runner import create_runs, drive
from core.scenarios.gaussian import GaussianScenario
from core.store import Project
from gui.cache import RunCache
from gui.dialogs import Dialogs
from gui.export import charts as chart_export
from gui.export.charts import AnimationOptions, ExportError
from gui.panels.generation_panel import GenerationPanel
from gui.views.timeline import EMA_BLOCK, ema
from gui.views.timeline_grid import TimelineGrid

GENERATIONS = 8
LABELS = {m.name: m.label for m in GaussianScenario.metric_infos}


# ---- the smoothing function ---------------------------------------------------------------------------------
def ema_loop(x: np.ndarray, w: float, debias: bool) -> np.ndarray:
    """The definition, one value at a time: non-finite values skipped."""
    out = np.full(len(x), np.nan)
    s, n = None, 0
    for t, v in enumerate(x):
        if not np.isfinite(v):
            continue
        n += 1
        if debias:
            s = (0.0 if s is None else s) * w + (1 - w) * v
            out[t] = s / (1 - w**n)
        else:
            s = v if s is None else w * s + (1 - w) * v
            out[t] = s
    return out


def test_ema_matches_the_recursion_and_keeps_generation_zero() -> None:
    rng = np.random.default_rng(3)
    x = rng.lognormal(size=3 * EMA_BLOCK + 17)  # several blocks and a partial one
    x[[0, 5, 200, 201, 390]] = [x[0], np.nan, np.inf, -np.inf, np.nan]
    for w in (0.05, 0.5, 0.9, 0.99):
        for debias in (True, False):
            s = ema(x, w, debias)
            assert s.shape == x.shape
            assert np.allclose(s, ema_loop(x, w, debias), rtol=1e-10, atol=0, equal_nan=True), (w, debias)
            assert s[0] == x[0]  # generation 0 keeps its raw value
            assert np.array_equal(np.isfinite(s), np.isfinite(x))  # NaN only where the input had none
    assert np.array_equal(ema(x, 0.0), x, equal_nan=True)  # weight 0: the input itself
    assert np.allclose(ema(np.full(50, 2.5), 0.9), 2.5)  # a constant stays constant
    assert np.allclose(ema(np.full(50, 2.5), 0.9, debias=False), 2.5)


def test_ema_is_causal_and_skips_missing_values() -> None:
    x = np.array([np.nan, 4.0, np.nan, 2.0, 6.0, 1.0])
    s = ema(x, 0.5)
    assert np.isnan(s[0]) and s[1] == 4.0 and np.isnan(s[2])  # the first finite value starts it, unchanged
    assert np.isclose(s[3], (0.5 * 4 + 2) / 1.5)  # the NaN in between counts as no step at all
    later = x.copy()
    later[4:] = [100.0, -3.0]
    assert np.array_equal(ema(later, 0.5)[:4], s[:4], equal_nan=True)  # nothing later changes earlier values
    assert np.all(np.isnan(ema(np.array([np.nan, np.inf]), 0.5)))
    assert len(ema(np.array([]), 0.5)) == 0
    with pytest.raises(ValueError):
        ema(x, 1.0)


# ---- a tiny project -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def project_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("labels") / "labels.collapse"
    with Project(path, create=True) as p:
        for ids in (create_runs(p, RunSpec.build("gaussian", "replace", {}, GENERATIONS, 150, 1), name="refit alone"),
                    create_runs(p, RunSpec.build("gaussian", "mix", {"alpha": 0.5}, GENERATIONS, 150, 2),
                                name="half real")):
            for rid in ids:
                for _ in drive(p, rid):
                    pass
    return path


@pytest.fixture
def project(project_path: Path) -> Project:
    p = Project(project_path, readonly=True)
    yield p
    p.close()


@pytest.fixture
def panel(qtbot, project: Project) -> GenerationPanel:  # noqa: ANN001
    w = GenerationPanel()
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    w.set_cache(RunCache(project))
    runs = project.runs()
    w.set_runs(runs[0], runs)
    return w


def data_of(item: pg.PlotDataItem) -> tuple[np.ndarray, np.ndarray]:
    x, y = item.getOriginalDataset()
    return np.asarray(x), np.asarray(y)


def svg_texts(path: Path) -> list[str]:
    doc = xml.dom.minidom.parseString(path.read_text(encoding="utf-8"))
    return [" ".join(n.data.strip() for n in t.childNodes if n.nodeType == n.TEXT_NODE).strip()
            for t in doc.getElementsByTagName("text")]


# ---- smoothing on the chart -----------------------------------------------------------------------------------
def test_smoothing_draws_the_average_over_the_faint_raw_line(panel: GenerationPanel, project: Project) -> None:
    tl = panel.timeline
    tl.set_metric("w1")
    run = project.runs()[0]
    gens, raw = project.metric_series(run.id, "w1")
    assert tl.smoothing == 0.0 and tl.smoothing_label.text() == "Smoothing"
    assert (tl.smoothing_spin.minimum(), tl.smoothing_spin.maximum(), tl.smoothing_spin.singleStep()) == \
        (0.0, 0.99, 0.05)
    unnamed = [it for it in tl._drawn if isinstance(it, pg.PlotDataItem) and it.name() is None]
    assert unnamed == []  # no faint copy while smoothing is off
    tl.smoothing_spin.setValue(0.8)
    x, y = data_of(tl.items[run.name])
    assert np.array_equal(x, gens) and y[0] == raw[0]  # no shift along x; generation 0 as stored
    assert np.allclose(y, ema(raw, 0.8))
    faint = [data_of(it) for it in tl._drawn if isinstance(it, pg.PlotDataItem) and it.name() is None]
    assert any(np.array_equal(fx, gens) and np.allclose(fy, raw) for fx, fy in faint)
    header, rows = tl.table()  # the CSV holds the raw and the smoothed values
    assert header[3] == "value" and header[-1] == "smoothed_ema_0.80"
    mine = [r for r in rows if r[0] == run.name]
    assert np.allclose([r[3] for r in mine], raw) and np.allclose([r[-1] for r in mine], y)


# ---- labels on screen and in exports -------------------------------------------------------------------------
def test_title_axis_labels_and_a_legend_that_covers_no_line(panel: GenerationPanel, project: Project) -> None:
    tl = panel.timeline
    tl.set_metric("var_ratio")
    QApplication.processEvents()
    pi = tl.plot.plotItem
    assert tl.title == LABELS["var_ratio"] and pi.titleLabel.isVisible()
    assert LABELS["var_ratio"] in pi.titleLabel.text
    assert pi.getAxis("left").labelText == LABELS["var_ratio"] and pi.getAxis("bottom").labelText == "generation"
    names = [label.text for _, label in tl.legend.items]
    assert {r.name for r in project.runs()} <= set(names)
    assert tl.legend.isVisible()
    legend, plot_area = tl.legend.sceneBoundingRect(), pi.vb.sceneBoundingRect()
    assert legend.bottom() <= plot_area.top() and not legend.intersects(plot_area)  # above the plot, not on it
    assert legend.right() <= tl.plot.width() and legend.left() >= 0
    tl.set_metric("w1")  # another metric renames the chart
    assert tl.title == LABELS["w1"] and pi.getAxis("left").labelText == LABELS["w1"]


def test_exported_svg_and_headless_chart_carry_title_labels_and_run_names(panel: GenerationPanel, project: Project,
                                                                         tmp_path: Path) -> None:
    panel.timeline.set_metric("var_ratio")
    out = chart_export.export_svg(panel.charts()["timeline"], tmp_path / "t.svg")
    texts = svg_texts(out)
    for wanted in (LABELS["var_ratio"], "generation", *(r.name for r in project.runs())):
        assert wanted in texts, (wanted, texts)
    assert texts.count(LABELS["var_ratio"]) >= 2  # the title and the value axis
    for chart in ("timeline", "w1"):
        svg = chart_export.export_chart_file(project, project.runs(), chart, tmp_path / f"{chart}.svg", (800, 450))
        texts = svg_texts(svg)
        label = LABELS["var_ratio" if chart == "timeline" else chart]
        for wanted in (label, "generation", *(r.name for r in project.runs())):
            assert wanted in texts, (chart, wanted, texts)


# ---- several timelines -----------------------------------------------------------------------------------------
def test_panels_share_the_cursor_and_keep_their_own_metric_and_smoothing(qtbot, panel: GenerationPanel) -> None:  # noqa: ANN001
    grid = panel.timelines
    assert isinstance(grid, TimelineGrid) and grid.panels == [panel.timeline]
    heat_vb = panel.heatmap.plot.plotItem.vb
    assert heat_vb.linkedView(heat_vb.XAxis) is panel.timeline.plot.plotItem.vb
    assert not grid.remove_panel(0) and len(grid.panels) == 1  # the last panel stays
    second = grid.add_panel("w1")
    third = grid.add_panel("tail_mass")
    assert [p.metric for p in grid.panels] == [panel.timeline.metric, "w1", "tail_mass"]
    assert second.title == LABELS["w1"] and second.series  # drawn for the selected runs at once
    assert heat_vb.linkedView(heat_vb.XAxis) is None  # two columns: the heatmap keeps its own axis
    second.smoothing_spin.setValue(0.5)
    assert panel.timeline.smoothing == 0.0 and third.smoothing == 0.0
    panel.set_generation(5)
    assert [p.cursor.value() for p in grid.panels] == [5, 5, 5]
    picked: list[int] = []
    panel.generation_picked.connect(picked.append)
    vb = third.plot.plotItem.vb
    QApplication.processEvents()
    y = float(np.mean(vb.viewRange()[1]))
    pos = third.plot.mapFromScene(vb.mapViewToScene(QPointF(3, y)))
    qtbot.mouseClick(third.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert picked == [3]
    # removing the first panel moves the others up; the first stays the same widget
    first = panel.timeline
    assert grid.remove_panel(0)
    assert grid.first is first and [p.metric for p in grid.panels] == ["w1", "tail_mass"]
    assert first.smoothing == 0.5  # the settings moved with the metric
    grid.remove_panel(1)
    assert heat_vb.linkedView(heat_vb.XAxis) is first.plot.plotItem.vb


def test_view_state_keeps_the_panels_not_the_smoothing(qtbot, panel: GenerationPanel) -> None:  # noqa: ANN001
    panel.timelines.add_panel("w1")
    panel.timeline.smoothing_spin.setValue(0.3)
    state = panel.view_state()
    assert state["timelines"] == [panel.timeline.metric, "w1"] and "smooth" not in state
    other = GenerationPanel()
    qtbot.addWidget(other)
    other.restore_view_state({**state, "smooth": 9})  # an old saved "smooth" is ignored
    other.set_cache(panel.cache)
    other.set_runs(panel.current, panel.selected)
    assert other.timelines.metrics() == state["timelines"]
    assert all(p.smoothing == 0.0 for p in other.timelines.panels)
    other.restore_view_state({"timelines": ["w1"]})
    assert other.timelines.metrics() == ["w1"] and other.timeline.metric == "w1"
    other.restore_view_state({"timelines": "nonsense"})  # ignored
    assert other.timelines.metrics() == ["w1"]


# ---- animation options --------------------------------------------------------------------------------------
def test_animation_frames_follow_the_options(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = RunCache(project)
    run = project.runs()[0]
    titles: list[str] = []
    render = chart_export.render_image

    def recording(widget, size=None, transparent=False):  # noqa: ANN001, ANN202
        titles.append(chart_export.export_target(widget).plotItem.titleLabel.text)
        return render(widget, size, transparent)

    monkeypatch.setattr(chart_export, "render_image", recording)
    opts = AnimationOptions(size=(240, 150), fps=10, first=2, last=5, mode="ridgeline")
    res = chart_export.export_animation_frames(cache, run, tmp_path / "frames", "png", **opts.as_kwargs())
    assert len(res.paths) == 5 - 2 + 1
    for p in res.paths:
        img = QImage(str(p))
        assert (img.width(), img.height()) == (240, 150)
    assert [t for t in titles] == [f"{run.name} — generation {g}" for g in range(2, 6)]
    single = chart_export.export_animation_frames(cache, run, tmp_path / "single", "png", size=(240, 150),
                                                  first=5, last=5, mode="single")
    assert len(single.paths) == 1
    assert QImage(str(single.paths[0])) != QImage(str(res.paths[-1]))  # generation 5, drawn in another mode
    gif = chart_export.export_animation_frames(cache, run, tmp_path / "a.gif", "gif", size=(240, 150), fps=10,
                                               first=0, last=GENERATIONS + 50)  # clipped to the computed ones
    from PIL import Image

    with Image.open(gif.paths[0]) as im:
        assert im.n_frames == GENERATIONS + 1 and im.size == (240, 150) and im.info["duration"] == 100
    with pytest.raises(ExportError, match="no generation from 6 to 3"):
        chart_export.export_animation_frames(cache, run, tmp_path / "x", "png", first=6, last=3)
    with pytest.raises(ExportError, match="unknown histogram mode"):
        chart_export.export_animation_frames(cache, run, tmp_path / "y", "png", mode="spiral")
    assert [k for k, _ in chart_export.animation_modes()] == ["single", "overlay", "ridgeline"]


def test_the_animation_options_dialog(qtbot) -> None:  # noqa: ANN001
    dialogs = Dialogs()
    modes = chart_export.animation_modes()
    seen: dict[str, object] = {}

    def answer(accept: bool) -> None:
        dlg = QApplication.activeModalWidget()
        assert isinstance(dlg, QDialog)
        spins = dlg.findChildren(QSpinBox)
        width, height, fps, first, last = spins
        seen["range"] = (first.maximum(), last.maximum(), last.value())
        width.setValue(400)
        fps.setValue(12)
        first.setValue(3)
        last.setValue(2)  # cannot go below first
        dlg.findChild(QComboBox).setCurrentIndex(2)
        button = QDialogButtonBox.StandardButton.Ok if accept else QDialogButtonBox.StandardButton.Cancel
        dlg.findChild(QDialogButtonBox).button(button).click()

    QTimer.singleShot(0, lambda: answer(True))
    got = dialogs.animation_options(None, AnimationOptions(size=(320, 200), fps=15, mode="overlay"), 9, modes)
    assert seen["range"] == (9, 9, 9)
    assert got == AnimationOptions(size=(400, 200), fps=12, first=3, last=3, mode="ridgeline")
    QTimer.singleShot(0, lambda: answer(False))
    assert dialogs.animation_options(None, AnimationOptions(), 9, modes) is None
