"""`categorical`: a vocabulary with Zipf-like word frequencies, refitted to its own samples each generation.

The real distribution p0 is either the top-V English words with their real frequencies (bundled from wordfreq,
see resources/LICENSES.md) or a synthetic Zipf law p_k ~ 1/k^s. Category ids are ranks: 0 = the most frequent
real word. Each generation's model is the maximum-likelihood fit, the empirical frequencies of its training set;
samples are drawn from it (after temperature and top-k / top-p truncation, when set).

With policy replace, temperature 1 and no truncation this is neutral Wright-Fisher drift: each category's count
follows c' ~ Binomial(M, c/M). Closed forms (SCIENCE.md), with generation 0's model = p0 and generation n's model
the n-th refit (so generation 1's model is the empirical distribution of generation 0's real samples):
- E[1 - sum p_n^2] = (1 - 1/M)^n (1 - sum p0^2)                      (Gini-Simpson index, Seddik et al. 2024)
- E[categories alive in model n] = sum_k P(c_k^(n-1) > 0), c^(0) ~ Binomial(M, p0_k); exact by a matrix
  power over the M+1 count states for M <= EXACT_MAX_M, a branching-process approximation above (see
  ``expected_zero_counts``).
- E[p_n] = p0 for every unbiased policy, so the expected tail mass stays at its real value while the
  typical one falls.
- With policy mix and fresh real data (r = round(alpha M) real draws per training set) the Gini-Simpson index
  follows a linear recurrence to a steady state above zero (``mix_gini_simpson``).
These are the theory overlays (``CategoricalScenario.theory``); with temperature != 1 or truncation there are
none. The first exact overlay for a large M costs a second or two (an (M+1)^2 matrix), later ones are cached.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from core.params import Param, ParamError
from core.scenarios.base import TEMPERATURE, DegenerateFit, FitResult, MetricInfo, Model, PoolStats, Scenario

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
ENGLISH_FILE = RESOURCES / "english_word_frequencies.tsv"
MAX_VOCAB = 5000
# Largest sample size M for which the expected number of surviving categories is computed exactly.
EXACT_MAX_M = 2000
# Pseudo-count added to every category of a fitted model's counts for the KL divergence (Krichevsky-Trofimov).
KL_PSEUDO = 0.5
# Policies under which every category's expected frequency stays p0 (at temperature 1, no truncation).
UNBIASED_POLICIES = ("replace", "mix", "accumulate", "accumulate-subsample", "multi-source")

TOP_K = Param(
    "top_k", "int", 0,
    "Top-k truncation when sampling: only the k most probable categories (tokens) of the fit can be drawn. "
    "0 = off. Truncation removes the tail every generation and speeds collapse.",
    minimum=0, maximum=100_000,
    label="top-k",
)
TOP_P = Param(
    "top_p", "float", 1.0,
    "Nucleus (top-p) truncation when sampling: only the most probable categories (tokens) whose probabilities add "
    "up to p can be drawn. 1 = off.",
    minimum=0.0, maximum=1.0, exclusive_min=True,
    label="top-p (nucleus)",
)


# ---- real distributions --------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def english_words() -> tuple[tuple[str, ...], np.ndarray]:
    """The bundled top English words (most frequent first) and their wordfreq frequencies."""
    words: list[str] = []
    freqs: list[float] = []
    with open(ENGLISH_FILE, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#") or line.startswith("rank\t") or not line.strip():
                continue
            _, word, freq = line.rstrip("\n").split("\t")
            words.append(word)
            freqs.append(float(freq))
    f = np.asarray(freqs, dtype=np.float64)
    f.setflags(write=False)
    return tuple(words), f


def real_distribution(source: str, vocab_size: int, exponent: float) -> tuple[list[str], np.ndarray]:
    """Labels and probabilities p0 of the real categories, ordered most frequent first (ties keep file order)."""
    if source == "english":
        words, freqs = english_words()
        p = freqs[:vocab_size].copy()
        return list(words[:vocab_size]), p / p.sum()
    ranks = np.arange(1, vocab_size + 1, dtype=np.float64)
    p = ranks ** -float(exponent)
    return [f"#{k}" for k in range(1, vocab_size + 1)], p / p.sum()


def _keep_prefix(q: np.ndarray, t: np.ndarray, n_keep: np.ndarray) -> np.ndarray:
    """Mask of each row's first n_keep entries in the order (value descending, index ascending), given the
    value t of the last of them: everything above t plus the lowest-index entries equal to t."""
    gt = q > t
    tie = q == t
    need = n_keep - gt.sum(axis=1)
    keep = gt | tie
    split = np.flatnonzero(tie.sum(axis=1) > need)  # rows where only some of the tied entries fit
    if len(split):
        sub = tie[split]
        keep[split] = gt[split] | (sub & (np.cumsum(sub, axis=1, dtype=np.int32) <= need[split, None]))
    return keep


def apply_sampling(probs: np.ndarray, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> np.ndarray:
    """The distribution actually sampled from: temperature, then top-k, then top-p (as in common LLM samplers).

    Works on one distribution (1-D) or on rows (2-D). Temperature raises probabilities to 1/temperature and
    renormalises (zeros stay zero). Top-k keeps the k most probable entries, top-p the shortest most-probable
    prefix whose mass reaches p; ties are broken in favour of the lower index (the more frequent real word).
    """
    p = np.asarray(probs, dtype=np.float64)
    one = p.ndim == 1
    q = np.atleast_2d(p).copy()
    if temperature != 1.0:
        with np.errstate(divide="ignore"):
            lp = np.log(q)
        lp -= lp.max(axis=1, keepdims=True)
        q = np.exp(lp / temperature)
    q /= q.sum(axis=1, keepdims=True)
    width = q.shape[1]
    if 0 < top_k < width:
        kth = np.partition(q, width - top_k, axis=1)[:, width - top_k: width - top_k + 1]
        q = np.where(_keep_prefix(q, kth, np.full(len(q), top_k)), q, 0.0)
        q /= q.sum(axis=1, keepdims=True)
    if top_p < 1.0:
        desc = -np.sort(-q, axis=1)
        # keep the entries whose preceding mass (in descending order) is still below top_p
        n_keep = np.minimum(1 + np.count_nonzero(np.cumsum(desc, axis=1) < top_p - 1e-12, axis=1), width)
        last = np.take_along_axis(desc, (n_keep - 1)[:, None], axis=1)
        q = np.where(_keep_prefix(q, last, n_keep), q, 0.0)
        q /= q.sum(axis=1, keepdims=True)
    return q[0] if one else q


# ---- the model ------------------------------------------------------------------------------------------
class CategoricalModel(Model):
    """A distribution over V categories: the real p0, or the empirical frequencies of a training set.

    ``probs`` is the fitted (or true) distribution; sampling uses ``sampling_probs`` (temperature and
    truncation applied). The real model is never tempered or truncated: its samples are real data.
    """

    def __init__(self, probs: np.ndarray, counts: np.ndarray | None = None, temperature: float = 1.0,
                 top_k: int = 0, top_p: float = 1.0) -> None:
        self.probs = np.asarray(probs, dtype=np.float64)
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        self.total = None if self.counts is None else int(self.counts.sum())
        self.sampling_probs = apply_sampling(self.probs, temperature, top_k, top_p)

    @classmethod
    def from_counts(cls, counts: np.ndarray, temperature: float = 1.0, top_k: int = 0,
                    top_p: float = 1.0) -> CategoricalModel:
        """The maximum-likelihood fit: probabilities = counts / total."""
        c = np.asarray(counts, dtype=np.int64)
        return cls(c / c.sum(), c, temperature, top_k, top_p)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        counts = rng.multinomial(n, self.sampling_probs)
        ids = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
        return ids[rng.permutation(n)]

    def to_params(self) -> dict[str, Any]:
        if self.counts is None:
            return {"real": True, "categories": int(len(self.probs))}
        ids = np.flatnonzero(self.counts)
        return {"alive": int(len(ids)), "total": self.total, "categories": int(len(self.probs)),
                "ids": ids.tolist(), "counts": self.counts[ids].tolist()}

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log probability of each sampled category under the distribution the model samples from."""
        with np.errstate(divide="ignore"):
            return np.log(self.sampling_probs)[np.asarray(x, dtype=np.int64)]


def model_probs(model: Model) -> tuple[np.ndarray, int | None]:
    """Fitted probabilities (before temperature and truncation) and training-set size of a model or pooled model.

    A pooled (multi-source) model gives the share-weighted mixture of its sources; its size is that of one
    source's training set (all sources fit bootstraps of the same size). The real model has no size (None).
    """
    if isinstance(model, CategoricalModel):
        return model.probs, model.total
    parts = getattr(model, "models", None)
    shares = getattr(model, "shares", None)
    if parts is None or shares is None:
        raise TypeError(f"not a categorical model: {type(model).__name__}")
    probs = [model_probs(m) for m in parts]
    p = np.sum([s * pm for s, (pm, _) in zip(shares, probs)], axis=0)
    return p, probs[0][1]


def model_sampling_probs(model: Model) -> np.ndarray:
    """The distribution a (possibly pooled) model draws its samples from."""
    if isinstance(model, CategoricalModel):
        return model.sampling_probs
    return np.sum([s * model_sampling_probs(m) for s, m in zip(model.shares, model.models)], axis=0)  # type: ignore[attr-defined]


# ---- Wright-Fisher theory --------------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def wf_transition(m: int) -> np.ndarray:
    """Wright-Fisher transition matrix over counts 0..M: T[c, c'] = P(Binomial(M, c/M) = c'). Read-only."""
    from scipy.stats import binom  # only for the theory curve: scipy.stats takes 0.3 s to import

    c = np.arange(m + 1)
    t = binom.pmf(c[None, :], m, (c / m)[:, None])
    t.setflags(write=False)
    return t


def initial_count_distribution(p0: np.ndarray, m: int) -> np.ndarray:
    """Expected number of categories with each count 0..M in M draws from p0: sum_k Binomial(M, p0_k) pmf."""
    from scipy.stats import binom

    out = np.zeros(m + 1)
    c = np.arange(m + 1)
    for lo in range(0, len(p0), 256):
        out += binom.pmf(c[None, :], m, np.asarray(p0[lo:lo + 256])[:, None]).sum(axis=0)
    return out


class _DriftTable:
    """Growing table of E[absent categories at generation j] for one (p0, M, method), with the state to extend it."""

    def __init__(self, p0: np.ndarray, m: int, exact: bool) -> None:
        self.p0, self.m, self.exact = p0, m, exact
        self.zeros: list[float] = []
        self.state: np.ndarray | None = None  # exact: expected number of categories at each count
        self.q = 0.0  # approximate: extinction probability of one lineage by the next generation

    def extend(self, j_max: int) -> None:
        m = self.m
        while len(self.zeros) <= j_max:
            if self.exact:
                if self.state is None:
                    self.state = initial_count_distribution(self.p0, m)
                else:
                    self.state = self.state @ wf_transition(m)
                self.zeros.append(float(self.state[0]))
            else:
                self.zeros.append(float(np.sum((1.0 - self.p0 + self.p0 * self.q) ** m)))
                self.q = (1.0 - (1.0 - self.q) / m) ** m


_TABLES: OrderedDict[tuple[int, bool, bytes], _DriftTable] = OrderedDict()


def expected_zero_counts(p0: np.ndarray, m: int, j_max: int, exact: bool | None = None) -> np.ndarray:
    """E[number of categories absent from generation j's M samples], j = 0..j_max, under neutral drift.

    Generation 0's samples are M draws from p0; generation j's are M draws from generation j-1's empirical
    frequencies. Exact (matrix power over the M+1 count states, cached) when ``exact`` or, by default,
    M <= EXACT_MAX_M. Otherwise each of a category's c^(0) ~ Binomial(M, p0_k) initial copies is followed as an
    independent lineage with Binomial(M, 1/M) offspring (a critical branching process): P(absent at j) =
    (1 - p + p q_j)^M with q_0 = 0, q_j = (1 - (1 - q_{j-1})/M)^M. That is exact at j = 0 and accurate for rare
    categories (the ones that get lost); it ignores that counts add up to M, so it loses common categories a
    little too fast: measured against the exact chain (M = 200 ... 2000, English and Zipf vocabularies) the
    expected survivors come out low by about 0.16 n / M relative (0.5% at n = M/30, 8% at n = M/2).
    """
    p0 = np.asarray(p0, dtype=np.float64)
    use_exact = m <= EXACT_MAX_M if exact is None else bool(exact)
    key = (m, use_exact, p0.tobytes())
    table = _TABLES.get(key)
    if table is None:
        table = _TABLES[key] = _DriftTable(p0.copy(), m, use_exact)
        while len(_TABLES) > 8:
            _TABLES.popitem(last=False)
    _TABLES.move_to_end(key)
    table.extend(j_max)
    return np.asarray(table.zeros[: j_max + 1])


def expected_alive(p0: np.ndarray, m: int, generations: np.ndarray, exact: bool | None = None) -> np.ndarray:
    """E[categories with nonzero probability in generation n's fitted model] under neutral drift (replace)."""
    n = np.asarray(generations, dtype=np.int64)
    v = float(np.count_nonzero(p0))
    if n.size == 0:
        return np.zeros(0)
    zeros = expected_zero_counts(p0, m, max(int(n.max()) - 1, 0), exact)
    return np.where(n <= 0, v, v - zeros[np.clip(n - 1, 0, None)])


def expected_distinct(p0: np.ndarray, m: int, generations: np.ndarray, exact: bool | None = None) -> np.ndarray:
    """E[distinct categories among generation n's M samples] under neutral drift (replace)."""
    n = np.asarray(generations, dtype=np.int64)
    if n.size == 0:
        return np.zeros(0)
    zeros = expected_zero_counts(p0, m, max(int(n.max()), 0), exact)
    return float(np.count_nonzero(p0)) - zeros[np.clip(n, 0, None)]


def mix_gini_simpson(p0: np.ndarray, m: int, r: int, generations: np.ndarray) -> np.ndarray:
    """E[1 - sum p_n^2] when every training set is r fresh real draws plus M - r draws from the last model.

    With H_n = sum p_n^2 and H0 = sum p0^2 (and E[p_n] = p0):
    M^2 E[H_n] = (r(r-1) + 2r(M-r)) H0 + M + (M-r)(M-r-1) E[H_{n-1}], E[H_0] = H0.
    r = 0 gives (1 - 1/M)^n (1 - H0).
    """
    n = np.asarray(generations, dtype=np.int64)
    h0 = float(np.sum(p0 * p0))
    top = int(n.max()) if n.size else 0
    h = np.empty(top + 1)
    h[0] = h0
    s = m - r
    for g in range(1, top + 1):
        h[g] = ((r * (r - 1) + 2 * r * s) * h0 + m + s * (s - 1) * h[g - 1]) / (m * m)
    return 1.0 - h[np.clip(n, 0, None)]


# ---- the scenario ----------------------------------------------------------------------------------------
CATEGORICAL_METRICS = (
    MetricInfo("alive", "Categories alive", "Categories (words) with nonzero probability in this generation's fitted "
               "model. A category lost once never comes back without outside data. Under pure resampling its "
               "expectation is computed exactly from the Wright-Fisher chain (theory curve)."),
    MetricInfo("distinct", "Distinct in samples", "Distinct categories among this generation's samples (at most M)."),
    MetricInfo("entropy", "Entropy", "Shannon entropy of the fitted model in nats. Falls as probability concentrates "
               "on fewer words."),
    MetricInfo("effective_categories", "Effective categories", "exp(entropy): the number of equally likely "
               "categories with the same entropy.", log_scale=True),
    MetricInfo("gini_simpson", "Gini-Simpson", "1 - sum p^2 of the fitted model: the chance that two draws differ. "
               "Under pure resampling its expectation decays exactly as (1 - 1/M)^n (Seddik et al. 2024)."),
    MetricInfo("tail_mass", "Tail mass", "Probability the fitted model gives to the rarest half of the real "
               "vocabulary (ids from V - floor(V/2) on). The tail goes first. Its expectation stays at the real "
               "value under unbiased resampling while a typical run's falls: rare runs that keep a tail word "
               "make up for the many that lose it."),
    MetricInfo("kl", "KL(real || model)", "KL divergence from the real distribution to the fitted model in nats. "
               "The fit's counts get a 0.5 pseudo-count per category (p = (c + 0.5) / (M + 0.5 V)), so a lost "
               "category gives a large but finite value; the real model (generation 0) gives 0."),
    MetricInfo("top_share", "Top category share", "Probability of the most likely category in the fitted model; 1 "
               "when one category has taken over (fixation)."),
)


class CategoryPool(PoolStats):
    """Category counts of all data so far: the empirical-frequency fit reads nothing else (exact: integers)."""

    def __init__(self, scenario: CategoricalScenario, state: np.ndarray | None = None) -> None:
        self.scenario = scenario
        self.counts = np.zeros(scenario.V, dtype=np.int64) if state is None else np.array(state, dtype=np.int64)

    def add(self, samples: np.ndarray) -> None:
        if len(samples):
            self.counts += self.scenario.category_counts(samples)

    def fit(self, rng: np.random.Generator) -> FitResult:
        return self.scenario.fit_counts(self.counts)

    def state(self) -> np.ndarray:
        return self.counts.copy()

    def __len__(self) -> int:
        return int(self.counts.sum())


class CategoricalScenario(Scenario):
    name = "categorical"
    title = "Categorical (word frequencies)"
    summary = ("A vocabulary with real English word frequencies (or a synthetic Zipf law). Each generation refits "
               "the empirical frequencies of its training set and samples M words from them: neutral "
               "Wright-Fisher drift, in which rare words are lost first and one word eventually takes over.")
    schema = (
        Param("source", "choice", "english", "Real frequencies: english = the top V English words from wordfreq "
              "(CC BY-SA 4.0); zipf = a synthetic Zipf law p_k ~ 1/k^s.", choices=("english", "zipf"),
              label="word frequencies"),
        Param("vocab_size", "int", 1000, "Number V of categories: the V most frequent words, renormalised to sum "
              "to 1.", minimum=2, maximum=MAX_VOCAB, label="vocabulary size"),
        Param("zipf_exponent", "float", 1.0, "Exponent s of the synthetic Zipf law (source zipf only); 0 = "
              "uniform.", minimum=0.0, maximum=5.0, label="Zipf exponent"),
        TEMPERATURE,
        TOP_K,
        TOP_P,
    )
    metric_infos = CATEGORICAL_METRICS
    dtype = np.int32
    view = "rank"
    families = ("categorical",)
    verifiers = ("likelihood", "ratio")
    default_samples = 1000

    def __init__(self, params: dict[str, Any], seed: int, replicate: int, samples: int) -> None:
        super().__init__(params, seed, replicate, samples)
        self.labels, self.p0 = real_distribution(params["source"], params["vocab_size"], params["zipf_exponent"])
        self.V = len(self.p0)
        self.rare_from = self.V - self.V // 2
        self.heldout: np.ndarray | None = None

    # ---- set-up ----------------------------------------------------------------------------------------------
    def real_model(self) -> Model:
        return CategoricalModel(self.p0)

    def _fitted(self, counts: np.ndarray) -> CategoricalModel:
        p = self.params
        return CategoricalModel.from_counts(counts, p["temperature"], p["top_k"], p["top_p"])

    def fit(self, train: np.ndarray, rng: np.random.Generator, family: str | None = None) -> FitResult:
        if family not in (None, "categorical"):
            raise ParamError(f"scenario categorical has no model family {family!r}")
        return self.fit_counts(self.category_counts(train))

    def category_counts(self, train: np.ndarray) -> np.ndarray:
        """How often each category id occurs in a training set (DegenerateFit when there is none to count)."""
        x = np.asarray(train).ravel()
        if len(x) == 0:
            raise DegenerateFit("no training data left")
        if x.min() < 0 or x.max() >= self.V:
            raise DegenerateFit(f"training data holds category ids outside 0..{self.V - 1}")
        return np.bincount(x.astype(np.int64), minlength=self.V)

    def pool_stats(self, state: Any = None) -> CategoryPool:
        return CategoryPool(self, state)

    def fit_counts(self, counts: np.ndarray) -> FitResult:
        """The empirical-frequency fit to these category counts."""
        if counts.sum() == 0:
            raise DegenerateFit("no training data left")
        model = self._fitted(counts)
        alive = int(np.count_nonzero(counts))
        note = None
        if alive == 1:
            note = f"one category left ({self.labels[int(np.flatnonzero(counts)[0])]!r} took over): no diversity left"
        return FitResult(model, note)

    def model_from_params(self, params: dict[str, Any]) -> Model:
        if params.get("real"):
            return self.real_model()
        counts = np.zeros(self.V, dtype=np.int64)
        counts[np.asarray(params["ids"], dtype=np.int64)] = np.asarray(params["counts"], dtype=np.int64)
        return self._fitted(counts)

    def set_reference(self, real: np.ndarray, heldout: np.ndarray) -> None:
        self.heldout = np.asarray(heldout, dtype=np.int32)
        self.ref = {
            "bins": {"kind": "categories", "labels": list(self.labels)},
            "real_probs": [float(v) for v in self.p0],
            "source": self.params["source"],
            "rare_from": int(self.rare_from),
        }

    def histogram(self, samples: np.ndarray) -> np.ndarray:
        return np.bincount(np.asarray(samples, dtype=np.int64).ravel(), minlength=self.V)[: self.V].astype(np.int64)

    def metrics(self, samples: np.ndarray, model: Model, generation: int) -> dict[str, float]:
        p, total = model_probs(model)
        nz = p[p > 0]
        entropy = float(-np.sum(nz * np.log(nz))) + 0.0  # + 0.0: no -0.0 for a single category
        if total is None:
            smooth = p
        else:
            smooth = (total * p + KL_PSEUDO) / (total + KL_PSEUDO * self.V)
        kl = float(np.sum(self.p0 * (np.log(self.p0) - np.log(smooth))))
        x = np.asarray(samples, dtype=np.int64).ravel()
        return {
            "alive": float(len(nz)),
            "distinct": float(len(np.unique(x))),
            "entropy": entropy,
            "effective_categories": float(np.exp(entropy)),
            "gini_simpson": float(1.0 - np.sum(p * p)),
            "tail_mass": float(np.sum(p[self.rare_from:])),
            "kl": max(kl, 0.0),
            "top_share": float(p.max()),
        }

    # ---- mitigations -----------------------------------------------------------------------------------------
    def verify(self, samples: np.ndarray, verifier: str, threshold: float, rng: np.random.Generator,
               model: Model | None) -> np.ndarray:
        """Boolean mask of accepted samples, exact for discrete data (the base class's version is for densities).

        - likelihood: rejects the rarest real categories, exactly a `threshold` share of real probability mass.
          Categories are taken from the rarest up; the category (or tie group) where the cumulative real mass
          crosses the threshold is accepted at random with the probability that makes the rejected mass exactly
          `threshold` (a randomised test: with discrete data a plain quantile cut cannot do that).
        - ratio: rejection sampling toward the real distribution with the exact bound c = max p0/q over the
          model's sampling support q > 0, so accepted samples follow p0 restricted to that support.
        """
        if verifier not in self.verifiers:
            raise ParamError(f"scenario {self.name} has no verifier {verifier!r} (has: {', '.join(self.verifiers)})")
        x = np.asarray(samples, dtype=np.int64).ravel()
        u = rng.random(len(x))
        if verifier == "likelihood":
            accept = self.likelihood_acceptance(threshold)
        else:
            q = model_sampling_probs(model)
            ratio = np.zeros(self.V)
            on = q > 0
            ratio[on] = self.p0[on] / q[on]
            accept = ratio / ratio.max() if ratio.max() > 0 else ratio
        return u < accept[x]

    def likelihood_acceptance(self, threshold: float) -> np.ndarray:
        """Per-category acceptance probability of the likelihood verifier (see ``verify``)."""
        cache = self.__dict__.setdefault("_accept_cache", {})
        if threshold in cache:
            return cache[threshold]
        accept = np.ones(self.V)
        values = np.unique(self.p0)  # ascending: rarest first
        rejected = 0.0
        for v in values:
            group = self.p0 == v
            mass = float(self.p0[group].sum())
            if rejected + mass <= threshold + 1e-15:
                accept[group] = 0.0
                rejected += mass
            else:
                accept[group] = 1.0 - (threshold - rejected) / mass
                break
        cache[threshold] = accept
        return accept

    # ---- theory ---------------------------------------------------------------------------------------------
    @classmethod
    def theory(cls, metric: str, generations: np.ndarray, run: dict[str, Any]) -> np.ndarray | None:
        """Closed forms of neutral drift (temperature 1, no truncation): see the module docstring."""
        p = {param.name: param.default for param in cls.schema} | dict(run["params"])
        v = int(p["vocab_size"])
        plain = p["temperature"] == 1.0 and (p["top_k"] == 0 or p["top_k"] >= v) and p["top_p"] >= 1.0
        if not plain:
            return None
        policy = run["policy"]
        m = int(run["samples"])
        n = np.asarray(generations, dtype=np.int64)
        _, p0 = real_distribution(p["source"], v, p["zipf_exponent"])
        if metric == "tail_mass" and policy in UNBIASED_POLICIES:
            return np.full(n.shape, float(np.sum(p0[v - v // 2:])))
        if policy == "replace" and m >= 1:
            if metric == "gini_simpson":
                return (1.0 - float(np.sum(p0 * p0))) * (1.0 - 1.0 / m) ** n.astype(np.float64)
            if metric == "alive":
                return expected_alive(p0, m, n)
            if metric == "distinct":
                return expected_distinct(p0, m, n)
        if policy == "mix" and p.get("real") == "fresh" and metric == "gini_simpson":
            r = int(round(p["alpha"] * m))
            return mix_gini_simpson(p0, m, r, n)
        return None
