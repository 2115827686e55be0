"""A damaged project: what can be read is shown, what cannot is said once, and nothing switches half-way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from core.engine import RunSpec
from core.runner import create_runs, drive
from core.store import Project
from tests.gui.test_main_window import env, new_project, window  # noqa: F401 (fixtures)


def _project(path: Path, runs: int = 3) -> list[int]:
    with Project(path, create=True) as p:
        ids = create_runs(p, RunSpec.build("gaussian", "replace", {}, 4, 60, 1), replicates=runs, name="g")
        for rid in ids:
            for _ in drive(p, rid):
                pass
    return ids


def _damage(path: Path, sql: str, *args: object) -> None:
    con = sqlite3.connect(path)
    con.execute(sql, args)
    con.commit()
    con.close()


def test_a_damaged_run_is_reported_once_and_the_others_are_listed(qtbot, window, env) -> None:  # noqa: ANN001, F811
    w, d = window
    path = env["tmp"] / "d.collapse"
    ids = _project(path)
    _damage(path, "UPDATE runs SET reference = CAST(x'fffe41' AS TEXT) WHERE id = ?", ids[1])
    assert w.open_project(path)
    assert [r.id for r in w.runs_panel.runs()] == [ids[0], ids[2]]
    assert [t for t, _ in d.errors] == ["Some runs cannot be read"]
    assert "1 run is damaged" in d.errors[0][1] and "fffe" not in d.errors[0][1]
    w.state.reload_runs()
    assert len(d.errors) == 1  # said once per project, not on every reload


def test_a_project_whose_runs_cannot_be_listed_is_refused_and_the_open_one_stays(  # noqa: F811
        qtbot, window, env) -> None:  # noqa: ANN001, F811
    w, d = window
    good = env["tmp"] / "good.collapse"
    kept = _project(good, runs=1)
    assert w.open_project(good)
    bad = env["tmp"] / "bad.collapse"
    _project(bad, runs=2)
    _damage(bad, "ALTER TABLE runs RENAME TO runs_gone")
    assert not w.open_project(bad)
    assert d.errors[-1][0] == "Cannot open the project" and "bad.collapse" in d.errors[-1][1]
    assert w.project is not None and w.project.path == good
    assert [r.id for r in w.runs_panel.runs()] == kept
    assert "good.collapse" in w.windowTitle()


def test_damaged_histograms_and_metrics_are_said_in_the_views(qtbot, window, env) -> None:  # noqa: ANN001, F811
    w, d = window
    path = env["tmp"] / "h.collapse"
    (rid,) = _project(path, runs=1)
    _damage(path, "UPDATE generations SET histogram = x'0102' WHERE run_id = ? AND generation = 2", rid)
    _damage(path, "UPDATE generations SET metrics = '{\"std\": ' WHERE run_id = ? AND generation = 3", rid)
    assert w.open_project(path)  # pytest-qt fails the test on any exception raised in a slot
    w.runs_panel.select_runs([rid], rid)
    heatmap = w.generation_panel.heatmap
    assert heatmap.message is not None and "cannot be read" in heatmap.message
    timeline = w.generation_panel.timeline
    for i in range(timeline.metric_combo.count()):
        timeline.metric_combo.setCurrentIndex(i)
        assert "cannot be read" in timeline.help_label.full_text()
        assert timeline.message is None  # the chart and its metric menu stay usable
    assert d.errors == []  # no dialog per metric switch
