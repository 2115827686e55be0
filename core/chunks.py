"""What a worker computes: a chunk of generations of one run, or of several replicates in lockstep, each from
the state its previous chunk ended in.

Workers never touch a project file. A task carries each run's spec, the generations to compute and the state
to continue from (the samples the policy still needs and the last model's parameters, exactly what resuming a
stored run reads from the file), so computing a run in chunks is resuming it at every chunk boundary, which
is bit-identical to computing it straight through (tests/test_determinism_resume.py). A worker process keeps
the last few simulations it computed, so a run whose next chunk lands on the same worker continues without
restoring; the result is the same either way.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.engine import GenerationRecord, RunEnded, RunSpec, Simulation
from core.params import ParamError
from core.store import encode_record

CHUNK_SECONDS = 0.2  # a worker returns after about this much work: what a crash of the coordinator can lose
CHUNK_BYTES = 32 << 20  # and before its samples exceed this (bounds the coordinator's memory per task)
CHUNK_GENERATIONS = 20_000
_CACHE_VALUES = 4_000_000  # samples per generation of the simulations a worker keeps for their next chunk
_cached_values = 0


@dataclass
class RunState:
    """What a run needs to continue at ``next_generation``: the samples its policy reads and the last model."""

    next_generation: int
    samples: dict[int, np.ndarray]
    last_model: dict[str, Any]
    policy_state: Any = None  # what the policy carries besides samples (e.g. accumulate's pool statistics)


@dataclass
class ChunkTask:
    """Compute generations ``start..stop`` (inclusive) of one run; ``state`` is None when start is 0."""

    key: int  # the run's id in the coordinator's project (only echoed back)
    spec: dict[str, Any]
    start: int
    stop: int
    state: RunState | None
    seconds: float = CHUNK_SECONDS
    max_bytes: int = CHUNK_BYTES


@dataclass
class ChunkResult:
    """The finished generations of a task, the state to continue from, and how the chunk ended."""

    key: int
    records: list[GenerationRecord]
    work: list[float]  # seconds of computing spent on each record
    state: RunState | None  # None when the run ended or failed
    ended: str | None = None  # the run cannot continue (RunEnded): finished early, with this message
    error: str | None = None  # computing failed: the run is marked failed (or interrupted) with this
    error_kind: str = "failed"
    regenerable: bool = True
    reference: dict[str, Any] | None = None


_sims: OrderedDict[tuple[str, int], Simulation] = OrderedDict()


def _spec_key(spec: dict[str, Any]) -> str:
    return json.dumps(spec, sort_keys=True)


def _simulation(task: ChunkTask) -> Simulation:
    """A simulation ready to compute ``task.start``: a cached one that stopped there, or one restored."""
    global _cached_values
    key = (_spec_key(task.spec), task.start)
    sim = _sims.pop(key, None)
    if sim is not None:
        _cached_values -= sim.spec.samples
        return sim
    sim = Simulation(RunSpec.from_json(task.spec))
    if task.start > 0:
        state = task.state
        if state is None or state.next_generation != task.start:
            raise ValueError(f"a chunk starting at generation {task.start} needs the run's state there")
        sim.restore(task.start, state.samples.__getitem__, state.last_model, state.policy_state)
    return sim


@dataclass
class GroupTask:
    """Chunks of several runs that start at the same generation, computed in lockstep: every generation is drawn
    run by run and measured for all of them in one array pass (``Simulation.measure``)."""

    members: list[ChunkTask]


def compute_chunk(task: ChunkTask) -> ChunkResult:
    """Compute a chunk of one run's generations."""
    return compute_group(GroupTask([task]))[0]


def compute_group(task: GroupTask) -> list[ChunkResult]:
    """Compute a chunk of each member run (the function a worker process or a Dask worker runs)."""
    first = task.members[0]
    start, stop = first.start, first.stop
    results: dict[int, ChunkResult] = {}
    live: list[tuple[ChunkTask, Simulation]] = []
    for member in task.members:
        try:
            live.append((member, _simulation(member)))
        except ParamError as exc:  # e.g. a csv run whose file has gone: the run stops, resumable
            results[member.key] = ChunkResult(member.key, [], [], None, error=str(exc), error_kind="interrupted")
        except RunEnded as exc:
            results[member.key] = ChunkResult(member.key, [], [], None, ended=str(exc))
        except Exception as exc:
            results[member.key] = ChunkResult(member.key, [], [], None, error=f"{type(exc).__name__}: {exc}")
    sims = {m.key: sim for m, sim in live}
    records: dict[int, list[GenerationRecord]] = {m.key: [] for m, _ in live}
    work: dict[int, list[float]] = {m.key: [] for m, _ in live}
    ended: dict[int, str] = {}
    error: dict[int, str] = {}
    started = last = time.perf_counter()
    size = 0
    g = start
    while g <= min(stop, max((sim.spec.generations for _, sim in live), default=-1)) and live:
        drawn, going = [], []
        for member, sim in live:
            if g > sim.spec.generations:
                continue
            try:
                drawn.append(sim.draw_first() if g == 0 else sim.draw(g))
                going.append((member, sim))
            except RunEnded as exc:
                ended[member.key] = str(exc)
            except Exception as exc:
                error[member.key] = f"generation {g}: {type(exc).__name__}: {exc}"
        try:
            measured = Simulation.measure([sim for _, sim in going], drawn) if going else []
        except Exception as exc:
            for member, _ in going:
                error[member.key] = f"generation {g}: {type(exc).__name__}: {exc}"
            going, measured = [], []
        now = time.perf_counter()
        share = (now - last) / max(len(going), 1)
        last = now
        for (member, _), rec in zip(going, measured):
            records[member.key].append(rec)
            work[member.key].append(share)
            size += rec.samples.nbytes
        live = going
        g += 1
        if now - started >= first.seconds or size >= first.max_bytes or g - start >= CHUNK_GENERATIONS:
            break
    for member in task.members:
        if member.key in results:
            continue
        results[member.key] = _finish(member, sims[member.key], records[member.key], work[member.key],
                                      ended.get(member.key), error.get(member.key))
    return [results[m.key] for m in task.members]


def _finish(task: ChunkTask, sim: Simulation, records: list[GenerationRecord], work: list[float], ended: str | None,
            error: str | None) -> ChunkResult:
    """One member's result: its records encoded, and the state it continues from (the simulation kept)."""
    reference = sim.scenario.ref if task.start == 0 and records else None
    last_model = records[-1].model_params if records else (task.state.last_model if task.state else {})
    for rec in records:  # encoded here, in parallel, rather than by the one process that writes the file
        rec.encoded = encode_record(rec)
        rec.model_params, rec.metrics = {}, {}
    regenerable = sim.policy.regenerable()
    g = task.start + len(records)
    if ended or error or g > sim.spec.generations:
        return ChunkResult(task.key, records, work, None, ended, error, regenerable=regenerable, reference=reference)
    state = RunState(g, {k: sim.history.samples[k] for k in sim.policy.needed(g)},
                     last_model, sim.policy.get_state())
    _remember(_spec_key(task.spec), g, sim)
    return ChunkResult(task.key, records, work, state, regenerable=regenerable, reference=reference)


def _remember(spec_key: str, generation: int, sim: Simulation) -> None:
    """Keep a simulation for its run's next chunk, within a bound on the samples kept."""
    global _cached_values
    _sims[(spec_key, generation)] = sim
    _cached_values += sim.spec.samples
    while _cached_values > _CACHE_VALUES and len(_sims) > 1:
        _, old = _sims.popitem(last=False)
        _cached_values -= old.spec.samples


def forget() -> None:
    """Drop the kept simulations (tests use it to make every chunk restore from its shipped state)."""
    global _cached_values
    _sims.clear()
    _cached_values = 0


def warm_up() -> int:
    """A no-op task: starts a worker process and imports what computing needs."""
    import os

    return os.getpid()
