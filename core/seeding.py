"""Deterministic random streams: one SeedSequence per run, keyed by replicate, generation and purpose.

Every random draw in a run comes from ``stream(seed, replicate, generation, purpose)``. Because the key is
the generation itself (not a running counter), generation k can be recomputed on its own, so a run resumed
at generation k is bit-identical to the run done straight through.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Purpose(IntEnum):
    """What a stream is used for; each gets its own independent stream inside a generation."""

    SAMPLE = 0  # drawing the generation's samples from its model
    FIT = 1  # randomness inside fitting (mixture initialisation, bootstraps)
    POLICY = 2  # building the training set (subsampling, fresh real data)
    HELDOUT = 3  # held-out real data for NLL / perplexity (generation 0 only)
    RESERVOIR = 4  # choosing the stored reservoir when a generation is over the samples budget
    SETUP = 5  # scenario set-up: fixed designs, vocabularies, real-data splits (generation 0 only)
    SOURCE = 6  # multi-source: per-source bootstrap of the training set


def stream(seed: int, replicate: int, generation: int, purpose: Purpose, sub: int = 0) -> np.random.Generator:
    """The random generator for one (replicate, generation, purpose[, sub]) slot of a run.

    The generator is created on first use, so a slot that a step never draws from costs nothing.
    """
    key = (int(replicate), int(generation), int(purpose), int(sub))
    return _LazyGenerator(int(seed), key)  # type: ignore[return-value]


class _LazyGenerator:
    """Stands in for a numpy Generator and builds it on the first attribute access."""

    __slots__ = ("_seed", "_key", "_gen")

    def __init__(self, seed: int, key: tuple[int, ...]) -> None:
        self._seed, self._key, self._gen = seed, key, None

    def __getattr__(self, name: str) -> object:
        gen = self._gen
        if gen is None:
            ss = np.random.SeedSequence(entropy=self._seed, spawn_key=self._key)
            gen = self._gen = np.random.Generator(np.random.PCG64(ss))
        return getattr(gen, name)
