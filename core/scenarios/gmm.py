"""`gmm`: a Gaussian mixture (1-D or 2-D) refitted with scikit-learn's GaussianMixture each generation."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.params import Param, ParamError
from core.scenarios.base import (
    TEMPERATURE,
    DegenerateFit,
    FitResult,
    MetricInfo,
    Model,
    Scenario,
    json_floats,
)
from core.scenarios.continuous import CONTINUOUS_METRICS, Continuous1D
from core.scenarios.continuous2d import CONTINUOUS2D_METRICS, Continuous2D
from core.special import logsumexp
from core.threads import one_blas_thread

ACTIVE_WEIGHT = 0.01  # a component "counts" when its weight is at least this


class MixtureModel(Model):
    """A Gaussian mixture with full covariances, in 1-D (samples shape (n,)) or d-D (shape (n, d))."""

    def __init__(self, weights: np.ndarray, means: np.ndarray, covs: np.ndarray, temperature: float = 1.0,
                 flat: bool = True) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        self.weights = self.weights / self.weights.sum()
        self.means = np.asarray(means, dtype=np.float64).reshape(len(self.weights), -1)
        d = self.means.shape[1]
        self.covs = np.asarray(covs, dtype=np.float64).reshape(len(self.weights), d, d)
        self.temperature = float(temperature)
        self.flat = flat and d == 1

    @property
    def dims(self) -> int:
        return self.means.shape[1]

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        counts = rng.multinomial(n, self.weights)
        parts = []
        for k, c in enumerate(counts):
            if c == 0:
                continue
            cov = self.covs[k] * self.temperature
            chol = _safe_cholesky(cov)
            z = rng.standard_normal((c, self.dims))
            parts.append(self.means[k] + z @ chol.T)
        x = np.concatenate(parts) if parts else np.empty((0, self.dims))
        x = x[rng.permutation(len(x))]
        x = x.astype(np.float32)
        return x.ravel() if self.flat else x

    def to_params(self) -> dict[str, Any]:
        return {"weights": json_floats(self.weights), "means": json_floats(self.means),
                "covariances": json_floats(self.covs), "dims": self.dims}

    @classmethod
    def from_params(cls, params: dict[str, Any], temperature: float = 1.0) -> MixtureModel:
        return cls(params["weights"], params["means"], params["covariances"], temperature,
                   flat=params.get("dims", 1) == 1)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.dims)
        comps = []
        for w, mu, cov in zip(self.weights, self.means, self.covs):
            if w <= 0:
                continue
            comps.append(np.log(w) + _mvn_logpdf(x, mu, cov))
        return logsumexp(np.stack(comps), axis=0)

    def sampling_logpdf(self, x: np.ndarray) -> np.ndarray:
        if self.temperature == 1.0:
            return self.logpdf(x)
        return MixtureModel(self.weights, self.means, self.covs * self.temperature, flat=self.flat).logpdf(x)

    def active_components(self) -> int:
        return int(np.count_nonzero(self.weights >= ACTIVE_WEIGHT))


def _safe_cholesky(cov: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(cov)
        return vecs @ np.diag(np.sqrt(np.clip(vals, 0, None)))


def _mvn_logpdf(x: np.ndarray, mu: np.ndarray, cov: np.ndarray) -> np.ndarray:
    d = len(mu)
    vals, vecs = np.linalg.eigh(cov)
    if np.any(vals <= 0):
        vals = np.clip(vals, 1e-300, None)
    z = (x - mu) @ vecs / np.sqrt(vals)
    return -0.5 * np.sum(z * z, axis=1) - 0.5 * np.sum(np.log(vals)) - 0.5 * d * np.log(2 * np.pi)


def _mode_weights(k: int) -> np.ndarray:
    w = 1.0 / np.arange(1, k + 1)
    return w / w.sum()


def real_mixture_1d(modes: int, separation: float) -> MixtureModel:
    """Unit-variance modes spaced by `separation`, weights 1 : 1/2 : 1/3 ... so the rarest goes first."""
    centres = (np.arange(modes) - (modes - 1) / 2) * separation
    return MixtureModel(_mode_weights(modes), centres, np.ones(modes))


def real_mixture_2d(modes: int, separation: float) -> MixtureModel:
    """Unit-covariance modes on a circle of radius `separation`, weights 1 : 1/2 : 1/3 ..."""
    ang = 2 * np.pi * np.arange(modes) / modes
    centres = separation * np.column_stack([np.cos(ang), np.sin(ang)]) if modes > 1 else np.zeros((1, 2))
    return MixtureModel(_mode_weights(modes), centres, np.tile(np.eye(2), (modes, 1, 1)), flat=False)


def fit_mixture(train: np.ndarray, rng: np.random.Generator, components: int, temperature: float,
                dims: int) -> FitResult:
    """GaussianMixture fit with as many components as the data allows; degenerate data gives a note."""
    x = np.asarray(train, dtype=np.float64).reshape(-1, dims)
    if len(x) == 0:
        raise DegenerateFit("no training data left")
    distinct = len(np.unique(x, axis=0))
    if distinct == 1:  # scikit-learn needs two points; a point mass is the exact fit
        cov = np.zeros((1, dims, dims))
        return FitResult(MixtureModel([1.0], x[:1], cov, temperature, flat=dims == 1),
                         "collapsed to a point (one distinct value)")
    k = max(1, min(components, distinct))
    note = None
    if k < components:
        note = f"only {distinct} distinct training points: fitted {k} of {components} components"
    from sklearn.mixture import GaussianMixture  # imported on first fit: keeps CLI start-up fast

    gm = GaussianMixture(n_components=k, covariance_type="full", reg_covar=1e-6, max_iter=200,
                         random_state=int(rng.integers(2**31 - 1)))
    with one_blas_thread():
        gm.fit(x)
    return FitResult(MixtureModel(gm.weights_, gm.means_, gm.covariances_, temperature, flat=dims == 1), note)


def modes_kept(samples: np.ndarray, real: MixtureModel) -> int:
    """True modes that still hold at least 10% of their real share of samples (nearest-mode assignment)."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1, real.dims)
    if len(x) == 0:
        return 0
    d2 = ((x[:, None, :] - real.means[None, :, :]) ** 2).sum(axis=2)
    nearest = np.argmin(d2, axis=1)
    near = d2[np.arange(len(x)), nearest] <= 9.0  # within 3 real standard deviations
    share = np.bincount(nearest[near], minlength=len(real.weights)) / len(x)
    return int(np.count_nonzero(share >= 0.1 * real.weights))


GMM_METRICS = (
    MetricInfo("components", "Active components", f"Fitted mixture components with weight >= {ACTIVE_WEIGHT}."),
    MetricInfo("modes_kept", "Modes kept", "Real modes that still receive at least 10% of their real share of "
               "samples. Rare modes are lost first."),
)


class _GmmMixin:
    params: dict[str, Any]

    def real_model(self) -> Model:
        p = self.params
        make = real_mixture_1d if p["dims"] == 1 else real_mixture_2d
        return make(p["modes"], p["separation"])

    def fit(self, train: np.ndarray, rng: np.random.Generator, family: str | None = None) -> FitResult:
        return fit_mixture(train, rng, self.params["components"], self.params["temperature"], self.params["dims"])

    def model_from_params(self, params: dict[str, Any]) -> Model:
        return MixtureModel.from_params(params, self.params["temperature"])

    def model_metrics(self, model: Model) -> dict[str, float]:
        return {"components": float(model.active_components())} if isinstance(model, MixtureModel) else {}

    def extra_sample_metrics(self, samples: np.ndarray) -> dict[str, float]:
        real = self.real_model()
        assert isinstance(real, MixtureModel)
        return {"modes_kept": float(modes_kept(samples, real))}


class GmmScenario(_GmmMixin, Continuous1D):
    name = "gmm"
    title = "Gaussian mixture"
    summary = ("Real data a mixture of well-separated Gaussian modes with unequal weights (1-D or 2-D). Each "
               "generation fits a K-component GaussianMixture and samples from it: rare modes vanish first.")
    schema = (
        Param("dims", "int", 1, "Dimension of the data: 1 (histogram view) or 2 (scatter / 2-D histogram).",
              minimum=1, maximum=2, label="dimensions"),
        Param("modes", "int", 3, "Number of modes in the real data.", minimum=1, maximum=8,
              label="real-data modes"),
        Param("separation", "float", 5.0, "Distance between neighbouring modes (1-D) or circle radius (2-D), in "
              "units of a mode's standard deviation.", minimum=0.0, maximum=100.0, label="mode separation"),
        Param("components", "int", 3, "Components K of the fitted GaussianMixture.", minimum=1, maximum=20,
              label="mixture components"),
        TEMPERATURE,
    )
    metric_infos = CONTINUOUS_METRICS + GMM_METRICS
    default_samples = 500
    max_samples = 5_000_000

    @classmethod
    def variant(cls, params: dict[str, Any]) -> type[Scenario]:
        return Gmm2DScenario if params.get("dims", 1) == 2 else cls

    @classmethod
    def check(cls, params: dict[str, Any], samples: int) -> None:
        if samples < 2:
            raise ParamError("gmm needs at least 2 samples per generation", param="samples")

    def metrics(self, samples: np.ndarray, model: Model, generation: int) -> dict[str, float]:
        out = super().metrics(samples, model, generation)
        out.update(self.extra_sample_metrics(samples))
        return out


class Gmm2DScenario(_GmmMixin, Continuous2D):
    """The 2-D variant of `gmm` (chosen by dims=2); registered under the same name."""

    name = "gmm"
    title = GmmScenario.title
    summary = GmmScenario.summary
    schema = GmmScenario.schema
    metric_infos = CONTINUOUS2D_METRICS + GMM_METRICS
    default_samples = 500
    max_samples = 5_000_000

    def unit_shape(self) -> tuple[int, ...]:
        return (2,)

    def metrics(self, samples: np.ndarray, model: Model, generation: int) -> dict[str, float]:
        out = super().metrics(samples, model, generation)
        out.update(self.extra_sample_metrics(samples))
        return out
