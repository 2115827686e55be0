"""Lockstep measuring: the runs of a batch get exactly what each gets measured alone, and counting from sorted
fine indices gives exactly what dense running sums give."""

from __future__ import annotations

import numpy as np
import pytest

from core import metrics
from core.batch1d import Grids, count_rows, row_moments, w1_rows
from core.engine import RunSpec, Simulation
from core.metrics import FineGrid1D


def test_row_moments_are_the_moments_of_each_row() -> None:
    rng = np.random.default_rng(0)
    for m in (1, 2, 7, 100, 129, 1000, 4097):
        x = (rng.normal(3, 2, (5, m)) * rng.uniform(0.01, 100)).astype(np.float32)
        mean, var = row_moments(x)
        for i in range(5):
            metrics._moments_cache.clear()
            assert (mean[i], var[i]) == metrics.moments(x[i].copy())


def test_sparse_and_dense_counts_agree_exactly() -> None:
    rng = np.random.default_rng(1)
    for trial in range(400):
        grids = [FineGrid1D(rng.normal(), rng.normal() + 8, 100) for _ in range(3)]
        g = Grids.of(grids)
        m, m_ref = int(rng.integers(1, 300)), int(rng.integers(1, 300))
        if trial % 2:
            m_ref = m
        x = rng.normal(4, 3, (3, m)).astype(np.float32)
        if trial % 7 == 0:
            x[:] = x[0, 0]  # every sample the same: one fine bin
        ref = rng.normal(4, 3, (3, m_ref)).astype(np.float32)
        dense, sparse = count_rows(g, x, dense=True), count_rows(g, x, dense=False)
        rd, rs = count_rows(g, ref, dense=True), count_rows(g, ref, dense=False)
        assert np.array_equal(dense.display, sparse.display)
        assert np.array_equal(dense.under, sparse.under) and np.array_equal(dense.over, sparse.over)
        j = rng.integers(0, g.n_fine + 1, 3)
        assert np.array_equal(dense.at_most(j), sparse.at_most(j))
        w = w1_rows(g, dense, rd)
        for other in (w1_rows(g, sparse, rs), w1_rows(g, sparse, rd), w1_rows(g, dense, rs)):
            assert np.array_equal(w, other)
        for i in range(3):  # and the one-grid W1 of core.metrics, up to its own excess rounding
            one = grids[i].w1(grids[i].counts(x[i]), grids[i].counts(ref[i]))
            assert w[i] == pytest.approx(one, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("scenario", "policy", "settings", "samples"), [
    ("gaussian", "replace", {}, 100),
    ("gaussian", "mix", {"alpha": "0.3", "temperature": "0.8"}, 3000),  # dense counts
    ("gaussian", "filter", {"truncation": "0.5"}, 50),
    ("kde", "replace", {}, 200),
    ("gmm", "accumulate", {}, 150),  # measures more than the shared metrics: one by one
])
def test_a_batch_measures_each_run_as_alone(scenario: str, policy: str, settings: dict, samples: int) -> None:
    spec = RunSpec.build(scenario, policy, settings, 6, samples, 5)
    specs = [RunSpec.from_json({**spec.to_json(), "replicate": r}) for r in range(4)]
    alone = [list(Simulation(s).run()) for s in specs]
    sims = [Simulation(s) for s in specs]
    together = [Simulation.measure(sims, [s.draw_first() for s in sims])]
    for g in range(1, 7):
        together.append(Simulation.measure(sims, [s.draw(g) for s in sims]))
    for g, recs in enumerate(together):
        for r, rec in enumerate(recs):
            a = alone[r][g]
            assert rec.samples.tobytes() == a.samples.tobytes()
            assert rec.metrics == a.metrics and rec.model_params == a.model_params
            assert np.array_equal(rec.histogram, a.histogram)
            assert (rec.curve is None and a.curve is None) or rec.curve.tobytes() == a.curve.tobytes()
