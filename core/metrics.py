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

import numpy as np

PSEUDO_COUNT = 0.5
FINE_PER_BIN = 40

_moments_cache: tuple[weakref.ref[np.ndarray], int, float, float] | None = None


def moments(x: np.ndarray) -> tuple[float, float]:
    """(mean, variance with ddof=0) in float64, remembered for the last array asked about.

    One generation's samples are summarised by its metrics and again by the next generation's fit (under
    replace they are the training set); the cache makes the second request free.
    """
    global _moments_cache
    c = _moments_cache
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
    try:
        _moments_cache = (weakref.ref(x), n, mean, var)
    except TypeError:  # not weak-referenceable (a plain list): no caching
        pass
    return mean, var


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

    def edge_index(self, value: float) -> int:
        """Index in fine counts of the first fine bin at or after `value` (grid edges snap to the fine grid)."""
        k = int(round((value - self.lo) / self.fine_width))
        return min(max(k, 0), self.n_fine) + 1

    def mass_outside(self, fine: np.ndarray, lo_index: int, hi_index: int) -> int:
        """Samples in fine bins before lo_index or from hi_index on (flows included)."""
        return int(fine[:lo_index].sum() + fine[hi_index:].sum())

    def display_counts(self, fine: np.ndarray) -> np.ndarray:
        """Display-bin counts (without under/overflow) from fine counts."""
        return fine[1:-1].reshape(self.bins, self.fine_per_bin).sum(axis=1)

    def with_flows(self, fine: np.ndarray, display: np.ndarray | None = None) -> np.ndarray:
        """Display-bin counts (computed from `fine` unless given) with the underflow and overflow bins at both
        ends."""
        return np.concatenate(([fine[0]], self.display_counts(fine) if display is None else display, [fine[-1]]))

    def outside_excess(self, x: np.ndarray, fine: np.ndarray) -> tuple[float, float]:
        """Mean of (lo - x)+ and of (x - hi)+ over all samples (exact contributions beyond the grid)."""
        n = max(len(x), 1)
        below = float(np.sum(self.lo - x[x < self.lo], dtype=np.float64)) / n if fine[0] else 0.0
        above = float(np.sum(x[x > self.hi] - self.hi, dtype=np.float64)) / n if fine[-1] else 0.0
        return below, above

    def w1(self, fine_p: np.ndarray, excess_p: tuple[float, float], fine_q: np.ndarray,
           excess_q: tuple[float, float]) -> float:
        """1-Wasserstein distance between two samples given their fine counts and outside excesses.

        Inside the grid it is the sum over fine bins of |F_p - F_q| at each bin's right edge times the bin
        width; with n_p n_q (F_p - F_q) = cumsum(n_q fine_p - n_p fine_q) that is exact integer arithmetic
        and one running sum.
        """
        n_p, n_q = int(fine_p.sum()), int(fine_q.sum())
        if n_p == 0 or n_q == 0:
            return float("nan")
        d = fine_p[:-1] * n_q
        d -= fine_q[:-1] * n_p
        c = np.cumsum(d)
        np.abs(c, out=c)
        inside = float(c[1:].sum()) / (n_p * n_q) * self.fine_width
        return inside + abs(excess_p[0] - excess_q[0]) + abs(excess_p[1] - excess_q[1])
