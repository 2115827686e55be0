"""`regression`: linear regression relabelled by its own fits (Gerstgrasser et al. 2024, "Is Model Collapse
Inevitable?").

Setting. A fixed design X (T x d, rows N(0, I)) and a true weight vector w* (N(0, I/d), so the signal
x.w* has unit variance) are drawn once per run from the SETUP stream of generation 0. The real labels are
y = X w* + noise, noise N(0, sigma^2). A sample unit is one row [x_1 .. x_d, y] (float32), so every policy
works row-wise and the samples per generation M are the design's rows: T = M (``samples``).

Generations. Generation 0's model is the truth (w*, sigma): its samples are X with fresh real labels.
Generation n >= 1 fits ordinary least squares to its training set and its samples relabel the same X with
the fit plus fresh noise of the TRUE sigma (as in the paper; the fit's residual sigma is recorded as a
metric, not used for sampling). So generation 1's fit is the plain OLS fit to real labels.

Closed forms (E over the noise and the Gaussian design; E tr((X'X)^-1) = d/(T-d-1)):
- replace:    E||w_n - w*||^2 = sigma^2 d/(T-d-1) * n               (grows without bound)
- accumulate: E||w_n - w*||^2 = sigma^2 d/(T-d-1) * sum_{i<=n} 1/i^2 (bounded by pi^2/6 times the first)
The accumulate form needs the training set of generation n to hold all label sets 0..n-1 on the same X,
which is what the accumulate policy builds. Both are exact for the float32-rounded design that is stored
(the design used everywhere is X rounded to float32); labels rounded to float32 add a relative error
of about 1e-7, far below any test tolerance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.params import Param, ParamError
from core.scenarios.base import DegenerateFit, FitResult, MetricInfo, Model, Scenario, json_floats
from core.seeding import Purpose, stream

HELDOUT_ROWS = 2000  # fresh real rows for the test MSE (the engine's held-out size)
Y_BINS = 60
Y_SPAN_SD = 6.0  # the fixed y axis spans generation 0's mean +- Y_SPAN_SD standard deviations


def _row_indices(rng: np.random.Generator, rows: int, n: int) -> np.ndarray:
    """Which design rows n samples relabel: all rows in order when n == T; a random subset (sorted) when
    n < T; whole copies plus a random subset when n > T."""
    if n == rows:
        return np.arange(rows)
    full, rest = divmod(n, rows)
    parts = [np.tile(np.arange(rows), full)] if full else []
    if rest:
        parts.append(np.sort(rng.choice(rows, size=rest, replace=False)))
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


MAX_DESIGN_CELLS = 20_000_000  # samples x dims of the design X (float64): 160 MB


class LinearModel(Model):
    """y = x.w + N(0, noise^2) on the run's fixed design; samples are rows [x, y] in float32."""

    def __init__(self, w: np.ndarray, design: np.ndarray, noise: float, resid_std: float | None = None,
                 rank: int | None = None, truth: bool = False) -> None:
        self.w = np.asarray(w, dtype=np.float64).ravel()
        self.design = design
        self.noise = float(noise)
        self.resid_std = float(noise) if resid_std is None else float(resid_std)
        self.rank = len(self.w) if rank is None else int(rank)
        self.truth = truth

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        idx = _row_indices(rng, len(self.design), n)
        x = self.design[idx]
        y = x @ self.w + self.noise * rng.standard_normal(len(idx))
        return np.column_stack([x, y]).astype(np.float32)

    def to_params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"w": json_floats(self.w), "resid_std": self.resid_std, "rank": self.rank}
        if self.truth:
            out["truth"] = True
        return out

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """log p(y | x) of each row: the design's x is shared by every model, so it carries no information."""
        rows = np.asarray(x, dtype=np.float64).reshape(-1, len(self.w) + 1)
        r = rows[:, -1] - rows[:, :-1] @ self.w
        if self.noise <= 0:
            return np.where(r == 0, np.inf, -np.inf)
        return -0.5 * (r / self.noise) ** 2 - np.log(self.noise) - 0.5 * np.log(2 * np.pi)


def ols(train: np.ndarray, dims: int) -> tuple[np.ndarray, float, int]:
    """Least-squares weights (minimum-norm when rank-deficient), residual std (RSS / (N - rank)) and rank."""
    rows = np.asarray(train, dtype=np.float64).reshape(-1, dims + 1)
    x, y = rows[:, :-1], rows[:, -1]
    w, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ w
    dof = len(y) - int(rank)
    resid_std = float(np.sqrt(resid @ resid / dof)) if dof > 0 else 0.0
    return w, resid_std, int(rank)


def effective_fit(model: Model) -> tuple[np.ndarray, float]:
    """(weights, residual std) of a linear model; for a pooled model (multi-source) the share-weighted means,
    since its labels' conditional mean E[y | x] = x . sum_k share_k w_k."""
    if isinstance(model, LinearModel):
        return model.w, model.resid_std
    parts = [(float(s), *effective_fit(m)) for s, m in zip(getattr(model, "shares", ()), getattr(model, "models", ()))]
    if not parts:
        raise TypeError(f"not a linear model: {type(model).__name__}")
    w = sum(s * wk for s, wk, _ in parts)
    return np.asarray(w, dtype=np.float64), float(sum(s * r for s, _, r in parts))


def expected_error_factor(samples: int, dims: int) -> float:
    """E tr((X'X)^-1) = d / (T - d - 1) for a T x d design with N(0, I) rows (inverse-Wishart mean)."""
    return dims / (samples - dims - 1)


class RegressionScenario(Scenario):
    name = "regression"
    title = "Linear regression"
    summary = ("Gerstgrasser et al. 2024: a fixed design X (T = samples rows, d columns) is relabelled every "
               "generation by the previous OLS fit plus fresh noise. Replacing the labels makes the error "
               "||w_n - w*||^2 grow linearly; accumulating all labels keeps it bounded.")
    schema = (
        Param("dims", "int", 10, "Number d of input features (columns of the design X). Samples per generation "
              "are the design's rows T and must be at least d + 2.", minimum=1, maximum=500,
              label="input features"),
        Param("noise", "float", 1.0, "Standard deviation sigma of the label noise (the signal x.w* has variance "
              "1, so 1/sigma^2 is the signal-to-noise ratio).", minimum=0.0, maximum=1e3, exclusive_min=True,
              label="label noise"),
    )
    metric_infos = (
        MetricInfo("test_error", "Weight error ||w_n - w*||^2", "Squared distance of this generation's fitted "
                   "weights from the true ones (0 for generation 0, the truth). Theory: sigma^2 d/(T-d-1) n under "
                   "replace, sigma^2 d/(T-d-1) sum 1/i^2 under accumulate (Gerstgrasser et al. 2024).",
                   log_scale=True),
        MetricInfo("test_mse", "Test MSE", "Mean squared error of the fit on fresh real data (new x ~ N(0, I), real "
                   "labels). Its expectation is sigma^2 + ||w_n - w*||^2."),
        MetricInfo("resid_std", "Residual std", "Residual standard deviation of the fit on its own training set, "
                   "sqrt(RSS/(N - d)). It stays near sigma while the weights drift: the model cannot see its "
                   "own collapse."),
        MetricInfo("w_norm", "Weight norm", "Length of the fitted weight vector ||w_n|| (||w*|| for generation 0)."),
        MetricInfo("y_std", "Label std", "Standard deviation of this generation's labels y."),
    )
    view = "regression"
    dtype = np.float32
    default_samples = 100
    max_samples = 5_000_000

    def __init__(self, params: dict[str, Any], seed: int, replicate: int, samples: int) -> None:
        super().__init__(params, seed, replicate, samples)
        d = int(params["dims"])
        setup = stream(seed, replicate, 0, Purpose.SETUP)
        # The design everything uses is the float32-rounded one, exactly what the stored samples hold.
        self.design = setup.standard_normal((samples, d)).astype(np.float32).astype(np.float64)
        self.true_w = setup.standard_normal(d) / np.sqrt(d)
        self._truth = LinearModel(self.true_w, self.design, params["noise"], truth=True)

    @classmethod
    def check(cls, params: dict[str, Any], samples: int) -> None:
        d = params["dims"]
        if samples < d + 2:
            raise ParamError(f"regression: samples is T, the number of rows of the fixed design X, and must be at "
                             f"least dims + 2 = {d + 2} (OLS needs T >= d and the theory d/(T-d-1) needs "
                             f"T > d + 1); got samples={samples}", param="samples")
        if samples * d > MAX_DESIGN_CELLS:
            raise ParamError(f"regression: the design X would have samples x dims = {samples * d:,} cells; at most "
                             f"{MAX_DESIGN_CELLS:,} fit in memory (fewer samples or fewer dims)", param="samples")

    def unit_shape(self) -> tuple[int, ...]:
        return (int(self.params["dims"]) + 1,)

    def real_model(self) -> Model:
        return self._truth

    def heldout_data(self, rng: np.random.Generator) -> np.ndarray:
        """Fresh real rows (new x ~ N(0, I), real labels) for the test MSE and the likelihood verifier."""
        x = rng.standard_normal((HELDOUT_ROWS, len(self.true_w))).astype(np.float32).astype(np.float64)
        y = x @ self.true_w + self.params["noise"] * rng.standard_normal(HELDOUT_ROWS)
        return np.column_stack([x, y]).astype(np.float32)

    def fit(self, train: np.ndarray, rng: np.random.Generator, family: str | None = None) -> FitResult:
        d = int(self.params["dims"])
        if len(train) == 0:
            raise DegenerateFit("no training rows left")
        w, resid_std, rank = ols(train, d)
        note = None
        if rank < d:
            note = f"rank-deficient training set (rank {rank} < d = {d}): minimum-norm least squares"
        return FitResult(LinearModel(w, self.design, self.params["noise"], resid_std, rank), note)

    def model_from_params(self, params: dict[str, Any]) -> Model:
        if params.get("truth"):
            return self._truth
        return LinearModel(np.asarray(params["w"], dtype=np.float64), self.design, self.params["noise"],
                           params.get("resid_std"), params.get("rank"))

    def set_reference(self, real: np.ndarray, heldout: np.ndarray) -> None:
        d = int(self.params["dims"])
        y = np.asarray(real, dtype=np.float64).reshape(-1, d + 1)[:, -1]
        mu, sd = (float(y.mean()), float(y.std())) if len(y) else (0.0, 0.0)
        half = Y_SPAN_SD * sd if sd > 0 else 1.0
        self.y_edges = np.linspace(mu - half, mu + half, Y_BINS + 1)
        self.heldout = np.asarray(heldout, dtype=np.float32).reshape(-1, d + 1)
        self.ref = {
            "bins": {"kind": "1d", "edges": self.y_edges.tolist()},
            "true_w": json_floats(self.true_w),
            "noise": float(self.params["noise"]),
            "dims": d,
            "real_mean": mu,
            "real_std": sd,
        }

    def histogram(self, samples: np.ndarray) -> np.ndarray:
        y = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)[:, -1]
        return np.histogram(y, bins=self.y_edges)[0].astype(np.int64)

    def metrics(self, samples: np.ndarray, model: Model, generation: int) -> dict[str, float]:
        d = int(self.params["dims"])
        w, resid_std = effective_fit(model)
        err = w - self.true_w
        held = self.heldout.astype(np.float64)
        pred = held[:, :d] @ w
        y = np.asarray(samples, dtype=np.float64).reshape(-1, d + 1)[:, -1]
        return {
            "test_error": float(err @ err),
            "test_mse": float(np.mean((held[:, d] - pred) ** 2)),
            "resid_std": resid_std,
            "w_norm": float(np.linalg.norm(w)),
            "y_std": float(y.std()) if len(y) else float("nan"),
        }

    @classmethod
    def theory(cls, metric: str, generations: np.ndarray, run: dict[str, Any]) -> np.ndarray | None:
        """Gerstgrasser et al. closed forms for replace and accumulate (test_error, test_mse)."""
        if metric not in ("test_error", "test_mse") or run["policy"] not in ("replace", "accumulate"):
            return None
        p = run["params"]
        t, d = int(run["samples"]), int(p["dims"])
        if t <= d + 1:
            return None
        s2 = float(p["noise"]) ** 2
        n = np.asarray(generations, dtype=np.int64)
        unit = s2 * expected_error_factor(t, d)
        if run["policy"] == "replace":
            err = unit * n.astype(np.float64)
        else:
            h2 = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, max(int(n.max(initial=0)), 0) + 1) ** 2)])
            err = unit * h2[np.clip(n, 0, None)]
        return err + s2 if metric == "test_mse" else err
