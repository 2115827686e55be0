"""Crafted project files opened in the window (offscreen): SQL of the file's own is never run, the user is asked
what to do with it, damaged runs are listed and the rest shown, and nothing hangs."""

from __future__ import annotations

import socket
import sqlite3
import time
from pathlib import Path

import pytest

from core.store import row_key
from tests.gui.test_damaged_project import _damage, _project
from tests.gui.test_main_window import env, window  # noqa: F401 (fixtures)

TRIGGER = "CREATE TRIGGER wipe AFTER UPDATE ON runs BEGIN DELETE FROM generations; DELETE FROM runs; END"


def _crafted(path: Path) -> list[int]:
    """Three runs, one left 'running' by a dead process (opening writable marks it interrupted: an UPDATE that
    fires the file's trigger), and the trigger."""
    ids = _project(path)
    _damage(path, "UPDATE runs SET status = 'running', writer = ? WHERE id = ?", f"{socket.gethostname()}:999999999",
            ids[0])
    _damage(path, TRIGGER)
    return ids


def _generations(path: Path) -> int:
    con = sqlite3.connect(path)
    n = con.execute("SELECT COUNT(*) FROM generations").fetchone()[0]
    con.close()
    return n


@pytest.mark.parametrize(("answer", "opened", "readonly", "trigger_left"),
                         [(None, False, None, True), (1, True, True, True), (0, True, False, False)])
def test_a_file_with_sql_of_its_own_asks_and_never_runs_it(qtbot, window, env, answer, opened,  # noqa: ANN001, F811
                                                           readonly, trigger_left) -> None:  # noqa: ANN001
    w, d = window
    path = env["tmp"] / "t.collapse"
    ids = _crafted(path)
    stored = _generations(path)
    before = path.read_bytes()
    d.choices = [answer]
    assert w.open_project(path) is opened
    assert len(d.chosen_from) == 1 and "trigger 'wipe'" in d.chosen_from[0]
    assert d.errors == []
    assert _generations(path) == stored  # the trigger never ran
    if answer is None:
        assert w.project is None and path.read_bytes() == before
        return
    assert w.project.readonly is readonly
    assert [r.id for r in w.runs_panel.runs()] == ids
    con = sqlite3.connect(path)
    left = con.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'").fetchone()[0]
    con.close()
    assert bool(left) is trigger_left
    if readonly:
        assert path.read_bytes() == before
        assert "(read-only)" in w.windowTitle()


def test_damaged_specs_are_listed_once_and_the_window_opens_on_the_others(qtbot, window, env) -> None:  # noqa: ANN001, F811
    w, d = window
    path = env["tmp"] / "s.collapse"
    ids = _project(path)
    _damage(path, "UPDATE runs SET spec = json_set(spec, '$.samples', 4e9) WHERE id = ?", ids[0])
    _damage(path, "UPDATE runs SET spec = json_set(spec, '$.scenario_params.sigma0', -5) WHERE id = ?", ids[1])
    assert w.open_project(path)
    assert [r.id for r in w.runs_panel.runs()] == [ids[2]]
    assert [t for t, _ in d.errors] == ["Some runs cannot be read"]
    assert "2 runs are damaged" in d.errors[0][1]


def test_a_metrics_object_with_a_million_keys_does_not_hang_the_window(qtbot, window, env) -> None:  # noqa: ANN001, F811
    w, d = window
    path = env["tmp"] / "m.collapse"
    (rid,) = _project(path, runs=1)
    _damage(path, "UPDATE generations SET metrics = '{' || substr(replace(hex(zeroblob(1000000)), '00', "
            "'\"k\": 1, '), 1, 9999990) || '\"z\": 1}' WHERE id = ?", row_key(rid, 2))
    t0 = time.perf_counter()
    assert w.open_project(path)
    w.runs_panel.select_runs([rid], rid)
    timeline = w.generation_panel.timeline
    for i in range(timeline.metric_combo.count()):
        timeline.metric_combo.setCurrentIndex(i)
    w.generation_panel.set_generation(2)
    assert time.perf_counter() - t0 < 10
    assert "cannot be read in places" in timeline.help_label.full_text()
    assert "k" not in [timeline.metric_combo.itemText(i) for i in range(timeline.metric_combo.count())]


def test_the_window_does_not_compute_a_run_the_command_line_claimed_meanwhile(qtbot, window, env  # noqa: ANN001, F811
                                                                              ) -> None:
    import subprocess

    from core.store import _started

    w, d = window
    path = env["tmp"] / "c.collapse"
    (rid,) = _project(path, runs=1)
    _damage(path, "UPDATE runs SET generations = 9, spec = json_set(spec, '$.generations', 9), status = "
            "'interrupted' WHERE id = ?", rid)
    assert w.open_project(path)  # the window lists the run as interrupted (resumable)
    stored = _generations(path)
    sleeper = subprocess.Popen(["sleep", "60"])  # stands for a `run --resume` that claimed the run since
    try:
        _damage(path, "UPDATE runs SET status = 'running', writer = ? WHERE id = ?",
                f"{socket.gethostname()}:{sleeper.pid}:{_started(sleeper.pid)}", rid)
        w.run_control.resume_runs([rid])
        qtbot.waitUntil(lambda: not w.is_running(), timeout=30_000)
        assert any(f"is being computed by process {sleeper.pid}" in text for _, text in d.errors), d.errors
        assert _generations(path) == stored  # nothing computed twice
    finally:
        sleeper.kill()
        sleeper.wait()
