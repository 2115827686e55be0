"""Distribution metrics shared by scenarios, computed in one or two passes over the samples.

Documented choices (the help panel repeats them):
- KL divergence is KL(generation 0 || generation n) over the run's fixed bins plus one underflow and one
  overflow bin, with a pseudo-count of 0.5 added to every bin of both histograms (Krichevsky-Trofimov
  smoothing), so a bin emptied by collapse gives a large but finite value.
- Entropy of continuous data is the histogram (plug-in) estimate of differential entropy on the run's
  bins: -sum p log p + log(bin width); it is biased low for few samples and floors at log(bin width) when
  the samples collapse into one bin.
- W1 of 1-D data is computed from CDFs on a fine grid (``FINE_PER_BIN`` sub-bins per display bin); inside
  the grid the error is at most one fine-bin width. Beyond each end of the grid the contribution is taken as
  the difference of the two samples' mean excess past that end: exact when only one of them reaches past it,
  a lower bound when both do.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

PSEUDO_COUNT = 0.5
FINE_PER_BIN = 40

_MOMENTS_KEPT = 256
_moments_cache: OrderedDict[int, tuple[weakref.ref[np.ndarray], int, float, float]] = OrderedDict()


def moments(x: np.ndarray) -> tuple[float, float]:
    """(mean, variance with ddof=0) in float64, remembered for the last arrays asked about.

    One generation's samples are summarised by its metrics and again by the next generation's fit (under
    replace they are the training set); the cache makes the second request free.
    """
    c = _moments_cache.get(id(x))
    if c is not None and c[0]() is x and c[1] == len(x):
        return c[2], c[3]
    n = len(x)
    if n == 0:
        return float("nan"), float("nan")
    xd = np.array(x, dtype=np.float64).ravel()  # a copy, so the in-place centring leaves x alone
    mean = float(xd.sum() / n)
    xd -= mean
    # Squares summed by numpy (pairwise), not np.dot: BLAS would start threads that then spin on the second core,
    # taking it from the GUI and the background checkpointer.
    np.square(xd, out=xd)
    var = float(xd.sum() / n)
    remember_moments(x, mean, var)
    return mean, var


def remember_moments(x: np.ndarray, mean: float, var: float) -> None:
    """Keep an array's moments, computed by the same passes as ``moments`` (core.batch1d.row_moments does)."""
    try:
        _moments_cache[id(x)] = (weakref.ref(x), len(x), mean, var)
    except TypeError:  # not weak-referenceable (a plain list): no caching
        return
    _moments_cache.move_to_end(id(x))
    while len(_moments_cache) > _MOMENTS_KEPT:
        _moments_cache.popitem(last=False)


def kl_divergence(p_counts: np.ndarray, q_counts: np.ndarray, pseudo: float = PSEUDO_COUNT) -> float:
    """KL(p || q) in nats between two count vectors over the same bins, smoothed by ``pseudo``."""
    return KLReference(p_counts, pseudo)(q_counts)


class KLReference:
    """KL(p || .) from one fixed count vector p to many others, with p's share of the work done once."""

    def __init__(self, p_counts: np.ndarray, pseudo: float = PSEUDO_COUNT) -> None:
        p = np.asarray(p_counts, dtype=np.float64) + pseudo
        p /= p.sum()
        self.p, self.log_p, self.pseudo = p, np.log(p), pseudo

    def __call__(self, q_counts: np.ndarray) -> float:
        """KL(p || q) for counts q over the same bins (exactly 0 when q's counts equal p's)."""
        q = np.asarray(q_counts, dtype=np.float64) + self.pseudo
        q /= q.sum()
        return float(np.dot(self.p, self.log_p - np.log(q)))


def plugin_entropy(counts: np.ndarray, bin_volume: float = 1.0) -> float:
    """Plug-in entropy (nats) of a histogram; with ``bin_volume`` the differential-entropy estimate."""
    c = np.asarray(counts, dtype=np.float64)
    total = float(c.sum())
    if total <= 0:
        return float("nan")
    c = c[c > 0]
    # -sum (c/n) log(c/n) = log n - sum c log c / n
    return float(np.log(total) - np.dot(c, np.log(c)) / total + np.log(bin_volume))


@dataclass(frozen=True)
class FineCounts:
    """One sample's counts on a FineGrid1D, with what W1, tail mass and display bins are read from."""

    fine: np.ndarray  # [underflow, fine bins..., overflow], length n_fine + 2
    cum: np.ndarray  # running sum of fine[:-1]: cum[j] = samples below the grid's j-th fine edge (j = 0..n_fine)
    n: int  # samples counted (every one, flows included)
    excess: tuple[float, float]  # mean of (lo - x)+ and of (x - hi)+ over all samples


class FineGrid1D:
    """A fixed 1-D grid: display bins, fine sub-bins for CDFs, and the pass that fills both."""

    def __init__(self, lo: float, hi: float, bins: int, fine_per_bin: int = FINE_PER_BIN) -> None:
        self.lo, self.hi, self.bins, self.fine_per_bin = float(lo), float(hi), int(bins), int(fine_per_bin)
        self.n_fine = self.bins * self.fine_per_bin
        self.fine_width = (self.hi - self.lo) / self.n_fine
        self.width = (self.hi - self.lo) / self.bins
        self.edges = np.linspace(self.lo, self.hi, self.bins + 1)

    def fine_counts(self, x: np.ndarray) -> np.ndarray:
        """Counts over [underflow, fine bins..., overflow] (length n_fine + 2)."""
        # (x - lo) first: exact when x is near lo (Sterbenz), so large offsets do not cancel digits away.
        pos = np.subtract(x, np.float32(self.lo), dtype=np.float32)
        pos *= np.float32(1.0 / self.fine_width)
        pos += np.float32(1.0)  # position + 1: underflow lands in [0, 1), where truncation equals floor
        np.clip(pos, np.float32(0.0), np.float32(self.n_fine + 1), out=pos)  # samples are finite (no NaN)
        return np.bincount(pos.astype(np.intp), minlength=self.n_fine + 2)

    def counts(self, x: np.ndarray) -> FineCounts:
        """The fine counts of a sample with their running sum and outside excesses: one pass over x."""
        fine = self.fine_counts(x)
        return FineCounts(fine, np.cumsum(fine[:-1]), len(x), self.outside_excess(x, fine))

    def edge_index(self, value: float) -> int:
        """Index in fine counts of the first fine bin at or after `value` (grid edges snap to the fine grid)."""
        k = int(round((value - self.lo) / self.fine_width))
        return min(max(k, 0), self.n_fine) + 1

    def mass_outside(self, c: FineCounts, lo_index: int, hi_index: int) -> int:
        """Samples in fine bins before lo_index or from hi_index on (flows included)."""
        return int(c.cum[lo_index - 1]) + c.n - int(c.cum[hi_index - 1])

    def display_counts(self, c: FineCounts) -> np.ndarray:
        """Display-bin counts (without under/overflow): differences of the running sum at display edges."""
        return np.diff(c.cum[:: self.fine_per_bin])

    def with_flows(self, c: FineCounts, display: np.ndarray | None = None) -> np.ndarray:
        """Display-bin counts (computed from `c` unless given) with the underflow and overflow bins at both
        ends."""
        shown = self.display_counts(c) if display is None else display
        return np.concatenate(([c.fine[0]], shown, [c.fine[-1]]))

    def outside_excess(self, x: np.ndarray, fine: np.ndarray) -> tuple[float, float]:
        """Mean of (lo - x)+ and of (x - hi)+ over all samples (exact contributions beyond the grid)."""
        n = max(len(x), 1)
        below = float(np.sum(self.lo - x[x < self.lo], dtype=np.float64)) / n if fine[0] else 0.0
        above = float(np.sum(x[x > self.hi] - self.hi, dtype=np.float64)) / n if fine[-1] else 0.0
        return below, above

    def w1(self, p: FineCounts, q: FineCounts) -> float:
        """1-Wasserstein distance between two samples given their fine counts.

        Inside the grid it is the sum over fine bins of |F_p - F_q| at each bin's right edge times the bin
        width; with n_p n_q (F_p - F_q) = n_q cum_p - n_p cum_q that is exact integer arithmetic (one
        subtraction when both samples are the same size, the usual case).
        """
        if p.n == 0 or q.n == 0:
            return float("nan")
        if p.n == q.n:
            d = p.cum[1:] - q.cum[1:]
            total = float(np.abs(d, out=d).sum()) / p.n  # at most n_fine * n: no int64 overflow
        else:
            d = p.cum[1:] * q.n
            d -= q.cum[1:] * p.n
            total = float(np.abs(d, out=d).sum(dtype=np.float64)) / (p.n * q.n)
        inside = total * self.fine_width
        return inside + abs(p.excess[0] - q.excess[0]) + abs(p.excess[1] - q.excess[1])
