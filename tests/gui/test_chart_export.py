"""Chart export: PNG at an exact size (opaque or transparent), SVG, CSV of the drawn data, clipboard,
animation frames, and the headless chart files behind `main.py export --png/--svg`."""

from __future__ import annotations

import csv
import os
import xml.dom.minidom
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtSvg import QSvgRenderer

from core.cli import GuiHooks, main
from core.engine import RunSpec
from core.params import ParamError
from core.runner import create_runs, drive
from core.store import Project
from gui.cache import RunCache
from gui.export import charts as chart_export
from gui.export.charts import ExportError
from gui.panels.generation_panel import GenerationPanel


@pytest.fixture(scope="module")
def project_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "export.collapse"
    with Project(path, create=True) as p:
        for ids in (create_runs(p, RunSpec.build("gaussian", "replace", {}, 25, 300, 1), name="replace"),
                    create_runs(p, RunSpec.build("gaussian", "mix", {"alpha": 0.5}, 25, 300, 2), name="mix")):
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
    w.resize(900, 800)
    w.show()
    w.set_cache(RunCache(project))
    runs = project.runs()
    w.set_runs(runs[0], runs)
    w.set_generation(12)
    return w


def test_png_has_the_requested_size_and_keeps_the_layout(panel: GenerationPanel, tmp_path: Path) -> None:
    charts = panel.charts()
    assert set(charts) == {"distribution", "heatmap", "timeline"}
    before = {n: w.size() for n, w in charts.items()}
    for name, w in charts.items():
        out = chart_export.export_png(w, tmp_path / f"{name}.png", size=(640, 360))
        img = QImage(str(out))
        assert not img.isNull() and (img.width(), img.height()) == (640, 360), name
        colors = {img.pixel(x, y) for x in range(0, 640, 37) for y in range(0, 360, 23)}
        assert len(colors) > 3, f"{name} looks blank"
    assert {n: w.size() for n, w in charts.items()} == before  # sizes restored
    out = chart_export.export_png(charts["timeline"], tmp_path / "t.png", size=(300, 200), transparent=True)
    img = QImage(str(out))
    assert img.hasAlphaChannel() and img.pixelColor(299, 199).alpha() == 0
    default = QImage(str(chart_export.export_png(charts["heatmap"], tmp_path / "h.png")))
    target = chart_export.export_target(charts["heatmap"])
    assert (default.width(), default.height()) == (target.width(), target.height())


def test_svg_is_valid_and_names_the_axes(panel: GenerationPanel, tmp_path: Path) -> None:
    for name, w in panel.charts().items():
        out = chart_export.export_svg(w, tmp_path / f"{name}.svg")
        text = out.read_text(encoding="utf-8")
        xml.dom.minidom.parseString(text)  # well-formed
        assert QSvgRenderer(str(out)).isValid(), name
        assert "generation" in text or name == "distribution"


def test_csv_holds_what_is_drawn(panel: GenerationPanel, project: Project, tmp_path: Path) -> None:
    run = project.runs()[0]
    n = chart_export.export_csv(panel.charts()["distribution"], tmp_path / "d.csv")
    with open(tmp_path / "d.csv", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:4] == ["bin_left", "bin_right", "count_gen_12", "count_gen_0"] and n == 100
    assert [int(r[2]) for r in rows[1:]] == project.histogram(run.id, 12).tolist()
    chart_export.export_csv(panel.charts()["heatmap"], tmp_path / "h.csv")
    with open(tmp_path / "h.csv", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 27 and len(rows[1]) == 101 and abs(sum(map(float, rows[1][1:])) - 1) < 1e-4
    chart_export.export_csv(panel.charts()["timeline"], tmp_path / "t.csv")
    with open(tmp_path / "t.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["series"] for r in rows} == {"replace", "mix"} and len(rows) == 52
    mine = [float(r["value"]) for r in rows if r["series"] == "replace"]
    assert np.allclose(mine, project.metric_series(run.id, "var_ratio")[1])


def test_clipboard_gets_the_chart(panel: GenerationPanel) -> None:
    img = chart_export.copy_to_clipboard(panel.charts()["timeline"])
    clip = QGuiApplication.clipboard().image()
    assert not clip.isNull() and clip.size() == img.size()


def test_export_errors_are_clear(panel: GenerationPanel, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="does not exist"):
        chart_export.export_png(panel.charts()["heatmap"], tmp_path / "missing" / "x.png", size=(100, 100))
    blank = GenerationPanel()
    with pytest.raises(ExportError, match="no data"):
        chart_export.export_csv(blank.charts()["timeline"], tmp_path / "x.csv")


def test_no_chart_format_overwrites_a_project_or_leaves_a_partial_file(panel: GenerationPanel, project: Project,
                                                                       project_path: Path, tmp_path: Path) -> None:
    before = project_path.read_bytes()
    chart = panel.charts()["timeline"]
    for fn in (lambda p: chart_export.export_png(chart, p, size=(120, 90)),
               lambda p: chart_export.export_svg(chart, p), lambda p: chart_export.export_csv(chart, p)):
        with pytest.raises(ExportError, match="project file"):
            fn(project_path)
    with pytest.raises(ExportError, match="project file"):
        chart_export.export_animation_frames(RunCache(project), project.runs()[0], project_path, "gif",
                                             generations=[0, 1])
    assert project_path.read_bytes() == before
    assert not [p for p in project_path.parent.iterdir() if "partial" in p.name]
    old = tmp_path / "chart.png"
    old.write_bytes(b"old")
    chart_export.export_png(chart, old, size=(120, 90))
    assert QImage(str(old)).width() == 120 and [p.name for p in tmp_path.iterdir()] == ["chart.png"]


def test_animation_frames(qtbot, project: Project, tmp_path: Path) -> None:  # noqa: ANN001
    cache = RunCache(project)
    run = project.runs()[0]
    res = chart_export.export_animation_frames(cache, run, tmp_path / "frames", "png", size=(320, 200),
                                               stride=5)
    assert [p.name for p in res.paths] == [f"frame_{i:05d}.png" for i in range(6)]
    assert QImage(str(res.paths[-1])).size().width() == 320
    formats = chart_export.animation_formats()
    res = chart_export.export_animation_frames(cache, run, tmp_path / "anim.gif", "gif", size=(200, 120),
                                               generations=[0, 10, 25])
    # Pillow and imageio-ffmpeg are dependencies: both encoders must be there.
    assert formats["gif"] is None and formats["mp4"] is None, formats
    assert res.paths == [tmp_path / "anim.gif"] and (tmp_path / "anim.gif").read_bytes()[:3] == b"GIF"
    res = chart_export.export_animation_frames(cache, run, tmp_path / "v.mp4", "mp4", size=(200, 120),
                                               generations=[0, 1, 2, 3])
    video = (tmp_path / "v.mp4").read_bytes()
    assert res.paths == [tmp_path / "v.mp4"] and video[4:8] == b"ftyp" and len(video) > 1000
    with pytest.raises(ExportError, match="format"):
        chart_export.export_animation_frames(cache, run, tmp_path / "x.avi", "avi")
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(ExportError, match="is a file, not a folder"):
        chart_export.export_animation_frames(cache, run, tmp_path / "taken", "png", generations=[0])
    assert (tmp_path / "taken").read_text() == "a file, not a folder"


def test_headless_chart_files(qtbot, project: Project, tmp_path: Path) -> None:  # noqa: ANN001
    runs = project.runs()
    for chart, name in (("var_ratio", "tl"), ("histogram", "hist"), ("heatmap", "heat")):
        png = chart_export.export_chart_file(project, runs, chart, tmp_path / f"{name}.png", (700, 420))
        img = QImage(str(png))
        assert (img.width(), img.height()) == (700, 420)
        svg = chart_export.export_chart_file(project, runs, chart, tmp_path / f"{name}.svg", (700, 420))
        assert QSvgRenderer(str(svg)).isValid()
    chart_export.export_chart_file(project, runs, "w1", tmp_path / "w1.csv", (700, 420))
    assert (tmp_path / "w1.csv").read_text(encoding="utf-8").startswith("series,metric,generation,value")
    with pytest.raises(ParamError, match="unknown chart 'nope'"):
        chart_export.export_chart_file(project, runs, "nope", tmp_path / "x.png", (300, 200))
    with pytest.raises(ParamError, match=".png, .svg or .csv"):
        chart_export.export_chart_file(project, runs, "heatmap", tmp_path / "x.jpg", (300, 200))


def test_cli_export_png_through_main(project_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.png"
    hooks = GuiHooks(export_chart=chart_export.export_chart_file)
    code = main(["export", str(project_path), "--png", str(out), "--chart", "heatmap", "--size", "640x400",
                 "--run", "mix"], hooks)
    assert code == 0, capsys.readouterr().err
    img = QImage(str(out))
    assert (img.width(), img.height()) == (640, 400)
    csv_out = tmp_path / "m.csv"
    code = main(["export", str(project_path), "--metrics-csv", str(csv_out), "--png", str(tmp_path / "b.png"),
                 "--chart", "bogus"], hooks)
    assert code == 2 and "unknown chart 'bogus'" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cli.png"]  # nothing written when the chart is wrong
