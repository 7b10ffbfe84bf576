"""The multiplication golden model (``fpforge.sim.arith.mul``) against three independent
references: the exact scalar reference in ``tests/reference.py``, ml_dtypes casts of exact
float32 products, and Berkeley SoftFloat (softfloatpy).  Its calling contract (dtypes,
broadcasting, bad arguments) is test_golden_contract.py's."""

from __future__ import annotations

import functools
import zlib

import numpy as np
import pytest
import softfloatpy as sf

from fpforge.sim.arith import _binary_exact, mul
from fpforge.sim.formats import FloatClass, parse
from fpforge.sim.rounding import ROUNDING_MODES
from fpforge.tb.vectors import all_pairs, corner_codes, mul_operands, random_codes

from reference import (ML8, MODES, assert_codes_equal, frac_mul, ml_types, ref_mul,
                       ref_mul_many, storage_dtype)

ML = ml_types()
assert tuple(MODES) == tuple(ROUNDING_MODES)

# config id -> (a format, b format, result format)
CONFIGS = {
    "fp16": ("fp16", "fp16", "fp16"),
    "bf16": ("bf16", "bf16", "bf16"),
    "dlfloat16": ("dlfloat16", "dlfloat16", "dlfloat16"),
    "fp32": ("fp32", "fp32", "fp32"),
    "fp8_e4m3": ("fp8_e4m3", "fp8_e4m3", "fp8_e4m3"),
    "fp8_e5m2": ("fp8_e5m2", "fp8_e5m2", "fp8_e5m2"),
    "hfp8": ("hfp8", "hfp8", "hfp8"),
    "e4m3": ("e4m3", "e4m3", "e4m3"),
    "e4m3fn*e5m2->fp16": ("fp8_e4m3", "fp8_e5m2", "fp16"),
    "e4m3fn*e4m3fn->bf16": ("fp8_e4m3", "fp8_e4m3", "bf16"),
    "fp16*fp16->e4m3fn": ("fp16", "fp16", "fp8_e4m3"),
    "fp32*fp32->fp16": ("fp32", "fp32", "fp16"),
    "e11m52": ("e11m52", "e11m52", "e11m52"),   # 106-bit product: the >64-bit path
    # further 8-bit conventions, exhaustively
    "e4m3fnuz": ("e4m3fnuz", "e4m3fnuz", "e4m3fnuz"),
    "e5m2fnuz": ("e5m2fnuz", "e5m2fnuz", "e5m2fnuz"),
    "e3m4": ("e3m4", "e3m4", "e3m4"),
    "e4m3fnns": ("e4m3fnns", "e4m3fnns", "e4m3fnns"),
    "e2m1fin": ("e2m1fin", "e2m1fin", "e2m1fin"),
    "e2m3fin*e3m2fin->e3m2fin": ("e2m3fin", "e3m2fin", "e3m2fin"),
}
EIGHT_BIT = [c for c, (a, b, _) in CONFIGS.items() if parse(a).width + parse(b).width <= 16]

RANDOM_PER_CASE = 10_000     # x 5 modes x 2 saturate = 100,000 random vectors per config
CORNER_CAP = 300_000         # larger corner cross-products (only e11m52's) are sampled
CASES = [(m, s) for m in MODES for s in (False, True)]


def _fmts(cfg):
    return tuple(parse(n) for n in CONFIGS[cfg])


def _seed(*parts) -> int:
    return zlib.crc32(repr(parts).encode())


def _targeted_operands(a_fmt, b_fmt, out_fmt, n, rng):
    """Random operands (``tb.vectors.random_codes``), half with b's exponent chosen so that
    the product lands near the result's overflow and underflow thresholds; the same mix as
    ``mul_operands``' non-corner part, for configs whose corner cross-product is too large
    for ``mul_operands`` to build (it materialises all of it first)."""
    a = random_codes(a_fmt, n, rng)
    b = random_codes(b_fmt, n, rng)
    half = n // 2
    targets = np.array([out_fmt.emax, out_fmt.emax + 1, out_fmt.emin, out_fmt.emin - 1,
                        out_fmt.emin - out_fmt.man_bits, out_fmt.emin - out_fmt.man_bits - 1])
    t = rng.choice(targets, half) + rng.integers(-2, 3, half)
    ea = ((a[:half] >> np.uint64(a_fmt.man_bits)) & np.uint64(a_fmt.exp_field_max)).astype(np.int64)
    field = np.clip(t - (ea - a_fmt.bias) + b_fmt.bias, 0, b_fmt.exp_field_max).astype(np.uint64)
    mask = np.uint64(b_fmt.exp_field_max << b_fmt.man_bits)
    b[:half] = (b[:half] & ~mask) | (field << np.uint64(b_fmt.man_bits))
    return a, b


@functools.lru_cache(maxsize=None)
def _pool(a_name, b_name, o_name, n_random, seed):
    """(every-case pairs, sampled corner pairs, random pairs), each an (a, b) tuple.

    Every-case pairs: the corner cross-product, or where it exceeds CORNER_CAP (e11m52:
    17 M pairs) all pairs of the corners other than the powers of two inside the range;
    sampled: then 300,000 random pairs of the full cross-product, for sharding over the
    cases.  Random: ``n_random`` boundary-targeted and uniform pairs from ``mul_operands``."""
    a_fmt, b_fmt, o_fmt = parse(a_name), parse(b_name), parse(o_name)
    ca, cb = corner_codes(a_fmt), corner_codes(b_fmt)
    n_corner = ca.size * cb.size
    empty = np.zeros(0, dtype=np.uint64)
    if n_corner <= CORNER_CAP:
        x, y = mul_operands(a_fmt, b_fmt, o_fmt, n_corner + n_random, seed=seed)
        assert x.size == n_corner + n_random
        return (x[:n_corner], y[:n_corner]), (empty, empty), (x[n_corner:], y[n_corner:])
    rng = np.random.default_rng(seed)

    def core(c, f):
        field = (c >> np.uint64(f.man_bits)) & np.uint64(f.exp_field_max)
        inner = (field >= 2) & (field <= f.exp_field_max - 2) & (field != f.bias)
        return c[((c & np.uint64(f.man_mask)) != 0) | ~inner]
    ka, kb = core(ca, a_fmt), core(cb, b_fmt)
    i = rng.integers(0, n_corner, 300_000)
    return ((np.repeat(ka, kb.size), np.tile(kb, ka.size)), (ca[i // cb.size], cb[i % cb.size]),
            _targeted_operands(a_fmt, b_fmt, o_fmt, n_random, rng))


def _case_vectors(cfg, case_index, n_cases=len(CASES), random_per_case=RANDOM_PER_CASE,
                  shard_corners=False):
    """Vectors for one (mode, saturate) case of a config: every corner pair (with
    ``shard_corners``, every ``n_cases``-th) plus a disjoint ``n_cases``-th of the random
    pool (interleaved, so that every case gets targeted and uniform pairs alike)."""
    a, b, o = CONFIGS[cfg]
    (cx, cy), (sx, sy), (rx, ry) = _pool(a, b, o, random_per_case * n_cases, _seed(cfg))
    if shard_corners:
        cx, cy = cx[case_index::n_cases], cy[case_index::n_cases]
    k = slice(case_index, None, n_cases)
    return np.concatenate([cx, sx[k], rx[k]]), np.concatenate([cy, sy[k], ry[k]])


def _check(got, want, a_fmt, b_fmt, o_fmt, x, y, what, nan_by_class=False):
    assert got.dtype == o_fmt.dtype, (got.dtype, o_fmt.dtype)
    assert_codes_equal(got, want, o_fmt, what, {"a": (x, a_fmt.width), "b": (y, b_fmt.width)},
                       nan_by_class=nan_by_class)


# ---- against the exact reference ------------------------------------------------------------

@pytest.mark.parametrize("saturate", [False, True], ids=["inf", "sat"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cfg", list(CONFIGS))
def test_mul_matches_reference(cfg, mode, saturate):
    """Every result bit-exact (NaN = the canonical code).  8-bit x 8-bit configs: all 65,536
    pairs; others: corner cross-product + 10,000 mul_operands random pairs per case."""
    a_fmt, b_fmt, o_fmt = _fmts(cfg)
    if cfg in EIGHT_BIT:
        x, y = all_pairs(a_fmt, b_fmt)
    else:
        x, y = _case_vectors(cfg, CASES.index((mode, saturate)))
    want = ref_mul_many(x, y, a_fmt, b_fmt, o_fmt, mode, saturate)
    exact = _binary_exact("mul", x, y, a_fmt, b_fmt, o_fmt, mode, saturate)   # the general path
    _check(exact, want, a_fmt, b_fmt, o_fmt, x, y, f"_binary_exact mul {cfg} {mode} sat={saturate}")
    got = mul(x, y, a_fmt, b_fmt, o_fmt, rounding=mode, saturate=saturate)
    _check(got, want, a_fmt, b_fmt, o_fmt, x, y, f"mul {cfg} {mode} sat={saturate}")


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c in EIGHT_BIT])
def test_table_path_equals_exact_path(cfg):
    """``mul`` indexes a table for <= 16 operand bits: same codes as the general path on
    every pair, in every mode."""
    a_fmt, b_fmt, o_fmt = _fmts(cfg)
    x, y = all_pairs(a_fmt, b_fmt)
    for mode, sat in CASES:
        got = mul(x, y, a_fmt, b_fmt, o_fmt, mode, sat)
        want = _binary_exact("mul", x, y, a_fmt, b_fmt, o_fmt, mode, sat)
        _check(got, want, a_fmt, b_fmt, o_fmt, x, y, f"table vs exact {cfg} {mode} sat={sat}")
    # and in a different element order / shape than the table's own
    perm = np.random.default_rng(3).permutation(x.size)
    got = mul(x[perm].reshape(256, -1), y[perm].reshape(256, -1), a_fmt, b_fmt, o_fmt)
    want = _binary_exact("mul", x[perm], y[perm], a_fmt, b_fmt, o_fmt, "rne", False).reshape(256, -1)
    assert np.array_equal(got, want)


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c not in EIGHT_BIT]
                         + ["fp8_e4m3", "hfp8", "e4m3fn*e5m2->fp16"])
def test_fast_reference_matches_fraction_reference(cfg):
    """The fast integer reference agrees with the definitional Fraction transcription
    (a sample of vectors, every mode and saturate)."""
    a_fmt, b_fmt, o_fmt = _fmts(cfg)
    for k, (mode, sat) in enumerate(CASES):
        x, y = (_case_vectors(cfg, k) if cfg not in EIGHT_BIT else all_pairs(a_fmt, b_fmt))
        idx = np.random.default_rng(k).choice(x.size, 120, replace=False)
        idx = np.concatenate([idx, np.arange(0, min(x.size, 30))])
        for i in idx.tolist():
            a, b = int(x[i]), int(y[i])
            want = frac_mul(a, b, a_fmt, b_fmt, o_fmt, mode, sat)
            assert ref_mul(a, b, a_fmt, b_fmt, o_fmt, mode, sat) == want, \
                (hex(a), hex(b), mode, sat)


# ---- against ml_dtypes ------------------------------------------------------------------------

_ML_MUL = [(n, n, n) for n in ML8] + [("float8_e4m3fn", "float8_e5m2", "float16"),
                                      ("float8_e4m3fn", "float8_e4m3fn", "bfloat16")]


@pytest.mark.parametrize("a,b,o", _ML_MUL, ids=[f"{a}*{b}->{o}" for a, b, o in _ML_MUL])
def test_mul_matches_ml_dtypes(a, b, o):
    """All 65,536 pairs, rne: ml_dtypes values multiplied in float32 (exact: 5-bit x 5-bit
    significands, exponents well inside float32's range), then cast by ml_dtypes/numpy."""
    a_fmt, b_fmt, o_fmt = parse(a), parse(b), parse(o)
    x, y = all_pairs(a_fmt, b_fmt)
    with np.errstate(invalid="ignore"):
        va = x.astype(np.uint8).view(ML[a]).astype(np.float32)
        vb = y.astype(np.uint8).view(ML[b]).astype(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        prod = va * vb
        exact = va.astype(np.float64) * vb.astype(np.float64)
        want = prod.astype(ML[o]).view(storage_dtype(ML[o]))
    fin = np.isfinite(exact)
    assert np.array_equal(prod[fin].astype(np.float64), exact[fin]), "float32 product inexact"
    got = mul(x, y, a_fmt, b_fmt, o_fmt)
    _check(got, want, a_fmt, b_fmt, o_fmt, x, y, f"mul vs ml_dtypes {a}*{b}->{o}",
           nan_by_class=True)


# ---- against SoftFloat ------------------------------------------------------------------------

_SF_MODE = {"rne": sf.RoundingMode.NEAR_EVEN, "rtz": sf.RoundingMode.MIN_MAG,
            "rdn": sf.RoundingMode.MIN, "rup": sf.RoundingMode.MAX,
            "rna": sf.RoundingMode.NEAR_MAX_MAG}
_INEXACT = int(sf.ExceptionFlag.INEXACT)


def _bits(x) -> int:
    return int.from_bytes(x.to_bytes(), "big")


@functools.lru_cache(maxsize=None)
def _f16_objects():
    return [sf.Float16.from_bytes(c.to_bytes(2, "big")) for c in range(1 << 16)]


@functools.lru_cache(maxsize=None)
def _bf16_as_f64():
    sf.set_rounding_mode(sf.RoundingMode.NEAR_EVEN)
    return [sf.f32_to_f64(sf.bf16_to_f32(sf.BFloat16.from_bytes(c.to_bytes(2, "big"))))
            for c in range(1 << 16)]


def _sf_f16_mul(x, y):
    objs = _f16_objects()
    return [_bits(sf.f16_mul(objs[a], objs[b])) for a, b in zip(x.tolist(), y.tolist())]


def _sf_f32_mul(x, y):
    f32 = sf.Float32.from_bytes
    return [_bits(sf.f32_mul(f32(a.to_bytes(4, "big")), f32(b.to_bytes(4, "big"))))
            for a, b in zip(x.tolist(), y.tolist())]


def _sf_bf16_mul(x, y, mode):
    """bf16 x bf16 with SoftFloat: the exact product in binary64, rounded to float32 toward
    zero with the inexact flag jammed into the LSB (round to odd: float32 keeps >= 2 more
    bits than bf16 in every binade, subnormals included), then float32 -> bf16 in ``mode``."""
    f64 = _bf16_as_f64()
    rtz, target = sf.RoundingMode.MIN_MAG, _SF_MODE[mode]
    out = []
    for a, b in zip(x.tolist(), y.tolist()):
        sf.set_rounding_mode(rtz)
        sf.set_exception_flags(0)
        p = sf.f64_mul(f64[a], f64[b])
        assert not sf.get_exception_flags() & _INEXACT, (hex(a), hex(b))   # exact product
        s = sf.f64_to_f32(p)
        if sf.get_exception_flags() & _INEXACT:
            s = sf.Float32.from_bytes((_bits(s) | 1).to_bytes(4, "big"))
        sf.set_rounding_mode(target)
        out.append(_bits(sf.f32_to_bf16(s)))
    return out


# (format, SoftFloat product, random pairs per mode, shard the corner cross-product over modes)
_SF = {"fp16": (lambda x, y, m: _sf_f16_mul(x, y), 32_000, False),
       "fp32": (lambda x, y, m: _sf_f32_mul(x, y), 20_000, True),
       "bf16": (_sf_bf16_mul, 20_000, True)}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fmt_name", list(_SF))
def test_mul_matches_softfloat(fmt_name, mode):
    """fp16 (f16_mul), fp32 (f32_mul) and bf16 (round-to-odd recipe); non-NaN results
    bit-exact, NaN by class.  fp16: corners + 32,000 random pairs per mode (>= 200,000);
    fp32/bf16: a fifth of the corner cross-product + 20,000 random pairs per mode."""
    func, n_random, shard = _SF[fmt_name]
    fmt = parse(fmt_name)
    x, y = _case_vectors(fmt_name, MODES.index(mode), n_cases=len(MODES),
                         random_per_case=n_random, shard_corners=shard)
    assert x.size >= n_random
    old = sf.get_rounding_mode()
    try:
        sf.set_rounding_mode(_SF_MODE[mode])
        want = np.array(func(x, y, mode), dtype=np.uint64)
    finally:
        sf.set_rounding_mode(old)
    got = mul(x, y, fmt, fmt, fmt, rounding=mode)
    _check(got, want, fmt, fmt, fmt, x, y, f"mul vs SoftFloat {fmt_name} {mode}",
           nan_by_class=True)


# ---- the exact path, identities ----------------------------------------------------------------

_CONTRACT = ["fp8_e4m3", "e4m3fn*e5m2->fp16", "fp16", "fp16*fp16->e4m3fn", "fp32", "e11m52"]


def _one(f) -> int:
    return f.bias << f.man_bits


@pytest.mark.parametrize("cfg", _CONTRACT)
def test_exact_path_keeps_the_dtype_contract(cfg):
    """The general (exact) path returns what ``mul`` does (``test_golden_contract.py``
    holds the contract of ``mul`` itself)."""
    a_fmt, b_fmt, o_fmt = _fmts(cfg)
    ca, cb = corner_codes(a_fmt), corner_codes(b_fmt)
    n = min(ca.size, cb.size)
    out = _binary_exact("mul", ca[:n], cb[:n], a_fmt, b_fmt, o_fmt, "rne", False)
    assert isinstance(out, np.ndarray) and out.dtype == o_fmt.dtype and out.shape == (n,)
    assert out.tolist() == mul(ca[:n], cb[:n], a_fmt, b_fmt, o_fmt).tolist()


@pytest.mark.parametrize("cfg", [c for c in _CONTRACT if len(set(CONFIGS[c])) == 1])
def test_times_one_is_the_identity(cfg):
    """x * 1.0 == x for every non-NaN x."""
    f = _fmts(cfg)[0]
    codes = corner_codes(f)
    nan = f.classify(codes) == FloatClass.NAN
    got = mul(codes, _one(f), f, f, f)
    assert np.array_equal(got[~nan], codes[~nan].astype(f.dtype))
    assert (got[nan] == f.nan_code).all()


def test_specials_contract():
    """Hand-written IEEE special cases (literal expected codes)."""
    f = parse("fp16")
    one, inf, nan, zero, mx = 0x3C00, 0x7C00, 0x7E00, 0x0000, 0x7BFF
    cases = [  # a, b, rounding, saturate, expected
        (inf, zero, "rne", False, nan), (zero | 0x8000, inf, "rtz", True, nan),
        (0x7C01, one, "rne", False, nan), (0xFE00, one, "rne", False, nan),
        (inf, 0xBC00, "rne", True, 0xFC00), (inf, 0x0001, "rtz", True, inf),
        (mx, 0x4000, "rne", False, inf), (mx, 0x4000, "rne", True, mx),
        (mx, 0x4000, "rtz", False, mx), (mx, 0xC000, "rup", False, 0xFBFF),
        (mx, 0xC000, "rdn", False, 0xFC00), (mx, 0x4000, "rdn", False, mx),
        (mx, 0x4000, "rup", False, inf), (zero, 0xBC00, "rne", False, 0x8000),
        (0x8000, 0x8000, "rne", False, 0x0000), (0x0001, 0x0001, "rne", False, 0x0000),
        (0x0001, 0x8001, "rne", False, 0x8000), (0x0001, 0x0001, "rup", False, 0x0001),
        (0x0001, 0x8001, "rdn", False, 0x8001), (0x0001, 0x3800, "rne", False, 0x0000),
        (0x0003, 0x3800, "rne", False, 0x0002), (0x0001, 0x3800, "rna", False, 0x0001),
        (0x3C01, 0x3C01, "rne", False, 0x3C02), (0x3C01, 0x3C01, "rup", False, 0x3C03),
    ]
    for a, b, r, s, want in cases:
        got = mul(np.array([a], np.uint16), np.array([b], np.uint16), f, f, f, r, s)
        assert int(got[0]) == want, (hex(a), hex(b), r, s, hex(int(got[0])), hex(want))
    # formats without Inf: overflow and Inf*x give NaN, fnuz has no -0
    e4 = parse("fp8_e4m3")
    assert mul([0x7E], [0x7E], e4, e4, e4).tolist() == [0x7F]          # 448*448
    assert mul([0x7E], [0x7E], e4, e4, e4, saturate=True).tolist() == [0x7E]
    assert mul([0x7E], [0xFE], e4, e4, e4, "rtz").tolist() == [0xFE]
    h = parse("hfp8")
    assert mul([0x00], [0x88], h, h, h).tolist() == [0x00]             # 0 * -x = +0
    assert mul([0x7F], [0x7F], h, h, h).tolist() == [0x80]             # overflow -> NaN
    assert mul([0x01], [0x81], h, h, h).tolist() == [0x00]             # -tiny -> +0
    # Inf operand into a result format without Inf: NaN, even when saturating
    assert mul([0x7C00], [0x3C00], "fp16", "fp16", "fp8_e4m3", saturate=True).tolist() == [0x7F]
