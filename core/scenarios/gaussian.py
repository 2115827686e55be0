"""`gaussian`: 1-D normal real data; each generation fits mean and variance and samples from the fit."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.metrics import moments
from core.params import Param, ParamError
from core.scenarios.base import TEMPERATURE, FitResult, MetricInfo, Model, PoolStats
from core.scenarios.continuous import CONTINUOUS_METRICS, Continuous1D, gaussian_logpdf, truncated_normal
from core.special import gammaln

TRUNCATION = Param(
    "truncation", "float", 0.0,
    "Tail cut when sampling, in standard deviations of the fit: samples beyond mean +- cut are redrawn. "
    "0 = no cut. A cut removes the tails every generation and speeds collapse.",
    minimum=0.0, maximum=10.0,
    label="tail cut",
)


class GaussianModel(Model):
    """N(mean, std^2) sampled at a temperature (variance x temperature) with an optional tail cut."""

    def __init__(self, mean: float, std: float, temperature: float = 1.0, truncation: float = 0.0) -> None:
        self.mean, self.std = float(mean), float(std)
        self.temperature, self.truncation = float(temperature), float(truncation)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        sd = self.std * np.sqrt(self.temperature)
        return truncated_normal(rng, self.mean, sd, n, self.truncation).astype(np.float32)

    def to_params(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std}

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        return gaussian_logpdf(x, self.mean, self.std)

    def sampling_logpdf(self, x: np.ndarray) -> np.ndarray:
        return gaussian_logpdf(x, self.mean, self.std * np.sqrt(self.temperature))


class GaussianPool(PoolStats):
    """Count, mean and sum of squared deviations of all data so far, merged one generation at a time with
    Chan et al.'s pairwise update (stable: no sum of squares minus squared sum). The fit equals the mean and
    variance of the concatenated pool up to rounding; the cost per generation no longer grows with the pool."""

    def __init__(self, scenario: GaussianScenario, state: tuple[int, float, float] | None = None) -> None:
        self.scenario = scenario
        self.n, self.mean, self.m2 = state if state is not None else (0, 0.0, 0.0)

    def add(self, samples: np.ndarray) -> None:
        nb = len(samples)
        if nb == 0:
            return
        mean_b, var_b = moments(samples)
        m2_b = var_b * nb
        n = self.n + nb
        delta = mean_b - self.mean
        self.mean += delta * nb / n
        self.m2 += m2_b + delta * delta * self.n * nb / n
        self.n = n

    def fit(self, rng: np.random.Generator) -> FitResult:
        return self.scenario.fit_moments(self.n, self.mean, self.m2 / self.n if self.n else float("nan"))

    def state(self) -> tuple[int, float, float]:
        return (self.n, self.mean, self.m2)

    def __len__(self) -> int:
        return self.n


def c4(m: int) -> float:
    """Bias factor of the sample standard deviation: E[s] = c4(m) sigma for m normal draws (ddof=1)."""
    return float(np.sqrt(2.0 / (m - 1)) * np.exp(gammaln(m / 2.0) - gammaln((m - 1) / 2.0)))


class GaussianScenario(Continuous1D):
    name = "gaussian"
    title = "1-D Gaussian"
    summary = ("Real data N(mu0, sigma0^2). Each generation fits a mean and a variance (MLE or unbiased) to its "
               "training set and samples M values from the fit: the textbook model collapse of Shumailov et al.")
    schema = (
        Param("mu0", "float", 0.0, "Mean of the real data.", minimum=-1e6, maximum=1e6,
              label="real-data mean"),
        Param("sigma0", "float", 1.0, "Standard deviation of the real data (at least 1e-6: samples are float32).",
              minimum=1e-6, maximum=1e6, label="real-data standard deviation"),
        Param("estimator", "choice", "mle", "Variance estimator: mle divides by M (shrinks by (M-1)/M per "
              "generation on average); unbiased divides by M-1 (mean kept, median still collapses).",
              choices=("mle", "unbiased"), label="variance estimator"),
        TEMPERATURE,
        TRUNCATION,
    )
    metric_infos = CONTINUOUS_METRICS + (
        MetricInfo("fit_mean", "Fitted mean", "Mean parameter of this generation's fitted Gaussian."),
        MetricInfo("fit_std", "Fitted std", "Standard deviation parameter of this generation's fitted Gaussian."),
        MetricInfo("fit_var", "Fitted variance", "Variance parameter of the fit. With the MLE its expectation is "
                   "sigma0^2 ((M-1)/M)^n (Shumailov et al. 2024).", log_scale=True),
        MetricInfo("w2sq_fit", "W2² fit to real", "Squared 2-Wasserstein distance between the fitted Gaussian and the "
                   "real N(mu0, sigma0^2): (mean - mu0)^2 + (std - sigma0)^2. With the MLE its expectation is "
                   "sigma0^2 (2 - 2 (c4 sqrt((M-1)/M))^n) -> 2 sigma0^2: the fit ends as a point, wandering."),
        MetricInfo("sampling_var", "Sampling variance", "Variance the model samples at: fitted variance x temperature "
                   "(generation 0: the real sigma0^2). With the MLE its expectation is sigma0^2 (tau (M-1)/M)^n.",
                   log_scale=True),
    )
    families = ("gaussian", "kde")
    default_samples = 100

    @classmethod
    def check(cls, params: dict[str, Any], samples: int) -> None:
        # Samples are stored as float32 (7 significant digits): a spread below ~1e-3 of the mean would be
        # rounding noise, and the loop would "collapse" from storage alone.
        if abs(params["mu0"]) > 1e3 * params["sigma0"]:
            raise ParamError(f"mu0 / sigma0 must be at most 1000 in size (float32 samples keep 7 digits), got "
                             f"mu0={params['mu0']:g}, sigma0={params['sigma0']:g}; shift the data toward 0", param="mu0")

    def real_model(self) -> Model:
        return GaussianModel(self.params["mu0"], self.params["sigma0"])

    def fit(self, train: np.ndarray, rng: np.random.Generator, family: str | None = None) -> FitResult:
        if family == "kde":
            from core.scenarios.kde import fit_kde
            return fit_kde(train, rng, self.params.get("bandwidth", 0.0), self.params.get("temperature", 1.0))
        mean, var = moments(train)
        return self.fit_moments(len(train), mean, var)

    def fit_moments(self, m: int, mean: float, var: float) -> FitResult:
        """The fit to m values with this mean and (ddof=0) variance."""
        if self.params["estimator"] == "unbiased" and m > 1:
            var *= m / (m - 1)
        std = float(np.sqrt(var))
        note = "collapsed to a point (zero variance)" if std == 0.0 else None
        return FitResult(GaussianModel(mean, std, self.params["temperature"], self.params["truncation"]), note)

    def pool_stats(self, state: Any = None) -> GaussianPool:
        return GaussianPool(self, state)

    def model_from_params(self, params: dict[str, Any]) -> Model:
        if params.get("family") == "kde":
            from core.scenarios.kde import KdeModel
            return KdeModel.from_params(params)
        return GaussianModel(params["mean"], params["std"], self.params["temperature"], self.params["truncation"])

    def _nll(self, model: Model) -> float:
        """Held-out NLL in closed form from the held-out data's first two moments (exact, O(1))."""
        if not isinstance(model, GaussianModel):
            return super()._nll(model)
        var = float(model.std) ** 2
        if var <= 0:  # zero, or so small that its square underflows: the fit is a point mass
            return float("inf")
        h_mean, h_var = self.heldout_moments
        msd = h_var + (h_mean - model.mean) ** 2  # mean squared deviation of held-out data from the fit's mean
        return float(0.5 * np.log(2 * np.pi * var) + msd / (2 * var))

    def curve(self, model: Model) -> np.ndarray | None:
        if not isinstance(model, GaussianModel):
            return super().curve(model)
        grid = self.grid
        if model.std <= 0:
            return np.zeros(len(grid), dtype=np.float32)
        z = (grid - model.mean) / model.std
        return (np.exp(-0.5 * z * z) / (model.std * np.sqrt(2 * np.pi))).astype(np.float32)

    @classmethod
    def curves_of(cls, runs: list[Continuous1D], models: list[Model]) -> list[np.ndarray | None]:
        """Normal densities of several runs' fits, each on its run's grid, in one array pass: the same values
        as ``curve`` gives one by one."""
        if not all(isinstance(m, GaussianModel) and m.std > 0 for m in models):
            return [s.curve(m) for s, m in zip(runs, models)]
        mean = np.array([[m.mean] for m in models], dtype=np.float64)  # type: ignore[attr-defined]
        std = np.array([[m.std] for m in models], dtype=np.float64)  # type: ignore[attr-defined]
        z = (np.stack([s.grid for s in runs]) - mean) / std
        return list((np.exp(-0.5 * z * z) / (std * np.sqrt(2 * np.pi))).astype(np.float32))

    def model_metrics(self, model: Model) -> dict[str, float]:
        if not isinstance(model, GaussianModel):
            return {}
        mu0, sigma0 = self.params["mu0"], self.params["sigma0"]
        return {"fit_mean": model.mean, "fit_std": model.std, "fit_var": model.std**2,
                "w2sq_fit": (model.mean - mu0) ** 2 + (model.std - sigma0) ** 2,
                "sampling_var": model.std**2 * model.temperature}

    @classmethod
    def theory(cls, metric: str, generations: np.ndarray, run: dict[str, Any]) -> np.ndarray | None:
        """Shumailov et al. closed forms for pure refitting (policy replace, no tail cut).

        Temperature tau scales the variance of every draw from a *fitted* model; generation 0's samples are
        real data (not tempered), so the n-th fit has seen n sampling steps of which n-1 were tempered:
        E[fit_var_n] = sigma0^2 a^n tau^(n-1) with the MLE (a = (M-1)/M), sigma0^2 tau^(n-1) unbiased. The
        variance the n-th model samples at, tau fit_var_n, is the quantity of SCIENCE.md's "E[sigma_n^2] =
        sigma0^2 (tau a)^n": sampling_var_n has exactly that expectation (sigma0^2 tau^n unbiased).
        """
        p = run["params"]
        if run["policy"] != "replace" or p.get("truncation", 0.0) > 0:
            return None
        m = int(run["samples"])
        n = np.asarray(generations, dtype=np.float64)
        tempered = np.maximum(n - 1, 0)
        tau = p.get("temperature", 1.0)
        s2 = p["sigma0"] ** 2
        a = (m - 1) / m if p["estimator"] == "mle" else 1.0
        if metric == "fit_var":
            return s2 * a**n * tau**tempered
        if metric == "sampling_var":
            return s2 * (a * tau) ** n
        if metric == "fit_std":
            if m < 2:
                return None
            return np.sqrt(s2) * (c4(m) * np.sqrt(a)) ** n * np.sqrt(tau) ** tempered
        if metric == "w2sq_fit":
            # E[(mu_n - mu0)^2] + E[sigma_n^2] - 2 sigma0 E[sigma_n] + sigma0^2, untempered chains only.
            if m < 2 or tau != 1.0:
                return None
            var_mean = s2 * (1 - a**n) if p["estimator"] == "mle" else s2 * n / m
            return var_mean + s2 * a**n - 2 * s2 * (c4(m) * np.sqrt(a)) ** n + s2
        if metric == "var_ratio":
            # E[sample var_n] / E[sample var_0]: each sample variance of M draws is (M-1)/M x its model's
            # variance (times tau for tempered draws), so the ratio of expectations is a^n tau^n for n >= 1.
            return np.where(n > 0, a**n * tau**n, 1.0)
        return None
