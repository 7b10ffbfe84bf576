"""FloatFormat: decoding, classification and encoding against ml_dtypes / numpy, the preset
table, and the format-string grammar."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from fpforge.sim.formats import PRESETS, FloatClass, FloatFormat, parse
from fpforge.sim.rounding import ROUNDING_MODES

from reference import (ML8, ML_SUB8, NAN, INF, assert_codes_equal, float_data, ml_types,
                       ref_decode, ref_value, storage_dtype)

ML = ml_types()
ML_ALL = ML8 + ["bfloat16", "float16"] + ML_SUB8


def _all_codes(name):
    """Every code of an ml_dtypes / numpy type, as storage integers."""
    fmt = parse(name)
    return np.arange(1 << fmt.width, dtype=storage_dtype(ML[name]))


def _ml_values(codes, name):
    with np.errstate(invalid="ignore"):  # signalling NaNs
        return codes.view(ML[name]).astype(np.float64)


def _assert_same_floats(got, want, codes, what):
    """Equal float64 arrays: NaN where the other is NaN, equal values, equal zero signs."""
    nan_g, nan_w = np.isnan(got), np.isnan(want)
    bad = (nan_g != nan_w) | (~nan_w & ((got != want) | (np.signbit(got) != np.signbit(want))))
    idx = np.flatnonzero(bad)
    assert idx.size == 0, f"{what}: {idx.size} codes differ, e.g. " + ", ".join(
        f"{int(codes[i]):#x}: got {got[i]!r} want {want[i]!r}" for i in idx[:20])


# ---- decoding and classification ------------------------------------------------------------

@pytest.mark.parametrize("name", ML_ALL)
def test_decode_every_code_matches_ml_dtypes(name):
    fmt = parse(name)
    codes = _all_codes(name)
    want = _ml_values(codes, name)
    got = fmt.decode(codes)
    assert got.dtype == np.float64
    _assert_same_floats(got, want, codes, f"decode {name}")


@pytest.mark.parametrize("name", ML_ALL)
def test_reference_decoder_matches_ml_dtypes(name):
    """The test reference's own field decoder (tests/reference.py) is right too."""
    fmt = parse(name)
    codes = _all_codes(name)
    want = _ml_values(codes, name)
    got = np.array([float(v) if not isinstance(v, float) else v
                    for v in (ref_value(fmt, c) for c in codes.tolist())])
    # ref_value gives Fraction(0) for both zeros: restore the sign bit for comparison
    neg = (codes.astype(np.uint64) >> np.uint64(fmt.width - 1)) == 1
    got = np.where((got == 0) & neg, -0.0, got)
    _assert_same_floats(got, want, codes, f"reference decode {name}")


@pytest.mark.parametrize("name", ML_ALL)
def test_classify_every_code_matches_ml_dtypes(name):
    fmt = parse(name)
    codes = _all_codes(name)
    v = _ml_values(codes, name)
    finfo = ml_dtypes.finfo(ML[name])
    want = np.full(codes.shape, FloatClass.NORMAL, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        want[np.abs(v) < float(finfo.smallest_normal)] = FloatClass.SUBNORMAL
    want[v == 0] = FloatClass.ZERO
    want[np.isinf(v)] = FloatClass.INF
    want[np.isnan(v)] = FloatClass.NAN
    got = fmt.classify(codes)
    assert got.dtype == np.int8
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, [(hex(int(codes[i])), int(got[i]), int(want[i])) for i in bad[:20]]


@pytest.mark.parametrize("name", ML8 + ML_SUB8)
def test_value_every_code_matches_ml_dtypes(name):
    """FloatFormat.value: exact Fraction (or float inf/nan) for every code."""
    fmt = parse(name)
    for c, w in zip(_all_codes(name).tolist(), _ml_values(_all_codes(name), name).tolist()):
        got = fmt.value(c)
        if math.isnan(w):
            assert isinstance(got, float) and math.isnan(got), (hex(c), got)
        elif math.isinf(w):
            assert got == w and isinstance(got, float), (hex(c), got)
        else:
            assert isinstance(got, Fraction) and got == Fraction(w), (hex(c), got, w)


@pytest.mark.parametrize("name", ["fp16", "bf16", "dlfloat16", "hfp8", "e5m10ns", "e4m3fnns",
                                  "e3m4b1", "e2m3fin", "e4m3b-2fnuz"])
def test_value_matches_reference_decoder(name):
    """FloatFormat.value and the reference decoder agree on formats ml_dtypes lacks (every
    code; every 7th for 16-bit formats to keep it quick)."""
    fmt = parse(name)
    step = 7 if fmt.width > 8 else 1
    for c in range(0, 1 << fmt.width, step):
        got, want = fmt.value(c), ref_value(fmt, c)
        if isinstance(want, float) and math.isnan(want):
            assert isinstance(got, float) and math.isnan(got), hex(c)
        else:
            assert got == want, (hex(c), got, want)


@pytest.mark.parametrize("mode", ["rne", "rtz", "rna", "rup", "rdn"])
def test_encode_binary64_is_the_identity(mode):
    """e11m52 is binary64: every float64 (corner and random bit patterns, subnormals, both
    zeros and infinities) encodes to its own bit pattern in every mode, NaN to the
    canonical NaN (a 52-bit fraction is never rounded: this once came out one ulp low)."""
    from fpforge.tb.vectors import corner_codes
    fmt = parse("e11m52")
    rng = np.random.default_rng(12)
    codes = np.concatenate([corner_codes(fmt), rng.integers(0, 2 ** 64 - 1, 100_000,
                                                             dtype=np.uint64)])
    values = codes.view(np.float64)
    got = fmt.encode(values, mode)
    nan = np.isnan(values)
    assert np.array_equal(got[~nan], codes[~nan])
    assert set(got[nan].tolist()) == {fmt.nan_code}


@pytest.mark.parametrize("name,dtype", [("fp32", np.float32), ("e11m52", np.float64)])
def test_decode_wide_ieee_matches_numpy(name, dtype):
    """fp32 and e11m52 (binary64): corner codes and random codes decode as numpy does."""
    fmt = parse(name)
    st = storage_dtype(np.dtype(dtype))
    rng = np.random.default_rng(11)
    codes = rng.integers(0, np.iinfo(st).max, 200_000, dtype=st, endpoint=True)
    from fpforge.tb.vectors import corner_codes
    codes = np.concatenate([corner_codes(fmt).astype(st), codes])
    with np.errstate(invalid="ignore"):  # signalling NaNs
        want = codes.view(dtype).astype(np.float64)
    _assert_same_floats(fmt.decode(codes), want, codes, f"decode {name}")
    cls = fmt.classify(codes)
    assert np.array_equal(cls == FloatClass.NAN, np.isnan(want))
    assert np.array_equal(cls == FloatClass.INF, np.isinf(want))
    assert np.array_equal(cls == FloatClass.ZERO, want == 0)
    with np.errstate(invalid="ignore"):
        sub = (want != 0) & (np.abs(want) < np.finfo(dtype).smallest_normal)
    assert np.array_equal(cls == FloatClass.SUBNORMAL, sub)
    # the reference decoder, on a sample
    for c, w in zip(codes[:3000].tolist(), want[:3000].tolist()):
        kind, neg, sig, exp = ref_decode(fmt, c)
        if math.isnan(w):
            assert kind == NAN, hex(c)
        elif math.isinf(w):
            assert kind == INF and bool(neg) == (w < 0), hex(c)
        else:
            assert Fraction(sig) * Fraction(2) ** exp * (-1 if neg else 1) == Fraction(w), hex(c)
            assert bool(neg) == (math.copysign(1.0, w) < 0), hex(c)


# ---- encoding ------------------------------------------------------------------------------

_ROUNDTRIP_FORMATS = (list(PRESETS) + ML8 + ML_SUB8
                      + ["e5m10ns", "e4m3fnns", "e3m4b1", "e4m3b-2fnuz", "e2m3fin"])


@pytest.mark.parametrize("name", _ROUNDTRIP_FORMATS)
def test_encode_roundtrips_every_finite_code(name):
    """encode(decode(c)) == c for every finite code, in every mode, saturating or not
    (fp32, fp64: a million random codes and the corners)."""
    fmt = parse(name)
    if fmt.width <= 16:
        codes = fmt.all_codes()
    else:
        from fpforge.tb.vectors import corner_codes
        rng = np.random.default_rng(5)
        codes = np.concatenate([corner_codes(fmt).astype(fmt.dtype),
                                rng.integers(0, 1 << fmt.width, 1_000_000, dtype=np.uint64,
                                             endpoint=False).astype(fmt.dtype)])
    cls = fmt.classify(codes)
    codes = codes[(cls != FloatClass.NAN) & (cls != FloatClass.INF)]
    vals = fmt.decode(codes)
    for mode in ROUNDING_MODES:
        for sat in (False, True):
            got = fmt.encode(vals, rounding=mode, saturate=sat)
            assert got.dtype == fmt.dtype
            assert_codes_equal(got, codes, fmt, f"encode(decode) {mode} sat={sat}",
                               {"value": (vals, None)})


@pytest.mark.parametrize("name", ["fp16", "bf16", "fp8_e4m3", "fp8_e5m2", "e3m4"])
def test_encode_specials(name):
    fmt = parse(name)
    got = fmt.encode(np.array([np.inf, -np.inf, np.nan, -np.nan, 0.0, -0.0]))
    if fmt.has_inf:
        assert got[0] == fmt.inf_code and got[1] == fmt.inf_code | fmt.sign_bit
    else:
        assert fmt.classify(got[:2]).tolist() == [FloatClass.NAN] * 2
    assert got[2] == fmt.nan_code and got[3] == fmt.nan_code
    assert got[4] == 0 and got[5] == fmt.sign_bit
    # Inf stays Inf (NaN without Inf) even when saturating
    sat = fmt.encode(np.array([np.inf, -np.inf]), saturate=True)
    assert np.array_equal(sat, got[:2])


# ml_dtypes converts float64 to its types through float32 (a double rounding: e.g.
# 1 + 2**-4 + 2**-40 becomes 1.0 in float8_e4m3fn instead of 1.125), so the inputs compared
# with ml_dtypes casts are exactly float32 values; numpy's float64 -> float16 cast rounds
# once, so float16 is compared on arbitrary float64 data.
@pytest.mark.parametrize("name", ML8 + ML_SUB8 + ["bfloat16", "float16"])
def test_encode_matches_ml_dtypes_cast(name):
    fmt = parse(name)
    dt = ML[name]
    # finite-only types: NaN has no code (the golden model raises, tested below)
    data = float_data(fmt, 40_000, seed=21, f32=name != "float16", nan=fmt.has_nan)
    with np.errstate(over="ignore", invalid="ignore"):
        want = data.astype(dt).view(storage_dtype(dt))
    got = fmt.encode(data)
    assert got.dtype == fmt.dtype
    assert_codes_equal(got, want, fmt, f"encode vs {name} cast", {"x": (data, None)},
                       nan_by_class=True)


def test_encode_nan_into_finite_only_format_raises():
    with pytest.raises(ValueError, match="NaN"):
        parse("float4_e2m1fn").encode(np.array([1.0, np.nan]))


def test_encode_accepts_float32_and_lists():
    fmt = parse("fp16")
    assert fmt.encode([1.0, -2.0]).tolist() == [0x3C00, 0xC000]
    assert fmt.encode(np.array([65504.0], dtype=np.float32)).tolist() == [0x7BFF]


# ---- DLFloat16 and the preset table ---------------------------------------------------------

def test_dlfloat16_facts():
    f = parse("dlfloat16")
    assert (f.exp_bits, f.man_bits, f.bias, f.nan, f.subnormals) == (6, 9, 31, "allones", False)
    assert f.width == 16 and f.precision == 10 and f.dtype == np.uint16
    assert f.has_inf is False and f.has_nan is True and f.min_subnormal is None
    cls = f.classify(np.array([0x7FFF, 0xFFFF, 0x7FFE, 0xFFFE, 0x0000, 0x8000, 0x0001, 0x01FF,
                               0x7E00]))
    N, Z, NAN_ = FloatClass.NORMAL, FloatClass.ZERO, FloatClass.NAN
    assert cls.tolist() == [NAN_, NAN_, N, N, Z, Z, N, N, N]
    assert FloatClass.SUBNORMAL not in f.classify(f.all_codes())
    assert FloatClass.INF not in f.classify(f.all_codes())
    assert f.max_code == 0x7FFE and f.max == 8573157376 and f.nan_code == 0x7FFF
    assert f.value(0x7FFE) == Fraction(8573157376)
    assert f.value(0x0001) == Fraction(1, 2 ** 31) * (1 + Fraction(1, 2 ** 9))
    assert f.min_positive == f.value(0x0001)
    assert f.value(0x0200) == Fraction(1, 2 ** 30) * (1 + Fraction(0))  # field 1
    assert f.value(0x3E00) == 1                                         # field 31 = bias
    assert f.value(0x8001) == -f.value(0x0001)
    dec = f.decode(np.array([0x0000, 0x8000, 0x7FFF, 0xFFFF, 0x7FFE, 0x0001], dtype=np.uint16))
    assert dec[0] == 0 and not np.signbit(dec[0]) and dec[1] == 0 and np.signbit(dec[1])
    assert np.isnan(dec[2]) and np.isnan(dec[3])
    assert dec[4] == 8573157376.0 and dec[5] == 2.0 ** -31 * (1 + 2.0 ** -9)
    # no subnormals: below the smallest positive code, values flush to zero
    assert f.encode(np.array([2.0 ** -31, -2.0 ** -31, 2.0 ** -32])).tolist() == [0, 0x8000, 0]
    assert f.encode(np.array([2.0 ** -31 * (1 + 2.0 ** -9)])).tolist() == [0x0001]
    assert f.encode(np.array([1e30]), saturate=True).tolist() == [0x7FFE]
    assert f.classify(f.encode(np.array([1e30, -1e30, np.inf]))).tolist() == [NAN_] * 3


# (preset, ml_dtypes/numpy type or None, published max, smallest positive, smallest normal)
_PRESET_TABLE = [
    ("fp8_e4m3", ml_dtypes.float8_e4m3fn, 448, Fraction(1, 2 ** 9), Fraction(1, 2 ** 6)),
    ("fp8_e5m2", ml_dtypes.float8_e5m2, 57344, Fraction(1, 2 ** 16), Fraction(1, 2 ** 14)),
    ("hfp8", ml_dtypes.float8_e4m3b11fnuz, 30, Fraction(1, 2 ** 13), Fraction(1, 2 ** 10)),
    ("bf16", ml_dtypes.bfloat16, Fraction(2 ** 8 - 1, 2 ** 7) * 2 ** 127,
     Fraction(1, 2 ** 133), Fraction(1, 2 ** 126)),
    ("fp16", np.float16, 65504, Fraction(1, 2 ** 24), Fraction(1, 2 ** 14)),
    ("fp32", np.float32, Fraction(2 ** 24 - 1, 2 ** 23) * 2 ** 127,
     Fraction(1, 2 ** 149), Fraction(1, 2 ** 126)),
    ("dlfloat16", None, 8573157376, Fraction(1, 2 ** 31) * Fraction(513, 512),
     Fraction(1, 2 ** 31) * Fraction(513, 512)),
]


@pytest.mark.parametrize("name,dt,pub_max,pub_minpos,pub_minnorm", _PRESET_TABLE,
                         ids=[r[0] for r in _PRESET_TABLE])
def test_preset_table(name, dt, pub_max, pub_minpos, pub_minnorm):
    f = parse(name)
    assert str(f) == name and f is PRESETS[name]
    assert f.max == pub_max and f.min_positive == pub_minpos and f.min_normal == pub_minnorm
    assert f.value(f.max_code) == f.max
    if dt is None:
        return
    fi = ml_dtypes.finfo(dt)
    assert f.max == Fraction(float(fi.max))
    assert f.min_subnormal == Fraction(float(fi.smallest_subnormal))
    assert f.min_normal == Fraction(float(fi.smallest_normal))
    assert (f.exp_bits, f.man_bits, f.width) == (fi.nexp, fi.nmant, fi.bits)
    assert (f.emin, f.emax) == (fi.minexp, fi.maxexp - 1)
    st = storage_dtype(np.dtype(dt))
    assert f.dtype == st
    assert float(np.array([f.max_code], dtype=st).view(dt)[0]) == float(fi.max)
    assert np.isnan(np.array([f.nan_code], dtype=st).view(dt).astype(np.float64)[0])
    if f.has_inf:
        assert np.array([f.inf_code], dtype=st).view(dt).astype(np.float64)[0] == np.inf


@pytest.mark.parametrize("name", ML8 + ML_SUB8 + ["bfloat16", "float16"])
def test_ml_dtypes_names_parse_to_matching_formats(name):
    f = parse(name)
    fi = ml_dtypes.finfo(ML[name])
    assert (f.exp_bits, f.man_bits, f.width) == (fi.nexp, fi.nmant, fi.bits)
    assert f.max == Fraction(float(fi.max))
    assert f.min_subnormal == Fraction(float(fi.smallest_subnormal))
    assert (f.emin, f.emax) == (fi.minexp, fi.maxexp - 1)
    vals = _ml_values(_all_codes(name), name)
    assert f.has_inf == bool(np.isinf(vals).any())
    assert f.has_nan == bool(np.isnan(vals).any())


def test_preset_names_and_widths():
    assert set(PRESETS) == {"fp64", "fp32", "fp16", "bf16", "dlfloat16", "fp8_e4m3",
                            "fp8_e5m2", "hfp8"}
    widths = {n: (f.width, f.dtype) for n, f in PRESETS.items()}
    assert widths == {"fp64": (64, np.uint64), "fp32": (32, np.uint32),
                      "fp16": (16, np.uint16), "bf16": (16, np.uint16),
                      "dlfloat16": (16, np.uint16), "fp8_e4m3": (8, np.uint8),
                      "fp8_e5m2": (8, np.uint8), "hfp8": (8, np.uint8)}
    assert parse("e11m52").dtype == np.uint64 and parse("e2m1fin").dtype == np.uint8
    assert parse("float64") == parse("double") == parse("fp64") == parse("e11m52")


# ---- parsing ----------------------------------------------------------------------------------

# grammar string -> (exp_bits, man_bits, bias, nan, subnormals, canonical spec)
_GRAMMAR = {
    "e5m10": (5, 10, 15, "ieee", True, "e5m10"),
    "E5M10": (5, 10, 15, "ieee", True, "e5m10"),
    " e8m7 ": (8, 7, 127, "ieee", True, "e8m7"),
    "e8m23": (8, 23, 127, "ieee", True, "e8m23"),
    "e11m52": (11, 52, 1023, "ieee", True, "e11m52"),
    "e4m3fn": (4, 3, 7, "allones", True, "e4m3fn"),
    "e4m3b7fn": (4, 3, 7, "allones", True, "e4m3fn"),
    "e4m3fnuz": (4, 3, 8, "negzero", True, "e4m3fnuz"),
    "e4m3b11fnuz": (4, 3, 11, "negzero", True, "e4m3b11fnuz"),
    "e5m2fnuz": (5, 2, 16, "negzero", True, "e5m2fnuz"),
    "e4m3b-2fnuz": (4, 3, -2, "negzero", True, "e4m3b-2fnuz"),
    "e6m9b31fnns": (6, 9, 31, "allones", False, "e6m9fnns"),
    "e6m9fnns": (6, 9, 31, "allones", False, "e6m9fnns"),
    "e6m9b20fnns": (6, 9, 20, "allones", False, "e6m9b20fnns"),
    "e5m10ns": (5, 10, 15, "ieee", False, "e5m10ns"),
    "e3m4b1": (3, 4, 1, "ieee", True, "e3m4b1"),
    "e2m3fin": (2, 3, 1, "none", True, "e2m3fin"),
    "e3m2fin": (3, 2, 3, "none", True, "e3m2fin"),
    "e2m1fin": (2, 1, 1, "none", True, "e2m1fin"),
    "e4m3finns": (4, 3, 7, "none", False, "e4m3finns"),
    "e2m1": (2, 1, 1, "ieee", True, "e2m1"),
}


@pytest.mark.parametrize("text", list(_GRAMMAR))
def test_parse_grammar(text):
    e, m, bias, nan, sub, canon = _GRAMMAR[text]
    f = parse(text)
    assert (f.exp_bits, f.man_bits, f.bias, f.nan, f.subnormals) == (e, m, bias, nan, sub)
    assert f.spec == canon and str(f) == canon and f.name is None
    g = parse(str(f))
    assert g == f and hash(g) == hash(f) and g.spec == canon


@pytest.mark.parametrize("text", list(PRESETS) + ML8 + ML_SUB8
                         + ["bfloat16", "float16", "float32"])
def test_str_roundtrips_names(text):
    f = parse(text)
    assert str(f) == text
    g = parse(str(f))
    assert g == f and str(g) == text
    assert parse(f.spec) == f and parse(f) is f


@pytest.mark.parametrize("a,b", [
    ("e5m10", "fp16"), ("float16", "fp16"), ("e8m23", "fp32"), ("float32", "fp32"),
    ("e8m7", "bf16"), ("bfloat16", "bf16"), ("e4m3fn", "fp8_e4m3"), ("float8_e4m3fn", "fp8_e4m3"),
    ("e5m2", "fp8_e5m2"), ("float8_e5m2", "fp8_e5m2"), ("e4m3b11fnuz", "hfp8"),
    ("float8_e4m3b11fnuz", "hfp8"), ("e6m9fnns", "dlfloat16"), ("float8_e4m3fnuz", "e4m3fnuz"),
    ("float8_e5m2fnuz", "e5m2fnuz"), ("float8_e3m4", "e3m4"), ("float8_e4m3", "e4m3"),
    ("float6_e2m3fn", "e2m3fin"), ("float6_e3m2fn", "e3m2fin"), ("float4_e2m1fn", "e2m1fin"),
])
def test_equality_ignores_name(a, b):
    fa, fb = parse(a), parse(b)
    assert fa == fb and hash(fa) == hash(fb)
    assert len({fa, fb}) == 1 and {fa: 1}[fb] == 1
    assert FloatFormat(fa.exp_bits, fa.man_bits, fa.bias, nan=fa.nan, subnormals=fa.subnormals,
                       name="x") == fb


@pytest.mark.parametrize("a,b", [
    ("e4m3", "e4m3fn"), ("e4m3fn", "e4m3fnuz"), ("e4m3fnuz", "e4m3b11fnuz"), ("e5m10", "e5m10ns"),
    ("e5m10", "e5m10b14"), ("e2m1", "e2m1fin"), ("e6m9fn", "dlfloat16"), ("fp16", "bf16"),
])
def test_distinct_formats_differ(a, b):
    assert parse(a) != parse(b)
    assert len({parse(a), parse(b)}) == 2


def test_formats_are_frozen_and_hashable():
    f = parse("fp16")
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.man_bits = 3
    table = {parse(n): n for n in PRESETS}
    assert len(table) == len(PRESETS) and table[parse("e5m10")] == "fp16"


@pytest.mark.parametrize("text", [
    "foo", "", "   ", "e0m3", "e1m3", "e4m0", "e12m60", "e11m53", "e12m3", "float8_e8m0fnu",
    "float8_e4m4", "float7_e4m3", "e4m3fnfn", "e4m3xyz", "e4m3nsfn", "e4",
    "m3", "e4m3b", "e-4m3", "bfloat8", "float8_e4m3b11fnu",
])
def test_parse_rejects_bad_strings(text):
    with pytest.raises(ValueError) as info:
        parse(text)
    msg = str(info.value)
    assert msg and repr(text) in msg, msg


def test_parse_rejects_non_strings():
    with pytest.raises(TypeError):
        parse(16)


@pytest.mark.parametrize("kw", [dict(exp_bits=1, man_bits=3), dict(exp_bits=4, man_bits=0),
                                dict(exp_bits=8, man_bits=56), dict(exp_bits=4, man_bits=3,
                                                                    nan="bogus"),
                                dict(exp_bits=4, man_bits=3, nan="allones", inf=True)])
def test_constructor_validates(kw):
    with pytest.raises(ValueError):
        FloatFormat(**kw)
