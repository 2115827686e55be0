"""Scenario registry: every data world by name."""

from __future__ import annotations

from typing import Any

from core.params import lookup, resolve
from core.scenarios.base import Scenario
from core.scenarios.categorical import CategoricalScenario
from core.scenarios.csv_data import CsvScenario
from core.scenarios.digits import DigitsScenario
from core.scenarios.gaussian import GaussianScenario
from core.scenarios.gmm import GmmScenario
from core.scenarios.kde import KdeScenario
from core.scenarios.regression import RegressionScenario
from core.scenarios.text import TextScenario

SCENARIOS: dict[str, type[Scenario]] = {
    cls.name: cls
    for cls in (
        GaussianScenario,
        GmmScenario,
        KdeScenario,
        CategoricalScenario,
        TextScenario,
        RegressionScenario,
        DigitsScenario,
        CsvScenario,
    )
}


def scenario_class(name: str) -> type[Scenario]:
    """The registered scenario class; ParamError naming the known ones otherwise."""
    return lookup(SCENARIOS, "scenario", name)


def resolve_scenario_params(name: str, given: dict[str, Any]) -> dict[str, Any]:
    """Defaults plus validated given values for a scenario."""
    return resolve(scenario_class(name).schema, given, where=f"scenario {name}")


def create_scenario(name: str, params: dict[str, Any], seed: int, replicate: int, samples: int) -> Scenario:
    """Instantiate a scenario (the variant its parameters select) for one run."""
    cls = scenario_class(name)
    cls = cls.variant(params)
    return cls(params, seed, replicate, samples)
