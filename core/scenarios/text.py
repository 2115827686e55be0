"""`text`: an n-gram language model trained on real English sentences, then on its own output.

Real data: the bundled corpus resources/corpus_python_docs.txt (prose sentences from Python's own documentation,
PSF licence; see resources/LICENSES.md). Sentences are the sample units. Tokens are lower-case words (letters and
digits, with inner apostrophes or hyphens) and the punctuation marks . , ; : ! ? ( ); everything else is dropped.
Sentence i of the corpus is held out (for perplexity and the likelihood verifier) when i % 10 == 9; the others
form the training part. The vocabulary is built deterministically from the training part: tokens seen at least
``min_count`` times, most frequent first (ties alphabetical), after id 0 = "<unk>", which replaces the rest.
Held-out sentences that encode exactly like a training sentence are dropped, so the two parts are disjoint.

Samples are int32 arrays (n, max_len) of token ids padded with -1; a sentence ends at its end-of-sentence token
or after max_len tokens. Only corpus sentences of at most max_len tokens are used.

Generation 0's model is the corpus itself: its samples are real sentences drawn uniformly without replacement
from the training part (whole shuffled passes when more are asked for than it holds). Generation n >= 1 trains an
n-gram model of the chosen order on its training set and samples M sentences from it.

The n-gram model: interpolated absolute discounting (Ney, Essen & Kneser 1994; Kneser-Ney without continuation
counts). For a context h of k-1 tokens seen c(h) times with N1+(h) distinct continuations,
    P_k(w | h) = max(c(h, w) - d, 0) / c(h) + d N1+(h) / c(h) * P_{k-1}(w | h minus its oldest token),
P_k = P_{k-1} for unseen contexts, and the unigram level interpolates with the uniform distribution over the
vocabulary plus end-of-sentence: P_1(w) = max(c(w) - d, 0) / N + d N1+ / N / (V + 1). Every token therefore keeps
a nonzero probability (held-out perplexity is finite) and the discount d is the smoothing strength. Like mutation
in population genetics, the uniform floor re-introduces lost words at a small rate, so the vocabulary cannot die
out completely.

Sampling at temperature 1 without truncation walks the interpolation exactly (choose a level with the
interpolation weights, then a continuation). With temperature or top-k / top-p the sampler draws from exactly
``apply_sampling(distribution)`` of the categorical scenario (temperature, then top-k, then top-p; ties broken in
favour of the more frequent corpus word) without building the full distributions: each context's distribution is
A P_1 + a sparse part (the continuations seen after it), and every token outside the sparse part ranks as in P_1,
so truncation only looks at the sparse entries plus the top of P_1 (falling back to the dense distribution when a
nucleus is wider than that) and tempered draws outside the sparse entries come from P_1^(1/temperature) by
rejection. A generation of M = 500 sentences at order 3 takes about 10 ms plain, 15-35 ms with temperature or
truncation, up to about a second with a nucleus of thousands of tokens (temperature > 1 and top_p near 1).

Stored model parameters are a summary (the counts of a model are as large as its training set), so the scenario
is not regenerable: every generation's samples are stored in full and a resumed run retrains from them. The
summary keeps the 64-bit fingerprints of the model's distinct training sentences (up to FINGERPRINT_CAP) so the
dedup verifier gives the same answer after a resume.
"""

from __future__ import annotations

import base64
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.metrics import kl_divergence
from core.params import Param, ParamError
from core.scenarios.base import TEMPERATURE, DegenerateFit, FitResult, MetricInfo, Model, Scenario
from core.scenarios.categorical import TOP_K, TOP_P, apply_sampling
from core.special import logsumexp

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
CORPUS_FILE = RESOURCES / "corpus_python_docs.txt"
TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*|[.,;:!?()]")
UNK = "<unk>"
HELDOUT_EVERY = 10  # sentence i is held out when i % HELDOUT_EVERY == HELDOUT_EVERY - 1
SIMILARITY_SUBSET = 100  # self-similarity compares the first this many sentences of a generation (a random subset)
FINGERPRINT_CAP = 10_000  # most distinct training-sentence fingerprints a model keeps (and stores)
REJECTION_ROUNDS = 20  # tempered sampling: rejection rounds before the exact (dense) draw of what is left
_MIX = np.uint64(0x9E3779B97F4A7C15)


# ---- corpus --------------------------------------------------------------------------------------------------
def tokenize(sentence: str) -> list[str]:
    """Lower-case word and punctuation tokens of one sentence."""
    return TOKEN.findall(sentence.lower())


@functools.lru_cache(maxsize=1)
def corpus_sentences() -> tuple[tuple[str, ...], ...]:
    """Every bundled corpus sentence, tokenised, in file order."""
    with open(CORPUS_FILE, encoding="utf-8") as fh:
        return tuple(tuple(tokenize(line)) for line in fh if line.strip())


@dataclass(frozen=True)
class Corpus:
    """The real data of one (min_count, max_len) setting: vocabulary and the two sentence matrices."""

    vocab: tuple[str, ...]
    train: np.ndarray  # (n_train, max_len) int32, -1 padded: training-part sentences of at most max_len tokens
    heldout: np.ndarray  # (n_heldout, max_len) int32: held-out sentences of at most max_len tokens


@functools.lru_cache(maxsize=4)
def load_corpus(min_count: int, max_len: int) -> Corpus:
    """Vocabulary from the training part (count >= min_count) and the encoded train / held-out sentences."""
    sents = corpus_sentences()
    train_s = [s for i, s in enumerate(sents) if i % HELDOUT_EVERY != HELDOUT_EVERY - 1]
    held_s = [s for i, s in enumerate(sents) if i % HELDOUT_EVERY == HELDOUT_EVERY - 1]
    counts: dict[str, int] = {}
    for s in train_s:
        for t in s:
            counts[t] = counts.get(t, 0) + 1
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    vocab = (UNK, *words)
    index = {w: i for i, w in enumerate(vocab)}

    def encode(group: list[tuple[str, ...]]) -> np.ndarray:
        rows = [s for s in group if 0 < len(s) <= max_len]
        out = np.full((len(rows), max_len), -1, dtype=np.int32)
        for r, s in enumerate(rows):
            out[r, : len(s)] = [index.get(t, 0) for t in s]
        out.setflags(write=False)
        return out

    train, held = encode(train_s), encode(held_s)
    # held-out sentences that encode exactly like a training sentence (case, punctuation or <unk> differences)
    # would not be held out: drop them
    held = held[~np.isin(fingerprints(held), fingerprints(train))]
    held.setflags(write=False)
    return Corpus(vocab, train, held)


# ---- sentence helpers ------------------------------------------------------------------------------------------
def sentence_lengths(x: np.ndarray) -> np.ndarray:
    """Tokens before the first padding (-1) of each sentence."""
    x = np.asarray(x)
    if x.shape[1] == 0:
        return np.zeros(len(x), dtype=np.int64)
    pad = x < 0
    return np.where(pad.any(axis=1), pad.argmax(axis=1), x.shape[1]).astype(np.int64)


def fingerprints(x: np.ndarray) -> np.ndarray:
    """A 64-bit fingerprint of each sentence (tokens before the first padding); equal sentences, equal prints."""
    x = np.asarray(x, dtype=np.int64)
    lens = sentence_lengths(x)
    cols = np.arange(x.shape[1])
    tok = np.where(cols[None, :] < lens[:, None], x + 2, 1).astype(np.uint64)
    with np.errstate(over="ignore"):
        powers = np.cumprod(np.full(x.shape[1], _MIX, dtype=np.uint64)) if x.shape[1] else np.zeros(0, np.uint64)
        h = (tok * powers[None, :]).sum(axis=1, dtype=np.uint64) ^ lens.astype(np.uint64)
        # splitmix64 finaliser: spreads the bits
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h


def ngram_keys(x: np.ndarray, n: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer keys of every n-gram inside the sentences (no boundary markers) and the sentence of each."""
    x = np.asarray(x, dtype=np.int64)
    rows, width = x.shape
    if width < n or rows == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lens = sentence_lengths(x)
    keys = np.zeros((rows, width - n + 1), dtype=np.int64)
    for j in range(n):
        keys = keys * base + x[:, j: width - n + 1 + j]
    valid = np.arange(width - n + 1)[None, :] + n <= lens[:, None]
    return keys[valid], np.nonzero(valid)[0]


def repeated_share(x: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray]:
    """Per sentence: the share of its bigrams that repeat an earlier bigram of the same sentence, and its bigram
    count (sentences of fewer than 2 tokens have no bigrams and share 0)."""
    keys, rows = ngram_keys(x, 2, base)
    total = np.bincount(rows, minlength=len(x))
    uniq = np.unique(rows * (base * base) + keys)
    distinct = np.bincount(uniq // (base * base), minlength=len(x))
    share = np.where(total > 0, 1.0 - distinct / np.maximum(total, 1), 0.0)
    return share, total


# ---- the n-gram model ------------------------------------------------------------------------------------------
@dataclass
class _Level:
    """Counts of one order k: contexts of k-1 tokens and their continuations, sorted by (context, token)."""

    ctx_keys: np.ndarray  # sorted keys (parent context id * base + oldest token) of the contexts; [0] at k = 1
    total: np.ndarray  # c(h) per context
    types: np.ndarray  # N1+(h) per context
    start: np.ndarray  # first continuation of each context
    gamma: np.ndarray  # interpolation weight d N1+(h) / c(h)
    pair_keys: np.ndarray  # context id * base + token, sorted
    pair_w: np.ndarray  # token of each continuation
    pair_c: np.ndarray  # its count
    cum: np.ndarray  # cumulative discounted counts (count - d) over all continuations


def _events(x: np.ndarray, order: int, v: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prediction events of sentences: targets (tokens then end-of-sentence), histories (E, order-1) with the
    most recent token last (begin-of-sentence padding), and the sentence of each event."""
    x = np.asarray(x, dtype=np.int64)
    rows, width = x.shape
    lens = sentence_lengths(x)
    eos, bos = v, v + 1
    cols = np.arange(width + 1)
    body = np.full((rows, width + 1), eos, dtype=np.int64)
    body[:, :width] = np.where(cols[None, :width] < lens[:, None], x, eos)
    padded = np.concatenate([np.full((rows, order - 1), bos, dtype=np.int64), body], axis=1)
    mask = cols[None, :] <= lens[:, None]  # positions 0..len (len = end of sentence)
    r_idx, c_idx = np.nonzero(mask)
    targets = body[r_idx, c_idx]
    hist = np.stack([padded[r_idx, c_idx + j] for j in range(order - 1)], axis=1) if order > 1 else \
        np.zeros((len(r_idx), 0), dtype=np.int64)
    return targets, hist, r_idx


class NgramModel(Model):
    """An interpolated absolute-discounting n-gram model (see the module docstring) with its sampler."""

    def __init__(self, train: np.ndarray, vocab_size: int, order: int, discount: float, max_len: int,
                 temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> None:
        self.v, self.order, self.d, self.max_len = int(vocab_size), int(order), float(discount), int(max_len)
        self.temperature, self.top_k, self.top_p = float(temperature), int(top_k), float(top_p)
        self.base = self.v + 2  # tokens 0..V-1, end-of-sentence V, begin-of-sentence V+1
        train = np.asarray(train, dtype=np.int64).reshape(len(train), -1)
        self.n_sentences = len(train)
        targets, hist, _ = _events(train, self.order, self.v)
        self.n_events = len(targets)
        self.levels: list[_Level] = []
        ctx = np.zeros(len(targets), dtype=np.int64)
        for k in range(1, self.order + 1):
            if k == 1:
                ctx_keys = np.zeros(1, dtype=np.int64)
            else:
                ctx_keys, ctx = np.unique(ctx * self.base + hist[:, self.order - k], return_inverse=True)
            pair_keys, pair_c = np.unique(ctx * self.base + targets, return_counts=True)
            pair_ctx = pair_keys // self.base
            n_ctx = len(ctx_keys)
            total = np.bincount(pair_ctx, weights=pair_c, minlength=n_ctx)
            types = np.bincount(pair_ctx, minlength=n_ctx)
            start = np.concatenate([[0], np.cumsum(types)[:-1]]).astype(np.int64)
            self.levels.append(_Level(ctx_keys, total, types, start, self.d * types / total, pair_keys,
                                      pair_keys % self.base, pair_c.astype(np.float64),
                                      np.cumsum(pair_c - self.d)))
        one = self.levels[0]
        self.p1 = np.full(self.v + 1, one.gamma[0] / (self.v + 1))
        self.p1[one.pair_w] += (one.pair_c - self.d) / one.total[0]
        prints = np.unique(fingerprints(train)) if len(train) else np.zeros(0, np.uint64)
        self.fingerprints: np.ndarray | None = prints if len(prints) <= FINGERPRINT_CAP else None

    # ---- look-ups -------------------------------------------------------------------------------------------
    def _contexts(self, hist: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """(found, context id) at every order 1..n for histories (rows, order-1), most recent token last."""
        rows = len(hist)
        found = np.ones(rows, dtype=bool)
        cid = np.zeros(rows, dtype=np.int64)
        out = [(found, cid)]
        for k in range(2, self.order + 1):
            keys = self.levels[k - 1].ctx_keys
            key = cid * self.base + hist[:, self.order - k]
            pos = np.searchsorted(keys, key)
            pos_c = np.minimum(pos, len(keys) - 1)
            found = found & (pos < len(keys)) & (keys[pos_c] == key)
            cid = np.where(found, pos_c, 0)
            out.append((found, cid))
        return out

    def token_logprobs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Natural-log probability of every token and end-of-sentence of the sentences, and each event's sentence
        (the smoothed model itself: temperature and truncation are sampling settings, not part of it)."""
        targets, hist, rows = _events(x, self.order, self.v)
        prob = self.p1[targets]
        for k, (found, cid) in enumerate(self._contexts(hist)[1:], start=2):
            lev = self.levels[k - 1]
            key = cid * self.base + targets
            pos = np.minimum(np.searchsorted(lev.pair_keys, key), len(lev.pair_keys) - 1)
            cnt = np.where(lev.pair_keys[pos] == key, lev.pair_c[pos], 0.0)
            mixed = np.maximum(cnt - self.d, 0.0) / lev.total[cid] + lev.gamma[cid] * prob
            prob = np.where(found, mixed, prob)
        with np.errstate(divide="ignore"):  # an event the model gives zero probability (discount 0) is -inf
            return np.log(prob), rows

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Mean log probability per predicted token (end-of-sentence included) of each sentence."""
        x = np.asarray(x).reshape(len(x), -1)
        lp, rows = self.token_logprobs(x)
        return np.bincount(rows, weights=lp, minlength=len(x)) / (sentence_lengths(x) + 1)

    def sentence_logprob(self, x: np.ndarray) -> np.ndarray:
        """Total log probability of each sentence."""
        lp, rows = self.token_logprobs(x)
        return np.bincount(rows, weights=lp, minlength=len(x))

    def sparse_parts(self, hist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each history's next-token distribution as A_r * P_1 + a sparse part: returns A (rows,) and the sparse
        entries (row, token, value), one per (row, token), sorted by row then token."""
        rows = len(hist)
        weight = np.ones(rows)
        contexts = self._contexts(hist)
        e_rows, e_tok, e_val = [], [], []
        for k in range(self.order, 1, -1):
            found, cid = contexts[k - 1]
            lev = self.levels[k - 1]
            r = np.flatnonzero(found)
            if not len(r):
                continue
            c = cid[r]
            lens = lev.types[c]
            offs = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
            idx = np.repeat(lev.start[c], lens) + offs
            e_rows.append(np.repeat(r, lens))
            e_tok.append(lev.pair_w[idx])
            e_val.append(np.repeat(weight[r] / lev.total[c], lens) * (lev.pair_c[idx] - self.d))
            weight[r] *= lev.gamma[c]
        width = self.v + 1
        if not e_rows:
            return weight, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        keys = np.concatenate(e_rows) * width + np.concatenate(e_tok)
        uniq, where = np.unique(keys, return_inverse=True)
        vals = np.bincount(where.ravel(), weights=np.concatenate(e_val), minlength=len(uniq))
        return weight, uniq // width, uniq % width, vals

    def distributions(self, hist: np.ndarray) -> np.ndarray:
        """Full next-token distributions (rows, V+1) for histories (rows, order-1); column V = end of sentence."""
        weight, r, w, vals = self.sparse_parts(hist)
        dist = weight[:, None] * self.p1[None, :]
        dist[r, w] += vals
        return dist

    # ---- sampling -------------------------------------------------------------------------------------------
    @property
    def plain(self) -> bool:
        """True when sampling uses the model's own distribution (temperature 1, no truncation)."""
        return self.temperature == 1.0 and not (0 < self.top_k < self.v + 1) and self.top_p >= 1.0

    def _next_plain(self, hist: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One token per row drawn exactly from the interpolated model: pick the level, then a continuation."""
        rows = len(hist)
        contexts = self._contexts(hist)
        u_level = rng.random((rows, self.order))
        u_tok = rng.random(rows)
        level = np.zeros(rows, dtype=np.int64)  # 0 = the uniform floor
        open_ = np.ones(rows, dtype=bool)
        for k in range(self.order, 0, -1):
            found, cid = contexts[k - 1]
            gamma = self.levels[k - 1].gamma[cid]
            stop = open_ & found & (u_level[:, k - 1] >= gamma)
            level[stop] = k
            open_ &= ~stop
        tokens = np.minimum((u_tok * (self.v + 1)).astype(np.int64), self.v)
        for k in range(1, self.order + 1):
            r = np.flatnonzero(level == k)
            if not len(r):
                continue
            lev = self.levels[k - 1]
            c = contexts[k - 1][1][r]
            lo = lev.start[c]
            hi = lo + lev.types[c] - 1
            before = np.where(lo > 0, lev.cum[np.maximum(lo - 1, 0)], 0.0)
            target = before + u_tok[r] * (lev.total[c] - self.d * lev.types[c])
            idx = np.clip(np.searchsorted(lev.cum, target, side="right"), lo, hi)
            tokens[r] = lev.pair_w[idx]
        return tokens

    def _tempered(self, hist: np.ndarray) -> dict[str, np.ndarray]:
        """The tempered distribution of each history, unnormalised, in the structured form
        x (on the sparse entries) + off * pi (elsewhere), with pi = (P_1 / max P_1)^(1/temperature) shared."""
        weight, r, w, vals = self.sparse_parts(hist)
        tau = self.temperature
        full = vals + weight[r] * self.p1[w]  # the model's probability at the sparse entries
        log_off = (np.log(weight) + self._lp1_max) / tau  # log of the off-entry multiplier, before scaling
        log_x = np.log(full) / tau
        top = log_off.copy()
        np.maximum.at(top, r, log_x)
        x = np.exp(log_x - top[r])
        off = np.exp(log_off - top)
        pi = self._pi()
        covered = np.bincount(r, weights=pi[w], minlength=len(hist))  # pi mass at the sparse entries
        z = np.bincount(r, weights=x, minlength=len(hist)) + off * (self._pi_total() - covered)
        return {"r": r, "w": w, "x": x, "off": off, "z": z}

    def _pi(self) -> np.ndarray:
        cached = self.__dict__.get("_pi_cache")
        if cached is None:
            cached = self.__dict__["_pi_cache"] = np.exp((np.log(self.p1) - self._lp1_max) / self.temperature)
        return cached

    def _pi_total(self) -> float:
        return float(self._pi().sum())

    @functools.cached_property
    def _lp1_max(self) -> float:
        return float(np.log(self.p1.max()))

    @functools.cached_property
    def _p1_order(self) -> np.ndarray:
        """Tokens by P_1 descending, ties by lower id: the order of all tokens outside a row's sparse entries."""
        return np.argsort(-self.p1, kind="stable")

    def _kept(self, hist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Entries (row, token, probability) of the truncated (top-k / top-p) sampling distribution of each
        history, the same distribution as apply_sampling(distributions(hist)) but built from a few candidates:
        a row's sparse entries plus the first K tokens in P_1 order (every other token ranks below those); rows
        whose nucleus reaches beyond them are done densely."""
        t = self._tempered(hist)
        pi, order = self._pi(), self._p1_order
        rows, width = len(hist), self.v + 1
        out_r, out_w, out_p = [], [], []
        pending = np.arange(rows)
        k_cand = self.top_k if 0 < self.top_k < width else 64
        while len(pending):
            k_cand = min(k_cand, width)
            if k_cand > 64 and not 0 < self.top_k < width:
                # a wide nucleus: the full distributions of the remaining rows are cheaper than more candidates
                dense = apply_sampling(self.distributions(hist[pending]), self.temperature, 0, self.top_p)
                d_r, d_w = np.nonzero(dense)
                out_r.append(pending[d_r])
                out_w.append(d_w)
                out_p.append(dense[d_r, d_w])
                break
            sel = np.isin(t["r"], pending)
            s_r, s_w, s_x = t["r"][sel], t["w"][sel], t["x"][sel]
            f_r = np.repeat(pending, k_cand)
            f_w = np.tile(order[:k_cand], len(pending))
            dup = np.isin(f_r * width + f_w, s_r * width + s_w)
            c_r = np.concatenate([s_r, f_r[~dup]])
            c_w = np.concatenate([s_w, f_w[~dup]])
            c_x = np.concatenate([s_x, t["off"][f_r[~dup]] * pi[f_w[~dup]]])
            srt = np.lexsort((c_w, -c_x, c_r))
            c_r, c_w, c_x = c_r[srt], c_w[srt], c_x[srt]
            counts = np.bincount(c_r, minlength=rows)
            first = np.cumsum(counts) - counts
            rank = np.arange(len(c_r)) - first[c_r]
            keep = np.ones(len(c_r), dtype=bool)
            mass = t["z"]
            if 0 < self.top_k < width:
                keep &= rank < self.top_k
                mass = np.bincount(c_r[keep], weights=c_x[keep], minlength=rows)
            done = np.ones(rows, dtype=bool)
            if self.top_p < 1.0:
                vals = np.where(keep, c_x, 0.0)
                cum = np.cumsum(vals)
                before = cum - vals - np.where(first > 0, cum[np.maximum(first - 1, 0)], 0.0)[c_r]
                keep &= (before < (self.top_p - 1e-12) * mass[c_r]) | (rank == 0)  # the top token always stays
                if not 0 < self.top_k < width and k_cand < width:
                    # the prefix is exact only if it ends before the K-th token in P_1 order would rank
                    last = np.full(rows, -1)
                    np.maximum.at(last, c_r[keep], np.flatnonzero(keep))
                    reached = np.bincount(c_r[keep], weights=c_x[keep], minlength=rows) >= \
                        (self.top_p - 1e-12) * mass
                    edge_w = order[k_cand - 1]
                    edge_x = t["off"] * pi[edge_w]
                    lx, lw = c_x[np.maximum(last, 0)], c_w[np.maximum(last, 0)]
                    done = reached & ((lx > edge_x) | ((lx == edge_x) & (lw <= edge_w)))
            ok = done[c_r] & keep
            total = np.bincount(c_r[ok], weights=c_x[ok], minlength=rows)
            out_r.append(c_r[ok])
            out_w.append(c_w[ok])
            out_p.append(c_x[ok] / total[c_r[ok]])
            pending = pending[~done[pending]]
            k_cand *= 4
        r_all, w_all, p_all = np.concatenate(out_r), np.concatenate(out_w), np.concatenate(out_p)
        srt = np.lexsort((w_all, r_all))
        return r_all[srt], w_all[srt], p_all[srt]

    def sampling_distributions(self, hist: np.ndarray) -> np.ndarray:
        """Dense (rows, V+1) distributions the sampler draws from (for checks; sampling never builds them)."""
        if self.plain:
            return self.distributions(hist)
        out = np.zeros((len(hist), self.v + 1))
        if self.top_p < 1.0 or 0 < self.top_k < self.v + 1:
            r, w, p = self._kept(hist)
            out[r, w] = p
            return out
        t = self._tempered(hist)
        out[:] = t["off"][:, None] * self._pi()[None, :]
        out[t["r"], t["w"]] = t["x"]
        return out / t["z"][:, None]

    def _next_transformed(self, hist: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One token per row from the tempered and/or truncated distribution of its context."""
        uniq, inv = np.unique(hist, axis=0, return_inverse=True)
        inv = inv.ravel()
        n = len(hist)
        if self.top_p < 1.0 or 0 < self.top_k < self.v + 1:
            r, w, p = self._kept(uniq)
            return _draw_grouped(r, w, p, len(uniq), inv, rng.random(n))
        # temperature only: the sparse entries, or (rejection) a token from pi outside them
        t = self._tempered(uniq)
        sparse_mass = np.bincount(t["r"], weights=t["x"], minlength=len(uniq))
        u = rng.random(n) * t["z"][inv]
        tokens = np.empty(n, dtype=np.int64)
        full = np.bincount(t["r"], minlength=len(uniq)) == self.v + 1  # no token outside the sparse entries
        in_sparse = (u < sparse_mass[inv]) | full[inv]
        rows_s = np.flatnonzero(in_sparse)
        if len(rows_s):
            tokens[rows_s] = _draw_grouped(t["r"], t["w"], t["x"], len(uniq), inv[rows_s],
                                           u[rows_s] / sparse_mass[inv[rows_s]])
        pending = np.flatnonzero(~in_sparse)
        cum_pi = np.cumsum(self._pi())
        entry_keys = t["r"] * (self.v + 1) + t["w"]
        for _ in range(REJECTION_ROUNDS):  # rows get here with probability at most 1 - acceptance
            if not len(pending):
                break
            cand = np.minimum(np.searchsorted(cum_pi, rng.random(len(pending)) * cum_pi[-1], side="right"), self.v)
            clash = np.isin(inv[pending] * (self.v + 1) + cand, entry_keys)
            tokens[pending[~clash]] = cand[~clash]
            pending = pending[clash]
        if len(pending):  # rare: draw exactly from pi outside each row's sparse entries
            rows_u, which = np.unique(inv[pending], return_inverse=True)
            weights = np.tile(self._pi(), (len(rows_u), 1))
            lo = np.searchsorted(t["r"], rows_u, side="left")
            lens = np.searchsorted(t["r"], rows_u, side="right") - lo
            offs = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
            weights[np.repeat(np.arange(len(rows_u)), lens), t["w"][np.repeat(lo, lens) + offs]] = 0.0
            nz_r, nz_w = np.nonzero(weights)
            tokens[pending] = _draw_grouped(nz_r, nz_w, weights[nz_r, nz_w], len(rows_u), which.ravel(),
                                            rng.random(len(pending)))
        return tokens

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        out = np.full((n, self.max_len), -1, dtype=np.int32)
        hist = np.full((n, self.order - 1), self.v + 1, dtype=np.int64)
        active = np.arange(n)
        step = self._next_plain if self.plain else self._next_transformed
        for t in range(self.max_len):
            if not len(active):
                break
            tok = step(hist[active], rng)
            go = tok != self.v
            active = active[go]
            tok = tok[go]
            out[active, t] = tok
            if self.order > 1:
                hist[active, :-1] = hist[active, 1:]
                hist[active, -1] = tok
        return out

    def to_params(self) -> dict[str, Any]:
        prints = self.fingerprints
        return {
            "family": "ngram", "order": self.order, "sentences": self.n_sentences,
            "tokens": self.n_events - self.n_sentences, "discount": self.d, "vocab_size": self.v,
            "ngram_types": [int(len(lev.pair_keys)) for lev in self.levels],
            "contexts": [int(len(lev.ctx_keys)) for lev in self.levels],
            "fingerprints": None if prints is None else base64.b64encode(prints.astype("<u8").tobytes()).decode(),
        }


def _draw_grouped(r: np.ndarray, w: np.ndarray, weight: np.ndarray, groups: int, which: np.ndarray,
                  u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draws: for each u in [0, 1), a token of group `which` with probability proportional to the
    weights of that group's entries (r sorted ascending; every drawn group has positive weight)."""
    cum = np.cumsum(weight)
    counts = np.bincount(r, minlength=groups)
    end = np.cumsum(counts)
    first = end - counts
    lo = np.where(first > 0, cum[np.maximum(first - 1, 0)], 0.0)
    hi = cum[np.maximum(end - 1, 0)]
    target = lo[which] + u * (hi - lo)[which]
    idx = np.clip(np.searchsorted(cum, target, side="right"), first[which], end[which] - 1)
    return w[idx].astype(np.int64)


class NgramSummary(Model):
    """What is stored of an n-gram model: its summary and training fingerprints. It cannot sample (the scenario
    is not regenerable); the dedup verifier can use it after a resume."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = dict(params)
        raw = params.get("fingerprints")
        self.fingerprints = None if raw is None else np.frombuffer(base64.b64decode(raw), dtype="<u8").astype(np.uint64)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        raise NotImplementedError("an n-gram model is rebuilt by retraining on its stored training data")

    def to_params(self) -> dict[str, Any]:
        return dict(self.params)


class CorpusModel(Model):
    """The real process: sentences drawn uniformly without replacement from the corpus's training part."""

    def __init__(self, sentences: np.ndarray) -> None:
        self.sentences = sentences

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        pool = len(self.sentences)
        passes = -(-n // pool) if pool else 0
        idx = np.concatenate([rng.permutation(pool) for _ in range(passes)])[:n] if passes else np.zeros(0, int)
        return self.sentences[idx].astype(np.int32)

    def to_params(self) -> dict[str, Any]:
        return {"real": True, "corpus_sentences": int(len(self.sentences))}


# ---- the scenario ------------------------------------------------------------------------------------------------
TEXT_METRICS = (
    MetricInfo("distinct_1", "Distinct-1", "Distinct tokens / all tokens in this generation's sentences (Li et al. "
               "2016). Lexical diversity: falls as the model repeats itself."),
    MetricInfo("distinct_2", "Distinct-2", "Distinct bigrams / all bigrams (inside sentences, no boundary markers)."),
    MetricInfo("distinct_3", "Distinct-3", "Distinct trigrams / all trigrams."),
    MetricInfo("vocab_used", "Vocabulary used", "Distinct tokens appearing in this generation's sentences."),
    MetricInfo("repetition", "Repetition", "Within-sentence repetition: for each sentence with at least one bigram, "
               "the share of its bigrams that repeat an earlier bigram of the same sentence (seq-rep-2 of Welleck "
               "et al. 2019), averaged over those sentences. 0 = no loops."),
    MetricInfo("self_similarity", "Self-similarity", "Mean Jaccard similarity of the bigram sets (with begin/end "
               "markers) over all pairs among the generation's first 100 sentences (a random subset). 1 = all "
               "sentences identical."),
    MetricInfo("distinct_sentences", "Distinct sentences", "Share of this generation's sentences that are unique."),
    MetricInfo("copy_rate", "Copied real sentences", "Share of this generation's sentences that occur verbatim in "
               "the real training corpus (memorisation; 1 for generation 0)."),
    MetricInfo("mean_length", "Mean length", "Mean number of tokens per sentence (end marker not counted)."),
    MetricInfo("unigram_kl", "Unigram KL(gen 0 || gen n)", "KL divergence between generation 0's and this "
               "generation's token frequencies (nats, 0.5 pseudo-count per vocabulary entry)."),
    MetricInfo("perplexity", "Held-out perplexity", "exp of the mean negative log-likelihood per token (end of "
               "sentence included) of held-out real sentences under this generation's smoothed n-gram model, before "
               "temperature and truncation. Rises as the model forgets real English. Not defined for generation 0 "
               "(its model is the corpus itself).", log_scale=True),
)


class TextScenario(Scenario):
    name = "text"
    title = "Text (n-gram language model)"
    summary = ("Real English sentences from Python's own documentation. Each generation trains an n-gram language "
               "model (order 1-5, interpolated absolute discounting) on its training set and samples M sentences: "
               "lexical diversity falls, the model repeats itself and held-out perplexity rises (Shumailov et al. 2024).")
    schema = (
        Param("order", "int", 3, "n-gram order: 1 = unigram (bag of words), 2 = bigram, 3 = trigram ...",
              minimum=1, maximum=5, label="n-gram order"),
        Param("discount", "float", 0.25, "Smoothing strength d of interpolated absolute discounting: subtracted from "
              "every n-gram count and given to shorter contexts and, at the end, to a uniform distribution over the "
              "vocabulary. Larger d = looser, shorter, more invented sentences and a floor that keeps re-introducing "
              "lost words. 0.75 is the classic value for large corpora; with a few hundred training sentences most "
              "contexts are seen once, so a large d gives most of the probability to shorter contexts.",
              minimum=0.0, maximum=1.0, exclusive_min=True, exclusive_max=True, label="smoothing discount"),
        TEMPERATURE,
        TOP_K,
        TOP_P,
        Param("max_len", "int", 30, "Maximum sentence length in tokens; corpus sentences longer than this are not "
              "used and generated sentences are cut here.", minimum=5, maximum=100,
              label="maximum sentence length"),
        Param("min_count", "int", 2, "Corpus words seen fewer times than this (in the training part) become <unk>.",
              minimum=1, maximum=50, label="minimum word count"),
    )
    metric_infos = TEXT_METRICS
    dtype = np.int32
    view = "text"
    families = ("ngram",)
    verifiers = ("dedup", "repetition", "likelihood")
    regenerable = False  # see the module docstring: models are stored as summaries
    default_samples = 500
    max_samples = 500_000

    def __init__(self, params: dict[str, Any], seed: int, replicate: int, samples: int) -> None:
        super().__init__(params, seed, replicate, samples)
        self.corpus = load_corpus(params["min_count"], params["max_len"])
        self.vocab = self.corpus.vocab
        self.V = len(self.vocab)
        self.heldout: np.ndarray | None = None
        self._real_prints = np.unique(fingerprints(self.corpus.train))
        self._ref_counts = np.zeros(self.V, dtype=np.int64)

    @classmethod
    def check(cls, params: dict[str, Any], samples: int) -> None:
        corpus = load_corpus(params["min_count"], params["max_len"])
        if len(corpus.train) < 2 or len(corpus.heldout) < 1:
            raise ParamError(f"max_len {params['max_len']} leaves too few corpus sentences")

    def unit_shape(self) -> tuple[int, ...]:
        return (int(self.params["max_len"]),)

    # ---- set-up ----------------------------------------------------------------------------------------------
    def real_model(self) -> Model:
        return CorpusModel(self.corpus.train)

    def heldout_data(self, rng: np.random.Generator) -> np.ndarray:
        """All held-out corpus sentences of at most max_len tokens (fixed; the generator is not needed)."""
        return np.array(self.corpus.heldout, dtype=np.int32)

    def _train(self, train: np.ndarray, plain: bool = False) -> NgramModel:
        p = self.params
        if plain:
            return NgramModel(train, self.V, p["order"], p["discount"], p["max_len"])
        return NgramModel(train, self.V, p["order"], p["discount"], p["max_len"], p["temperature"], p["top_k"],
                          p["top_p"])

    def fit(self, train: np.ndarray, rng: np.random.Generator, family: str | None = None) -> FitResult:
        if family not in (None, "ngram"):
            raise ParamError(f"scenario text has no model family {family!r}")
        x = np.asarray(train)
        if len(x) == 0:
            raise DegenerateFit("no training sentences left")
        x = x.reshape(len(x), -1)
        if x.max(initial=-1) >= self.V:
            raise DegenerateFit(f"training data holds token ids outside 0..{self.V - 1}")
        model = self._train(x)
        lens = sentence_lengths(x)
        note = None
        if not lens.any():
            note = "every training sentence is empty: the model mostly ends sentences at once"
        elif len(x) > 1 and len(np.unique(fingerprints(x))) == 1:
            note = f"all {len(x)} training sentences are identical"
        return FitResult(model, note)

    def model_from_params(self, params: dict[str, Any]) -> Model:
        if params.get("real"):
            return self.real_model()
        return NgramSummary(params)

    def set_reference(self, real: np.ndarray, heldout: np.ndarray) -> None:
        self.heldout = np.asarray(heldout, dtype=np.int32).reshape(len(heldout), -1)
        self._ref_counts = self.histogram(real)
        self.ref = {
            "vocab": list(self.vocab),
            "bins": {"kind": "categories", "labels": list(self.vocab)},
            "max_len": int(self.params["max_len"]),
            "order": int(self.params["order"]),
            "corpus_train_sentences": int(len(self.corpus.train)),
            "heldout_sentences": int(len(self.heldout)),
        }

    def histogram(self, samples: np.ndarray) -> np.ndarray:
        x = np.asarray(samples, dtype=np.int64).ravel()
        return np.bincount(x[x >= 0], minlength=self.V)[: self.V].astype(np.int64)

    # ---- metrics --------------------------------------------------------------------------------------------
    def metrics(self, samples: np.ndarray, model: Model, generation: int) -> dict[str, float]:
        x = np.asarray(samples, dtype=np.int64).reshape(len(samples), -1)
        out: dict[str, float] = {}
        for n in (1, 2, 3):
            keys, _ = ngram_keys(x, n, self.V)
            out[f"distinct_{n}"] = len(np.unique(keys)) / len(keys) if len(keys) else float("nan")
        tokens = x[x >= 0]
        out["vocab_used"] = float(len(np.unique(tokens)))
        share, bigrams = repeated_share(x, self.V)
        out["repetition"] = float(share[bigrams > 0].mean()) if np.any(bigrams > 0) else float("nan")
        out["self_similarity"] = self._self_similarity(x[:SIMILARITY_SUBSET])
        prints = fingerprints(x)
        out["distinct_sentences"] = len(np.unique(prints)) / len(x) if len(x) else float("nan")
        out["copy_rate"] = float(np.isin(prints, self._real_prints).mean()) if len(x) else float("nan")
        out["mean_length"] = float(sentence_lengths(x).mean()) if len(x) else float("nan")
        out["unigram_kl"] = kl_divergence(self._ref_counts, self.histogram(x))
        out["perplexity"] = self._perplexity(model)
        return out

    def _self_similarity(self, x: np.ndarray) -> float:
        """Mean pairwise Jaccard similarity of boundary-marked bigram sets."""
        k = len(x)
        if k < 2:
            return float("nan")
        targets, hist, rows = _events(x, 2, self.V)
        keys = hist[:, 0] * (self.V + 2) + targets
        uniq, col = np.unique(keys, return_inverse=True)
        from scipy import sparse  # imported here: scipy's import costs every command's start-up

        m = sparse.csr_matrix((np.ones(len(keys)), (rows, col.ravel())), shape=(k, len(uniq)))
        m.sum_duplicates()
        m.data[:] = 1.0
        inter = (m @ m.T).toarray()
        size = np.diag(inter)
        union = size[:, None] + size[None, :] - inter
        iu = np.triu_indices(k, 1)
        return float(np.mean(inter[iu] / union[iu]))

    def _perplexity(self, model: Model) -> float:
        if self.heldout is None or not len(self.heldout):
            return float("nan")
        try:
            lp = sentence_logprob(model, self.heldout)
        except NotImplementedError:
            return float("nan")
        events = float(np.sum(sentence_lengths(self.heldout) + 1))
        return float(np.exp(-np.sum(lp) / events))

    # ---- mitigations -----------------------------------------------------------------------------------------
    def verify(self, samples: np.ndarray, verifier: str, threshold: float, rng: np.random.Generator,
               model: Model | None) -> np.ndarray:
        """Boolean mask of accepted sentences.

        - dedup: keeps the first occurrence of each distinct sentence in the batch and drops sentences that occur
          verbatim in the training set of the model that generated them (memorised copies); when that model had
          more than FINGERPRINT_CAP distinct training sentences only in-batch duplicates are dropped.
        - repetition: drops sentences whose share of repeated bigrams (see the repetition metric) exceeds the
          threshold.
        - likelihood: keeps sentences whose mean log-probability per token, under an n-gram model of the same
          order trained on the whole training part of the corpus, is at least the threshold quantile of held-out
          real sentences' (so a `threshold` share of real sentences would be rejected).
        """
        if verifier not in self.verifiers:
            raise ParamError(f"scenario {self.name} has no verifier {verifier!r} (has: {', '.join(self.verifiers)})")
        x = np.asarray(samples).reshape(len(samples), -1)
        if verifier == "dedup":
            keep = np.zeros(len(x), dtype=bool)
            if len(x):
                keep[np.unique(x, axis=0, return_index=True)[1]] = True
            seen = getattr(model, "fingerprints", None)
            if seen is not None and len(seen):
                keep &= ~np.isin(fingerprints(x), seen)
            return keep
        if verifier == "repetition":
            share, _ = repeated_share(x, self.V)
            return share <= threshold
        return super().verify(x, verifier, threshold, rng, model)

    def _verifier_model(self) -> Model:
        cached = self.__dict__.get("_verifier")
        if cached is None:
            cached = self.__dict__["_verifier"] = self._train(self.corpus.train, plain=True)
        return cached


def sentence_logprob(model: Model, x: np.ndarray) -> np.ndarray:
    """Total log probability of each sentence under an n-gram model or a pooled (multi-source) mixture of them."""
    if isinstance(model, NgramModel):
        return model.sentence_logprob(x)
    parts = getattr(model, "models", None)
    if parts is None:
        raise NotImplementedError
    comps = [np.log(s) + sentence_logprob(m, x) for s, m in zip(model.shares, parts) if s > 0]  # type: ignore[attr-defined]
    return logsumexp(np.stack(comps), axis=0)
