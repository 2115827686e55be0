"""Shared machinery of the 1-D continuous scenarios (gaussian, gmm in 1-D, kde, csv with one column)."""

from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any

import numpy as np

from core.batch1d import (
    SPARSE_SHARE,
    Grids,
    Rows,
    count_rows,
    log_smoothed,
    row_moments,
    stack_rows,
    w1_rows,
    with_flows,
)
from core.metrics import (
    FINE_PER_BIN,
    FineCounts,
    FineGrid1D,
    KLReference,
    moments,
    plugin_entropy,
    remember_moments,
)
from core.scenarios.base import MetricInfo, Model, Scenario
from core.special import ndtr, ndtri

DISPLAY_BINS = 100
GRID_POINTS = 200
SPAN_SD = 6.0  # the fixed axis spans generation 0's mean +- SPAN_SD standard deviations

CONTINUOUS_METRICS = (
    MetricInfo("mean", "Sample mean", "Mean of this generation's samples. Under pure refitting it random-walks."),
    MetricInfo("std", "Sample std", "Standard deviation of this generation's samples: the spread that collapse shrinks."),
    MetricInfo("var_ratio", "Variance ratio", "Sample variance divided by generation 0's. 1 = no loss of spread; it "
               "falls toward 0 as the model collapses.", log_scale=True),
    MetricInfo("w1", "W1 to gen 0", "1-Wasserstein (earth mover's) distance between this generation's samples and "
               "generation 0's real samples, in data units: how far mass had to move."),
    MetricInfo("kl", "KL(gen 0 || gen n)", "KL divergence from generation 0 to this generation over the run's bins "
               "(nats, 0.5 pseudo-count per bin). Large when real regions are no longer covered."),
    MetricInfo("entropy", "Entropy", "Histogram estimate of differential entropy (nats). Falls as samples "
               "concentrate."),
    MetricInfo("tail_mass", "Tail mass", "Share of samples outside the real data's 1st-99th percentile range (0.02 for "
               "real data). The tails go first: this drops before the spread does."),
    MetricInfo("nll", "Held-out NLL", "Average negative log-likelihood of fresh real data under this generation's "
               "fitted model (nats). Rises as the model forgets the real distribution."),
)


class Continuous1D(Scenario):
    """Base for scenarios whose samples are scalars: fixed axis, histogram and the continuous metrics."""

    dtype = np.float32
    view = "hist1d"

    def set_reference(self, real: np.ndarray, heldout: np.ndarray) -> None:
        real64 = np.asarray(real, dtype=np.float64)
        # The same moments every generation's metrics use, so generation 0's variance ratio is exactly 1.
        mu, var = moments(real) if len(real64) else (0.0, 0.0)
        sd = float(np.sqrt(var))
        half = SPAN_SD * sd if sd > 0 else 1.0
        self.grid1d = FineGrid1D(mu - half, mu + half, DISPLAY_BINS)
        real32 = np.asarray(real, dtype=np.float32)
        self._ref_counts = self.grid1d.counts(real32)
        self._ref_kl = KLReference(self.grid1d.with_flows(self._ref_counts))
        self.ref_var = var
        # Percentiles of all real data we have (generation 0 plus the held-out draws): stable even for small M.
        pooled = np.concatenate([real64, np.asarray(heldout, dtype=np.float64).ravel()])
        p1, p99 = (np.quantile(pooled, [0.01, 0.99]) if len(pooled) else (mu, mu))
        # Tail cuts snap to the fine grid (1/40 of a display bin), so tail mass is read off the histogram.
        self._tail_lo = self.grid1d.edge_index(float(p1))
        self._tail_hi = self.grid1d.edge_index(float(p99))
        self.p1 = self.grid1d.lo + (self._tail_lo - 1) * self.grid1d.fine_width
        self.p99 = self.grid1d.lo + (self._tail_hi - 1) * self.grid1d.fine_width
        self.heldout = np.asarray(heldout, dtype=np.float32)
        h64 = self.heldout.astype(np.float64)
        self.heldout_moments = (float(h64.mean()), float(h64.var())) if len(h64) else (float("nan"),) * 2
        self.grid = np.linspace(self.grid1d.lo, self.grid1d.hi, GRID_POINTS)  # where the model density is drawn
        self.ref = {
            "bins": {"kind": "1d", "edges": self.grid1d.edges.tolist()},
            "grid": self.grid.tolist(),
            "real_mean": mu,
            "real_std": sd,
            "p1": self.p1,
            "p99": self.p99,
        }
        self._fine_cache: tuple[weakref.ref[np.ndarray], FineCounts, np.ndarray] | None = None

    def _fine(self, samples: np.ndarray) -> tuple[FineCounts, np.ndarray]:
        """(fine counts, display counts) of one generation's samples; histogram() and metrics() share one pass."""
        cached = self._fine_cache
        if cached is not None and cached[0]() is samples:
            return cached[1], cached[2]
        counts = self.grid1d.counts(samples)
        display = self.grid1d.display_counts(counts).astype(np.int64, copy=False)
        self._fine_cache = (weakref.ref(samples), counts, display)
        return counts, display

    def histogram(self, samples: np.ndarray) -> np.ndarray:
        return self._fine(samples)[1].copy()

    def metrics(self, samples: np.ndarray, model: Model, generation: int) -> dict[str, float]:
        x = samples
        counts, display = self._fine(x)
        n = len(x)
        mean, var = moments(x)
        tails = self.grid1d.mass_outside(counts, self._tail_lo, self._tail_hi)
        out = {
            "mean": mean,
            "std": float(np.sqrt(var)),
            "var_ratio": var / self.ref_var if self.ref_var > 0 else float("nan"),
            "w1": self.grid1d.w1(counts, self._ref_counts),
            "kl": self._ref_kl(self.grid1d.with_flows(counts, display)),
            "entropy": plugin_entropy(display, self.grid1d.width),
            "tail_mass": tails / n if n else float("nan"),
            "nll": self._nll(model),
        }
        out.update(self.model_metrics(model))
        return out

    @classmethod
    def record_rows(cls, scenarios: list[Scenario], samples: list[np.ndarray], models: list[Model],
                    generation: int) -> list[tuple[np.ndarray, dict[str, float], np.ndarray | None]]:
        """Several runs measured in one array pass (each row on its own grid, against its own generation 0),
        exactly as ``histogram``, ``metrics`` and ``curve`` measure one (tests/test_batch1d.py)."""
        kind = type(scenarios[0])
        if len(scenarios) == 1 or kind.metrics is not Continuous1D.metrics or \
                any(type(s) is not kind for s in scenarios) or len({len(x) for x in samples}) != 1:
            return super().record_rows(scenarios, samples, models, generation)  # one by one
        runs: list[Continuous1D] = scenarios  # type: ignore[assignment]
        originals = samples
        x = np.stack([np.asarray(v, dtype=np.float32) for v in samples])
        grids, ref, ref_var, tail_lo, tail_hi = _group_reference(runs, dense=len(x[0]) * SPARSE_SHARE >= FINE_BINS)
        rows = count_rows(grids, x, dense=ref.cum is not None)
        mean, var = row_moments(x)
        n = rows.n
        for sample, m_, v_ in zip(originals, mean.tolist(), var.tolist()):  # the next fit reads them (replace)
            remember_moments(sample, m_, v_)
        with np.errstate(divide="ignore", invalid="ignore"):
            var_ratio = np.where(ref_var > 0, var / np.where(ref_var > 0, ref_var, 1.0), np.nan)
            tails = rows.at_most(tail_lo - 1) + n - rows.at_most(tail_hi - 1)
            tail_mass = tails / n if n else np.full(len(var), np.nan)
        w1 = w1_rows(grids, rows, ref)
        log_q = log_smoothed(with_flows(rows))
        out = []
        for i, (s, model) in enumerate(zip(runs, models)):
            out.append({"mean": float(mean[i]), "std": float(np.sqrt(var[i])), "var_ratio": float(var_ratio[i]),
                        "w1": float(w1[i]), "kl": float(np.dot(s._ref_kl.p, s._ref_kl.log_p - log_q[i])),
                        "entropy": plugin_entropy(rows.display[i], s.grid1d.width),
                        "tail_mass": float(tail_mass[i]), "nll": s._nll(model), **s.model_metrics(model)})
        curves = kind.curves_of(runs, models)
        return [(rows.display[i].copy(), out[i], curves[i]) for i in range(len(runs))]

    def _reference_rows(self, dense: bool) -> Rows:
        """Generation 0's counts as one batch row, dense or as sorted fine indices (kept once made)."""
        c = self._ref_counts
        if dense:
            return Rows(self.grid1d.display_counts(c)[None, :], c.fine[:1], c.fine[-1:], np.array([c.excess[0]]),
                        np.array([c.excess[1]]), c.n, cum=c.cum[None, :])
        index = getattr(self, "_ref_index", None)
        if index is None:
            per_index = np.diff(c.cum, prepend=0)
            values = np.arange(len(per_index) + 1)
            counts = np.concatenate((per_index, [c.n - c.cum[-1]]))
            index = self._ref_index = np.repeat(values, counts)[None, :]
        return Rows(self.grid1d.display_counts(c)[None, :], c.fine[:1], c.fine[-1:], np.array([c.excess[0]]),
                    np.array([c.excess[1]]), c.n, index=index)

    @classmethod
    def curves_of(cls, runs: list[Continuous1D], models: list[Model]) -> list[np.ndarray | None]:
        """The density curves of several runs' models (a scenario may draw them in one array pass)."""
        return [s.curve(m) for s, m in zip(runs, models)]

    def _nll(self, model: Model) -> float:
        try:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                lp = model.logpdf(self.heldout)
        except NotImplementedError:
            return float("nan")
        return float(-np.mean(lp, dtype=np.float64))

    def model_metrics(self, model: Model) -> dict[str, float]:
        """Metrics read off the fitted model itself (fit_mean, fit_std, components ...)."""
        return {}

    def curve(self, model: Model) -> np.ndarray | None:
        try:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
                dens = np.exp(model.logpdf(self.grid))
        except NotImplementedError:
            return None
        return np.nan_to_num(dens, nan=0.0, posinf=0.0).astype(np.float32)


FINE_BINS = DISPLAY_BINS * FINE_PER_BIN
_GROUPS_KEPT = 64
_groups: OrderedDict[tuple[int, ...], tuple[list[Continuous1D], tuple[Any, ...]]] = OrderedDict()


def _group_reference(runs: list[Continuous1D], dense: bool) -> tuple[Any, ...]:
    """The stacked grids and generation-0 references of runs measured together (kept for their next generations)."""
    key = (dense, *map(id, runs))
    kept = _groups.get(key)
    if kept is not None and all(a is b for a, b in zip(kept[0], runs)):
        _groups.move_to_end(key)
        return kept[1]
    value = (Grids.of([s.grid1d for s in runs]), stack_rows([s._reference_rows(dense) for s in runs]),
             np.array([s.ref_var for s in runs], dtype=np.float64), np.array([s._tail_lo for s in runs]),
             np.array([s._tail_hi for s in runs]))
    _groups[key] = (list(runs), value)
    while len(_groups) > _GROUPS_KEPT:
        _groups.popitem(last=False)
    return value


def gaussian_logpdf(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    """Normal log density; a zero std gives +inf at the mean and -inf elsewhere."""
    x = np.asarray(x, dtype=np.float64)
    if std <= 0:
        return np.where(x == mean, np.inf, -np.inf)
    z = (x - mean) / std
    return -0.5 * z * z - np.log(std) - 0.5 * np.log(2 * np.pi)


def truncated_normal(rng: np.random.Generator, mean: float, std: float, n: int, cut: float) -> np.ndarray:
    """n normal draws; when cut > 0 none lies beyond mean +- cut*std (tail truncation).

    Cuts of at least one standard deviation redraw the few draws outside (two in three are kept at worst);
    narrower cuts, where redrawing would take ever longer, map uniform draws through the inverse normal CDF.
    """
    if cut <= 0 or std <= 0:
        return rng.normal(mean, std, n) if std > 0 else np.full(n, mean, dtype=np.float64)
    if cut < 1.0:
        lo, hi = ndtr(-cut), ndtr(cut)
        z = ndtri(rng.uniform(lo, hi, n))
        return mean + std * np.clip(z, -cut, cut)
    x = rng.normal(mean, std, n)
    bad = np.flatnonzero(np.abs(x - mean) > cut * std)
    while len(bad):
        x[bad] = rng.normal(mean, std, len(bad))
        bad = bad[np.abs(x[bad] - mean) > cut * std]
    return x

