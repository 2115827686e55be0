"""`regression`: Gerstgrasser et al. 2024 closed forms over many seeds, generation indexing, float32 storage,
policies, degenerate fits, determinism and resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.cli import main
from core.engine import RunSpec, Simulation
from core.params import ParamError
from core.scenarios import create_scenario
from core.scenarios.regression import RegressionScenario, ols
from core.store import Project
from tests.simulate import straight_and_resumed

T, D, SIGMA = 50, 5, 1.0
SEEDS = 500
GENERATIONS = 8


def _series(policy: str, metric: str, seeds: int = SEEDS, generations: int = GENERATIONS,
            settings: dict[str, Any] | None = None, samples: int = T) -> np.ndarray:
    """(seeds, generations + 1) values of a metric from independent engine runs (seed = run index)."""
    out = []
    for s in range(seeds):
        spec = RunSpec.build("regression", policy, {"dims": D, "noise": SIGMA, **(settings or {})}, generations,
                             samples, 1000 + s)
        out.append([rec.metrics[metric] for rec in Simulation(spec).run()])
    return np.asarray(out)


def _theory(policy: str, metric: str = "test_error") -> np.ndarray:
    run = {"policy": policy, "params": {"dims": D, "noise": SIGMA}, "samples": T}
    th = RegressionScenario.theory(metric, np.arange(GENERATIONS + 1), run)
    assert th is not None
    return th


@pytest.fixture(scope="module")
def replace_errors() -> np.ndarray:
    return _series("replace", "test_error")


@pytest.fixture(scope="module")
def accumulate_errors() -> np.ndarray:
    return _series("accumulate", "test_error")


def _assert_matches(values: np.ndarray, theory: np.ndarray) -> None:
    """|mean - theory| <= 4 standard errors at every generation n >= 1 (generation 0 is exactly 0)."""
    assert np.all(values[:, 0] == 0.0)
    mean = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / np.sqrt(len(values))
    for n in range(1, values.shape[1]):
        assert abs(mean[n] - theory[n]) <= 4 * se[n], (
            f"generation {n}: mean {mean[n]:.5f} vs theory {theory[n]:.5f} ({abs(mean[n] - theory[n]) / se[n]:.2f} SE)")


def test_theory_values() -> None:
    unit = SIGMA**2 * D / (T - D - 1)
    assert _theory("replace")[:4] == pytest.approx([0.0, unit, 2 * unit, 3 * unit])
    assert _theory("accumulate")[:4] == pytest.approx([0.0, unit, unit * 1.25, unit * (1.25 + 1 / 9)])
    assert _theory("replace", "test_mse")[1] == pytest.approx(SIGMA**2 + unit)
    assert RegressionScenario.theory("test_error", np.arange(3), {"policy": "mix", "params": {"dims": D, "noise": 1},
                                                                  "samples": T}) is None


def test_replace_error_grows_linearly_as_theory(replace_errors: np.ndarray) -> None:
    """E||w_n - w*||^2 = sigma^2 d/(T-d-1) n (Gerstgrasser et al. 2024), over 500 seeds."""
    _assert_matches(replace_errors, _theory("replace"))


def test_accumulate_error_stays_bounded_as_theory(accumulate_errors: np.ndarray) -> None:
    """E||w_n - w*||^2 = sigma^2 d/(T-d-1) sum_{i<=n} 1/i^2 <= sigma^2 d/(T-d-1) pi^2/6."""
    _assert_matches(accumulate_errors, _theory("accumulate"))
    bound = SIGMA**2 * D / (T - D - 1) * np.pi**2 / 6
    last = accumulate_errors[:, -1]
    assert last.mean() <= bound + 4 * last.std(ddof=1) / np.sqrt(len(last))


def test_accumulate_beats_replace(replace_errors: np.ndarray, accumulate_errors: np.ndarray) -> None:
    diff = replace_errors[:, -1] - accumulate_errors[:, -1]
    assert diff.mean() > 4 * diff.std(ddof=1) / np.sqrt(len(diff))


def test_test_mse_is_noise_plus_weight_error() -> None:
    """On fresh x ~ N(0, I) the expected squared error is sigma^2 + ||w_n - w*||^2."""
    mse = _series("replace", "test_mse", seeds=200, generations=3)
    err = _series("replace", "test_error", seeds=200, generations=3)
    gap = (mse - err)[:, 1:].mean(axis=1)  # one value per run: a run's generations share its held-out data
    assert abs(gap.mean() - SIGMA**2) <= 4 * gap.std(ddof=1) / np.sqrt(len(gap))


def test_generation_indexing_and_float32_storage() -> None:
    """Generation 0 = the truth relabelling the fixed X; generation n's fit is OLS on exactly the stored
    float32 samples of generation n-1 (replace) or of generations 0..n-1 (accumulate)."""
    for policy in ("replace", "accumulate"):
        spec = RunSpec.build("regression", policy, {"dims": D}, 4, T, 7)
        sim = Simulation(spec)
        recs = list(sim.run())
        sc = sim.scenario
        assert recs[0].model_params["truth"] is True
        assert recs[0].model_params["w"] == pytest.approx(list(sc.true_w), abs=0)
        assert recs[0].metrics["test_error"] == 0.0
        for r in recs:
            assert r.samples.dtype == np.float32 and r.samples.shape == (T, D + 1)
            assert np.array_equal(r.samples[:, :D], recs[0].samples[:, :D])  # the same X every generation
            assert np.array_equal(r.samples[:, :D].astype(np.float64), sc.design)
        for n in range(1, len(recs)):
            train = recs[n - 1].samples if policy == "replace" else np.concatenate([r.samples for r in recs[:n]])
            w, _, _ = ols(train, D)
            assert np.array_equal(np.asarray(recs[n].model_params["w"]), w)
            err = w - sc.true_w
            assert recs[n].metrics["test_error"] == float(err @ err)
        # labels are fresh every generation
        assert not np.array_equal(recs[1].samples[:, D], recs[2].samples[:, D])


def test_relabel_noise_uses_true_sigma() -> None:
    """Residuals of generation n's labels around generation n's fit have the true sigma (not the fit's)."""
    res = []
    for s in range(40):
        sim = Simulation(RunSpec.build("regression", "replace", {"dims": D, "noise": 2.0}, 3, 200, s))
        for rec in sim.run():
            x, y = rec.samples[:, :D].astype(np.float64), rec.samples[:, D].astype(np.float64)
            res.append(y - x @ np.asarray(rec.model_params["w"]))
    r = np.concatenate(res)
    # sample variance of N iid N(0, 4) draws: SE of the variance is 4 sqrt(2/N)
    assert abs(r.var() - 4.0) <= 4 * 4.0 * np.sqrt(2 / len(r))


def test_samples_must_cover_the_design() -> None:
    with pytest.raises(ParamError, match="at least dims \\+ 2 = 12"):
        RunSpec.build("regression", "replace", {"dims": 10}, 3, 11, 0)
    RunSpec.build("regression", "replace", {"dims": 10}, 3, 12, 0)


@pytest.mark.parametrize(("policy", "settings"), [
    ("mix", {"alpha": 0.5, "real": "fresh"}),
    ("mix", {"alpha": 0.3, "real": "fixed"}),
    ("accumulate-subsample", {}),
    ("filter", {"verifier": "likelihood", "threshold": 0.2}),
    ("filter", {"verifier": "ratio"}),
    ("multi-source", {"sources": 3}),
])
def test_every_policy_runs_row_wise(policy: str, settings: dict[str, Any]) -> None:
    spec = RunSpec.build("regression", policy, {"dims": 3, **settings}, 5, 30, 2)
    recs = list(Simulation(spec).run())
    assert len(recs) == 6
    for r in recs:
        assert r.samples.shape == (30, 4)
        assert np.isfinite(r.metrics["test_error"])
        assert r.histogram.sum() <= 30
    if policy == "filter":
        assert recs[1].metrics["acceptance"] == 1.0
        assert all(0.0 < r.metrics["acceptance"] <= 1.0 for r in recs[2:])


def test_mix_with_fresh_real_labels_keeps_error_bounded() -> None:
    """Half fresh real labels every generation: the error stops growing (compare with replace at n = 8)."""
    mixed = _series("mix", "test_error", seeds=150, settings={"alpha": 0.5})[:, -1]
    replaced = _series("replace", "test_error", seeds=150)[:, -1]
    diff = replaced - mixed
    assert diff.mean() > 4 * diff.std(ddof=1) / np.sqrt(len(diff))


def test_degenerate_training_sets_do_not_crash() -> None:
    sc = create_scenario("regression", {"dims": 4, "noise": 1.0}, 0, 0, 20)
    rng = np.random.default_rng(0)
    few = sc.real_model().sample(rng, 2)  # 2 rows for 4 unknowns
    fit = sc.fit(few, rng)
    assert fit.note and "rank-deficient" in fit.note
    assert fit.model.sample(rng, 20).shape == (20, 5)
    same = np.repeat(few[:1], 10, axis=0)  # one distinct row repeated
    fit = sc.fit(same, rng)
    assert fit.note and "rank 1" in fit.note
    assert np.all(np.isfinite(fit.model.to_params()["w"]))


def test_model_round_trip_samples_identically() -> None:
    sc = create_scenario("regression", {"dims": 3, "noise": 0.5}, 4, 1, 25)
    fit = sc.fit(sc.real_model().sample(np.random.default_rng(1), 25), np.random.default_rng(2))
    again = sc.model_from_params(fit.model.to_params())
    for n in (25, 10, 60):
        a = fit.model.sample(np.random.default_rng(3), n)
        b = again.sample(np.random.default_rng(3), n)
        assert a.tobytes() == b.tobytes()
    assert sc.model_from_params(sc.real_model().to_params()) is sc.real_model()


def _dump(project: Project, run_id: int) -> list[tuple[Any, ...]]:
    info = project.run(run_id)
    out = []
    for g in range(info.last_generation + 1):
        row = project.generation_row(run_id, g)
        out.append((g, project.samples(info, g).tobytes(), row["model"], row["histogram"].tobytes()))
    return out + list(project.metrics_rows([run_id]))


@pytest.mark.parametrize("policy", ["replace", "accumulate"])
def test_resume_with_reservoir_equals_straight_run(tmp_path: Path, policy: str) -> None:
    """A samples budget below T stores a reservoir; resuming then regenerates samples from stored weights."""
    spec = RunSpec.build("regression", policy, {"dims": 3}, 8, 40, 11)
    straight, resumed = straight_and_resumed(tmp_path, spec, 4, 15, _dump)
    assert resumed == straight


def test_cli_run_info_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.collapse"
    assert main(["run", "--scenario", "regression", "--policy", "accumulate", "--generations", "5", "--samples",
                 "30", "--set", "dims=4", "--set", "noise=0.5", "-q", "-o", str(out)]) == 0
    assert main(["info", str(out)]) == 0
    assert "dims=4, noise=0.5" in capsys.readouterr().out
    csv_path = tmp_path / "m.csv"
    assert main(["export", str(out), "--metrics-csv", str(csv_path)]) == 0
    text = csv_path.read_text(encoding="utf-8")
    assert "regression accumulate,0,5,test_error," in text
    assert main(["run", "--scenario", "regression", "--samples", "5", "-o", str(out)]) == 2
    assert "at least dims + 2" in capsys.readouterr().err
    with Project(out, readonly=True) as p:
        ref = p.runs()[0].reference
    assert ref["bins"]["kind"] == "1d" and len(ref["true_w"]) == 4 and ref["noise"] == 0.5
