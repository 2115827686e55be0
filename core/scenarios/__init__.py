"""Scenario registry: every data world by name."""

from __future__ import annotations

from typing import Any

from core.params import ParamError, resolve
from core.scenarios.base import Scenario
from core.scenarios.gaussian import GaussianScenario
from core.scenarios.gmm import GmmScenario
from core.scenarios.kde import KdeScenario

SCENARIOS: dict[str, type[Scenario]] = {
    cls.name: cls
    for cls in (
        GaussianScenario,
        GmmScenario,
        KdeScenario,
    )
}


def scenario_class(name: str) -> type[Scenario]:
    """The registered scenario class; ParamError naming the known ones otherwise."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ParamError(f"unknown scenario {name!r} (known: {', '.join(SCENARIOS)})") from None


def resolve_scenario_params(name: str, given: dict[str, Any]) -> dict[str, Any]:
    """Defaults plus validated given values for a scenario."""
    return resolve(scenario_class(name).schema, given, where=f"scenario {name}")


def create_scenario(name: str, params: dict[str, Any], seed: int, replicate: int, samples: int) -> Scenario:
    """Instantiate a scenario (the variant its parameters select) for one run."""
    cls = scenario_class(name)
    cls = cls.variant(params)
    return cls(params, seed, replicate, samples)
