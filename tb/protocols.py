"""The cycle protocols of the units, one place each, shared by the stimulus generators and
the golden adapters of ``gen.units``:

- every unit: an input cycle counts when ``valid`` is 1 (all count when there is no
  ``valid``); an idle cycle is inserted by :func:`idle_valid`;
- per_input units (mul, add, mac, axpy): one result per counted cycle; an ``sr`` unit with
  its own PRNG rounds the k-th counted operation with draw k (:func:`per_input_draws`);
- per_stream units (acc): a stream ends on a counted cycle with ``in_last``
  (:func:`stream_lengths`);
- per_tile units (array): a tile is the counted beats up to one with ``in_last``
  (:func:`tile_bounds`).
"""

from __future__ import annotations

import numpy as np

from fpforge.sim.prng import draws

__all__ = ["valid_mask", "idle_valid", "per_input_draws", "stream_lengths", "tile_bounds"]


def valid_mask(inputs: dict) -> np.ndarray:
    """Which input cycles count: ``inputs["valid"]`` as bool, or all of them."""
    n = len(next(iter(inputs.values())))
    return np.asarray(inputs.get("valid", np.ones(n)), dtype=bool)


def idle_valid(gap: np.ndarray) -> np.ndarray:
    """``valid`` (uint64) of a stream of ``gap.size`` vectors with an idle cycle inserted
    before every vector whose ``gap`` is set; the vectors go where it is 1."""
    gap = np.asarray(gap, dtype=bool)
    idle = int(gap.sum())
    valid = np.ones(gap.size + idle, dtype=np.uint64)
    valid[np.flatnonzero(gap) + np.arange(idle)] = 0
    return valid


def per_input_draws(seed: int, rand_bits: int, valid: np.ndarray) -> np.ndarray:
    """The ``sr`` draw of every cycle of a unit that steps its PRNG once per counted
    operation: cycle i gets the draw of the operations counted before it (an idle cycle
    sees the next operation's draw, which it does not use)."""
    valid = np.asarray(valid, dtype=bool)
    stream = draws(seed, int(valid.sum()) + 1, rand_bits)
    return stream[np.cumsum(valid) - valid]


def _last(inputs: dict, valid: np.ndarray) -> np.ndarray:
    """Positions, among the counted cycles, of those with ``in_last``."""
    return np.flatnonzero(np.asarray(inputs["in_last"], dtype=bool)[valid])


def stream_lengths(inputs: dict, valid: np.ndarray) -> np.ndarray:
    """Lengths of the streams in the counted cycles, in order."""
    return np.diff(np.concatenate([[-1], _last(inputs, valid)]))


def tile_bounds(inputs: dict, valid: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of every tile among the counted beats, in order."""
    ends = _last(inputs, valid) + 1
    return list(zip(np.concatenate([[0], ends[:-1]]).tolist(), ends.tolist()))
