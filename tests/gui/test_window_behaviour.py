"""The window's rough edges, driven the way a user meets them: generation keys after Start, the question
before quitting while a run computes, the demo kept as it is, the slider's track, deleting, Ctrl+S."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from core.store import Project
from tests.gui.test_main_window import WAIT_MS, env, make_window, new_project, run_from_form  # noqa: F401

LONG = 1_000_000  # generations: a run still computing when the test acts (the most a run may have)


def _digest(path: Path) -> str:
    """Every row of the file (a checkpoint may move pages between the WAL and the file; rows stay)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
    finally:
        conn.close()


def _start_long_run(qtbot, w, samples: int = 50) -> int:  # noqa: ANN001
    w.run_panel.set_values(scenario="gaussian", policy="replace", generations=LONG, samples=samples, seed=1)
    qtbot.mouseClick(w.run_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.is_running() and w.state.queue.last_generation(w.current_run().id) >= 3,
                    timeout=WAIT_MS)
    return w.current_run().id


def test_generation_keys_work_after_start_except_in_a_text_field(qtbot, env) -> None:  # noqa: ANN001, F811
    w, d = make_window(qtbot, env)
    new_project(w, d, env["tmp"] / "keys.collapse")
    run_from_form(qtbot, w, scenario="gaussian", policy="replace", generations=20, samples=50, seed=1)
    pb = w.state.playback
    assert pb.generation == 20
    focus = QApplication.focusWidget()
    assert focus is None or not w.run_panel.isAncestorOf(focus)  # focus left the form
    target = focus or w
    qtbot.keyClick(target, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: pb.generation == 19)
    qtbot.keyClick(target, Qt.Key.Key_Home)
    qtbot.waitUntil(lambda: pb.generation == 0)
    qtbot.keyClick(target, Qt.Key.Key_End)
    qtbot.waitUntil(lambda: pb.generation == 20)
    w.runs_panel.setFocus()  # a list takes arrows for itself, but the generation keys win
    qtbot.keyClick(QApplication.focusWidget() or w.runs_panel, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: pb.generation == 19)
    name = w.run_panel.name_edit  # typing in a text field: Left moves the text cursor, not the generation
    name.setFocus()
    name.setText("abc")
    qtbot.keyClick(name, Qt.Key.Key_Left)
    qtbot.wait(50)
    assert pb.generation == 19 and name.cursorPosition() == 2
    w.close()


def test_quitting_while_a_run_computes_asks_first(qtbot, env) -> None:  # noqa: ANN001, F811
    w, d = make_window(qtbot, env)
    path = env["tmp"] / "quit.collapse"
    new_project(w, d, path)
    rid = _start_long_run(qtbot, w)
    d.confirm_answer = False
    assert not w.close()
    assert w.isVisible() and w.is_running() and "is being computed" in d.confirms[-1]
    d.confirm_answer = True
    assert w.close()
    assert not w.is_running()
    with Project(path, readonly=True) as p:
        run = p.run(rid)
        assert not run.complete and run.last_generation >= 3 and run.status == "interrupted"


def test_the_demo_stays_as_it_is_and_a_users_run_goes_into_a_project_of_their_own(qtbot, env) -> None:  # noqa: ANN001, F811, E501
    w, d = make_window(qtbot, env)
    assert w.open_demo()
    qtbot.waitUntil(lambda: not w.is_running() and not w.state.queue.queue, timeout=WAIT_MS)
    demo = env["data"] / "demo.collapse"
    w.state.playback.pause()
    before = _digest(demo)
    n_runs = len(w.state.runs)
    w.run_panel.set_values(scenario="gaussian", policy="replace", generations=5, samples=50, seed=9)
    d.choices = [None]  # cancelled: nothing is created anywhere
    qtbot.mouseClick(w.run_panel.start_button, Qt.MouseButton.LeftButton)
    assert "read-only example" in d.chosen_from[-1] and not w.is_running() and len(w.state.runs) == n_runs
    mine = env["tmp"] / "mine.collapse"
    d.choices, d.paths = [1], [str(mine)]  # a new empty project of my own
    qtbot.mouseClick(w.run_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not w.is_running(), timeout=WAIT_MS)
    assert w.state.path == mine and not w.state.is_demo and len(w.state.runs) == 1
    assert w.current_run().status == "finished"
    w.close()
    assert _digest(demo) == before


def test_clicking_the_slider_track_while_following_goes_there_and_stops_following(qtbot, env) -> None:  # noqa: ANN001, F811, E501
    w, d = make_window(qtbot, env)
    new_project(w, d, env["tmp"] / "slider.collapse")
    _start_long_run(qtbot, w, samples=5000)  # slower generations: the test acts long before the run is huge
    pb = w.state.playback
    qtbot.waitUntil(lambda: pb.maximum >= 40, timeout=WAIT_MS)
    assert pb.follow
    slider = w.scrubber.slider
    qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(slider.width() // 4, slider.height() // 2))
    assert not pb.follow
    clicked = pb.generation
    assert 0 < clicked < pb.maximum * 0.6
    qtbot.wait(300)  # more generations arrive; the view stays where it was put
    assert pb.generation == clicked and pb.maximum > clicked
    w.run_control.stop_run()
    qtbot.waitUntil(lambda: not w.is_running(), timeout=WAIT_MS)
    w.close()


def test_deleting_a_run_selects_a_neighbour_and_ctrl_s_explains(qtbot, env) -> None:  # noqa: ANN001, F811
    w, d = make_window(qtbot, env)
    new_project(w, d, env["tmp"] / "del.collapse")
    ids = [run_from_form(qtbot, w, scenario="gaussian", policy="replace", generations=5, samples=50, seed=s)
           for s in (1, 2, 3)]
    w.runs_panel.select_runs([ids[1]], ids[1])
    assert w.current_run().id == ids[1]
    d.confirm_answer = True
    w.runs_panel.delete_action.trigger()
    assert w.current_run() is not None and w.current_run().id in (ids[0], ids[2])
    assert [r.id for r in w.selected_runs()] == [w.current_run().id]
    w.projects.save_action.trigger()
    assert "already saved" in w.statusBar().currentMessage()
    w.close()


def test_reset_demo_builds_the_demo_again(qtbot, env) -> None:  # noqa: ANN001, F811
    w, d = make_window(qtbot, env)
    assert w.open_demo()  # still computing its runs: the reset asks about that too
    demo = env["data"] / "demo.collapse"
    w.state.rename_run(w.state.runs[0].id, "edited by hand")  # a change of the user's own that a reset undoes
    d.confirm_answer = False
    assert not w.projects.reset_demo() and w.state.is_demo  # asked first; "no" leaves the file as it is
    with Project(demo, readonly=True) as p:
        assert "edited by hand" in [r.name for r in p.runs()]
    d.confirm_answer = True
    w.projects.reset_demo_action.trigger()
    assert w.state.is_demo and w.state.path == demo
    qtbot.waitUntil(lambda: not w.is_running() and not w.state.queue.queue, timeout=WAIT_MS)
    names = [r.name for r in w.state.runs]
    assert "edited by hand" not in names and all(r.complete for r in w.state.runs) and len(names) >= 2
    w.close()
