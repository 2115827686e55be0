"""`digits`: real split and reference, view data, collapse trends over seeds (replace vs mix vs quality filter),
the quality verifier's cut, degenerate fits, determinism and resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.engine import RunSpec, Simulation
from core.scenarios import create_scenario
from core.scenarios.digits import (
    CLASSES,
    LatentMixtureModel,
    class_probs,
    heldout_confidences,
    real_split,
)
from core.store import Project
from tests.simulate import straight_and_resumed

SEEDS = 6
GENERATIONS = 5
M = 200


def _series(policy: str, settings: dict[str, Any]) -> dict[str, np.ndarray]:
    """metric -> (SEEDS, GENERATIONS + 1) from independent runs (NaN where a metric is not recorded)."""
    out: dict[str, np.ndarray] = {}
    for s in range(SEEDS):
        spec = RunSpec.build("digits", policy, settings, GENERATIONS, M, 500 + s)
        for rec in Simulation(spec).run():
            for k, v in rec.metrics.items():
                out.setdefault(k, np.full((SEEDS, GENERATIONS + 1), np.nan))[s, rec.generation] = v
    return out


@pytest.fixture(scope="module")
def replace() -> dict[str, np.ndarray]:
    return _series("replace", {})


@pytest.fixture(scope="module")
def mix() -> dict[str, np.ndarray]:
    return _series("mix", {"alpha": 0.5, "real": "fresh"})


@pytest.fixture(scope="module")
def filtered() -> dict[str, np.ndarray]:
    return _series("filter", {"verifier": "quality", "threshold": 0.2})


def _significantly_positive(d: np.ndarray) -> tuple[bool, str]:
    """Paired differences over seeds: mean > 4 standard errors (a one-sided test at 4 SE)."""
    mean, se = float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))
    return mean > 4 * se, f"mean {mean:.4f}, SE {se:.4f} ({mean / se if se else float('inf'):.1f} SE)"


def test_real_split_is_fixed_and_disjoint() -> None:
    from collections import Counter

    from sklearn.datasets import load_digits

    xp, yp, xh, yh = real_split()
    everything = load_digits().data.astype(np.float32)
    # a partition of the 1797 images: pool + held-out is the data set, row for row
    assert Counter(map(bytes, np.concatenate([xp, xh]))) == Counter(map(bytes, everything))
    assert abs(len(xh) - 1797 / 3) < 1
    assert np.bincount(yh, minlength=CLASSES).min() >= 55  # stratified: every digit is held out
    sc = create_scenario("digits", {"n_components": 16, "components": 10, "mixture": "pooled", "temperature": 1.0},
                         0, 0, 300)
    real = sc.real_model().sample(np.random.default_rng(0), 300)
    assert real.dtype == np.float32 and real.shape == (300, 64)
    pool = Counter(map(bytes, xp))
    drawn = Counter(map(bytes, real))
    assert all(pool[k] >= c for k, c in drawn.items())  # real pool images, none drawn twice
    assert np.array_equal(sc.heldout_data(np.random.default_rng(1)), xh)


def test_view_data_and_reference() -> None:
    spec = RunSpec.build("digits", "replace", {}, 2, 120, 3)
    sim = Simulation(spec)
    recs = list(sim.run())
    ref = sim.scenario.ref
    assert ref["image_shape"] == [8, 8]
    assert ref["bins"] == {"kind": "categories", "labels": [str(c) for c in range(10)]}
    for r in recs:
        assert r.samples.dtype == np.float32 and r.samples.shape == (120, 64)
        assert r.samples.min() >= 0.0 and r.samples.max() <= 16.0
        assert r.histogram.shape == (10,) and r.histogram.sum() == 120
        assert np.array_equal(r.histogram, np.bincount(class_probs(r.samples).argmax(axis=1), minlength=10))
        assert r.curve is None
    assert recs[0].metrics["diversity"] == 1.0 and recs[0].metrics["var_ratio"] == pytest.approx(1.0)
    assert recs[0].metrics["classes"] == 10
    assert 0.8 < recs[0].metrics["precision"] <= 1 and 0.8 < recs[0].metrics["recall"] <= 1
    names = {m.name for m in sim.scenario.metric_infos}
    assert set(recs[1].metrics) - {"train_size"} <= names


def test_replace_loses_diversity_and_recall(replace: dict[str, np.ndarray]) -> None:
    for metric in ("diversity", "recall", "var_ratio"):
        ok, msg = _significantly_positive(replace[metric][:, 1] - replace[metric][:, GENERATIONS])
        assert ok, f"{metric} did not fall from generation 1 to {GENERATIONS}: {msg}"
    ok, msg = _significantly_positive(replace["fid"][:, GENERATIONS] - replace["fid"][:, 1])
    assert ok, f"FID did not rise: {msg}"


def test_mixing_real_data_slows_collapse(replace: dict[str, np.ndarray], mix: dict[str, np.ndarray]) -> None:
    for metric in ("diversity", "recall"):
        ok, msg = _significantly_positive(mix[metric][:, GENERATIONS] - replace[metric][:, GENERATIONS])
        assert ok, f"mix did not keep {metric} higher than replace: {msg}"
    assert np.allclose(mix["real_fraction"][:, 1:], 0.5)


def test_quality_filter_records_acceptance_and_keeps_quality(replace: dict[str, np.ndarray],
                                                             filtered: dict[str, np.ndarray]) -> None:
    acc = filtered["acceptance"]
    assert np.all(acc[:, 1] == 1.0)  # generation 1 trains on real data: nothing to verify
    assert np.all((acc[:, 2:] > 0) & (acc[:, 2:] <= 1))
    assert np.all(filtered["train_size"][:, 2:] == np.round(acc[:, 2:] * M))
    ok, msg = _significantly_positive(filtered["quality"][:, GENERATIONS] - replace["quality"][:, GENERATIONS])
    assert ok, f"the quality filter did not keep quality higher: {msg}"


def test_quality_cut_rejects_the_threshold_share_of_real_images() -> None:
    sc = create_scenario("digits", {"n_components": 16, "components": 10, "mixture": "pooled", "temperature": 1.0},
                         0, 0, 100)
    held = real_split()[2]
    n = len(held)
    for thr in (0.05, 0.2, 0.5):
        ok = sc.verify(held, "quality", thr, np.random.default_rng(0), sc.real_model())
        assert abs((1 - ok.mean()) - thr) <= 2 / n + 1e-12
    assert len(heldout_confidences()) == n


@pytest.mark.parametrize(("policy", "settings"), [
    ("filter", {"verifier": "likelihood", "threshold": 0.1}),
    ("filter", {"verifier": "ratio"}),
    ("multi-source", {"families": "pooled,per-class"}),
    ("accumulate", {"mixture": "per-class", "components": 2}),
    ("replace", {"temperature": 0.5, "n_components": 8}),
])
def test_other_policies_and_settings_run(policy: str, settings: dict[str, Any]) -> None:
    recs = list(Simulation(RunSpec.build("digits", policy, settings, 3, 60, 1)).run())
    assert len(recs) == 4
    for r in recs:
        assert r.samples.shape == (60, 64) and np.all(np.isfinite(r.samples))
        assert all(np.isfinite(v) for k, v in r.metrics.items() if k != "nll")


def test_low_temperature_narrows_the_first_generation() -> None:
    """Latent covariances times tau < 1: the first generation's pixel variance is lower, seed for seed."""
    d = []
    for s in range(SEEDS):
        hot = list(Simulation(RunSpec.build("digits", "replace", {}, 1, M, 900 + s)).run())[1]
        cold = list(Simulation(RunSpec.build("digits", "replace", {"temperature": 0.5}, 1, M, 900 + s)).run())[1]
        d.append(hot.metrics["var_ratio"] - cold.metrics["var_ratio"])
    ok, msg = _significantly_positive(np.asarray(d))
    assert ok, msg


def _scenario(**kw: Any) -> Any:
    params = {"n_components": 16, "components": 10, "mixture": "pooled", "temperature": 1.0, **kw}
    return create_scenario("digits", params, 0, 0, 50)


@pytest.mark.parametrize("mixture", ["pooled", "per-class"])
def test_degenerate_training_sets_give_notes_not_crashes(mixture: str) -> None:
    sc = _scenario(mixture=mixture)
    rng = np.random.default_rng(0)
    one = real_split()[0][:1]
    cases = {
        "identical": np.repeat(one, 40, axis=0),
        "single": one.copy(),
        "few": real_split()[0][:4],
        "one class": real_split()[0][real_split()[1] == 7][:30],
    }
    for name, train in cases.items():
        fit = sc.fit(train, rng)
        x = fit.model.sample(rng, 50)
        assert x.shape == (50, 64) and np.all(np.isfinite(x)), name
        assert np.all(np.isfinite(fit.model.logpdf(real_split()[2][:20]))), name
        if name in ("identical", "single"):
            assert fit.note and "single image" in fit.note, name
            assert np.allclose(x, one, atol=0.5), name
        if name == "few":
            assert fit.note and "distinct" in fit.note
    sc.set_reference(real_split()[0][:50], real_split()[2])
    m = sc.metrics(np.repeat(one, 50, axis=0), sc.fit(np.repeat(one, 40, axis=0), rng).model, 3)
    assert m["diversity"] == 0.0 and m["recall"] < 0.05 and m["classes"] == 1


def test_model_round_trip_samples_identically() -> None:
    for mixture in ("pooled", "per-class"):
        sc = _scenario(mixture=mixture, temperature=0.8)
        fit = sc.fit(real_split()[0][:150], np.random.default_rng(4))
        params = fit.model.to_params()
        again = sc.model_from_params(params)
        assert isinstance(again, LatentMixtureModel) and again.temperature == 0.8
        a = fit.model.sample(np.random.default_rng(9), 77)
        b = again.sample(np.random.default_rng(9), 77)
        assert a.tobytes() == b.tobytes()
        assert (mixture == "per-class") == ("labels" in params)
    assert sc.model_from_params(sc.real_model().to_params()) is sc.real_model()


def _dump(project: Project, run_id: int) -> list[Any]:
    info = project.run(run_id)
    out: list[Any] = []
    for g in range(info.last_generation + 1):
        row = project.generation_row(run_id, g)
        out.append((g, project.samples(info, g).tobytes(), row["model"], row["histogram"].tobytes()))
    return out + list(project.metrics_rows([run_id]))


def test_same_seed_same_results_and_resume_equals_straight(tmp_path: Path) -> None:
    spec = RunSpec.build("digits", "filter", {"verifier": "quality", "threshold": 0.1}, 4, 80, 21)
    # samples_budget=50 stores a reservoir: resume regenerates samples from the stored model
    straight, resumed = straight_and_resumed(tmp_path, spec, 2, 50, _dump)
    assert resumed == straight
    other = list(Simulation(RunSpec.build("digits", "filter", {"verifier": "quality", "threshold": 0.1}, 1, 80,
                                          22)).run())
    assert other[1].samples.tobytes() != straight[1][1]
