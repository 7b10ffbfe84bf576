"""The multiply-add golden model (``fpforge.sim.arith.fma``) against independent references:
the exact references in ``tests/reference.py`` (``frac_fma``: Fractions, ``ref_fma``: fast
integers) and Berkeley SoftFloat (softfloatpy ``f16_mul_add``/``f32_mul_add``; bf16 through
binary64 round-to-odd; narrow operands widened exactly).  Fused (one rounding) and unfused
(the product rounded to ``prod_fmt`` first), literal special/zero-sign cases, and the
shape/dtype contract.

``arith.fma`` is looked up at call time, so the tests of the references themselves run (and
pass) whether or not the golden fma exists yet."""

from __future__ import annotations

import functools
import zlib

import numpy as np
import pytest

from fpforge.sim import arith
from fpforge.sim.formats import FloatClass, parse
from fpforge.tb.vectors import corner_codes

from reference import (MODES, NAN, assert_codes_equal, fma_operands, frac_fma, ref_fma,
                       ref_fma_many, softfloat_run, spec, widen_code)


def fma(*args, **kwargs):
    """``arith.fma``, looked up now (it may land after this module is imported)."""
    return arith.fma(*args, **kwargs)


# config id -> (a, b, c, result format)
CONFIGS = {
    "fp16": ("fp16", "fp16", "fp16", "fp16"),
    "bf16": ("bf16", "bf16", "bf16", "bf16"),
    "fp32": ("fp32", "fp32", "fp32", "fp32"),
    "dlfloat16": ("dlfloat16", "dlfloat16", "dlfloat16", "dlfloat16"),
    "fp8_e4m3": ("fp8_e4m3", "fp8_e4m3", "fp8_e4m3", "fp8_e4m3"),
    "hfp8": ("hfp8", "hfp8", "hfp8", "hfp8"),
    "e4m3": ("e4m3", "e4m3", "e4m3", "e4m3"),
    "e4m3fn*e5m2+fp16->fp16": ("fp8_e4m3", "fp8_e5m2", "fp16", "fp16"),
    "e4m3fn*e4m3fn+fp32->fp32": ("fp8_e4m3", "fp8_e4m3", "fp32", "fp32"),
    "e5m2*e5m2+fp16->bf16": ("fp8_e5m2", "fp8_e5m2", "fp16", "bf16"),
    "fp16*fp16+fp32->fp32": ("fp16", "fp16", "fp32", "fp32"),
    "bf16*bf16+fp32->fp32": ("bf16", "bf16", "fp32", "fp32"),
    "fp16*fp16+fp16->e4m3fn": ("fp16", "fp16", "fp16", "fp8_e4m3"),
    "fp32*fp32+fp16->fp16": ("fp32", "fp32", "fp16", "fp16"),
    "e11m30": ("e11m30", "e11m30", "e11m30", "e11m30"),   # 62-bit significand products
}

# unfused config id -> (a, b, c, result, product format)
UNFUSED = {
    "fp16|p=fp16": ("fp16", "fp16", "fp16", "fp16", "fp16"),
    "fp32|p=fp32": ("fp32", "fp32", "fp32", "fp32", "fp32"),
    "bf16*bf16+fp32->fp32|p=bf16": ("bf16", "bf16", "fp32", "fp32", "bf16"),
    "e4m3fn*e4m3fn+fp32->fp32|p=bf16": ("fp8_e4m3", "fp8_e4m3", "fp32", "fp32", "bf16"),
    "e4m3fn*e5m2+fp16->fp16|p=fp16": ("fp8_e4m3", "fp8_e5m2", "fp16", "fp16", "fp16"),
    "fp16*fp16+fp16->fp16|p=e4m3fn": ("fp16", "fp16", "fp16", "fp16", "fp8_e4m3"),
    "hfp8|p=hfp8": ("hfp8", "hfp8", "hfp8", "hfp8", "hfp8"),
    "dlfloat16|p=dlfloat16": ("dlfloat16", "dlfloat16", "dlfloat16", "dlfloat16", "dlfloat16"),
    # the exact product fits fp32: unfused == fused
    "e4m3fn*e5m2+fp16->fp16|p=fp32": ("fp8_e4m3", "fp8_e5m2", "fp16", "fp16", "fp32"),
}
EXACT_PRODUCT = ["e4m3fn*e5m2+fp16->fp16|p=fp32"]

CASES = [(m, s) for m in MODES for s in (False, True)]
CORNER_PER_CASE = 2_500     # sampled corner triples per case
RANDOM_PER_CASE = 2_500     # fma_operands triples per case


def _seed(*parts) -> int:
    return zlib.crc32(repr(parts).encode())


@functools.lru_cache(maxsize=None)
def _corner_triples(a, b, c, n, seed):
    """``n`` triples of corner codes (the whole cross-product when it is smaller)."""
    ca, cb, cc = (corner_codes(parse(f)) for f in (a, b, c))
    total = ca.size * cb.size * cc.size
    if total <= n:
        i = np.arange(total)
    else:
        i = np.random.default_rng(seed).choice(total, n, replace=False)
    return ca[i // (cb.size * cc.size)], cb[(i // cc.size) % cb.size], cc[i % cc.size]


def _vectors(names, case_index, n_corner=CORNER_PER_CASE, n_random=RANDOM_PER_CASE):
    a, b, c, o = names[:4]
    fa, fb, fc, fo = (parse(f) for f in (a, b, c, o))
    x0, y0, z0 = _corner_triples(a, b, c, n_corner, _seed(names, "corner", case_index))
    x1, y1, z1 = fma_operands(fa, fb, fc, fo, n_random, seed=_seed(names, case_index))
    return np.concatenate([x0, x1]), np.concatenate([y0, y1]), np.concatenate([z0, z1])


def _check(got, want, fmts, x, y, z, what, nan_by_class=False, dtype=True):
    fa, fb, fc, fo = fmts
    assert isinstance(got, np.ndarray), type(got)
    if dtype:
        assert got.dtype == fo.dtype, (got.dtype, fo.dtype)
    assert_codes_equal(got, want, fo, what, {"a": (x, fa.width), "b": (y, fb.width),
                                             "c": (z, fc.width)}, nan_by_class=nan_by_class)


# ---- against the exact reference ------------------------------------------------------------

@pytest.mark.parametrize("saturate", [False, True], ids=["inf", "sat"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cfg", list(CONFIGS))
def test_fma_matches_reference(cfg, mode, saturate):
    """Fused: every result bit-exact (NaN = the canonical code).  2,500 sampled corner
    triples + 2,500 fma_operands triples (products near the result's thresholds, c close
    to -(a*b), near and far exponents, +-0 c, ties) per case."""
    names = CONFIGS[cfg]
    fmts = tuple(parse(n) for n in names)
    x, y, z = _vectors(names, CASES.index((mode, saturate)))
    want = ref_fma_many(x, y, z, *fmts, mode, saturate)
    got = fma(x, y, z, *fmts, rounding=mode, saturate=saturate)
    _check(got, want, fmts, x, y, z, f"fma {cfg} {mode} sat={saturate}")


@pytest.mark.parametrize("saturate", [False, True], ids=["inf", "sat"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cfg", list(UNFUSED))
def test_unfused_fma_matches_reference(cfg, mode, saturate):
    """fused=False: round(round(a*b -> prod_fmt) + c -> out), both roundings in the same
    mode and saturate; 2,000 + 2,000 triples per case."""
    names = UNFUSED[cfg]
    fmts = tuple(parse(n) for n in names[:4])
    p_fmt = parse(names[4])
    x, y, z = _vectors(names, CASES.index((mode, saturate)), 2_000, 2_000)
    want = ref_fma_many(x, y, z, *fmts, mode, saturate, fused=False, prod_fmt=p_fmt)
    if cfg in EXACT_PRODUCT:
        assert np.array_equal(want, ref_fma_many(x, y, z, *fmts, mode, saturate))
    got = fma(x, y, z, *fmts, rounding=mode, saturate=saturate, fused=False, prod_fmt=p_fmt)
    _check(got, want, fmts, x, y, z, f"unfused fma {cfg} {mode} sat={saturate}")


@pytest.mark.parametrize("cfg", list(CONFIGS) + list(UNFUSED))
def test_fast_fma_reference_matches_fraction_reference(cfg):
    """ref_fma agrees with the definitional Fraction frac_fma on a sample of the vectors
    (every mode and saturate; fused, or unfused for the UNFUSED configs)."""
    unfused = cfg in UNFUSED
    names = UNFUSED[cfg] if unfused else CONFIGS[cfg]
    fmts = tuple(parse(n) for n in names[:4])
    p_fmt = parse(names[4]) if unfused else None
    for k, (mode, sat) in enumerate(CASES):
        x, y, z = _vectors(names, k, 2_000, 2_000) if unfused else _vectors(names, k)
        idx = np.random.default_rng(k).choice(x.size, 20, replace=False)
        idx = np.concatenate([idx, np.arange(x.size - 6, x.size)])
        for i in idx.tolist():
            a, b, c = int(x[i]), int(y[i]), int(z[i])
            want = frac_fma(a, b, c, *fmts, mode, sat, fused=not unfused, prod_fmt=p_fmt)
            got = ref_fma(a, b, c, *fmts, mode, sat, fused=not unfused, prod_fmt=p_fmt)
            assert got == want, (cfg, hex(a), hex(b), hex(c), mode, sat, hex(got), hex(want))


def test_fma_operands_cover_the_hard_cases():
    """The generated fp16 triples contain exact cancellation to zero, results far below c
    (massive cancellation), exact ties, overflow and subnormal results (by ref_fma)."""
    f = parse("fp16")
    x, y, z = fma_operands(f, f, f, f, 20_000, seed=1)
    got = ref_fma_many(x, y, z, f, f, f, f, "rne")
    cls = f.classify(got)
    assert (cls == FloatClass.ZERO).sum() > 100
    assert (cls == FloatClass.SUBNORMAL).sum() > 200
    assert ((got & np.uint64(0x7FFF)) == f.inf_code).sum() > 100
    assert (got != ref_fma_many(x, y, z, f, f, f, f, "rna")).sum() > 100      # ties
    ex = lambda c: (c.astype(np.int64) >> 10) & 31  # noqa: E731
    fin = (cls == FloatClass.NORMAL) & (ex(z) < 31) & (ex(x) < 31) & (ex(y) < 31)
    assert (fin & (ex(got) + 8 < ex(z))).sum() > 100


# ---- against SoftFloat ------------------------------------------------------------------------

# config -> (SoftFloat op, formats a, b, c, out, the SoftFloat format the operands are
#            widened to (None: native), random triples per mode, corner triples per mode)
_SF = {
    "fp16": ("f16_mul_add", ("fp16",) * 4, None, 14_000, 6_000),
    "fp32": ("f32_mul_add", ("fp32",) * 4, None, 6_000, 3_000),
    "bf16": ("bf16_mul_add", ("bf16",) * 4, None, 4_000, 2_000),
    "e4m3fn*e5m2+fp16->fp16": ("f16_mul_add", ("fp8_e4m3", "fp8_e5m2", "fp16", "fp16"),
                               "fp16", 3_000, 2_000),
    "e4m3fn*e4m3fn+fp32->fp32": ("f32_mul_add", ("fp8_e4m3", "fp8_e4m3", "fp32", "fp32"),
                                 "fp32", 3_000, 2_000),
    "fp16*fp16+fp32->fp32": ("f32_mul_add", ("fp16", "fp16", "fp32", "fp32"), "fp32",
                             3_000, 2_000),
    "bf16*bf16+fp32->fp32": ("f32_mul_add", ("bf16", "bf16", "fp32", "fp32"), "fp32",
                             3_000, 2_000),
}


@functools.lru_cache(maxsize=None)
def _sf_case(cfg, mode):
    """(a, b, c, SoftFloat result) for one config and mode."""
    op, names, wide, n_random, n_corner = _SF[cfg]
    x, y, z = _vectors(names, MODES.index(mode), n_corner, n_random)
    args = [x, y, z]
    if wide is not None:
        w = parse(wide)
        args = [np.array([widen_code(v, parse(n), w) for v in arr.tolist()], dtype=np.uint64)
                for arr, n in zip(args, names[:3])]
    return x, y, z, softfloat_run(op, mode, *args)[0]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cfg", list(_SF))
def test_fma_references_match_softfloat(cfg, mode):
    """The references themselves against SoftFloat: ref_fma on every third vector,
    frac_fma on 60 of them; non-NaN bit-exact, NaN by class."""
    names = _SF[cfg][1]
    fmts = tuple(parse(n) for n in names)
    x, y, z, want = _sf_case(cfg, mode)
    sel = np.arange(0, x.size, 3)
    got = ref_fma_many(x[sel], y[sel], z[sel], *fmts, mode)
    _check(got, want[sel], fmts, x[sel], y[sel], z[sel],
           f"ref_fma vs SoftFloat {cfg} {mode}", nan_by_class=True, dtype=False)
    s = spec(fmts[3])
    for i in np.random.default_rng(_seed(cfg, mode)).choice(x.size, 60, False).tolist():
        a, b, c, w = int(x[i]), int(y[i]), int(z[i]), int(want[i])
        r = frac_fma(a, b, c, *fmts, mode)
        assert r == w or (s.decode(r)[0] == NAN and s.decode(w)[0] == NAN), \
            (cfg, hex(a), hex(b), hex(c), mode, hex(r), hex(w))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cfg", list(_SF))
def test_fma_matches_softfloat(cfg, mode):
    """arith.fma (fused) against SoftFloat: fp16 20,000 triples per mode (100,000 in all),
    fp32 9,000, bf16 6,000, mixed-format 5,000; non-NaN bit-exact, NaN by class."""
    fmts = tuple(parse(n) for n in _SF[cfg][1])
    x, y, z, want = _sf_case(cfg, mode)
    got = fma(x, y, z, *fmts, rounding=mode)
    _check(got, want, fmts, x, y, z, f"fma vs SoftFloat {cfg} {mode}", nan_by_class=True)


# ---- literal cases ----------------------------------------------------------------------------

_ALL = MODES
_NOT_RDN = ("rne", "rtz", "rna", "rup")
ONE, INF, QNAN, MAX = 0x3C00, 0x7C00, 0x7E00, 0x7BFF

# fp16 a*b + c: (a, b, c, modes, fused result, unfused result with prod_fmt fp16)
FP16_CASES = [
    (0x0000, INF, ONE, _ALL, QNAN, QNAN),                 # 0 * Inf
    (INF, 0x8000, QNAN, _ALL, QNAN, QNAN),
    (INF, ONE, INF | 0x8000, _ALL, QNAN, QNAN),           # Inf - Inf
    (INF, 0xBC00, INF, _ALL, QNAN, QNAN),
    (INF, ONE, INF, _ALL, INF, INF),
    (INF, 0xBC00, MAX, _ALL, INF | 0x8000, INF | 0x8000),
    (ONE, ONE, INF | 0x8000, _ALL, INF | 0x8000, INF | 0x8000),
    (MAX, 0x4000, INF | 0x8000, ("rne", "rna", "rup"), INF | 0x8000, QNAN),  # unfused: Inf-Inf
    (MAX, 0x4000, INF | 0x8000, ("rtz", "rdn"), INF | 0x8000, INF | 0x8000),
    (0x7C01, ONE, ONE, _ALL, QNAN, QNAN),                 # sNaN
    (ONE, ONE, 0xFD00, _ALL, QNAN, QNAN),
    # no intermediate overflow when fused: max * 2 - max = max
    (MAX, 0x4000, MAX | 0x8000, ("rne",), MAX, INF),
    (MAX, 0x4000, MAX | 0x8000, ("rtz",), MAX, 0x0000),    # unfused: max*2 -> max, - max = 0
    # no intermediate rounding: (1+2**-10)**2 - (1+2**-9) = 2**-20
    (0x3C01, 0x3C01, 0xBC02, ("rne", "rtz", "rna"), 0x0010, 0x0000),
    (0x3C01, 0x3C01, 0xBC02, ("rup",), 0x0010, 0x1400),      # unfused: p = 1 + 3*2**-10
    (0x3C01, 0x3C01, 0xBC02, ("rdn",), 0x0010, 0x8000),
    # zero signs (IEEE 754 section 6.3)
    (0x0000, 0xBC00, 0x0000, _NOT_RDN, 0x0000, 0x0000),   # (-0) + (+0)
    (0x0000, 0xBC00, 0x0000, ("rdn",), 0x8000, 0x8000),
    (0x8000, ONE, 0x8000, _ALL, 0x8000, 0x8000),          # (-0) + (-0)
    (0x8000, 0x8000, 0x8000, _NOT_RDN, 0x0000, 0x0000),   # (+0) + (-0)
    (0x8000, 0x8000, 0x8000, ("rdn",), 0x8000, 0x8000),
    (0x0000, 0x0000, 0x0000, _ALL, 0x0000, 0x0000),
    (ONE, ONE, 0xBC00, _NOT_RDN, 0x0000, 0x0000),         # exact cancellation
    (ONE, ONE, 0xBC00, ("rdn",), 0x8000, 0x8000),
    # a nonzero product that rounds away keeps the exact result's sign: 2**-14 * 2**-14
    # (unfused: the product rounds to a zero first, and zero + zero follows 6.3)
    (0x0400, 0x0400, 0x8000, ("rne", "rtz"), 0x0000, 0x0000),
    (0x0400, 0x0400, 0x8000, ("rdn",), 0x0000, 0x8000),
    (0x0400, 0x0400, 0x8000, ("rup",), 0x0001, 0x0001),
    (0x8400, 0x0400, 0x0000, ("rne", "rtz", "rup"), 0x8000, 0x0000),
    (0x8400, 0x0400, 0x0000, ("rdn",), 0x8001, 0x8001),
    # sticky from a product far below c (unfused: the product rounds to +-2**-24 first)
    (0x0400, 0x0400, ONE, ("rup",), 0x3C01, 0x3C01),
    (0x0400, 0x8400, ONE, ("rdn",), 0x3BFF, 0x3BFF),
    (0x0400, 0x0400, ONE, ("rne", "rtz", "rna", "rdn"), ONE, ONE),
]


def _fp16_items():
    for i, (a, b, c, modes, fused, unfused) in enumerate(FP16_CASES):
        for mode in modes:
            yield i, a, b, c, mode, fused, unfused


# other formats: (a, b, c, out formats, a, b, c, mode, saturate, expected)
OTHER_CASES = [
    ("fp8_e4m3",) * 4 + (0x7E, 0x38, 0x7E, "rne", False, 0x7F),   # 448*1 + 448 -> NaN
    ("fp8_e4m3",) * 4 + (0x7E, 0x38, 0x7E, "rne", True, 0x7E),
    ("fp8_e4m3",) * 4 + (0x7E, 0xB8, 0xFE, "rtz", False, 0xFE),
    ("fp8_e4m3",) * 4 + (0x7F, 0x00, 0x38, "rne", False, 0x7F),
    ("fp8_e4m3",) * 4 + (0x38, 0xB8, 0x38, "rdn", False, 0x80),
    ("hfp8",) * 4 + (0x48, 0x48, 0xB8, "rdn", False, 0x00),         # fnuz: +0 only
    ("hfp8",) * 4 + (0x00, 0x88, 0x00, "rdn", False, 0x00),
    ("hfp8",) * 4 + (0x7F, 0x7F, 0x00, "rne", False, 0x80),         # overflow -> the NaN
    ("fp8_e4m3", "fp8_e5m2", "fp16", "fp16", 0x7E, 0x7B, 0x0000, "rne", False, 0x7C00),
    ("fp8_e4m3", "fp8_e5m2", "fp16", "fp16", 0x7E, 0x7B, 0x0000, "rne", True, 0x7BFF),
    ("fp8_e4m3", "fp8_e5m2", "fp16", "fp16", 0x7F, 0x3C, 0x3C00, "rne", False, 0x7E00),
    ("fp8_e4m3", "fp8_e5m2", "fp16", "fp16", 0x38, 0x7C, 0xFC00, "rne", False, 0x7E00),
    ("fp8_e4m3", "fp8_e5m2", "fp16", "fp16", 0x00, 0x7C, 0x3C00, "rne", False, 0x7E00),
    ("fp8_e4m3", "fp8_e4m3", "fp32", "fp32", 0x80, 0x38, 0x80000000, "rne", False,
     0x80000000),
    ("fp8_e4m3", "fp8_e4m3", "fp32", "fp32", 0x80, 0x38, 0x00000000, "rne", False,
     0x00000000),
    ("fp8_e4m3", "fp8_e4m3", "fp32", "fp32", 0x80, 0x38, 0x00000000, "rdn", False,
     0x80000000),
    ("fp16", "fp16", "fp16", "fp8_e4m3", 0x7BFF, 0x3C00, 0x0000, "rne", False, 0x7F),
    ("dlfloat16",) * 4 + (0x0201, 0x3E00, 0x8002, "rne", False, 0x0000),  # 2**emin: flush
    ("dlfloat16",) * 4 + (0x0201, 0x3E00, 0x8001, "rup", False, 0x0001),
]


def test_literal_cases_references():
    """The hand-written cases hold for both references (fused and unfused)."""
    f = parse("fp16")
    fmts = (f, f, f, f)
    for i, a, b, c, mode, fused, unfused in _fp16_items():
        for sat in (False, True):
            r = (frac_fma(a, b, c, *fmts, mode, sat), ref_fma(a, b, c, *fmts, mode, sat))
            assert r == (fused, fused), (i, hex(a), hex(b), hex(c), mode, sat, r, hex(fused))
        r = (frac_fma(a, b, c, *fmts, mode, False, False, f),
             ref_fma(a, b, c, *fmts, mode, False, False, f))
        assert r == (unfused, unfused), (i, hex(a), hex(b), hex(c), mode, r, hex(unfused))
    for *names, a, b, c, mode, sat, want in OTHER_CASES:
        fm = tuple(parse(n) for n in names)
        r = (frac_fma(a, b, c, *fm, mode, sat), ref_fma(a, b, c, *fm, mode, sat))
        assert r == (want, want), (names, hex(a), hex(b), hex(c), mode, sat, r, hex(want))


def test_literal_cases():
    """arith.fma on the hand-written cases (literal expected codes)."""
    f = parse("fp16")
    bad = []

    def one(fmts, a, b, c, mode, sat, want, **kw):
        got = fma(np.array([a], fmts[0].dtype), np.array([b], fmts[1].dtype),
                  np.array([c], fmts[2].dtype), *fmts, rounding=mode, saturate=sat, **kw)
        if int(got[0]) != want:
            bad.append(f"{'/'.join(map(str, fmts))} {kw} {a:#x}*{b:#x}+{c:#x} {mode} "
                       f"sat={sat}: got {int(got[0]):#x} want {want:#x}")

    for i, a, b, c, mode, fused, unfused in _fp16_items():
        for sat in (False, True):
            one((f,) * 4, a, b, c, mode, sat, fused)
        one((f,) * 4, a, b, c, mode, False, unfused, fused=False, prod_fmt=f)
        one((f,) * 4, b, a, c, mode, False, unfused, fused=False, prod_fmt="fp16")
    for *names, a, b, c, mode, sat, want in OTHER_CASES:
        one(tuple(parse(n) for n in names), a, b, c, mode, sat, want)
    assert not bad, "\n".join(bad)


def test_unfused_product_format_is_checked():
    """An unknown product format is refused (the calling contract of ``fma`` itself is
    ``test_golden_contract.py``'s)."""
    with pytest.raises(ValueError):
        fma([0], [0], [0], "fp16", "fp16", "fp16", "fp16", fused=False, prod_fmt="nope")
