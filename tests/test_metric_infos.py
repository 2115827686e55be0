"""Every metric the loop records is explained: a label and a help text for the timeline chooser, the help
panel and the CLI's listing (nothing shows up under its bare stored name)."""

from __future__ import annotations

import pytest

from core.scenarios import SCENARIOS
from core.scenarios.base import LOOP_METRICS
from tests.simulate import simulate

FAST = [name for name in SCENARIOS if name not in ("csv",)]  # csv needs a file; its metrics are CONTINUOUS ones


@pytest.mark.parametrize("scenario", FAST)
def test_every_recorded_metric_has_an_explanation(scenario: str) -> None:
    cls = SCENARIOS[scenario]
    recorded = simulate(scenario, "accumulate", {}, 2, min(cls.default_samples, 200), 1)
    explained = {m.name for m in (*cls.metric_infos, *LOOP_METRICS)}
    assert "train_size" in recorded
    assert set(recorded) <= explained, sorted(set(recorded) - explained)
    assert all(m.label and m.help and m.label != m.name for m in LOOP_METRICS)
