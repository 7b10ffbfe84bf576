"""Golden streaming accumulation: chunk-based accumulation and the AXPY weight update.

Mirrors ``rtl/accumulator.py`` operation by operation, so the codes here are the codes the
hardware produces.  Chunk-based accumulation (README, Numerical semantics): for every input
``inner := round(x + inner)``; after every ``chunk`` inputs of a stream, and after its last
input, ``outer := round(inner + outer)`` and ``inner := +0``; the stream's result is
``outer`` (``chunk=0``: one running sum, the result is ``inner``).  Both registers start at
+0, so (except in ``rdn``) a stream of -0 sums to +0.  With ``products`` the input is the
exact product a*b and the inner step is one fused multiply-add, round(a*b + inner).

``sr``: the inner roundings take their draws, in input order over all streams, from the
xorshift32 stream seeded ``seed`` (= ``instance_seed(seed, 0)``); the folds from
``fold_seed``, by default ``instance_seed(seed, 1)``.  ``chunked_lanes`` runs many such
accumulators side by side (the PEs of ``sim.gemm.systolic``).
"""

from __future__ import annotations

import numpy as np

from fpforge.sim import arith, kernel
from fpforge.sim.formats import parse
from fpforge.sim.prng import draws, instance_seed
from fpforge.spec.checks import (check_chunk, check_product_width, check_rand_bits,
                                 check_result_format, check_rounding, check_seed, check_sr_bits)

__all__ = ["chunked", "chunked_lanes", "axpy", "check_chunk", "check_taps"]


def chunked(xs, in_fmt, acc_fmt, chunk: int = 0, rounding: str = "rne",
            saturate: bool = False, *, lengths=None, products: bool = False, a_fmt=None,
            b_fmt=None, seed: int = 1, fold_seed: int | None = None,
            rand_bits: int = 16, taps=None) -> np.ndarray:
    """Sum streams of codes with chunk-based accumulation; one ``acc_fmt`` code per stream.

    ``xs``: the codes of ``in_fmt`` of all streams back to back, or with ``products`` a
    pair ``(a, b)`` of code arrays of ``a_fmt`` and ``b_fmt`` (``in_fmt`` is then unused
    and may be None).  ``lengths``: the stream lengths (each >= 1), default one stream.
    ``sr``: inner draws from the stream seeded ``seed``, folds from ``fold_seed`` (default
    ``instance_seed(seed, 1)``).  ``taps``: also the prefixes, as in :func:`chunked_lanes`
    (shape ``(streams, len(taps))``).
    """
    if products:
        xs = tuple(np.asarray(v, dtype=np.uint64).reshape(1, -1) for v in xs)
    else:
        xs = np.asarray(xs, dtype=np.uint64).reshape(1, -1)
    fold_seed = instance_seed(seed, 1) if fold_seed is None else fold_seed
    return chunked_lanes(xs, in_fmt, acc_fmt, chunk, rounding, saturate, lengths=lengths,
                         products=products, a_fmt=a_fmt, b_fmt=b_fmt, seeds=[seed],
                         fold_seeds=[fold_seed], rand_bits=rand_bits, taps=taps)[0]


def chunked_lanes(xs, in_fmt, acc_fmt, chunk: int = 0, rounding: str = "rne",
                  saturate: bool = False, *, lengths=None, products: bool = False,
                  a_fmt=None, b_fmt=None, seeds=None, fold_seeds=None,
                  rand_bits: int = 16, taps=None) -> np.ndarray:
    """``L`` independent chunk-based accumulators side by side (the PEs of an array): lane
    ``l`` sums its own inputs ``xs[l]`` (shape ``(L, total)``, or a pair ``(a, b)`` of such
    arrays with ``products``) in streams of the same ``lengths``; returns ``(L, streams)``
    codes.  ``sr``: lane ``l`` draws from the streams seeded ``seeds[l]`` (inner) and
    ``fold_seeds[l]`` (folds), each in its own input order (folds numbered stream by
    stream).

    ``taps``: increasing input counts (each <= the shortest stream and, with chunking, a
    multiple of ``chunk``); returns ``(L, streams, len(taps))`` codes instead, the result
    each stream would have had had it ended after that many inputs.

    Runs on the compiled kernel (``sim.kernel``, which says where its fast path applies).
    """
    acc_fmt = parse(acc_fmt)
    chunk = check_chunk(chunk)
    check_rounding(rounding)
    if products:
        if a_fmt is None or b_fmt is None:
            raise ValueError("products=True needs a_fmt and b_fmt")
        a_fmt, b_fmt = parse(a_fmt), parse(b_fmt)
        a, b = (np.asarray(v, dtype=np.uint64) for v in xs)
        if a.shape != b.shape or a.ndim != 2:
            raise ValueError("products: a and b must have the same length (shape (lanes, n))")
        check_result_format(acc_fmt, a_fmt, b_fmt)
        check_product_width(a_fmt, b_fmt)
        a, b = arith.check_codes(a, a_fmt, "a"), arith.check_codes(b, b_fmt, "b")
        first, first_fmt, second, second_fmt = a, a_fmt, b, b_fmt
    else:
        in_fmt = parse(in_fmt)
        x = np.asarray(xs, dtype=np.uint64)
        if x.ndim != 2:
            raise ValueError("xs must have the shape (lanes, n)")
        check_result_format(acc_fmt, in_fmt)
        first, first_fmt, second, second_fmt = arith.check_codes(x, in_fmt, "x"), in_fmt, None, None
    n_lanes, total = first.shape
    lengths = np.array([total] if lengths is None else lengths, dtype=np.int64)
    if lengths.size == 0 or lengths.min() < 1 or lengths.sum() != total:
        raise ValueError("lengths must be >= 1 and sum to the number of inputs")
    tap_steps = check_taps(taps, int(lengths.min()), chunk)

    states = fold_states = 1
    if rounding == "sr":
        check_sr_bits(acc_fmt, rounding, check_rand_bits(rand_bits))
        if seeds is None or fold_seeds is None or len(seeds) != n_lanes \
                or len(fold_seeds) != n_lanes:
            raise ValueError("sr needs one seed and one fold seed per lane")
        # each stream starts where the lane's draws stand after the streams before it
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        n_folds = -(-lengths // chunk) if chunk else np.zeros_like(lengths)
        states = kernel.advance([check_seed(s) for s in seeds], starts)
        fold_states = kernel.advance([check_seed(s) for s in fold_seeds],
                                     np.concatenate([[0], np.cumsum(n_folds)[:-1]]))
    values = kernel.streams(first, second, first_fmt, second_fmt, acc_fmt, lengths, chunk,
                            rounding, saturate, rand_bits, states, fold_states,
                            sorted(tap_steps) if taps is not None else None)
    return kernel.value_codes(values, acc_fmt).astype(acc_fmt.dtype)


def check_taps(taps, shortest: int, chunk: int) -> frozenset:
    if taps is None:
        return frozenset()
    taps = [int(t) for t in taps]
    if not taps or any(b <= a for a, b in zip(taps, taps[1:])) or taps[0] < 1 \
            or taps[-1] > shortest or (chunk and any(t % chunk for t in taps)):
        raise ValueError(f"taps must be increasing input counts from 1 to the shortest "
                         f"stream ({shortest}), multiples of the chunk ({chunk}) if chunked")
    return frozenset(taps)


def axpy(alpha, x, y, alpha_fmt, x_fmt, y_fmt, rounding: str = "sr", saturate: bool = False,
         *, seed: int = 1, rand_bits: int = 16) -> np.ndarray:
    """The weight update y' = round(y + alpha * x), one fused rounding per element, over
    a stream of elements (``alpha`` broadcast, e.g. one value held for the stream).

    ``sr`` (default) draws, in element order, from the stream seeded ``seed``.
    """
    alpha_fmt, x_fmt, y_fmt = parse(alpha_fmt), parse(x_fmt), parse(y_fmt)
    x = np.asarray(x, dtype=np.uint64)
    alpha = np.broadcast_to(np.asarray(alpha, dtype=np.uint64), x.shape)
    rand = draws(seed, x.size, rand_bits).reshape(x.shape) if rounding == "sr" else None
    return arith.fma(alpha, x, y, alpha_fmt, x_fmt, y_fmt, y_fmt, rounding, saturate,
                     rand=rand, rand_bits=rand_bits)
