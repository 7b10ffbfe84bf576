"""Golden model of the stochastic-rounding PRNG: xorshift32 (Marsaglia, "Xorshift RNGs", 2003).

One step is ``x ^= x << 13; x ^= x >> 17; x ^= x << 5`` (mod 2**32).  A rounding event that
consumes randomness takes one step and uses the top ``bits`` bits of the *new* state, so
draw ``k`` of the stream from ``seed`` is the top ``bits`` bits of the state after ``k + 1``
steps.  Seed 0 is invalid (the all-zero state is a fixed point).  Unit instance ``i`` of a
design seeded with ``s`` uses :func:`instance_seed` ``(s, i)``.

The step is linear over GF(2), so :func:`draws` runs many interleaved sub-streams at once,
each started at its offset with a precomputed jump matrix; the result is bit-exact.
Mirrors ``rtl/prng.py``.
"""

from __future__ import annotations

import math

import numpy as np

from fpforge.spec.checks import check_count, check_rand_bits, check_seed, is_int

__all__ = ["SEED_STRIDE", "check_seed", "check_rand_bits", "instance_seed", "instance_seeds",
           "xorshift32", "draws", "Xorshift32Stream"]

SEED_STRIDE = 0x9E3779B9
"""Seed increment between consecutive unit instances (2**32 / golden ratio)."""

_MASK = 0xFFFFFFFF
_SMALL = 64  # below this many states a plain Python loop is faster than numpy


def instance_seed(seed: int, index: int = 0) -> int:
    """Seed of the unit instance at flat ``index`` in a design seeded with ``seed``.

    ``(seed + index * SEED_STRIDE) mod 2**32``, or 1 if that is 0.

    Parameters
    ----------
    seed : int
        Design seed, ``1..2**32-1``.
    index : int
        Flat instance index, ``>= 0``.
    """
    seed = check_seed(seed)
    index = check_count(index, "instance index")
    return ((seed + index * SEED_STRIDE) & _MASK) or 1


def instance_seeds(seed: int, index) -> np.ndarray:
    """:func:`instance_seed` for an integer array of instance indices (uint64 seeds)."""
    seed = check_seed(seed)
    index = np.asarray(index)
    if not np.issubdtype(index.dtype, np.integer) or (index.size and index.min() < 0):
        raise ValueError("instance indices must be integers >= 0")
    out = (np.uint64(seed) + index.astype(np.uint64) * np.uint64(SEED_STRIDE)) \
        & np.uint64(_MASK)
    return np.where(out == 0, np.uint64(1), out)


def _step_int(x: int) -> int:
    x ^= (x << 13) & _MASK
    x ^= x >> 17
    x ^= (x << 5) & _MASK
    return x


def xorshift32(state):
    """One xorshift32 step.

    Parameters
    ----------
    state : int, numpy unsigned integer scalar, or numpy uint32/uint64 array
        State(s), each in ``0..2**32-1``.

    Returns
    -------
    The next state(s), of the same kind (Python int, numpy scalar type, or array dtype).
    """
    if is_int(state):
        value = int(state)
        if not 0 <= value <= _MASK:
            raise ValueError(f"xorshift32 state must be in 0..2**32-1, not {state!r}")
        nxt = _step_int(value)
        return nxt if isinstance(state, int) else type(state)(nxt)
    x = np.asarray(state)
    if x.dtype not in (np.uint32, np.uint64):
        raise TypeError(f"xorshift32 state array must be uint32 or uint64, not {x.dtype}")
    mask = x.dtype.type(_MASK)
    if x.dtype == np.uint64 and x.size and int(x.max()) > _MASK:
        raise ValueError("xorshift32 states must be in 0..2**32-1")
    x = x ^ ((x << 13) & mask)
    x ^= x >> 17
    x ^= (x << 5) & mask
    return x


# --- GF(2) jump-ahead: a linear map on 32-bit states is the tuple of images of 1 << k.

def _apply(cols: tuple[int, ...], x: int) -> int:
    out = 0
    k = 0
    while x:
        if x & 1:
            out ^= cols[k]
        x >>= 1
        k += 1
    return out


def _compose(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """The map ``a(b(x))``."""
    return tuple(_apply(a, c) for c in b)


_STEP = tuple(_step_int(1 << k) for k in range(32))
_IDENTITY = tuple(1 << k for k in range(32))


def _jump(steps: int) -> tuple[int, ...]:
    """The map of ``steps`` xorshift32 steps (``M**steps`` by repeated squaring)."""
    result, power = _IDENTITY, _STEP
    while steps:
        if steps & 1:
            result = _compose(power, result)
        steps >>= 1
        if steps:
            power = _compose(power, power)
    return result


def _apply_array(cols: tuple[int, ...], x: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x)
    for k, col in enumerate(cols):
        if col:
            out ^= ((x >> np.uint32(k)) & np.uint32(1)) * np.uint32(col)
    return out


def _states(state: int, n: int) -> np.ndarray:
    """The ``n`` states after 1..n steps from ``state`` (uint32)."""
    if n < _SMALL:
        out = np.empty(n, dtype=np.uint32)
        for k in range(n):
            state = _step_int(state)
            out[k] = state
        return out
    # `lanes` sub-streams of `block` steps each; lane j starts j * block steps in.
    lanes = max(1, min(n // 16, math.isqrt(n) * 2))
    block = -(-n // lanes)
    starts = np.array([state], dtype=np.uint32)
    jump = _jump(block)
    while len(starts) < lanes:
        starts = np.concatenate([starts, _apply_array(jump, starts)])
        if len(starts) < lanes:
            jump = _compose(jump, jump)
    x = starts[:lanes]
    grid = np.empty((block, lanes), dtype=np.uint32)
    for k in range(block):
        x = x ^ (x << np.uint32(13))
        x ^= x >> np.uint32(17)
        x ^= x << np.uint32(5)
        grid[k] = x
    return np.ascontiguousarray(grid.T).reshape(-1)[:n]


def draws(seed: int, n: int, bits: int = 16) -> np.ndarray:
    """The first ``n`` draws of the stream from ``seed``.

    Parameters
    ----------
    seed : int
        Stream seed, ``1..2**32-1`` (use :func:`instance_seed` for a unit instance).
    n : int
        Number of draws, ``>= 0``.
    bits : int
        Random bits per draw, ``1..32``.

    Returns
    -------
    numpy.ndarray of uint32, shape ``(n,)``
        Draw ``k`` is the top ``bits`` bits of the state after ``k + 1`` steps.
    """
    seed = check_seed(seed)
    n = check_count(n, "number of draws")
    bits = check_rand_bits(bits)
    return _states(seed, n) >> np.uint32(32 - bits)


class Xorshift32Stream:
    """A stream of draws consumed incrementally (for golden models).

    Consecutive :meth:`take` calls continue the same stream: taking ``a`` then ``b`` draws
    gives ``draws(seed, a + b, bits)`` split at ``a``.

    Parameters
    ----------
    seed : int
        Stream seed, ``1..2**32-1``.
    bits : int
        Random bits per draw, ``1..32``.
    """

    def __init__(self, seed: int, bits: int = 16):
        self.seed = check_seed(seed)
        self.bits = check_rand_bits(bits)
        self._state = self.seed
        self.taken = 0

    @property
    def state(self) -> int:
        """The current 32-bit state: the seed before any draw, else the state whose top
        bits were the last draw."""
        return self._state

    def take(self, n: int) -> np.ndarray:
        """The next ``n`` draws (uint32 array); advances the state ``n`` steps."""
        n = check_count(n, "number of draws")
        states = _states(self._state, n)
        if n:
            self._state = int(states[-1])
            self.taken += n
        return states >> np.uint32(32 - self.bits)

    def __repr__(self) -> str:
        return (f"Xorshift32Stream(seed={self.seed:#x}, bits={self.bits}, "
                f"taken={self.taken}, state={self._state:#x})")
