"""What a worker computes: a chunk of one run's generations, from the state the run's previous chunk ended in.

Workers never touch a project file. A task carries the run's spec, the generations to compute and the state
to continue from (the samples the policy still needs and the last model's parameters, exactly what resuming a
stored run reads from the file), so computing a run in chunks is resuming it at every chunk boundary, which
is bit-identical to computing it straight through (tests/test_determinism_resume.py). A worker process keeps
the last few simulations it computed, so a run whose next chunk lands on the same worker continues without
restoring; the result is the same either way.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.engine import GenerationRecord, RunEnded, RunSpec, Simulation
from core.params import ParamError
from core.store import encode_record

CHUNK_SECONDS = 0.2  # a worker returns after about this much work: what a crash of the coordinator can lose
CHUNK_BYTES = 32 << 20  # and before its samples exceed this (bounds the coordinator's memory per task)
CHUNK_GENERATIONS = 20_000
_CACHE_SIZE = 4


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
    stats: dict[str, float] = field(default_factory=dict)


_sims: OrderedDict[tuple[str, int], Simulation] = OrderedDict()


def _spec_key(spec: dict[str, Any]) -> str:
    import json

    return json.dumps(spec, sort_keys=True)


def _simulation(task: ChunkTask) -> Simulation:
    """A simulation ready to compute ``task.start``: a cached one that stopped there, or one restored."""
    key = (_spec_key(task.spec), task.start)
    sim = _sims.pop(key, None)
    if sim is not None:
        return sim
    sim = Simulation(RunSpec.from_json(task.spec))
    if task.start > 0:
        state = task.state
        if state is None or state.next_generation != task.start:
            raise ValueError(f"a chunk starting at generation {task.start} needs the run's state there")
        sim.restore(task.start, state.samples.__getitem__, state.last_model, state.policy_state)
    return sim


def compute_chunk(task: ChunkTask) -> ChunkResult:
    """Compute a chunk of one run's generations (the function a worker process or a Dask worker runs)."""
    try:
        sim = _simulation(task)
    except ParamError as exc:  # e.g. a csv run whose file has gone: the run stops, resumable
        return ChunkResult(task.key, [], [], None, error=str(exc), error_kind="interrupted")
    except RunEnded as exc:
        return ChunkResult(task.key, [], [], None, ended=str(exc))
    except Exception as exc:
        return ChunkResult(task.key, [], [], None, error=f"{type(exc).__name__}: {exc}")
    records: list[GenerationRecord] = []
    work: list[float] = []
    started = time.perf_counter()
    last = started
    size = 0
    ended = error = None
    g = task.start
    try:
        while g <= task.stop:
            rec = sim.first() if g == 0 else sim.step(g)
            now = time.perf_counter()
            records.append(rec)
            work.append(now - last)
            last = now
            size += rec.samples.nbytes
            g += 1
            if now - started >= task.seconds or size >= task.max_bytes or len(records) >= CHUNK_GENERATIONS:
                break
    except RunEnded as exc:
        ended = str(exc)
    except Exception as exc:
        error = f"generation {g}: {type(exc).__name__}: {exc}"
    reference = sim.scenario.ref if task.start == 0 and records else None
    last_model = records[-1].model_params if records else (task.state.last_model if task.state else {})
    for rec in records:  # encoded here, in parallel, rather than by the one process that writes the file
        rec.encoded = encode_record(rec)
        rec.model_params, rec.metrics = {}, {}
    regenerable = sim.policy.regenerable()
    if ended or error or g > sim.spec.generations:
        return ChunkResult(task.key, records, work, None, ended, error, regenerable=regenerable, reference=reference)
    state = RunState(g, {k: sim.history.samples[k] for k in sim.policy.needed(g)},
                     last_model, sim.policy.get_state())
    if len(_sims) >= _CACHE_SIZE:
        _sims.popitem(last=False)
    _sims[(_spec_key(task.spec), g)] = sim
    return ChunkResult(task.key, records, work, state, regenerable=regenerable, reference=reference)


def warm_up() -> int:
    """A no-op task: starts a worker process and imports what computing needs."""
    import os

    return os.getpid()
