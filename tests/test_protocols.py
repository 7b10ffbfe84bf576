"""The cycle protocols (tb.protocols) on hand-worked cycles."""

import numpy as np

from fpforge.sim.prng import draws
from fpforge.tb.protocols import (idle_valid, per_input_draws, stream_lengths, tile_bounds,
                                  valid_mask)


def test_idle_cycles_go_before_the_marked_vectors():
    assert idle_valid(np.array([0, 1, 0, 1], dtype=bool)).tolist() == [1, 0, 1, 1, 0, 1]
    assert idle_valid(np.zeros(3, dtype=bool)).tolist() == [1, 1, 1]


def test_every_cycle_counts_without_valid():
    assert valid_mask({"a": np.zeros(3)}).tolist() == [True] * 3
    assert valid_mask({"a": np.zeros(3), "valid": np.array([1, 0, 1])}).tolist() == [
        True, False, True]


def test_an_idle_cycle_does_not_step_the_draws():
    d = draws(5, 4, 12)
    got = per_input_draws(5, 12, np.array([1, 0, 1, 1, 0, 0, 1], dtype=bool))
    assert got.tolist() == [d[0], d[1], d[1], d[2], d[3], d[3], d[3]]


def test_streams_and_tiles_end_on_counted_last_cycles():
    inputs = {"in_last": np.array([0, 1, 1, 0, 0, 1, 1]),
              "valid": np.array([1, 1, 0, 1, 1, 1, 1])}
    valid = valid_mask(inputs)  # the in_last of the idle cycle 2 does not count
    assert stream_lengths(inputs, valid).tolist() == [2, 3, 1]
    assert tile_bounds(inputs, valid) == [(0, 2), (2, 5), (5, 6)]
