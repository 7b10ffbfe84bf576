"""The numpy accumulation kernel that ``sim.accumulate.chunked_lanes`` used before the
compiled kernel of ``sim.kernel``, kept as a test reference: it takes every rounding step
through the golden ``arith.add`` / ``arith.fma`` (checked against exact Fractions and
SoftFloat in the golden tests), all streams of a step in one numpy call.  The exactness
tests of ``test_kernel.py`` compare the kernel with it on large corner-heavy inputs, where
the Python reference of ``test_accumulate.py`` would be too slow."""

from __future__ import annotations

import numpy as np

from fpforge.sim import arith
from fpforge.sim.formats import parse
from fpforge.sim.prng import draws


def reference_lanes(xs, in_fmt, acc_fmt, chunk: int = 0, rounding: str = "rne",
                    saturate: bool = False, *, lengths=None, products: bool = False,
                    a_fmt=None, b_fmt=None, seeds=None, fold_seeds=None,
                    rand_bits: int = 16, taps=None, one_stream: bool = False) -> np.ndarray:
    """``sim.accumulate.chunked_lanes`` as it was before the compiled kernel (the same
    contract): every step a numpy call of the golden ``arith.fma`` / ``arith.add`` over
    all live streams.  ``one_stream``: ``sr`` folds draw from the lane's ``seeds`` stream
    in turn with its inputs, right after a chunk's last input, as an array's PE does
    (``fold_seeds`` unused).  Arguments are not checked (tests give valid ones)."""
    acc_fmt = parse(acc_fmt)
    if products:
        a_fmt, b_fmt = parse(a_fmt), parse(b_fmt)
        a, b = (np.asarray(v, dtype=np.uint64) for v in xs)
        n_lanes, total = a.shape
    else:
        in_fmt = parse(in_fmt)
        x = np.asarray(xs, dtype=np.uint64)
        n_lanes, total = x.shape
    lengths = np.array([total] if lengths is None else lengths, dtype=np.int64)
    tap_steps = frozenset(taps or ())

    # Streams side by side: column j of step k is input k of stream j.  With chunking,
    # stream j folds at step k when a chunk or the stream ends there; the folds are
    # numbered in hardware order (stream by stream, by the input that ends the chunk), so
    # that fold is number fold_base[j] + k // chunk.
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    n_streams, steps = lengths.size, int(lengths.max())
    n_folds = -(-lengths // chunk) if chunk else np.zeros_like(lengths)
    fold_base = np.concatenate([[0], np.cumsum(n_folds)[:-1]])
    inner_rand = outer_rand = None
    # draw index of input k of stream j, and of the fold after it (one_stream)
    shared_base = starts + fold_base
    if rounding == "sr" and one_stream:
        inner_rand = outer_rand = np.stack([draws(s, total + int(n_folds.sum()), rand_bits)
                                            for s in seeds])
    elif rounding == "sr":
        if seeds is None or fold_seeds is None or len(seeds) != n_lanes \
                or len(fold_seeds) != n_lanes:
            raise ValueError("sr needs one seed and one fold seed per lane")
        inner_rand = np.stack([draws(s, total, rand_bits) for s in seeds])
        outer_rand = np.stack([draws(s, max(int(n_folds.sum()), 1), rand_bits)
                               for s in fold_seeds])

    inner = np.zeros((n_lanes, n_streams), dtype=np.uint64)
    outer = np.zeros((n_lanes, n_streams), dtype=np.uint64)
    tapped = []
    for k in range(steps):
        live = np.flatnonzero(lengths > k)
        pos = starts[live] + k
        folds_before = k // chunk if chunk else 0
        index = shared_base[live] + k + folds_before if one_stream else pos
        rand = None if inner_rand is None else inner_rand[:, index]
        if products:
            inner[:, live] = arith.fma(a[:, pos], b[:, pos], inner[:, live], a_fmt, b_fmt,
                                       acc_fmt, acc_fmt, rounding, saturate, rand=rand,
                                       rand_bits=rand_bits)
        else:
            inner[:, live] = arith.add(x[:, pos], inner[:, live], in_fmt, acc_fmt, acc_fmt,
                                       rounding, saturate, rand=rand, rand_bits=rand_bits)
        folding = (live if (k + 1) % chunk == 0 else np.flatnonzero(lengths == k + 1)) \
            if chunk else ()
        if len(folding):
            index = (shared_base[folding] + k + 1 + folds_before if one_stream
                     else fold_base[folding] + k // chunk)
            rand = None if outer_rand is None else outer_rand[:, index]
            outer[:, folding] = arith.add(inner[:, folding], outer[:, folding], acc_fmt,
                                          acc_fmt, acc_fmt, rounding, saturate, rand=rand,
                                          rand_bits=rand_bits)
            inner[:, folding] = 0
        if k + 1 in tap_steps:
            tapped.append((inner if chunk == 0 else outer).copy())
    if taps is not None:
        return np.stack(tapped, axis=-1).astype(acc_fmt.dtype)
    return (inner if chunk == 0 else outer).astype(acc_fmt.dtype)
