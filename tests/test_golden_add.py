"""The addition golden model (``fpforge.sim.arith.add``) against independent references:
the exact references in ``tests/reference.py`` (``frac_add``: Fractions, ``ref_add``: fast
integers), ml_dtypes casts of exact float32/float64 sums, and Berkeley SoftFloat
(softfloatpy).  Plus literal zero-sign and special-value cases; the calling contract
(dtypes, broadcasting, bad arguments) is test_golden_contract.py's.

``arith.add`` is looked up at call time, so the tests of the references themselves run (and
pass) whether or not the golden adder exists yet."""

from __future__ import annotations

import functools
import zlib

import numpy as np
import pytest

from fpforge.sim import arith
from fpforge.sim.formats import FloatClass, parse
from fpforge.tb.vectors import all_pairs, corner_codes

from reference import (ML8, MODES, NAN, add_operands, assert_codes_equal, frac_add, ml_types,
                       ref_add, ref_add_all_pairs, ref_add_many, softfloat_run, spec,
                       storage_dtype)

ML = ml_types()


def add(*args, **kwargs):
    """``arith.add``, looked up now (it may land after this module is imported)."""
    return arith.add(*args, **kwargs)


# config id -> (a format, b format, result format)
CONFIGS = {
    "fp16": ("fp16", "fp16", "fp16"),
    "bf16": ("bf16", "bf16", "bf16"),
    "fp32": ("fp32", "fp32", "fp32"),
    "dlfloat16": ("dlfloat16", "dlfloat16", "dlfloat16"),
    "fp32+fp16->bf16": ("fp32", "fp16", "bf16"),
    "fp16+bf16->fp32": ("fp16", "bf16", "fp32"),
    "fp16+fp16->e4m3fn": ("fp16", "fp16", "fp8_e4m3"),
    "fp32+fp32->fp16": ("fp32", "fp32", "fp16"),
    "bf16+e4m3fn->dlfloat16": ("bf16", "fp8_e4m3", "dlfloat16"),
    "e11m52": ("e11m52", "e11m52", "e11m52"),     # alignment shifts beyond 64 bits
    # every pair (<= 16 operand bits)
    "fp8_e4m3": ("fp8_e4m3", "fp8_e4m3", "fp8_e4m3"),
    "fp8_e5m2": ("fp8_e5m2", "fp8_e5m2", "fp8_e5m2"),
    "hfp8": ("hfp8", "hfp8", "hfp8"),
    "e4m3": ("e4m3", "e4m3", "e4m3"),
    "e5m2fnuz": ("e5m2fnuz", "e5m2fnuz", "e5m2fnuz"),
    "e4m3fnns": ("e4m3fnns", "e4m3fnns", "e4m3fnns"),
    "e4m3fn+e5m2->fp16": ("fp8_e4m3", "fp8_e5m2", "fp16"),
    "e2m3fin+e3m2fin->e3m2fin": ("e2m3fin", "e3m2fin", "e3m2fin"),
}
EXHAUSTIVE = [c for c, (a, b, _) in CONFIGS.items() if parse(a).width + parse(b).width <= 16]
CASES = [(m, s) for m in MODES for s in (False, True)]
CORNER_CAP = 12_000          # corner pairs per case (the cross-product, or a sample of it)
RANDOM_PER_CASE = 4_000      # add_operands pairs per case


def _fmts(cfg):
    return tuple(parse(n) for n in CONFIGS[cfg])


def _seed(*parts) -> int:
    return zlib.crc32(repr(parts).encode())


def _corner_pairs(a_name, b_name, cap, seed):
    """The corner cross-product, or a random sample of ``cap`` of its pairs."""
    ca, cb = corner_codes(parse(a_name)), corner_codes(parse(b_name))
    total = ca.size * cb.size
    i = (np.arange(total) if total <= cap
         else np.random.default_rng(seed).choice(total, cap, replace=False))
    return ca[i // cb.size], cb[i % cb.size]


def _vectors(cfg, case_index, n_random=RANDOM_PER_CASE, cap=CORNER_CAP):
    """Corner pairs (all, or a per-case sample of ``cap`` where the cross-product is larger)
    plus ``n_random`` add_operands pairs, both depending on the case."""
    a, b, o = CONFIGS[cfg]
    cx, cy = _corner_pairs(a, b, cap, _seed(cfg, "corners", case_index))
    rx, ry = add_operands(*(parse(n) for n in (a, b, o)), n_random,
                          seed=_seed(cfg, case_index))
    return np.concatenate([cx, rx]), np.concatenate([cy, ry])


def _check(got, want, a_fmt, b_fmt, o_fmt, x, y, what, nan_by_class=False):
    assert isinstance(got, np.ndarray), type(got)
    assert got.dtype == o_fmt.dtype, (got.dtype, o_fmt.dtype)
    assert_codes_equal(got, want, o_fmt, what, {"a": (x, a_fmt.width), "b": (y, b_fmt.width)},
                       nan_by_class=nan_by_class)


# ---- against the exact reference ------------------------------------------------------------

@pytest.mark.parametrize("saturate", [False, True], ids=["inf", "sat"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cfg", list(CONFIGS))
def test_add_matches_reference(cfg, mode, saturate):
    """Every result bit-exact (NaN = the canonical code).  <= 16 operand bits: all pairs
    (saturating: a fifth of them per mode, every pair once over the modes); others:
    corner pairs + 4,000 add_operands pairs (cancellation, alignment, huge gaps, ties,
    overflow/underflow thresholds, uniform) per case."""
    a_fmt, b_fmt, o_fmt = _fmts(cfg)
    if cfg in EXHAUSTIVE:
        x, y = all_pairs(a_fmt, b_fmt)
        want = ref_add_all_pairs(a_fmt, b_fmt, o_fmt, mode, saturate)
        if saturate:   # a fifth of the pairs per mode: every pair once over the five modes
            k = slice(MODES.index(mode), None, len(MODES))
            x, y, want = x[k], y[k], want[k]
    else:
        x, y = _vectors(cfg, CASES.index((mode, saturate)))
        want = ref_add_many(x, y, a_fmt, b_fmt, o_fmt, mode, saturate)
    got = add(x, y, a_fmt, b_fmt, o_fmt, rounding=mode, saturate=saturate)
    _check(got, want, a_fmt, b_fmt, o_fmt, x, y, f"add {cfg} {mode} sat={saturate}")


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c not in EXHAUSTIVE]
                         + ["fp8_e4m3", "hfp8", "e4m3fnns", "e4m3fn+e5m2->fp16"])
def test_fast_add_reference_matches_fraction_reference(cfg):
    """The fast integer reference agrees with the definitional Fraction one (a sample of
    vectors in every mode and saturate); the exhaustive table path agrees with ref_add."""
    a_fmt, b_fmt, o_fmt = _fmts(cfg)
    for k, (mode, sat) in enumerate(CASES):
        if cfg in EXHAUSTIVE:
            x, y = all_pairs(a_fmt, b_fmt)
            table = (ref_add_all_pairs(a_fmt, b_fmt, o_fmt, mode, sat)
                     if (mode, sat) in (("rne", False), ("rup", True)) else None)
        else:
            x, y = _vectors(cfg, k)
            table = None
        idx = np.random.default_rng(k).choice(x.size, 60, replace=False)
        idx = np.concatenate([idx, np.arange(0, min(x.size, 12)),
                              np.arange(x.size - 12, x.size)])
        for i in idx.tolist():
            a, b = int(x[i]), int(y[i])
            want = frac_add(a, b, a_fmt, b_fmt, o_fmt, mode, sat)
            assert ref_add(a, b, a_fmt, b_fmt, o_fmt, mode, sat) == want, \
                (hex(a), hex(b), mode, sat)
            if table is not None:
                assert int(table[i]) == want, (hex(a), hex(b), mode, sat)


def test_add_operands_cover_the_hard_cases():
    """The generated fp16 vectors contain exact cancellation to zero, results that lose
    many leading bits, exact ties, overflow and subnormal results (checked with ref_add)."""
    f = parse("fp16")
    x, y = add_operands(f, f, f, 20_000, seed=1)
    got = ref_add_many(x, y, f, f, f, "rne")
    cls = f.classify(got)
    assert (cls == FloatClass.ZERO).sum() > 50
    assert (cls == FloatClass.SUBNORMAL).sum() > 200
    assert (got == f.inf_code).sum() + (got == (f.inf_code | f.sign_bit)).sum() > 50
    # ties: rne and rna differ only on exact ties
    assert (got != ref_add_many(x, y, f, f, f, "rna")).sum() > 200
    # cancellation: result exponent far below both operands'
    ex = lambda c: (c.astype(np.int64) >> 10) & 31  # noqa: E731
    fin = (cls == FloatClass.NORMAL) & (ex(x) < 31) & (ex(y) < 31)
    assert (fin & (ex(got) + 6 < np.minimum(ex(x), ex(y)))).sum() > 50


# ---- against SoftFloat ------------------------------------------------------------------------

# format -> (SoftFloat op, random pairs per mode, corner cap per mode)
_SF = {"fp16": ("f16_add", 16_000, 10_000), "fp32": ("f32_add", 6_000, 4_000),
       "bf16": ("bf16_add", 6_000, 4_000)}


@functools.lru_cache(maxsize=None)
def _sf_vectors(fmt_name, mode, n_random, cap):
    f = parse(fmt_name)
    x, y = _corner_pairs(fmt_name, fmt_name, cap, _seed(fmt_name, mode))
    rx, ry = add_operands(f, f, f, n_random, seed=_seed("sf", fmt_name, mode))
    return np.concatenate([x, rx]), np.concatenate([y, ry])


@functools.lru_cache(maxsize=None)
def _sf_add(fmt_name, mode, n_random, cap):
    x, y = _sf_vectors(fmt_name, mode, n_random, cap)
    return softfloat_run(_SF[fmt_name][0], mode, x, y)[0]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fmt_name", list(_SF))
def test_add_references_match_softfloat(fmt_name, mode):
    """The references themselves against SoftFloat (f16_add, f32_add; bf16 through binary64
    round-to-odd): ref_add on a third of the SoftFloat vectors, frac_add on 150 of them;
    non-NaN results bit-exact, NaN by class."""
    f = parse(fmt_name)
    _, n_random, cap = _SF[fmt_name]
    x, y = _sf_vectors(fmt_name, mode, n_random, cap)
    want = _sf_add(fmt_name, mode, n_random, cap)
    sel = np.arange(0, x.size, 3)
    got = ref_add_many(x[sel], y[sel], f, f, f, mode)
    assert_codes_equal(got, want[sel], f, f"ref_add vs SoftFloat {fmt_name} {mode}",
                       {"a": (x[sel], f.width), "b": (y[sel], f.width)}, nan_by_class=True)
    s = spec(f)
    for i in np.random.default_rng(_seed(fmt_name, mode)).choice(x.size, 150, False).tolist():
        a, b, w = int(x[i]), int(y[i]), int(want[i])
        r = frac_add(a, b, f, f, f, mode)
        assert r == w or (s.decode(r)[0] == NAN and s.decode(w)[0] == NAN), \
            (hex(a), hex(b), mode, hex(r), hex(w))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fmt_name", list(_SF))
def test_add_matches_softfloat(fmt_name, mode):
    """fp16: corners + 16,000 add_operands pairs per mode (> 120,000 in all); fp32 and
    bf16: 4,000 corner pairs + 6,000 random per mode.  Non-NaN bit-exact, NaN by class."""
    f = parse(fmt_name)
    _, n_random, cap = _SF[fmt_name]
    x, y = _sf_vectors(fmt_name, mode, n_random, cap)
    want = _sf_add(fmt_name, mode, n_random, cap)
    got = add(x, y, f, f, f, rounding=mode)
    _check(got, want, f, f, f, x, y, f"add vs SoftFloat {fmt_name} {mode}", nan_by_class=True)


# ---- against ml_dtypes ------------------------------------------------------------------------

_ML_ADD = [(n, n, n) for n in ML8] + [("float8_e4m3fn", "float8_e5m2", "float16"),
                                      ("float8_e4m3fn", "float8_e4m3fn", "bfloat16"),
                                      ("float8_e5m2", "float8_e3m4", "bfloat16")]


@pytest.mark.parametrize("a,b,o", _ML_ADD, ids=[f"{a}+{b}->{o}" for a, b, o in _ML_ADD])
def test_add_matches_ml_dtypes(a, b, o):
    """All 65,536 pairs, rne.  The sum is exact in float64; a float16 result is numpy's
    direct float64 -> float16 cast, other results ml_dtypes' cast of the float32 sum where
    that is exact (ml_dtypes casts float64 through float32, which would round twice): all
    pairs for e4m3/e3m4 types, most for e5m2."""
    a_fmt, b_fmt, o_fmt = parse(a), parse(b), parse(o)
    x, y = all_pairs(a_fmt, b_fmt)
    with np.errstate(invalid="ignore"):
        va = x.astype(np.uint8).view(ML[a]).astype(np.float64)
        vb = y.astype(np.uint8).view(ML[b]).astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        exact = va + vb
        s32 = va.astype(np.float32) + vb.astype(np.float32)
        if o == "float16":
            want = exact.astype(np.float16).view(np.uint16)
            keep = np.ones(x.size, dtype=bool)
        else:
            want = s32.astype(ML[o]).view(storage_dtype(ML[o]))
            keep = (s32.astype(np.float64) == exact) | np.isnan(exact)
    assert keep.mean() > (0.99 if "e5m2" not in a + b else 0.6), keep.mean()
    got = add(x, y, a_fmt, b_fmt, o_fmt)
    _check(got[keep], want[keep], a_fmt, b_fmt, o_fmt, x[keep], y[keep],
           f"add vs ml_dtypes {a}+{b}->{o}", nan_by_class=True)


# ---- literal cases: zero signs and specials --------------------------------------------

_ALL = MODES
_NOT_RDN = ("rne", "rtz", "rna", "rup")

# (a format, b format, result format, a, b, modes, expected) -- IEEE 754 section 6.3
ZERO_CASES = [
    ("fp16", "fp16", "fp16", 0x3C00, 0xBC00, _NOT_RDN, 0x0000),      # 1 + -1
    ("fp16", "fp16", "fp16", 0x3C00, 0xBC00, ("rdn",), 0x8000),
    ("fp16", "fp16", "fp16", 0xFBFF, 0x7BFF, _NOT_RDN, 0x0000),      # -max + max
    ("fp16", "fp16", "fp16", 0xFBFF, 0x7BFF, ("rdn",), 0x8000),
    ("fp16", "fp16", "fp16", 0x0001, 0x8001, _NOT_RDN, 0x0000),      # subnormals
    ("fp16", "fp16", "fp16", 0x8001, 0x0001, ("rdn",), 0x8000),
    ("fp16", "fp16", "fp16", 0x0000, 0x0000, _ALL, 0x0000),          # +0 + +0
    ("fp16", "fp16", "fp16", 0x8000, 0x8000, _ALL, 0x8000),          # -0 + -0
    ("fp16", "fp16", "fp16", 0x0000, 0x8000, _NOT_RDN, 0x0000),      # +0 + -0
    ("fp16", "fp16", "fp16", 0x8000, 0x0000, _NOT_RDN, 0x0000),
    ("fp16", "fp16", "fp16", 0x0000, 0x8000, ("rdn",), 0x8000),
    ("fp16", "fp16", "fp16", 0x8000, 0x0000, ("rdn",), 0x8000),
    ("fp16", "fp16", "fp16", 0x8000, 0x3C00, _ALL, 0x3C00),          # -0 + x = x
    ("fp16", "fp16", "fp16", 0x0000, 0xBC00, _ALL, 0xBC00),
    ("fp16", "fp16", "fp16", 0x8000, 0x0001, _ALL, 0x0001),
    ("bf16", "bf16", "bf16", 0x3F80, 0xBF80, _NOT_RDN, 0x0000),
    ("bf16", "bf16", "bf16", 0x3F80, 0xBF80, ("rdn",), 0x8000),
    ("fp8_e4m3", "fp8_e4m3", "fp8_e4m3", 0x38, 0xB8, _NOT_RDN, 0x00),
    ("fp8_e4m3", "fp8_e4m3", "fp8_e4m3", 0x38, 0xB8, ("rdn",), 0x80),
    ("fp8_e4m3", "fp8_e4m3", "fp8_e4m3", 0x80, 0x80, _ALL, 0x80),
    # fnuz: no -0, zero is always +0
    ("hfp8", "hfp8", "hfp8", 0x48, 0xC8, _ALL, 0x00),
    ("hfp8", "hfp8", "hfp8", 0x01, 0x81, _ALL, 0x00),
    ("hfp8", "hfp8", "hfp8", 0x00, 0x00, _ALL, 0x00),
    ("fp16", "fp16", "hfp8", 0x8000, 0x8000, _ALL, 0x00),
    ("fp16", "fp16", "hfp8", 0x3C00, 0xBC00, ("rdn",), 0x00),
    # mixed formats
    ("fp32", "fp16", "bf16", 0x3F800000, 0xBC00, _NOT_RDN, 0x0000),
    ("fp32", "fp16", "bf16", 0x3F800000, 0xBC00, ("rdn",), 0x8000),
    ("fp32", "fp16", "bf16", 0x80000000, 0x8000, _ALL, 0x8000),
    ("fp32", "fp16", "bf16", 0x00000000, 0x8000, ("rdn",), 0x8000),
    # a nonzero sum that rounds to zero keeps its own sign
    ("fp32", "fp32", "fp16", 0x33000000, 0x00000000, ("rne", "rtz", "rdn"), 0x0000),  # 2**-25
    ("fp32", "fp32", "fp16", 0x33000000, 0x00000000, ("rna", "rup"), 0x0001),
    ("fp32", "fp32", "fp16", 0xB3000000, 0x80000000, ("rne", "rtz", "rup"), 0x8000),
    ("fp32", "fp32", "fp16", 0xB3000000, 0x80000000, ("rna", "rdn"), 0x8001),
    ("fp32", "fp32", "fp16", 0x33000000, 0xB2800000, ("rne", "rtz", "rna", "rdn"), 0x0000),
    ("fp32", "fp32", "fp16", 0x33000000, 0xB2800000, ("rup",), 0x0001),
    # no subnormals (dlfloat16): a rounded magnitude below the smallest positive code
    # flushes to the zero of the exact result's sign, in every mode
    ("dlfloat16", "dlfloat16", "dlfloat16", 0x0002, 0x8001, _ALL, 0x0000),   # +2**-40
    ("dlfloat16", "dlfloat16", "dlfloat16", 0x0001, 0x8002, _ALL, 0x8000),   # -2**-40
    ("dlfloat16", "dlfloat16", "dlfloat16", 0x0001, 0x8001, _NOT_RDN, 0x0000),
    ("dlfloat16", "dlfloat16", "dlfloat16", 0x0001, 0x8001, ("rdn",), 0x8000),
    ("dlfloat16", "dlfloat16", "dlfloat16", 0x0201, 0x8202, _ALL, 0x8000),   # -2**-39
    ("dlfloat16", "dlfloat16", "dlfloat16", 0x0201, 0x8002, _ALL, 0x0000),   # 2**-31 = 2**emin
    ("dlfloat16", "dlfloat16", "dlfloat16", 0x0201, 0x8001, _ALL, 0x0001),   # min positive
]

# (format, a, b, rounding, saturate, expected), every operand and result in `format`
SPECIAL_CASES = [
    ("fp16", 0x7C00, 0xFC00, "rne", False, 0x7E00),   # Inf + -Inf
    ("fp16", 0xFC00, 0x7C00, "rtz", True, 0x7E00),
    ("fp16", 0x7C00, 0x7C00, "rne", False, 0x7C00),
    ("fp16", 0x7C00, 0xFBFF, "rtz", True, 0x7C00),    # Inf operand: Inf even when saturating
    ("fp16", 0xFC00, 0x7BFF, "rup", False, 0xFC00),
    ("fp16", 0x7C01, 0x3C00, "rne", False, 0x7E00),   # sNaN in -> canonical qNaN
    ("fp16", 0x3C00, 0xFE00, "rne", False, 0x7E00),
    ("fp16", 0x7E00, 0x7C00, "rne", False, 0x7E00),
    ("fp16", 0x7BFF, 0x7BFF, "rne", False, 0x7C00),   # overflow
    ("fp16", 0x7BFF, 0x7BFF, "rne", True, 0x7BFF),
    ("fp16", 0x7BFF, 0x7BFF, "rtz", False, 0x7BFF),
    ("fp16", 0x7BFF, 0x7BFF, "rdn", False, 0x7BFF),
    ("fp16", 0x7BFF, 0x7BFF, "rup", False, 0x7C00),
    ("fp16", 0xFBFF, 0xFBFF, "rup", False, 0xFBFF),
    ("fp16", 0xFBFF, 0xFBFF, "rdn", False, 0xFC00),
    ("fp16", 0xFBFF, 0xFBFF, "rna", True, 0xFBFF),
    ("fp16", 0x7BFF, 0x4C00, "rne", False, 0x7C00),   # max + half ulp: tie, max is odd
    ("fp16", 0x7BFF, 0x4C00, "rtz", False, 0x7BFF),
    ("fp16", 0x7BFF, 0x4800, "rne", False, 0x7BFF),   # max + quarter ulp
    ("fp16", 0x7BFF, 0x4800, "rup", False, 0x7C00),
    ("fp16", 0x3C00, 0x1000, "rne", False, 0x3C00),   # 1 + 2**-11: tie to even
    ("fp16", 0x3C00, 0x1000, "rna", False, 0x3C01),
    ("fp16", 0x3C01, 0x1000, "rne", False, 0x3C02),
    ("fp16", 0x3C01, 0x1000, "rtz", False, 0x3C01),
    ("fp16", 0x3C00, 0x8C00, "rne", False, 0x3C00),   # 1 - 2**-12: tie below 1
    ("fp16", 0x3C00, 0x8C00, "rtz", False, 0x3BFF),
    ("fp16", 0x3C00, 0x8C00, "rup", False, 0x3C00),
    ("fp16", 0x3C00, 0x0001, "rup", False, 0x3C01),   # huge gap: sticky only
    ("fp16", 0x3C00, 0x8001, "rdn", False, 0x3BFF),
    ("fp16", 0x3C00, 0x8001, "rne", False, 0x3C00),
    ("fp16", 0x0200, 0x0200, "rne", False, 0x0400),   # subnormals carry into the normals
    ("fp16", 0x03FF, 0x0001, "rne", False, 0x0400),
    ("fp16", 0x0400, 0x8001, "rne", False, 0x03FF),   # normal - subnormal -> subnormal
    ("fp8_e4m3", 0x7E, 0x7E, "rne", False, 0x7F),     # 448 + 448: no Inf -> NaN
    ("fp8_e4m3", 0x7E, 0x7E, "rne", True, 0x7E),
    ("fp8_e4m3", 0xFE, 0xFE, "rtz", False, 0xFE),
    ("fp8_e4m3", 0x7E, 0x57, "rne", False, 0x7E),     # 448 + 15 = 463: below the midpoint
    ("fp8_e4m3", 0x7E, 0x5E, "rne", False, 0x7F),     # 448 + 28 = 476 -> 480 > max: NaN
    ("fp8_e4m3", 0x7E, 0x58, "rne", False, 0x7E),     # 448 + 16 = 464: tie, 448 is even
    ("fp8_e4m3", 0x7E, 0x58, "rna", False, 0x7F),     # ... away from zero: 480 -> NaN
    ("fp8_e4m3", 0x7E, 0x58, "rna", True, 0x7E),
    ("fp8_e4m3", 0x7F, 0x38, "rne", False, 0x7F),
    ("fp8_e4m3", 0xFF, 0x38, "rne", False, 0x7F),
    ("hfp8", 0x7F, 0x7F, "rne", False, 0x80),         # overflow -> the NaN
    ("hfp8", 0x7F, 0x7F, "rup", True, 0x7F),
    ("hfp8", 0x80, 0x08, "rne", False, 0x80),
    ("fp8_e5m2", 0x7B, 0x7B, "rne", False, 0x7C),
    ("fp8_e5m2", 0x7C, 0xFC, "rne", False, 0x7E),
    ("fp8_e5m2", 0x7D, 0x3C, "rne", False, 0x7E),     # sNaN
    ("e2m1fin", 0x07, 0x07, "rne", False, 0x07),      # finite-only: always saturates
    ("e2m1fin", 0x0F, 0x0F, "rup", False, 0x0F),
]


def _zero_items():
    for i, (af, bf, of, a, b, modes, want) in enumerate(ZERO_CASES):
        for mode in modes:
            for sat in (False, True):
                yield (f"{i}", af, bf, of, a, b, mode, sat, want)


def _special_items():
    for i, (f, a, b, mode, sat, want) in enumerate(SPECIAL_CASES):
        yield (f"s{i}", f, f, f, a, b, mode, sat, want)


_LITERALS = list(_zero_items()) + list(_special_items())


def test_literal_cases_references():
    """The hand-written zero-sign and special cases hold for both references (and a + b
    == b + a)."""
    for tag, af, bf, of, a, b, mode, sat, want in _LITERALS:
        a_fmt, b_fmt, o_fmt = parse(af), parse(bf), parse(of)
        r1 = frac_add(a, b, a_fmt, b_fmt, o_fmt, mode, sat)
        r2 = ref_add(a, b, a_fmt, b_fmt, o_fmt, mode, sat)
        r3 = ref_add(b, a, b_fmt, a_fmt, o_fmt, mode, sat)
        assert r1 == r2 == r3 == want, (tag, af, bf, of, hex(a), hex(b), mode, sat,
                                        hex(r1), hex(r2), hex(r3), hex(want))


def test_literal_cases():
    """arith.add on the hand-written zero-sign and special cases (literal expected codes),
    both operand orders."""
    bad = []
    for tag, af, bf, of, a, b, mode, sat, want in _LITERALS:
        a_fmt, b_fmt, o_fmt = parse(af), parse(bf), parse(of)
        for (x, xf), (y, yf) in (((a, a_fmt), (b, b_fmt)), ((b, b_fmt), (a, a_fmt))):
            got = add(np.array([x], xf.dtype), np.array([y], yf.dtype), xf, yf, o_fmt,
                      rounding=mode, saturate=sat)
            if int(got[0]) != want:
                bad.append(f"{tag}: {xf}+{yf}->{o_fmt} {x:#x}+{y:#x} {mode} sat={sat}: "
                           f"got {int(got[0]):#x} want {want:#x}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("cfg", ["fp16", "fp32+fp16->bf16", "hfp8", "dlfloat16"])
def test_add_commutes(cfg):
    """a + b == b + a (swapping the formats too), every mode."""
    a_fmt, b_fmt, o_fmt = _fmts(cfg)
    x, y = _vectors(cfg, 0, n_random=2_000, cap=3_000)
    for mode in MODES:
        assert np.array_equal(add(x, y, a_fmt, b_fmt, o_fmt, mode),
                              add(y, x, b_fmt, a_fmt, o_fmt, mode)), mode


# ---- identities -------------------------------------------------------------------------------

_CONTRACT = ["fp8_e4m3", "e4m3fn+e5m2->fp16", "fp16", "fp16+fp16->e4m3fn", "fp32", "e11m52"]


@pytest.mark.parametrize("cfg", [c for c in _CONTRACT if len(set(CONFIGS[c])) == 1])
def test_plus_zero_is_the_identity(cfg):
    """x + (+0) == x for every non-NaN x but -0 (-0 + +0 = +0 in rne); the contract of
    ``add`` itself is ``test_golden_contract.py``'s."""
    f = parse(CONFIGS[cfg][0])
    codes = corner_codes(f)
    nan = f.classify(codes) == FloatClass.NAN
    got = arith.add(codes, 0, f, f, f)
    keep = ~nan & (codes != f.sign_bit)
    assert np.array_equal(got[keep], codes[keep].astype(f.dtype))
    assert (got[nan] == f.nan_code).all()
