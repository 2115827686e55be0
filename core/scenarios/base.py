"""The Scenario and Model interfaces every data world implements.

Conventions (the same for every scenario, documented in the help panel):
- Generation 0's *model* is the real data-generating process (a known distribution, or the bundled real
  data set resampled); its samples are real data.
- Generation n >= 1 fits a model to the training set the policy built from earlier generations, then draws
  M samples from that fit. So generation n's fitted parameters are the n-th refit: for the Gaussian,
  E[fit_var_n] = sigma0^2 ((M-1)/M)^n with the MLE.
- Samples are arrays whose first axis is the sample unit (a value, a point, an image, a sentence ...), with
  the scenario's storage dtype (float32 or int32). Samples are cast to that dtype before anything uses
  them, so what is stored is exactly what the next generation trains on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from core.params import Param, ParamError


class DegenerateFit(Exception):
    """A fit that cannot proceed at all (for example no training data left)."""


class PoolStats(ABC):
    """Sufficient statistics of all data so far: ``add`` one generation's samples, ``fit`` the model the pool
    itself would give (up to floating-point rounding), ``state`` to ship or rebuild them (small, picklable)."""

    @abstractmethod
    def add(self, samples: np.ndarray) -> None: ...

    @abstractmethod
    def fit(self, rng: np.random.Generator) -> FitResult: ...

    @abstractmethod
    def state(self) -> Any: ...

    @abstractmethod
    def __len__(self) -> int: ...


@dataclass(frozen=True)
class MetricInfo:
    """What a metric means, for the timeline chooser and the help panel."""

    name: str
    label: str
    help: str
    log_scale: bool = False



# Recorded by the loop for every scenario (core/engine.py), whatever the model: how much data each fit saw.
LOOP_METRICS = (
    MetricInfo("train_size", "training-set size",
               "How many samples this generation's model was fitted on: M under replace and mix, growing "
               "every generation under accumulate (real data plus every synthetic generation so far), fixed "
               "under accumulate-subsample. Where a run stands on it explains much of its error curve."),
)

class Model(ABC):
    """A fitted (or true) generative model that can sample and describe itself as JSON."""

    @abstractmethod
    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n samples in the scenario's storage dtype, shape (n, *unit_shape)."""

    @abstractmethod
    def to_params(self) -> dict[str, Any]:
        """JSON-serialisable parameters (stored with the generation)."""

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density (or log probability) of each sample unit; NotImplementedError when undefined."""
        raise NotImplementedError

    def sampling_logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density of what `sample` actually draws (e.g. with the temperature applied; a tail cut only
        changes a constant inside the cut). Models with sampling settings override it."""
        return self.logpdf(x)


@dataclass
class FitResult:
    """A fitted model and an optional note on what happened (e.g. 'collapsed to a point')."""

    model: Model
    note: str | None = None


# Sampling settings shared by scenarios that honour them.
TEMPERATURE = Param(
    "temperature", "float", 1.0,
    "Sampling temperature: below 1 favours likely outputs (sharper), above 1 flattens. 1 samples the fit as is.",
    minimum=0.0, maximum=10.0, exclusive_min=True,
    label="sampling temperature",
)


class Scenario(ABC):
    """A data world plus a model family: real data, fit, sample, metrics, histogram and view kind."""

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]
    schema: ClassVar[tuple[Param, ...]] = ()
    metric_infos: ClassVar[tuple[MetricInfo, ...]] = ()
    dtype: ClassVar[type] = np.float32
    # Which view draws a generation: hist1d, hist2d, rank, text, images, regression.
    view: ClassVar[str] = "hist1d"
    # Model families the multi-source policy can pool (the first is the scenario's own).
    families: ClassVar[tuple[str, ...]] = ()
    # Verifiers the filter policy can use with this scenario.
    verifiers: ClassVar[tuple[str, ...]] = ("likelihood", "ratio")
    # True when model_from_params(model.to_params()) samples exactly like the model it came from.
    regenerable: ClassVar[bool] = True
    # Families (for multi-source) whose models are their training set and cannot be rebuilt from parameters.
    unrebuildable_families: ClassVar[tuple[str, ...]] = ("kde",)
    default_samples: ClassVar[int] = 1000
    # Most samples per generation this scenario takes: keeps one generation within seconds and a few GB.
    max_samples: ClassVar[int] = 50_000_000

    def __init__(self, params: dict[str, Any], seed: int, replicate: int, samples: int) -> None:
        self.params = params
        self.seed = seed
        self.replicate = replicate
        self.samples = samples
        self.ref: dict[str, Any] = {}

    # ---- set-up -------------------------------------------------------------------------------------
    @classmethod
    def variant(cls, params: dict[str, Any]) -> type[Scenario]:
        """The class that implements these parameters (e.g. the 2-D variant of a scenario)."""
        return cls

    @classmethod
    def check(cls, params: dict[str, Any], samples: int) -> None:
        """Cross-parameter checks beyond the schema's ranges; raise ParamError with a clear message."""
        return None

    @classmethod
    def check_files(cls, params: dict[str, Any]) -> None:
        """Checks that read files the parameters name (a CSV's path); ParamError when one cannot be used."""
        return None

    def unit_shape(self) -> tuple[int, ...]:
        """Shape of one sample unit: () for scalars, (2,) for points, (64,) for 8x8 images ..."""
        return ()

    @abstractmethod
    def real_model(self) -> Model:
        """The real data-generating process: generation 0's model."""

    @abstractmethod
    def fit(self, train: np.ndarray, rng: np.random.Generator, family: str | None = None) -> FitResult:
        """Fit the scenario's model (or the named family) to a training set."""

    @abstractmethod
    def model_from_params(self, params: dict[str, Any]) -> Model:
        """Rebuild a model from its stored JSON parameters."""

    @abstractmethod
    def set_reference(self, real: np.ndarray, heldout: np.ndarray) -> None:
        """Fix bins, grids and reference statistics from generation 0's real samples and held-out real data.

        Must set ``self.ref`` to a JSON-serialisable dict with at least ``bins`` (see ``bins_spec``).
        """

    def pool_stats(self, state: Any = None) -> PoolStats | None:
        """Running sufficient statistics of a growing training pool (empty, or rebuilt from ``state``), for
        families whose fit depends on the pool only through them; None (the default): fit the pool itself."""
        return None

    @abstractmethod
    def histogram(self, samples: np.ndarray) -> np.ndarray:
        """Counts of the samples over the run's fixed bins (int64, flattened)."""

    @abstractmethod
    def metrics(self, samples: np.ndarray, model: Model, generation: int) -> dict[str, float]:
        """The metric row of one generation, against generation 0."""

    def curve(self, model: Model) -> np.ndarray | None:
        """The model's density on ``self.ref['grid']`` for drawing, or None."""
        return None

    @classmethod
    def record_rows(cls, scenarios: list[Scenario], samples: list[np.ndarray], models: list[Model],
                    generation: int) -> list[tuple[np.ndarray, dict[str, float], np.ndarray | None]]:
        """(histogram, metrics, curve) of the same generation of several runs of this scenario (replicates in
        lockstep): a scenario may compute them in one array pass, giving each run exactly what it gives alone."""
        return [(s.histogram(x), s.metrics(x, m, generation), s.curve(m)) for s, x, m in zip(scenarios, samples, models)]

    # ---- mitigations ---------------------------------------------------------------------------------
    def verify(self, samples: np.ndarray, verifier: str, threshold: float, rng: np.random.Generator,
               model: Model | None) -> np.ndarray:
        """Boolean mask of the samples the named verifier accepts (filter policy).

        - likelihood: log-likelihood under the real-data model at least the `threshold` quantile of held-out
          real data's (drops implausible samples; anchors the data but trims tails).
        - ratio: rejection sampling toward the real data: accept x with probability p_real(x) / (c p_model(x)),
          c the largest ratio in the batch; a verifier that "believes" the real distribution.
        """
        if verifier not in self.verifiers:
            raise ParamError(f"scenario {self.name} has no verifier {verifier!r} (has: {', '.join(self.verifiers)})")
        real = self._verifier_model()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lp_real = real.logpdf(samples)
            if verifier == "likelihood":
                return lp_real >= self._likelihood_cut(threshold)
            if verifier == "ratio":
                if model is None:
                    raise DegenerateFit("the ratio verifier needs the previous generation's model, which cannot be "
                                        "rebuilt from the file for this model family (a KDE is its training set), so "
                                        "this run cannot be resumed")
                try:
                    log_ratio = lp_real - model.sampling_logpdf(samples)
                except NotImplementedError:
                    raise DegenerateFit("the ratio verifier needs the model's density, which is undefined here "
                                        "(e.g. a kernel density estimate with zero bandwidth)") from None
                log_ratio = np.where(np.isnan(log_ratio), -np.inf, log_ratio)
                top = np.max(log_ratio) if len(log_ratio) else 0.0
                if not np.isfinite(top):
                    return np.isfinite(lp_real)
                return np.log(rng.random(len(samples))) <= log_ratio - top
        raise ParamError(f"verifier {verifier!r} is not implemented for scenario {self.name}")

    def _verifier_model(self) -> Model:
        """A model of the real data used by the likelihood verifier (the real process by default)."""
        return self.real_model()

    def _likelihood_cut(self, threshold: float) -> float:
        held = getattr(self, "heldout", None)
        if held is None:
            raise DegenerateFit("the likelihood verifier needs held-out real data")
        key = ("_cut", threshold)
        cache = self.__dict__.setdefault("_cuts", {})
        if key not in cache:
            cache[key] = float(np.quantile(self._verifier_model().logpdf(held), threshold))
        return cache[key]

    # ---- theory ----------------------------------------------------------------------------------------
    @classmethod
    def theory(cls, metric: str, generations: np.ndarray, run: dict[str, Any]) -> np.ndarray | None:
        """Closed-form expectation of a metric at these generations for a run's settings, or None."""
        return None

    @classmethod
    def schema_dict(cls) -> dict[str, Param]:
        return {p.name: p for p in cls.schema}


def json_floats(a: np.ndarray) -> list[float]:
    """A float array as a JSON list that round-trips exactly."""
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]
