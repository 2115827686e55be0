"""Sweeps: grid parsing and validation, and every run of a sweep bit-identical to the same run computed alone,
whatever computes it (this process, a pool of worker processes, a Dask cluster) and however it is chunked."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from core import chunks
from core.chunks import ChunkTask, compute_chunk
from core.coordinator import compute_runs, make_executor
from core.engine import RunSpec, Simulation
from core.params import ParamError
from core.runner import create_sweep, drive
from core.scenarios import create_scenario
from core.store import Project, encode_record
from core.sweep import SweepSpec, parse_axis


# ---- grid parsing --------------------------------------------------------------------------------------
def test_a_list_a_linear_and_a_log_range() -> None:
    assert parse_axis("alpha=0,0.05, 0.1").values == ("0", "0.05", "0.1")
    assert parse_axis("alpha=0:1:11").values == ("0.0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8",
                                                 "0.9", "1.0")
    assert parse_axis("samples=10:10000:log7", integer=True).values == ("10", "32", "100", "316", "1000", "3162",
                                                                        "10000")
    assert parse_axis("temperature=0.5:2:log3").values == ("0.5", "1.0", "2.0")
    assert parse_axis("policy=replace,accumulate").values == ("replace", "accumulate")


@pytest.mark.parametrize(("text", "fragment"), [
    ("alpha", "expects name=values"),
    ("=1,2", "expects name=values"),
    ("alpha=", "no values given"),
    ("alpha=0,,1", "an empty value"),
    ("alpha=0:1", "start:stop:n"),
    ("alpha=0:1:1", "2 to 1000 values"),
    ("alpha=0:1:x", "must be a whole number"),
    ("alpha=a:1:3", "'a' is not a number"),
    ("alpha=0:inf:3", "not a finite number"),
    ("samples=0:100:log3", "positive ends"),
    ("alpha=0.1,0.1", "the value 0.1 comes twice"),
    ("samples=10:12:log5", "comes twice (after rounding"),
])
def test_bad_axes_say_what_is_wrong(text: str, fragment: str) -> None:
    integer = text.startswith("samples")
    with pytest.raises(ParamError, match=None) as err:
        parse_axis(text, integer)
    assert fragment in str(err.value)


def test_the_grid_is_the_product_in_row_major_order() -> None:
    spec = SweepSpec(policy="mix", axes=(parse_axis("alpha=0,0.5"), parse_axis("samples=10,20,30", True)),
                     generations=5)
    cells = spec.cells()
    assert [c.values for c in cells] == [{"alpha": a, "samples": m} for a in ("0", "0.5") for m in ("10", "20", "30")]
    assert [c.spec.samples for c in cells] == [10, 20, 30] * 2
    assert [c.spec.policy_params["alpha"] for c in cells] == [0.0] * 3 + [0.5] * 3
    assert spec.default_name() == "gaussian mix sweep alpha x samples"


def test_policy_and_scenario_axes_select_their_own_schemas() -> None:
    spec = SweepSpec(axes=(parse_axis("policy=replace,accumulate-subsample,mix"),), generations=3)
    assert [c.spec.policy for c in spec.cells()] == ["replace", "accumulate-subsample", "mix"]
    spec = SweepSpec(axes=(parse_axis("scenario=gaussian,kde"),), generations=3)
    assert [(c.spec.scenario, c.spec.samples) for c in spec.cells()] == [("gaussian", 100), ("kde", 500)]


@pytest.mark.parametrize(("spec", "fragment"), [
    (SweepSpec(policy="mix", axes=(parse_axis("alpha=0,0.5,2"),)), "cell 3 of 3 (alpha=2): alpha must be in [0, 1]"),
    (SweepSpec(axes=(parse_axis("alpha=0,0.5"),)), "cell 1 of 2 (alpha=0): unknown parameter 'alpha'"),
    (SweepSpec(axes=(parse_axis("samples=0,10"),)), "cell 1 of 2 (samples=0): samples must be in"),
    (SweepSpec(axes=(parse_axis("policy=replace,nope"),)), "cell 2 of 2 (policy=nope): unknown policy 'nope'"),
    (SweepSpec(policy="mix", settings={"alpha": "0.1"}, axes=(parse_axis("alpha=0,0.5"),)), "both swept"),
    (SweepSpec(axes=(parse_axis("sigma0=1,2"), parse_axis("sigma0=3,4"))), "--grid sigma0 is given twice"),
    (SweepSpec(axes=(parse_axis("sigma0=1:2:100"), parse_axis("mu0=1:2:101"))), "at most 10,000 in one sweep"),
])
def test_a_bad_cell_is_named(spec: SweepSpec, fragment: str) -> None:
    with pytest.raises(ParamError) as err:
        spec.cells()
    assert fragment in str(err.value)


def test_the_spec_survives_the_project_file(tmp_path: Path) -> None:
    spec = SweepSpec(policy="mix", axes=(parse_axis("alpha=0,0.5"),), generations=4, samples=20, seed=7,
                     replicates=2, name="half")
    with Project(tmp_path / "s.collapse", create=True) as p:
        sid, ids = create_sweep(p, spec)
        (sw,), damaged = p.sweeps()
    assert damaged == [] and sw.id == sid and len(ids) == 4
    assert SweepSpec.from_json(sw.spec) == spec
    assert [(c.cell, c.values, c.group) for c in sw.cells] == [(0, {"alpha": "0"}, "half [alpha=0]"),
                                                               (1, {"alpha": "0.5"}, "half [alpha=0.5]")]
    con = sqlite3.connect(tmp_path / "s.collapse")  # readable in the plain sqlite3 shell
    assert con.execute("SELECT COUNT(*) FROM sweep_cells JOIN runs USING (group_name)").fetchone()[0] == 4
    con.close()


# ---- determinism ---------------------------------------------------------------------------------------
def dump(project: Project) -> dict[str, Any]:
    """Everything a run stored that its results determine, by run name (timestamps left out)."""
    out = {}
    for r in project.runs():
        rows = project.db.execute("SELECT g.generation, g.model, g.n_samples, g.n_stored, g.histogram, g.curve, "
                                  "g.metrics, g.note, s.data FROM generations g JOIN samples s USING (id) WHERE "
                                  "g.run_id = ? ORDER BY g.id", [r.id]).fetchall()
        out[r.name] = (r.status, r.message, r.reference, rows)
    return out


def alone(tmp_path: Path, spec: RunSpec, name: str) -> tuple:
    """One run computed alone, as `main.py run` computed runs before sweeps: drive, a commit per generation."""
    path = tmp_path / f"alone-{abs(hash(name))}.collapse"
    with Project(path, create=True) as p:
        probe = create_scenario(spec.scenario, spec.scenario_params, spec.seed, 0, spec.samples)
        rid = p.add_run(spec, name, name, probe.unit_shape(), probe.dtype)  # this replicate index, on its own
        for _ in drive(p, rid, group_seconds=0):
            pass
        return dump(p)[name]


SWEEP = SweepSpec(scenario="gaussian", axes=(parse_axis("policy=replace,mix,accumulate,accumulate-subsample"),),
                  generations=12, samples=30, seed=11, replicates=2, name="d")


def _sweep(path: Path, workers: int | None = None, scheduler: str | None = None, chunk_seconds: float = 0.0,
           spec: SweepSpec = SWEEP) -> dict[str, Any]:
    executor = make_executor(workers, scheduler)
    try:
        with Project(path, create=True) as p:
            _, ids = create_sweep(p, spec)
            compute_runs(p, ids, executor, chunk_seconds=chunk_seconds)
            return dump(p)
    finally:
        executor.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("alone")
    out = {}
    with Project(tmp / "names.collapse", create=True) as p:
        _, ids = create_sweep(p, SWEEP)
        runs = [p.run(i) for i in ids]
    for r in runs:
        out[r.name] = alone(tmp, r.spec, r.name)
    return out


def test_one_worker_matches_runs_computed_alone(tmp_path: Path, reference: dict[str, Any]) -> None:
    got = _sweep(tmp_path / "one.collapse", workers=1)
    assert got.keys() == reference.keys() and len(got) == 8
    for name in got:
        assert got[name] == reference[name], name
    assert all(status == "finished" for status, *_ in got.values())


def test_two_worker_processes_match_runs_computed_alone(tmp_path: Path, reference: dict[str, Any]) -> None:
    chunks.forget()
    got = _sweep(tmp_path / "two.collapse", workers=2)
    assert got == reference


def test_chunks_restored_from_their_state_match_a_straight_run() -> None:
    """Every chunk boundary is a resume from the shipped state (no cached simulation): still bit-identical."""
    spec = RunSpec.build("gmm", "accumulate-subsample", {}, 9, 60, 5, replicate=1)
    straight = list(Simulation(spec).run())
    got, state, g = [], None, 0
    while g <= spec.generations:
        chunks.forget()
        res = compute_chunk(ChunkTask(0, spec.to_json(), g, g + 1, state))  # two generations per chunk
        got.extend(res.records)
        state, g = res.state, g + len(res.records)
    assert [r.generation for r in got] == list(range(10))
    for a, b in zip(straight, got):
        assert a.samples.tobytes() == b.samples.tobytes()
        assert b.encoded == encode_record(a)  # model, metrics, histogram and curve as the store writes them


def test_a_dask_cluster_matches_runs_computed_alone(tmp_path: Path, reference: dict[str, Any]) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        got = _sweep(tmp_path / "dask.collapse", scheduler=cluster.scheduler_address)
    assert got == reference


# ---- faults --------------------------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[1]
FAULT_ARGS = ["--policy", "mix", "--grid", "alpha=0,0.5", "--replicates", "3", "--generations", "1500",
              "--samples", "2000", "--seed", "4", "-q"]


def _committed(path: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT COUNT(*) FROM generations").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _processes_writing(path: Path) -> list[int]:
    """Processes whose command line names this project (the sweep and its workers)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(path).encode() in cmd:
                out.append(int(entry.name))
    return out


def test_kill_minus_9_of_the_coordinator_then_resume_completes_identically(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    straight = tmp_path / "straight.collapse"
    subprocess.run([sys.executable, str(ROOT / "main.py"), "sweep", *FAULT_ARGS, "--workers", "2", "-o",
                    str(straight)], check=True, cwd=ROOT, timeout=240)
    killed = tmp_path / "killed.collapse"
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "sweep", *FAULT_ARGS, "--workers", "2", "-o",
                             str(killed)], cwd=ROOT)
    deadline = time.monotonic() + 120
    while _committed(killed) < 1500 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _committed(killed)
    deadline = time.monotonic() + 10  # its worker processes end with it
    while _processes_writing(killed) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_writing(killed) == []
    assert 1500 <= before < 6 * 1501, "the sweep finished before it could be killed; make it longer"
    info = _cli("info", str(killed)).stdout
    assert "interrupted" in info and f"resume with: python main.py sweep --resume {killed}" in info
    with Project(killed, readonly=True) as p:
        kept = {r.name: r.last_generation for r in p.runs()}
        assert any(r.status == "interrupted" and not r.complete for r in p.runs())
    res = subprocess.run([sys.executable, str(ROOT / "main.py"), "sweep", "--resume", str(killed), "--workers", "2"],
                         cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr
    with Project(killed) as p, Project(straight) as q:
        got, want = dump(p), dump(q)
        assert [sw.status for sw in p.sweeps()[0]] == ["finished"]
    assert got == want
    assert sum(kept.values()) + len(kept) >= before  # nothing committed before the kill was lost


def _worker_pids(client: Any) -> set[int]:
    """The pids of the cluster's workers, asked again while one is still restarting."""
    import time

    for _ in range(100):
        try:
            return set(client.run(os.getpid, on_error="ignore").values())
        except Exception:  # a worker that is restarting can fail the call
            time.sleep(0.1)
    raise AssertionError("the cluster's workers did not answer")


def test_a_killed_dask_worker_has_its_task_retried(tmp_path: Path) -> None:
    import signal

    distributed = pytest.importorskip("distributed")
    spec = SweepSpec(axes=(parse_axis("sigma0=1,2"),), generations=300, samples=20_000, seed=9, replicates=2,
                     name="k")
    want = _sweep(tmp_path / "inline.collapse", workers=1, spec=spec, chunk_seconds=0.3)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        victim = sorted(pids.values())[0]
        executor = make_executor(scheduler=cluster.scheduler_address)
        killed = []

        def kill_once(_c: object) -> None:
            if not killed:
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        try:
            with Project(tmp_path / "dask.collapse", create=True) as p:
                _, ids = create_sweep(p, spec)
                compute_runs(p, ids, executor, on_commit=kill_once, chunk_seconds=0.3)
                got = dump(p)
                counts = p.db.execute("SELECT run_id, COUNT(*), COUNT(DISTINCT generation) FROM generations "
                                      "GROUP BY run_id").fetchall()
        finally:
            executor.close()
        assert killed and victim not in _worker_pids(client)  # the worker really died (its nanny restarted it)
    assert all(n == distinct == 301 for _, n, distinct in counts)  # no generation missing or stored twice
    assert got == want


# ---- command line --------------------------------------------------------------------------------------
def _cli(*args: str) -> Any:
    import subprocess
    import sys

    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=240)


@pytest.mark.parametrize(("args", "fragment"), [
    (["--policy", "mix", "--grid", "alpha=0,0.5,7"], "cell 3 of 3 (alpha=7): alpha must be in [0, 1]"),
    (["--grid", "samples=10:1:log0"], "2 to 1000 values"),
    (["--grid", "nonsense=1,2"], "unknown parameter 'nonsense'"),
    (["--grid", "policy=replace,filter", "--set", "verifier=dedup"], "cell 1 of 2 (policy=replace): unknown "
                                                                     "parameter 'verifier'"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--scheduler", "nonsense"], "--scheduler must look like tcp://HOST:PORT"),
    (["--scheduler", "http://127.0.0.1:8786"], "--scheduler must look like tcp://HOST:PORT"),
])
def test_a_bad_sweep_writes_nothing(tmp_path: Path, args: list[str], fragment: str) -> None:
    out = tmp_path / "bad.collapse"
    res = _cli("sweep", *args, "-o", str(out))
    assert res.returncode == 2 and fragment in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_sweep_info_and_resume_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "s.collapse"
    res = _cli("sweep", "--policy", "mix", "--grid", "alpha=0,1", "--grid", "samples=10:100:log2",
               "--replicates", "2", "--generations", "5", "--workers", "2", "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert "4 cells x 2 replicates = 8 runs" in res.stderr
    info = _cli("info", str(out)).stdout
    assert "sweep gaussian mix sweep alpha x samples: alpha (2) x samples (2), 2 replicates per cell; cells 4/4 " \
           "done, runs 8/8, finished" in info
    assert "    [alpha=1, samples=100]: 2/2 runs done (2 finished), generations 10/10" in info
    assert "[alpha=1, samples=100] #2" not in info  # the runs of a sweep are summed up by cell...
    assert "gaussian mix sweep alpha x samples [alpha=1, samples=100] #2" in _cli("info", "--runs", str(out)).stdout
    import csv

    res = _cli("export", str(out), "--sweeps-csv", str(tmp_path / "cells.csv"), "--metrics-csv",
               str(tmp_path / "m.csv"))
    assert res.returncode == 0, res.stderr
    with open(tmp_path / "cells.csv", encoding="utf-8") as fh:
        cells = list(csv.DictReader(fh))
    assert len(cells) == 8 and set(cells[0]) == {"sweep", "cell", "run", "replicate", "alpha", "samples"}
    assert {(c["alpha"], c["samples"]) for c in cells} == {("0", "10"), ("0", "100"), ("1", "10"), ("1", "100")}
    with open(tmp_path / "m.csv", encoding="utf-8") as fh:
        metric_runs = {row["run"] for row in csv.DictReader(fh)}
    assert metric_runs == {c["run"] for c in cells}  # the two join on run
    res = _cli("sweep", "--resume", str(out))
    assert res.returncode == 0 and "every run of the sweep is complete" in res.stderr
    res = _cli("sweep", "--resume", str(out), "--grid", "alpha=0,1")
    assert res.returncode == 2 and "--grid does not go with --resume" in res.stderr


def test_run_replicates_on_two_workers_equal_each_replicate_alone(tmp_path: Path) -> None:
    out = tmp_path / "r.collapse"
    res = _cli("run", "--policy", "accumulate", "--replicates", "3", "--generations", "8", "--samples", "40",
               "--seed", "2", "--workers", "2", "-q", "-o", str(out))
    assert res.returncode == 0 and res.stderr == ""
    with Project(out) as p:
        got = dump(p)
        runs = p.runs()
    assert len(runs) == 3
    for r in runs:
        assert got[r.name] == alone(tmp_path, r.spec, r.name)


def test_a_file_error_mid_sweep_leaves_honest_statuses_and_resumes(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from core.store import ProjectError

    spec = SweepSpec(axes=(parse_axis("sigma0=1,2,3"),), generations=30, samples=40, seed=2, replicates=2, name="f")
    want = _sweep(tmp_path / "straight.collapse", workers=1, spec=spec, chunk_seconds=0.0)
    original = Project.commit_generations

    def full_disk(self, run, records, regenerable=True):  # noqa: ANN001
        if run.name == "f [sigma0=2] #2":  # fails after its group's first run was committed, as a full disk would
            raise ProjectError(f"{self.path}: the disk is full while saving generations")
        return original(self, run, records, regenerable)

    path = tmp_path / "f.collapse"
    executor = make_executor(1)
    with Project(path, create=True) as p:
        _, ids = create_sweep(p, spec)
        monkeypatch.setattr(Project, "commit_generations", full_disk)
        with pytest.raises(ProjectError, match="disk is full"):
            compute_runs(p, ids, executor, chunk_seconds=10.0)  # each cell whole in one chunk
        monkeypatch.setattr(Project, "commit_generations", original)
        status = {r.name: (r.status, r.complete) for r in p.runs()}
    done_before = ("f [sigma0=1] #1", "f [sigma0=1] #2", "f [sigma0=2] #1")
    assert all(status[name] == ("finished", True) for name in done_before)  # complete runs say so
    assert all(st == "interrupted" and not done for name, (st, done) in status.items() if name not in done_before)
    with Project(path) as p:
        compute_runs(p, [r.id for r in p.runs() if not r.complete], executor, chunk_seconds=0.0)
        got = dump(p)
    executor.close()
    assert got == want
