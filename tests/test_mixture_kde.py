"""GMM and KDE scenarios: modes are lost under replace and kept when real data is mixed in."""

import numpy as np

from core.engine import RunSpec, Simulation
from tests.simulate import simulate, within_se


def test_gmm_loses_modes_under_replace_and_keeps_them_with_real_data() -> None:
    rep = simulate("gmm", "replace", {}, 40, 60, 20, seed=7)
    mix = simulate("gmm", "mix", {"alpha": 0.5}, 40, 60, 20, seed=7)
    assert np.all(rep["modes_kept"][:, 0] == 3)
    assert rep["modes_kept"][:, 40].mean() < 2.5
    assert mix["modes_kept"][:, 40].mean() > rep["modes_kept"][:, 40].mean() + 0.5
    assert mix["kl"][:, 40].mean() < rep["kl"][:, 40].mean()


def test_gmm_2d_runs_with_point_metrics() -> None:
    spec = RunSpec.build("gmm", "replace", {"dims": "2", "modes": "4"}, 5, 200, 1)
    sim = Simulation(spec)
    recs = list(sim.run())
    assert recs[-1].samples.shape == (200, 2)
    assert recs[0].histogram.sum() == 200  # the 2-D grid covers all of generation 0
    assert recs[0].metrics["modes_kept"] == 4
    assert recs[-1].curve is not None and recs[-1].curve.shape == (80 * 80,)
    assert 0 <= recs[-1].metrics["tail_mass"] <= 1


def test_gmm_with_fewer_distinct_points_than_components_records_a_note() -> None:
    spec = RunSpec.build("gmm", "replace", {"components": "5"}, 3, 3, 1)
    recs = list(Simulation(spec).run())
    assert any(r.note and "distinct" in r.note for r in recs[1:])


def test_kde_resampling_adds_the_kernel_variance() -> None:
    # Sampling a KDE with bandwidth h: model variance = empirical variance of the training set + h^2, and
    # the sample variance of M draws is (M-1)/M of the model's. Given generation 0's sample variance s0^2:
    # E[s3^2 | s0^2] = a^3 s0^2 + (a + a^2 + a^3) h^2, a = (M-1)/M.
    h, m = 0.5, 400
    a = (m - 1) / m
    res = simulate("kde", "replace", {"shape": "gaussian", "bandwidth": h}, 3, m, 80, seed=3)
    s0, s3 = res["std"][:, 0] ** 2, res["std"][:, 3] ** 2
    ok, msg = within_se(s3 - (a**3 * s0 + (a + a**2 + a**3) * h**2), 0.0)
    assert ok, msg
