"""What determines a run (RunSpec) and what one finished generation is (GenerationRecord): light to import.

The project store, the command line's `info` and `export` and the sweep specification need these without the
scenarios and their numeric libraries; ``RunSpec.build`` imports the scenario and policy registries when it
validates settings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from core.params import ParamError

MAX_GENERATIONS = 1_000_000
MAX_SAMPLES = 50_000_000


class RunEnded(Exception):
    """The loop cannot continue (e.g. nothing left to train on); the message says why, for the user."""


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines a run's results."""

    scenario: str
    policy: str
    scenario_params: dict[str, Any]
    policy_params: dict[str, Any]
    generations: int
    samples: int
    seed: int
    replicate: int = 0

    @classmethod
    def build(cls, scenario: str, policy: str, settings: dict[str, Any], generations: int, samples: int,
              seed: int, replicate: int = 0, files: bool = True) -> RunSpec:
        """Validate and split `key=value` settings between the scenario's and the policy's schemas (with
        ``files=False``, files the settings name, such as a CSV, are not read)."""
        from core.policies import policy_class, resolve_policy_params
        from core.scenarios import resolve_scenario_params, scenario_class

        s_cls = scenario_class(scenario)
        p_cls = policy_class(policy)
        if not 1 <= generations <= MAX_GENERATIONS:
            raise ParamError(f"generations must be in [1, {MAX_GENERATIONS}], got {generations}", param="generations")
        if not 1 <= samples <= MAX_SAMPLES:
            raise ParamError(f"samples must be in [1, {MAX_SAMPLES}], got {samples}", param="samples")
        if not 0 <= seed < 2**63:
            raise ParamError(f"seed must be a non-negative whole number, got {seed}", param="seed")
        s_names = {p.name for p in s_cls.schema}
        p_names = {p.name for p in p_cls.schema}
        s_given = {k: v for k, v in settings.items() if k in s_names}
        p_given = {k: v for k, v in settings.items() if k in p_names}
        unknown = sorted(set(settings) - s_names - p_names)
        if unknown:
            known = ", ".join(sorted(s_names | p_names)) or "none"
            raise ParamError(f"unknown parameter {unknown[0]!r} for scenario {scenario} with policy {policy} "
                             f"(known: {known})")
        s_params = resolve_scenario_params(scenario, s_given)
        p_params = resolve_policy_params(policy, p_given)
        cap = s_cls.variant(s_params).max_samples
        if samples > cap:
            raise ParamError(f"{scenario} takes at most {cap:,} samples per generation (one generation would "
                             f"take minutes or several GB beyond that), got {samples:,}", param="samples")
        if files:
            s_cls.variant(s_params).check_files(s_params)
        s_cls.variant(s_params).check(s_params, samples)
        p_cls.check(p_params, s_cls.variant(s_params), samples)
        _check_pool_memory(s_cls.variant(s_params), s_params, p_cls, generations, samples)
        return cls(scenario, policy, s_params, p_params, generations, samples, seed, replicate)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RunSpec:
        """A spec from what ``to_json`` gave in this process (trusted: see ``from_stored`` for a file's)."""
        return cls(**d)

    @classmethod
    def from_stored(cls, d: Any) -> RunSpec:
        """A spec read from a project file, validated as the command line validates one: ParamError when it is
        not an object of the fields ``to_json`` writes, or its settings are not valid (files are not read)."""
        if not isinstance(d, dict):
            raise ParamError("the run's settings are not a JSON object")
        fields = set(cls.__dataclass_fields__)
        if set(d) != fields:
            odd = sorted(set(d) ^ fields)
            raise ParamError(f"the run's settings {'lack' if odd[0] in fields else 'hold an unknown'} field {odd[0]!r}")
        for key in ("scenario", "policy"):
            if not isinstance(d[key], str):
                raise ParamError(f"the run's {key} is not a name")
        for key in ("scenario_params", "policy_params"):
            if not isinstance(d[key], dict):
                raise ParamError(f"the run's {key} are not a JSON object")
        for key in ("generations", "samples", "seed", "replicate"):
            if isinstance(d[key], bool) or not isinstance(d[key], int):
                raise ParamError(f"the run's {key} must be a whole number, found {str(d[key])[:40]!r}")
        if not 0 <= d["replicate"] < 2**31:
            raise ParamError(f"the run's replicate must be in [0, 2^31), found {d['replicate']}")
        both = sorted(set(d["scenario_params"]) & set(d["policy_params"]))
        if both:
            raise ParamError(f"the run's setting {both[0]!r} is given twice")
        settings = {**d["scenario_params"], **d["policy_params"]}
        for k, v in settings.items():
            if isinstance(v, str) and any(p.kind not in ("str", "path", "choice") for p in _schema(d, k)):
                # the command line parses text; a stored number must be a number
                raise ParamError(f"{k} must be {'a number' if v else 'given'}, found text {v[:40]!r}", param=k)
        return cls.build(d["scenario"], d["policy"], settings, d["generations"], d["samples"], d["seed"],
                         d["replicate"], files=False)

    def theory_run(self) -> dict[str, Any]:
        """The settings a scenario's closed forms need."""
        return {"policy": self.policy, "params": {**self.scenario_params, **self.policy_params},
                "samples": self.samples}


def _schema(d: dict[str, Any], name: str) -> list[Any]:
    """The parameters called `name` in the schemas of a stored spec's scenario and policy."""
    from core.policies import policy_class
    from core.scenarios import scenario_class

    out = []
    for lookup, key in ((scenario_class, "scenario"), (policy_class, "policy")):
        try:
            out.extend(p for p in lookup(d[key]).schema if p.name == name)
        except ParamError:
            pass  # an unknown name: build says so
    return out


@dataclass
class GenerationRecord:
    """One finished generation: what the store commits and the views draw."""

    generation: int
    samples: np.ndarray
    model_params: dict[str, Any]
    metrics: dict[str, float]
    histogram: np.ndarray
    curve: np.ndarray | None
    note: str | None
    # (model JSON, metrics JSON, histogram bytes, curve bytes) when a worker encoded them already (core/chunks.py),
    # so the one process that writes the file does not spend its time on it
    encoded: tuple[str, str, bytes, bytes | None] | None = None



def sample_layout(spec: RunSpec) -> tuple[np.dtype, tuple[int, ...]]:
    """The little-endian dtype and the unit shape of the samples a run of `spec` stores."""
    probe = _probe(spec.scenario, spec.scenario_params)
    return np.dtype(probe.dtype).newbyteorder("<"), tuple(int(n) for n in probe.unit_shape())


def _probe(scenario: str, params: dict[str, Any]) -> Any:
    """A scenario object holding only its parameters (enough for ``unit_shape``; nothing is loaded)."""
    from core.scenarios import scenario_class

    probe = object.__new__(scenario_class(scenario).variant(params))
    probe.params = params
    return probe


MAX_REPLICATES = 1000  # runs in one replicate group
MAX_POOL_BYTES = 4 << 30  # a policy that keeps every generation's samples may hold at most this much


def _check_pool_memory(s_cls: type, s_params: dict[str, Any], p_cls: type, generations: int, samples: int) -> None:
    """Refuse a run whose policy would hold more than MAX_POOL_BYTES of samples: accumulate on a family without
    sufficient statistics and accumulate-subsample keep every generation's samples (their cost per generation
    and their memory grow with the generation)."""
    from core.scenarios.base import Scenario

    if p_cls.keeps != "all":
        return
    if p_cls.name == "accumulate" and s_cls.pool_stats is not Scenario.pool_stats:
        return  # running statistics instead of the pool
    probe = _probe(s_cls.name, s_params)
    per_sample = int(np.prod(probe.unit_shape(), dtype=np.int64)) * np.dtype(s_cls.dtype).itemsize
    pool = (generations + 1) * samples * per_sample
    if pool > MAX_POOL_BYTES:
        raise ParamError(f"{p_cls.name} with {s_cls.name} keeps every generation's samples in memory: "
                         f"{generations + 1:,} generations x {samples:,} samples would be {pool / 2**30:.1f} GB, "
                         f"more than the {MAX_POOL_BYTES >> 30} GB limit; use fewer generations or samples",
                         param="generations")
