"""The text scenario: an n-gram model refitted on its own sentences, through the real engine.

Trends are tested over seeds with tolerances of 4 standard errors (of a paired difference, or of the difference
of two independent means); the model's sampler is tested against its own exact distributions.
"""

from pathlib import Path

import numpy as np
import pytest

from core.engine import RunSpec, Simulation
from core.policies import POLICIES
from core.runner import create_runs, drive
from core.scenarios import scenario_class
from core.scenarios.categorical import apply_sampling
from core.scenarios.text import (
    NgramModel,
    NgramSummary,
    TextScenario,
    corpus_sentences,
    fingerprints,
    load_corpus,
    repeated_share,
    tokenize,
)
from core.store import Project
from tests.simulate import simulate

N, M, R = 10, 200, 10
CORPUS = load_corpus(2, 30)
V = len(CORPUS.vocab)
EOS, BOS = V, V + 1


def _diff_se(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean of a - b and its standard error for independent samples."""
    return float(a.mean() - b.mean()), float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))


@pytest.fixture(scope="module")
def replace() -> dict[str, np.ndarray]:
    return simulate("text", "replace", {}, N, M, R, seed=31)


@pytest.fixture(scope="module")
def mix() -> dict[str, np.ndarray]:
    return simulate("text", "mix", {"alpha": 0.5}, N, M, R, seed=32)


@pytest.fixture(scope="module")
def dedup() -> dict[str, np.ndarray]:
    return simulate("text", "filter", {"verifier": "dedup"}, N, M, R, seed=33)


def test_replace_loses_lexical_diversity_generation_after_generation(replace: dict[str, np.ndarray]) -> None:
    for metric in ("distinct_2", "vocab_used", "distinct_1"):
        v = replace[metric]
        assert np.all(v[:, N] < v[:, 1]), metric  # every seed
        means = v.mean(axis=0)
        assert np.all(np.diff(means) < 0), f"{metric} means not falling: {means}"
        d = v[:, 1] - v[:, N]
        assert d.mean() > 4 * d.std(ddof=1) / np.sqrt(R), metric


def test_replace_raises_held_out_perplexity(replace: dict[str, np.ndarray]) -> None:
    ppl = replace["perplexity"]
    assert np.all(np.isnan(ppl[:, 0]))  # generation 0's model is the corpus itself
    assert np.all(np.isfinite(ppl[:, 1:]))
    d = np.log(ppl[:, N]) - np.log(ppl[:, 1])
    assert d.mean() > 4 * d.std(ddof=1) / np.sqrt(R)
    assert np.all(np.diff(np.log(ppl[:, 1:]).mean(axis=0)) > 0)


def test_mixing_real_data_stops_the_decline(replace: dict[str, np.ndarray], mix: dict[str, np.ndarray]) -> None:
    for metric in ("distinct_2", "vocab_used"):
        diff, se = _diff_se(mix[metric][:, N], replace[metric][:, N])
        assert diff > 4 * se, metric
        # with fresh real data the loop settles: no further fall between generation 3 and N
        d = mix[metric][:, N] - mix[metric][:, 3]
        assert d.mean() > -4 * d.std(ddof=1) / np.sqrt(R), metric
    diff, se = _diff_se(np.log(replace["perplexity"][:, N]), np.log(mix["perplexity"][:, N]))
    assert diff > 4 * se


def test_dedup_filter_records_acceptance_and_keeps_sentences_and_words(replace: dict[str, np.ndarray],
                                                                       dedup: dict[str, np.ndarray]) -> None:
    acc = dedup["acceptance"]
    assert np.all(acc[:, 1] == 1.0)  # generation 1 trains on real data unfiltered
    assert np.all((acc[:, 2:] > 0) & (acc[:, 2:] < 1))
    assert np.all(dedup["train_size"][:, 2:] < M)
    for metric in ("distinct_sentences", "vocab_used"):
        diff, se = _diff_se(dedup[metric][:, N], replace[metric][:, N])
        assert diff > 4 * se, metric


def test_repetition_filter_keeps_loops_out(replace: dict[str, np.ndarray]) -> None:
    rep = simulate("text", "filter", {"verifier": "repetition"}, N, M, R, seed=34)
    assert np.all(rep["acceptance"][:, 2:].mean(axis=1) < 1.0)
    diff, se = _diff_se(replace["repetition"][:, N], rep["repetition"][:, N])
    assert diff > 4 * se
    # the acceptance is exactly the share of the previous generation's sentences within the threshold
    spec = RunSpec.build("text", "filter", {"verifier": "repetition", "threshold": 0.0}, 4, M, 2)
    recs = list(Simulation(spec).run())
    for g in (2, 3, 4):
        share, _ = repeated_share(recs[g - 1].samples, V)
        assert recs[g].metrics["acceptance"] == pytest.approx(np.mean(share <= 0.0))
        assert recs[g].metrics["train_size"] == np.sum(share <= 0.0)


def test_same_seed_same_samples_other_seed_differs() -> None:
    def run(seed: int) -> list[np.ndarray]:
        spec = RunSpec.build("text", "replace", {"order": 2, "temperature": 0.9, "top_p": 0.95}, 3, 50, seed)
        return [rec.samples for rec in Simulation(spec).run()]

    a, b, c = run(8), run(8), run(9)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert a[0].dtype == np.int32 and a[0].shape == (50, 30)
    assert not np.array_equal(a[2], c[2])


@pytest.mark.parametrize(("policy", "settings"), [("replace", {}), ("filter", {"verifier": "dedup"}),
                                                  ("mix", {"alpha": 0.3, "top_k": 20})])
def test_resumed_run_equals_straight_run(tmp_path: Path, policy: str, settings: dict) -> None:
    spec = RunSpec.build("text", policy, settings, 6, 60, 5)
    dumps = []
    for name, stop in (("a", None), ("b", 3)):
        with Project(tmp_path / f"{name}.collapse", create=True) as p:
            (rid,) = create_runs(p, spec, samples_budget=10)  # not regenerable: all samples are stored anyway
            it = drive(p, rid, group_seconds=0)
            for rec in it:
                if rec.generation == stop:
                    break
            it.close()
        with Project(tmp_path / f"{name}.collapse") as p:
            for _ in drive(p, rid):
                pass
            info = p.run(rid)
            assert info.status == "finished"
            dumps.append([(p.samples(info, g).tobytes(), p.generation_row(rid, g)["model"]) for g in range(7)])
            assert len(p.samples(info, 4)) == 60
    assert dumps[0] == dumps[1]


def _histories(model: NgramModel, train: np.ndarray, rng: np.random.Generator, k: int) -> np.ndarray:
    """Histories seen in training (so higher orders matter) and random ones."""
    o = model.order - 1
    out = np.full((k, o), BOS, dtype=np.int64)
    if o == 0:
        return out
    for i in range(k):
        row = train[rng.integers(len(train))]
        length = int((row >= 0).sum())
        j = int(rng.integers(0, length + 1))
        seq = [BOS] * o + list(row[:j])
        out[i] = seq[-o:] if i % 4 else rng.integers(0, V + 2, o)
    return out


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_model_distribution_is_the_interpolated_formula(order: int) -> None:
    rng = np.random.default_rng(order)
    train = CORPUS.train[rng.choice(len(CORPUS.train), 200, replace=False)]
    model = NgramModel(train, V, order, 0.3, 30)
    hist = _histories(model, train, rng, 30)
    dist = model.distributions(hist)
    assert np.allclose(dist.sum(axis=1), 1.0) and np.all(dist > 0)
    # sentence log-probabilities are sums of these conditionals
    sent = train[:5]
    lp = model.sentence_logprob(sent)
    for s, total in zip(sent, lp):
        toks = [int(t) for t in s if t >= 0] + [EOS]
        hist_tokens = [BOS] * (order - 1) + toks
        expect = sum(np.log(model.distributions(np.array([hist_tokens[i: i + order - 1]]))[0, t])
                     for i, t in enumerate(toks))
        assert total == pytest.approx(expect, rel=1e-10)


def test_unigram_model_by_hand() -> None:
    # vocabulary of 3 tokens; sentences [0 1] and [1]: events 0, 1, EOS, 1, EOS -> N = 5, 3 types
    train = np.array([[0, 1, -1], [1, -1, -1]], dtype=np.int32)
    d = 0.5
    m = NgramModel(train, 3, 1, d, 3)
    floor = d * 3 / 5 / 4
    expect = np.array([(1 - d) / 5, (2 - d) / 5, 0.0, (2 - d) / 5]) + floor
    assert np.allclose(m.distributions(np.zeros((1, 0), dtype=np.int64))[0], expect)
    assert m.sentence_logprob(np.array([[2, -1, -1]]))[0] == pytest.approx(np.log(expect[2]) + np.log(expect[3]))


@pytest.mark.parametrize(("temperature", "top_k", "top_p"), [(1.0, 0, 1.0), (0.6, 0, 1.0), (1.4, 0, 1.0),
                                                              (1.0, 7, 1.0), (1.0, 0, 0.8), (0.8, 30, 0.9),
                                                              (1.2, 0, 0.999)])
def test_sampler_draws_from_the_sampling_distribution(temperature: float, top_k: int, top_p: float) -> None:
    rng = np.random.default_rng(3)
    train = CORPUS.train[rng.choice(len(CORPUS.train), 300, replace=False)]
    model = NgramModel(train, V, 3, 0.4, 30, temperature, top_k, top_p)
    hist = _histories(model, train, rng, 4)
    exact = model.sampling_distributions(hist)
    # the structured sampler's distribution equals the dense transform of the model's distribution
    assert np.allclose(exact, apply_sampling(model.distributions(hist), temperature, top_k, top_p), atol=1e-12)
    reps = 20_000
    step = model._next_plain if model.plain else model._next_transformed
    tokens = step(np.repeat(hist, reps, axis=0), np.random.default_rng(4)).reshape(len(hist), reps)
    for i in range(len(hist)):
        freq = np.bincount(tokens[i], minlength=V + 1) / reps
        se = np.sqrt(exact[i] * (1 - exact[i]) / reps)
        top = np.argsort(-exact[i])[:5]
        assert np.all(np.abs(freq[top] - exact[i, top]) <= 4 * se[top] + 1e-12), i
        assert np.all(freq[exact[i] == 0] == 0)


def test_tempered_sampler_exact_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("core.scenarios.text.REJECTION_ROUNDS", 0)  # every off-entry draw takes the dense path
    rng = np.random.default_rng(8)
    train = CORPUS.train[rng.choice(len(CORPUS.train), 300, replace=False)]
    model = NgramModel(train, V, 2, 0.6, 30, 1.5)
    hist = _histories(model, train, rng, 3)
    exact = model.sampling_distributions(hist)
    reps = 20_000
    tokens = model._next_transformed(np.repeat(hist, reps, axis=0), np.random.default_rng(9)).reshape(3, reps)
    for i in range(3):
        freq = np.bincount(tokens[i], minlength=V + 1) / reps
        top = np.argsort(-exact[i])[:5]
        se = np.sqrt(exact[i, top] * (1 - exact[i, top]) / reps)
        assert np.all(np.abs(freq[top] - exact[i, top]) <= 4 * se), i


def test_verifiers() -> None:
    scen = TextScenario(RunSpec.build("text", "filter", {"verifier": "dedup"}, 2, 10, 1).scenario_params, 1, 0, 10)
    a = np.array([[3, 4, 5, -1], [3, 4, 5, -1], [6, 7, -1, -1], [8, 9, 8, 9]], dtype=np.int32)
    a = np.pad(a, ((0, 0), (0, 26)), constant_values=-1)
    model = NgramModel(a[2:3], V, 2, 0.3, 30)  # trained on sentence [6 7]
    keep = scen.verify(a, "dedup", 0.05, np.random.default_rng(0), model)
    assert keep.tolist() == [True, False, False, True]  # second is a duplicate, third a training copy
    summary = NgramSummary(model.to_params())  # what a resumed run rebuilds: same answer
    assert scen.verify(a, "dedup", 0.05, np.random.default_rng(0), summary).tolist() == keep.tolist()
    share, bigrams = repeated_share(a, V)
    assert share.tolist() == [0.0, 0.0, 0.0, pytest.approx(1 / 3)] and bigrams.tolist() == [2, 2, 1, 3]
    assert scen.verify(a, "repetition", 0.3, np.random.default_rng(0), model).tolist() == [True] * 3 + [False]
    # likelihood: a `threshold` share of held-out real sentences is rejected
    scen.set_reference(CORPUS.train[:50], CORPUS.heldout)
    ok = scen.verify(CORPUS.heldout, "likelihood", 0.2, np.random.default_rng(0), model)
    assert abs(ok.mean() - 0.8) <= 1 / len(ok) + 1e-12


def test_degenerate_training_data_does_not_crash() -> None:
    params = RunSpec.build("text", "replace", {"order": 3}, 2, 20, 1).scenario_params
    scen = TextScenario(params, 1, 0, 20)
    scen.set_reference(CORPUS.train[:20], CORPUS.heldout)
    rng = np.random.default_rng(0)
    same = np.repeat(CORPUS.train[:1], 20, axis=0)
    empty = np.full((20, 30), -1, dtype=np.int32)
    for data, note in ((same, "identical"), (empty, "empty")):
        fit = scen.fit(data, rng)
        assert fit.note is not None and note in fit.note
        x = fit.model.sample(rng, 20)
        assert x.shape == (20, 30) and x.dtype == np.int32
        m = scen.metrics(x, fit.model, 1)
        assert np.isfinite(m["perplexity"]) and np.isfinite(m["unigram_kl"])
        assert m["distinct_sentences"] > 0
    m = scen.metrics(empty, scen.fit(empty, rng).model, 1)
    assert np.isnan(m["distinct_2"]) and m["vocab_used"] == 0 and m["mean_length"] == 0
    # a run trained on identical sentences keeps going and says so
    spec = RunSpec.build("text", "replace", {"order": 5, "discount": 0.01}, 40, 2, 3)
    recs = list(Simulation(spec).run())
    assert len(recs) == 41


def test_corpus_vocabulary_and_schema() -> None:
    sents = corpus_sentences()
    assert len(sents) > 8000 and tokenize("It's a built-in, isn't it?") == ["it's", "a", "built-in", ",", "isn't",
                                                                           "it", "?"]
    assert CORPUS.vocab[0] == "<unk>" and CORPUS.vocab[1] == "."
    assert load_corpus(2, 30) is CORPUS and load_corpus(2, 30).vocab == CORPUS.vocab
    assert len(CORPUS.train) > 6000 and len(CORPUS.heldout) > 700
    assert not np.isin(fingerprints(CORPUS.heldout), fingerprints(CORPUS.train)).any()
    cls = scenario_class("text")
    assert cls is TextScenario and cls.view == "text" and cls.dtype == np.int32 and not cls.regenerable
    policy_names = {p.name for pol in POLICIES.values() for p in pol.schema}
    assert not {p.name for p in cls.schema} & policy_names
