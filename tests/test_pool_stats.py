"""accumulate with sufficient statistics: the same fits as refitting the concatenated pool (up to rounding for the
Gaussian, exactly for category counts), with only generation 0 and the last one held in memory."""

from __future__ import annotations

import pytest

from core.engine import RunSpec, Simulation


def _pair(scenario: str, settings: dict, generations: int, samples: int, seed: int) -> tuple[list, list]:
    spec = RunSpec.build(scenario, "accumulate", settings, generations, samples, seed)
    with_stats = Simulation(spec)
    assert with_stats.policy.pool is not None
    refit = Simulation(spec)
    refit.policy.pool = None  # the pool itself, concatenated and refitted every generation
    return list(with_stats.run()), list(refit.run())


@pytest.mark.parametrize("estimator", ["mle", "unbiased"])
def test_gaussian_statistics_fit_what_the_pool_fits(estimator: str) -> None:
    for seed in range(5):
        a, b = _pair("gaussian", {"estimator": estimator, "mu0": "3", "sigma0": "2"}, 60, 200, seed)
        for ra, rb in zip(a, b):
            for k in ("fit_mean", "fit_var", "train_size"):
                assert ra.metrics[k] == pytest.approx(rb.metrics[k], rel=1e-12, abs=1e-12), (seed, ra.generation, k)
        assert a[-1].metrics["train_size"] == 60 * 200


def test_category_counts_fit_exactly_what_the_pool_fits() -> None:
    a, b = _pair("categorical", {}, 30, 500, 3)
    for ra, rb in zip(a, b):
        assert ra.model_params == rb.model_params and ra.samples.tobytes() == rb.samples.tobytes()
        assert ra.metrics == rb.metrics


def test_only_two_generations_are_held() -> None:
    sim = Simulation(RunSpec.build("gaussian", "accumulate", {}, 40, 100, 1))
    for rec in sim.run():
        assert set(sim.history.samples) <= {0, rec.generation}
    gmm = Simulation(RunSpec.build("gmm", "accumulate", {}, 5, 50, 1))  # no statistics: the pool is kept
    list(gmm.run())
    assert set(gmm.history.samples) == set(range(5 + 1))
