"""Deterministic random streams: one SeedSequence per run, one jumped PCG64 stream per (generation, purpose).

Every random draw in a run comes from ``stream(seed, replicate, generation, purpose[, sub])``. The run's
``SeedSequence(seed, spawn_key=(replicate,))`` seeds one PCG64; the stream of a slot is that PCG64 jumped
``k`` times, k a one-to-one code of (generation, purpose, sub): numpy's ``PCG64.jumped(k)``, which moves the
state as if k x ~0.618 x 2^128 draws had been made, so slots sit far apart on the 2^128 period and none runs
into another. Because the key is the generation itself (not a running counter), generation k can be
recomputed on its own, and a run resumed at generation k is bit-identical to the run done straight through.

A SeedSequence per slot would hash afresh for every generation (16 us against 2.4 us here), a tenth of a
generation's whole budget at 10^4 samples; the run's words are hashed once and a slot is a jump.
"""

from __future__ import annotations

import functools
from enum import IntEnum

import numpy as np
from numpy.random.bit_generator import ISeedSequence

# numpy's PCG64.jumped step (the golden ratio times 2^128, made odd): jumped(k) is advance(k * _JUMP mod 2^128).
_JUMP = 0x9E3779B97F4A7C15F39CC0605CEDC835
_PERIOD_MASK = (1 << 128) - 1
_PURPOSE_BITS = 3
_SUB_BITS = 16


class Purpose(IntEnum):
    """What a stream is used for; each gets its own independent stream inside a generation."""

    SAMPLE = 0  # drawing the generation's samples from its model
    FIT = 1  # randomness inside fitting (mixture initialisation, bootstraps)
    POLICY = 2  # building the training set (subsampling, fresh real data)
    HELDOUT = 3  # held-out real data for NLL / perplexity (generation 0 only)
    RESERVOIR = 4  # choosing the stored reservoir when a generation is over the samples budget
    SETUP = 5  # scenario set-up: fixed designs, vocabularies, real-data splits (generation 0 only)
    SOURCE = 6  # multi-source: per-source bootstrap of the training set


def slot_index(generation: int, purpose: Purpose, sub: int = 0) -> int:
    """The jump count k >= 1 of one (generation, purpose, sub) slot; distinct slots get distinct k."""
    if generation < 0 or not 0 <= sub < 1 << _SUB_BITS or not 0 <= purpose < 1 << _PURPOSE_BITS:
        raise ValueError(f"no random stream for generation {generation}, purpose {purpose}, sub {sub}")
    return 1 + (((int(generation) << _PURPOSE_BITS | int(purpose)) << _SUB_BITS) | int(sub))


@functools.lru_cache(maxsize=256)
def _run_words(seed: int, replicate: int) -> np.ndarray:
    """The four 64-bit words (state, increment) of a run's PCG64, from its SeedSequence."""
    words = np.random.SeedSequence(entropy=seed, spawn_key=(replicate,)).generate_state(4, np.uint64)
    words.flags.writeable = False
    return words


class _Words(ISeedSequence):
    """Hands PCG64 words already drawn from the run's SeedSequence, so it does not hash them again."""

    __slots__ = ("words",)

    def __init__(self, words: np.ndarray) -> None:
        self.words = words

    def generate_state(self, n_words: int, dtype: type = np.uint32) -> np.ndarray:
        if n_words != 4 or np.dtype(dtype) != np.uint64:
            raise ValueError("only PCG64's four 64-bit words are stored")
        return self.words.copy()


def stream(seed: int, replicate: int, generation: int, purpose: Purpose, sub: int = 0) -> np.random.Generator:
    """The random generator for one (replicate, generation, purpose[, sub]) slot of a run.

    The generator is created on first use, so a slot that a step never draws from costs nothing.
    """
    k = slot_index(generation, purpose, sub)
    return _LazyGenerator(int(seed), int(replicate), k)  # type: ignore[return-value]


def _generator(seed: int, replicate: int, k: int) -> np.random.Generator:
    bits = np.random.PCG64(_Words(_run_words(seed, replicate)))
    bits.advance((k * _JUMP) & _PERIOD_MASK)
    return np.random.Generator(bits)


class _LazyGenerator:
    """Stands in for a numpy Generator and builds it on the first attribute access."""

    __slots__ = ("_seed", "_replicate", "_k", "_gen")

    def __init__(self, seed: int, replicate: int, k: int) -> None:
        self._seed, self._replicate, self._k, self._gen = seed, replicate, k, None

    def __getattr__(self, name: str) -> object:
        gen = self._gen
        if gen is None:
            gen = self._gen = _generator(self._seed, self._replicate, self._k)
        return getattr(gen, name)
