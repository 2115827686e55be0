"""The command line as a user meets it: runs, resume after kill -9, export formats, clear errors."""

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from core.store import Project

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                         cwd=ROOT, timeout=240)
    if check:
        assert res.returncode == 0, res.stderr
    return res


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run", "--scenario", "nope", "-o", "x.collapse"], "unknown scenario 'nope'"),
        (["run", "--policy", "nope", "-o", "x.collapse"], "unknown policy 'nope'"),
        (["run", "--samples", "-5", "-o", "x.collapse"], "--samples must be at least 1"),
        (["run", "--generations", "ten", "-o", "x.collapse"], "--generations must be a whole number"),
        (["run", "--policy", "mix", "--set", "alpha=1.5", "-o", "x.collapse"], "alpha must be in [0, 1]"),
        (["run", "--policy", "mix", "--set", "alpha=abc", "-o", "x.collapse"], "alpha must be a number"),
        (["run", "--set", "bogus=1", "-o", "x.collapse"], "unknown parameter 'bogus'"),
        (["run", "--set", "novalue", "-o", "x.collapse"], "--set expects key=value"),
        (["run", "--set", "sigma0=0", "-o", "x.collapse"], "sigma0 must be in [1e-06, 1000000], got 0"),
        (["run"], "run needs -o FILE"),
        (["frobnicate"], "invalid choice"),
        (["export", "x.collapse"], "export needs at least one of"),
        (["run", "--policy", "filter", "--set", "verifier=dedup", "-o", "x.collapse"],
         "does not apply to scenario gaussian"),
        (["run", "--policy", "multi-source", "--set", "shares=nan,1,1", "-o", "x.collapse"],
         "shares must be finite"),
        (["run", "--set", "mu0=1000000", "--set", "sigma0=0.01", "-o", "x.collapse"], "mu0 / sigma0 must be"),
        (["run", "--scenario", "kde", "--samples", "1", "-o", "x.collapse"], "kde needs at least 2 samples"),
        (["run", "--scenario", "digits", "--samples", "5000000", "-o", "x.collapse"],
         "digits takes at most 200,000 samples per generation"),
        (["run", "--scenario", "regression", "--samples", "3000000", "-o", "x.collapse"], "cells; at most"),
        (["run", "--keep-samples", "99999999999999999999", "-o", "x.collapse"], "--keep-samples must be at most"),
        (["run", "--replicates", "1000000", "-o", "x.collapse"], "--replicates must be at most 1000"),
        (["run", "--name", "a\x01b", "-o", "x.collapse"], "control characters"),
        (["run", "--name", "n" * 101, "-o", "x.collapse"], "at most 100 characters"),
        (["run", "--set", "sigma0=1e-300", "-o", "x.collapse"], "sigma0 must be in [1e-06, 1000000]"),
        (["run", "--policy", "multi-source", "--set", "shares=1e308,1e308,1", "-o", "x.collapse"],
         "positive, finite sum"),
        (["run", "--resume", "x.collapse", "--seed", "3"], "--seed does not go with --resume"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(tmp_path: Path, args: list[str], fragment: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    args = [str(tmp_path / a) if a.endswith(".collapse") else a for a in args]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert fragment in lines[0]
    assert not (tmp_path / "x.collapse").exists()


def test_a_run_name_has_its_whitespace_folded(tmp_path: Path) -> None:
    out = tmp_path / "n.collapse"
    assert main(["run", "--generations", "1", "--samples", "20", "-q", "--name", " two\nlines\t here ",
                 "-o", str(out)]) == 0
    with Project(out, readonly=True) as p:
        assert [r.name for r in p.runs()] == ["two lines here"]


def test_degenerate_settings_finish_quietly(tmp_path: Path) -> None:
    """Settings at the edge of their range run to the end without numpy warnings or an unexpected error."""
    for i, args in enumerate((["--set", "truncation=1e-9"], ["--scenario", "text", "--set", "top_p=1e-17"],
                              ["--scenario", "text", "--set", "discount=1e-300"],
                              ["--set", "sigma0=1e-6", "--set", "temperature=1e-300"])):
        res = cli("run", *args, "--generations", "3", "--samples", "50", "-q", "-o", str(tmp_path / f"{i}.collapse"),
                  check=False)
        assert res.returncode == 0 and res.stderr == "", (args, res.stderr)


def test_bad_argument_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    res = cli("run", "--samples", "0", "-o", str(tmp_path / "x.collapse"), check=False)
    assert res.returncode == 2
    assert res.stderr.startswith("error: ") and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_a_bare_file_argument_opens_it_in_the_app(tmp_path: Path) -> None:
    from core.cli import GuiHooks

    opened: list[str | None] = []
    hooks = GuiHooks(open_app=lambda path: opened.append(path) or 0)
    target = tmp_path / "p.collapse"
    target.write_bytes(b"")
    assert main([str(target)], hooks) == 0 and opened == [str(target)]
    assert main([str(tmp_path / "missing.collapse")], hooks) == 1 and len(opened) == 1


def test_not_a_project_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "notes.collapse"
    bad.write_text("just text")
    res = cli("info", str(bad), check=False)
    assert res.returncode == 1
    assert res.stderr.strip() == f"error: {bad}: is not a Collapse Lab project (not an SQLite database)"


def test_run_info_export_roundtrip(tmp_path: Path) -> None:
    out = tmp_path / "g.collapse"
    cli("run", "--scenario", "gaussian", "--policy", "replace", "--generations", "20", "--samples", "50",
        "--replicates", "3", "--seed", "1", "-o", str(out), "--name", "=cmd|' /C calc'!A0")
    cli("run", "--policy", "mix", "--set", "alpha=0.5", "--generations", "20", "--samples", "50", "-o", str(out))
    info = cli("info", str(out)).stdout
    assert "4 runs" in info and "status finished" in info and "mix" in info
    m, h, s = tmp_path / "m.csv", tmp_path / "h.csv", tmp_path / "s.csv"
    cli("export", str(out), "--metrics-csv", str(m), "--histograms-csv", str(h), "--samples-csv", str(s),
        "--generation", "0", "--generation", "20")
    with open(m, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["run", "replicate", "generation", "metric", "value"]
    names = {r["run"] for r in rows}
    assert "'=cmd|' /C calc'!A0 #1" in names  # formula injection escaped
    assert "mix 0.5 fresh" in names or "gaussian mix 0.5 fresh" in names
    assert {r["replicate"] for r in rows} == {"0", "1", "2"}
    means = [r["value"] for r in rows if r["metric"] == "mean"]
    assert any(v.startswith("-") for v in means)  # negative numbers stay numbers (never escaped)
    assert all(float(v) == float(v) for v in means)
    fit = [float(r["value"]) for r in rows if r["metric"] == "fit_var" and r["generation"] == "0"]
    assert fit == [1.0] * 4
    with open(h, encoding="utf-8") as fh:
        hrows = list(csv.DictReader(fh))
    assert list(hrows[0]) == ["run", "replicate", "generation", "bin_left", "bin_right", "count"]
    per_gen = {}
    for r in hrows:
        per_gen.setdefault((r["run"], r["generation"]), 0)
        per_gen[(r["run"], r["generation"])] += int(r["count"])
    assert max(per_gen.values()) <= 50
    with open(s, encoding="utf-8") as fh:
        srows = list(csv.DictReader(fh))
    assert {r["generation"] for r in srows} == {"0", "20"}
    assert len(srows) == 4 * 2 * 50


def test_scenarios_lists_every_scenario_and_policy() -> None:
    from core.policies import POLICIES
    from core.scenarios import SCENARIOS

    out = cli("scenarios").stdout
    for name in list(SCENARIOS) + list(POLICIES):
        assert f"  {name}: " in out


def test_kill_minus_9_then_resume_loses_nothing(tmp_path: Path) -> None:
    args = ["--scenario", "gaussian", "--policy", "mix", "--set", "alpha=0.2", "--generations", "400",
            "--samples", "20000", "--seed", "4", "-q"]
    killed = tmp_path / "killed.collapse"
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "run", *args, "-o", str(killed)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    committed = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and committed < 20:
        time.sleep(0.05)
        if killed.exists():
            try:
                con = sqlite3.connect(f"file:{killed}?mode=ro", uri=True, timeout=1)
                committed = con.execute("SELECT COUNT(*) FROM generations").fetchone()[0]
                con.close()
            except sqlite3.Error:
                pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 20 <= committed < 401, "the run finished before it could be killed; make it longer"
    info = cli("info", str(killed)).stdout
    assert "status interrupted" in info and "resume with" in info
    with Project(killed, readonly=True) as p:
        assert p.runs()[0].last_generation >= committed - 1
    cli("run", "--resume", str(killed))
    straight = tmp_path / "straight.collapse"
    cli("run", *args, "-o", str(straight))
    with Project(killed) as a, Project(straight) as b:
        ra, rb = a.runs()[0], b.runs()[0]
        assert ra.status == "finished" and ra.last_generation == 400
        for g in (0, committed // 2, committed, 200, 400):
            assert a.samples(ra, g).tobytes() == b.samples(rb, g).tobytes()
        ga, va = a.metric_series(ra.id, "w1")
        gb, vb = b.metric_series(rb.id, "w1")
        assert np.array_equal(ga, gb) and np.array_equal(va, vb)


def test_resume_with_nothing_to_do(tmp_path: Path) -> None:
    out = tmp_path / "done.collapse"
    cli("run", "--generations", "3", "-o", str(out))
    res = cli("run", "--resume", str(out))
    assert "nothing to resume" in res.stderr
    res = cli("run", "--resume", str(out), "--run", "missing", check=False)
    assert res.returncode == 2 and "no run or group named 'missing'" in res.stderr


def test_resume_says_when_the_versions_changed(tmp_path: Path) -> None:
    out = tmp_path / "old.collapse"
    cli("run", "--generations", "3", "--samples", "50", "-o", str(out))
    con = sqlite3.connect(out)
    with con:
        versions = json.loads(con.execute("SELECT versions FROM runs").fetchone()[0])
        con.execute("UPDATE runs SET versions = ?", [json.dumps({**versions, "collapse_lab": "0.0.1"})])
    con.close()
    res = cli("run", "--resume", str(out), "--generations", "6")
    assert "was started with collapse-lab 0.0.1 and continues with" in res.stderr
    res = cli("run", "--resume", str(out), "--generations", "9")
    assert "was started with" in res.stderr  # still: the run's versions are those it started with
    fresh = tmp_path / "same.collapse"
    cli("run", "--generations", "3", "--samples", "50", "-o", str(fresh))
    assert "was started with" not in cli("run", "--resume", str(fresh), "--generations", "6").stderr
