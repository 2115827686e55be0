"""A project written in format 1 (tests/data/format1.collapse, made just before format 2 came in) opens,
is upgraded in place, and reads back exactly what format 1 stored; its runs can go on."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from core.engine import RunSpec
from core.export import write_histograms_csv, write_metrics_csv, write_samples_csv
from core.runner import create_runs, drive
from core.store import (
    FORMAT_VERSION,
    Project,
    ProjectError,
    UnsafeProjectError,
    remove_foreign_objects,
    row_key,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture
def old_file(tmp_path: Path) -> Path:
    target = tmp_path / "format1.collapse"
    shutil.copyfile(DATA / "format1.collapse", target)
    con = sqlite3.connect(target)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 1  # the fixture really is format 1
    con.close()
    return target


def test_format1_upgrades_and_reads_back_what_it_stored(old_file: Path, tmp_path: Path) -> None:
    with Project(old_file) as p:
        runs = p.runs()
        assert [r.name for r in runs] == ["g #1", "g #2", "c", "point"]
        for kind, write in [("metrics", write_metrics_csv), ("histograms", write_histograms_csv),
                            ("samples", write_samples_csv)]:
            out = tmp_path / f"{kind}.csv"
            write(p, runs, out)
            assert out.read_bytes() == (DATA / f"format1_{kind}.csv").read_bytes(), kind
        assert [r.last_generation for r in runs] == [6, 6, 4, 3]
        assert p.last_note(runs[3].id) == "generation 3: collapsed to a point (zero variance)"
    con = sqlite3.connect(old_file)
    assert con.execute("PRAGMA user_version").fetchone()[0] == FORMAT_VERSION == 3
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"generations", "samples", "sweeps", "sweep_cells"} <= tables
    assert not any(t.endswith("_format1") for t in tables)
    # every row's id is its (run, generation) key, and the tidy metrics view still reads
    bad = con.execute("SELECT COUNT(*) FROM generations WHERE id != run_id * 4294967296 + generation").fetchone()[0]
    assert bad == 0
    assert con.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] > 0
    con.close()


def test_an_upgraded_run_can_be_extended(old_file: Path) -> None:
    with Project(old_file) as p:
        run = p.find_runs("g #1")[0]
        p.extend_run(run.id, 9)
        done = [rec.generation for rec in drive(p, run.id)]
        assert done == [7, 8, 9]
        assert p.run(run.id).status == "finished" and p.last_generation(run.id) == 9
        assert len(p.samples(p.run(run.id), 9)) == 50
        assert p.db.execute("SELECT run_id, generation FROM samples WHERE id = ?",
                            [row_key(run.id, 9)]).fetchone() == (run.id, 9)


def _version(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA user_version").fetchone()[0]
    finally:
        con.close()


def test_opening_for_reading_upgrades_a_writable_file(old_file: Path, tmp_path: Path) -> None:
    """`info` and `export` open projects read-only: a format-1 file they can write is upgraded, not refused."""
    with Project(old_file, readonly=True) as p:
        assert p.readonly and [r.last_generation for r in p.runs()] == [6, 6, 4, 3]
        write_metrics_csv(p, p.runs(), tmp_path / "m.csv")
    assert (tmp_path / "m.csv").read_bytes() == (DATA / "format1_metrics.csv").read_bytes()
    assert _version(old_file) == FORMAT_VERSION


def test_a_file_that_cannot_be_written_says_it_cannot_be_upgraded(old_file: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("core.store.os.access", lambda path, mode: mode != os.W_OK)  # as for a non-root user
    with pytest.raises(ProjectError, match="older project format 1 and is read-only"):
        Project(old_file, readonly=True)
    assert _version(old_file) == 1


def test_views_of_the_users_own_are_refused_until_removed_and_then_the_file_upgrades(old_file: Path) -> None:
    con = sqlite3.connect(old_file)
    con.execute("CREATE VIEW last_gens AS SELECT run_id, MAX(generation) AS g FROM generations GROUP BY run_id")
    con.execute("CREATE VIEW w1s AS SELECT run_id, generation, value FROM metrics WHERE metric = 'w1'")
    con.commit()
    con.close()
    before = old_file.read_bytes()
    with pytest.raises(UnsafeProjectError, match="view 'last_gens', view 'w1s'"):
        Project(old_file)
    with pytest.raises(UnsafeProjectError):  # format 1 cannot be read without upgrading it
        Project(old_file, readonly=True)
    assert old_file.read_bytes() == before  # nothing written, not even the upgrade
    assert sorted(remove_foreign_objects(old_file)) == ["view 'last_gens'", "view 'w1s'"]
    with Project(old_file) as p:
        assert len(p.runs()) == 4
    con = sqlite3.connect(old_file)
    assert con.execute("PRAGMA user_version").fetchone()[0] == FORMAT_VERSION
    assert con.execute("SELECT COUNT(*) FROM metrics WHERE metric = 'w1'").fetchone()[0] == 7 + 7 + 4
    assert not con.execute("SELECT 1 FROM sqlite_master WHERE name IN ('last_gens', 'w1s')").fetchall()
    con.close()


def test_a_file_without_the_metrics_view_upgrades(old_file: Path) -> None:
    con = sqlite3.connect(old_file)
    con.execute("DROP VIEW metrics")
    con.commit()
    con.close()
    with Project(old_file) as p:
        assert len(p.runs()) == 4
        assert p.db.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] > 0  # made again


def test_no_upgrade_while_an_older_version_computes_a_run(old_file: Path) -> None:
    from core.store import _writer_tag

    con = sqlite3.connect(old_file)
    con.execute("UPDATE runs SET status = 'running', writer = ? WHERE name = 'g #1'", [_writer_tag()])  # alive
    con.commit()
    con.close()
    with pytest.raises(ProjectError, match="an older Collapse Lab is computing a run"):
        Project(old_file)
    assert _version(old_file) == 1  # untouched: the older writer can go on


def test_a_damaged_format1_file_is_reported_as_damaged(old_file: Path) -> None:
    con = sqlite3.connect(old_file)
    con.execute("DROP TABLE samples")
    con.commit()
    con.close()
    with pytest.raises(ProjectError, match=r"damaged \(missing tables: samples\)"):
        Project(old_file)


def _format2_file(tmp_path: Path) -> Path:
    """A project as Collapse Lab 0.3.0 wrote it (format 2: no sweep tables), with one finished run."""
    path = tmp_path / "format2.collapse"
    with Project(path, create=True) as p:
        (rid,) = create_runs(p, RunSpec.build("gaussian", "replace", {}, 5, 20, 3))
        for _ in drive(p, rid):
            pass
    con = sqlite3.connect(path)
    con.executescript("DROP TABLE sweep_cells; DROP TABLE sweeps; PRAGMA user_version = 2;")
    con.close()
    return path


def test_format2_gains_the_sweep_tables(tmp_path: Path) -> None:
    path = _format2_file(tmp_path)
    with Project(path) as p:
        assert p.has_sweeps and p.sweeps() == ([], [])
        assert [r.last_generation for r in p.runs()] == [5]
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 3
    assert {"sweeps", "sweep_cells"} <= {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    con.close()


def test_a_read_only_format2_file_is_read_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _format2_file(tmp_path)
    real_access = os.access
    # as root every file is writable: make this one read-only the way the store checks it
    monkeypatch.setattr("core.store.os.access", lambda p, mode: False if mode == os.W_OK else real_access(p, mode))
    with Project(path, readonly=True) as p:
        assert not p.has_sweeps and p.sweeps() == ([], [])
        assert [r.last_generation for r in p.runs()] == [5]
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 2  # untouched
    con.close()
