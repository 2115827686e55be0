"""The real main window, driven offscreen: run, scrub, save, reopen, export, errors, pause/resume, demo.

Dialogs are answered by `ScriptedDialogs`; QSettings and the user data folder live in tmp_path, so the tests
never touch the real home folder. Assertions are on what was drawn and written (plot data, files), checked
against the project file read with core.store.Project.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QWidget

from core import export as core_export
from core.engine import RunSpec
from core.runner import create_runs, drive
from core.store import Project, ProjectError
from gui.app import ErrorReporter
from gui.export.charts import AnimationOptions
from gui.panels.run_panel import range_text
from gui.window.main_window import Dialogs, MainWindow
from tests.simulate import drive_until

WAIT_MS = 30_000


class ScriptedDialogs(Dialogs):
    """Answers the window's questions from lists instead of blocking on modal dialogs."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.errors: list[tuple[str, str]] = []
        self.confirm_answer = True
        self.confirms: list[str] = []
        self.infos: list[str] = []
        self.png = ((640, 480), False)
        self.choices: list[int | None] = []  # answers to `choose`, in order (None: cancel)
        self.chosen_from: list[str] = []
        self.animation: AnimationOptions | None = None  # the answer to animation_options (None: the defaults)
        self.animation_asked: list[tuple[AnimationOptions, int, list[tuple[str, str]]]] = []

    def open_path(self, parent: QWidget, title: str, filters: str, start: str = "") -> str | None:
        return self.paths.pop(0) if self.paths else None

    def save_path(self, parent: QWidget, title: str, suggested: str, filters: str) -> str | None:
        return self.paths.pop(0) if self.paths else None

    def error(self, parent: QWidget, title: str, text: str) -> None:
        self.errors.append((title, text))

    def info(self, parent: QWidget, title: str, text: str) -> None:
        self.infos.append(text)

    def confirm(self, parent: QWidget, title: str, text: str) -> bool:
        self.confirms.append(text)
        return self.confirm_answer

    def choose(self, parent: QWidget, title: str, text: str, options: list[str]) -> int | None:
        self.chosen_from.append(text)
        return self.choices.pop(0) if self.choices else None

    def animation_options(self, parent: QWidget, defaults: AnimationOptions, last_generation: int,
                          modes: list[tuple[str, str]]) -> AnimationOptions | None:
        self.animation_asked.append((defaults, last_generation, modes))
        return self.animation if self.animation is not None else defaults

    def png_options(self, parent: QWidget, size: tuple[int, int],
                    transparent: bool) -> tuple[tuple[int, int], bool] | None:
        return self.png


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("COLLAPSE_LAB_DATA_DIR", str(data))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    return {"data": data, "settings": tmp_path / "settings.ini", "tmp": tmp_path}


def make_window(qtbot, env: dict[str, Path]) -> tuple[MainWindow, ScriptedDialogs]:  # noqa: ANN001
    dialogs = ScriptedDialogs()
    settings = QSettings(str(env["settings"]), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, data_dir=env["data"], dialogs=dialogs)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w, dialogs


@pytest.fixture
def window(qtbot, env: dict[str, Path]) -> tuple[MainWindow, ScriptedDialogs]:  # noqa: ANN001
    w, d = make_window(qtbot, env)
    yield w, d
    w.close()


def new_project(w: MainWindow, d: ScriptedDialogs, path: Path) -> None:
    d.paths.append(str(path))
    w.projects.new_action.trigger()
    assert w.project is not None and w.project.path == path


def run_from_form(qtbot, w: MainWindow, **values: object) -> int:  # noqa: ANN001
    """Fill Run setup, press Start, wait for the run to finish; return its id."""
    w.run_panel.set_values(**values)
    assert w.run_panel.start_button.isEnabled(), w.run_panel.error_text()
    qtbot.mouseClick(w.run_panel.start_button, Qt.MouseButton.LeftButton)
    assert w.is_running() or w.runs_panel.runs()
    qtbot.waitUntil(lambda: not w.is_running(), timeout=WAIT_MS)
    run = w.current_run()
    assert run is not None and run.status == "finished", w.run_control.status_label.text()
    return run.id


def plotted_series(widget: QWidget) -> list[np.ndarray]:
    """The y data of every PlotDataItem drawn in a chart widget (and its child plots)."""
    plots = [widget] if isinstance(widget, pg.PlotWidget) else []
    plots += widget.findChildren(pg.PlotWidget)
    out = []
    for p in plots:
        for item in p.getPlotItem().listDataItems():
            if isinstance(item, pg.PlotDataItem) and item.isVisible():
                _, y = item.getData()
                if y is not None:
                    out.append(np.asarray(y))
    return out


# ---- the checks --------------------------------------------------------------------------------------
def test_run_then_scrub_shows_the_stored_counts(qtbot, window, env) -> None:  # noqa: ANN001
    w, d = window
    path = env["tmp"] / "scrub.collapse"
    new_project(w, d, path)
    assert w.windowTitle() == "Collapse Lab - scrub.collapse"
    run_id = run_from_form(qtbot, w, scenario="gaussian", policy="replace", generations=40, samples=200, seed=3)
    assert w.state.playback.maximum == 40 and w.scrubber.value == 40  # followed the run to its end
    assert "Finished" in w.run_control.status_label.text()

    with Project(path, readonly=True) as p:
        counts = p.histogram(run_id, 17)
        ghost = p.histogram(run_id, 0)
    assert not np.array_equal(counts, ghost)

    w.activateWindow()
    w.scrubber.follow_box.setChecked(False)
    qtbot.keyClick(w, Qt.Key.Key_Home)
    assert w.scrubber.value == 0
    for _ in range(3):
        qtbot.keyClick(w, Qt.Key.Key_Right)
    assert w.scrubber.value == 3
    w.scrubber.spin.setValue(17)  # as if typed into the generation box
    chart = w.exports.chart("distribution")
    assert chart is not None

    def shows_gen_17() -> bool:
        return any(len(y) == len(counts) and np.array_equal(y, counts) for y in plotted_series(chart))

    qtbot.waitUntil(shows_gen_17, timeout=5000)
    qtbot.keyClick(w, Qt.Key.Key_End)
    assert w.scrubber.value == 40

    assert w.centre.widget.currentWidget() is w.generation_panel
    w.projects.close_action.trigger()
    assert w.project is None and w.centre.widget.currentWidget() is w.centre.empty_page
    assert w.centre.empty_title.text() == "No project open" and w.centre.empty_new.isVisibleTo(w)


def test_save_as_and_reopen_keeps_the_runs(qtbot, window, env) -> None:  # noqa: ANN001
    w, d = window
    first = env["tmp"] / "first.collapse"
    new_project(w, d, first)
    run_from_form(qtbot, w, scenario="gaussian", policy="mix", generations=15, samples=100, seed=1, alpha=0.25)
    run_from_form(qtbot, w, scenario="gaussian", policy="replace", generations=12, samples=100, seed=2)
    copy = env["tmp"] / "copy.collapse"
    d.paths.append(str(copy))
    w.projects.save_as_action.trigger()
    assert w.project is not None and w.project.path == copy
    assert w.windowTitle() == "Collapse Lab - copy.collapse"

    w.projects.close_action.trigger()
    assert w.project is None and w.windowTitle() == "Collapse Lab"
    d.paths.append(str(copy))
    w.projects.open_action.trigger()
    names = {r.name: (r.status, r.last_generation) for r in w.runs_panel.runs()}
    assert names == {"gaussian mix 0.25 fresh": ("finished", 15), "gaussian replace": ("finished", 12)}
    assert str(copy.resolve()) in w.projects.recent_files()
    with Project(first, readonly=True) as a, Project(copy, readonly=True) as b:
        for ra, rb in zip(a.runs(), b.runs()):
            assert np.array_equal(a.histograms(ra.id)[1], b.histograms(rb.id)[1])


def test_save_as_while_a_run_computes_continues_in_the_copy(qtbot, window, env) -> None:  # noqa: ANN001
    w, d = window
    original = env["tmp"] / "busy.collapse"
    new_project(w, d, original)
    gens = 20000  # long enough that the pause lands mid-run (group commit makes small generations fast)
    w.run_panel.set_values(scenario="gaussian", policy="replace", generations=gens, samples=100, seed=7)
    w.run_panel.request_start()
    worker = w.worker
    qtbot.waitUntil(lambda: worker.last_generation >= 5, timeout=WAIT_MS)
    copy = env["tmp"] / "busy copy.collapse"
    d.paths.append(str(copy))
    w.projects.save_as_action.trigger()
    assert w.project.path == copy and w.is_running() and w.worker is not worker  # resumed in the copy
    qtbot.waitUntil(lambda: not w.is_running(), timeout=WAIT_MS)
    assert w.current_run().status == "finished"
    with Project(copy, readonly=True) as p:
        (run,) = p.runs()
        assert list(p.histograms(run.id)[0]) == list(range(gens + 1))
    with Project(original, readonly=True) as p:
        (run,) = p.runs()
        assert run.status == "interrupted" and 5 <= run.last_generation < gens  # paused there, resumable


def test_export_png_svg_and_csv_through_the_actions(qtbot, window, env) -> None:  # noqa: ANN001
    w, d = window
    path = env["tmp"] / "export.collapse"
    new_project(w, d, path)
    run_from_form(qtbot, w, scenario="gaussian", policy="replace", generations=20, samples=150, seed=5)
    out = env["tmp"]

    d.png = ((640, 480), False)
    d.paths.append(str(out / "dist.png"))
    w.exports.export_actions["png"]["distribution"].trigger()
    img = QImage(str(out / "dist.png"))
    assert not img.isNull() and (img.width(), img.height()) == (640, 480)

    d.png = ((500, 300), True)
    d.paths.append(str(out / "timeline"))  # no extension: .png is added
    w.exports.export_actions["png"]["timeline"].trigger()
    img = QImage(str(out / "timeline.png"))
    assert (img.width(), img.height()) == (500, 300) and img.hasAlphaChannel()

    d.paths.append(str(out / "heat.svg"))
    w.exports.export_actions["svg"]["heatmap"].trigger()
    svg = (out / "heat.svg").read_text(encoding="utf-8")
    assert "<svg" in svg and "</svg>" in svg

    d.paths.append(str(out / "metrics.csv"))
    w.exports.metrics_csv_action.trigger()
    d.paths.append(str(out / "hist.csv"))
    w.exports.histograms_csv_action.trigger()
    assert not d.errors, d.errors
    with Project(path, readonly=True) as p:
        runs = p.runs()
        core_export.write_metrics_csv(p, runs, out / "cli-metrics.csv")
        n_bins = len(p.histogram(runs[0].id, 0))
    assert (out / "metrics.csv").read_bytes() == (out / "cli-metrics.csv").read_bytes()
    with open(out / "metrics.csv", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["run", "replicate", "generation", "metric", "value"]
    assert {r[2] for r in rows[1:]} == {str(g) for g in range(21)}
    with open(out / "hist.csv", encoding="utf-8") as fh:
        hist_rows = list(csv.reader(fh))
    assert hist_rows[0] == ["run", "replicate", "generation", "bin_left", "bin_right", "count"]
    assert len(hist_rows) - 1 == 21 * n_bins

    QApplication.clipboard().clear()
    w.exports.export_actions["copy"]["distribution"].trigger()
    assert not QApplication.clipboard().image().isNull()

    d.paths.append(str(out / "anim.gif"))
    d.animation = AnimationOptions(size=(320, 200), fps=10, first=5, last=15, mode="ridgeline")
    w.exports.gif_action.trigger()
    assert not d.errors, d.errors
    defaults, last, modes = d.animation_asked[-1]
    assert last == 20 and defaults.last == 20 and "ridgeline" in dict(modes)
    frames = sorted((out / "anim_frames").glob("frame_*.png"))
    if (out / "anim.gif").exists():  # Pillow installed: one animated GIF
        from PIL import Image

        with Image.open(out / "anim.gif") as gif:
            assert gif.size == (320, 200) and gif.n_frames == 11  # generations 5..15
            assert gif.info["duration"] == 100
    else:  # without Pillow: numbered PNG frames, one per generation, and the user is told
        assert len(frames) == 11 and "PNG frames" in d.infos[-1]
        assert QImage(str(frames[-1])).width() > 0


def test_opening_a_non_project_file_shows_a_clear_error(qtbot, window, env) -> None:  # noqa: ANN001
    w, d = window
    good = env["tmp"] / "good.collapse"
    new_project(w, d, good)
    bad = env["tmp"] / "notes.collapse"
    bad.write_text("just some text, not a database\n" * 10, encoding="utf-8")
    d.paths.append(str(bad))
    w.projects.open_action.trigger()
    title, text = d.errors[-1]
    assert title == "Cannot open the project"
    assert "is not a Collapse Lab project" in text and "Traceback" not in text
    assert w.project is not None and w.project.path == good  # the open project stays open

    newer = env["tmp"] / "newer.collapse"
    Project(newer, create=True).close()
    con = sqlite3.connect(newer)
    con.execute("PRAGMA user_version = 99")
    con.close()
    assert not w.open_project(newer)
    assert "newer Collapse Lab" in d.errors[-1][1]


def test_a_read_only_project_opens_for_viewing_only(qtbot, window, env, monkeypatch) -> None:  # noqa: ANN001
    w, d = window
    path = env["tmp"] / "locked.collapse"
    with Project(path, create=True) as p:
        (rid,) = create_runs(p, RunSpec.build("gaussian", "replace", {}, 5, 50, 1), name="kept")
        for _ in drive(p, rid):
            pass
    import core.store

    real_access = os.access
    monkeypatch.setattr(core.store.os, "access",
                        lambda f, mode: False if mode == os.W_OK and str(f) == str(path) else real_access(f, mode))
    assert w.open_project(path)
    assert w.windowTitle() == "Collapse Lab - locked.collapse (read-only)"
    assert not w.run_panel.start_button.isEnabled() and "read-only" in w.run_panel.note_label.text()
    w.runs.rename_run(rid, "renamed")
    assert "read-only" in d.errors[-1][1]
    assert w.runs_panel.run(rid).name == "kept"


def test_bad_form_value_disables_start_with_an_inline_message(qtbot, window, env) -> None:  # noqa: ANN001
    w, d = window
    new_project(w, d, env["tmp"] / "form.collapse")
    rp = w.run_panel
    rp.set_values(scenario="gaussian", policy="replace")
    assert rp.start_button.isEnabled() and rp.error_text() == ""
    rp.field("sigma0").setValue(0.0)  # below the schema's lower bound
    assert not rp.start_button.isEnabled()
    assert "sigma0 must be in [1e-6, 1,000,000], got 0" in rp.error_text()
    assert not w.run_control.start_action.isEnabled()
    rp.field("sigma0").setValue(2.0)
    assert rp.start_button.isEnabled() and rp.error_text() == ""

    rp.set_values(policy="multi-source")
    rp.field("families").setText("gaussian,nonsense")  # checked once typing pauses
    qtbot.waitUntil(lambda: not rp.start_button.isEnabled(), timeout=3000)
    assert "nonsense" in rp.error_text()
    tip = rp.field("sources").toolTip()
    assert "Allowed: [1, 64]" in tip and "Default: 3" in tip


def _type(qtbot, box, text: str) -> None:  # noqa: ANN001
    box.setFocus()
    box.lineEdit().selectAll()
    if text:
        qtbot.keyClicks(box, text)
    else:
        qtbot.keyClick(box, Qt.Key.Key_Delete)


def test_typed_values_are_never_changed_behind_the_users_back(qtbot, window, env) -> None:  # noqa: ANN001
    """Out-of-range, half-typed and comma numbers stay as typed, are reported and outlined, and block Start;
    e-notation is read exactly; cross-field errors outline the field they are about."""
    w, d = window
    new_project(w, d, env["tmp"] / "typed.collapse")
    rp = w.run_panel
    rp.set_values(scenario="gaussian", policy="mix")
    cases = [
        (rp.samples_spin, "-5", "samples must be in [1,"),
        (rp.generations_spin, "", "generations is empty"),
        (rp.seed_spin, "abc", "seed must be a whole number, got 'abc'"),
        (rp.replicates_spin, "5000", "replicates must be in [1, 1,000], got 5,000"),
        (rp.field("alpha"), "1.5", "alpha must be in [0, 1], got 1.5"),
        (rp.field("alpha"), "0,5", "(write a decimal point: 0.5)"),
        (rp.field("sigma0"), "1e308", "sigma0 must be in [1e-6, 1,000,000], got 1e308"),
    ]
    for box, text, fragment in cases:
        good = box.text()
        _type(qtbot, box, text)
        rp.name_edit.setFocus()  # leaving the box must not put a different number in
        assert box.text() == text, (text, box.text())
        assert fragment in rp.error_text(), (text, rp.error_text())
        assert not rp.start_button.isEnabled()
        assert box.styleSheet(), "the field the message is about is outlined"
        _type(qtbot, box, good)
        assert rp.error_text() == "" and rp.start_button.isEnabled() and not box.styleSheet()
    rp.set_values(policy="replace")
    _type(qtbot, rp.field("truncation"), "1e-9")
    assert rp.spec is not None and rp.spec.scenario_params["truncation"] == 1e-9
    rp.set_values(scenario="kde")
    _type(qtbot, rp.samples_spin, "1")
    assert "kde needs at least 2 samples" in rp.error_text() and rp.samples_spin.styleSheet()
    _type(qtbot, rp.samples_spin, "600000")
    assert "kde takes at most 500,000 samples" in rp.error_text()
    _type(qtbot, rp.samples_spin, "500")
    rp.name_edit.setText("two\x07bells")
    rp.request_start()  # the typing pause has not passed: Start checks first
    assert "control characters" in rp.error_text() and rp.name_edit.styleSheet()
    assert rp.name_edit.maxLength() == 100


def test_the_form_follows_every_scenario_and_policy_schema(qtbot, window, env) -> None:  # noqa: ANN001
    from core.policies import POLICIES
    from core.scenarios import SCENARIOS

    w, d = window
    new_project(w, d, env["tmp"] / "schemas.collapse")
    rp = w.run_panel
    for scenario, cls in SCENARIOS.items():
        rp.set_values(scenario=scenario, policy="replace")
        assert rp.samples_spin.value() == cls.default_samples
        for p in cls.schema:
            tip = rp.field(p.name).toolTip()
            assert range_text(p) in tip and p.help[:30] in tip
        for policy, pcls in POLICIES.items():
            rp.set_values(policy=policy)
            for p in pcls.schema:
                assert rp.field(p.name).toolTip()
            assert rp.start_button.isEnabled() == (rp.spec is not None)
            assert (rp.spec is None) == bool(rp.error_text())
    rp.set_values(scenario="gaussian", policy="replace")
    assert rp.start_button.isEnabled()


def test_pause_and_resume_lose_no_generation(qtbot, window, env) -> None:  # noqa: ANN001
    w, d = window
    path = env["tmp"] / "pause.collapse"
    new_project(w, d, path)
    gens = 20000  # long enough that the pause lands mid-run (group commit makes small generations fast)
    w.run_panel.set_values(scenario="gaussian", policy="replace", generations=gens, samples=100, seed=11)
    qtbot.mouseClick(w.run_panel.start_button, Qt.MouseButton.LeftButton)
    worker = w.worker
    assert worker is not None
    qtbot.waitUntil(lambda: worker.last_generation >= 5, timeout=WAIT_MS)
    qtbot.mouseClick(w.run_panel.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not w.is_running(), timeout=WAIT_MS)
    run = w.current_run()
    assert run is not None and run.status == "interrupted" and 5 <= run.last_generation < gens
    assert "Paused" in w.run_control.status_label.text()
    assert w.run_panel.resume_button.isEnabled() and not w.run_panel.pause_button.isEnabled()

    qtbot.mouseClick(w.run_panel.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not w.is_running() and w.current_run() is not None
                    and w.current_run().status == "finished", timeout=WAIT_MS)
    with Project(path, readonly=True) as p:
        g, mat = p.histograms(run.id)
    assert list(g) == list(range(gens + 1))
    straight = env["tmp"] / "straight.collapse"
    with Project(straight, create=True) as p:
        (rid,) = create_runs(p, RunSpec.build("gaussian", "replace", {}, gens, 100, 11))
        for _ in drive(p, rid):
            pass
        assert np.array_equal(p.histograms(rid)[1], mat)  # resumed == computed straight through


def test_interrupted_run_offers_resume(qtbot, window, env) -> None:  # noqa: ANN001
    w, d = window
    path = env["tmp"] / "crashed.collapse"
    with Project(path, create=True) as p:
        (rid,) = create_runs(p, RunSpec.build("gaussian", "replace", {}, 30, 50, 4), name="half done")
        drive_until(p, rid, 10)
    assert w.open_project(path)
    run = w.current_run()
    assert run is not None and run.status == "interrupted" and run.last_generation == 10
    assert w.run_panel.resume_button.isEnabled() and w.run_control.resume_action.isEnabled()
    w.run_control.resume_action.trigger()
    qtbot.waitUntil(lambda: not w.is_running(), timeout=WAIT_MS)
    assert w.current_run().status == "finished" and w.current_run().last_generation == 30
    assert w.state.playback.maximum == 30


def test_resuming_a_run_started_by_another_version_asks_first(qtbot, window, env) -> None:  # noqa: ANN001
    w, d = window
    path = env["tmp"] / "older.collapse"
    with Project(path, create=True) as p:
        (rid,) = create_runs(p, RunSpec.build("gaussian", "replace", {}, 20, 50, 4), name="older")
        drive_until(p, rid, 5)
        versions = {**p.run(rid).versions, "collapse_lab": "0.0.1"}
        p.db.execute("UPDATE runs SET versions = ? WHERE id = ?", [json.dumps(versions), rid])
    assert w.open_project(path)
    d.confirm_answer = False
    w.run_control.resume_action.trigger()
    assert len(d.confirms) == 1 and "started with collapse-lab 0.0.1" in d.confirms[0]
    assert "will not match a run done straight through" in d.confirms[0]
    assert not w.is_running() and w.current_run().status == "interrupted"  # declined: nothing started
    d.confirm_answer = True
    w.run_control.resume_action.trigger()
    qtbot.waitUntil(lambda: not w.is_running(), timeout=WAIT_MS)
    assert len(d.confirms) == 2
    assert w.current_run().status == "finished" and w.current_run().last_generation == 20


def test_a_file_error_during_a_run_shows_a_dialog_and_keeps_the_saved_generations(
        qtbot, window, env, monkeypatch) -> None:  # noqa: ANN001
    w, d = window
    path = env["tmp"] / "full.collapse"
    new_project(w, d, path)
    original = Project.commit_generations

    def disk_full(self, run, records, regenerable=True):  # noqa: ANN001 - runs in the worker thread
        records = list(records)
        if any(r.generation == 5 for r in records):
            raise ProjectError(f"{self.path}: the disk is full while saving generation 5. Everything committed "
                               "before is kept; free some space and resume the run.")
        return original(self, run, records, regenerable)

    monkeypatch.setattr("core.runner.GROUP_SECONDS", 0.0)  # a commit per generation: generation 5 fails alone
    monkeypatch.setattr(Project, "commit_generations", disk_full)
    w.run_panel.set_values(scenario="gaussian", policy="replace", generations=20, samples=50, seed=1)
    w.run_panel.request_start()
    qtbot.waitUntil(lambda: not w.is_running(), timeout=WAIT_MS)
    title, text = d.errors[-1]
    assert title == "The run stopped" and "disk is full" in text and "Traceback" not in text
    run = w.current_run()
    assert run.status == "interrupted" and run.last_generation == 4
    assert w.run_panel.resume_button.isEnabled()
    monkeypatch.setattr(Project, "commit_generations", original)
    w.run_control.resume_action.trigger()
    qtbot.waitUntil(lambda: not w.is_running(), timeout=WAIT_MS)
    assert w.current_run().status == "finished"
    with Project(path, readonly=True) as p:
        assert list(p.histograms(run.id)[0]) == list(range(21))


def test_every_control_has_a_tooltip(window) -> None:  # noqa: ANN001
    w, _ = window
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractSpinBox,
        QComboBox,
        QLineEdit,
        QSlider,
        QTableWidget,
    )

    controls = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QSlider, QTableWidget)
    mine = [w.runs_panel, w.run_panel, w.scrubber, w.centre.empty_page, w.toolbar]
    missing = []
    for root in mine:
        for c in root.findChildren(QWidget):
            if not isinstance(c, controls) or not c.isVisibleTo(w) or c.toolTip():
                continue
            if c.objectName().startswith("qt_"):
                continue  # Qt's own helpers (the toolbar's overflow button)
            if isinstance(c, QLineEdit) and isinstance(c.parent(), (QAbstractSpinBox, QComboBox)):
                continue  # the editor inside a spin box or combo box
            missing.append(f"{type(c).__name__} {c.objectName()!r}")
    for a in w.findChildren(type(w.projects.new_action)):
        if a.text() and not a.isSeparator() and a.menu() is None and a.parent() in (w, w.projects, w.run_control, w.exports):
            assert a.statusTip() or a.toolTip() != a.text().replace("&", ""), a.text()
    assert not missing, missing


def test_demo_project_is_built_on_first_launch_and_reused(qtbot, env) -> None:  # noqa: ANN001
    w, d = make_window(qtbot, env)
    assert w.open_demo()
    assert w.windowTitle() == "Collapse Lab - demo.collapse (demo)"
    qtbot.waitUntil(lambda: not w.is_running() and not w.state.queue.queue, timeout=WAIT_MS)
    runs = w.runs_panel.runs()
    assert len(runs) >= 2 and all(r.status == "finished" and r.complete for r in runs)
    assert {r.policy for r in runs} >= {"replace", "mix"}
    assert len(w.selected_runs()) == 2  # replace and mix compared in the timelines
    w.close()
    mtime = os.path.getmtime(env["data"] / "demo.collapse")
    w2, _ = make_window(qtbot, env)
    w2.open_demo()
    assert not w2.is_running()
    assert os.path.getmtime(env["data"] / "demo.collapse") == mtime or all(
        r.complete for r in w2.runs_panel.runs())
    w2.close()


def test_layout_recent_files_and_drop(qtbot, env) -> None:  # noqa: ANN001
    w, d = make_window(qtbot, env)
    path = env["tmp"] / "layout.collapse"
    new_project(w, d, path)
    w.help_dock.hide()
    panel = w.generation_panel
    panel.timeline.set_smoothing(0.6)  # belongs to the chart: not kept for the next launch
    panel.timelines.add_panel("kl")
    panel.heatmap.log_check.setChecked(not panel.heatmap.log_check.isChecked())
    panel.timeline.preferred_metric = "w1"
    chosen = panel.view_state()
    w.close()
    w2, d2 = make_window(qtbot, env)
    assert w2.help_dock.isHidden()
    restored = w2.generation_panel.view_state()
    assert "smooth" not in restored and w2.generation_panel.timeline.smoothing == 0
    assert restored["timelines"] == chosen["timelines"] and len(chosen["timelines"]) == 2
    assert restored["heatmap_log"] == chosen["heatmap_log"]
    assert w2.generation_panel.timeline.preferred_metric == "w1"
    assert w2.projects.recent_files()[0] == str(path.resolve())
    w2.projects.recent_menu.aboutToShow.emit()
    entries = [a for a in w2.projects.recent_menu.actions() if a.data()]
    assert entries and entries[0].data() == str(path.resolve())
    entries[0].trigger()
    assert w2.project is not None and w2.project.path == path
    w2.projects.close_project()

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    w2.dropEvent(event)
    qtbot.waitUntil(lambda: w2.project is not None, timeout=5000)
    assert w2.windowTitle() == "Collapse Lab - layout.collapse"
    w2.reset_layout_action.trigger()
    assert not w2.help_dock.isHidden()
    w2.close()


def test_rename_and_delete_runs(qtbot, window, env) -> None:  # noqa: ANN001
    w, d = window
    path = env["tmp"] / "edit.collapse"
    new_project(w, d, path)
    rid = run_from_form(qtbot, w, scenario="gaussian", policy="replace", generations=5, samples=50, seed=1)
    table = w.runs_panel.table

    def rename_inline(row: int, name: str) -> None:
        """F2, type, Enter: the way a user renames."""
        table.setCurrentCell(row, 0)
        table.editItem(table.item(row, 0))
        editor = QApplication.focusWidget()
        assert editor is not None and editor is not table
        editor.selectAll()
        qtbot.keyClicks(editor, name)
        qtbot.keyClick(editor, Qt.Key.Key_Return)

    for name in ("first name", "my first run"):  # twice: the table must not lag one rename behind
        rename_inline(0, name)
        qtbot.waitUntil(lambda name=name: w.runs_panel.run(rid).name == name)
        assert table.item(0, 0).text() == name
    with Project(path, readonly=True) as p:
        assert p.run(rid).name == "my first run"
    run_from_form(qtbot, w, scenario="gaussian", policy="replace", generations=5, samples=50, seed=2)
    rename_inline(1, "my first run")  # duplicate: refused with a dialog, old name kept
    qtbot.waitUntil(lambda: bool(d.errors))
    assert "already exists" in d.errors[-1][1]
    assert table.item(1, 0).text() != "my first run"
    w.runs_panel.select_runs([rid])
    d.confirm_answer = False
    w.runs_panel.delete_action.trigger()
    assert len(w.runs_panel.runs()) == 2
    d.confirm_answer = True
    w.runs_panel.delete_action.trigger()
    assert "my first run" in d.confirms[-1]
    assert [r.id for r in w.runs_panel.runs()] != [] and rid not in [r.id for r in w.runs_panel.runs()]
    with Project(path, readonly=True) as p:
        assert rid not in [r.id for r in p.runs()]


def test_unexpected_errors_are_logged_not_shown_as_tracebacks(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    log = tmp_path / "collapse-lab.log"
    reporter = ErrorReporter(log)
    shown: list[str] = []
    monkeypatch.setattr(reporter, "show_message", shown.append)
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError as exc:
        reporter.excepthook(type(exc), exc, exc.__traceback__)
    assert len(shown) == 1 and "ZeroDivisionError" in shown[0] and "Traceback" not in shown[0]
    assert str(log) in shown[0]
    assert "Traceback" in log.read_text(encoding="utf-8")


def test_help_and_about_texts(window) -> None:  # noqa: ANN001
    w, _ = window
    text = w.help_panel.text()
    for paper in ("Shumailov et al., Nature", "Seddik et al.", "Gerstgrasser et al.", "Alemohammad et al., ICLR 2024",
                  "Feng et al.", "Kazdan et al.", "Dohmatob et al., ICML 2024"):
        assert paper in text
    assert "Variance ratio" in text and "Tail mass" in text
    from gui.about import about_html

    html = about_html()
    assert "PySide6" in html and "pyqtgraph" in html and "SQLite" in html
    assert QApplication.instance() is not None
