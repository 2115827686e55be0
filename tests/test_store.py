"""The project file: format checks, clear errors, nothing lost on failure, readable with plain sqlite3."""

import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from core.engine import RunSpec
from core.runner import create_runs, drive
from core.store import APPLICATION_ID, FORMAT_VERSION, Project, ProjectError, _is_zombie
from tests.simulate import drive_until


def _project_with_run(path: Path, generations: int = 5) -> int:
    with Project(path, create=True) as p:
        (rid,) = create_runs(p, RunSpec.build("gaussian", "replace", {}, generations, 50, 1), name="r")
        for _ in drive(p, rid):
            pass
        return rid


def test_pragmas_and_plain_sqlite_readability(tmp_path: Path) -> None:
    path = tmp_path / "p.collapse"
    _project_with_run(path)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert con.execute("PRAGMA user_version").fetchone()[0] == FORMAT_VERSION
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # WAL checkpointed away on close
    rows = con.execute("SELECT generation, metric, value FROM metrics WHERE metric = 'fit_var' ORDER BY generation")
    assert [r[0] for r in rows] == list(range(6))
    blob = con.execute("SELECT data FROM samples WHERE generation = 2").fetchone()[0]
    assert len(np.frombuffer(blob, dtype="<f4")) == 50
    name, status = con.execute("SELECT name, status FROM runs").fetchone()
    assert (name, status) == ("r", "finished")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"hello, I am a text file\n" * 10, "not an SQLite database"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "not an SQLite database"),
    ],
)
def test_not_a_project(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.collapse"
    path.write_bytes(content)
    with pytest.raises(ProjectError, match=message) as exc:
        Project(path)
    assert str(path) in str(exc.value)
    assert path.read_bytes() == content  # nothing written to a file we refused


def test_other_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(ProjectError, match="not a Collapse Lab project"):
        Project(path)


def test_newer_version_is_refused_with_versions(tmp_path: Path) -> None:
    path = tmp_path / "new.collapse"
    _project_with_run(path)
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {FORMAT_VERSION + 1}")
    con.commit()
    con.close()
    with pytest.raises(ProjectError, match="newer Collapse Lab"):
        Project(path)


def test_corrupt_file_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.collapse"
    _project_with_run(path, generations=30)
    data = bytearray(path.read_bytes())
    data[8192 * 2: 8192 * 6] = os.urandom(8192 * 4)  # smash b-tree pages, keep the header
    path.write_bytes(bytes(data))
    damaged: list[str] = []
    with pytest.raises(ProjectError, match="damaged|not a Collapse"):
        with Project(path) as p:
            runs, damaged = p.read_runs()
            for r in runs:
                for g in range(r.last_generation + 1):
                    p.samples(r, g)
                    p.generation_row(r.id, g)
            if damaged:  # the run row itself was hit: it is reported, not silently dropped
                raise ProjectError(damaged[0])


def test_read_only_file_can_be_read_not_changed(tmp_path: Path) -> None:
    path = tmp_path / "ro.collapse"
    rid = _project_with_run(path)
    path.chmod(0o444)
    try:
        if os.access(path, os.W_OK):
            pytest.skip("running as a user that can write read-only files")
        with Project(path) as p:
            assert p.readonly
            assert p.runs()[0].last_generation == 5
            with pytest.raises(ProjectError, match="read-only"):
                p.rename_run(rid, "x")
    finally:
        path.chmod(0o644)


def test_explicit_readonly_open_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "p.collapse"
    rid = _project_with_run(path)
    with Project(path, readonly=True) as p:
        with pytest.raises(ProjectError, match="read-only"):
            p.delete_run(rid)
    with Project(path) as p:
        assert len(p.runs()) == 1


def test_create_in_missing_folder_is_clear(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="cannot open or create"):
        Project(tmp_path / "no" / "such" / "dir" / "p.collapse", create=True)


def test_disk_full_keeps_every_committed_generation(tmp_path: Path) -> None:
    path = tmp_path / "full.collapse"
    with Project(path, create=True) as p:
        (rid,) = create_runs(p, RunSpec.build("gaussian", "replace", {}, 200, 2000, 1), name="big")
        it = drive(p, rid, group_seconds=0)
        for rec in it:
            if rec.generation == 3:
                break
        # Simulate a full disk: SQLite refuses to grow the file past its current size.
        pages = p.db.execute("PRAGMA page_count").fetchone()[0]
        p.db.execute(f"PRAGMA max_page_count = {pages + 2}")
        with pytest.raises(ProjectError, match="disk is full"):
            for _ in it:
                pass
    with Project(path) as p:
        info = p.run(rid)
        assert info.status == "interrupted"
        last = info.last_generation
        assert last >= 3
        for g in range(last + 1):
            assert len(p.samples(info, g)) == 2000
        for _ in drive(p, rid):  # space is back: resume finishes the run
            pass
        assert p.run(rid).complete


def test_killed_writer_is_reported_interrupted(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "k.collapse"
    rid = _project_with_run(path)
    con = sqlite3.connect(path)
    # killed before its last generations: interrupted; a pid of this host that is gone
    con.execute("UPDATE runs SET status = 'running', generations = 9, spec = json_set(spec, '$.generations', 9), "
                "writer = ? WHERE id = ?", [f"{socket.gethostname()}:999999999", rid])
    con.commit()
    con.close()
    with Project(path, readonly=True) as p:
        assert p.run(rid).status == "interrupted"
    with Project(path) as p:
        assert p.run(rid).status == "interrupted"
        assert "the process writing it stopped" in p.run(rid).message


def test_a_writer_killed_after_its_last_commit_leaves_a_finished_run(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "k.collapse"
    rid = _project_with_run(path)
    con = sqlite3.connect(path)
    con.execute("UPDATE runs SET status = 'running', writer = ? WHERE id = ?", [f"{socket.gethostname()}:999999999",
                                                                             rid])
    con.commit()
    con.close()
    with Project(path, readonly=True) as p:
        assert p.run(rid).status == "finished"  # every generation is in the file
    with Project(path) as p:
        assert p.run(rid).status == "finished"
    con = sqlite3.connect(path)
    assert con.execute("SELECT status, writer FROM runs WHERE id = ?", [rid]).fetchone() == ("finished", None)
    con.close()


def test_save_as_copies_everything(tmp_path: Path) -> None:
    src = tmp_path / "a.collapse"
    rid = _project_with_run(src)
    with Project(src) as p:
        p.save_as(tmp_path / "b.collapse")
    with Project(tmp_path / "b.collapse") as q, Project(src) as p:
        assert [r.name for r in q.runs()] == [r.name for r in p.runs()]
        info = q.run(rid)
        assert q.samples(info, 5).tobytes() == p.samples(p.run(rid), 5).tobytes()


def test_rename_delete_and_unique_names(tmp_path: Path) -> None:
    path = tmp_path / "p.collapse"
    rid = _project_with_run(path)
    with Project(path) as p:
        spec = RunSpec.build("gaussian", "replace", {}, 2, 10, 1)
        (rid2,) = create_runs(p, spec, name="r")
        assert p.run(rid2).name == "r (2)"
        with pytest.raises(ProjectError, match="already exists"):
            p.rename_run(rid2, "r")
        p.rename_run(rid2, "second")
        p.delete_run(rid)
        assert [r.name for r in p.runs()] == ["second"]
        assert p.db.execute("SELECT COUNT(*) FROM samples WHERE run_id = ?", [rid]).fetchone()[0] == 0


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("UPDATE runs SET spec = '{not json'", "damaged"),
        ("UPDATE runs SET spec = '{}'", "damaged"),
        ("UPDATE runs SET sample_dtype = 'nonsense'", "damaged"),
    ],
)
def test_damaged_rows_give_a_clear_error(tmp_path: Path, sql: str, fragment: str) -> None:
    path = tmp_path / "d.collapse"
    _project_with_run(path)
    con = sqlite3.connect(path)
    con.execute(sql)
    con.commit()
    con.close()
    with Project(path) as p:
        with pytest.raises(ProjectError, match=fragment):
            p.run(1)
        runs, damaged = p.read_runs()
    assert runs == [] and len(damaged) == 1 and fragment in damaged[0] and "'r'" in damaged[0]


@pytest.mark.parametrize("value", ["'{'", "CAST(x'fffe41' AS TEXT)"])
def test_one_damaged_run_does_not_hide_the_others(tmp_path: Path, value: str) -> None:
    path = tmp_path / "d.collapse"
    with Project(path, create=True) as p:
        ids = create_runs(p, RunSpec.build("gaussian", "replace", {}, 2, 20, 1), replicates=3, name="g")
        for rid in ids:
            for _ in drive(p, rid):
                pass
    con = sqlite3.connect(path)
    con.execute(f"UPDATE runs SET reference = {value} WHERE id = ?", [ids[1]])
    con.commit()
    con.close()
    with Project(path) as p:
        runs, damaged = p.read_runs()
        assert [r.id for r in runs] == [ids[0], ids[2]] and [r.id for r in p.runs()] == [ids[0], ids[2]]
    assert len(damaged) == 1 and "damaged" in damaged[0] and str(path) not in damaged[0]
    assert "\ufffd" not in damaged[0] and "fffe" not in damaged[0]  # no raw bytes in the message


def test_non_finite_and_numpy_metric_values_round_trip(tmp_path: Path) -> None:
    from core.engine import GenerationRecord

    with Project(tmp_path / "p.collapse", create=True) as p:
        (rid,) = create_runs(p, RunSpec.build("gaussian", "replace", {}, 3, 4, 1), name="r")
        info = p.run(rid)
        values = {"a": np.float32(0.25), "b": float("nan"), "c": float("inf"), "d": -np.inf, "e": np.int64(3)}
        for g in range(2):
            rec = GenerationRecord(g, np.arange(4, dtype=np.float32), {"mean": 0.0, "std": 1.0},
                                   values if g else {k: 1.0 for k in values}, np.zeros(100, np.int64), None, None)
            p.commit_generation(info, rec)
        got = {k: p.metric_series(rid, k)[1][1] for k in values}
    assert got["a"] == 0.25 and np.isnan(got["b"]) and got["e"] == 3.0
    assert got["c"] == np.inf and got["d"] == -np.inf


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_a_killed_but_unreaped_writer_counts_as_stopped(tmp_path: Path) -> None:
    """A run whose writer was killed shows as interrupted even before the dead process is reaped (a zombie)."""
    import socket
    import subprocess
    import sys
    import time

    path = tmp_path / "z.collapse"
    rid = _project_with_run(path, generations=2)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        while not _is_zombie(child.pid) and time.monotonic() < deadline:  # wait for it to end, without reaping it
            time.sleep(0.01)
        con = sqlite3.connect(path)
        with con:
            con.execute("UPDATE runs SET status = 'running', generations = 9, spec = json_set(spec, "
                        "'$.generations', 9), writer = ? WHERE id = ?", [f"{socket.gethostname()}:{child.pid}", rid])
        con.close()
        with Project(path, readonly=True) as p:
            assert p.run(rid).status == "interrupted"
        con = sqlite3.connect(path)
        with con:  # and a live writer (this process) still counts as running
            con.execute("UPDATE runs SET writer = ? WHERE id = ?", [f"{socket.gethostname()}:{os.getpid()}", rid])
        con.close()
        with Project(path, readonly=True) as p:
            assert p.run(rid).status == "running"
    finally:
        child.wait()


def test_quick_json_of_metrics_and_parameters_is_json_dumps_text() -> None:
    from core.store import _metrics_json, _params_json

    rng = np.random.default_rng(0)
    specials = [0.0, -0.0, 5e-324, 1e-300, 1e16, 1.7976931348623157e308, 0.1, -2.5, 1 / 3]
    for values in [specials, list(rng.standard_normal(20) * 10.0 ** rng.integers(-30, 30, 20))]:
        d = {f"m{i}%s\"\\": v for i, v in enumerate(values)}  # keys that need escaping, and a '%' in each
        assert _metrics_json(d) == json.dumps(d)
        assert _params_json(d) == json.dumps(d)
        assert json.loads(_metrics_json(d)) == d
    # numpy scalars are stored as floats; non-finite metrics and non-float parameters take json.dumps' path
    assert _metrics_json({"a": np.float32(0.5), "b": np.int64(3)}) == '{"a": 0.5, "b": 3.0}'
    assert json.loads(_metrics_json({"a": float("nan"), "b": float("inf")})) == {"a": None, "b": "inf"}
    nested = {"weights": [0.5, 0.5], "k": 2, "family": "gmm"}
    assert _params_json(nested) == json.dumps(nested)
    assert _params_json({}) == "{}" and _metrics_json({}) == "{}"


def test_generation_span_counts_only_new_rows_given_an_earlier_span(tmp_path: Path) -> None:
    from core.queries import GenerationSpan, generation_span

    with Project(tmp_path / "span.collapse", create=True) as p:
        rid_a, = create_runs(p, RunSpec.build("gaussian", "replace", {}, 12, 20, 1), name="a")
        rid_b, = create_runs(p, RunSpec.build("gaussian", "replace", {}, 3, 20, 2), name="b")
        assert generation_span(p, rid_a) == GenerationSpan(0, -1, -1)
        drive_until(p, rid_a, 4)
        list(drive(p, rid_b))  # a neighbouring run's rows must not be counted
        early = generation_span(p, rid_a)
        assert early == GenerationSpan(5, 0, 4) and p.last_generation(rid_a) == 4
        list(drive(p, rid_a))
        full = generation_span(p, rid_a)
        assert full == GenerationSpan(13, 0, 12) == generation_span(p, rid_a, early)
        assert generation_span(p, rid_b, None) == GenerationSpan(4, 0, 3) and p.last_generation(rid_b) == 3
        # an earlier span that does not fit (another first generation) is not trusted: everything is counted
        assert generation_span(p, rid_a, GenerationSpan(99, 1, 4)) == full
