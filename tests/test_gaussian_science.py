"""The 1-D Gaussian refit loop against the closed forms of Shumailov et al. (2024), SCIENCE.md.

Indexing: generation 0's model is the real N(mu0, sigma0^2); generation n's fit is the n-th refit, so
E[fit_var_n] = sigma0^2 ((M-1)/M)^n with the MLE. Tolerance: 4 standard errors over many seeds.
"""

import numpy as np
import pytest
from scipy.special import digamma, polygamma

from core.scenarios.gaussian import GaussianScenario, c4
from tests.simulate import simulate, within_se

M = 20
N = 30
R = 400
GENS = (1, 5, 15, 30)


@pytest.fixture(scope="module")
def mle() -> dict[str, np.ndarray]:
    return simulate("gaussian", "replace", {"sigma0": 2.0}, N, M, R, seed=7)


@pytest.fixture(scope="module")
def unbiased() -> dict[str, np.ndarray]:
    return simulate("gaussian", "replace", {"estimator": "unbiased"}, N, M, R, seed=8)


def test_generation_zero_is_the_real_distribution(mle: dict[str, np.ndarray]) -> None:
    assert np.all(mle["fit_var"][:, 0] == 4.0)
    assert np.all(mle["fit_mean"][:, 0] == 0.0)


@pytest.mark.parametrize("n", GENS)
def test_mle_variance_decays_as_a_to_the_n(mle: dict[str, np.ndarray], n: int) -> None:
    ok, msg = within_se(mle["fit_var"][:, n], 4.0 * ((M - 1) / M) ** n)
    assert ok, msg


@pytest.mark.parametrize("n", GENS)
def test_mle_std_follows_c4(mle: dict[str, np.ndarray], n: int) -> None:
    a = (M - 1) / M
    ok, msg = within_se(mle["fit_std"][:, n], 2.0 * (c4(M) * np.sqrt(a)) ** n)
    assert ok, msg


@pytest.mark.parametrize("n", GENS)
def test_mle_mean_random_walk_variance(mle: dict[str, np.ndarray], n: int) -> None:
    mu = mle["fit_mean"][:, n]
    expected = 4.0 * (1 - ((M - 1) / M) ** n)
    # Var[mu_n] estimated by the mean of squares (true mean is 0); its SE from the sample of squares.
    ok, msg = within_se(mu**2, expected)
    assert ok, msg


@pytest.mark.parametrize("n", GENS)
def test_unbiased_log_variance_drifts_down(unbiased: dict[str, np.ndarray], n: int) -> None:
    k = M - 1
    expected = n * (digamma(k / 2) + np.log(2) - np.log(k))
    assert expected < 0
    ok, msg = within_se(np.log(unbiased["fit_var"][:, n]), expected)
    assert ok, msg


def test_unbiased_mean_variance_is_a_martingale(unbiased: dict[str, np.ndarray]) -> None:
    # Heavy right tail: only a few generations, where the mean is still well estimated.
    ok, msg = within_se(unbiased["fit_var"][:, 3], 1.0)
    assert ok, msg
    assert np.median(unbiased["fit_var"][:, N]) < 0.8  # while the median collapses


def test_temperature_multiplies_the_decay() -> None:
    # Real data (generation 0) is not tempered: the n-th fit saw n-1 tempered sampling steps.
    tau = 0.9
    res = simulate("gaussian", "replace", {"temperature": tau}, 10, M, R, seed=9)
    for n in (1, 4, 10):
        ok, msg = within_se(res["fit_var"][:, n], ((M - 1) / M) ** n * tau ** (n - 1))
        assert ok, msg


@pytest.mark.parametrize(("tau", "estimator"), [(0.9, "mle"), (1.1, "mle"), (0.9, "unbiased")])
def test_sampling_variance_follows_the_tempered_closed_form(tau: float, estimator: str) -> None:
    """SCIENCE.md: sampling at temperature tau multiplies the MLE factor, E[sigma_n^2] = sigma0^2 (tau a)^n,
    for the variance each generation's model samples at (unbiased: sigma0^2 tau^n). Unbiased variances are
    heavy-tailed for long chains, so a short one is checked there."""
    gens = 10 if estimator == "mle" else 4
    res = simulate("gaussian", "replace", {"temperature": tau, "estimator": estimator, "sigma0": 2.0}, gens, M, R,
                   seed=19)
    a = (M - 1) / M if estimator == "mle" else 1.0
    assert np.all(res["sampling_var"][:, 0] == 4.0)
    for n in range(1, gens + 1):
        ok, msg = within_se(res["sampling_var"][:, n], 4.0 * (tau * a) ** n)
        assert ok, f"n={n}: {msg}"
    run = {"policy": "replace", "params": {"sigma0": 2.0, "estimator": estimator, "temperature": tau,
                                            "truncation": 0.0}, "samples": M}
    np.testing.assert_allclose(GaussianScenario.theory("sampling_var", np.arange(gens + 1), run),
                               4.0 * (tau * a) ** np.arange(gens + 1))


@pytest.mark.parametrize("estimator", ["mle", "unbiased"])
def test_w2_of_the_fit_to_the_real_gaussian(estimator: str) -> None:
    """SCIENCE.md: E[W2^2] = sigma0^2 (2 - 2 (c4 sqrt(a))^n) with the MLE, sigma0^2 (n/M + 2 - 2 c4^n) unbiased."""
    res = simulate("gaussian", "replace", {"estimator": estimator, "mu0": 1.0, "sigma0": 1.5}, 30, M, R, seed=23)
    a = (M - 1) / M if estimator == "mle" else 1.0
    assert np.all(res["w2sq_fit"][:, 0] == 0.0)
    for n in (1, 3, 10, 30):
        expected = 2.25 * (2 - 2 * (c4(M) * np.sqrt(a)) ** n) + (0.0 if estimator == "mle" else 2.25 * n / M)
        ok, msg = within_se(res["w2sq_fit"][:, n], expected)
        assert ok, f"n={n}: {msg}"
    run = {"policy": "replace", "params": {"sigma0": 1.5, "estimator": estimator, "temperature": 1.0,
                                            "truncation": 0.0}, "samples": M}
    gens = np.array([1, 3, 10, 30])
    want = [2.25 * (2 - 2 * (c4(M) * np.sqrt(a)) ** g) + (0.0 if estimator == "mle" else 2.25 * g / M) for g in gens]
    np.testing.assert_allclose(GaussianScenario.theory("w2sq_fit", gens, run), want)


def test_theory_overlay_matches_the_closed_forms() -> None:
    run = {"policy": "replace", "params": {"sigma0": 2.0, "estimator": "mle", "temperature": 1.0,
                                            "truncation": 0.0}, "samples": M}
    gens = np.arange(5)
    np.testing.assert_allclose(GaussianScenario.theory("fit_var", gens, run), 4.0 * ((M - 1) / M) ** gens)
    assert GaussianScenario.theory("fit_var", gens, {**run, "policy": "mix"}) is None


def replace_log_variance(n: int, m: int) -> tuple[float, float]:
    """Mean and sd of log fit_var_n (MLE, replace, sigma0 = 1): log of a product of n independent
    chi2_{m-1}/m factors, so n (psi((m-1)/2) + log(2/m)) and sqrt(n psi'((m-1)/2)) exactly.

    The mean of fit_var itself is carried by rare large values (its sd is ~20x its mean at n = 60, M = 20),
    so a mean over 100 replicates cannot show the collapse; its logarithm can, with a standard error of 0.26.
    """
    k = (m - 1) / 2
    return n * (float(digamma(k)) + np.log(2 / m)), float(np.sqrt(n * polygamma(1, k)))


def assert_replace_collapsed(fit_var: np.ndarray, n: int) -> None:
    mu, sd = replace_log_variance(n, M)
    got, se = float(np.log(fit_var).mean()), sd / np.sqrt(len(fit_var))
    assert abs(got - mu) <= 4 * se, f"mean log fit_var at n={n}: {got:.3f} vs theory {mu:.3f} (SE {se:.3f})"


def test_mixing_fresh_real_data_keeps_the_variance() -> None:
    rep = simulate("gaussian", "replace", {}, 60, M, 100, seed=10)["fit_var"][:, 60]
    mix = simulate("gaussian", "mix", {"alpha": 0.5}, 60, M, 100, seed=10)["fit_var"][:, 60]
    # Replace collapses: the median fit is exp(-6.3) = 0.0019 of the real variance. Mixing half fresh real
    # data holds near the stationary value a*alpha/(1-a(1-alpha)) = 0.905 (ignoring the between-group term,
    # which adds).
    assert_replace_collapsed(rep, 60)
    ok, msg = within_se(mix, 0.905, k=1e9)  # only used for the message
    assert mix.mean() > 0.8, msg


def test_fixed_real_pool_only_delays() -> None:
    fresh = simulate("gaussian", "mix", {"alpha": 0.3, "real": "fresh"}, 40, M, 150, seed=11)["w1"][:, 40]
    fixed = simulate("gaussian", "mix", {"alpha": 0.3, "real": "fixed"}, 40, M, 150, seed=11)["w1"][:, 40]
    rep = simulate("gaussian", "replace", {}, 40, M, 150, seed=11)["w1"][:, 40]
    assert fresh.mean() < rep.mean()
    assert fixed.mean() < rep.mean()


def test_accumulate_keeps_error_bounded() -> None:
    acc = simulate("gaussian", "accumulate", {}, 40, M, 100, seed=12)["fit_var"][:, 40]
    rep = simulate("gaussian", "replace", {}, 40, M, 100, seed=12)["fit_var"][:, 40]
    assert acc.mean() > 0.7
    assert_replace_collapsed(rep, 40)


def test_ratio_filter_stops_collapse_and_records_acceptance() -> None:
    res = simulate("gaussian", "filter", {"verifier": "ratio"}, 40, 200, 60, seed=13)
    rep = simulate("gaussian", "replace", {}, 40, 200, 60, seed=13)
    assert res["fit_var"][:, 40].mean() > rep["fit_var"][:, 40].mean()
    assert np.all((res["acceptance"][:, 1:] > 0) & (res["acceptance"][:, 1:] <= 1))


def test_ratio_filter_corrects_for_the_sampling_temperature() -> None:
    # Rejection sampling must divide by the density samples were drawn from (variance x tau); then the
    # accepted samples follow the real N(0, 1) whatever the temperature, and the spread is kept.
    cold = simulate("gaussian", "filter", {"verifier": "ratio", "temperature": 0.5}, 10, 400, 40, seed=15)
    plain = simulate("gaussian", "replace", {"temperature": 0.5}, 10, 400, 40, seed=15)
    assert cold["fit_var"][:, 10].mean() > 0.7
    assert plain["fit_var"][:, 10].mean() < 0.01  # 0.5^9 without the filter


def test_truncation_speeds_collapse() -> None:
    cut = simulate("gaussian", "replace", {"truncation": 2.0}, 10, M, 100, seed=14)["fit_var"][:, 10]
    rep = simulate("gaussian", "replace", {}, 10, M, 100, seed=14)["fit_var"][:, 10]
    assert cut.mean() < 0.5 * rep.mean()


@pytest.mark.parametrize("cut", [1e-9, 0.3, 0.99, 1.0, 2.0])
def test_truncated_sampling_has_the_truncated_normal_variance(cut: float) -> None:
    """Both samplers (inverse CDF below one sd, redrawing above) stay inside the cut and match
    Var = 1 - 2 c phi(c) / (2 Phi(c) - 1) for a unit normal cut at +-c (c^2 / 3, nearly uniform, for tiny c,
    where the closed form cancels); tiny cuts finish at once."""
    from scipy.stats import norm

    from core.scenarios.continuous import truncated_normal

    expected = cut**2 / 3 if cut < 1e-3 else 1.0 - 2.0 * cut * norm.pdf(cut) / (2.0 * norm.cdf(cut) - 1.0)
    variances = []
    for seed in range(200):
        x = truncated_normal(np.random.default_rng(seed), 3.0, 2.0, 500, cut)
        assert np.all(np.abs(x - 3.0) <= cut * 2.0 * (1 + 1e-12))
        variances.append(np.mean((x - 3.0) ** 2) / 4.0)
    ok, msg = within_se(np.array(variances), expected)
    assert ok, msg
