"""Exception flags of the golden ``mul``/``add``/``fma`` (``flags=True`` returns
``(codes, flags)``, flags a uint8 array of RISC-V fflags bits NX=1 UF=2 OF=4 DZ=8 NV=16)
against SoftFloat (f16/f32, every mode, tininess after rounding) and, for the formats
SoftFloat lacks, against the flags references of ``tests/reference.py``
(``frac_*_flags``: Fractions, ``ref_*`` with ``flags=True``: fast integers).

Semantics: NV for Inf - Inf, 0 * Inf (in fma whatever c is) and signaling NaN operands (IEEE
formats only: NaN with the fraction msb clear); OF when the result rounded with an unbounded
exponent exceeds max (also when it saturates or becomes NaN), with NX; UF when that rounded
value is nonzero and below 2**emin (without subnormals: below the smallest positive code)
and the result is inexact; NX when the delivered result differs from the exact one.  Quiet
NaN propagation and Inf results from Inf operands raise nothing.  Unfused fma: the flags of
the two roundings OR-ed.

The golden operations are looked up at call time, so the reference tests run (and pass)
whether or not the golden flags exist yet."""

from __future__ import annotations

import functools
import zlib

import numpy as np
import pytest
import softfloatpy as sf

from fpforge.sim import arith
from fpforge.sim.formats import parse
from fpforge.tb.vectors import all_pairs, corner_codes, mul_operands

from reference import (FLAG_DZ, FLAG_NV, FLAG_NX, FLAG_OF, FLAG_UF, MODES, NAN, add_operands,
                       flag_str, fma_operands, frac_add_flags, frac_fma_flags, frac_mul_flags,
                       ref_add_many, ref_fma_many, ref_mul_flags_many, sf_mode,
                       softfloat_run, spec, underflow_boundary_pairs)

CASES = [(m, s) for m in MODES for s in (False, True)]


def _seed(*parts) -> int:
    return zlib.crc32(repr(parts).encode())


def golden(op, args, fmts, mode, saturate=False, **kw):
    """``arith.<op>(..., flags=True)``, looked up now."""
    return getattr(arith, op)(*args, *fmts, rounding=mode, saturate=saturate, flags=True, **kw)


def reference(op, args, fmts, mode, saturate=False, **kw):
    """(codes, flags) of the fast reference."""
    if op == "mul":
        return ref_mul_flags_many(*args, *fmts, mode, saturate)
    if op == "add":
        return ref_add_many(*args, *fmts, mode, saturate, flags=True)
    return ref_fma_many(*args, *fmts, mode, saturate, flags=True, **kw)


def fraction_reference(op, args, fmts, mode, saturate=False, **kw):
    """(code, flags) of the Fraction reference for one vector."""
    fn = {"mul": frac_mul_flags, "add": frac_add_flags, "fma": frac_fma_flags}[op]
    return fn(*(int(v) for v in args), *fmts, mode, saturate, **kw)


def assert_flags_equal(got, want, out_fmt, what, args, in_fmts, nan_by_class=False,
                       limit=60):
    """Codes (NaN by class if asked) and flags equal; every mismatch listed in hex."""
    gc, gf = got
    wc, wf = want
    assert isinstance(gc, np.ndarray) and isinstance(gf, np.ndarray), (type(gc), type(gf))
    assert gf.dtype == np.uint8, gf.dtype
    assert gc.shape == wc.shape == gf.shape == wf.shape, (gc.shape, wc.shape, gf.shape)
    gc, wc = gc.astype(np.uint64).ravel(), wc.astype(np.uint64).ravel()
    gf, wf = gf.ravel(), wf.ravel()
    bad = (gc != wc) | (gf != wf)
    if nan_by_class and bad.any():
        s = spec(out_fmt)
        for i in np.flatnonzero(bad & (gf == wf)).tolist():
            if s.decode(int(gc[i]))[0] == NAN and s.decode(int(wc[i]))[0] == NAN:
                bad[i] = False
    idx = np.flatnonzero(bad)
    if idx.size:
        d = (out_fmt.width + 3) // 4
        lines = []
        for i in idx[:limit].tolist():
            ins = " ".join(f"{k}={int(a.ravel()[i]):#0{f.width // 4 + 2}x}"
                           for k, a, f in zip("abc", args, in_fmts))
            lines.append(f"[{i}] {ins} -> got {int(gc[i]):#0{d + 2}x} {flag_str(int(gf[i]))}"
                         f"  want {int(wc[i]):#0{d + 2}x} {flag_str(int(wf[i]))}")
        if idx.size > limit:
            lines.append(f"... {idx.size} mismatches in total")
        pytest.fail(f"{what} [{out_fmt}]: mismatches\n" + "\n".join(lines))


def test_flag_bits_are_softfloats():
    assert (FLAG_NX, FLAG_UF, FLAG_OF, FLAG_DZ, FLAG_NV) == tuple(
        int(f) for f in (sf.ExceptionFlag.INEXACT, sf.ExceptionFlag.UNDERFLOW,
                         sf.ExceptionFlag.OVERFLOW, sf.ExceptionFlag.INFINITE,
                         sf.ExceptionFlag.INVALID))


# ---- vectors ----------------------------------------------------------------------------------

def _corner_sample(names, n, seed):
    """``n`` tuples of corner codes (the whole cross-product when smaller)."""
    cs = [corner_codes(parse(f)) for f in names]
    sizes = [c.size for c in cs]
    total = int(np.prod(sizes))
    i = np.arange(total) if total <= n else np.random.default_rng(seed).choice(total, n, False)
    out = []
    for c, s in zip(reversed(cs), reversed(sizes)):
        out.append(c[i % s])
        i = i // s
    return out[::-1]


def _boundary(op, fmt, n, seed):
    """Vectors whose result is just below 2**emin (tininess after vs before rounding)."""
    x, y = underflow_boundary_pairs(fmt, n, seed)
    if op == "mul":
        return [x, y]
    rng = np.random.default_rng(seed + 1)
    # fma: + 0, or + a few smallest subnormals, which nudge the sum around the boundary
    k = rng.choice([0, 0, 1, 2, 3], n).astype(np.uint64)
    z = np.where(rng.random(n) < 0.5, k, k | np.uint64(fmt.sign_bit))
    return [x, y, z]


def _random(op, fmts, n, seed):
    if op == "mul":
        a, b, o = fmts
        ncorner = corner_codes(a).size * corner_codes(b).size
        x, y = mul_operands(a, b, o, ncorner + n, seed=seed)
        return [x[ncorner:], y[ncorner:]]
    if op == "add":
        return list(add_operands(*fmts, n, seed))
    return list(fma_operands(*fmts, n, seed))


@functools.lru_cache(maxsize=None)
def _vectors(op, names, case_index, n_corner, n_random, n_boundary=0):
    fmts = tuple(parse(n) for n in names)
    n_in = 3 if op == "fma" else 2
    parts = [_corner_sample(names[:n_in], n_corner, _seed(op, names, case_index)),
             _random(op, fmts, n_random, _seed(op, names, case_index, "r"))]
    if n_boundary:
        parts.append(_boundary(op, fmts[-1], n_boundary, _seed(op, names, case_index, "b")))
    return tuple(np.concatenate([p[k] for p in parts]).astype(np.uint64) for k in range(n_in))


# ---- against SoftFloat ------------------------------------------------------------------------

_SF_OPS = {"mul": "_mul", "add": "_add", "fma": "_mul_add"}
# format -> (corner vectors, random vectors, underflow-boundary vectors) per op and mode
_SF_SIZES = {"fp16": (6_000, 5_000, 1_500), "fp32": (3_000, 3_000, 1_500)}


def _sf_names(op, fmt_name):
    return (fmt_name,) * (4 if op == "fma" else 3)


@functools.lru_cache(maxsize=None)
def _sf_case(op, fmt_name, mode):
    names = _sf_names(op, fmt_name)
    n_corner, n_random, n_boundary = _SF_SIZES[fmt_name]
    args = _vectors(op, names, MODES.index(mode), n_corner, n_random,
                    n_boundary if op != "add" else 0)
    sf_op = {"fp16": "f16", "fp32": "f32"}[fmt_name] + _SF_OPS[op]
    return args, softfloat_run(sf_op, mode, *args)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fmt_name", list(_SF_SIZES))
@pytest.mark.parametrize("op", list(_SF_OPS))
def test_flags_references_match_softfloat(op, fmt_name, mode):
    """The flags references against SoftFloat: the fast reference on every vector (corners,
    random, and results just below 2**emin), the Fraction reference on 60 random ones and
    25 underflow-boundary ones; codes (NaN by class) and flags exact."""
    fmts = tuple(parse(n) for n in _sf_names(op, fmt_name))
    args, want = _sf_case(op, fmt_name, mode)
    got = reference(op, args, fmts, mode)
    assert_flags_equal(got, want, fmts[-1], f"ref {op} flags vs SoftFloat {fmt_name} {mode}",
                       args, fmts, nan_by_class=True)
    s = spec(fmts[-1])
    rng = np.random.default_rng(_seed(op, fmt_name, mode))
    n = args[0].size
    idx = rng.choice(n, 60, False).tolist()
    if op != "add":
        idx += rng.choice(np.arange(n - _SF_SIZES[fmt_name][2], n), 25, False).tolist()
    for i in idx:
        code, flags = fraction_reference(op, [a[i] for a in args], fmts, mode)
        wc, wf = int(want[0][i]), int(want[1][i])
        assert flags == wf and (code == wc or (s.decode(code)[0] == NAN
                                               and s.decode(wc)[0] == NAN)), \
            (op, [hex(int(a[i])) for a in args], mode, hex(code), flag_str(flags), hex(wc),
             flag_str(wf))


@pytest.mark.parametrize("fmt_name", list(_SF_SIZES))
@pytest.mark.parametrize("op", ["mul", "fma"])
def test_boundary_vectors_separate_tininess_modes(op, fmt_name):
    """The underflow-boundary vectors matter: on many of them SoftFloat's UF differs between
    tininess after rounding (what the golden model does) and before rounding."""
    fmt = parse(fmt_name)
    args = _boundary(op, fmt, 1_500, 5)
    fn = getattr(sf, {"fp16": "f16", "fp32": "f32"}[fmt_name] + _SF_OPS[op])
    conv = {"fp16": sf.Float16, "fp32": sf.Float32}[fmt_name].from_bytes
    nbytes = fmt.width // 8
    old_mode, old_tin = sf.get_rounding_mode(), sf.get_tininess_mode()
    differ = 0
    try:
        for mode in MODES:
            sf.set_rounding_mode(sf_mode(mode))
            for vec in zip(*(a.tolist() for a in args)):
                objs = [conv(v.to_bytes(nbytes, "big")) for v in vec]
                res = []
                for tin in (sf.TininessMode.AFTER_ROUNDING, sf.TininessMode.BEFORE_ROUNDING):
                    sf.set_tininess_mode(tin)
                    sf.set_exception_flags(0)
                    fn(*objs)
                    res.append(int(sf.get_exception_flags()))
                differ += res[0] != res[1]
    finally:
        sf.set_rounding_mode(old_mode)
        sf.set_tininess_mode(old_tin)
    assert differ > 500, differ


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fmt_name", list(_SF_SIZES))
@pytest.mark.parametrize("op", list(_SF_OPS))
def test_flags_match_softfloat(op, fmt_name, mode):
    """arith.<op>(flags=True) against SoftFloat: fp16 ~12,500 vectors per op and mode, fp32
    ~7,500, including results just below 2**emin; codes (NaN by class) and flags exact."""
    fmts = tuple(parse(n) for n in _sf_names(op, fmt_name))
    args, want = _sf_case(op, fmt_name, mode)
    got = golden(op, args, fmts, mode)
    assert_flags_equal(got, want, fmts[-1], f"{op} flags vs SoftFloat {fmt_name} {mode}",
                       args, fmts, nan_by_class=True)


def test_unfused_flags_reference_matches_softfloat():
    """Unfused fp16 fma with an fp16 product is SoftFloat f16_mul then f16_add: codes and the
    OR of both operations' flags."""
    f = parse("fp16")
    for mode in MODES:
        x, y, z = _vectors("fma", ("fp16",) * 4, MODES.index(mode), 2_000, 3_000, 500)
        p, f1 = softfloat_run("f16_mul", mode, x, y)
        w, f2 = softfloat_run("f16_add", mode, p, z)
        got = ref_fma_many(x, y, z, f, f, f, f, mode, fused=False, prod_fmt=f, flags=True)
        assert_flags_equal(got, (w, f1 | f2), f, f"unfused ref vs SoftFloat {mode}",
                           [x, y, z], (f, f, f), nan_by_class=True)


# ---- formats SoftFloat lacks: against the flags references ------------------------------------

FLAG_CONFIGS = {
    "mul": {
        "fp8_e4m3": ("fp8_e4m3",) * 3,
        "hfp8": ("hfp8",) * 3,
        "e4m3": ("e4m3",) * 3,                     # IEEE-style: signaling NaNs
        "e4m3fnns": ("e4m3fnns",) * 3,
        "e4m3fn*e5m2->fp16": ("fp8_e4m3", "fp8_e5m2", "fp16"),
        "e2m1fin": ("e2m1fin",) * 3,
        "dlfloat16": ("dlfloat16",) * 3,
        "bf16": ("bf16",) * 3,
        "fp16*fp16->e4m3fn": ("fp16", "fp16", "fp8_e4m3"),
        "fp32*fp32->bf16": ("fp32", "fp32", "bf16"),
    },
    "add": {
        "fp8_e4m3": ("fp8_e4m3",) * 3,
        "hfp8": ("hfp8",) * 3,
        "e4m3": ("e4m3",) * 3,
        "e4m3fnns": ("e4m3fnns",) * 3,
        "e4m3fn+e5m2->fp16": ("fp8_e4m3", "fp8_e5m2", "fp16"),
        "e2m3fin+e3m2fin->e3m2fin": ("e2m3fin", "e3m2fin", "e3m2fin"),
        "dlfloat16": ("dlfloat16",) * 3,
        "bf16": ("bf16",) * 3,
        "fp16+fp16->e4m3fn": ("fp16", "fp16", "fp8_e4m3"),
        "fp32+fp16->bf16": ("fp32", "fp16", "bf16"),
    },
    "fma": {
        "fp8_e4m3": ("fp8_e4m3",) * 4,
        "hfp8": ("hfp8",) * 4,
        "e4m3": ("e4m3",) * 4,
        "dlfloat16": ("dlfloat16",) * 4,
        "bf16": ("bf16",) * 4,
        "e4m3fn*e5m2+fp16->fp16": ("fp8_e4m3", "fp8_e5m2", "fp16", "fp16"),
        "bf16*bf16+fp32->fp32": ("bf16", "bf16", "fp32", "fp32"),
        "fp16*fp16+fp16->e4m3fn": ("fp16", "fp16", "fp16", "fp8_e4m3"),
    },
}
_FLAG_ITEMS = [(op, cfg) for op, cfgs in FLAG_CONFIGS.items() for cfg in cfgs]


def _ref_vectors(op, names, case_index):
    """Two-operand configs of <= 16 bits: a tenth of all pairs per case (every pair over the
    ten cases); others: 1,000 corner and 1,500 random vectors per case."""
    fmts = [parse(n) for n in names]
    if op != "fma" and fmts[0].width + fmts[1].width <= 16:
        x, y = all_pairs(fmts[0], fmts[1])
        return [x[case_index::len(CASES)], y[case_index::len(CASES)]]
    return list(_vectors(op, names, case_index, 1_000, 1_500))


@pytest.mark.parametrize("saturate", [False, True], ids=["inf", "sat"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op,cfg", _FLAG_ITEMS, ids=[f"{o}-{c}" for o, c in _FLAG_ITEMS])
def test_flags_match_reference(op, cfg, mode, saturate):
    """arith.<op>(flags=True) codes and flags against the fast flags reference."""
    names = FLAG_CONFIGS[op][cfg]
    fmts = tuple(parse(n) for n in names)
    args = _ref_vectors(op, names, CASES.index((mode, saturate)))
    want = reference(op, args, fmts, mode, saturate)
    got = golden(op, args, fmts, mode, saturate)
    assert_flags_equal(got, want, fmts[-1], f"{op} flags {cfg} {mode} sat={saturate}", args,
                       fmts)


_UNFUSED = {
    "fp16|p=e4m3fn": (("fp16",) * 4, "fp8_e4m3"),
    "e4m3fn*e4m3fn+fp32->fp32|p=bf16": (("fp8_e4m3", "fp8_e4m3", "fp32", "fp32"), "bf16"),
    "dlfloat16|p=dlfloat16": (("dlfloat16",) * 4, "dlfloat16"),
}


@pytest.mark.parametrize("saturate", [False, True], ids=["inf", "sat"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cfg", list(_UNFUSED))
def test_unfused_fma_flags_match_reference(cfg, mode, saturate):
    """Unfused fma: the flags of the product's rounding OR those of the sum's."""
    names, p_name = _UNFUSED[cfg]
    fmts = tuple(parse(n) for n in names)
    p_fmt = parse(p_name)
    args = list(_vectors("fma", names, CASES.index((mode, saturate)), 1_000, 2_000))
    want = reference("fma", args, fmts, mode, saturate, fused=False, prod_fmt=p_fmt)
    got = golden("fma", args, fmts, mode, saturate, fused=False, prod_fmt=p_fmt)
    assert_flags_equal(got, want, fmts[-1], f"unfused fma flags {cfg} {mode} sat={saturate}",
                       args, fmts)


@pytest.mark.parametrize("op,cfg", [("mul", "fp8_e4m3"), ("add", "dlfloat16"),
                                    ("fma", "e4m3fn*e5m2+fp16->fp16"), ("fma", "hfp8"),
                                    ("add", "fp32+fp16->bf16"), ("mul", "fp16*fp16->e4m3fn")])
def test_fast_flags_reference_matches_fraction_reference(op, cfg):
    """The fast flags reference agrees with the Fraction one (50 vectors per case)."""
    names = FLAG_CONFIGS[op][cfg]
    fmts = tuple(parse(n) for n in names)
    for k, (mode, sat) in enumerate(CASES):
        args = _ref_vectors(op, names, k)
        idx = np.random.default_rng(k).choice(args[0].size, 50, False)
        codes, flags = reference(op, [a[idx] for a in args], fmts, mode, sat)
        for j, i in enumerate(idx.tolist()):
            vec = [a[i] for a in args]
            want = fraction_reference(op, vec, fmts, mode, sat)
            assert (int(codes[j]), int(flags[j])) == want, \
                (op, cfg, [hex(int(v)) for v in vec], mode, sat, hex(int(codes[j])),
                 flag_str(int(flags[j])), hex(want[0]), flag_str(want[1]))


# ---- literal cases ----------------------------------------------------------------------------

NX, UF, OF, NV = FLAG_NX, FLAG_UF, FLAG_OF, FLAG_NV
# (op, formats, operands, mode, saturate, expected code, expected flags)
LITERALS = [
    # fp16 overflow: OF|NX whatever is delivered; none when rounding stays below max
    ("mul", ("fp16",) * 3, (0x7BFF, 0x4000), "rne", False, 0x7C00, OF | NX),
    ("mul", ("fp16",) * 3, (0x7BFF, 0x4000), "rne", True, 0x7BFF, OF | NX),
    ("mul", ("fp16",) * 3, (0x7BFF, 0x4000), "rtz", False, 0x7BFF, OF | NX),
    ("add", ("fp16",) * 3, (0x7BFF, 0x4C00), "rne", False, 0x7C00, OF | NX),  # tie -> up
    ("add", ("fp16",) * 3, (0x7BFF, 0x4C00), "rtz", False, 0x7BFF, NX),       # stays max
    ("add", ("fp16",) * 3, (0x7BFF, 0x4800), "rne", False, 0x7BFF, NX),
    ("add", ("fp16",) * 3, (0x7BFF, 0x4800), "rup", False, 0x7C00, OF | NX),
    ("add", ("fp16",) * 3, (0xFBFF, 0xC800), "rup", False, 0xFBFF, NX),
    ("add", ("fp16",) * 3, (0x3C00, 0x1000), "rne", False, 0x3C00, NX),
    ("add", ("fp16",) * 3, (0x3C00, 0xBC00), "rne", False, 0x0000, 0),
    # underflow: tininess after rounding.  (1 - 2**-10) * (1 + 2**-10) * 2**-14 =
    # (1 - 2**-20) * 2**-14 rounds to 2**-14 at full precision: not tiny unless it rounds down
    ("mul", ("fp16",) * 3, (0x3BFE, 0x0401), "rne", False, 0x0400, NX),
    ("mul", ("fp16",) * 3, (0x3BFE, 0x0401), "rna", False, 0x0400, NX),
    ("mul", ("fp16",) * 3, (0x3BFE, 0x0401), "rup", False, 0x0400, NX),
    ("mul", ("fp16",) * 3, (0x3BFE, 0x0401), "rtz", False, 0x03FF, UF | NX),
    ("mul", ("fp16",) * 3, (0x3BFE, 0x0401), "rdn", False, 0x03FF, UF | NX),
    ("mul", ("fp16",) * 3, (0xBBFE, 0x0401), "rdn", False, 0x8400, NX),
    ("mul", ("fp16",) * 3, (0xBBFE, 0x0401), "rup", False, 0x83FF, UF | NX),
    ("mul", ("fp16",) * 3, (0x0001, 0x3800), "rne", False, 0x0000, UF | NX),   # 2**-25 -> 0
    ("mul", ("fp16",) * 3, (0x0001, 0x3800), "rup", False, 0x0001, UF | NX),
    ("mul", ("fp16",) * 3, (0x0002, 0x3800), "rne", False, 0x0001, 0),         # tiny, exact
    ("fma", ("fp16",) * 4, (0x3BFE, 0x0401, 0x0000), "rne", False, 0x0400, NX),
    ("fma", ("fp16",) * 4, (0x3BFE, 0x0401, 0x8001), "rne", False, 0x03FF, UF | NX),
    ("fma", ("fp16",) * 4, (0x0400, 0x0400, 0x3C00), "rne", False, 0x3C00, NX),
    # invalid
    ("add", ("fp16",) * 3, (0x7C00, 0xFC00), "rne", False, 0x7E00, NV),
    ("add", ("fp16",) * 3, (0x7C00, 0x7C00), "rne", False, 0x7C00, 0),
    ("add", ("fp16",) * 3, (0x7C00, 0x3C00), "rne", True, 0x7C00, 0),
    ("add", ("fp16",) * 3, (0x7E00, 0x3C00), "rne", False, 0x7E00, 0),         # quiet NaN
    ("add", ("fp16",) * 3, (0x7C01, 0x3C00), "rne", False, 0x7E00, NV),        # signaling
    ("add", ("fp16",) * 3, (0x3C00, 0xFD55), "rne", False, 0x7E00, NV),
    ("mul", ("fp16",) * 3, (0x0000, 0x7C00), "rne", False, 0x7E00, NV),
    ("mul", ("fp16",) * 3, (0x7E00, 0x0000), "rne", False, 0x7E00, 0),
    ("mul", ("fp16",) * 3, (0x7E00, 0x7D00), "rne", False, 0x7E00, NV),
    ("mul", ("fp16",) * 3, (0xFC00, 0x4000), "rne", False, 0xFC00, 0),
    ("fma", ("fp16",) * 4, (0x0000, 0x7C00, 0x7E00), "rne", False, 0x7E00, NV),  # 0*Inf+qNaN
    ("fma", ("fp16",) * 4, (0x7C00, 0x8000, 0x3C00), "rne", False, 0x7E00, NV),
    ("fma", ("fp16",) * 4, (0x7C00, 0x3C00, 0xFC00), "rne", False, 0x7E00, NV),
    ("fma", ("fp16",) * 4, (0x7C00, 0x3C00, 0x7C00), "rne", False, 0x7C00, 0),
    ("fma", ("fp16",) * 4, (0x7E00, 0x0000, 0x7C00), "rne", False, 0x7E00, 0),
    ("fma", ("fp16",) * 4, (0x3C00, 0x3C00, 0x7C01), "rne", False, 0x7E00, NV),
    ("fma", ("fp16",) * 4, (0x7BFF, 0x4000, 0xFBFF), "rne", False, 0x7BFF, 0),  # no interm. OF
    ("fma", ("fp16",) * 4, (0x7BFF, 0x4000, 0x3C00), "rne", False, 0x7C00, OF | NX),
    # formats without Inf / without subnormals / finite only
    ("mul", ("fp8_e4m3",) * 3, (0x7E, 0x7E), "rne", False, 0x7F, OF | NX),   # -> NaN
    ("mul", ("fp8_e4m3",) * 3, (0x7E, 0x7E), "rne", True, 0x7E, OF | NX),
    ("add", ("fp8_e4m3",) * 3, (0x7E, 0x58), "rne", False, 0x7E, NX),        # 464: tie even
    ("add", ("fp8_e4m3",) * 3, (0x7E, 0x58), "rna", False, 0x7F, OF | NX),
    ("add", ("fp8_e4m3",) * 3, (0x7F, 0x38), "rne", False, 0x7F, 0),         # no sNaN in fn
    ("fma", ("fp8_e4m3",) * 4, (0x7E, 0x38, 0x7E), "rdn", False, 0x7E, OF | NX),
    ("add", ("hfp8",) * 3, (0x7F, 0x7F), "rne", False, 0x80, OF | NX),
    ("mul", ("hfp8",) * 3, (0x01, 0x81), "rne", False, 0x00, UF | NX),       # -tiny -> +0
    ("add", ("fp8_e5m2",) * 3, (0x7D, 0x3C), "rne", False, 0x7E, NV),
    ("add", ("fp8_e5m2",) * 3, (0x7E, 0x3C), "rne", False, 0x7E, 0),
    ("add", ("dlfloat16",) * 3, (0x0002, 0x8001), "rne", False, 0x0000, UF | NX),  # flush
    ("add", ("dlfloat16",) * 3, (0x0001, 0x8002), "rup", False, 0x8000, UF | NX),
    ("add", ("dlfloat16",) * 3, (0x0201, 0x8002), "rne", False, 0x0000, UF | NX),  # 2**emin
    ("add", ("dlfloat16",) * 3, (0x0201, 0x8001), "rne", False, 0x0001, 0),
    ("mul", ("dlfloat16",) * 3, (0x0001, 0x3E00), "rne", False, 0x0001, 0),
    ("mul", ("dlfloat16",) * 3, (0x0001, 0x3C00), "rne", False, 0x0000, UF | NX),  # x/2
    ("add", ("e2m1fin",) * 3, (0x07, 0x07), "rne", False, 0x07, OF | NX),
    ("add", ("e2m1fin",) * 3, (0x07, 0x01), "rtz", False, 0x07, NX),
    # unfused fma (p = fp16): the product's flags OR the sum's
    ("fma-unfused", ("fp16",) * 4, (0x7BFF, 0x4000, 0xFBFF), "rne", False, 0x7C00, OF | NX),
    ("fma-unfused", ("fp16",) * 4, (0x7BFF, 0x4000, 0xFBFF), "rtz", False, 0x0000, OF | NX),
    ("fma-unfused", ("fp16",) * 4, (0x0000, 0x7C00, 0x3C00), "rne", False, 0x7E00, NV),
    ("fma-unfused", ("fp16",) * 4, (0x0001, 0x3800, 0x3C00), "rne", False, 0x3C00, UF | NX),
]


def _literal_args(op, names, ops):
    fmts = tuple(parse(n) for n in names)
    kw = {"fused": False, "prod_fmt": fmts[0]} if op == "fma-unfused" else {}
    args = [np.array([v], dtype=f.dtype) for v, f in zip(ops, fmts)]
    return op.split("-")[0], fmts, args, kw


def test_literal_flags_references():
    """The hand-written cases hold for the Fraction and the fast flags references."""
    for op, names, ops, mode, sat, code, flags in LITERALS:
        name, fmts, args, kw = _literal_args(op, names, ops)
        want = (code, flags)
        got_f = fraction_reference(name, ops, fmts, mode, sat, **kw)
        c, f = reference(name, args, fmts, mode, sat, **kw)
        assert got_f == want == (int(c[0]), int(f[0])), \
            (op, names, [hex(v) for v in ops], mode, sat, got_f, (int(c[0]), int(f[0])))


def test_literal_flags():
    """arith.<op>(flags=True) on the hand-written cases (literal codes and flags)."""
    bad = []
    for op, names, ops, mode, sat, code, flags in LITERALS:
        name, fmts, args, kw = _literal_args(op, names, ops)
        c, f = golden(name, args, fmts, mode, sat, **kw)
        if (int(c[0]), int(f[0])) != (code, flags):
            bad.append(f"{op} {'/'.join(names)} {[hex(v) for v in ops]} {mode} sat={sat}: "
                       f"got {int(c[0]):#x} {flag_str(int(f[0]))} "
                       f"want {code:#x} {flag_str(flags)}")
    assert not bad, "\n".join(bad)


# ---- the flags=True contract ------------------------------------------------------------------

@pytest.mark.parametrize("op,names", [("mul", ("fp8_e4m3",) * 3), ("mul", ("fp32",) * 3),
                                      ("add", ("fp16",) * 3), ("add", ("e11m52",) * 3),
                                      ("fma", ("bf16", "bf16", "fp32", "fp32"))])
def test_flags_contract(op, names):
    """flags=True returns (codes, uint8 flags) of the same shape, broadcast like the codes;
    the codes are those of flags=False; flags=False returns only codes."""
    fmts = tuple(parse(n) for n in names)
    n_in = 3 if op == "fma" else 2
    args = list(_vectors(op, names, 0, 300, 300))
    plain = getattr(arith, op)(*args, *fmts, rounding="rup")
    assert isinstance(plain, np.ndarray) and plain.dtype == fmts[-1].dtype
    res = golden(op, args, fmts, "rup")
    assert isinstance(res, tuple) and len(res) == 2
    codes, flags = res
    assert codes.dtype == fmts[-1].dtype and flags.dtype == np.uint8
    assert codes.shape == flags.shape == plain.shape
    assert np.array_equal(codes, plain)
    assert not (flags & np.uint8(FLAG_DZ)).any() and not (flags & np.uint8(0xE0)).any()
    # broadcasting: (k,1) against (1,m)
    k, m = 5, 7
    bargs = [args[0][:k].reshape(k, 1)] + [a[:m].reshape(1, m) for a in args[1:n_in]]
    c2, f2 = golden(op, bargs, fmts, "rdn")
    assert c2.shape == f2.shape == (k, m)
    full = [np.broadcast_to(a, (k, m)).ravel() for a in bargs]
    wc, wf = reference(op, full, fmts, "rdn")
    assert c2.ravel().tolist() == wc.tolist() and f2.ravel().tolist() == wf.tolist()
