"""The categorical scenario against neutral Wright-Fisher drift (SCIENCE.md), through the real engine.

Indexing: generation 0's model is the real p0 and its samples are M real draws; generation n's model is the n-th
refit (the empirical frequencies of generation n-1's samples under replace). So E[1 - sum p_n^2] =
(1 - 1/M)^n (1 - sum p0^2) and the categories alive in model n are those present in generation n-1's samples.
Tolerances: 4 standard errors of the simulated mean over many seeds.
"""

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binom

from core.engine import RunSpec, Simulation
from core.params import ParamError
from core.policies import POLICIES
from core.runner import create_runs, drive
from core.scenarios import scenario_class
from core.scenarios.categorical import (
    CategoricalModel,
    CategoricalScenario,
    apply_sampling,
    english_words,
    expected_alive,
    expected_distinct,
    real_distribution,
    wf_transition,
)
from core.store import Project
from tests.simulate import simulate, within_se

V, S, M, N, R = 30, 1.0, 25, 30, 300
ZIPF = {"source": "zipf", "vocab_size": V, "zipf_exponent": S}
GENS = (1, 3, 10, 30)
_, P0 = real_distribution("zipf", V, S)


def _theory(metric: str, policy: str, settings: dict, gens: np.ndarray, samples: int = M) -> np.ndarray:
    spec = RunSpec.build("categorical", policy, settings, int(np.max(gens)), samples, 1)
    out = CategoricalScenario.theory(metric, np.asarray(gens), spec.theory_run())
    assert out is not None, f"no theory for {metric} under {policy}"
    return out


@pytest.fixture(scope="module")
def replace() -> dict[str, np.ndarray]:
    return simulate("categorical", "replace", ZIPF, N, M, R, seed=11)


@pytest.fixture(scope="module")
def mix() -> dict[str, np.ndarray]:
    return simulate("categorical", "mix", {**ZIPF, "alpha": 0.5, "real": "fresh"}, N, M, 150, seed=12)


def test_generation_zero_is_the_real_distribution(replace: dict[str, np.ndarray]) -> None:
    assert np.all(replace["alive"][:, 0] == V)
    assert np.allclose(replace["gini_simpson"][:, 0], 1 - np.sum(P0**2))
    assert np.all(replace["kl"][:, 0] == 0.0)
    ok, msg = within_se(replace["distinct"][:, 0], float(np.sum(1 - (1 - P0) ** M)))
    assert ok, msg


@pytest.mark.parametrize("n", GENS)
def test_gini_simpson_decays_as_one_minus_one_over_m_to_the_n(replace: dict[str, np.ndarray], n: int) -> None:
    expected = (1 - np.sum(P0**2)) * (1 - 1 / M) ** n
    assert _theory("gini_simpson", "replace", ZIPF, np.array([n]))[0] == pytest.approx(expected, rel=1e-12)
    ok, msg = within_se(replace["gini_simpson"][:, n], expected)
    assert ok, msg


@pytest.mark.parametrize("n", GENS)
def test_alive_and_distinct_follow_the_exact_chain(replace: dict[str, np.ndarray], n: int) -> None:
    alive = _theory("alive", "replace", ZIPF, np.array([n]))[0]
    ok, msg = within_se(replace["alive"][:, n], alive)
    assert ok, "alive: " + msg
    distinct = _theory("distinct", "replace", ZIPF, np.array([n]))[0]
    ok, msg = within_se(replace["distinct"][:, n], distinct)
    assert ok, "distinct: " + msg


@pytest.mark.parametrize("n", GENS)
def test_expected_tail_mass_is_a_martingale(replace: dict[str, np.ndarray], n: int) -> None:
    tail0 = float(np.sum(P0[V - V // 2:]))
    assert _theory("tail_mass", "replace", ZIPF, np.array([n]))[0] == pytest.approx(tail0)
    ok, msg = within_se(replace["tail_mass"][:, n], tail0)
    assert ok, msg
    if n == N:  # ...while the typical (median) run has lost its tail
        assert np.median(replace["tail_mass"][:, n]) < 0.5 * tail0


def test_one_step_and_matrix_theory_agree_exactly() -> None:
    for src, v, m in (("english", 1000, 300), ("zipf", 50, 40)):
        _, p0 = real_distribution(src, v, 1.0)
        one_step = float(np.sum(1 - (1 - p0) ** m))
        assert expected_alive(p0, m, np.array([1]))[0] == pytest.approx(one_step, rel=1e-10)
        assert expected_distinct(p0, m, np.array([0]))[0] == pytest.approx(one_step, rel=1e-10)
        # distinct in generation n's samples = alive in model n + 1
        assert np.allclose(expected_distinct(p0, m, np.arange(6)), expected_alive(p0, m, np.arange(1, 7)))
        # brute force: per-category count distributions through the transition matrix
        t = wf_transition(m)
        d = binom.pmf(np.arange(m + 1)[None, :], m, p0[:, None])
        for _ in range(4):
            d = d @ t
        assert expected_alive(p0, m, np.array([5]))[0] == pytest.approx(float(np.sum(1 - d[:, 0])), rel=1e-10)


def test_large_m_approximation_is_close_to_the_exact_chain() -> None:
    # Documented: exact at n = 1, relative error about -0.16 n / M from the branching approximation.
    _, p0 = real_distribution("english", 1000, 1.0)
    m = 600
    n = np.array([1, 2, 10, 30, 60])
    exact = expected_alive(p0, m, n, exact=True)
    approx = expected_alive(p0, m, n, exact=False)
    assert approx[0] == pytest.approx(exact[0], rel=1e-12)
    rel = np.abs(approx - exact) / exact
    assert np.all(rel <= 0.25 * n / m + 1e-9), rel


def test_fixation_probability_equals_initial_frequency() -> None:
    """With 3 categories and M = 8 nearly every run fixes within 30 generations; category k wins with
    probability p0_k (exactly: the chain's probability of count M at generation 30)."""
    settings = {"source": "zipf", "vocab_size": 3, "zipf_exponent": 1.0}
    _, p0 = real_distribution("zipf", 3, 1.0)
    m, n_gen, reps = 8, 30, 400
    spec = RunSpec.build("categorical", "replace", settings, n_gen, m, 21)
    winner = np.full(reps, -1)
    for r in range(reps):
        sim = Simulation(RunSpec.from_json({**spec.to_json(), "replicate": r}))
        last = list(sim.run())[-1].samples
        if np.all(last == last[0]):
            winner[r] = last[0]
    t = wf_transition(m)
    for k in range(3):
        d = binom.pmf(np.arange(m + 1), m, p0[k])
        for _ in range(n_gen):
            d = d @ t
        exact = float(d[m])  # P(generation 30's samples are all category k)
        assert exact == pytest.approx(p0[k], abs=0.02)  # the chain has nearly absorbed
        ok, msg = within_se((winner == k).astype(float), exact)
        assert ok, f"category {k}: {msg}"


@pytest.mark.parametrize("n", (5, 30))
def test_fresh_real_data_holds_diversity_at_the_mixing_steady_state(mix: dict[str, np.ndarray], n: int) -> None:
    expected = _theory("gini_simpson", "mix", {**ZIPF, "alpha": 0.5, "real": "fresh"}, np.array([n]))[0]
    ok, msg = within_se(mix["gini_simpson"][:, n], expected)
    assert ok, msg


def test_mixing_keeps_entropy_bounded_away_from_collapse(replace: dict[str, np.ndarray],
                                                         mix: dict[str, np.ndarray]) -> None:
    steady = _theory("gini_simpson", "mix", {**ZIPF, "alpha": 0.5, "real": "fresh"}, np.array([1000]))[0]
    assert steady > 0.9 * (1 - np.sum(P0**2))
    for metric in ("entropy", "alive", "gini_simpson"):
        a, b = mix[metric][:, N], replace[metric][:, N]
        se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        assert a.mean() - b.mean() > 4 * se, metric
    # and the mixed loop does not drift down between generation 10 and 30
    ent = mix["entropy"]
    diff = ent[:, N] - ent[:, 10]
    assert abs(diff.mean()) <= 4 * diff.std(ddof=1) / np.sqrt(len(diff))


def test_accumulating_slows_the_loss(replace: dict[str, np.ndarray]) -> None:
    n = 15
    acc = simulate("categorical", "accumulate", ZIPF, n, M, 100, seed=13)
    for metric in ("alive", "gini_simpson"):
        a, b = acc[metric][:, n], replace[metric][:, n]
        se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        assert a.mean() - b.mean() > 4 * se, metric


@pytest.mark.parametrize("settings", [{"top_k": 10}, {"top_p": 0.8}, {"temperature": 0.7}])
def test_truncation_and_low_temperature_speed_the_loss(settings: dict) -> None:
    m, n = 100, 5  # little drift: here truncation, not resampling, decides what is lost
    res = simulate("categorical", "replace", {**ZIPF, **settings}, n, m, 100, seed=14)
    untruncated = _theory("alive", "replace", ZIPF, np.array([n]), samples=m)[0]
    b = res["alive"][:, n]
    assert untruncated - b.mean() > 4 * b.std(ddof=1) / np.sqrt(len(b))
    if "top_k" in settings:  # generation 2's model was fitted to samples drawn from only 10 categories
        assert np.all(res["alive"][:, 2:] <= 10)
    spec = RunSpec.build("categorical", "replace", {**ZIPF, **settings}, n, m, 1)
    assert CategoricalScenario.theory("gini_simpson", np.arange(3), spec.theory_run()) is None


def test_sampling_transform() -> None:
    p = np.array([0.4, 0.3, 0.2, 0.1, 0.0])
    assert np.allclose(apply_sampling(p, top_k=2), [4 / 7, 3 / 7, 0, 0, 0])
    assert np.allclose(apply_sampling(p, top_p=0.7), [4 / 7, 3 / 7, 0, 0, 0])  # 0.4 + 0.3 reaches 0.7
    assert np.allclose(apply_sampling(p, top_p=0.71), [4 / 9, 3 / 9, 2 / 9, 0, 0])
    t = apply_sampling(p, temperature=0.5)
    assert np.allclose(t, p**2 / np.sum(p**2)) and t[4] == 0
    tie = apply_sampling(np.array([0.25, 0.25, 0.25, 0.25]), top_k=2)
    assert np.allclose(tie, [0.5, 0.5, 0, 0])  # ties go to the lower id (the more frequent real word)


def test_likelihood_verifier_rejects_exactly_the_threshold_share_of_real_data() -> None:
    scen = CategoricalScenario({**ZIPF, "temperature": 1.0, "top_k": 0, "top_p": 1.0}, 1, 0, M)
    for threshold in (0.05, 0.2, 0.5):
        accept = scen.likelihood_acceptance(threshold)
        assert float(np.sum(P0 * (1 - accept))) == pytest.approx(threshold, abs=1e-12)
        assert np.all(np.diff(accept) <= 0)  # rarer categories are rejected first
    rng = np.random.default_rng(5)
    real = scen.real_model().sample(rng, 200_000)
    ok = scen.verify(real, "likelihood", 0.2, rng, scen.real_model())
    res, msg = within_se(ok.astype(float), 0.8)
    assert res, msg


def test_ratio_verifier_turns_model_samples_into_real_ones() -> None:
    scen = CategoricalScenario({**ZIPF, "temperature": 1.0, "top_k": 0, "top_p": 1.0}, 1, 0, M)
    rng = np.random.default_rng(6)
    model = scen.fit(scen.real_model().sample(rng, 40), rng).model
    x = model.sample(rng, 200_000)
    kept = x[scen.verify(x, "ratio", 0.05, rng, model)]
    support = model.probs > 0
    target = np.where(support, P0, 0) / P0[support].sum()
    for k in np.flatnonzero(support)[:5]:
        res, msg = within_se((kept == k).astype(float), float(target[k]))
        assert res, f"category {k}: {msg}"
    assert not np.any(np.isin(kept, np.flatnonzero(~support)))


def test_filter_policy_records_acceptance() -> None:
    res = simulate("categorical", "filter", {**ZIPF, "verifier": "likelihood", "threshold": 0.2}, 4, M, 3, seed=3)
    assert np.all(res["acceptance"][:, 1] == 1.0)  # generation 1 trains on real data unfiltered
    acc = res["acceptance"][:, 2:]
    assert np.all((acc >= 0) & (acc <= 1)) and acc[:, 0].mean() < 1.0


def test_model_parameters_rebuild_the_model_exactly() -> None:
    scen = CategoricalScenario({**ZIPF, "temperature": 0.8, "top_k": 12, "top_p": 0.95}, 1, 0, M)
    rng = np.random.default_rng(7)
    fit = scen.fit(scen.real_model().sample(rng, M), rng).model
    again = scen.model_from_params(fit.to_params())
    assert isinstance(again, CategoricalModel)
    assert np.array_equal(again.sampling_probs, fit.sampling_probs)
    a = fit.sample(np.random.default_rng(1), 1000)
    b = again.sample(np.random.default_rng(1), 1000)
    assert a.dtype == np.int32 and np.array_equal(a, b)
    assert isinstance(scen.model_from_params(scen.real_model().to_params()), CategoricalModel)


def test_collapse_to_one_category_is_noted_and_the_run_goes_on() -> None:
    spec = RunSpec.build("categorical", "replace", {"source": "zipf", "vocab_size": 2}, 60, 3, 4)
    recs = list(Simulation(spec).run())
    assert len(recs) == 61
    last = recs[-1]
    assert last.metrics["alive"] == 1 and last.metrics["gini_simpson"] == 0.0
    assert last.metrics["entropy"] == 0.0 and last.metrics["top_share"] == 1.0
    assert np.isfinite(last.metrics["kl"])
    assert last.note is not None and "one category left" in last.note


def test_resumed_run_equals_straight_run(tmp_path: Path) -> None:
    for policy, settings in (("replace", {}), ("filter", {"verifier": "ratio"}), ("mix", {"alpha": 0.3})):
        spec = RunSpec.build("categorical", policy, {**ZIPF, "top_p": 0.9, **settings}, 8, 40, 5)
        dumps = []
        for name, stop in (("a", None), ("b", 3)):
            with Project(tmp_path / f"{policy}{name}.collapse", create=True) as p:
                (rid,) = create_runs(p, spec, samples_budget=10)  # reservoir: resume regenerates samples
                it = drive(p, rid, group_seconds=0)
                for rec in it:
                    if rec.generation == stop:
                        break
                it.close()
            with Project(tmp_path / f"{policy}{name}.collapse") as p:
                for _ in drive(p, rid):
                    pass
                info = p.run(rid)
                dumps.append([(p.samples(info, g).tobytes(), p.generation_row(rid, g)["model"],
                               p.histogram(rid, g).tobytes()) for g in range(9)])
        assert dumps[0] == dumps[1], policy


def test_schema_and_data() -> None:
    cls = scenario_class("categorical")
    assert cls is CategoricalScenario and cls.view == "rank" and cls.dtype == np.int32
    policy_names = {p.name for pol in POLICIES.values() for p in pol.schema}
    assert not {p.name for p in cls.schema} & policy_names
    words, freqs = english_words()
    assert len(words) == 5000 and words[0] == "the" and np.all(np.diff(freqs) <= 0)
    labels, p0 = real_distribution("english", 1000, 1.0)
    assert len(labels) == 1000 and p0.sum() == pytest.approx(1.0)
    with pytest.raises(ParamError):
        RunSpec.build("categorical", "replace", {"vocab_size": 1}, 3, 10, 1)
