"""Drive a stored run: the engine's generations committed one by one, with status kept honest.

``drive`` is the one loop both the CLI and the GUI worker iterate; closing the generator between
generations pauses the run (status ``interrupted``, resumable), an exception marks it ``failed``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from core.engine import GenerationRecord, RunEnded, RunSpec, Simulation
from core.params import ParamError
from core.scenarios import create_scenario
from core.store import (
    DEFAULT_SAMPLES_BUDGET,
    Project,
    ProjectError,
    RunInfo,
    clean_run_name,
    library_versions,
)


def default_run_name(spec: RunSpec) -> str:
    """A readable default name: scenario, policy and its key setting."""
    extra = ""
    if spec.policy == "mix":
        extra = f" {spec.policy_params['alpha']:g} {spec.policy_params['real']}"
    elif spec.policy == "filter":
        extra = f" {spec.policy_params['verifier']}"
    return f"{spec.scenario} {spec.policy}{extra}"


MAX_REPLICATES = 1000  # runs in one replicate group


def create_runs(project: Project, spec: RunSpec, replicates: int = 1, name: str | None = None,
                samples_budget: int = DEFAULT_SAMPLES_BUDGET) -> list[int]:
    """Add R runs differing only in replicate index (one group) and return their ids."""
    if not 1 <= replicates <= MAX_REPLICATES:
        raise ProjectError(f"replicates must be in [1, {MAX_REPLICATES}], got {replicates}")
    group = project.unique_name(clean_run_name(name) if name is not None else default_run_name(spec))
    probe = create_scenario(spec.scenario, spec.scenario_params, spec.seed, 0, spec.samples)
    ids = []
    for r in range(replicates):
        rspec = RunSpec.from_json({**spec.to_json(), "replicate": r})
        run_name = group if replicates == 1 else f"{group} #{r + 1}"
        ids.append(project.add_run(rspec, project.unique_name(run_name), group, probe.unit_shape(), probe.dtype,
                                   samples_budget))
    return ids


def drive(project: Project, run_id: int) -> Iterator[GenerationRecord]:
    """Compute and commit a run's remaining generations, yielding each one after it is committed."""
    info = project.run(run_id)
    start = info.last_generation + 1
    if start > info.spec.generations:
        if info.status != "finished":
            project.set_status(run_id, "finished", info.message)
        return
    try:
        sim = Simulation(info.spec)
    except ParamError as exc:  # e.g. a csv run whose file has gone: a problem with files, not with arguments
        raise ProjectError(f"run {info.name!r} cannot continue: {exc}") from None
    regenerable = sim.policy.regenerable()

    def load(g: int) -> np.ndarray:
        row = project.generation_row(run_id, g)
        if row["n_stored"] == row["n_samples"]:
            return project.samples(info, g)
        if not regenerable:
            raise RunEnded(f"cannot resume: generation {g} stored only a reservoir of its samples")
        return sim.regenerate(g, row["model"])

    project.enable_wal()
    project.set_status(run_id, "running", None)
    last = start - 1
    try:
        last_model = project.generation_row(run_id, start - 1)["model"] if start > 0 else None
        for rec in sim.run(start, load, last_model):
            if rec.generation == 0:
                project.set_reference(run_id, sim.scenario.ref)
            project.commit_generation(info, rec, regenerable)
            last = rec.generation
            yield rec
    except GeneratorExit:
        _safe_status(project, run_id, "interrupted", f"paused after generation {last}; resume to continue")
        raise
    except RunEnded as exc:
        project.set_status(run_id, "finished", str(exc))
        return
    except ProjectError:
        _safe_status(project, run_id, "interrupted", f"stopped after generation {last} by a file error")
        raise
    except ParamError as exc:  # raised while restoring, e.g. a csv file that changed since the run started
        _safe_status(project, run_id, "interrupted", str(exc))
        raise ProjectError(f"run {info.name!r} cannot continue: {exc}") from None
    except Exception as exc:
        _safe_status(project, run_id, "failed", f"generation {last + 1}: {type(exc).__name__}: {exc}")
        raise
    project.set_status(run_id, "finished", project.last_note(run_id))


def _safe_status(project: Project, run_id: int, status: str, message: str) -> None:
    try:
        project.set_status(run_id, status, message)
    except ProjectError:
        pass


def resumable(project: Project, name: str | None = None) -> list[int]:
    """Ids of incomplete runs that stopped early (interrupted or failed), optionally with this name or group.

    A run that ended on purpose (status finished, e.g. "the verifier rejected every sample") is not
    resumable; extend it first (``Project.extend_run``), which marks it interrupted again.
    """
    runs = project.find_runs(name) if name else project.runs()
    return [r.id for r in runs if not r.complete and r.status in ("interrupted", "failed")]


_RESULT_LIBRARIES = ("collapse_lab", "numpy", "scipy", "scikit_learn")  # what a run's numbers depend on


def version_change(run: RunInfo) -> str | None:
    """A note when this run was started by other versions of the libraries its results depend on than the
    ones that would continue it (its later generations may then differ in the last bits from a straight run)."""
    now = library_versions()
    changed = [k for k in _RESULT_LIBRARIES if run.versions.get(k) not in (None, now[k])]
    if not changed:
        return None
    was = ", ".join(f"{k.replace('_', '-')} {run.versions[k]}" for k in changed)
    will = ", ".join(f"{now[k]}" for k in changed)
    if "collapse_lab" in changed:  # its random streams or computations may have changed, not just rounding
        effect = "its next generations will not match a run done straight through with either version"
    else:
        effect = "its next generations may differ in the last bits from a run done straight through with either"
    return f"run {run.name!r} was started with {was} and continues with {will}: {effect}"
