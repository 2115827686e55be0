"""Random streams: each slot is the run's PCG64 jumped k times, slots are distinct and independent."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.seeding import Purpose, slot_index, stream


def test_a_slot_is_the_runs_pcg64_jumped_by_its_index() -> None:
    for seed, rep, gen, purpose, sub in [(1, 0, 0, Purpose.SAMPLE, 0), (2**62 + 5, 7, 123_456, Purpose.SOURCE, 9)]:
        ours = stream(seed, rep, gen, purpose, sub).bit_generator.state
        run_bits = np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(rep,)))
        assert ours == run_bits.jumped(slot_index(gen, purpose, sub)).state


def test_slot_indices_are_distinct_and_positive() -> None:
    keys = list(itertools.product(range(300), list(Purpose), range(5)))
    ks = [slot_index(g, p, s) for g, p, s in keys]
    assert len(set(ks)) == len(keys)
    assert min(ks) >= 1  # k = 0 would be the run's own un-jumped stream


@pytest.mark.parametrize("args", [(-1, Purpose.SAMPLE, 0), (0, Purpose.SAMPLE, -1), (0, Purpose.SAMPLE, 1 << 16)])
def test_out_of_range_slots_are_refused(args: tuple[int, Purpose, int]) -> None:
    with pytest.raises(ValueError):
        slot_index(*args)


def test_same_slot_same_draws_other_slots_other_draws() -> None:
    a = stream(3, 1, 10, Purpose.SAMPLE).random(8)
    assert np.array_equal(a, stream(3, 1, 10, Purpose.SAMPLE).random(8))
    for other in [stream(3, 1, 11, Purpose.SAMPLE), stream(3, 1, 10, Purpose.FIT), stream(3, 2, 10, Purpose.SAMPLE),
                  stream(4, 1, 10, Purpose.SAMPLE), stream(3, 1, 10, Purpose.SAMPLE, 1)]:
        assert not np.array_equal(a, other.random(8))


def test_neighbouring_generations_draw_uncorrelated_values() -> None:
    """The correlation of the first draws of consecutive generations' streams is 0 within its standard error."""
    n = 4000
    first = np.array([stream(11, 0, g, Purpose.SAMPLE).standard_normal(2) for g in range(n + 1)])
    for lag_a, lag_b in [(0, 0), (0, 1), (1, 0)]:
        r = np.corrcoef(first[:-1, lag_a], first[1:, lag_b])[0, 1]
        assert abs(r) < 4.5 / np.sqrt(n)  # sd of r under independence is 1/sqrt(n); 4.5 sd is ~1e-5 two-sided
    # and within a generation, the purposes' streams are uncorrelated too
    by_purpose = np.array([[stream(11, 0, g, p).standard_normal() for p in Purpose] for g in range(n)])
    r = np.corrcoef(by_purpose.T)[np.triu_indices(len(Purpose), 1)]
    assert np.max(np.abs(r)) < 4.5 / np.sqrt(n)
