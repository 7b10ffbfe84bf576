"""Exactness of the compiled accumulation kernel (``fpforge.sim.kernel``), which ``matmul``,
``systolic`` and ``chunked`` / ``chunked_lanes`` now run on.

References, none of them the code under test:

* ``reference_lanes`` (``tests/lanes_reference.py``): the numpy kernel the compiled one
  replaced, every step through the golden ``arith.fma`` / ``arith.add`` (themselves checked
  against exact Fractions and SoftFloat).  Compared on every (a, b, accumulator) triple of
  the preset formats, every rounding mode, with and without chunking, on corner-heavy data
  (zeros, subnormals, max, Inf, NaN, random codes, rows scaled to overflow or underflow the
  accumulator, cancelling products); on plain sums of every (input, accumulator) preset
  pair; on formats that force the exact path (products wider than 53 bits, 52-bit
  accumulators, float64-overflowing exponents); on sr with 1 to 32 random bits.
* the sequential Python / Fraction reference of ``test_accumulate.py`` and
  ``test_gemm.py`` (their tests run on the kernel too).
* apytypes (C++), where its semantics coincide with ours: IEEE-style formats with
  subnormals, chunk 0, the five deterministic modes, and products that the accumulator
  holds exactly.  apytypes rounds each product into the accumulator before adding it, so
  where products are inexact in the accumulator it computes a different (unfused)
  arithmetic: a test shows that it then differs from ours and equals the golden unfused
  sequence instead.  Its NaN code differs from our canonical one: NaNs compare by class.
"""

from __future__ import annotations

import itertools
import math
import re

import apytypes as apy
import numpy as np
import pytest

from fpforge.sim import arith, kernel
from fpforge.sim.accumulate import chunked_lanes
from fpforge.sim.formats import PRESETS, FloatClass, FloatFormat, parse
from fpforge.sim.gemm import matmul
from fpforge.sim.prng import instance_seed
from fpforge.sim.rounding import ALL_ROUNDING_MODES, ROUNDING_MODES
from fpforge.tb.vectors import corner_codes, random_codes

from lanes_reference import reference_lanes
from reference import assert_codes_equal

#: the presets the kernel accumulates: binary64's 106-bit products it refuses
PRESET_NAMES = [name for name, fmt in PRESETS.items() if 2 * fmt.precision <= 62]


# ==== corner-heavy operands ==============================================================

def _scaled(fmt: FloatFormat, shape, rng, axis: int) -> np.ndarray:
    """N(0, 1) values rounded to ``fmt`` (saturating), each line along ``axis`` (a row for
    0, a column for 1) at its own scale: around 1, near the format's max (products
    overflow narrow accumulators), near its smallest normal (products reach subnormals or
    flush), in its subnormals, or at a random binade."""
    lines = shape[axis]
    choices = np.array([0, fmt.emax - 1, fmt.emin + 1, fmt.emin - fmt.man_bits // 2,
                        int(rng.integers(fmt.emin, fmt.emax + 1))])
    exps = choices[rng.integers(0, choices.size, lines)]
    values = rng.standard_normal(shape) * np.expand_dims(2.0 ** exps, 1 - axis)
    return fmt.encode(values, saturate=True).astype(np.uint64)


def corner_heavy(fmt: FloatFormat, shape, rng, axis: int = 0, odd: float = 0.3):
    """``_scaled`` codes with a fraction ``odd`` replaced, half by corner codes (zeros,
    subnormals, max, Inf, NaN of both signs), half by random codes."""
    codes = _scaled(fmt, shape, rng, axis)
    pick = rng.random(shape)
    corners = corner_codes(fmt)
    codes = np.where(pick < odd / 2, corners[rng.integers(0, corners.size, shape)], codes)
    rand = random_codes(fmt, codes.size, rng).reshape(shape)
    return np.where((pick >= odd / 2) & (pick < odd), rand, codes).astype(np.uint64)


def gemm_operands(a_fmt: FloatFormat, b_fmt: FloatFormat, m: int, k: int, n: int, rng,
                  odd: float = 0.15):
    """Corner-heavy A (m, k) (a scale per row) and B (k, n) (a scale per column), with
    row 0 of A and column 0 of B signed zeros, and every fifth step k cancelling the one
    before it exactly (A's column negated, B's row repeated), so sums return to (signed)
    zero and to values they rounded away from."""
    a = corner_heavy(a_fmt, (m, k), rng, axis=0, odd=odd)
    b = corner_heavy(b_fmt, (k, n), rng, axis=1, odd=odd)
    a[0] = np.uint64(a_fmt.sign_bit) * rng.integers(0, 2, k).astype(np.uint64)
    b[:, 0] = np.uint64(b_fmt.sign_bit) * rng.integers(0, 2, k).astype(np.uint64)
    for step in range(1, k, 5):
        a[1:, step] = a[1:, step - 1] ^ np.uint64(a_fmt.sign_bit)
        b[step] = b[step - 1]
    return a, b


def _reference_matmul(a, b, a_fmt, b_fmt, acc, chunk, mode, seed=1, rand_bits=16,
                      saturate=False):
    """matmul through reference_lanes: output p = i * N + j is lane p with the seed rule."""
    rows, cols = a.shape[0], b.shape[1]
    p = np.arange(rows * cols)
    seeds = [instance_seed(seed, int(q)) for q in p]
    lanes = (np.repeat(a, cols, axis=0), np.tile(b.T, (rows, 1)))
    return reference_lanes(lanes, None, acc, chunk, mode, saturate, products=True,
                           a_fmt=a_fmt, b_fmt=b_fmt, seeds=seeds, rand_bits=rand_bits,
                           one_stream=True)[:, 0].reshape(rows, cols)


# ==== every preset triple ==================================================================

@pytest.mark.parametrize("acc", PRESET_NAMES)
def test_matmul_every_preset_triple(acc):
    """Every (a, b) pair of presets into ``acc``: an (8, 11) x (11, 9) GEMM of
    ``gemm_operands``, all six modes, chunk 0 and 4 (11 = two chunks and a partial one),
    sr with the seed rule; 49 x 12 GEMMs per accumulator."""
    acc_f = parse(acc)
    for n, (a_name, b_name) in enumerate(itertools.product(PRESET_NAMES, repeat=2)):
        a_fmt, b_fmt = parse(a_name), parse(b_name)
        a, b = gemm_operands(a_fmt, b_fmt, 8, 11, 9,
                             np.random.default_rng(1000 * PRESET_NAMES.index(acc) + n))
        for mode, chunk in itertools.product(ALL_ROUNDING_MODES, (0, 4)):
            got = matmul(a, b, a_fmt, b_fmt, acc_f, chunk, mode, seed=n + 1)
            want = _reference_matmul(a, b, a_fmt, b_fmt, acc_f, chunk, mode, seed=n + 1)
            assert_codes_equal(got, want, acc_f, f"{a_name} x {b_name} -> {acc} "
                                                 f"chunk={chunk} {mode}")


def test_corner_heavy_data_reaches_the_corners():
    """The stimulus above is meaningful: over the 16 fp8 x fp8 -> fp16 GEMMs of the test
    above the results include NaN, +-Inf, signed zeros (rdn: -0), subnormals and ordinary
    values, in every mode."""
    acc = parse("fp16")
    for mode in ALL_ROUNDING_MODES:
        seen = []
        for n, (a_name, b_name) in enumerate(itertools.product(PRESET_NAMES, repeat=2)):
            if a_name.startswith(("fp8", "hfp8")) and b_name.startswith(("fp8", "hfp8")):
                a, b = gemm_operands(parse(a_name), parse(b_name), 8, 11, 9,
                                     np.random.default_rng(1000 * PRESET_NAMES.index("fp16") + n))
                seen.append(matmul(a, b, a_name, b_name, acc, 4, mode, seed=n + 1).ravel())
        codes = np.concatenate(seen)
        cls = acc.classify(codes)
        for c in FloatClass:
            assert (cls == c).sum() >= 5, (mode, c)
        assert (cls == FloatClass.NORMAL).mean() > 0.3
        assert (codes == acc.inf_code).any() and (codes == acc.inf_code | acc.sign_bit).any()
        assert (codes == acc.sign_bit).any() == (mode == "rdn"), mode


@pytest.mark.parametrize("chunk", [0, 4])
def test_plain_sums_every_preset_pair(chunk):
    """chunked_lanes of plain inputs for every (input, accumulator) preset pair: 3 lanes of
    streams of lengths 1, 2, 3, 5, 9, 13, all six modes (sr: one seed per lane)."""
    lengths = [1, 2, 3, 5, 9, 13]
    for n, (in_name, acc_name) in enumerate(itertools.product(PRESET_NAMES, repeat=2)):
        in_fmt, acc = parse(in_name), parse(acc_name)
        rng = np.random.default_rng(7 * n + chunk)
        x = corner_heavy(in_fmt, (3, sum(lengths)), rng, axis=0)
        for mode in ALL_ROUNDING_MODES:
            kw = dict(lengths=lengths, seeds=[3, 4, 5], fold_seeds=[6, 7, 8])
            got = chunked_lanes(x, in_fmt, acc, chunk, mode, **kw)
            want = reference_lanes(x, in_fmt, acc, chunk, mode, **kw)
            assert_codes_equal(got, want, acc, f"{in_name} -> {acc_name} chunk={chunk} {mode}")


@pytest.mark.parametrize("a_fmt,b_fmt,acc", [
    ("e8m30", "e8m30", "fp32"),       # 62-bit products: wider than float64's 53
    ("fp32", "fp32", "e11m52"),       # a 52-bit accumulator: no packed rounding
    ("e11m20", "e11m20", "e11m40"),   # products beyond float64's range
    ("e11m20", "fp16", "e11m51ns"),   # no subnormals
])
def test_exact_path_formats(a_fmt, b_fmt, acc):
    """Formats the fast path does not take (``Path.ok`` is False): every step through the
    exact path, against the reference, all modes, chunk 0 and 3, saturating or not.  Where
    the reference refuses (sr into more than 60 - R fraction bits) the kernel must refuse
    with the same message."""
    a_fmt, b_fmt, acc_f = parse(a_fmt), parse(b_fmt), parse(acc)
    assert not kernel.Path.of(a_fmt, b_fmt, acc_f).ok
    a, b = gemm_operands(a_fmt, b_fmt, 4, 23, 5, np.random.default_rng(5))
    compared = set()
    for mode, chunk, sat in itertools.product(ALL_ROUNDING_MODES, (0, 3), (False, True)):
        what = f"{a_fmt} x {b_fmt} -> {acc} chunk={chunk} {mode} saturate={sat}"
        try:
            want = _reference_matmul(a, b, a_fmt, b_fmt, acc_f, chunk, mode, seed=11,
                                     saturate=sat)
        except ValueError as exc:
            assert mode == "sr" and "random bits needs" in str(exc), what
            with pytest.raises(ValueError, match=re.escape(str(exc))):
                matmul(a, b, a_fmt, b_fmt, acc_f, chunk, mode, saturate=sat, seed=11)
            continue
        got = matmul(a, b, a_fmt, b_fmt, acc_f, chunk, mode, saturate=sat, seed=11)
        assert_codes_equal(got, want, acc_f, what)
        compared.add(mode)
    assert set(ROUNDING_MODES) <= compared


def test_fast_path_where_expected():
    """The fast path applies to every preset triple, statically exact (no TwoSum) exactly
    where every product plus register spans at most 53 bits."""
    for a, b, acc in itertools.product(PRESET_NAMES, repeat=3):
        path = kernel.Path.of(parse(a), parse(b), parse(acc))
        assert path.ok, (a, b, acc)
    assert not kernel.Path.of(parse("fp8_e4m3"), parse("fp8_e4m3"), parse("fp16")).twosum
    assert kernel.Path.of(parse("fp8_e4m3"), parse("fp8_e4m3"), parse("fp32")).twosum
    assert kernel.Path.of(parse("fp16"), None, parse("fp16")).twosum is False


# ==== sr, saturation, taps, errors ========================================================

@pytest.mark.parametrize("rand_bits", [1, 5, 16, 24, 32])
def test_sr_rand_bits(rand_bits):
    """sr with 1 to 32 random bits: products (e4m3 x e5m2 -> fp16, fp32 x bf16 -> fp32) and
    plain sums (bf16 -> bf16) of several lanes and streams, chunked and not, saturating."""
    rng = np.random.default_rng(rand_bits)
    lengths = [3, 16, 1, 40, 17]
    for (a_name, b_name, acc), chunk, sat in itertools.product(
            [("fp8_e4m3", "fp8_e5m2", "fp16"), ("fp32", "bf16", "fp32"),
             ("bf16", None, "bf16")], (0, 8), (False, True)):
        a_fmt = parse(a_name)
        a = corner_heavy(a_fmt, (3, sum(lengths)), rng, axis=0)
        kw = dict(lengths=lengths, seeds=[1, 2 ** 32 - 1, 77], fold_seeds=[9, 10, 11],
                  rand_bits=rand_bits)
        if b_name:
            b = corner_heavy(parse(b_name), (3, sum(lengths)), rng, axis=0)
            xs, kw = (a, b), dict(kw, products=True, a_fmt=a_fmt, b_fmt=b_name)
            fmt = None
        else:
            xs, fmt = a, a_fmt
        got = chunked_lanes(xs, fmt, acc, chunk, "sr", sat, **kw)
        want = reference_lanes(xs, fmt, acc, chunk, "sr", sat, **kw)
        assert_codes_equal(got, want, parse(acc), f"sr{rand_bits} {a_name} x {b_name} -> "
                                                  f"{acc} chunk={chunk} saturate={sat}")


def test_sr_refused_like_the_reference():
    """sr into 30 fraction bits with 32 random bits needs 62 exact bits: the kernel refuses
    with the reference's one-line message; with 30 random bits both round a sum that spans
    63 bits (2^40 + 1 + 2^-23) to the same code."""
    fp32, acc = parse("fp32"), parse("e8m30")
    wide = fp32.encode(np.array([2.0 ** 40, 1.0 + 2.0 ** -23])).astype(np.uint64)[None]
    for run in (reference_lanes, chunked_lanes):
        with pytest.raises(ValueError, match=r"needs 30 \+ 32 exact bits.*--rand-bits 30 or fewer"):
            run(wide, fp32, acc, 0, "sr", seeds=[1], fold_seeds=[2], rand_bits=32)
    kw = dict(seeds=[1], fold_seeds=[2], rand_bits=30)
    assert np.array_equal(chunked_lanes(wide, fp32, acc, 0, "sr", **kw),
                          reference_lanes(wide, fp32, acc, 0, "sr", **kw))


def test_binary64_products_refused():
    """fp64 x fp64 products (106 bits) do not fit the kernel: matmul and chunked_lanes say
    so in one line; fp64 as the accumulator of narrower products works."""
    fp64, fp32 = parse("fp64"), parse("fp32")
    a = fp64.encode(np.array([[1.5, 2.0]])).astype(np.uint64)
    with pytest.raises(ValueError, match="wider than the 62 bits"):
        matmul(a, a.T, fp64, fp64, fp64)
    with pytest.raises(ValueError, match="wider than the 62 bits"):
        chunked_lanes((a, a), None, fp64, 0, "rne", products=True, a_fmt=fp64, b_fmt=fp64)
    b = fp32.encode(np.array([[1.5, 2.0]])).astype(np.uint64)
    got = matmul(b, b.T, fp32, fp32, fp64)
    assert fp64.decode(got).tolist() == [[6.25]]


@pytest.mark.parametrize("chunk", [0, 4])
def test_taps_and_lanes_against_reference(chunk):
    """Taps of many lanes and streams of the same and different lengths, every mode."""
    rng = np.random.default_rng(chunk)
    lengths = [12, 40, 16, 12, 28]
    x = corner_heavy(parse("fp8_e5m2"), (5, sum(lengths)), rng, odd=0.1)
    for mode in ALL_ROUNDING_MODES:
        kw = dict(lengths=lengths, taps=[4, 8, 12], seeds=range(1, 6), fold_seeds=range(6, 11))
        got = chunked_lanes(x, "fp8_e5m2", "e5m6", chunk, mode, **kw)
        want = reference_lanes(x, "fp8_e5m2", "e5m6", chunk, mode, **kw)
        assert got.shape == (5, 5, 3)
        assert_codes_equal(got, want, parse("e5m6"), f"taps chunk={chunk} {mode}")


def test_many_units_in_blocks():
    """More units than one block of the lockstep kernel and than one thread's share (the
    blocks must not mix their registers or PRNG states)."""
    rng = np.random.default_rng(3)
    x = corner_heavy(parse("hfp8"), (3, 1200 * 5), rng, odd=0.05)
    for mode in ("rne", "sr"):
        kw = dict(lengths=[5] * 1200, seeds=[1, 2, 3], fold_seeds=[4, 5, 6])
        got = chunked_lanes(x, "hfp8", "e5m4", 2, mode, **kw)
        assert_codes_equal(got, reference_lanes(x, "hfp8", "e5m4", 2, mode, **kw),
                           parse("e5m4"), f"blocks {mode}")


def test_product_width_error():
    """The kernel's fused step keeps products of at most 62 bits (arith.fma takes wider
    ones on its exact Python-integer path)."""
    a = np.zeros((1, 1), np.uint64)
    with pytest.raises(ValueError, match="wider than the 62 bits"):
        matmul(a, a, "e8m31", "e8m31", "fp32")
    assert int(arith.fma(a, a, a, "e8m31", "e8m31", "fp32", "fp32")[0, 0]) == 0


# ==== apytypes, where the semantics coincide ===============================================

_APY_MODES = {"rne": "TIES_EVEN", "rtz": "TO_ZERO", "rup": "TO_POS", "rdn": "TO_NEG",
              "rna": "TIES_AWAY"}


def _apytypes_matmul(a, b, a_fmt, b_fmt, acc, mode):
    A = apy.APyFloatArray.from_bits(a, a_fmt.exp_bits, a_fmt.man_bits, a_fmt.bias)
    B = apy.APyFloatArray.from_bits(b, b_fmt.exp_bits, b_fmt.man_bits, b_fmt.bias)
    with apy.APyFloatAccumulatorContext(exp_bits=acc.exp_bits, man_bits=acc.man_bits,
                                        bias=acc.bias,
                                        quantization=getattr(apy.QuantizationMode,
                                                             _APY_MODES[mode])):
        c = A @ B
    assert (c.exp_bits, c.man_bits, c.bias) == (acc.exp_bits, acc.man_bits, acc.bias)
    return c.to_bits(numpy=True).astype(np.uint64)


def _equal_nan_by_class(got, want, fmt) -> np.ndarray:
    both_nan = (fmt.classify(got) == FloatClass.NAN) & (fmt.classify(want) == FloatClass.NAN)
    return (got == want) | both_nan


@pytest.mark.parametrize("a_fmt,b_fmt,acc", [
    ("e4m3", "e4m3", "fp16"),           # IEEE-like e4m3: every product exact in fp16
    ("fp8_e5m2", "e4m3", "bf16"),
    ("fp16", "fp16", "fp32"),
    ("fp8_e5m2", "fp8_e5m2", "fp32"),
])
def test_apytypes_where_semantics_coincide(a_fmt, b_fmt, acc):
    """Codes equal apytypes' for every output (NaN by class): ``gemm_operands`` with 3 %
    corner and random codes (more would make most of the 64-term sums NaN), five modes,
    chunk 0; the results include NaN, zeros and normals."""
    a_fmt, b_fmt, acc_f = parse(a_fmt), parse(b_fmt), parse(acc)
    a, b = gemm_operands(a_fmt, b_fmt, 24, 64, 24, np.random.default_rng(17), odd=0.03)
    for mode in ROUNDING_MODES:
        got = matmul(a, b, a_fmt, b_fmt, acc_f, 0, mode)
        theirs = _apytypes_matmul(a, b, a_fmt, b_fmt, acc_f, mode)
        same = _equal_nan_by_class(got, theirs, acc_f)
        assert same.all(), (mode, int((~same).sum()))
        cls = acc_f.classify(got)
        assert (cls == FloatClass.NORMAL).sum() > 200, mode
        assert (cls == FloatClass.NAN).any() and (cls == FloatClass.ZERO).any(), mode


def test_apytypes_rounds_products_first_where_they_do_not_coincide():
    """e5m2 x e5m2 -> e5m2: products are not exact in the accumulator.  apytypes rounds
    each product into it and then adds (two roundings per step), so it differs from the
    fused PE; it equals the golden unfused sequence round(round(a*b) + c) instead."""
    f = parse("fp8_e5m2")
    rng = np.random.default_rng(2)
    a = f.encode(rng.standard_normal((16, 24))).astype(np.uint64)
    b = f.encode(rng.standard_normal((24, 16))).astype(np.uint64)
    theirs = _apytypes_matmul(a, b, f, f, f, "rne")
    ours = matmul(a, b, f, f, f, 0, "rne")
    assert (theirs != ours).sum() > 10
    unfused = np.zeros((16, 16), np.uint64)
    for k in range(24):
        unfused = arith.fma(np.broadcast_to(a[:, k:k + 1], (16, 16)),
                            np.broadcast_to(b[k:k + 1, :], (16, 16)), unfused, f, f, f, f,
                            "rne", fused=False, prod_fmt=f).astype(np.uint64)
    assert np.array_equal(theirs, unfused)
