"""Crafted project files, made by the tests from a real project: whatever a file holds, Collapse Lab runs none of
its SQL, answers with one clear message or a damaged-run listing, leaves the rest of the file as it was, and
stays within bounded time and memory, through `info`, `export`, `run --resume` and `run -o`."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from core.engine import RunSpec
from core.runner import create_runs, drive
from core.store import Project, ProjectError, RunHeldError, UnsafeProjectError, _started, row_key

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("a", "b", "c")
TIME_LIMIT = 20.0  # seconds for any one command on a crafted file (a normal one takes well under one)
MEMORY_LIMIT = 300 << 20  # bytes Python may allocate at peak for one command


def _build(path: Path) -> None:
    with Project(path, create=True) as p:
        specs = {"a": RunSpec.build("gaussian", "replace", {}, 6, 200, 1),
                 "b": RunSpec.build("gaussian", "mix", {"alpha": 0.5}, 6, 200, 2),
                 "c": RunSpec.build("categorical", "replace", {}, 6, 300, 3)}
        for name, spec in specs.items():
            (rid,) = create_runs(p, spec, name=name)
            for _ in drive(p, rid, group_seconds=0):
                pass


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("base") / "base.collapse"
    _build(path)
    return path


@pytest.fixture
def project(base: Path, tmp_path: Path) -> Path:
    target = tmp_path / "p.collapse"
    shutil.copyfile(base, target)
    return target


def craft(path: Path, *statements: str, params: tuple = ()) -> None:
    """Change the file behind Collapse Lab's back, as a hostile sender would (plain sqlite3, no checks)."""
    con = sqlite3.connect(path)
    for sql in statements:
        con.execute(sql, params if "?" in sql else ())
    con.commit()
    con.close()


def run_id(path: Path, name: str) -> int:
    con = sqlite3.connect(path)
    (rid,) = con.execute("SELECT id FROM runs WHERE name = ?", [name]).fetchone()
    con.close()
    return int(rid)


def snapshot(path: Path, names: tuple[str, ...]) -> dict[str, str]:
    """A digest of every stored row of these runs (their runs row without the status columns, generations,
    samples)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    out = {}
    for name in names:
        row = con.execute("SELECT id, name, spec, sample_dtype, sample_shape, reference FROM runs WHERE name = ?",
                          [name]).fetchone()
        h = hashlib.sha256(repr(row).encode())
        lo, hi = row[0] << 32, (row[0] << 32) + (1 << 32) - 1
        for table in ("generations", "samples"):
            cols = "id, model, histogram, curve, metrics" if table == "generations" else "id, data"
            for r in con.execute(f"SELECT {cols} FROM {table} WHERE id BETWEEN ? AND ? ORDER BY id", [lo, hi]):
                h.update(repr(r).encode())
        out[name] = h.hexdigest()
    con.close()
    return out


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """main() in-process, bounded in time and memory; never a traceback or an 'unexpected' error."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        code = main(args)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    took = time.perf_counter() - t0
    out, err = capsys.readouterr()
    assert "unexpected" not in err and "Traceback" not in err, err
    assert took < TIME_LIMIT, (args, took)
    assert peak < MEMORY_LIMIT, (args, peak)
    assert code in (0, 1, 2), code
    return code, out, err


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


def every_command(path: Path, tmp: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, tuple[int, str, str]]:
    """info, the three exports, run --resume and run -o on the file; their (exit code, stdout, stderr)."""
    return {
        "info": cli(["info", str(path)], capsys),
        "metrics": cli(["export", str(path), "--metrics-csv", str(tmp / "m.csv")], capsys),
        "samples": cli(["export", str(path), "--samples-csv", str(tmp / "s.csv")], capsys),
        "histograms": cli(["export", str(path), "--histograms-csv", str(tmp / "h.csv")], capsys),
        "resume": cli(["run", "--resume", str(path), "-q", "--workers", "1"], capsys),
        "add": cli(["run", "-o", str(path), "--generations", "2", "--samples", "50", "-q", "--workers", "1",
                    "--name", "added"], capsys),
    }


# ---- 1. SQL stored in a file never runs -----------------------------------------------------------------------
SQL_OBJECTS = {
    "trigger on update of runs": "CREATE TRIGGER wipe AFTER UPDATE ON runs BEGIN DELETE FROM runs WHERE id != "
                                 "NEW.id; DELETE FROM generations; END",
    "trigger on insert of generations": "CREATE TRIGGER rename AFTER INSERT ON generations BEGIN UPDATE runs SET "
                                        "name = name || ' (gone)'; DELETE FROM samples WHERE run_id != "
                                        "NEW.run_id; END",
    "trigger on insert of runs": "CREATE TRIGGER spy BEFORE INSERT ON runs BEGIN DELETE FROM samples; END",
    "trigger that hangs": "CREATE TRIGGER hang AFTER UPDATE ON runs BEGIN SELECT count(*) FROM (WITH RECURSIVE "
                          "c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c); END",
    "view": "CREATE VIEW runs_view AS SELECT * FROM runs",
    "metrics view redefined": None,  # see below
    "expression index": "CREATE INDEX fat ON runs (length(zeroblob(100000000)))",
    "partial index": "CREATE INDEX part ON generations (n_samples) WHERE n_samples > 0",
    "table with a foreign key": "CREATE TABLE notes (run_id INTEGER REFERENCES runs (id) ON DELETE RESTRICT)",
    "virtual table": "CREATE VIRTUAL TABLE search USING fts5(body)",  # and its shadow tables
}


def _craft_object(path: Path, kind: str) -> None:
    if kind == "metrics view redefined":
        craft(path, "DROP VIEW metrics", "CREATE VIEW metrics AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT "
                                         "x + 1 FROM c) SELECT x AS run_id, x AS generation, 'w1' AS metric, x AS "
                                         "value FROM c")
    else:
        craft(path, SQL_OBJECTS[kind])
    if kind == "table with a foreign key":
        craft(path, "INSERT INTO notes VALUES (1)")


@pytest.mark.parametrize("kind", list(SQL_OBJECTS))
def test_sql_in_a_file_never_runs_and_every_command_says_so(project: Path, tmp_path: Path, kind: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    _craft_object(project, kind)
    # a run the process writing it left 'running': opening it writable would mark it interrupted (an UPDATE)
    craft(project, "DROP TRIGGER IF EXISTS wipe", "DROP TRIGGER IF EXISTS hang", "UPDATE runs SET status = "
          "'running', writer = 'nohost:1' WHERE name = 'a'") if kind in ("trigger on update of runs",
                                                                        "trigger that hangs") else None
    if kind in ("trigger on update of runs", "trigger that hangs"):
        craft(project, SQL_OBJECTS[kind])
    before = project.read_bytes()
    results = every_command(project, tmp_path, capsys)
    assert project.read_bytes() == before  # nothing ran, nothing was written
    # looking works, with a note naming what was found
    code, out, err = results["info"]
    assert code == 0 and all(f"- {n}:" in out for n in NAMES), out
    assert "holds SQL that Collapse Lab did not write" in err and "main.py repair" in err
    assert results["metrics"][0] == 0 and (tmp_path / "m.csv").stat().st_size > 0
    # changing refuses, with one clear message
    for what in ("resume", "add"):
        code, _, err = results[what]
        assert code == 1 and len(error_lines(err)) == 1 and "holds SQL that Collapse Lab did not write" in err, err
    # the window's way in: the same refusal as an exception the window turns into a question
    with pytest.raises(UnsafeProjectError) as info:
        Project(project)
    assert info.value.report.foreign


@pytest.mark.parametrize("kind", list(SQL_OBJECTS))
def test_repair_removes_what_the_format_does_not_define_and_keeps_every_run(project: Path, tmp_path: Path,
                                                                            kind: str,
                                                                            capsys: pytest.CaptureFixture[str]
                                                                            ) -> None:
    kept = snapshot(project, NAMES)
    _craft_object(project, kind)
    code, out, _ = cli(["repair", str(project)], capsys)
    assert code == 0 and out.startswith("removed ")
    assert snapshot(project, NAMES) == kept
    code, _, err = cli(["run", "-o", str(project), "--generations", "2", "--samples", "50", "-q", "--workers", "1",
                        "--name", "added"], capsys)
    assert code == 0, err
    assert snapshot(project, NAMES) == kept
    con = sqlite3.connect(project)
    assert con.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] > 0  # the format's view, made again
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    assert cli(["repair", str(project)], capsys)[1].endswith("nothing to remove\n")


def test_a_table_of_the_format_defined_otherwise_is_refused_everywhere(project: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # the runs table rebuilt with a generated column that allocates 100 MB whenever a row is read
    con = sqlite3.connect(project)
    ddl = con.execute("SELECT sql FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
    con.executescript(f"""ALTER TABLE runs RENAME TO runs_old;
        {ddl[:-1].rstrip().rstrip(')')}, fat BLOB AS (zeroblob(100000000)) VIRTUAL);
        INSERT INTO runs SELECT * FROM runs_old; DROP TABLE runs_old;""")
    con.close()
    before = project.read_bytes()
    results = every_command(project, tmp_path, capsys)
    for what, (code, _, err) in results.items():
        assert code == 1 and "is not defined as Collapse Lab defines it" in err, (what, err)
    assert project.read_bytes() == before
    assert cli(["repair", str(project)], capsys)[0] == 1


def test_trusted_schema_is_off_on_every_connection(project: Path) -> None:
    with Project(project) as p:
        assert p.db.execute("PRAGMA trusted_schema").fetchone()[0] == 0
    with Project(project, readonly=True) as p:
        assert p.db.execute("PRAGMA trusted_schema").fetchone()[0] == 0


# ---- 2. reading what the file says without believing it -------------------------------------------------------
BAD_SPECS = {
    "samples 4e9": ("json_set(spec, '$.samples', 4e9)", "samples must be a whole number"),
    "samples above the limit": ("json_set(spec, '$.samples', 4000000000)", "samples must be in"),
    "a list where a number belongs": ("json_set(spec, '$.scenario_params.mu0', json('[1, 2]'))",
                                      "mu0 must be a number"),
    "text where a number belongs": ("json_set(spec, '$.scenario_params.sigma0', 'wide')", "sigma0 must be a number"),
    "unknown scenario": ("json_set(spec, '$.scenario', 'nope')", "unknown scenario 'nope'"),
    "temperature 0": ("json_set(spec, '$.scenario_params.temperature', 0)", "temperature must be in"),
    "negative sigma0": ("json_set(spec, '$.scenario_params.sigma0', -5)", "sigma0 must be in"),
    "missing field": ("json_remove(spec, '$.seed')", "lack field 'seed'"),
    "not an object": ("'[1, 2, 3]'", "not a JSON object"),
    "nested 100,000 deep": ("'{\"a\": ' || replace(hex(zeroblob(100000)), '00', '[') || '}'", "nested too deep"),
    "megabytes long": ("'{\"x\": \"' || hex(zeroblob(3000000)) || '\"}'", "more than Collapse Lab writes"),
    "NaN tokens": ("replace(spec, '\"seed\": 1', '\"seed\": NaN')", "seed must be a whole number"),
    "not JSON": ("'{not json'", "not valid JSON"),
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_a_run_with_a_damaged_spec_is_listed_damaged_and_never_resumed(project: Path, tmp_path: Path, case: str,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    expr, reason = BAD_SPECS[case]
    kept = snapshot(project, ("b", "c"))
    craft(project, f"UPDATE runs SET spec = {expr}, status = 'interrupted' WHERE name = 'a'")
    with Project(project, readonly=True) as p:
        runs, damaged = p.read_runs()
    assert [r.name for r in runs] == ["b", "c"]
    assert len(damaged) == 1 and "run 'a'" in damaged[0] and reason in damaged[0], damaged
    results = every_command(project, tmp_path, capsys)
    code, out, _ = results["info"]
    assert code == 0 and "1 damaged" in out and reason in out
    assert results["metrics"][0] == 0 and "left out a damaged run" in results["metrics"][2]
    assert results["resume"][0] == 0 and results["add"][0] == 0
    assert snapshot(project, ("b", "c")) == kept
    con = sqlite3.connect(project)
    lo = run_id(project, "a") << 32
    assert con.execute("SELECT MAX(id) FROM generations WHERE id BETWEEN ? AND ?", [lo, lo + 2**32 - 1]
                       ).fetchone()[0] == lo + 6  # not resumed: nothing added to the damaged run
    con.close()


RUN_COLUMNS = {
    "unknown status": ("status", "'exploded'", "status 'exploded' is not one of"),
    "foreign sample dtype": ("sample_dtype", "'<c16'", "samples are said to be '<c16'"),
    "object dtype": ("sample_dtype", "'|O'", "samples are said to be '|O'"),
    "sample shape of another scenario": ("sample_shape", "'[64]'", "sample shape is not"),
    "scenario column disagrees": ("scenario", "'digits'", "scenario column"),
    "budget as text": ("samples_budget", "'lots'", "stored-samples budget must be a whole number"),
    "reference not an object": ("reference", "'[1]'", "reference is not a JSON object"),
    "name as a blob": ("name", "x'ff00ff'", "name must be text"),
}


@pytest.mark.parametrize("case", list(RUN_COLUMNS))
def test_a_damaged_run_column_is_listed_damaged_and_hides_nothing(project: Path, capsys: pytest.CaptureFixture[str],
                                                                 case: str) -> None:
    column, value, reason = RUN_COLUMNS[case]
    craft(project, f"UPDATE runs SET {column} = {value} WHERE id = ?", params=(run_id(project, "b"),))
    with Project(project, readonly=True) as p:
        runs, damaged = p.read_runs()
    assert [r.name for r in runs] == ["a", "c"]
    assert len(damaged) == 1 and reason in damaged[0], damaged
    assert cli(["info", str(project)], capsys)[0] == 0


METRICS = {
    "nested deep": "'{\"w1\": ' || replace(hex(zeroblob(100000)), '00', '[') || '}'",
    "NaN tokens": "'{\"w1\": NaN, \"entropy\": 1.5}'",
    "a million keys": "'{' || substr(replace(hex(zeroblob(1000000)), '00', '\"k\": 1, '), 1, 9999990) || '\"z\": 1}'",
    "not JSON": "'{\"w1\": '",
    "a blob": "x'ffff'",
}


@pytest.mark.parametrize("case", list(METRICS))
def test_a_damaged_metrics_row_hides_no_other_generation(project: Path, tmp_path: Path, case: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    rid = run_id(project, "a")
    craft(project, f"UPDATE generations SET metrics = {METRICS[case]} WHERE id = ?", params=(row_key(rid, 3),))
    code, _, err = cli(["export", str(project), "--metrics-csv", str(tmp_path / "m.csv")], capsys)
    assert code == 0, err
    rows = (tmp_path / "m.csv").read_text().splitlines()
    gens_a = {int(r.split(",")[2]) for r in rows[1:] if r.startswith("a,")}
    if case == "NaN tokens":  # read as NaN: nothing is lost
        assert gens_a == set(range(7))
        assert "a,0,3,w1,nan" in rows or "a,0,3,w1," in rows
    else:
        assert gens_a == set(range(7)) - {3}
        assert "generation 3" in err
    assert {r.split(",")[0] for r in rows[1:]} == set(NAMES)
    from core.queries import metric_series_after, unreadable_metrics_after

    with Project(project, readonly=True) as p:
        t0 = time.perf_counter()
        gens, _ = metric_series_after(p, rid, "w1")
        assert time.perf_counter() - t0 < 2.0
        bad = unreadable_metrics_after(p, rid)
        assert list(gens) == [g for g in range(7) if g not in bad]
        assert bad == [3]  # the timeline's reader (SQLite's JSON) takes JSON exactly as Collapse Lab writes it


SAMPLE_DAMAGE = {
    "shorter than n_stored says": ("data", "substr(data, 1, 100)", "bytes where 200 samples take 800"),
    "empty": ("data", "x''", "0 bytes where 200 samples take 800"),
    "text instead of a blob": ("data", "'abc'", "not a BLOB"),
    "non-finite values": ("data", "CAST(x'0000c07f' || substr(data, 5) AS BLOB)", "not finite"),
}


@pytest.mark.parametrize("case", list(SAMPLE_DAMAGE))
def test_damaged_samples_at_the_resume_point_are_never_continued_from(project: Path, tmp_path: Path, case: str,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    column, expr, reason = SAMPLE_DAMAGE[case]
    a, b = run_id(project, "a"), run_id(project, "b")
    # both runs target more generations and were interrupted; a's last stored generation is damaged
    for name in ("a", "b"):
        craft(project, "UPDATE runs SET spec = json_set(spec, '$.generations', 9), generations = 9, status = "
              "'interrupted' WHERE name = ?", params=(name,))
    craft(project, f"UPDATE samples SET {column} = {expr} WHERE id = ?", params=(row_key(a, 6),))
    with Project(project, readonly=True) as p:
        info = p.run(a)
        with pytest.raises(ProjectError, match=reason):
            p.samples(info, 6)
        assert len(p.samples(info, 5)) == 200  # the others read
    code, _, err = cli(["run", "--resume", str(project), "-q", "--workers", "1"], capsys)
    assert code == 1 and "run 'a'" in err and "cannot be resumed" in err or reason in err, err
    with Project(project, readonly=True) as p:
        assert p.run(a).last_generation == 6  # nothing computed from the damaged state
        assert p.run(a).status == "interrupted" and reason in (p.run(a).message or "")
        assert p.run(b).last_generation == 9 and p.run(b).status == "finished"  # the other run went on


def test_a_csv_path_in_a_stored_spec_that_is_a_device_or_a_pipe_is_refused_quickly(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x\n" + "\n".join(str(v) for v in np.random.default_rng(0).normal(size=300)) + "\n")
    assert main(["run", "-o", str(project), "--scenario", "csv", "--set", f"path={data}", "--generations", "3",
                 "--samples", "100", "-q", "--workers", "1", "--name", "csv"]) == 0  # (not traced: setting up)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for target in ("/dev/zero", "/dev/urandom", str(fifo)):
        craft(project, "UPDATE runs SET spec = json_set(spec, '$.scenario_params.path', ?, '$.generations', 6), "
              "generations = 6, status = 'interrupted' WHERE name = 'csv'", params=(target,))
        code, _, err = cli(["run", "--resume", str(project), "-q", "--workers", "1"], capsys)
        assert code == 1 and "not a regular file" in err, err
        assert len(error_lines(err)) == 1


@pytest.mark.parametrize("name", ["a#b.collapse", "what?.collapse", "100%.collapse", "a%23b.collapse",
                                  "spaced name.collapse"])
def test_odd_characters_in_a_path_open_that_file_and_create_nothing(base: Path, tmp_path: Path, name: str,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / name
    shutil.copyfile(base, target)
    decoy = tmp_path / "a"  # what a URI built by concatenation would open for 'a#b.collapse'
    listing = sorted(os.listdir(tmp_path))
    code, out, _ = cli(["info", str(target)], capsys)
    assert code == 0 and str(target) in out and all(f"- {n}:" in out for n in NAMES)
    code, _, _ = cli(["export", str(target), "--metrics-csv", str(tmp_path / "out.csv")], capsys)
    assert code == 0
    assert sorted(os.listdir(tmp_path)) == sorted([*listing, "out.csv"]) and not decoy.exists()


# ---- 4. every interruption leaves an honest state -------------------------------------------------------------
def _hot_journal(path: Path) -> None:
    """A write to the file in rollback-journal mode, killed after it changed pages of the file itself."""
    script = (f"import sqlite3, os\ncon = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
              "con.execute('PRAGMA journal_mode = DELETE'); con.execute('PRAGMA cache_size = 1')\n"
              "con.execute('BEGIN'); con.execute(\"UPDATE runs SET name = 'half-renamed ' || id\")\n"
              "con.execute('DELETE FROM samples')\nos.kill(os.getpid(), 9)\n")
    subprocess.run([sys.executable, "-c", script], timeout=60)
    assert Path(str(path) + "-journal").stat().st_size > 0


def test_a_hot_journal_is_rolled_back_when_the_file_is_writable(project: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    kept = snapshot(project, NAMES)
    _hot_journal(project)
    code, out, err = cli(["info", str(project)], capsys)  # info opens read-only; the journal is settled first
    assert code == 0 and all(f"- {n}:" in out for n in NAMES), err
    assert not Path(str(project) + "-journal").exists()
    assert snapshot(project, NAMES) == kept


def test_a_hot_journal_beside_a_read_only_file_is_explained(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _hot_journal(project)
    monkeypatch.setattr("core.store.os.access", lambda path, mode: mode != os.W_OK)  # as for a non-root user
    with pytest.raises(ProjectError, match="rollback journal p.collapse-journal lies beside it") as info:
        Project(project, readonly=True)
    assert "copy the file" not in str(info.value).lower().replace("a copy of the file alone would be damaged", "")
    assert Path(str(project) + "-journal").stat().st_size > 0  # the journal is kept


def test_a_crash_while_creating_leaves_nothing_in_the_way(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "new.collapse"
    target.touch()  # what a crash in the first milliseconds of creating left (older versions)
    stale = tmp_path / ".new.collapse.creating-999999999"  # a temporary file of a creation whose process is gone
    stale.write_bytes(b"partial")
    code, _, err = cli(["run", "-o", str(target), "--generations", "2", "--samples", "50", "-q", "--workers", "1"],
                       capsys)
    assert code == 0, err
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.collapse"]
    # a crash while creating now: the file appears only once its schema is written
    script = ("import os, core.store as s\norig = s.Project._init_schema\n"
              "def crash(db):\n    orig(db)\n    os.kill(os.getpid(), 9)\n"
              f"s.Project._init_schema = staticmethod(crash)\ns.Project({str(tmp_path / 'crash.collapse')!r}, "
              "create=True)\n")
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, timeout=60)
    assert not (tmp_path / "crash.collapse").exists()
    code, _, err = cli(["run", "-o", str(tmp_path / "crash.collapse"), "--generations", "2", "--samples", "50", "-q",
                        "--workers", "1"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crash.collapse", "new.collapse"]


def test_two_processes_never_compute_the_same_run(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = run_id(project, "a")
    craft(project, "UPDATE runs SET spec = json_set(spec, '$.generations', 9), generations = 9, status = "
          "'interrupted' WHERE name = 'a'")
    with Project(project) as holder:
        holder.claim([a])  # this process (alive) now computes run a
    tag = sqlite3.connect(project).execute("SELECT writer FROM runs WHERE id = ?", [a]).fetchone()[0]
    assert tag.startswith(f"{socket.gethostname()}:{os.getpid()}:")
    # a claim by another live process wins over this one's, atomically; a reused pid does not
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        other = f"{socket.gethostname()}:{sleeper.pid}:{_started(sleeper.pid)}"
        craft(project, "UPDATE runs SET writer = ? WHERE name = 'a'", params=(other,))
        with Project(project) as p, pytest.raises(RunHeldError, match=f"process {sleeper.pid} on"):
            p.claim([a, run_id(project, "b")])
        assert sqlite3.connect(project).execute("SELECT COUNT(*) FROM runs WHERE status = 'running'").fetchone()[0] == 1
        craft(project, "UPDATE runs SET writer = ? WHERE name = 'a'", params=(other[:-1] + "9",))  # another start
        with Project(project) as p:
            assert p.run(a).status == "interrupted"
    finally:
        sleeper.kill()
        sleeper.wait()
    craft(project, "UPDATE runs SET writer = ?, status = 'running' WHERE name = 'a'", params=(tag,))
    # another process: the command line refuses to compute run a, and says who holds it
    res = subprocess.run([sys.executable, str(ROOT / "main.py"), "run", "--resume", str(project), "-q", "--workers",
                          "1"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 1 and f"run 'a' is being computed by process {os.getpid()}" in res.stderr, res.stderr
    with Project(project, readonly=True) as p:
        assert p.run(a).last_generation == 6


def test_a_full_disk_still_opens_the_project_for_viewing(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    craft(project, "UPDATE runs SET status = 'running', writer = ?, generations = 9, spec = json_set(spec, "
          "'$.generations', 9) WHERE name = 'a'", params=(f"{socket.gethostname()}:999999999",))  # opening it writable needs a write: marking it interrupted

    def full(self: Project) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Project, "_mark_interrupted", full)
    with Project(project) as p:
        assert p.readonly and p.full_disk
        assert [r.name for r in p.runs()] == list(NAMES)
        with pytest.raises(ProjectError, match="the disk is full, so the project is open read-only"):
            p.claim([run_id(project, "a")])
    code, _, err = cli(["run", "--resume", str(project), "-q", "--workers", "1"], capsys)
    assert code == 1 and "disk is full" in err and "resume the run" not in err, err


def test_disk_full_while_creating_says_nothing_was_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(db: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Project, "_init_schema", staticmethod(full))
    with pytest.raises(ProjectError, match="could not be created \\(nothing was written\\)") as info:
        Project(tmp_path / "x.collapse", create=True)
    assert "resume" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_being_computed_elsewhere_is_not_resumed_twice(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sw.collapse"
    assert main(["sweep", "--policy", "mix", "--grid", "alpha=0,0.5", "--generations", "4", "--samples", "50",
                 "-q", "--workers", "1", "-o", str(path)]) == 0
    craft(path, "UPDATE runs SET spec = json_set(spec, '$.generations', 8), generations = 8, status = 'interrupted'")
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        tag = f"{socket.gethostname()}:{sleeper.pid}:{_started(sleeper.pid)}"
        craft(path, "UPDATE runs SET status = 'running', writer = ?", params=(tag,))  # every run held elsewhere
        code, _, err = cli(["sweep", "--resume", str(path), "-q", "--workers", "1"], capsys)
        assert code == 1 and f"is being computed by process {sleeper.pid}" in err, err
        craft(path, "UPDATE runs SET status = 'running', writer = ? WHERE id = (SELECT MIN(id) FROM runs)",
              params=(tag,))
        craft(path, "UPDATE runs SET status = 'interrupted', writer = NULL WHERE id != (SELECT MIN(id) FROM runs)")
        code, _, err = cli(["sweep", "--resume", str(path), "-q", "--workers", "1"], capsys)
        assert code == 0, err  # the free run is computed; the held one is left to its process
        with Project(path, readonly=True) as p:
            runs = p.runs()
        assert [r.last_generation for r in runs] == [4, 8] and runs[0].status == "running"
    finally:
        sleeper.kill()
        sleeper.wait()
