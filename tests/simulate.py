"""Test helpers: run many replicates through the real engine (no store) and collect metric matrices; drive a
stored run part of the way, as a pause or crash leaves it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from core.engine import RunSpec, Simulation
from core.runner import create_runs, drive
from core.store import Project


def simulate(scenario: str, policy: str, settings: dict[str, Any], generations: int, samples: int,
             replicates: int, seed: int = 12345) -> dict[str, np.ndarray]:
    """metric -> array (replicates, generations + 1) of values from real engine runs."""
    spec = RunSpec.build(scenario, policy, settings, generations, samples, seed)
    out: dict[str, list[list[float]]] = {}
    for r in range(replicates):
        sim = Simulation(RunSpec.from_json({**spec.to_json(), "replicate": r}))
        rows = [rec.metrics for rec in sim.run()]
        for name in rows[-1]:
            out.setdefault(name, []).append([row.get(name, np.nan) for row in rows])
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def within_se(values: np.ndarray, expected: float, k: float = 4.0) -> tuple[bool, str]:
    """|mean - expected| <= k standard errors of the mean; with a message for the assertion."""
    values = np.asarray(values, dtype=np.float64)
    mean = float(values.mean())
    se = float(values.std(ddof=1) / np.sqrt(len(values)))
    ok = abs(mean - expected) <= k * se
    return ok, f"mean {mean:.6g} vs theory {expected:.6g}: {abs(mean - expected) / se if se else float('inf'):.2f} SE"


def drive_until(project: Project, run_id: int, generation: int) -> None:
    """Compute and commit a stored run up to `generation`, then stop it there (it is left interrupted)."""
    it = drive(project, run_id, group_seconds=0)
    for rec in it:
        if rec.generation == generation:
            break
    it.close()


def straight_and_resumed(tmp_path: Path, spec: RunSpec, stop_at: int, budget: int,
                         dump: Callable[[Project, int], Any]) -> tuple[Any, Any]:
    """`dump` of the run done straight through, and of the same run paused after generation `stop_at`, then
    resumed in a reopened project (which must end finished)."""
    with Project(tmp_path / "straight.collapse", create=True) as p:
        (rid,) = create_runs(p, spec, samples_budget=budget)
        for _ in drive(p, rid):
            pass
        straight = dump(p, rid)
    with Project(tmp_path / "resumed.collapse", create=True) as p:
        (rid,) = create_runs(p, spec, samples_budget=budget)
        drive_until(p, rid, stop_at)
    with Project(tmp_path / "resumed.collapse") as p:
        for _ in drive(p, rid):
            pass
        assert p.run(rid).status == "finished"
        resumed = dump(p, rid)
    return straight, resumed
