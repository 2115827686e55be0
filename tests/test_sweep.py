"""Sweeps: grid parsing and validation, and every run of a sweep bit-identical to the same run computed alone,
whatever computes it (this process, a pool of worker processes, a Dask cluster) and however it is chunked."""

from __future__ import annotations

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
from core.store import Project
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
    chunks._sims.clear()
    got = _sweep(tmp_path / "two.collapse", workers=2)
    assert got == reference


def test_chunks_restored_from_their_state_match_a_straight_run() -> None:
    """Every chunk boundary is a resume from the shipped state (no cached simulation): still bit-identical."""
    spec = RunSpec.build("gmm", "accumulate-subsample", {}, 9, 60, 5, replicate=1)
    straight = list(Simulation(spec).run())
    got, state, g = [], None, 0
    while g <= spec.generations:
        chunks._sims.clear()
        res = compute_chunk(ChunkTask(0, spec.to_json(), g, g + 1, state))  # two generations per chunk
        got.extend(res.records)
        state, g = res.state, g + len(res.records)
    assert [r.generation for r in got] == list(range(10))
    for a, b in zip(straight, got):
        assert a.samples.tobytes() == b.samples.tobytes() and a.metrics == b.metrics
        assert a.model_params == b.model_params


def test_a_dask_cluster_matches_runs_computed_alone(tmp_path: Path, reference: dict[str, Any]) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        got = _sweep(tmp_path / "dask.collapse", scheduler=cluster.scheduler_address)
    assert got == reference
