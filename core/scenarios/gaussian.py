"""`gaussian`: 1-D normal real data; each generation fits mean and variance and samples from the fit."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import gammaln

from core.params import Param
from core.scenarios.base import TEMPERATURE, FitResult, MetricInfo, Model
from core.scenarios.continuous import CONTINUOUS_METRICS, Continuous1D, gaussian_logpdf, truncated_normal

TRUNCATION = Param(
    "truncation", "float", 0.0,
    "Tail cut when sampling, in standard deviations of the fit: samples beyond mean +- cut are redrawn. "
    "0 = no cut. A cut removes the tails every generation and speeds collapse.",
    minimum=0.0, maximum=10.0,
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


def c4(m: int) -> float:
    """Bias factor of the sample standard deviation: E[s] = c4(m) sigma for m normal draws (ddof=1)."""
    return float(np.sqrt(2.0 / (m - 1)) * np.exp(gammaln(m / 2.0) - gammaln((m - 1) / 2.0)))


class GaussianScenario(Continuous1D):
    name = "gaussian"
    title = "1-D Gaussian"
    summary = ("Real data N(mu0, sigma0^2). Each generation fits a mean and a variance (MLE or unbiased) to its "
               "training set and samples M values from the fit: the textbook model collapse of Shumailov et al.")
    schema = (
        Param("mu0", "float", 0.0, "Mean of the real data.", minimum=-1e6, maximum=1e6),
        Param("sigma0", "float", 1.0, "Standard deviation of the real data.", minimum=0.0, maximum=1e6,
              exclusive_min=True),
        Param("estimator", "choice", "mle", "Variance estimator: mle divides by M (shrinks by (M-1)/M per "
              "generation on average); unbiased divides by M-1 (mean kept, median still collapses).",
              choices=("mle", "unbiased")),
        TEMPERATURE,
        TRUNCATION,
    )
    metric_infos = CONTINUOUS_METRICS + (
        MetricInfo("fit_mean", "Fitted mean", "Mean parameter of this generation's fitted Gaussian."),
        MetricInfo("fit_std", "Fitted std", "Standard deviation parameter of this generation's fitted Gaussian."),
        MetricInfo("fit_var", "Fitted variance", "Variance parameter of the fit. With the MLE its expectation is "
                   "sigma0^2 ((M-1)/M)^n (Shumailov et al. 2024).", log_scale=True),
    )
    families = ("gaussian", "kde")
    default_samples = 100

    def real_model(self) -> Model:
        return GaussianModel(self.params["mu0"], self.params["sigma0"])

    def fit(self, train: np.ndarray, rng: np.random.Generator, family: str | None = None) -> FitResult:
        if family == "kde":
            from core.scenarios.kde import fit_kde
            return fit_kde(train, rng, self.params.get("bandwidth", 0.0), self.params.get("temperature", 1.0))
        x = np.asarray(train, dtype=np.float64)
        m = len(x)
        mean = float(x.mean())
        ddof = 1 if self.params["estimator"] == "unbiased" and m > 1 else 0
        std = float(x.std(ddof=ddof))
        note = "collapsed to a point (zero variance)" if std == 0.0 else None
        return FitResult(GaussianModel(mean, std, self.params["temperature"], self.params["truncation"]), note)

    def model_from_params(self, params: dict[str, Any]) -> Model:
        if params.get("family") == "kde":
            from core.scenarios.kde import KdeModel
            return KdeModel.from_params(params)
        return GaussianModel(params["mean"], params["std"], self.params["temperature"], self.params["truncation"])

    def model_metrics(self, model: Model) -> dict[str, float]:
        if not isinstance(model, GaussianModel):
            return {}
        return {"fit_mean": model.mean, "fit_std": model.std, "fit_var": model.std**2}

    @classmethod
    def theory(cls, metric: str, generations: np.ndarray, run: dict[str, Any]) -> np.ndarray | None:
        """Shumailov et al. closed forms for pure refitting (policy replace, no tail cut)."""
        p = run["params"]
        if run["policy"] != "replace" or p.get("truncation", 0.0) > 0:
            return None
        m = int(run["samples"])
        n = np.asarray(generations, dtype=np.float64)
        tau = p.get("temperature", 1.0)
        s2 = p["sigma0"] ** 2
        a = (m - 1) / m
        mle = p["estimator"] == "mle"
        factor_var = tau * a if mle else tau
        if metric == "fit_var":
            return s2 * factor_var**n
        if metric == "fit_std":
            factor_sd = c4(m) * np.sqrt(tau * (a if mle else 1.0))
            return np.sqrt(s2) * factor_sd**n
        if metric == "var_ratio":
            # E[sample var_n] / E[sample var_0]: the sample variance of M draws is a x the model's variance.
            return factor_var**n
        return None
