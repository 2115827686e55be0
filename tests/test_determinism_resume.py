"""Same inputs and seed give bit-identical stored results; a run resumed at generation k equals the
run done straight through, for every policy (and with a samples reservoir, via regeneration)."""

from pathlib import Path

import pytest

from core.engine import RunSpec
from core.runner import create_runs, drive, resumable
from core.store import Project
from tests.simulate import drive_until

CASES = [
    ("gaussian", "replace", {}),
    ("gaussian", "mix", {"alpha": "0.3", "real": "fresh"}),
    ("gaussian", "mix", {"alpha": "0.3", "real": "fixed"}),
    ("gaussian", "accumulate", {}),
    ("gaussian", "accumulate-subsample", {"train_size": "50"}),
    ("gaussian", "filter", {"verifier": "ratio"}),
    ("gaussian", "filter", {"verifier": "likelihood", "threshold": "0.1"}),
    ("gaussian", "multi-source", {"sources": "3"}),
    ("gaussian", "multi-source", {"families": "gaussian,kde", "shares": "2,1"}),
    ("gmm", "replace", {}),
    ("gmm", "mix", {"dims": "2", "alpha": "0.5"}),
    ("kde", "accumulate", {}),
]


def _dump(project: Project, run_id: int) -> list[tuple]:
    info = project.run(run_id)
    out = []
    for g in range(info.last_generation + 1):
        row = project.generation_row(run_id, g)
        metrics = {}
        for m in project.metric_names(run_id):
            gens, vals = project.metric_series(run_id, m)
            hit = vals[gens == g]
            if len(hit):
                metrics[m] = hit.tobytes()
        out.append((g, project.samples(info, g).tobytes(), row["model"], row["histogram"].tobytes(),
                    None if row["curve"] is None else row["curve"].tobytes(), sorted(metrics.items())))
    return out


def _straight(path: Path, spec: RunSpec, budget: int = 10**6) -> list[tuple]:
    with Project(path, create=True) as p:
        (rid,) = create_runs(p, spec, samples_budget=budget)
        for _ in drive(p, rid):
            pass
        assert p.run(rid).status == "finished"
        return _dump(p, rid)


@pytest.mark.parametrize(("scenario", "policy", "settings"), CASES)
def test_resumed_run_equals_straight_run(tmp_path: Path, scenario: str, policy: str, settings: dict) -> None:
    spec = RunSpec.build(scenario, policy, settings, 12, 60, 5)
    straight = _straight(tmp_path / "a.collapse", spec)
    with Project(tmp_path / "b.collapse", create=True) as p:
        (rid,) = create_runs(p, spec)
        drive_until(p, rid, 5)
        assert p.run(rid).status == "interrupted"
        assert p.run(rid).last_generation == 5
    with Project(tmp_path / "b.collapse") as p:  # reopen, like a new process would
        for _ in drive(p, rid):
            pass
        assert p.run(rid).status == "finished"
        resumed = _dump(p, rid)
    assert len(resumed) == len(straight) == 13
    for a, b in zip(straight, resumed):
        assert a == b, f"generation {a[0]} differs"


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    spec = RunSpec.build("gaussian", "mix", {"alpha": "0.2"}, 8, 100, 42)
    a = _straight(tmp_path / "a.collapse", spec)
    b = _straight(tmp_path / "b.collapse", spec)
    c = _straight(tmp_path / "c.collapse", RunSpec.build("gaussian", "mix", {"alpha": "0.2"}, 8, 100, 43))
    assert a == b
    assert a[3][1] != c[3][1]


def test_replicates_differ_and_form_a_group(tmp_path: Path) -> None:
    spec = RunSpec.build("gaussian", "replace", {}, 3, 50, 1)
    with Project(tmp_path / "r.collapse", create=True) as p:
        ids = create_runs(p, spec, replicates=3, name="grp")
        for rid in ids:
            for _ in drive(p, rid):
                pass
        runs = p.runs()
        assert [r.group for r in runs] == ["grp"] * 3
        assert [r.replicate for r in runs] == [0, 1, 2]
        s = [p.samples(r, 2).tobytes() for r in runs]
        assert len(set(s)) == 3


def test_reservoir_keeps_budget_and_resume_regenerates_exactly(tmp_path: Path) -> None:
    spec = RunSpec.build("gaussian", "accumulate", {}, 6, 500, 9)
    straight = _straight(tmp_path / "a.collapse", spec, budget=100)
    with Project(tmp_path / "a.collapse") as p:
        info = p.runs()[0]
        assert len(p.samples(info, 0)) == 500  # generation 0, the real data, is always stored whole
        assert len(p.samples(info, 3)) == 100
        assert p.generation_row(info.id, 3)["n_samples"] == 500
    with Project(tmp_path / "b.collapse", create=True) as p:
        (rid,) = create_runs(p, spec, samples_budget=100)
        drive_until(p, rid, 3)
        for _ in drive(p, rid):
            pass
        assert _dump(p, rid) == straight


def test_extend_a_finished_run(tmp_path: Path) -> None:
    spec = RunSpec.build("gaussian", "replace", {}, 4, 30, 3)
    longer = _straight(tmp_path / "long.collapse", RunSpec.build("gaussian", "replace", {}, 8, 30, 3))
    with Project(tmp_path / "x.collapse", create=True) as p:
        (rid,) = create_runs(p, spec)
        for _ in drive(p, rid):
            pass
        assert resumable(p) == []
        p.extend_run(rid, 8)
        assert p.run(rid).status == "interrupted" and not p.run(rid).complete
        assert resumable(p) == [rid]
        for _ in drive(p, rid):
            pass
        assert _dump(p, rid) == longer
