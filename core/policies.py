"""Policies: how generation n's training set (and its model) is built from real data and earlier generations."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from core.params import Param, ParamError, lookup, resolve
from core.scenarios.base import DegenerateFit, FitResult, Model, PoolStats, Scenario
from core.seeding import Purpose, stream
from core.special import logsumexp


@dataclass
class History:
    """Samples of the generations a policy still needs, plus access to real data."""

    real_model: Model
    samples: dict[int, np.ndarray] = field(default_factory=dict)
    models: dict[int, Model] = field(default_factory=dict)

    def real0(self) -> np.ndarray:
        return self.samples[0]


def _subset(rng: np.random.Generator, x: np.ndarray, k: int) -> np.ndarray:
    """k rows of x chosen uniformly without replacement (all of x when k >= len(x))."""
    if k >= len(x):
        return x
    return x[np.sort(rng.choice(len(x), size=k, replace=False))]


class Policy:
    """Base: replace semantics; subclasses change the training set or the fit."""

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]
    schema: ClassVar[tuple[Param, ...]] = ()
    # Which earlier generations the policy reads: "last" (and generation 0) or "all".
    keeps: ClassVar[str] = "last"

    def __init__(self, params: dict[str, Any], scenario: Scenario, samples: int) -> None:
        self.params = params
        self.scenario = scenario
        self.samples = samples

    @classmethod
    def check(cls, params: dict[str, Any], scenario_cls: type[Scenario], samples: int) -> None:
        """Cross-checks against the scenario; ParamError with a clear message."""

    def regenerable(self) -> bool:
        """Whether the models this policy fits can be rebuilt from their stored parameters."""
        return self.scenario.regenerable

    def needed(self, generation: int) -> list[int]:
        """Generations whose samples must be in the history to build `generation`'s training set."""
        if self.keeps == "all":
            return list(range(generation))
        return sorted({0, generation - 1})

    def get_state(self) -> Any:
        """What the policy carries between generations besides the samples (shipped with a chunk of a run)."""
        return None

    def set_state(self, state: Any) -> None:
        """Continue from ``get_state()``'s value."""

    def rebuild(self, next_generation: int, load: Callable[[int], np.ndarray]) -> None:
        """Rebuild what ``get_state`` carries from stored samples (load(g) gives generation g's), to resume."""

    def training_set(self, generation: int, history: History,
                     rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
        """The training set of `generation` (>= 1) and extra metrics about it."""
        return history.samples[generation - 1], {}

    def fit(self, train: np.ndarray, generation: int, seed: int, replicate: int) -> FitResult:
        """Fit generation's model to its training set."""
        if len(train) == 0:
            raise DegenerateFit("the training set is empty")
        return self.scenario.fit(train, stream(seed, replicate, generation, Purpose.FIT))


class Replace(Policy):
    name = "replace"
    title = "Replace"
    summary = "Each generation trains only on the previous generation's samples: the pure self-consuming loop."


class Mix(Policy):
    name = "mix"
    title = "Mix real data"
    summary = ("Each training set is a fraction alpha of real data and 1-alpha of the previous generation's samples; "
               "real data either fresh every generation or drawn from a fixed pool (generation 0's sample).")
    schema = (
        Param("alpha", "float", 0.5, "Fraction of real data in every training set (0 = replace, 1 = all real).",
              minimum=0.0, maximum=1.0, label="real-data fraction"),
        Param("real", "choice", "fresh", "fresh: new real samples every generation; fixed: the same real samples "
              "(from generation 0) every generation.", choices=("fresh", "fixed"), label="real data"),
    )

    def training_set(self, generation: int, history: History,
                     rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
        r = int(round(self.params["alpha"] * self.samples))
        synth = _subset(rng, history.samples[generation - 1], self.samples - r)
        if self.params["real"] == "fresh":
            real = history.real_model.sample(rng, r).astype(synth.dtype, copy=False)
        else:
            real = history.real0()[:r]
        return np.concatenate([real, synth]), {"real_fraction": r / max(self.samples, 1)}


class Accumulate(Policy):
    name = "accumulate"
    title = "Accumulate"
    summary = "Each training set holds all data so far: the real data and every earlier generation's samples."
    keeps = "all"

    def __init__(self, params: dict[str, Any], scenario: Scenario, samples: int) -> None:
        super().__init__(params, scenario, samples)
        # Families with sufficient statistics keep those instead of the pool: a generation then costs the same
        # at generation 1,000 as at 10 (the fit equals the pool's up to rounding).
        self.pool: PoolStats | None = scenario.pool_stats()
        self.pooled_through = -1  # the last generation whose samples are in self.pool

    def needed(self, generation: int) -> list[int]:
        if self.pool is None:
            return super().needed(generation)
        return sorted({0, generation - 1})

    def get_state(self) -> Any:
        return None if self.pool is None else (self.pooled_through, self.pool.state())

    def set_state(self, state: Any) -> None:
        if self.pool is not None and state is not None:
            self.pooled_through, pool_state = state
            self.pool = self.scenario.pool_stats(pool_state)

    def rebuild(self, next_generation: int, load: Callable[[int], np.ndarray]) -> None:
        """Fill the statistics with generations 0..next_generation-2 (the next step adds the one before it)."""
        if self.pool is None:
            return
        self.pool = self.scenario.pool_stats()
        for g in range(next_generation - 1):
            self.pool.add(load(g))
        self.pooled_through = next_generation - 2

    def training_set(self, generation: int, history: History,
                     rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
        if self.pool is None:
            return np.concatenate([history.samples[g] for g in range(generation)]), {}
        for g in range(self.pooled_through + 1, generation):
            self.pool.add(history.samples[g])
        self.pooled_through = generation - 1
        return _PooledTraining(self.pool), {}

    def fit(self, train: np.ndarray, generation: int, seed: int, replicate: int) -> FitResult:
        if isinstance(train, _PooledTraining):
            return train.pool.fit(stream(seed, replicate, generation, Purpose.FIT))
        return super().fit(train, generation, seed, replicate)


class _PooledTraining:
    """Stands for the whole pool where a family fits from its statistics: its length is the pool's size."""

    def __init__(self, pool: PoolStats) -> None:
        self.pool = pool

    def __len__(self) -> int:
        return len(self.pool)


class AccumulateSubsample(Policy):
    name = "accumulate-subsample"
    title = "Accumulate, subsampled"
    summary = ("Each training set is a uniform subsample, of fixed size, of all data so far (Kazdan et al. 2024): "
               "degrades slowly, then plateaus.")
    schema = (
        Param("train_size", "int", 0, "Training-set size; 0 = the samples per generation M.", minimum=0,
              maximum=100_000_000, label="training-set size"),
    )
    keeps = "all"

    def training_set(self, generation: int, history: History,
                     rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
        size = self.params["train_size"] or self.samples
        pool = np.concatenate([history.samples[g] for g in range(generation)])
        return _subset(rng, pool, size), {}


class Filter(Policy):
    name = "filter"
    title = "Filter synthetic data"
    summary = ("Synthetic samples enter the next training set only if a verifier accepts them; the acceptance "
               "rate is recorded (Feng et al. 2024).")
    schema = (
        Param("verifier", "choice", "likelihood", "likelihood: keep samples whose log-likelihood under the real-data "
              "model is above the threshold quantile of real data's (trims implausible samples and tails); ratio: "
              "rejection sampling toward the real distribution (keeps x with probability proportional to "
              "p_real/p_model); quality: a classifier trained on real data is confident (images); dedup: drop "
              "repeated samples (text); repetition: drop samples with repeated n-grams (text).",
              choices=("likelihood", "ratio", "quality", "dedup", "repetition"), label="verifier"),
        Param("threshold", "float", 0.05, "Strictness: the share of real data the verifier would reject "
              "(likelihood, quality) or the allowed repeated-n-gram share (repetition).", minimum=0.0,
              maximum=1.0, exclusive_max=True, label="strictness"),
    )

    @classmethod
    def check(cls, params: dict[str, Any], scenario_cls: type[Scenario], samples: int) -> None:
        if params["verifier"] not in scenario_cls.verifiers:
            raise ParamError(f"verifier {params['verifier']!r} does not apply to scenario {scenario_cls.name} "
                             f"(it has: {', '.join(scenario_cls.verifiers)})", param="verifier")

    def training_set(self, generation: int, history: History,
                     rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
        synth = history.samples[generation - 1]
        if generation == 1:  # generation 0 is real data: nothing to verify
            return synth, {"acceptance": 1.0}
        ok = self.scenario.verify(synth, self.params["verifier"], self.params["threshold"], rng,
                                  history.models.get(generation - 1))
        kept = synth[ok]
        return kept, {"acceptance": float(np.mean(ok)) if len(ok) else float("nan")}


class PooledModel(Model):
    """Samples pooled from several models at fixed shares (largest-remainder allocation)."""

    def __init__(self, models: list[Model], shares: list[float]) -> None:
        self.models = models
        s = np.asarray(shares, dtype=np.float64)
        self.shares = s / s.sum()

    def _counts(self, n: int) -> np.ndarray:
        raw = self.shares * n
        counts = np.floor(raw).astype(np.int64)
        order = np.argsort(-(raw - counts), kind="stable")
        counts[order[: n - counts.sum()]] += 1
        return counts

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        parts = [m.sample(rng, int(c)) for m, c in zip(self.models, self._counts(n)) if c > 0]
        x = np.concatenate(parts)
        return x[rng.permutation(len(x))]

    def to_params(self) -> dict[str, Any]:
        return {"pooled": [{"share": float(s), "model": m.to_params()} for s, m in zip(self.shares, self.models)]}

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        parts = [np.log(s) + m.logpdf(x) for s, m in zip(self.shares, self.models) if s > 0]
        with np.errstate(invalid="ignore"):
            return logsumexp(np.stack(parts), axis=0)


def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


class MultiSource(Policy):
    name = "multi-source"
    title = "Multi-source"
    summary = ("The next training set pools samples from K models fitted independently (each on its own bootstrap "
               "of the data) or from several model families at chosen shares.")
    schema = (
        Param("sources", "int", 3, "Number K of independently fitted models pooled (ignored when families is "
              "set).", minimum=1, maximum=64, label="model sources"),
        Param("families", "str", "", "Comma-separated model families to pool, e.g. 'gaussian,kde'; empty = K "
              "models of the scenario's own family.", label="model families"),
        Param("shares", "str", "", "Comma-separated shares of the pooled samples per source; empty = equal.",
              label="source shares"),
        Param("real_alpha", "float", 0.0, "Fraction of fresh real data added to every training set.",
              minimum=0.0, maximum=1.0, label="real-data fraction"),
    )

    @classmethod
    def check(cls, params: dict[str, Any], scenario_cls: type[Scenario], samples: int) -> None:
        fams = _csv_list(params["families"])
        allowed = scenario_cls.families or (scenario_cls.name,)
        for f in fams:
            if f not in allowed:
                raise ParamError(f"family {f!r} is not available for scenario {scenario_cls.name} "
                                 f"(available: {', '.join(allowed)})", param="families")
        k = len(fams) or params["sources"]
        shares = _csv_list(params["shares"])
        if shares:
            try:
                vals = [float(s) for s in shares]
            except ValueError:
                raise ParamError(f"shares must be numbers, got {params['shares']!r}", param="shares") from None
            if len(vals) != k:
                raise ParamError(f"shares lists {len(vals)} values for {k} sources", param="shares")
            if not all(math.isfinite(v) and v >= 0 for v in vals) or not 0 < sum(vals) < math.inf:
                raise ParamError("shares must be finite, non-negative numbers with a positive, finite sum", param="shares")

    def regenerable(self) -> bool:
        fams, _ = self._plan()
        return self.scenario.regenerable and not any(f in self.scenario.unrebuildable_families for f in fams)

    def _plan(self) -> tuple[list[str | None], list[float]]:
        fams: list[str | None] = list(_csv_list(self.params["families"])) or [None] * self.params["sources"]
        shares = [float(s) for s in _csv_list(self.params["shares"])] or [1.0] * len(fams)
        return fams, shares

    def training_set(self, generation: int, history: History,
                     rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
        synth = history.samples[generation - 1]
        r = int(round(self.params["real_alpha"] * self.samples))
        if r == 0:
            return synth, {}
        real = history.real_model.sample(rng, r).astype(synth.dtype, copy=False)
        return np.concatenate([real, _subset(rng, synth, self.samples - r)]), {}

    def fit(self, train: np.ndarray, generation: int, seed: int, replicate: int) -> FitResult:
        if len(train) == 0:
            raise DegenerateFit("the training set is empty")
        fams, shares = self._plan()
        models, notes = [], []
        for k, fam in enumerate(fams):
            boot_rng = stream(seed, replicate, generation, Purpose.SOURCE, k)
            boot = train[boot_rng.integers(0, len(train), len(train))] if len(fams) > 1 else train
            res = self.scenario.fit(boot, stream(seed, replicate, generation, Purpose.FIT, k), family=fam)
            models.append(res.model)
            if res.note:
                notes.append(f"source {k + 1}: {res.note}")
        return FitResult(PooledModel(models, shares), "; ".join(notes) or None)


POLICIES: dict[str, type[Policy]] = {
    cls.name: cls for cls in (Replace, Mix, Accumulate, AccumulateSubsample, Filter, MultiSource)
}


def policy_class(name: str) -> type[Policy]:
    """The registered policy class; ParamError naming the known ones otherwise."""
    return lookup(POLICIES, "policy", name)


def resolve_policy_params(name: str, given: dict[str, Any]) -> dict[str, Any]:
    return resolve(policy_class(name).schema, given, where=f"policy {name}")


def pooled_from_params(scenario: Scenario, params: dict[str, Any]) -> Model:
    """Rebuild a stored model, pooled or single."""
    if "pooled" in params:
        items = params["pooled"]
        return PooledModel([pooled_from_params(scenario, it["model"]) for it in items], [it["share"] for it in items])
    return scenario.model_from_params(params)
