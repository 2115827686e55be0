"""The window's state model alone, without a window: playback, the project, runs and selection, the queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.engine import RunSpec
from core.runner import create_runs, drive
from core.store import Project, ProjectError
from gui.state.playback import Playback
from gui.state.window_state import WindowState

WAIT_MS = 30_000


def small_project(path: Path, runs: int = 2, generations: int = 6, replicates: int = 1, samples: int = 40) -> list[int]:
    """A project with computed gaussian runs; returns their ids."""
    ids = []
    with Project(path, create=True) as p:
        for seed in range(runs):
            spec = RunSpec.build("gaussian", "replace", {}, generations, samples, seed + 1)
            for rid in create_runs(p, spec, replicates, f"run {seed}"):
                for _ in drive(p, rid):
                    pass
                ids.append(rid)
    return ids


# ---- playback ---------------------------------------------------------------------------------------------------
def test_playback_clamps_follows_and_coalesces(qtbot) -> None:  # noqa: ANN001
    pb = Playback()
    seen: list[int] = []
    pb.generation_changed.connect(seen.append)
    pb.set_range(10, 20)
    assert pb.maximum == 10 and pb.target == 20 and pb.follow
    for g in (3, 4, 5, 99):  # one event-loop turn: only the last position is emitted
        pb.go_to(g, by_user=False)
    assert pb.generation == 10
    qtbot.waitUntil(lambda: seen == [10])
    pb.set_latest(12, 20)  # following: goes to the new generation
    assert pb.generation == 12
    pb.go_to(4)  # a user going back stops following
    assert not pb.follow and pb.generation == 4
    pb.set_latest(13, 20)
    assert pb.generation == 4  # not taken away
    pb.set_follow(True)
    assert pb.generation == 13


def test_playback_plays_to_the_end_and_loops(qtbot) -> None:  # noqa: ANN001
    pb = Playback()
    pb.set_range(5, 5)
    pb.set_fps(120)
    states: list[bool] = []
    pb.playing_changed.connect(states.append)
    pb.play()
    assert pb.playing and not pb.follow and pb.generation == 0  # from 0 when at the end
    qtbot.waitUntil(lambda: not pb.playing, timeout=3000)
    assert pb.generation == 5 and states == [True, False]
    pb.set_loop(True)
    pb.play()
    qtbot.wait(150)  # 120 fps: more than one pass over six generations
    assert pb.playing
    pb.pause()
    assert not pb.playing


def test_playback_refuses_to_play_with_nothing_to_show() -> None:
    pb = Playback()
    pb.set_range(-1, 0)
    pb.play()
    assert not pb.playing and pb.generation == 0 and pb.available == -1


# ---- project, runs and selection ---------------------------------------------------------------------------------
def test_open_select_and_switch(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "a.collapse"
    ids = small_project(path)
    state = WindowState()
    events: list[str] = []
    for name in ("project_changed", "runs_changed", "selection_changed"):
        getattr(state, name).connect(lambda *_, name=name: events.append(name))
    assert state.open(path) == []
    assert [r.id for r in state.runs] == ids and state.writable and not state.is_demo
    assert events[:2] == ["project_changed", "runs_changed"]
    current, selected = state.initial_selection()
    assert current == ids[-1] and selected == ids  # a small project compares all its runs
    state.select(ids[0], [ids[1]])
    assert state.current.id == ids[0] and [r.id for r in state.selected] == [ids[0], ids[1]]
    assert state.playback.maximum == 6 and state.playback.generation == 6  # following: the last generation
    state.select(None, [])
    assert state.current is None and state.playback.available == -1
    other = tmp_path / "b.collapse"
    small_project(other, runs=1)
    state.open(other)
    assert state.path == other and len(state.runs) == 1 and state.current is None
    state.close_project()
    assert state.project is None and state.runs == [] and state.cache is None


def test_a_file_that_is_not_a_project_leaves_the_open_one(tmp_path: Path) -> None:
    path = tmp_path / "a.collapse"
    small_project(path, runs=1)
    junk = tmp_path / "junk.collapse"
    junk.write_bytes(b"not a database" * 100)
    state = WindowState()
    state.open(path)
    with pytest.raises(ProjectError):
        state.open(junk)
    assert state.path == path and len(state.runs) == 1


def test_rename_delete_and_free_space(tmp_path: Path) -> None:
    path = tmp_path / "a.collapse"
    ids = small_project(path, runs=3, generations=30, samples=2000)
    state = WindowState()
    state.open(path)
    state.rename_run(ids[0], "renamed")
    assert state.run(ids[0]).name == "renamed"
    with pytest.raises(ProjectError):
        state.rename_run(ids[1], "renamed")
    state.select(ids[1], [ids[1], ids[2]])
    state.delete_runs([ids[1]])
    assert [r.id for r in state.runs] == [ids[0], ids[2]]
    assert [r.id for r in state.selected] == [ids[2]]
    size, free = state.file_size()
    assert size > 0 and free > 0  # the deleted run's pages are free for reuse


def test_the_queue_computes_runs_and_the_selection_follows(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "q.collapse"
    with Project(path, create=True):
        pass
    state = WindowState()
    state.open(path)
    ended = []
    state.queue.ended.connect(ended.append)
    ids = state.create_runs(RunSpec.build("gaussian", "replace", {}, 25, 40, 3), replicates=2)
    state.select(ids[0], ids)
    state.queue.start(ids)
    assert state.queue.running and state.queue.busy() == set(ids)
    with pytest.raises(ProjectError):
        state.delete_runs([ids[1]])  # queued: refused
    qtbot.waitUntil(lambda: len(ended) == 2 and not state.queue.running, timeout=WAIT_MS)
    assert [e.run_id for e in ended] == ids and all(e.mode == "" for e in ended)
    assert all(state.run(i).complete for i in ids)
    assert state.current.last_generation == 25 and state.playback.maximum == 25


def test_pause_keeps_the_run_to_resume_and_halt_returns_it(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "p.collapse"
    with Project(path, create=True):
        pass
    state = WindowState()
    state.open(path)
    ids = state.create_runs(RunSpec.build("gaussian", "replace", {}, 100_000, 40, 3))
    state.queue.start(ids)
    qtbot.waitUntil(lambda: state.queue.last_generation(ids[0]) >= 2, timeout=WAIT_MS)
    assert state.queue.pause()
    qtbot.waitUntil(lambda: not state.queue.running, timeout=WAIT_MS)
    assert state.queue.paused == ids and not state.run(ids[0]).complete
    assert state.queue.resume_paused() and state.queue.running
    assert state.queue.halt() == ids
    assert not state.queue.running and state.queue.paused == [] and state.run(ids[0]).last_generation >= 2
