"""Verification stimulus: the input vectors of a unit, the golden outputs beside them, the
idle cycles of clocked units, and the sample of them a gate-level run takes.

Vectors: every input combination when the inputs total at most ``EXHAUSTIVE_BITS`` bits (or
with ``exhaustive``), else corners + boundary-targeted + random ones.  Clocked units get the
first half back-to-back and the second half with random idle cycles (``in_valid`` low)
between vectors; every vector is still applied and checked once.  ``config`` is a unit
configuration (``fpforge.gen.units``): this module reads its ``test_inputs``,
``all_inputs``, ``expected``, ``latency`` and ``result``.
"""

from __future__ import annotations

import numpy as np

from fpforge.tb.protocols import idle_valid

__all__ = ["EXHAUSTIVE_BITS", "stimulus", "sample"]

#: inputs of at most this many bits in total are verified exhaustively by default
EXHAUSTIVE_BITS = 16


def stimulus(config, vectors: int | None, exhaustive: bool, seed: int,
             options: dict | None = None, idle: bool = True) -> dict:
    """Input arrays, the expected outputs (``y``, ``flags``) and (clocked units) the
    ``valid`` pattern.  ``options``: the unit's own stimulus options (``test_inputs``);
    ``idle=False``: no idle cycles inserted (a harness that drives every cycle)."""
    if exhaustive or (vectors is None and config.enumerable
                      and config.input_bits <= EXHAUSTIVE_BITS):
        data = config.all_inputs()
    else:
        data = config.test_inputs(vectors or config.default_vectors, seed, **(options or {}))
    if idle and config.latency and "valid" not in data:
        data = _with_bubbles(data, seed)
    data.update(config.expected(data))
    return data


def _with_bubbles(data: dict, seed: int) -> dict:
    """Every vector once, back-to-back in the first half; in the second half an idle
    cycle (``valid`` 0, the next vector's inputs held) before about a quarter of them."""
    n = len(next(iter(data.values())))
    bubble = np.zeros(n, dtype=bool)
    bubble[n // 2:] = np.random.default_rng(seed).random(n - n // 2) < 0.25
    rows = np.repeat(np.arange(n), 1 + bubble)
    return dict({k: v[rows] for k, v in data.items()}, valid=idle_valid(bubble))


def sample(data: dict, n: int, config) -> dict:
    """The first n/2 vectors (the corner-rich head) and n/2 spread over the rest; for
    per-stream and per-tile units, the whole streams (tiles) that end within the first n
    cycles."""
    if config.result in ("per_stream", "per_tile"):
        ends = np.flatnonzero((data["in_last"] == 1) & (data.get("valid", 1) == 1))
        keep = ends[ends < n]
        if keep.size == 0:
            keep = ends[:1]
        cut = int(keep[-1]) + 1
        results = keep.size * (config.rows if config.result == "per_tile" else 1)
        outputs = {"y", "flags"}
        return {k: (v[:results] if k in outputs else v[:cut]) for k, v in data.items()}
    total = len(data["y"])
    if total <= n:
        return data
    head = np.arange(n // 2)
    rest = np.linspace(n // 2, total - 1, n - n // 2).astype(np.int64)
    idx = np.concatenate([head, rest])
    return {k: v[idx] for k, v in data.items()}
