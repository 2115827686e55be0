"""Several selected runs in the distribution pane and the drift heatmap: small multiples, one per series of the
timeline, titled with the run's name and drawn in the colour the timeline gives it (issue 13, section 2).

Tiny runs built through core (RunSpec.build, create_runs, drive), offscreen.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage

from core.engine import RunSpec
from core.runner import create_runs, drive
from core.store import Project, RunInfo
from gui.cache import RunCache
from gui.export import charts as chart_export
from gui.panels.generation_panel import GenerationPanel
from gui.theme_colors import chart_colors
from gui.views.compare import MAX_DISTRIBUTIONS, MAX_HEATMAPS, plan_multiples, plot_title_text
from gui.views.distribution import DistributionView
from gui.views.heatmap import HeatmapView
from gui.views.run_groups import color_indices, run_groups
from tests.simulate import drive_until

NAMES = ("replace", "mix", "c", "d", "e", "f", "g")  # and three replicates of "reps": 8 series, 10 runs


@pytest.fixture(scope="module")
def project_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compare") / "compare.collapse"
    with Project(path, create=True) as p:
        for seed, name in enumerate(NAMES, start=1):
            policy, params = ("mix", {"alpha": 0.5}) if name == "mix" else ("replace", {})
            gens = 8 if name == "mix" else 12  # one shorter run: scrubbing past its end
            for rid in create_runs(p, RunSpec.build("gaussian", policy, params, gens, 150, seed), name=name):
                for _ in drive(p, rid):
                    pass
        for rid in create_runs(p, RunSpec.build("gaussian", "replace", {}, 12, 150, 99), 3, name="reps"):
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
    w.resize(1000, 1000)
    w.show()
    w.set_cache(RunCache(project))
    return w


def by_name(project: Project, name: str) -> RunInfo:
    return next(r for r in project.runs() if r.name == name)


def counts_of(item: pg.PlotDataItem) -> np.ndarray:
    return np.asarray(item.getOriginalDataset()[1])


def test_two_runs_are_two_titled_panes_in_their_timeline_colours(panel: GenerationPanel, project: Project) -> None:
    a, b = by_name(project, "replace"), by_name(project, "mix")
    panel.set_runs(b, [a, b])  # the current run is the second series: it must not take the first one's colour
    panel.set_generation(5)
    dist, heat = panel.distribution, panel.heatmap
    assert dist.comparing and heat.comparing
    assert [c.run.id for c in dist.cells] == [a.id, b.id]
    colours = color_indices([a, b])
    c = chart_colors(panel.palette())
    for cell, run in zip(dist.cells, (a, b)):
        i = colours[run.id]
        assert i == [n for n, _ in run_groups([a, b])].index(run.name)
        view = cell.view
        assert cell.widget.isVisibleTo(dist) and view.plot.isVisibleTo(dist)
        title = plot_title_text(view.plot)
        assert run.name in title and "generation 5" in title
        assert view.hist_item.opts["pen"].color().rgb() == c.series(i).rgb()
        assert view.hist_item.opts["fillBrush"].color().rgb() == c.series(i).rgb()
        assert np.array_equal(counts_of(view.hist_item), project.histogram(run.id, 5))
    assert dist.view is dist.cells[1].view  # the current run's pane
    panel.set_runs(a, [a, b])  # the same panes, the other one current: nothing is set up again
    assert dist.view is dist.cells[0].view and dist.cells[0].view.generation == 5
    assert dist.table()[1][0][2] == project.histogram(a.id, 5)[0]
    assert dist.sheet.note.isHidden()  # both fit: no "showing N of M"
    rows = heat.active
    assert [r.run.id for r in rows] == [a.id, b.id]
    for row, run in zip(rows, (a, b)):
        i = colours[run.id]
        assert run.name in plot_title_text(row.plot) and "share" in plot_title_text(row.plot)
        assert row.plot.plotItem.vb.border.color().rgb() == c.series(i).rgb()
        assert row.image_shape == (run.spec.generations + 1, 100)
        assert row.cursor.value() == 5
    assert heat.note_label.isHidden()


def test_one_run_keeps_the_single_large_view_with_its_name(panel: GenerationPanel, project: Project) -> None:
    a, b = by_name(project, "replace"), by_name(project, "mix")
    panel.set_runs(b, [a, b])
    panel.set_runs(a, [a])  # back to one run
    panel.set_generation(7)
    dist, heat = panel.distribution, panel.heatmap
    assert not dist.comparing and not heat.comparing
    view = dist.view
    assert view is dist.views["hist1d"] and dist.currentWidget() is view
    assert plot_title_text(view.plot) == "replace — generation 7"
    assert view.hist_item.opts["pen"].color().rgb() == chart_colors(panel.palette()).current.rgb()  # as before
    assert chart_export.export_target(dist) is view.plot  # the exported PNG names its run
    assert view.mode_combo.parent() is view  # its controls are back in its own header
    assert plot_title_text(heat.plot).startswith("replace — share of samples per value bin")
    assert chart_export.export_target(heat) is heat.plot and heat.active == [heat.heat_rows[0]]
    assert heat.plot.plotItem.vb.border.style() == Qt.PenStyle.NoPen  # no series frame
    # the one-run call older callers use
    alone = DistributionView()
    alone.set_cache(panel.cache)
    alone.set_run(b)
    alone.set_generation(3)
    assert not alone.comparing and plot_title_text(alone.view.plot) == "mix — generation 3"
    alone.deleteLater()


def test_eight_series_show_the_maximum_and_say_so(panel: GenerationPanel, project: Project) -> None:
    runs = project.runs()
    assert len(runs) == 10 and len(run_groups(runs)) == 8
    current = runs[-1]  # a replicate of "reps", the last series: still shown
    panel.set_runs(current, runs)
    panel.set_generation(2)
    dist, heat = panel.distribution, panel.heatmap
    assert len(dist.cells) == MAX_DISTRIBUTIONS == 6 and len(heat.active) == MAX_HEATMAPS == 4
    assert dist.sheet.note.text() == "showing 6 of 8 series (10 selected runs)" and dist.sheet.note.isVisibleTo(dist)
    assert heat.note_label.text() == "showing 4 of 8 series (10 selected runs)"
    assert dist.cells[-1].run.id == current.id and heat.active[-1].run.id == current.id
    colours = color_indices(runs)
    for cell in dist.cells:
        assert cell.multiple.color_index == colours[cell.run.id]
    group = dist.cells[-1].multiple
    assert group.label == "reps (replicate 3 of 3)" and "reps (replicate 3 of 3)" in plot_title_text(
        dist.cells[-1].view.plot)
    assert dist.sheet.grid.columnCount() == 3 and dist.sheet.grid.rowCount() == 2
    # exported: every pane with its title, and the note (the sheet), not one of them
    assert chart_export.export_target(dist) is dist.sheet and chart_export.export_target(heat) is heat.sheet
    # without a group among them the note counts runs
    plan, total = plan_multiples(runs[:7] + runs[8:9], runs[0], 6)
    assert total == 8 and len(plan) == 6


def test_scrubbing_updates_every_pane(panel: GenerationPanel, project: Project) -> None:
    runs = [by_name(project, n) for n in ("replace", "mix", "c", "d")]
    panel.set_runs(runs[0], runs)
    dist = panel.distribution
    assert len(dist.cells) == 4 and dist.sheet.grid.columnCount() == 2  # 2 x 2
    for k in (3, 11, 0, 10):
        panel.set_generation(k)
        for cell in dist.cells:
            shown = min(k, cell.run.spec.generations)
            assert np.array_equal(counts_of(cell.view.hist_item), project.histogram(cell.run.id, shown)), (k, cell)
            assert plot_title_text(cell.view.plot).endswith(f"generation {shown}")
            assert ("not computed yet" in cell.view.info.full_text()) == (shown != k)
        assert all(r.cursor.value() == k for r in panel.heatmap.active)


def test_options_apply_to_every_pane_and_export_holds_them_all(panel: GenerationPanel, project: Project,
                                                               tmp_path: Path) -> None:
    a, b = by_name(project, "replace"), by_name(project, "c")
    panel.set_runs(a, [a, b])
    panel.set_generation(4)
    dist = panel.distribution
    primary = dist.views["hist1d"]
    assert primary.log_check.parent() is dist.compare and primary.log_check.isVisibleTo(dist)
    primary.log_check.setChecked(True)
    for cell in dist.cells:
        assert cell.view.log_check.isChecked() and cell.view.plot.plotItem.ctrl.logYCheck.isChecked()
        assert not cell.view.log_check.isVisibleTo(cell.view)  # the pane's own copy is hidden
    primary.log_check.setChecked(False)
    out = chart_export.export_png(panel.charts()["distribution"], tmp_path / "d.png", size=(800, 400))
    img = QImage(str(out))
    assert (img.width(), img.height()) == (800, 400)
    names = [t for t, _ in dist.tables()]
    assert names == ["replace", "c"]
    header, rows = dist.table()  # the CSV of the chart: the current run's pane
    assert header[2] == "count_gen_4" and [r[2] for r in rows] == project.histogram(a.id, 4).tolist()
    heat = panel.heatmap
    assert [t for t, _ in heat.tables()] == ["replace", "c"]
    svg = chart_export.export_svg(panel.charts()["heatmap"], tmp_path / "h.svg").read_text(encoding="utf-8")
    assert "replace" in svg and "share per value bin" in svg
    heat.log_check.setChecked(False)
    for row, run in zip(heat.active, (a, b)):
        counts = project.histogram(run.id, 6)
        assert np.allclose(row.image.image[6], counts / counts.sum(), atol=1e-6)


def test_a_growing_run_among_several_gets_its_new_generations(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "grow.collapse"
    writer = Project(path, create=True)
    (done,) = create_runs(writer, RunSpec.build("gaussian", "replace", {}, 10, 100, 1), name="done")
    for _ in drive(writer, done):
        pass
    (grow,) = create_runs(writer, RunSpec.build("gaussian", "replace", {}, 10, 100, 2), name="grow")
    reader = Project(path)
    panel = GenerationPanel()
    qtbot.addWidget(panel)
    panel.resize(800, 700)
    panel.set_cache(RunCache(reader))
    runs = [reader.run(done), reader.run(grow)]
    panel.set_runs(runs[0], runs)
    panel.set_generation(6)
    dist, heat = panel.distribution, panel.heatmap
    assert dist.cells[1].view is None and "no generation yet" in dist.cells[1].widget.text()
    assert "no generation yet" in heat.active[1].problem.toPlainText()
    drive_until(writer, grow, 3)
    panel.refresh(grow)
    panel.flush()
    cell = dist.cells[1]
    assert cell.view is not None and cell.view.generation == 3  # the last one there is, said so
    assert "not computed yet" in cell.view.info.full_text()
    assert heat.active[1].image_shape == (4, 100) and not heat.active[1].problem.isVisible()
    for _ in drive(writer, grow, group_seconds=0):
        pass
    panel.refresh(grow)
    panel.flush()
    assert np.array_equal(counts_of(dist.cells[1].view.hist_item), writer.histogram(grow, 6))
    assert heat.active[1].image_shape == (11, 100)
    assert np.array_equal(counts_of(dist.cells[0].view.hist_item), writer.histogram(done, 6))
    reader.close()
    writer.close()


def test_clicking_a_heatmap_row_jumps_to_its_generation(qtbot, panel: GenerationPanel,  # noqa: ANN001
                                                        project: Project) -> None:
    a, b = by_name(project, "replace"), by_name(project, "mix")
    panel.set_runs(a, [a, b])
    row = panel.heatmap.active[1]
    qtbot.waitExposed(row.plot)
    vb = row.plot.plotItem.vb
    for x, expected in ((4, 4), (11.2, 8)):  # "mix" has 8 generations: a click beyond picks its last
        pos = row.plot.mapFromScene(vb.mapViewToScene(QPointF(x, 0.0)))
        with qtbot.waitSignal(panel.generation_picked, timeout=2000) as sig:
            qtbot.mouseClick(row.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
        assert sig.args == [expected]


def test_a_standalone_heatmap_of_several_runs_spans_the_longest(qtbot, project: Project) -> None:  # noqa: ANN001
    heat = HeatmapView()
    qtbot.addWidget(heat)
    heat.set_cache(RunCache(project))
    a, b = by_name(project, "mix"), by_name(project, "replace")
    heat.set_runs([a, b], a)
    assert heat.comparing and heat.plot.plotItem.vb.viewRange()[0] == [-0.5, 12.5]
    heat.set_run(a)  # one run again
    assert not heat.comparing and heat.plot.plotItem.vb.viewRange()[0] == [-0.5, 8.5]


def test_a_long_run_name_is_elided_to_the_pane_and_the_detail_kept(qapp) -> None:  # noqa: ANN001
    from gui.views.compare import elide_title

    name = "a very long run name that no narrow pane can hold in one line of its title"
    short = elide_title(name, "generation 200", 260, "9pt", True)
    assert short.endswith("…") and len(short) < len(name)
    assert elide_title(name, "generation 200", 4000, "9pt", True) == name
    assert elide_title(name, "generation 200", 40, "9pt", True) == name  # not laid out yet: left alone


def test_stacked_heatmap_rows_have_equal_data_areas_and_titles_above_them(panel: GenerationPanel, qtbot,  # noqa: ANN001
                                                                         project: Project) -> None:
    a, b = by_name(project, "replace"), by_name(project, "mix")
    panel.set_runs(a, [a, b])
    for height in (1000, 700):
        panel.resize(1000, height)
        qtbot.wait(30)
        boxes = [r.plot.plotItem.vb.sceneBoundingRect() for r in panel.heatmap.active]
        titles = [r.plot.plotItem.titleLabel for r in panel.heatmap.active]
        assert abs(boxes[0].height() - boxes[1].height()) <= 3, (height, boxes)
        for box, title in zip(boxes, titles):  # the title row sits above the data, not over it
            assert title.isVisible() and title.sceneBoundingRect().bottom() <= box.top() + 1
