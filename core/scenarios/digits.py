"""`digits`: the 8x8 handwritten digits scikit-learn ships (1797 images, pixels 0..16; from the UCI "Optical
Recognition of Handwritten Digits" data, Alpaydin & Kaynak 1998, CC BY 4.0), modelled by PCA + a Gaussian
mixture and refitted to its own samples.

Real data. The 1797 images are split once, the same way in every run (stratified by digit, fixed seed
``SPLIT_SEED``), into a training pool (2/3, ~1198 images) and a disjoint held-out split (1/3, ~599 images).
The real model draws from the pool: M distinct pool images chosen at random (with M above the pool size,
whole copies of the pool plus a random part). The held-out split is never trained on: it is the real
reference of precision/recall, FID and NLL, and the real data a digit classifier is checked against.

Model. Each generation fits a PCA (``n_components`` dimensions, exact SVD) to its training images and a
Gaussian mixture with full covariances in that latent space: one mixture over everything (``mixture=pooled``,
``components`` in total) or one per digit class (``mixture=per-class``, ``components`` per class, class
weights = the classes' shares of the training set). Synthetic images carry no label, so per-class models
label their training set with the real-data classifier (pseudo-labels): a class that disappears from a
training set is gone for good, as in a Wright-Fisher drift. Sampling draws latent vectors (covariances times
``temperature``), maps them back to pixels and clips to [0, 16].

Density. For NLL and the likelihood/ratio verifiers a model's log density is the latent mixture's plus an
isotropic Gaussian for the discarded PCA directions (variance = their mean eigenvalue, at least
``RESID_VAR_FLOOR``), as in probabilistic PCA; sampling itself adds no residual noise and clips, so this is
an approximation. The real model's density is that of the same kind of model fitted once to the pool.

Metrics compare with the held-out split: precision/recall use k-nearest-neighbour manifolds (Kynkaanniemi et
al. 2019, k = 3) in a fixed 20-dimensional PCA of the real pool (the paper uses a VGG-16 embedding; in raw
pixels every sample of a PCA model misses the real images' residual detail, and recall would read ~0 from
generation 1 on); the FID-lite is computed in the same space; diversity is measured in pixels.

Threads. Fitting, sampling and metrics run with BLAS limited to one thread: faster for these small matrices
and independent of the machine's thread settings, so stored results are bit-identical across processes.

Classifier. A multinomial logistic regression trained once (deterministically, cached per process) on the
pool's images labels samples for the histogram, the class metrics, quality and the `quality` verifier
(held-out accuracy about 0.97).
"""

from __future__ import annotations

import functools
import warnings
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
from core.special import logsumexp
from core.threads import one_blas_thread

PIXELS = 64
PIXEL_MAX = 16.0
CLASSES = 10
SPLIT_SEED = 20240724
HELDOUT_SHARE = 1 / 3
EVAL_SIZE = 500  # images compared per generation in diversity, precision/recall (first EVAL_SIZE samples)
KNN_K = 3  # k of the k-NN manifolds (Kynkaanniemi et al. 2019)
FEATURE_DIMS = 20  # dimensions of the fixed real-data PCA that precision/recall and the FID-lite use
QUALITY_CONFIDENCE = 0.9  # a sample is "confident" when the classifier's top probability reaches this
MIN_CLASS_SHARE = 0.02  # a digit class counts as produced when at least this share of samples is labelled so
REG_COVAR = 1e-3  # added to mixture covariances (latent units = pixel units)
RESID_VAR_FLOOR = 0.05  # floor of the residual variance of the density (pixel units squared)
ACTIVE_WEIGHT = 0.01


# ---- the real data, the classifier and the real-data density (shared, fitted once per process) ----------------
@functools.cache
def real_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pool images, pool labels, held-out images, held-out labels): the fixed stratified split, float32 pixels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = d.data.astype(np.float32)
    y = d.target.astype(np.int64)
    xp, xh, yp, yh = train_test_split(x, y, test_size=HELDOUT_SHARE, stratify=y, random_state=SPLIT_SEED)
    for a in (xp, xh, yp, yh):
        a.setflags(write=False)
    return xp, yp, xh, yh


@functools.cache
def classifier() -> Any:
    """Multinomial logistic regression on the pool (pixels / 16); deterministic (lbfgs, no randomness)."""
    from sklearn.linear_model import LogisticRegression

    xp, yp, _, _ = real_split()
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore")
        return LogisticRegression(C=1.0, max_iter=5000).fit(xp / PIXEL_MAX, yp)


def class_probs(images: np.ndarray) -> np.ndarray:
    """The real-data classifier's class probabilities (n, 10) for images in pixel units."""
    x = np.asarray(images, dtype=np.float64).reshape(-1, PIXELS)
    if len(x) == 0:
        return np.empty((0, CLASSES))
    clf = classifier()
    with one_blas_thread():
        return clf.predict_proba(x / PIXEL_MAX)


@functools.cache
def heldout_confidences() -> np.ndarray:
    """Sorted top-class probabilities of the held-out real images (the quality verifier's reference)."""
    _, _, xh, _ = real_split()
    return np.sort(class_probs(xh).max(axis=1))


@functools.cache
def feature_basis() -> tuple[np.ndarray, np.ndarray]:
    """(mean, basis) of a fixed FEATURE_DIMS-dimensional PCA of the pool: the space of the FID-lite."""
    xp, _, _, _ = real_split()
    with one_blas_thread():
        mean, basis, _ = pca(xp.astype(np.float64), FEATURE_DIMS)
    return mean, basis


@functools.cache
def real_density(n_components: int, components: int) -> LatentMixtureModel:
    """A PCA + mixture model of the same size fitted to the whole pool: the real data's density."""
    xp, _, _, _ = real_split()
    with one_blas_thread():
        model, _ = fit_latent_mixture(xp.astype(np.float64), np.random.default_rng(SPLIT_SEED), n_components,
                                      components, labels=None, temperature=1.0)
    return model


# ---- PCA + latent Gaussian mixture ------------------------------------------------------------------------
def pca(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(mean, k x 64 orthonormal basis, mean discarded eigenvalue) by exact SVD; signs fixed (largest |entry| > 0)."""
    mean = x.mean(axis=0)
    xc = x - mean
    _, s, vt = np.linalg.svd(xc, full_matrices=False)
    basis = vt[:k]
    signs = np.sign(basis[np.arange(len(basis)), np.argmax(np.abs(basis), axis=1)])
    basis = basis * np.where(signs == 0, 1.0, signs)[:, None]
    eig = s**2 / max(len(x) - 1, 1)
    rest = x.shape[1] - k
    discarded = float(np.sum(eig[k:]) / rest) if rest > 0 else 0.0
    return mean, basis, discarded


def _safe_cholesky(cov: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(cov)
        return vecs * np.sqrt(np.clip(vals, 0, None))


def _mvn_logpdf(z: np.ndarray, mu: np.ndarray, cov: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(cov)
    vals = np.clip(vals, 1e-300, None)
    u = (z - mu) @ vecs / np.sqrt(vals)
    return -0.5 * np.sum(u * u, axis=1) - 0.5 * np.sum(np.log(vals)) - 0.5 * len(mu) * np.log(2 * np.pi)


class LatentMixtureModel(Model):
    """Images = clip(mean + z @ basis, 0, 16) with z from a Gaussian mixture (covariances x temperature)."""

    def __init__(self, mean: np.ndarray, basis: np.ndarray, resid_var: float, weights: np.ndarray,
                 means: np.ndarray, covs: np.ndarray, labels: np.ndarray | None = None,
                 temperature: float = 1.0) -> None:
        self.mean = np.asarray(mean, dtype=np.float64).reshape(PIXELS)
        self.basis = np.asarray(basis, dtype=np.float64).reshape(-1, PIXELS)
        k = len(self.basis)
        self.resid_var = float(resid_var)
        w = np.asarray(weights, dtype=np.float64).ravel()
        self.weights = w / w.sum()
        self.means = np.asarray(means, dtype=np.float64).reshape(len(w), k)
        self.covs = np.asarray(covs, dtype=np.float64).reshape(len(w), k, k)
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64).ravel()
        self.temperature = float(temperature)

    @property
    def latent_dims(self) -> int:
        return len(self.basis)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        with one_blas_thread():
            return self._sample(rng, n)

    def _sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        counts = rng.multinomial(n, self.weights)
        k = self.latent_dims
        parts = []
        for c, mu, cov in zip(counts, self.means, self.covs):
            if c == 0:
                continue
            chol = _safe_cholesky(cov * self.temperature)
            parts.append(mu + rng.standard_normal((c, k)) @ chol.T)
        z = np.concatenate(parts) if parts else np.empty((0, k))
        z = z[rng.permutation(len(z))]
        x = self.mean + z @ self.basis
        return np.clip(x, 0.0, PIXEL_MAX).astype(np.float32)

    def to_params(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "latent_dims": self.latent_dims, "mean": json_floats(self.mean), "basis": json_floats(self.basis),
            "resid_var": self.resid_var, "weights": json_floats(self.weights), "means": json_floats(self.means),
            "covariances": json_floats(self.covs),
        }
        if self.labels is not None:
            out["labels"] = [int(v) for v in self.labels]
        return out

    @classmethod
    def from_params(cls, params: dict[str, Any], temperature: float = 1.0) -> LatentMixtureModel:
        return cls(params["mean"], params["basis"], params["resid_var"], params["weights"], params["means"],
                   params["covariances"], params.get("labels"), temperature)

    def sampling_logpdf(self, x: np.ndarray) -> np.ndarray:
        if self.temperature == 1.0:
            return self.logpdf(x)
        hot = LatentMixtureModel(self.mean, self.basis, self.resid_var, self.weights, self.means,
                                 self.covs * self.temperature, self.labels)
        return hot.logpdf(x)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Latent mixture log density plus an isotropic Gaussian on the discarded directions (nats per image)."""
        xc = np.asarray(x, dtype=np.float64).reshape(-1, PIXELS) - self.mean
        z = xc @ self.basis.T
        comps = [np.log(w) + _mvn_logpdf(z, mu, cov) for w, mu, cov in zip(self.weights, self.means, self.covs)
                 if w > 0]
        lp = logsumexp(np.stack(comps), axis=0)
        rest = PIXELS - self.latent_dims
        if rest > 0:
            r2 = np.sum((xc - z @ self.basis) ** 2, axis=1)
            v = max(self.resid_var, RESID_VAR_FLOOR)
            lp = lp - 0.5 * r2 / v - 0.5 * rest * np.log(2 * np.pi * v)
        return lp

    def active_components(self) -> int:
        return int(np.count_nonzero(self.weights >= ACTIVE_WEIGHT))


def _fit_gmm(z: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights, means, covariances) of a full-covariance mixture; one component is the exact MLE."""
    dims = z.shape[1]
    if k == 1 or len(z) < 2:
        cov = np.cov(z.T, bias=True).reshape(dims, dims) if len(z) > 1 else np.zeros((dims, dims))
        return np.ones(1), z.mean(axis=0, keepdims=True), (cov + REG_COVAR * np.eye(dims))[None]
    from sklearn.mixture import GaussianMixture

    seed = int(rng.integers(2**31 - 1))
    reg = REG_COVAR
    for _ in range(4):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gm = GaussianMixture(n_components=k, covariance_type="full", reg_covar=reg, max_iter=200,
                                     init_params="k-means++", random_state=seed).fit(z)
            return gm.weights_, gm.means_, gm.covariances_
        except ValueError:  # ill-defined covariance even with the regulariser: regularise more
            reg *= 100.0
    raise DegenerateFit("the Gaussian mixture could not be fitted even with a large covariance regulariser")


def fit_latent_mixture(x: np.ndarray, rng: np.random.Generator, n_components: int, components: int,
                       labels: np.ndarray | None, temperature: float) -> tuple[LatentMixtureModel, str | None]:
    """PCA to at most n_components dimensions, then one mixture (labels None) or one per label."""
    n = len(x)
    distinct = len(np.unique(x, axis=0))
    k = max(1, min(n_components, distinct - 1, PIXELS))
    notes = []
    if distinct == 1:
        notes.append("collapsed to a single image (one distinct training image)")
    elif k < n_components:
        notes.append(f"only {distinct} distinct training images: PCA keeps {k} of {n_components} dimensions")
    mean, basis, resid = pca(x, k)
    z = (x - mean) @ basis.T
    groups = [(None, np.ones(n, dtype=bool))] if labels is None else \
        [(c, labels == c) for c in range(CLASSES) if np.any(labels == c)]
    ws, mus, covs, labs = [], [], [], []
    short = 0
    for c, mask in groups:
        zc = z[mask]
        kc = max(1, min(components, len(np.unique(zc, axis=0))))
        short += kc < components
        w, mu, cov = _fit_gmm(zc, kc, rng)
        ws.append(w * (len(zc) / n))
        mus.append(mu)
        covs.append(cov)
        labs.extend([-1 if c is None else c] * len(w))
    if short and distinct > 1:
        notes.append("fewer distinct training points than components" + (" in some classes" if labels is not None
                                                                           else "") + ": fewer components fitted")
    model = LatentMixtureModel(mean, basis, resid, np.concatenate(ws), np.concatenate(mus), np.concatenate(covs),
                               None if labels is None else np.asarray(labs), temperature)
    return model, "; ".join(notes) or None


class RealDigitsModel(Model):
    """The real process: distinct random images of the pool (whole copies of it when more are asked for)."""

    def __init__(self, pool: np.ndarray, density: LatentMixtureModel) -> None:
        self.pool = pool
        self.density = density

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        full, rest = divmod(n, len(self.pool))
        idx = np.concatenate([np.tile(np.arange(len(self.pool)), full),
                              rng.choice(len(self.pool), size=rest, replace=False)]).astype(np.int64)
        if full:
            idx = idx[rng.permutation(len(idx))]
        return np.array(self.pool[idx], dtype=np.float32)

    def to_params(self) -> dict[str, Any]:
        return {"family": "real", "pool": int(len(self.pool)), "split_seed": SPLIT_SEED}

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Density of a PCA + mixture model fitted to the whole pool (the real data has no closed-form density)."""
        return self.density.logpdf(x)


# ---- metrics helpers ----------------------------------------------------------------------------------------
def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of a and of b (float64)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d2 = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.clip(d2, 0.0, None))


def knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance of each row to its k-th nearest other row (duplicates count, so collapsed samples get radius 0)."""
    d = pairwise_distances(x, x)
    kk = min(k, len(x) - 1)
    return np.partition(d, kk, axis=1)[:, kk]


def mean_pairwise_distance(x: np.ndarray) -> float:
    """Mean Euclidean distance over distinct pairs of rows."""
    n = len(x)
    if n < 2:
        return float("nan")
    d = pairwise_distances(x, x)
    return float(d.sum() / (n * (n - 1)))


def frechet_distance(m1: np.ndarray, s1: np.ndarray, m2: np.ndarray, s2: np.ndarray) -> float:
    """||m1 - m2||^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2) for PSD covariances."""
    vals, vecs = np.linalg.eigh(s1)
    root = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    cross = np.linalg.eigvalsh(root @ s2 @ root)
    return float(np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2.0 * np.sum(np.sqrt(np.clip(cross, 0, None))))


DIGITS_METRICS = (
    MetricInfo("diversity", "Pixel diversity", f"Mean distance between two images of this generation (first "
               f"{EVAL_SIZE} samples, pixel space), divided by generation 0's. 1 = as varied as the real images; it "
               "falls as the model collapses."),
    MetricInfo("var_ratio", "Pixel variance ratio", "Total pixel variance over generation 0's.", log_scale=True),
    MetricInfo("precision", "Precision", f"Share of samples that look real: inside the {KNN_K}-nearest-neighbour "
               f"ball of some held-out real image (Kynkaanniemi et al. 2019), in a fixed {FEATURE_DIMS}-dimensional "
               "PCA of the real images. Fidelity; it can stay high while recall falls."),
    MetricInfo("recall", "Recall", f"Share of held-out real images inside the {KNN_K}-nearest-neighbour ball of some "
               "sample (same space as precision): how much of the real variety the model still covers. Collapse "
               "shows here first."),
    MetricInfo("quality", "Quality (confident share)", f"Share of samples the digit classifier trained on real "
               f"images labels with probability >= {QUALITY_CONFIDENCE}."),
    MetricInfo("confidence", "Classifier confidence", "Mean top-class probability the real-data classifier gives "
               "the samples: how digit-like they look."),
    MetricInfo("classes", "Digit classes produced", f"Digit classes that receive at least {MIN_CLASS_SHARE:.0%} of "
               "the classifier's labels (10 for real data). Rare classes are lost first."),
    MetricInfo("class_entropy", "Class entropy", "Entropy (nats) of the share of samples per predicted digit; "
               "ln 10 = 2.30 when all classes are equally common."),
    MetricInfo("fid", "FID-lite", f"Frechet distance between Gaussians fitted to samples and to held-out real images "
               f"in a fixed {FEATURE_DIMS}-dimensional PCA of the real images (pixel units squared; not comparable "
               "with published FID)."),
    MetricInfo("nll", "Held-out NLL", "Negative log-likelihood of the held-out real images under this generation's "
               "model (nats per image; PCA residual as isotropic noise). Generation 0: the real-data density."),
    MetricInfo("components", "Active components", f"Mixture components with weight >= {ACTIVE_WEIGHT}."),
)


class DigitsScenario(Scenario):
    name = "digits"
    title = "Handwritten digits"
    summary = ("The 8x8 handwritten digits bundled with scikit-learn. Each generation fits PCA + a Gaussian mixture "
               "(pooled or per digit class) to its training images and samples new images: variety, recall and "
               "rare digit classes fade generation after generation.")
    schema = (
        Param("n_components", "int", 16, "PCA dimensions of the model (the latent space the mixture lives in; at "
              "most 64 pixels).", minimum=1, maximum=PIXELS, label="PCA dimensions"),
        Param("components", "int", 10, "Gaussian mixture components: in total (mixture=pooled) or per digit class "
              "(mixture=per-class). The stored model grows with components x n_components^2.", minimum=1, maximum=20,
              label="mixture components"),
        Param("mixture", "choice", "pooled", "pooled: one mixture over all images; per-class: one mixture per digit "
              "class, the training images labelled by the real-data classifier, class weights = class shares.",
              choices=("pooled", "per-class"), label="mixture kind"),
        TEMPERATURE,
    )
    metric_infos = DIGITS_METRICS
    view = "images"
    dtype = np.float32
    families = ("pooled", "per-class")
    verifiers = ("quality", "likelihood", "ratio")
    default_samples = 500
    max_samples = 200_000

    def __init__(self, params: dict[str, Any], seed: int, replicate: int, samples: int) -> None:
        super().__init__(params, seed, replicate, samples)
        self._real: RealDigitsModel | None = None
        self._probs: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def check(cls, params: dict[str, Any], samples: int) -> None:
        if samples < 10:
            raise ParamError(f"digits needs at least 10 samples (images) per generation, got {samples}", param="samples")

    def unit_shape(self) -> tuple[int, ...]:
        return (PIXELS,)

    def real_model(self) -> Model:
        if self._real is None:
            pool = real_split()[0]
            self._real = RealDigitsModel(pool, real_density(self.params["n_components"], self.params["components"]))
        return self._real

    def heldout_data(self, rng: np.random.Generator) -> np.ndarray:
        """The fixed held-out real split (no randomness: the same images in every run)."""
        return np.array(real_split()[2], dtype=np.float32)

    def fit(self, train: np.ndarray, rng: np.random.Generator, family: str | None = None) -> FitResult:
        x = np.asarray(train, dtype=np.float64).reshape(-1, PIXELS)
        if len(x) == 0:
            raise DegenerateFit("no training images left")
        kind = family or self.params["mixture"]
        with one_blas_thread():
            labels = self._probs_of(train).argmax(axis=1) if kind == "per-class" else None
            model, note = fit_latent_mixture(x, rng, self.params["n_components"], self.params["components"],
                                             labels, self.params["temperature"])
        return FitResult(model, note)

    def model_from_params(self, params: dict[str, Any]) -> Model:
        if params.get("family") == "real":
            return self.real_model()
        return LatentMixtureModel.from_params(params, self.params["temperature"])

    def set_reference(self, real: np.ndarray, heldout: np.ndarray) -> None:
        with one_blas_thread():
            self._set_reference(real, heldout)

    def _set_reference(self, real: np.ndarray, heldout: np.ndarray) -> None:
        r = np.asarray(real, dtype=np.float64).reshape(-1, PIXELS)
        self.heldout = np.asarray(heldout, dtype=np.float32).reshape(-1, PIXELS)
        held = self.heldout.astype(np.float64)
        self.ref_eval = self._features(held[:EVAL_SIZE])
        self.ref_radii = knn_radii(self.ref_eval, KNN_K)
        self.ref_diversity = mean_pairwise_distance(r[:EVAL_SIZE])
        self.ref_var = float(r.var(axis=0).sum())
        f = self._features(held)
        self.ref_feat = (f.mean(axis=0), np.cov(f.T, bias=True))
        real_counts = np.bincount(self._probs_of(real).argmax(axis=1), minlength=CLASSES)
        self.ref = {
            "bins": {"kind": "categories", "labels": [str(c) for c in range(CLASSES)]},
            "image_shape": [8, 8],
            "pixel_max": PIXEL_MAX,
            "real_class_shares": json_floats(real_counts / max(len(r), 1)),
        }

    def _features(self, x: np.ndarray) -> np.ndarray:
        mean, basis = feature_basis()
        return (np.asarray(x, dtype=np.float64).reshape(-1, PIXELS) - mean) @ basis.T

    def _probs_of(self, samples: np.ndarray) -> np.ndarray:
        # histogram() and metrics() of one generation share the classifier pass; the cache holds the array
        # itself, so an identity match cannot be a recycled id.
        if self._probs is not None and self._probs[0] is samples:
            return self._probs[1]
        probs = class_probs(samples)
        self._probs = (samples, probs)
        return probs

    def histogram(self, samples: np.ndarray) -> np.ndarray:
        pred = self._probs_of(samples).argmax(axis=1)
        return np.bincount(pred, minlength=CLASSES).astype(np.int64)

    def metrics(self, samples: np.ndarray, model: Model, generation: int) -> dict[str, float]:
        with one_blas_thread():
            return self._metrics(samples, model)

    def _metrics(self, samples: np.ndarray, model: Model) -> dict[str, float]:
        x = np.asarray(samples, dtype=np.float64).reshape(-1, PIXELS)
        n = len(x)
        probs = self._probs_of(samples)
        conf = probs.max(axis=1)
        shares = np.bincount(probs.argmax(axis=1), minlength=CLASSES) / max(n, 1)
        nz = shares[shares > 0]
        ev = x[:EVAL_SIZE]
        f = self._features(x)
        if len(ev) >= 2:
            fe = f[:EVAL_SIZE]
            d = pairwise_distances(fe, self.ref_eval)
            precision = float(np.mean(np.any(d <= self.ref_radii[None, :], axis=1)))
            recall = float(np.mean(np.any(d.T <= knn_radii(fe, KNN_K)[None, :], axis=1)))
        else:
            precision = recall = float("nan")
        fid = frechet_distance(f.mean(axis=0), np.cov(f.T, bias=True), *self.ref_feat) if n >= 2 else float("nan")
        try:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                nll = float(-np.mean(model.logpdf(self.heldout)))
        except NotImplementedError:
            nll = float("nan")
        out = {
            "diversity": mean_pairwise_distance(ev) / self.ref_diversity if self.ref_diversity > 0 else float("nan"),
            "var_ratio": float(x.var(axis=0).sum() / self.ref_var) if self.ref_var > 0 and n else float("nan"),
            "precision": precision,
            "recall": recall,
            "quality": float(np.mean(conf >= QUALITY_CONFIDENCE)) if n else float("nan"),
            "confidence": float(conf.mean()) if n else float("nan"),
            "classes": float(np.count_nonzero(shares >= MIN_CLASS_SHARE)),
            "class_entropy": float(-np.sum(nz * np.log(nz))),
            "fid": fid,
            "nll": nll,
        }
        if isinstance(model, LatentMixtureModel):
            out["components"] = float(model.active_components())
        return out

    def verify(self, samples: np.ndarray, verifier: str, threshold: float, rng: np.random.Generator,
               model: Model | None) -> np.ndarray:
        """`quality`: keep samples the real-data classifier labels with a top probability of at least the
        `threshold` quantile of the held-out real images' (so `threshold` is the share of real images this
        verifier would reject; Feng et al. 2024). `likelihood` and `ratio` as in the base class, with the
        real-data PCA + mixture density."""
        if verifier == "quality":
            return class_probs(samples).max(axis=1) >= self.quality_cut(threshold)
        return super().verify(samples, verifier, threshold, rng, model)

    @staticmethod
    def quality_cut(threshold: float) -> float:
        """The confidence cut that rejects a `threshold` share of the held-out real images."""
        return float(np.quantile(heldout_confidences(), threshold))
