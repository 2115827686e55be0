"""`kde`: a Gaussian kernel density estimate refitted to its own samples each generation."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.params import Param, ParamError
from core.scenarios.base import TEMPERATURE, FitResult, MetricInfo, Model
from core.scenarios.continuous import CONTINUOUS_METRICS, Continuous1D
from core.scenarios.gmm import MixtureModel, real_mixture_1d
from core.special import logsumexp

DIRECT_LIMIT = 4_000_000  # evaluate the kernel sum directly up to this many (point, query) pairs

BANDWIDTH = Param(
    "bandwidth", "float", 0.0,
    "Kernel bandwidth in data units; 0 = Scott's rule (1.06 x std x n^-1/5, refitted every generation).",
    minimum=0.0, maximum=1e6,
    label="kernel bandwidth",
)


class KdeModel(Model):
    """A Gaussian KDE: sampling picks a training point and adds N(0, h^2 x temperature) noise."""

    def __init__(self, points: np.ndarray, bandwidth: float, temperature: float = 1.0) -> None:
        self.points = np.asarray(points, dtype=np.float32).ravel()
        self.bandwidth = float(bandwidth)
        self.temperature = float(temperature)
        self._kde: Any = None

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        idx = rng.integers(0, len(self.points), n)
        noise = rng.normal(0.0, self.bandwidth * np.sqrt(self.temperature), n) if self.bandwidth > 0 else 0.0
        return (self.points[idx].astype(np.float64) + noise).astype(np.float32)

    def to_params(self) -> dict[str, Any]:
        return {"family": "kde", "bandwidth": self.bandwidth, "n_points": int(len(self.points))}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> KdeModel:
        raise NotImplementedError("a KDE is its training set; it is not rebuilt from parameters")

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        if self.bandwidth <= 0:
            raise NotImplementedError
        x = np.asarray(x, dtype=np.float64).ravel()
        pts = self.points.astype(np.float64)
        if len(pts) * len(x) <= DIRECT_LIMIT:
            z = (x[:, None] - pts[None, :]) / self.bandwidth
            norm = np.log(len(pts) * self.bandwidth * np.sqrt(2 * np.pi))
            return logsumexp(-0.5 * z * z, axis=1) - norm
        if self._kde is None:
            from sklearn.neighbors import KernelDensity  # a tree is faster for large training sets

            self._kde = KernelDensity(bandwidth=self.bandwidth).fit(pts.reshape(-1, 1))
        return self._kde.score_samples(x.reshape(-1, 1))


    def sampling_logpdf(self, x: np.ndarray) -> np.ndarray:
        if self.temperature == 1.0:
            return self.logpdf(x)
        return KdeModel(self.points, self.bandwidth * np.sqrt(self.temperature)).logpdf(x)


def scott_bandwidth(x: np.ndarray) -> float:
    """Scott's rule of thumb for a Gaussian kernel."""
    return float(1.06 * np.std(x, dtype=np.float64) * max(len(x), 1) ** -0.2)


def fit_kde(train: np.ndarray, rng: np.random.Generator, bandwidth: float, temperature: float) -> FitResult:
    """A KDE on the training set; bandwidth 0 uses Scott's rule."""
    x = np.asarray(train, dtype=np.float32).ravel()
    h = float(bandwidth) if bandwidth > 0 else scott_bandwidth(x)
    note = "collapsed to a point (zero bandwidth)" if h == 0.0 else None
    return FitResult(KdeModel(x, h, temperature), note)


class KdeScenario(Continuous1D):
    name = "kde"
    title = "Kernel density estimate"
    summary = ("Real data a three-mode mixture (or a Gaussian). Each generation fits a Gaussian KDE to its training "
               "set and samples from it: resampling makes points coalesce, so modes merge and detail is lost, "
               "while the kernel noise spreads the whole.")
    schema = (
        Param("shape", "choice", "mixture", "Real data: a three-mode 1-D mixture or a standard normal.",
              choices=("mixture", "gaussian"), label="real-data shape"),
        BANDWIDTH,
        TEMPERATURE,
    )
    metric_infos = CONTINUOUS_METRICS + (
        MetricInfo("bandwidth", "Bandwidth", "Kernel bandwidth used by this generation's fit."),
    )
    families = ("kde", "gaussian")
    regenerable = False
    default_samples = 500
    max_samples = 500_000

    @classmethod
    def check(cls, params: dict[str, Any], samples: int) -> None:
        if samples < 2:
            raise ParamError("kde needs at least 2 samples per generation (a bandwidth needs a spread)", param="samples")

    def real_model(self) -> Model:
        if self.params["shape"] == "gaussian":
            from core.scenarios.gaussian import GaussianModel
            return GaussianModel(0.0, 1.0)
        return real_mixture_1d(3, 4.0)

    def fit(self, train: np.ndarray, rng: np.random.Generator, family: str | None = None) -> FitResult:
        if family == "gaussian":
            from core.scenarios.gaussian import GaussianModel
            x = np.asarray(train, dtype=np.float64)
            return FitResult(GaussianModel(float(x.mean()), float(x.std()), self.params["temperature"]))
        return fit_kde(train, rng, self.params["bandwidth"], self.params["temperature"])

    def model_from_params(self, params: dict[str, Any]) -> Model:
        if "weights" in params:
            return MixtureModel.from_params(params)
        if params.get("family") == "kde":
            return KdeModel.from_params(params)
        from core.scenarios.gaussian import GaussianModel
        return GaussianModel(params["mean"], params["std"], self.params["temperature"])

    def model_metrics(self, model: Model) -> dict[str, float]:
        return {"bandwidth": model.bandwidth} if isinstance(model, KdeModel) else {}
