"""The background WAL checkpointer: it copies committed pages into the project file while a run writes, stops
with the project, never creates a file, and leaves results exactly as SQLite's own checkpoints do."""

import threading
import time
from pathlib import Path

from core.checkpointer import BACKSTOP_PAGES, INTERVAL_S, BackgroundCheckpointer
from core.engine import RunSpec
from core.runner import create_runs, drive
from core.store import Project

SAMPLES, GENERATIONS = 50_000, 30
SAMPLE_BYTES = SAMPLES * 4 * (GENERATIONS + 1)  # 6.2 MB: below the writer's own 16 MB backstop


def _checkpoint_threads(path: Path) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"checkpoint {path.name}"]


def _main_file_size_after_run(path: Path, background: bool, wait_s: float) -> tuple[int, int]:
    """(threads seen, size of the main file) after a run, with the project still open and idle for up to
    wait_s seconds. In WAL mode pages reach the main file only through a checkpoint."""
    with Project(path, create=True) as p:
        p.background_checkpoints = background
        (rid,) = create_runs(p, RunSpec.build("gaussian", "replace", {}, GENERATIONS, SAMPLES, 1))
        for _ in drive(p, rid, group_seconds=0):  # a commit per generation, as the control's premise needs
            pass
        threads = len(_checkpoint_threads(path))
        deadline = time.monotonic() + wait_s
        while path.stat().st_size < SAMPLE_BYTES and time.monotonic() < deadline:
            time.sleep(0.05)
        return threads, path.stat().st_size


def test_pages_reach_the_file_while_the_writer_is_idle(tmp_path: Path) -> None:
    path = tmp_path / "bg.collapse"
    threads, size = _main_file_size_after_run(path, True, wait_s=5 + 20 * INTERVAL_S)
    assert threads == 1
    assert size >= SAMPLE_BYTES  # only the background thread can have copied them there
    assert _checkpoint_threads(path) == []  # closing the project stopped it
    assert not Path(str(tmp_path / "bg.collapse") + "-wal").exists()  # and the WAL was folded into the file


def test_without_it_the_pages_stay_in_the_wal(tmp_path: Path) -> None:
    """The control for the test above: with SQLite's own checkpoints (every 1,000 pages, inside a commit)
    the last generations stay in the WAL while the writer is idle."""
    threads, size = _main_file_size_after_run(tmp_path / "own.collapse", False, wait_s=1 + 4 * INTERVAL_S)
    assert threads == 0
    assert size < SAMPLE_BYTES


def test_never_creates_a_file(tmp_path: Path) -> None:
    missing = tmp_path / "gone.collapse"
    ck = BackgroundCheckpointer(missing, interval=0.01)
    time.sleep(0.1)
    ck.stop()
    assert not missing.exists()
    assert _checkpoint_threads(missing) == []


def test_same_results_with_either_checkpointing(tmp_path: Path) -> None:
    def stored(background: bool, name: str) -> list[tuple[bytes, str]]:
        with Project(tmp_path / name, create=True) as p:
            p.background_checkpoints = background
            (rid,) = create_runs(p, RunSpec.build("gmm", "mix", {"alpha": 0.2}, 15, 2_000, 7))
            for _ in drive(p, rid):
                pass
            return p.db.execute("SELECT s.data, g.metrics FROM samples s JOIN generations g USING (run_id, "
                                "generation) WHERE run_id = ? ORDER BY generation", [rid]).fetchall()

    a, b = stored(True, "a.collapse"), stored(False, "b.collapse")
    assert len(a) == 16
    assert a == b


def test_every_writable_connection_keeps_the_backstop(tmp_path: Path) -> None:
    """The GUI's own connection must not copy a running project's WAL inside its small commits (rename,
    delete) either: it too checkpoints only past the backstop."""
    path = tmp_path / "p.collapse"
    with Project(path, create=True) as writer:
        writer.enable_wal()
        with Project(path) as gui:
            assert gui.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == BACKSTOP_PAGES
        assert writer.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == BACKSTOP_PAGES
