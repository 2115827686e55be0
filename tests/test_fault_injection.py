"""Fault injection: kill -9 (SIGKILL) and Ctrl-C (SIGINT) at seeded random moments of everything that writes a
project file: `main.py run` (one run; four replicates on two workers), `main.py sweep` (2 cells x 2 replicates on
two workers), the upgrade of a format-1 file (in a process of its own, and by `run --resume`), and renaming and
deleting runs (Project.rename_run / delete_run in a loop).

After every signal, with the process (and its workers) gone:
- the exit is clean: no traceback, no "unexpected" error; after Ctrl-C the exit code is EXIT_INTERRUPTED (130), or
  death by the SIGINT itself (which a shell reports as 130 as well), or 0 when the command had ended;
- `main.py info` reads the file as the crash left it (a -journal or -wal may lie beside it; info runs on a copy
  of the lot) and its statuses are honest: no run or sweep says running, an unfinished run says interrupted;
- `PRAGMA integrity_check` (plain sqlite3, which recovers the journal) is 'ok';
- every generation committed before the signal (read through a read-only connection just before sending it) is
  still there, byte for byte, and every run's generations are 0..last without a gap;
- a killed upgrade leaves format 1 or format 3 with exactly the rows it had; a killed rename or delete leaves
  the runs as they were before or after it (never a run half deleted), and nothing committed before undone;
and at the end `--resume` completes, every run says finished, and the file holds bit for bit what an
uninterrupted run stores (samples, metrics, models, histograms, curves, notes, statuses and messages).

The signals go as a user sends them: SIGKILL to the main process (`kill -9 PID`: its workers must end by
themselves), SIGINT to the whole process group (Ctrl-C in a terminal). Where they land comes from a seeded
random.Random (see _chain_plan and _plan): in a command's start-up, or once a drawn share of the operation's
generations is committed (one share per stratum, up to the moment the last one is), or a drawn time into an
upgrade or a rename/delete operation; each kill of a run or sweep is followed by a `--resume` that the next
signal interrupts in turn. Problems are collected, not stopped at: a failing test lists every one it found.
"""

from __future__ import annotations

import math
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from core.cli import EXIT_INTERRUPTED
from tests.test_sweep import _committed as _generation_count

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
SEED = 20_240_611
KILLS = 4  # signals per operation (half SIGKILL, half SIGINT, in a seeded order)
TIMEOUT = 60  # seconds a signalled process (or a resume) may take to end

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="process groups and SIGKILL as on Linux")


# ---- processes -----------------------------------------------------------------------------------------
def _start(args: list[str], stdin: int = subprocess.DEVNULL) -> subprocess.Popen[str]:
    """A process in a session of its own (its group is what Ctrl-C reaches), output captured."""
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _main(*args: str | Path) -> list[str]:
    return [str(ROOT / "main.py"), *map(str, args)]


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *_main(*args)], cwd=ROOT, capture_output=True, text=True, timeout=240)


def _send(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    """SIGKILL to the main process alone (kill -9 PID); SIGINT to its process group (Ctrl-C)."""
    try:
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
    except ProcessLookupError:  # already ended and reaped (never here: nothing waits for it before)
        pass


def _group_gone(pgid: int, timeout: float = 10.0) -> bool:
    """Whether every process of this group (the command and its workers) has ended."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)


class Faults:
    """What went wrong, collected across all kill points of a test."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.log: list[str] = []

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.problems.append(message)
        return ok

    def note(self, message: str) -> None:
        self.log.append(message)
        print(message)

    def assert_none(self) -> None:
        assert not self.problems, (f"{len(self.problems)} problem(s):\n- " + "\n- ".join(self.problems) +
                                   "\nkill points:\n  " + "\n  ".join(self.log))


def _clean_stderr(faults: Faults, label: str, stderr: str) -> None:
    for bad in ("Traceback", "unexpected"):
        faults.check(bad not in stderr, f"{label}: {bad!r} in stderr:\n{stderr.strip()[-1500:]}")


def _end(proc: subprocess.Popen[str], sig: signal.Signals | None, faults: Faults, label: str) -> tuple[int, str, str]:
    """Wait for a (signalled) process and its group; check how it ended. (exit code, stdout, stderr)"""
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        faults.check(False, f"{label}: still running {TIMEOUT} s after the signal")
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    if not _group_gone(proc.pid):
        faults.check(False, f"{label}: worker processes outlived the main process by 10 s")
        os.killpg(proc.pid, signal.SIGKILL)
    rc = proc.returncode
    _clean_stderr(faults, label, err)
    if sig == signal.SIGKILL:
        faults.check(rc in (-signal.SIGKILL, 0), f"{label}: exit code {rc} after SIGKILL")
    elif sig == signal.SIGINT:
        # EXIT_INTERRUPTED (130) as the CLI documents; or killed by the SIGINT itself, which a shell reports as
        # 130 too (Python does so when the Ctrl-C comes after the command's work, while it shuts down); 0 when
        # it had ended before the signal
        faults.check(rc in (EXIT_INTERRUPTED, -signal.SIGINT, 0), f"{label}: exit code {rc} after SIGINT (the CLI "
                     f"documents {EXIT_INTERRUPTED}); stderr: {err.strip()[-300:]!r}")
    return rc, out, err


# ---- reading the file ----------------------------------------------------------------------------------
def _tables(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _contents(con: sqlite3.Connection) -> dict[str, Any]:
    """Everything the file holds that a kill must not lose or half-change, in one read transaction. Generations
    and samples are keyed by (run id, generation): the same in format 1 and format 3."""
    con.execute("BEGIN")
    try:
        tables = _tables(con)
        out: dict[str, Any] = {"version": con.execute("PRAGMA user_version").fetchone()[0], "tables": tables}
        if {"runs", "generations", "samples"} <= tables:
            out["runs"] = {r[0]: r[1:] for r in con.execute("SELECT * FROM runs")}
            out["generations"] = {(r[0], r[1]): r[2:] for r in con.execute(
                "SELECT run_id, generation, model, n_samples, n_stored, histogram, curve, metrics, note, created_at "
                "FROM generations")}
            out["samples"] = {(r[0], r[1]): r[2] for r in con.execute("SELECT run_id, generation, data FROM samples")}
            out["meta"] = sorted(con.execute("SELECT key, value FROM meta").fetchall())
        if {"sweeps", "sweep_cells"} <= tables:
            out["sweeps"] = {r[0]: r[1:] for r in con.execute("SELECT id, name, spec FROM sweeps")}
            out["cells"] = sorted(con.execute("SELECT sweep_id, cell, params, group_name FROM sweep_cells"))
        return out
    finally:
        con.execute("ROLLBACK")


def _committed(path: Path, faults: Faults, label: str) -> dict[str, Any]:
    """What the file holds now, read through a read-only connection (the writer still running). It never waits
    for a lock: a reader waiting for a commit under way (rollback-journal mode: creating, upgrading) would move
    the signal after it; then nothing is recorded (and less checked)."""
    if not path.exists() or path.stat().st_size == 0:
        return {}
    for _ in range(5):
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0, isolation_level=None)
            try:
                return _contents(con)
            finally:
                con.close()
        except sqlite3.Error as exc:  # locked for a commit, a hot journal, no schema yet: try again
            last = exc
            time.sleep(0.002)
    faults.note(f"{label}: could not read the file before the signal ({last}); nothing recorded")
    return {}


def _plain(path: Path) -> sqlite3.Connection:
    """Plain sqlite3, read-write: it recovers a -journal or -wal a killed process left."""
    return sqlite3.connect(path, isolation_level=None, timeout=10)


def _integrity(path: Path, faults: Faults, label: str) -> dict[str, Any]:
    """integrity_check of the file (after the process is dead) and what it holds."""
    con = _plain(path)
    try:
        result = con.execute("PRAGMA integrity_check").fetchall()
        faults.check(result == [("ok",)], f"{label}: integrity_check says {result[:5]}")
        return _contents(con)
    finally:
        con.close()


def _kept(before: dict[str, Any], after: dict[str, Any], faults: Faults, label: str) -> None:
    """Every generation (and its samples) committed before the signal is still there, byte for byte; no run that
    existed is gone; every run's generations are 0..last."""
    for table in ("generations", "samples"):
        old, new = before.get(table, {}), after.get(table, {})
        lost = [k for k in old if k not in new]
        changed = [k for k in old if k in new and new[k] != old[k]]
        faults.check(not lost, f"{label}: {len(lost)} committed {table} rows lost, e.g. (run, generation) "
                     f"{sorted(lost)[:3]}")
        faults.check(not changed, f"{label}: {len(changed)} committed {table} rows changed, e.g. {sorted(changed)[:3]}")
    gone = [rid for rid in before.get("runs", {}) if rid not in after.get("runs", {})]
    faults.check(not gone, f"{label}: runs {gone} vanished")
    by_run: dict[int, list[int]] = {}
    for rid, g in after.get("generations", {}):
        by_run.setdefault(rid, []).append(g)
    for rid, gens in by_run.items():
        faults.check(sorted(gens) == list(range(len(gens))), f"{label}: run {rid}'s generations have gaps")
        faults.check({k for k in after["samples"] if k[0] == rid} == {(rid, g) for g in gens},
                     f"{label}: run {rid}'s samples and generations rows differ")


RUN_COLUMNS = ("group_name", "replicate", "scenario", "policy", "spec", "seed", "generations", "samples", "status",
               "message", "reference", "sample_dtype", "sample_shape", "samples_budget")


def _results(path: Path) -> dict[str, Any]:
    """What the runs and sweeps stored that their settings determine (timestamps and ids left out), by name."""
    con = _plain(path)
    try:
        runs = {}
        for rid, name, *row in con.execute(f"SELECT id, name, {', '.join(RUN_COLUMNS)} FROM runs"):
            gens = con.execute("SELECT g.generation, g.model, g.n_samples, g.n_stored, g.histogram, g.curve, "
                               "g.metrics, g.note, s.data FROM generations g JOIN samples s ON s.run_id = g.run_id "
                               "AND s.generation = g.generation WHERE g.run_id = ? ORDER BY g.generation",
                               [rid]).fetchall()
            runs[name] = (tuple(row), gens)
        sweeps = []
        if {"sweeps", "sweep_cells"} <= _tables(con):
            sweeps = con.execute("SELECT s.name, s.spec, s.status, c.cell, c.params, c.group_name FROM sweeps s JOIN "
                                 "sweep_cells c ON c.sweep_id = s.id ORDER BY s.name, c.cell").fetchall()
        return {"runs": runs, "sweeps": sweeps}
    finally:
        con.close()


def _same_results(got: dict[str, Any], want: dict[str, Any], faults: Faults, label: str) -> None:
    if not faults.check(got["runs"].keys() == want["runs"].keys(),
                        f"{label}: runs {sorted(got['runs'])} where the uninterrupted file has {sorted(want['runs'])}"):
        return
    for name, (row, gens) in want["runs"].items():
        grow, ggens = got["runs"][name]
        differ = [f"{col} {str(g)[:80]!r} (uninterrupted: {str(w)[:80]!r})" for col, g, w in zip(RUN_COLUMNS, grow, row)
                  if g != w]
        faults.check(not differ, f"{label}: run {name!r} differs from the uninterrupted run in {'; '.join(differ)}")
        if len(ggens) != len(gens):
            faults.check(False, f"{label}: run {name!r} has {len(ggens)} generations, the uninterrupted one "
                         f"{len(gens)}")
            continue
        differ = [g[0] for g, w in zip(ggens, gens) if g != w]
        faults.check(not differ, f"{label}: run {name!r} generations {differ[:5]} (of {len(differ)}) are not "
                     "bit-identical to the uninterrupted run's (samples, metrics, model, histogram, curve)")
    faults.check(got["sweeps"] == want["sweeps"], f"{label}: the sweeps differ: {got['sweeps']} vs {want['sweeps']}")


# ---- statuses as `main.py info` shows them -------------------------------------------------------------
RUN_LINE = re.compile(r"^    status (\w+), generations (\d+)/(\d+) done", re.M)
SWEEP_LINE = re.compile(r"^sweep .*, (\w+)$", re.M)


def _info_as_left(path: Path) -> Any:
    """Start `main.py info --runs` on a copy of the file and whatever journal the signal left beside it (what a
    user runs first after a crash; on a copy, so that it recovers or upgrades nothing the checks still look at,
    and in the background, while they do); returns a function giving its CompletedProcess."""
    side = path.parent / f"side-{path.name}"
    shutil.rmtree(side, ignore_errors=True)
    side.mkdir()
    for suffix in ("", "-journal", "-wal", "-shm"):
        if Path(f"{path}{suffix}").exists():
            shutil.copyfile(f"{path}{suffix}", side / f"{path.name}{suffix}")
    args = [sys.executable, *_main("info", "--runs", side / path.name)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def result() -> subprocess.CompletedProcess[str]:
        try:
            out, err = proc.communicate(timeout=240)
        finally:
            shutil.rmtree(side, ignore_errors=True)
        return subprocess.CompletedProcess(args, proc.returncode, out, err)

    return result


def _info(res: subprocess.CompletedProcess[str], faults: Faults, label: str, n_runs: int | None,
          final: bool = False) -> None:
    """`main.py info` read the file; no run or sweep says running, an unfinished run says interrupted (at the end:
    everything says finished)."""
    _clean_stderr(faults, f"{label}: info", res.stderr)
    if not faults.check(res.returncode == 0, f"{label}: `main.py info` fails on the file as the signal left it: "
                        f"{res.stderr.strip()}"):
        return
    runs = RUN_LINE.findall(res.stdout)
    if n_runs is not None:
        faults.check(len(runs) == n_runs, f"{label}: info lists {len(runs)} runs, the file holds {n_runs}")
    for status, done, target in runs:
        if final:
            faults.check(status == "finished" and int(done) == int(target),
                         f"{label}: after --resume completed, info says status {status}, generations {done}/{target}")
        else:
            faults.check(status != "running", f"{label}: info says status running for a run whose process is dead")
            if int(done) < int(target):
                faults.check(status == "interrupted", f"{label}: an unfinished run ({done}/{target}) says {status}")
    for status in SWEEP_LINE.findall(res.stdout):
        faults.check(status != "running", f"{label}: info says a sweep is running after its process died")
        if final:
            faults.check(status == "finished", f"{label}: after --resume completed, the sweep says {status}")


def _leftovers(path: Path) -> list[str]:
    return [s for s in ("-journal", "-wal") if Path(f"{path}{s}").exists()]


def _runs_in(path: Path) -> int:
    """Runs in the file (0 without a readable project); plain sqlite3 recovers a journal a signal left."""
    if not path.exists() or path.stat().st_size == 0:
        return 0
    try:
        con = _plain(path)
        try:
            return con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] if "runs" in _tables(con) else 0
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _generations(path: Path) -> int:
    """Generations committed so far, read through a read-only connection while the writer runs (0: unreadable)."""
    return _generation_count(path)


def _plan(rng: random.Random, kills: int = KILLS) -> list[tuple[signal.Signals, float]]:
    """(signal, moment in [0, 1)) per kill point of an operation of known length: half SIGKILL, half SIGINT,
    one moment per stratum of [0, 1), both in a random order."""
    sigs = [signal.SIGKILL, signal.SIGINT] * (kills // 2) + [signal.SIGKILL] * (kills % 2)
    moments = [(k + rng.random()) / kills for k in range(kills)]
    rng.shuffle(sigs)
    rng.shuffle(moments)
    return list(zip(sigs, moments))


def _chain_plan(rng: random.Random, kills: int) -> list[tuple[signal.Signals, str, float]]:
    """(signal, "start-up" or "progress", where) per kill of a chain of commands that together compute one
    operation: one kill at a random moment of a command's start-up (imports, creating or opening the file, an
    upgrade, forking workers, reading back a resumed run's state), placed at a random step of the chain; the
    others when a share of the operation's generations is committed, one share per stratum of [0, 1.1), in
    increasing order (beyond 1: the moment the last is committed, when the command records statuses and
    closes the file)."""
    sigs = [signal.SIGKILL, signal.SIGINT] * (kills // 2) + [signal.SIGKILL] * (kills % 2)
    rng.shuffle(sigs)
    shares = [1.1 * (k + rng.random()) / (kills - 1) for k in range(kills - 1)]
    steps: list[tuple[str, float]] = [("progress", share) for share in shares]
    steps.insert(rng.randrange(kills), ("start-up", rng.random()))
    return [(sig, kind, where) for sig, (kind, where) in zip(sigs, steps)]


def _wait_for(proc: subprocess.Popen[str], path: Path, kind: str, where: float, startup: float, first: int,
              total: int, t0: float) -> str:
    """Wait for the kill moment (see _chain_plan; `first` generations were in the file when the operation began,
    `total` are when it ends); say what it is."""
    if kind == "start-up":
        delay = where * startup
        time.sleep(max(0.0, t0 + delay - time.monotonic()))
        return f"{delay * 1000:.0f} ms into start-up"
    target = min(total, max(first + math.ceil(where * (total - first)), _generations(path) + 1))
    while proc.poll() is None and _generations(path) < target and time.monotonic() < t0 + TIMEOUT:
        time.sleep(0.003)
    return f"at {target - first} of {total - first} generations ({time.monotonic() - t0:.2f} s in)"


def _after_kill(path: Path, before: dict[str, Any], faults: Faults, label: str, n_runs: int) -> dict[str, Any]:
    """The checks after a signal: info reads the file as left, honest statuses, integrity, nothing committed lost."""
    info = _info_as_left(path)
    after = _integrity(path, faults, label)
    if after.get("runs") is not None:  # a project was committed: info must read it
        _info(info(), faults, label, len(after["runs"]))
        faults.check(len(after["runs"]) in (0, n_runs), f"{label}: {len(after['runs'])} runs in the file, not "
                     f"{n_runs} (or none)")
    else:
        info()
    _kept(before, after, faults, label)
    return after


# ---- runs and sweeps -----------------------------------------------------------------------------------
RUN = ["run", "--policy", "mix", "--set", "alpha=0.2", "--generations", "800", "--samples", "2000", "--seed", "3",
       "-q"]
REPLICATES = ["run", "--policy", "mix", "--set", "alpha=0.2", "--replicates", "4", "--generations", "300",
              "--samples", "500", "--seed", "4", "--workers", "2", "-q"]
SWEEP = ["sweep", "--policy", "mix", "--grid", "alpha=0,0.5", "--replicates", "2", "--generations", "300",
         "--samples", "500", "--seed", "5", "--workers", "2", "-q"]


def _kill_chain(name: str, fresh: Any, resume: list[str], new: list[str] | None, want: dict[str, Any],
                startup: float, rng: random.Random, faults: Faults, kills: int = KILLS, check: Any = None) -> None:
    """Start `new -o FILE` (or `resume FILE` when the file holds runs) on the file `fresh()` gives, signal it at
    a random moment and check the file; again `kills` times (on a new `fresh()` file when the operation got
    complete before its kills were used up); finally resume each file to the end and compare with what an
    uninterrupted run stored."""
    n_runs = len(want["runs"])
    total = sum(len(gens) for _, gens in want["runs"].values())
    files = [fresh()]
    first = _generations(files[-1]) if files[-1].exists() else 0

    def command(path: Path) -> tuple[list[str], str]:
        if new is None or _runs_in(path):
            return _main(*resume, path), "resume"
        return _main(*new, "-o", path), "new"

    for k, (sig, moment, where) in enumerate(_chain_plan(rng, kills)):
        path = files[-1]
        if path.exists() and _generations(path) >= total:
            faults.note(f"{name}: complete after {k} kills; the next ones on a new file")
            path = fresh()
            files.append(path)
            first = _generations(path) if path.exists() else 0
        args, kind = command(path)
        t0 = time.monotonic()
        proc = _start(args)
        when = _wait_for(proc, path, moment, where, startup, first, total, t0)
        label = f"{name} kill {k + 1} ({sig.name} {when} of `{kind}`)"
        before = _committed(path, faults, label)
        _send(proc, sig)
        rc, _, err = _end(proc, sig, faults, label)
        leftovers = _leftovers(path)
        if sig == signal.SIGINT and rc == EXIT_INTERRUPTED and before.get("runs"):
            faults.check("interrupted" in err, f"{label}: Ctrl-C did not say it interrupted: {err.strip()!r}")
        if not path.exists():
            faults.check(not before, f"{label}: the file is gone")
            faults.note(f"{label}: exit {rc}, no file yet")
            continue
        after = _after_kill(path, before, faults, label, n_runs)
        if check is not None:
            check(after, label)
        faults.note(f"{label}: exit {rc}; generations committed: {len(before.get('generations', {}))} before the "
                    f"signal, {len(after.get('generations', {}))} after, of {total}; format {after.get('version')}; "
                    f"beside the file: {leftovers or 'nothing'}")

    for path in files:
        args, kind = command(path)
        res = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=240)
        label = f"{name}: the final `{kind}` of {path.name}"
        faults.check(res.returncode == 0, f"{label} failed with exit code {res.returncode}: "
                     f"{res.stderr.strip()[-500:]}")
        _clean_stderr(faults, label, res.stderr)
        if path.exists():
            _info(_cli("info", "--runs", path), faults, label, n_runs, final=True)
            _integrity(path, faults, label)
            _same_results(_results(path), want, faults, label)


def _straight(tmp_path: Path, new: list[str], faults: Faults) -> tuple[dict[str, Any], float]:
    """What the command stores uninterrupted, and the command's start-up time (to its first commit)."""
    reference = tmp_path / "straight.collapse"
    t0 = time.monotonic()
    proc = _start(_main(*new, "-o", reference))
    while proc.poll() is None and _generations(reference) == 0:
        time.sleep(0.003)
    startup = time.monotonic() - t0
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0 and err == "", err
    faults.note(f"{new[0]}: uninterrupted {time.monotonic() - t0:.2f} s, first commit after {startup:.2f} s")
    return _results(reference), startup


def _run_chain(tmp_path: Path, name: str, new: list[str], resume: list[str], rng: random.Random) -> None:
    faults = Faults()
    want, startup = _straight(tmp_path, new, faults)
    files = (tmp_path / f"killed{k}.collapse" for k in range(KILLS + 1))
    _kill_chain(name, lambda: next(files), resume, new, want, startup, rng, faults)
    faults.assert_none()


def test_kill_and_ctrl_c_of_a_run_then_resume_is_bit_identical(tmp_path: Path) -> None:
    _run_chain(tmp_path, "run", RUN, ["run", "-q", "--resume"], random.Random(SEED + 1))


def test_kill_and_ctrl_c_of_replicates_on_two_workers(tmp_path: Path) -> None:
    _run_chain(tmp_path, "run --replicates", REPLICATES, ["run", "--workers", "2", "-q", "--resume"],
               random.Random(SEED + 2))


def test_kill_and_ctrl_c_of_a_sweep_on_two_workers(tmp_path: Path) -> None:
    _run_chain(tmp_path, "sweep", SWEEP, ["sweep", "--workers", "2", "-q", "--resume"], random.Random(SEED + 3))


KILLED_AFTER_LAST_COMMIT = """
import os, signal, sys
from core.cli import main
from core.store import Project

commit = Project.commit_generations


def commit_then_die(self, run, records, regenerable=True):
    records = list(records)
    commit(self, run, records, regenerable)
    if records and records[-1].generation >= run.spec.generations:
        os.kill(os.getpid(), signal.SIGKILL)  # kill -9 just after a run's last generation is committed


Project.commit_generations = commit_then_die
sys.exit(main(sys.argv[1:]))
"""


def test_kill_just_after_a_runs_last_commit_then_resume_says_finished(tmp_path: Path) -> None:
    """The one moment the random kills above hit only now and then (more often on a busy machine): between the
    commit of a run's last generations and the update of its status."""
    faults = Faults()
    args = ["run", "--generations", "30", "--samples", "100", "--seed", "8", "-q"]
    reference = tmp_path / "straight.collapse"
    assert _cli(*args, "-o", reference).returncode == 0
    path = tmp_path / "killed.collapse"
    res = subprocess.run([sys.executable, "-c", KILLED_AFTER_LAST_COMMIT, *args, "-o", str(path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == -signal.SIGKILL, res.stderr
    label = "killed just after the last commit"
    _info(_info_as_left(path)(), faults, label, 1)
    _kept({}, _integrity(path, faults, label), faults, label)
    res = _cli("run", "-q", "--resume", path)
    faults.check(res.returncode == 0, f"{label}: `run --resume` exit code {res.returncode}: {res.stderr.strip()}")
    faults.note(f"{label}: `run --resume` says {res.stderr.strip()!r}")
    _info(_cli("info", "--runs", path), faults, f"{label}, then resumed", 1, final=True)
    _same_results(_results(path), _results(reference), faults, f"{label}, then resumed")
    faults.assert_none()


# ---- the format upgrade --------------------------------------------------------------------------------
UPGRADE = """
import os, signal, sys, time
from core.store import Project
print("open", flush=True)
t = time.perf_counter()
try:
    Project(sys.argv[1]).close()
    print(f"upgraded in {time.perf_counter() - t:.6f} s", flush=True)
    code = 0
except KeyboardInterrupt:
    code = 130
finally:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C after closing: not while Python shuts down
sys.stdout.flush()
os._exit(code)
"""


def _format1_with_an_unfinished_run(path: Path) -> None:
    """tests/data/format1.collapse plus a run of 6 MB paused at generation 400 of 600, in format 1 as Collapse
    Lab 0.2.0 wrote it (so the upgrade takes long enough to be killed in the middle, and resume has work)."""
    from core.engine import RunSpec
    from core.runner import create_runs
    from core.schema import FORMAT1_SCHEMA, METRICS_VIEW, statements
    from core.store import Project
    from tests.simulate import drive_until

    shutil.copyfile(DATA / "format1.collapse", path)
    with Project(path) as p:  # upgraded to the current format, a run added...
        (rid,) = create_runs(p, RunSpec.build("gaussian", "mix", {"alpha": "0.2"}, 600, 4000, 7), name="big")
        drive_until(p, rid, 400)
    tables = [s for s in statements(FORMAT1_SCHEMA) if "CREATE TABLE generations" in s or "CREATE TABLE samples" in s]
    con = _plain(path)  # ... and taken back to format 1
    con.execute("BEGIN")
    for stmt in ["DROP VIEW metrics", "DROP TABLE sweep_cells", "DROP TABLE sweeps",
                 "ALTER TABLE generations RENAME TO g3", "ALTER TABLE samples RENAME TO s3", *tables,
                 "INSERT INTO generations SELECT run_id, generation, model, n_samples, n_stored, histogram, curve, "
                 "metrics, note, created_at FROM g3 ORDER BY id",
                 "INSERT INTO samples SELECT run_id, generation, data FROM s3 ORDER BY id",
                 "DROP TABLE g3", "DROP TABLE s3", METRICS_VIEW, "PRAGMA user_version = 1"]:
        con.execute(stmt)
    con.execute("COMMIT")
    con.execute("VACUUM")
    con.close()


def _copy(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    return dst


def test_kill_and_ctrl_c_of_the_format_upgrade(tmp_path: Path) -> None:
    from core.schema import FORMAT_VERSION

    faults = Faults()
    rng = random.Random(SEED + 4)
    old = tmp_path / "format1.collapse"
    _format1_with_an_unfinished_run(old)
    con = _plain(old)
    original = _contents(con)
    con.close()
    assert original["version"] == 1 and len(original["runs"]) == 5
    format1_tables, format3_tables = original["tables"], original["tables"] | {"sweeps", "sweep_cells"}

    reference = _copy(old, tmp_path / "straight.collapse")
    t0 = time.monotonic()
    proc = _start(_main("run", "-q", "--resume", reference))  # upgrade and finish the run, uninterrupted
    while proc.poll() is None and _generations(reference) <= len(original["generations"]):
        time.sleep(0.003)
    startup = time.monotonic() - t0  # start-up, upgrade, reading back the run's state: to its first commit
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0 and err == "", err
    resume_duration = time.monotonic() - t0
    want = _results(reference)
    probe = _copy(old, tmp_path / "probe.collapse")
    res = subprocess.run([sys.executable, "-c", UPGRADE, str(probe)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    upgrade = float(res.stdout.split("upgraded in ")[1].split()[0])
    faults.note(f"upgrade: {upgrade * 1000:.0f} ms in the process, `run --resume` of format 1: "
                f"{resume_duration:.2f} s")

    # the upgrade alone, in a process of its own, signalled somewhere between opening and closing the file
    for k, (sig, fraction) in enumerate(_plan(rng, 3)):
        path = _copy(old, tmp_path / f"upgrade{k}.collapse")
        delay = fraction * upgrade
        label = f"upgrade kill {k + 1} ({sig.name} {delay * 1000:.1f} ms after opening)"
        proc = _start(["-c", UPGRADE, str(path)])
        faults.check(proc.stdout is not None and proc.stdout.readline() == "open\n", f"{label}: did not start")
        time.sleep(delay)
        _send(proc, sig)
        rc, _, _ = _end(proc, sig, faults, label)
        leftovers = _leftovers(path)
        info = _info_as_left(path)
        after = _integrity(path, faults, label)
        _info(info(), faults, label, len(original["runs"]))
        version = after["version"]
        faults.note(f"{label}: exit {rc}, format {version} after, beside the file: {leftovers or 'nothing'}")
        faults.check(version in (1, FORMAT_VERSION), f"{label}: the file is left at format {version}")
        faults.check(after["tables"] == (format1_tables if version == 1 else format3_tables),
                     f"{label}: format {version} with the tables {sorted(after['tables'])}")
        for part in ("runs", "generations", "samples", "meta"):
            faults.check(after.get(part) == original[part], f"{label}: the {part} differ from before the upgrade")

    # the file the last of them left, upgraded or not: `run --resume` (upgrading it if need be, then computing),
    # signalled at random moments, then to the end

    def still_format1(after: dict[str, Any], label: str) -> None:
        if after["version"] == 1:
            for part in ("runs", "generations", "samples", "meta"):
                faults.check(after.get(part) == original[part], f"{label}: left at format 1 with other {part}")

    left, copies = path, (tmp_path / f"resumed{k}.collapse" for k in range(3))
    _kill_chain("run --resume of an old file", lambda: _copy(left, next(copies)), ["run", "-q", "--resume"], None,
                want, startup, rng, faults, kills=2, check=still_format1)
    faults.assert_none()


# ---- renaming and deleting runs ------------------------------------------------------------------------
ROUNDS = 6
RENAMER = f"""
import os, signal, sys, time
from core.store import Project


def main():
    with Project(sys.argv[1]) as p:
        runs = p.runs()
        print("ready", flush=True)
        t, n = time.perf_counter(), 0

        def step():
            sys.stdin.readline()  # the test's go-ahead, so that its signal comes during the next operation

        for k in range({ROUNDS}):
            for r in runs[k // 2:] if k % 2 == 0 else runs[(k + 1) // 2:]:
                step()
                p.rename_run(r.id, f"{{r.name}} v{{k}}")
                n += 1
                print(n, flush=True)
            if k % 2 == 1:
                step()
                p.delete_run(runs[k // 2].id)
                n += 1
                print(n, flush=True)
        print(f"took {{time.perf_counter() - t:.6f}} s", flush=True)
        step()  # and closing the file


try:
    main()
    code = 0
except KeyboardInterrupt:
    code = 130
finally:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C after the loop: not while Python shuts down
sys.stdout.flush()
os._exit(code)
"""


def _rename_delete_states(names: dict[int, str]) -> list[dict[int, str | None]]:
    """The runs' names (None: deleted) after each prefix of RENAMER's operations, one transaction each."""
    order = sorted(names)
    state: dict[int, str | None] = dict(names)
    states = [dict(state)]
    for k in range(ROUNDS):
        for rid in order[k // 2:] if k % 2 == 0 else order[(k + 1) // 2:]:
            state[rid] = f"{names[rid]} v{k}"
            states.append(dict(state))
        if k % 2 == 1:
            state[order[k // 2]] = None
            states.append(dict(state))
    return states


def _state_of(contents: dict[str, Any], original: dict[str, Any], faults: Faults, label: str) -> dict[int, str | None]:
    """The names of the runs (None: deleted), checking each run is there whole or gone whole."""
    state: dict[int, str | None] = {}
    for rid, row in original["runs"].items():
        rows = {t: {k: v for k, v in contents[t].items() if k[0] == rid} for t in ("generations", "samples")}
        if rid in contents["runs"]:
            state[rid] = contents["runs"][rid][0]
            faults.check(contents["runs"][rid][1:-1] == row[1:-1],  # (name and updated_at change)
                         f"{label}: run {rid}'s row changed beyond its name")
            for t in rows:
                faults.check(rows[t] == {k: v for k, v in original[t].items() if k[0] == rid},
                             f"{label}: run {rid} (not deleted) lost or changed {t} rows")
        else:
            state[rid] = None
            faults.check(not rows["generations"] and not rows["samples"],
                         f"{label}: run {rid} is half deleted: its row is gone, {len(rows['generations'])} "
                         f"generations and {len(rows['samples'])} samples rows remain")
    return state


def _names(path: Path, runs: dict[int, Any]) -> dict[int, str | None] | None:
    """The runs' names (None: deleted) as committed now, read through a read-only connection that does not wait
    (a reader waiting for the commit under way would put the signal after it); None when a commit holds the
    file."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0)
        try:
            names = dict(con.execute("SELECT id, name FROM runs").fetchall())
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return {rid: names.get(rid) for rid in runs}


def test_kill_and_ctrl_c_while_renaming_and_deleting_runs(tmp_path: Path) -> None:
    from core.store import Project, ProjectError

    faults = Faults()
    rng = random.Random(SEED + 5)
    base = tmp_path / "runs.collapse"
    res = _cli("run", "--replicates", "4", "--generations", "300", "--samples", "1000", "--seed", "6", "--workers",
               "2", "-q", "-o", base)
    assert res.returncode == 0, res.stderr
    con = _plain(base)
    original = _contents(con)
    con.close()
    states = _rename_delete_states({rid: row[0] for rid, row in original["runs"].items()})
    probe = _copy(base, tmp_path / "probe.collapse")
    res = subprocess.run([sys.executable, "-c", RENAMER, str(probe)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, input="go\n" * len(states))
    assert res.returncode == 0, res.stderr
    loop = float(res.stdout.split("took ")[1].split()[0])
    con = _plain(probe)
    assert _state_of(_contents(con), original, faults, "uninterrupted") == states[-1]
    con.close()
    faults.note(f"rename/delete: {len(states) - 1} transactions in {loop * 1000:.0f} ms uninterrupted")

    per_op = loop / (len(states) - 1)
    for k, (sig, fraction) in enumerate(_plan(rng)):
        path = _copy(base, tmp_path / f"renamed{k}.collapse")
        ops = int(fraction * len(states))  # operations to let commit first (all of them: then while closing)
        proc = _start(["-c", RENAMER, str(path)], stdin=subprocess.PIPE)
        assert proc.stdin is not None and proc.stdout is not None
        started = proc.stdout.readline() == "ready\n"
        took = []
        for _ in range(ops):
            t0 = time.monotonic()
            proc.stdin.write("go\n")
            proc.stdin.flush()
            proc.stdout.readline()
            took.append(time.monotonic() - t0)
        proc.stdin.write("go\n")  # the next operation (or closing) starts: the signal comes somewhere in it
        proc.stdin.flush()
        delay = rng.random() * (sorted(took)[len(took) // 2] if took else per_op)  # as long as those before
        label = f"rename/delete kill {k + 1} ({sig.name} {delay * 1000:.1f} ms into operation {ops + 1})"
        faults.check(started, f"{label}: did not start")
        time.sleep(delay)
        before = _names(path, original["runs"])
        _send(proc, sig)
        rc, _, _ = _end(proc, sig, faults, label)
        leftovers = _leftovers(path)
        info = _info_as_left(path)
        after = _integrity(path, faults, label)
        _info(info(), faults, label, len(after["runs"]))
        state = _state_of(after, original, faults, label)
        done = [i for i, s in enumerate(states) if s == state]
        faults.check(bool(done), f"{label}: the runs are in no state the operations pass through: {state}")
        # committed before the signal: what the file said just before it, or (when a commit held the file then)
        # the operations the process had reported committed
        was = [i for i, st in enumerate(states) if st == before] if before is not None else [ops]
        faults.check(bool(was), f"{label}: the runs were in no state the operations pass through before the signal")
        if done and was:
            faults.check(done[-1] >= was[0], f"{label}: operations committed before the signal were undone "
                         f"(state {was} before, {done} after)")
        faults.note(f"{label}: exit {rc}, {done[-1] if done else '?'} of {len(states) - 1} operations done, beside "
                    f"the file: {leftovers or 'nothing'}")
        try:  # and it opens for writing again
            Project(path).close()
        except ProjectError as exc:
            faults.check(False, f"{label}: the file does not open for writing afterwards: {exc}")
    faults.assert_none()
