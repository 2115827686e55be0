"""Shared machinery of 2-D continuous scenarios: a fixed 2-D grid, 2-D histogram and point-cloud metrics."""

from __future__ import annotations

import numpy as np

from core.metrics import kl_divergence, plugin_entropy
from core.scenarios.base import MetricInfo, Model, Scenario

BINS_2D = 60
CURVE_2D = 80
SLICES = 16  # directions for the sliced 1-Wasserstein distance
QUANTILES = 512

CONTINUOUS2D_METRICS = (
    MetricInfo("mean_x", "Mean x", "Mean of the first coordinate."),
    MetricInfo("mean_y", "Mean y", "Mean of the second coordinate."),
    MetricInfo("std", "Spread", "Root mean of the two coordinate variances."),
    MetricInfo("var_ratio", "Variance ratio", "Total variance (trace of the covariance) over generation 0's.",
               log_scale=True),
    MetricInfo("w1", "Sliced W1 to gen 0", f"1-Wasserstein distance averaged over {SLICES} fixed projection "
               "directions (sliced W1), against generation 0's real samples."),
    MetricInfo("kl", "KL(gen 0 || gen n)", "KL divergence over the run's 2-D bins (plus one outside bin), 0.5 "
               "pseudo-count per bin."),
    MetricInfo("entropy", "Entropy", "Histogram estimate of differential entropy on the 2-D bins (nats)."),
    MetricInfo("tail_mass", "Tail mass", "Share of samples farther (Mahalanobis distance under generation 0) than "
               "98% of generation 0's real samples (0.02 for real data)."),
    MetricInfo("nll", "Held-out NLL", "Average negative log-likelihood of fresh real points under the fit (nats)."),
)


class Continuous2D(Scenario):
    """Base for scenarios whose samples are 2-D points."""

    dtype = np.float32
    view = "hist2d"

    def set_reference(self, real: np.ndarray, heldout: np.ndarray) -> None:
        r = np.asarray(real, dtype=np.float64).reshape(-1, 2)
        lo = r.min(axis=0) - 3.0 * r.std(axis=0).max() - 1e-9
        hi = r.max(axis=0) + 3.0 * r.std(axis=0).max() + 1e-9
        self.x_edges = np.linspace(lo[0], hi[0], BINS_2D + 1)
        self.y_edges = np.linspace(lo[1], hi[1], BINS_2D + 1)
        self.bin_area = float((self.x_edges[1] - self.x_edges[0]) * (self.y_edges[1] - self.y_edges[0]))
        self.ref_mean = r.mean(axis=0)
        cov = np.cov(r.T, bias=True) + 1e-12 * np.eye(2)
        self.ref_prec = np.linalg.inv(cov)
        self.ref_trace = float(np.trace(cov))
        self.ref_d2_cut = float(np.quantile(self._d2(r), 0.98))
        ang = np.pi * np.arange(SLICES) / SLICES
        self.directions = np.column_stack([np.cos(ang), np.sin(ang)])
        self.ref_quantiles = self._proj_quantiles(r)
        self.ref_hist = self._hist_with_outside(r)
        self.heldout = np.asarray(heldout, dtype=np.float32).reshape(-1, 2)
        gx = np.linspace(lo[0], hi[0], CURVE_2D)
        gy = np.linspace(lo[1], hi[1], CURVE_2D)
        self.ref = {
            "bins": {"kind": "2d", "x_edges": self.x_edges.tolist(), "y_edges": self.y_edges.tolist()},
            "grid2d": {"x": gx.tolist(), "y": gy.tolist()},
            "real_mean": self.ref_mean.tolist(),
        }

    def unit_shape(self) -> tuple[int, ...]:
        return (2,)

    def _d2(self, x: np.ndarray) -> np.ndarray:
        z = x - self.ref_mean
        return np.einsum("ij,jk,ik->i", z, self.ref_prec, z)

    def _proj_quantiles(self, x: np.ndarray) -> np.ndarray:
        proj = x @ self.directions.T
        qs = (np.arange(QUANTILES) + 0.5) / QUANTILES
        return np.quantile(proj, qs, axis=0)

    def _hist_with_outside(self, x: np.ndarray) -> np.ndarray:
        h, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=[self.x_edges, self.y_edges])
        return np.concatenate([h.ravel(), [len(x) - h.sum()]])

    def histogram(self, samples: np.ndarray) -> np.ndarray:
        x = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
        h, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=[self.x_edges, self.y_edges])
        return h.ravel().astype(np.int64)

    def metrics(self, samples: np.ndarray, model: Model, generation: int) -> dict[str, float]:
        x = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
        n = len(x)
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        hist = self._hist_with_outside(x)
        try:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                nll = float(-np.mean(model.logpdf(self.heldout)))
        except NotImplementedError:
            nll = float("nan")
        out = {
            "mean_x": float(mean[0]),
            "mean_y": float(mean[1]),
            "std": float(np.sqrt(var.mean())),
            "var_ratio": float(var.sum() / self.ref_trace) if self.ref_trace > 0 else float("nan"),
            "w1": float(np.mean(np.abs(self._proj_quantiles(x) - self.ref_quantiles))),
            "kl": kl_divergence(self.ref_hist, hist),
            "entropy": plugin_entropy(hist[:-1], self.bin_area),
            "tail_mass": float(np.count_nonzero(self._d2(x) > self.ref_d2_cut) / n) if n else float("nan"),
            "nll": nll,
        }
        out.update(self.model_metrics(model))
        return out

    def model_metrics(self, model: Model) -> dict[str, float]:
        return {}

    def curve(self, model: Model) -> np.ndarray | None:
        gx = np.asarray(self.ref["grid2d"]["x"])
        gy = np.asarray(self.ref["grid2d"]["y"])
        xx, yy = np.meshgrid(gx, gy, indexing="ij")
        try:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
                dens = np.exp(model.logpdf(np.column_stack([xx.ravel(), yy.ravel()])))
        except NotImplementedError:
            return None
        return np.nan_to_num(dens, nan=0.0, posinf=0.0).astype(np.float32)
