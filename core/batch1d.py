"""The continuous 1-D metrics of many runs' generation at once: rows of a (runs, M) array in a few array calls.

Continuous1D.record_rows measures replicates in lockstep with these; each value of a row is computed
elementwise, by a reduction along that row (which numpy performs as on the row by itself), or in exact
integers, so every run gets exactly what Continuous1D's one-run methods give it (tests/test_batch1d.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.metrics import PSEUDO_COUNT, FineGrid1D

#: rows with fewer than 1/SPARSE_SHARE as many samples as the grid has fine bins are counted from their sorted
#: fine indices (O(M log M) a row) instead of dense running sums (O(fine bins) a row); both give the same integers
SPARSE_SHARE = 4


@dataclass
class Rows:
    """Per-row results of counting a batch of samples on a FineGrid1D."""

    display: np.ndarray  # (R, bins) int64: display-bin counts
    under: np.ndarray  # (R,) samples below the grid
    over: np.ndarray  # (R,) samples at or beyond its right end
    below: np.ndarray  # (R,) mean of (lo - x)+
    above: np.ndarray  # (R,) mean of (x - hi)+
    n: int  # samples per row
    cum: np.ndarray | None = None  # dense: (R, n_fine + 1) samples at or below each fine index
    index: np.ndarray | None = None  # sparse: (R, M) each sample's fine index, sorted along the row

    def at_most(self, j: np.ndarray) -> np.ndarray:
        """Samples of each row whose fine index is at most j (one j per row)."""
        if self.cum is not None:
            return self.cum[np.arange(len(self.cum)), j]
        assert self.index is not None
        return (self.index <= j[:, None]).sum(axis=1)


@dataclass
class Grids:
    """The fine grids of several runs (one row each; every run has the same bin counts, its own range)."""

    lo: np.ndarray  # (R, 1) float32: left end
    lo_exact: np.ndarray  # (R,) float64: the same ends as the grids hold them
    hi_exact: np.ndarray
    scale: np.ndarray  # (R, 1) float32: fine bins per unit
    fine_width: np.ndarray  # (R,) float64
    width: np.ndarray  # (R,) float64: display-bin width
    n_fine: int
    fine_per_bin: int
    bins: int

    @classmethod
    def of(cls, grids: list[FineGrid1D]) -> Grids:
        g0 = grids[0]
        return cls(np.array([[np.float32(g.lo)] for g in grids], dtype=np.float32),
                   np.array([g.lo for g in grids]), np.array([g.hi for g in grids]),
                   np.array([[np.float32(1.0 / g.fine_width)] for g in grids], dtype=np.float32),
                   np.array([g.fine_width for g in grids]), np.array([g.width for g in grids]),
                   g0.n_fine, g0.fine_per_bin, g0.bins)


def count_rows(grids: Grids, x: np.ndarray, dense: bool | None = None) -> Rows:
    """Display counts, flows and outside excesses of every row of x (float32, (R, M)) on its own grid, with dense
    running sums or sorted fine indices (``dense`` None: whichever is cheaper for M)."""
    x = np.asarray(x, dtype=np.float32)
    r, m = x.shape
    n_fine = grids.n_fine
    # (x - lo) first: exact when x is near lo (Sterbenz), so large offsets do not cancel digits away.
    pos = np.subtract(x, grids.lo, dtype=np.float32)
    pos *= grids.scale
    pos += np.float32(1.0)  # position + 1: underflow lands in [0, 1), where truncation equals floor
    np.clip(pos, np.float32(0.0), np.float32(n_fine + 1), out=pos)  # samples are finite (no NaN)
    idx = pos.astype(np.intp)
    n = max(m, 1)
    if dense is None:
        dense = m * SPARSE_SHARE >= n_fine
    offsets = np.arange(r, dtype=np.intp)[:, None]
    if dense:
        width = n_fine + 2
        fine = np.bincount((idx + offsets * width).ravel(), minlength=r * width).reshape(r, width)
        cum = np.cumsum(fine[:, :-1], axis=1)
        display = np.diff(cum[:, :: grids.fine_per_bin], axis=1)
        under, over = fine[:, 0], fine[:, -1]
        index = None
    else:
        # display bin of fine index i: 0 = underflow, 1..bins, bins + 1 = overflow
        width = grids.bins + 2
        b = np.where(idx == 0, 0, np.where(idx > n_fine, grids.bins + 1, (idx - 1) // grids.fine_per_bin + 1))
        counts = np.bincount((b + offsets * width).ravel(), minlength=r * width).reshape(r, width)
        display, under, over = counts[:, 1:-1], counts[:, 0], counts[:, -1]
        cum = None
        index = np.sort(idx, axis=1)
    below, above = np.zeros(r), np.zeros(r)
    for i in np.flatnonzero(under):  # as FineGrid1D.outside_excess: only rows with samples beyond an end
        lo = float(grids.lo_exact[i])
        below[i] = float(np.sum(lo - x[i][x[i] < lo], dtype=np.float64)) / n
    for i in np.flatnonzero(over):
        hi = float(grids.hi_exact[i])
        above[i] = float(np.sum(x[i][x[i] > hi] - hi, dtype=np.float64)) / n
    return Rows(display.astype(np.int64, copy=False), under, over, below, above, m, cum, index)


def stack_rows(rows: list[Rows]) -> Rows:
    """Several one-row Rows (of samples of one size) as one."""
    if len(rows) == 1:
        return rows[0]
    cat = np.concatenate
    return Rows(cat([r.display for r in rows]), cat([r.under for r in rows]), cat([r.over for r in rows]),
                cat([r.below for r in rows]), cat([r.above for r in rows]), rows[0].n,
                None if rows[0].cum is None else cat([r.cum for r in rows]),
                None if rows[0].index is None else cat([r.index for r in rows]))


def row_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, variance with ddof=0) of every row, in float64, by the same passes as core.metrics.moments."""
    xd = np.array(x, dtype=np.float64)
    n = xd.shape[1]
    mean = xd.sum(axis=1) / n
    xd -= mean[:, None]
    np.square(xd, out=xd)
    return mean, xd.sum(axis=1) / n


def with_flows(rows: Rows) -> np.ndarray:
    """Display counts with the underflow and overflow bins at both ends, (R, bins + 2)."""
    return np.concatenate((rows.under[:, None], rows.display, rows.over[:, None]), axis=1)


def smoothed(flows: np.ndarray) -> np.ndarray:
    """Row-normalised probabilities with the KL pseudo-count added to every bin."""
    q = flows.astype(np.float64) + PSEUDO_COUNT
    q /= q.sum(axis=1, keepdims=True)
    return q


def log_smoothed(flows: np.ndarray) -> np.ndarray:
    """The log of ``smoothed``: what KLReference subtracts from its reference's log, row by row."""
    return np.log(smoothed(flows))


def w1_rows(grids: Grids, rows: Rows, ref: Rows) -> np.ndarray:
    """1-Wasserstein distance of every row's sample to its reference (the same row of ``ref``), as
    FineGrid1D.w1: the sum over fine edges j of |F_row(j) - F_ref(j)| times the fine width, in exact integers."""
    n, n_ref = rows.n, ref.n
    if n == 0 or n_ref == 0:
        return np.full(len(rows.display), np.nan)
    if rows.cum is not None and ref.cum is not None:
        if n == n_ref:
            total = np.abs(rows.cum[:, 1:] - ref.cum[:, 1:]).sum(axis=1).astype(np.float64) / n
        else:
            d = rows.cum[:, 1:] * n_ref
            d -= ref.cum[:, 1:] * n
            total = np.abs(d).sum(axis=1, dtype=np.float64) / (n * n_ref)
    else:
        total = _sparse_w1_sums(grids.n_fine, _sorted_index(rows), _sorted_index(ref), n, n_ref)
    return total * grids.fine_width + np.abs(rows.below - ref.below) + np.abs(rows.above - ref.above)


def _sorted_index(rows: Rows) -> np.ndarray:
    if rows.index is not None:
        return rows.index
    assert rows.cum is not None  # fine index of every sample, recovered from the running sums
    per_index = np.diff(rows.cum, axis=1, prepend=0)  # fine indices 0 .. n_fine
    per_index = np.concatenate((per_index, rows.n - rows.cum[:, -1:]), axis=1)  # and the overflow, n_fine + 1
    values = np.arange(per_index.shape[1])
    return np.stack([np.repeat(values, c) for c in per_index]).reshape(len(per_index), rows.n)


def _sparse_w1_sums(n_fine: int, sp: np.ndarray, sq: np.ndarray, n: int, n_ref: int) -> np.ndarray:
    """The dense formula's sum, divided as it divides it, from sorted fine indices: both running sums are
    constant between consecutive sample positions, so the sum runs over the merged positions only."""
    keys = np.concatenate((sp.astype(np.int64) * 2, sq.astype(np.int64) * 2 + 1), axis=1)
    keys.sort(axis=1)
    from_ref = (keys & 1).astype(bool)
    pos = np.clip(keys >> 1, 1, n_fine + 1)
    length = np.diff(pos, axis=1, append=n_fine + 1)
    if n == n_ref:  # sum |cum_row - cum_ref|, as the dense formula
        d = np.cumsum(np.where(from_ref, -1, 1), axis=1)
        return (np.abs(d) * length).sum(axis=1).astype(np.float64) / n
    d = np.cumsum(np.where(from_ref, -n, n_ref), axis=1)  # n_ref cum_row - n cum_ref
    return (np.abs(d) * length).sum(axis=1).astype(np.float64) / (n * n_ref)
