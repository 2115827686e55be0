"""Shared machinery of the 1-D continuous scenarios (gaussian, gmm in 1-D, kde, csv with one column)."""

from __future__ import annotations

import weakref

import numpy as np
from scipy.special import ndtr, ndtri

from core.metrics import FineCounts, FineGrid1D, KLReference, moments, plugin_entropy
from core.scenarios.base import MetricInfo, Model, Scenario

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

