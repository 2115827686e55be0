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
              seed: int, replicate: int = 0) -> RunSpec:
        """Validate and split `key=value` settings between the scenario's and the policy's schemas."""
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
        s_cls.variant(s_params).check(s_params, samples)
        p_cls.check(p_params, s_cls.variant(s_params), samples)
        return cls(scenario, policy, s_params, p_params, generations, samples, seed, replicate)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RunSpec:
        return cls(**d)

    def theory_run(self) -> dict[str, Any]:
        """The settings a scenario's closed forms need."""
        return {"policy": self.policy, "params": {**self.scenario_params, **self.policy_params},
                "samples": self.samples}


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



MAX_REPLICATES = 1000  # runs in one replicate group
