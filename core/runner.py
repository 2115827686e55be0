"""Drive a stored run: the engine's generations committed one by one, with status kept honest.

``drive`` is the one loop both the CLI and the GUI worker iterate; closing the generator between
generations pauses the run (status ``interrupted``, resumable), an exception marks it ``failed``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from core.engine import GenerationRecord, RunEnded, RunSpec, Simulation
from core.params import ParamError
from core.resume_state import DamagedState, restore_stored
from core.scenarios import create_scenario
from core.spec import MAX_REPLICATES
from core.store import (
    DEFAULT_SAMPLES_BUDGET,
    MAX_NAME_LENGTH,
    Project,
    ProjectError,
    RunInfo,
    clean_run_name,
    library_versions,
)
from core.sweep import Cell, SweepSpec


def default_run_name(spec: RunSpec) -> str:
    """A readable default name: scenario, policy and its key setting."""
    extra = ""
    if spec.policy == "mix":
        extra = f" {spec.policy_params['alpha']:g} {spec.policy_params['real']}"
    elif spec.policy == "filter":
        extra = f" {spec.policy_params['verifier']}"
    return f"{spec.scenario} {spec.policy}{extra}"




def create_runs(project: Project, spec: RunSpec, replicates: int = 1, name: str | None = None,
                samples_budget: int = DEFAULT_SAMPLES_BUDGET) -> list[int]:
    """Add R runs differing only in replicate index (one group) and return their ids."""
    if not 1 <= replicates <= MAX_REPLICATES:
        raise ProjectError(f"replicates must be in [1, {MAX_REPLICATES}], got {replicates}")
    names = project.taken_names()
    group = project.unique_name(clean_run_name(name) if name is not None else default_run_name(spec), names)
    names.add(group)
    probe = create_scenario(spec.scenario, spec.scenario_params, spec.seed, 0, spec.samples)
    ids = []
    with project.atomic("adding runs"):  # all replicates or none
        for r in range(replicates):
            rspec = RunSpec.from_json({**spec.to_json(), "replicate": r})
            run_name = group if replicates == 1 else project.unique_name(f"{group} #{r + 1}", names)
            names.add(run_name)
            ids.append(project.add_run(rspec, run_name, group, probe.unit_shape(), probe.dtype, samples_budget))
    return ids


def sweep_group_name(sweep: str, cell: Cell) -> str:
    """The replicate group of one sweep cell: the sweep's name and the cell's values."""
    return f"{sweep} [{cell.label()}]"


def create_sweep(project: Project, sweep: SweepSpec, cells: list[Cell] | None = None,
                 samples_budget: int = DEFAULT_SAMPLES_BUDGET) -> tuple[int, list[int]]:
    """Record a validated sweep and create the runs of every cell, all in one transaction; (sweep id, run ids)."""
    cells = sweep.cells() if cells is None else cells
    base = clean_run_name(sweep.name) if sweep.name is not None else sweep.default_name()
    name = project.unique_name(base, project.sweep_names())
    longest = max((sweep_group_name(name, c) for c in cells), key=len)
    if len(longest) + (len(f" #{sweep.replicates}") if sweep.replicates > 1 else 0) > MAX_NAME_LENGTH:
        raise ProjectError(f"the sweep's run names would be longer than {MAX_NAME_LENGTH} characters (e.g. "
                           f"{longest!r}); give a shorter --name")
    run_ids: list[int] = []
    with project.atomic("adding a sweep"):
        groups = []
        for cell in cells:
            spec = RunSpec.from_json({**cell.spec.to_json(), "seed": sweep.seed})
            ids = create_runs(project, spec, sweep.replicates, sweep_group_name(name, cell), samples_budget)
            run_ids.extend(ids)
            groups.append((cell.index, cell.values, project.run(ids[0]).group))
        sweep_id = project.add_sweep(name, {**sweep.to_json(), "name": name}, groups)
    return sweep_id, run_ids


GROUP_SECONDS = 0.05  # group commit: at most this much computing per transaction (what a crash can lose)


def drive(project: Project, run_id: int, group_seconds: float | None = None) -> Iterator[GenerationRecord]:
    """Compute and commit a run's remaining generations, yielding each one after it is committed.

    Generations are committed together while they take less than ``group_seconds`` of computing (small
    generations cost more to commit one by one than to compute); 0 commits every generation on its own.
    """
    group_seconds = GROUP_SECONDS if group_seconds is None else group_seconds
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
    if start > 0:
        try:
            restore_stored(project, info, sim, start)
        except RunEnded as exc:
            project.set_status(run_id, "finished", str(exc))
            return
        except (DamagedState, ParamError) as exc:
            reason = str(exc) if isinstance(exc, DamagedState) else f"run {info.name!r} cannot continue: {exc}"
            safe_status(project, run_id, "interrupted", reason[:2000])
            raise (exc if isinstance(exc, DamagedState) else ProjectError(reason)) from None

    project.enable_wal()
    project.claim([run_id])
    last = start - 1
    pending: list[GenerationRecord] = []
    target = info.spec.generations
    try:
        batch_start = time.perf_counter()
        for rec in sim.run(start):
            if rec.generation == 0:
                project.set_reference(run_id, sim.scenario.ref)
            pending.append(rec)
            if time.perf_counter() - batch_start < group_seconds and rec.generation < target:
                continue
            project.commit_generations(info, pending, regenerable)
            committed, pending = pending, []
            last = rec.generation
            for done in committed:
                yield done
            batch_start = time.perf_counter()
    except KeyboardInterrupt:  # Ctrl-C while computing: keep what was computed, leave the run resumable
        try:
            if pending:
                project.commit_generations(info, pending, regenerable)
                last = pending[-1].generation
        finally:
            safe_status(project, run_id, "interrupted", f"interrupted after generation {last}; resume to continue")
        raise
    except GeneratorExit:
        safe_status(project, run_id, "interrupted", f"paused after generation {last}; resume to continue")
        raise
    except RunEnded as exc:
        if pending:  # the generations before the one that could not be made are kept
            project.commit_generations(info, pending, regenerable)
            for done in pending:
                yield done
        project.set_status(run_id, "finished", str(exc))
        return
    except ProjectError:
        safe_status(project, run_id, "interrupted", f"stopped after generation {last} by a file error")
        raise
    except ParamError as exc:  # raised while restoring, e.g. a csv file that changed since the run started
        safe_status(project, run_id, "interrupted", str(exc))
        raise ProjectError(f"run {info.name!r} cannot continue: {exc}") from None
    except Exception as exc:
        safe_status(project, run_id, "failed", f"generation {last + 1}: {type(exc).__name__}: {exc}")
        raise
    project.set_status(run_id, "finished", project.last_note(run_id))


def safe_status(project: Project, run_id: int, status: str, message: str) -> None:
    """Record a run's status if the file lets us (it may be the file that failed)."""
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
