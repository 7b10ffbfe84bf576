"""The streaming-accumulation golden model (``fpforge.sim.accumulate``: ``chunked`` and
``axpy``) against an independent sequential reference written here.

The reference walks the streams one input at a time with Python ints and Fractions, and
implements the chunk semantics directly from the README's Numerical semantics: for every input
``inner := round(x + inner)`` (products: ``round(a*b + inner)``, one fused rounding); after
every ``chunk`` inputs of a stream and after its last input ``outer := round(inner +
outer)``, ``inner := +0``; the result is ``outer`` (``chunk=0``: ``inner``).  Both registers
start at +0 for every stream.

Each rounding step of the deterministic modes is ``frac_add``/``frac_fma`` (the
definitional Fraction references of ``tests/reference.py``) or, where the streams are long,
``ref_add``/``ref_fma`` (the fast integer references, which ``test_golden_add.py`` and
``test_golden_fma.py`` check against the Fraction ones).  ``sr`` is rounded here by a scalar
stochastic rounding of the exact Fraction sum: the magnitude rounds up iff
``floor(d * 2**R) + r >= 2**R``, ``d`` the discarded fraction in ulps, ``r`` the draw; the
inner roundings take draws, in global input order over all streams, from
``draws(instance_seed(seed, 0))`` and the folds, in global fold order, from
``draws(instance_seed(seed, 1))``.

Also: specials, argument errors, and the numerics the feature is for: chunking shrinks the
error of a long fp16 sum, and tiny AXPY updates that vanish under ``rne`` survive in
expectation under ``sr``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from fpforge.sim.accumulate import axpy, check_chunk, chunked
from fpforge.sim.formats import parse
from fpforge.sim.prng import draws, instance_seed

from reference import (assert_codes_equal, frac_add, frac_fma, ref_add, ref_fma, ref_value)

# ==== the independent reference ==========================================================

NAN_T, INF_T, FIN_T = "nan", "inf", "fin"


def _term(fmt, code):
    """``(kind, neg, value)`` of a code; value is the exact Fraction of a finite code."""
    code = int(code)
    v = ref_value(fmt, code)
    neg = bool(code >> (fmt.width - 1))
    if isinstance(v, float):
        return (NAN_T, neg, None) if math.isnan(v) else (INF_T, v < 0, None)
    return FIN_T, neg, v


def _product(ta, tb):
    """The exact product of two terms (0 * Inf is NaN; a zero product keeps sign xor)."""
    (ka, na, va), (kb, nb, vb) = ta, tb
    neg = na != nb
    if NAN_T in (ka, kb):
        return NAN_T, False, None
    if INF_T in (ka, kb):
        if (ka == FIN_T and va == 0) or (kb == FIN_T and vb == 0):
            return NAN_T, False, None
        return INF_T, neg, None
    return FIN_T, neg, va * vb


def _floor_log2(x: Fraction) -> int:
    e = x.numerator.bit_length() - x.denominator.bit_length()
    if Fraction(2) ** e > x:
        e -= 1
    assert Fraction(2) ** e <= x < Fraction(2) ** (e + 1)
    return e


_LIMITS: dict = {}


def _limits(fmt):
    """(max, smallest positive) of a format, exact (cached: FloatFormat.value is slow)."""
    if fmt not in _LIMITS:
        _LIMITS[fmt] = (Fraction(fmt.max), Fraction(fmt.min_positive))
    return _LIMITS[fmt]


def _zero_code(fmt, neg):
    return fmt.sign_bit if (neg and fmt.has_neg_zero) else 0


def _big_code(fmt, neg, saturate=False):
    """Overflow of a round-to-nearest-like mode: Inf (NaN where no Inf, max where neither)."""
    if saturate or not fmt.has_nan:
        return fmt.max_code | (fmt.sign_bit if neg else 0)
    if fmt.has_inf:
        return fmt.inf_code | (fmt.sign_bit if neg else 0)
    return fmt.nan_code


def _encode(fmt, mag: Fraction, neg: bool) -> int:
    """Code of a representable nonzero magnitude."""
    m = fmt.man_bits
    e = _floor_log2(mag)
    if fmt.subnormals and e < fmt.emin:
        field, frac = 0, mag / Fraction(2) ** (fmt.emin - m)
    else:
        field, frac = e + fmt.bias, mag / Fraction(2) ** (e - m) - (1 << m)
    assert frac.denominator == 1 and 0 <= field <= fmt.exp_field_max, (mag, fmt)
    return (fmt.sign_bit if neg else 0) | (field << m) | int(frac)


def sr_round(x: Fraction, fmt, r: int, bits: int, saturate: bool = False) -> int:
    """Stochastic rounding of the exact nonzero value ``x`` with the draw ``r`` (``bits``
    bits): the magnitude rounds up iff floor(d * 2**bits) + r >= 2**bits, ``d`` the part of
    the magnitude below its ulp, in ulps (subnormal ulps below 2**emin where the format has
    subnormals; without, a result below the smallest positive code flushes to zero)."""
    neg = x < 0
    mag = -x if neg else x
    e = _floor_log2(mag)
    if fmt.subnormals:
        e = max(e, fmt.emin)
    ulp = Fraction(2) ** (e - fmt.man_bits)
    q = mag / ulp
    n = q.numerator // q.denominator
    d = q - n
    up = math.floor(d * (1 << bits)) + r >= (1 << bits)
    val = (n + up) * ulp
    fmax, fmin = _limits(fmt)
    if val > fmax:
        return _big_code(fmt, neg, saturate)
    if val == 0 or val < fmin:
        return _zero_code(fmt, neg)
    return _encode(fmt, val, neg)


def sr_sum(tx, ty, fmt, r: int, bits: int, saturate: bool = False) -> int:
    """round_sr(x + y) of two terms, IEEE specials: NaN in or Inf - Inf gives NaN, Inf
    otherwise wins; an exact zero is -0 only for (-0) + (-0)."""
    (kx, nx, vx), (ky, ny, vy) = tx, ty
    if NAN_T in (kx, ky) or (kx == ky == INF_T and nx != ny):
        return fmt.nan_code
    if INF_T in (kx, ky):
        neg = nx if kx == INF_T else ny
        return _big_code(fmt, neg)  # an Inf operand stays Inf whatever saturate says
    s = vx + vy
    if s == 0:
        return _zero_code(fmt, nx and ny if (vx == 0 and vy == 0) else False)
    return sr_round(s, fmt, r, bits, saturate)


def reference_chunked(xs, in_fmt, acc, chunk, mode, saturate=False, *, lengths=None,
                      a_fmt=None, b_fmt=None, seed=1, rand_bits=16, definitional=False,
                      instances=(0, 1), seeds=None, pe_seed=None):
    """One acc code per stream, sequentially from the definitions (see the module doc).
    ``xs``: codes, or ``(a, b)`` with ``a_fmt``/``b_fmt`` (products).  ``definitional``:
    deterministic roundings by frac_add/frac_fma instead of ref_add/ref_fma.
    ``instances``: the PRNG instance indices of the inner and fold roundings (only changed
    to show that the sr comparison notices a wrong draw order).  ``seeds``: explicit
    (inner, fold) PRNG seeds instead.  ``pe_seed``: one PRNG for both instead, drawn in
    turn (an array's PE: a chunk's fold draws right after its last input)."""
    acc = parse(acc)
    products = a_fmt is not None
    if products:
        a_fmt, b_fmt = parse(a_fmt), parse(b_fmt)
        a, b = (np.asarray(v).ravel().tolist() for v in xs)
        total = len(a)
    else:
        in_fmt = parse(in_fmt)
        x = np.asarray(xs).ravel().tolist()
        total = len(x)
    lengths = [total] if lengths is None else [int(n) for n in lengths]
    assert sum(lengths) == total
    add = frac_add if definitional else ref_add
    fma = frac_fma if definitional else ref_fma
    if mode == "sr" and pe_seed is not None:  # at most one fold per input
        inner_draws = fold_draws = iter(draws(pe_seed, 2 * total, rand_bits).tolist())
    elif mode == "sr":
        if seeds is None:
            seeds = (instance_seed(seed, instances[0]), instance_seed(seed, instances[1]))
        inner_draws = iter(draws(seeds[0], total, rand_bits).tolist())
        fold_draws = iter(draws(seeds[1], total, rand_bits).tolist())

    def inner_step(i, inner):
        if mode == "sr":
            t = _product(_term(a_fmt, a[i]), _term(b_fmt, b[i])) if products else \
                _term(in_fmt, x[i])
            return sr_sum(t, _term(acc, inner), acc, next(inner_draws), rand_bits, saturate)
        if products:
            return fma(a[i], b[i], inner, a_fmt, b_fmt, acc, acc, mode, saturate)
        return add(x[i], inner, in_fmt, acc, acc, mode, saturate)

    results, i = [], 0
    for length in lengths:
        inner = outer = 0                    # +0 at the start of every stream
        for k in range(length):
            inner = inner_step(i, inner)
            i += 1
            if chunk and ((k + 1) % chunk == 0 or k == length - 1):
                if mode == "sr":
                    outer = sr_sum(_term(acc, inner), _term(acc, outer), acc,
                                   next(fold_draws), rand_bits, saturate)
                else:
                    outer = add(inner, outer, acc, acc, acc, mode, saturate)
                inner = 0
        results.append(outer if chunk else inner)
    return np.array(results, dtype=np.uint64)


def reference_axpy(alpha, x, y, alpha_fmt, x_fmt, y_fmt, mode="sr", saturate=False, *,
                   seed=1, rand_bits=16):
    """y' = round(y + alpha*x) per element, one fused rounding; sr draw i for element i."""
    alpha_fmt, x_fmt, y_fmt = parse(alpha_fmt), parse(x_fmt), parse(y_fmt)
    x = np.asarray(x).ravel().tolist()
    y = np.asarray(y).ravel().tolist()
    alpha = np.broadcast_to(np.asarray(alpha), (len(x),)).tolist()
    if mode != "sr":
        return np.array([ref_fma(al, xi, yi, alpha_fmt, x_fmt, y_fmt, y_fmt, mode, saturate)
                         for al, xi, yi in zip(alpha, x, y)], dtype=np.uint64)
    rand = draws(seed, len(x), rand_bits).tolist()
    return np.array([sr_sum(_product(_term(alpha_fmt, al), _term(x_fmt, xi)),
                            _term(y_fmt, yi), y_fmt, r, rand_bits, saturate)
                     for al, xi, yi, r in zip(alpha, x, y, rand)], dtype=np.uint64)


# ==== the reference's own sanity checks ==================================================

def test_sr_round_by_hand():
    """fp16 around 1.0 (ulp 2**-10), 4 random bits: 1 + 0.3 ulp has floor(0.3 * 16) = 4,
    so it rounds up iff r >= 12; an exact value never moves; the subnormal ulp is 2**-24."""
    f = parse("fp16")
    ulp = Fraction(1, 1024)
    x = 1 + Fraction(3, 10) * ulp
    assert [sr_round(x, f, r, 4) for r in range(16)] == [0x3C00] * 12 + [0x3C01] * 4
    assert [sr_round(-x, f, r, 4) for r in (0, 11, 12, 15)] == [0xBC00, 0xBC00, 0xBC01, 0xBC01]
    assert {sr_round(1 + ulp, f, r, 4) for r in range(16)} == {0x3C01}
    tiny = Fraction(1, 2 ** 25)  # half the smallest subnormal
    assert [sr_round(tiny, f, r, 1) for r in (0, 1)] == [0x0000, 0x0001]
    # 65520 = max + half an ulp (32): up (to 65536 > max, so Inf) iff r >= 2**15
    assert [sr_round(Fraction(65520), f, r, 16) for r in (0, 2 ** 15 - 1, 2 ** 15)] == \
        [0x7BFF, 0x7BFF, 0x7C00]
    assert sr_round(Fraction(65520), f, 2 ** 15, 16, saturate=True) == 0x7BFF


def test_reference_matches_frac_on_a_hand_example():
    """fp16 stream 1, 2**-11, 2**-11 (each half an ulp of 1.0), chunk 0 vs chunk 2:
    rne sequentially gives 1 (both halves tie to even), chunked gives 1 + 2**-10."""
    f = parse("fp16")
    xs = np.array([0x3C00, 0x1000, 0x1000], dtype=np.uint64)  # 1, 2**-11, 2**-11
    assert ref_value(f, 0x1000) == Fraction(1, 2048)
    assert reference_chunked(xs, f, f, 0, "rne", definitional=True).tolist() == [0x3C00]
    # chunk 2: inner 1 (tie to even), fold 1; second chunk 2**-11, fold 1 + 2**-11 -> 1 (tie)
    assert reference_chunked(xs, f, f, 2, "rne", definitional=True).tolist() == [0x3C00]
    # chunk 2 over (2**-11, 2**-11, 1): the small ones meet first: 2**-10, then 1 + 2**-10
    xs2 = xs[::-1].copy()
    assert reference_chunked(xs2, f, f, 2, "rne", definitional=True).tolist() == [0x3C01]
    for ch in (0, 2):
        assert chunked(xs, f, f, ch).tolist() == [0x3C00]
    assert chunked(xs2, f, f, 2).tolist() == [0x3C01]
    assert chunked(xs2, f, f, 0).tolist() == [0x3C01]  # 2**-10 + 1 is exact


# ==== stimulus ===========================================================================

# config id -> (in_fmt, acc, a_fmt, b_fmt); products when a_fmt is given
CONFIGS = {
    "fp16": ("fp16", "fp16", None, None),
    "e4m3->fp16": ("fp8_e4m3", "fp16", None, None),
    "bf16->fp32": ("bf16", "fp32", None, None),
    "e4m3*e5m2->fp16": (None, "fp16", "fp8_e4m3", "fp8_e5m2"),
    "dlfloat16": ("dlfloat16", "dlfloat16", None, None),
}
CHUNKS = [0, 1, 3, 16, 64]
MODES = ["rne", "rtz", "rdn", "sr"]


def _lengths(chunk, rng, extra=4):
    """1, 2, 3, then around the chunk size (and twice it), then a few random lengths."""
    base = [1, 2, 3]
    if chunk:
        base += [chunk - 1, chunk, chunk + 1, 2 * chunk + 3, 1]
    base += rng.integers(1, 40, size=extra).tolist()
    return [n for n in base if n >= 1]


def _codes(fmt, lengths, rng, odd=0.02, mu=0.5):
    """Per stream N(mu, 1) * 2**k values (k random per stream), rounded to ``fmt``, with
    ``odd`` of them replaced by uniformly random codes (specials, subnormals, huge)."""
    fmt = parse(fmt)
    total = sum(lengths)
    scale = np.repeat(2.0 ** rng.integers(-5, 6, len(lengths)), lengths)
    codes = fmt.encode((rng.standard_normal(total) + mu) * scale).astype(np.uint64)
    pick = rng.random(total) < odd
    codes[pick] = rng.integers(0, 1 << fmt.width, int(pick.sum()), dtype=np.uint64)
    return codes


def _stimulus(cfg, chunk, seed, odd=0.02):
    in_fmt, acc, a_fmt, b_fmt = CONFIGS[cfg]
    rng = np.random.default_rng(seed)
    lengths = _lengths(chunk, rng)
    if a_fmt is None:
        xs = _codes(in_fmt, lengths, rng, odd)
    else:
        xs = (_codes(a_fmt, lengths, rng, odd), _codes(b_fmt, lengths, rng, odd))
    return xs, lengths


def _golden(cfg, xs, chunk, mode, lengths, **kw):
    in_fmt, acc, a_fmt, b_fmt = CONFIGS[cfg]
    return chunked(xs, in_fmt, acc, chunk, mode, lengths=lengths, products=a_fmt is not None,
                   a_fmt=a_fmt, b_fmt=b_fmt, **kw)


def _reference(cfg, xs, chunk, mode, lengths, **kw):
    in_fmt, acc, a_fmt, b_fmt = CONFIGS[cfg]
    return reference_chunked(xs, in_fmt, acc, chunk, mode, lengths=lengths, a_fmt=a_fmt,
                             b_fmt=b_fmt, **kw)


# ==== golden vs reference ================================================================

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize("cfg", list(CONFIGS))
def test_chunked_matches_reference(cfg, chunk, mode):
    """Back-to-back streams (lengths 1, 2, 3, chunk-1, chunk, chunk+1, 2*chunk+3, 1,
    random) with 2 % random codes (specials, subnormals, overflow) mixed in."""
    seed = 1000 * CHUNKS.index(chunk) + 10 * MODES.index(mode) + list(CONFIGS).index(cfg)
    xs, lengths = _stimulus(cfg, chunk, seed)
    kw = dict(seed=seed + 1) if mode == "sr" else {}
    got = _golden(cfg, xs, chunk, mode, lengths, **kw)
    want = _reference(cfg, xs, chunk, mode, lengths, **kw)
    acc = parse(CONFIGS[cfg][1])
    assert got.dtype == acc.dtype and got.shape == (len(lengths),)
    assert_codes_equal(got, want, acc, f"chunked {cfg} chunk={chunk} {mode}",
                       inputs={"length": (np.array(lengths), None)})


@pytest.mark.parametrize("cfg", list(CONFIGS))
def test_chunked_matches_fraction_reference(cfg):
    """The deterministic modes once more with the definitional Fraction roundings
    (frac_add / frac_fma) on a smaller sample, chunk 3."""
    xs, lengths = _stimulus(cfg, 3, seed=77, odd=0.03)
    acc = parse(CONFIGS[cfg][1])
    for mode in ("rne", "rtz", "rdn", "rup", "rna"):
        got = _golden(cfg, xs, 3, mode, lengths)
        want = _reference(cfg, xs, 3, mode, lengths, definitional=True)
        assert_codes_equal(got, want, acc, f"chunked {cfg} chunk=3 {mode} vs Fractions")


@pytest.mark.parametrize("cfg", ["fp16", "bf16->fp32", "e4m3*e5m2->fp16"])
def test_sr_other_rand_bits_and_saturate(cfg):
    """sr with 3 and 24 random bits, and saturating overflow (huge inputs)."""
    xs, lengths = _stimulus(cfg, 16, seed=5, odd=0.05)
    acc = parse(CONFIGS[cfg][1])
    for bits, sat in ((3, False), (24, False), (16, True)):
        got = _golden(cfg, xs, 16, "sr", lengths, seed=99, rand_bits=bits, saturate=sat)
        want = _reference(cfg, xs, 16, "sr", lengths, seed=99, rand_bits=bits, saturate=sat)
        assert_codes_equal(got, want, acc, f"sr {cfg} rand_bits={bits} saturate={sat}")


def test_sr_reference_detects_wrong_draw_order():
    """The sr comparison bites: a reference that swaps the inner and fold PRNG streams (or
    restarts the draws at every stream) disagrees with the golden model."""
    xs, lengths = _stimulus("fp16", 16, seed=3, odd=0)
    got = _golden("fp16", xs, 16, "sr", lengths, seed=7)
    assert np.array_equal(got, _reference("fp16", xs, 16, "sr", lengths, seed=7))
    f = parse("fp16")
    swapped = _reference("fp16", xs, 16, "sr", lengths, seed=7, instances=(1, 0))
    assert not np.array_equal(got, swapped)
    restarted = np.concatenate([
        reference_chunked(part, f, f, 16, "sr", seed=7)
        for part in np.split(xs, np.cumsum(lengths)[:-1])])
    assert not np.array_equal(got, restarted)


@pytest.mark.parametrize("cfg", list(CONFIGS))
def test_streams_equal_separate_calls(cfg):
    """Deterministic modes: streams given by ``lengths`` are independent (registers start
    at +0 for each), so the results equal one call per stream."""
    xs, lengths = _stimulus(cfg, 16, seed=11)
    cuts = np.cumsum(lengths)[:-1]
    acc = parse(CONFIGS[cfg][1])
    for chunk in (0, 3, 16):
        for mode in ("rne", "rdn"):
            got = _golden(cfg, xs, chunk, mode, lengths)
            if isinstance(xs, tuple):
                parts = zip(np.split(xs[0], cuts), np.split(xs[1], cuts))
                single = [_golden(cfg, (pa, pb), chunk, mode, None)[0] for pa, pb in parts]
            else:
                single = [_golden(cfg, part, chunk, mode, None)[0]
                          for part in np.split(xs, cuts)]
            assert_codes_equal(got, np.array(single), acc, f"{cfg} chunk={chunk} {mode}")


def test_sr_draws_continue_across_streams():
    """sr: the draws run on over the streams (not restarted per stream) and depend on the
    seed; the reference agrees in both cases."""
    f = parse("fp16")
    rng = np.random.default_rng(4)
    lengths = [200] * 6
    xs = f.encode(rng.standard_normal(1200) + 0.5).astype(np.uint64)
    got = chunked(xs, f, f, 16, "sr", lengths=lengths, seed=5)
    single = np.array([chunked(p, f, f, 16, "sr", seed=5)[0] for p in np.split(xs, 6)])
    other = chunked(xs, f, f, 16, "sr", lengths=lengths, seed=6)
    assert not np.array_equal(got, single)
    assert not np.array_equal(got, other)
    assert np.array_equal(got, reference_chunked(xs, f, f, 16, "sr", lengths=lengths, seed=5))
    assert np.array_equal(other, reference_chunked(xs, f, f, 16, "sr", lengths=lengths,
                                                   seed=6))


# ==== specials and exact cases (expected values from IEEE rules) =========================

F16 = parse("fp16")
POS_INF, NEG_INF, F16_NAN = 0x7C00, 0xFC00, F16.nan_code
ONE, TWO, NEG_ZERO = 0x3C00, 0x4000, 0x8000


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("chunk", [0, 1, 2, 16])
def test_specials_in_a_stream(chunk, mode):
    """fp16 streams: NaN anywhere -> NaN; +Inf -> +Inf; -Inf -> -Inf; +Inf and -Inf (same
    or different chunks) -> NaN; a NaN/Inf does not leak into the next stream; finite
    values overflowing the sum give Inf (rne, sr) or max (rtz; rdn for a positive sum)."""
    streams = [
        ([ONE, F16_NAN, ONE], F16_NAN),
        ([ONE, 0x7C01, ONE], F16_NAN),                # signaling NaN code
        ([F16_NAN], F16_NAN),
        ([ONE, POS_INF, TWO, 0xC000], POS_INF),
        ([NEG_INF, ONE], NEG_INF),
        ([POS_INF, ONE, ONE, NEG_INF], F16_NAN),      # chunk 2: different chunks
        ([POS_INF, NEG_INF], F16_NAN),
        ([ONE, TWO], 0x4200),                         # 3: nothing leaked
        ([0x7BFF, 0x7BFF], {"rne": POS_INF, "sr": POS_INF, "rtz": 0x7BFF,
                            "rdn": 0x7BFF}[mode]),    # 65504 + 65504
        ([0xFBFF, 0xFBFF, 0xFBFF], {"rne": NEG_INF, "sr": NEG_INF, "rtz": 0xFBFF,
                                    "rdn": NEG_INF}[mode]),
        ([TWO], TWO),
    ]
    xs = np.array([c for s, _ in streams for c in s], dtype=np.uint64)
    lengths = [len(s) for s, _ in streams]
    got = chunked(xs, F16, F16, chunk, mode, lengths=lengths, seed=3)
    want = np.array([w for _, w in streams], dtype=np.uint64)
    assert_codes_equal(got, want, F16, f"specials chunk={chunk} {mode}")
    assert np.array_equal(got, reference_chunked(xs, F16, F16, chunk, mode, lengths=lengths,
                                                 seed=3))


@pytest.mark.parametrize("chunk", [0, 3])
def test_zero_streams_and_signs(chunk):
    """Registers start at +0: a stream of -0 sums to +0 in every mode but rdn, where it is
    -0 (IEEE: (-0) + (+0) = +0, rdn -0); likewise 1 + (-1) is +0 (rdn: -0)."""
    xs = np.array([NEG_ZERO, NEG_ZERO, NEG_ZERO, ONE, 0xBC00, NEG_ZERO], dtype=np.uint64)
    lengths = [3, 2, 1]
    for mode, want in (("rne", [0, 0, 0]), ("rtz", [0, 0, 0]), ("sr", [0, 0, 0]),
                       ("rup", [0, 0, 0]), ("rdn", [NEG_ZERO] * 3)):
        got = chunked(xs, F16, F16, chunk, mode, lengths=lengths)
        assert got.tolist() == want, (mode, [hex(v) for v in got])


def test_specials_other_formats():
    """e4m3 (no Inf, NaN 0x7f) into fp16: NaN -> fp16 NaN; 448 * 4 stays finite.  Products
    e4m3 x e5m2: 0 * Inf -> NaN, Inf * finite -> signed Inf, NaN operand -> NaN.
    dlfloat16 (no Inf): overflow -> its NaN under rne, max under rtz."""
    e4, e5, dl = parse("fp8_e4m3"), parse("fp8_e5m2"), parse("dlfloat16")
    one_e4, max_e4 = 0x38, 0x7E                     # 1.0, 448
    assert ref_value(e4, max_e4) == 448 and ref_value(e4, one_e4) == 1
    xs = np.array([one_e4, 0x7F, one_e4, max_e4, max_e4, max_e4, max_e4], dtype=np.uint64)
    got = chunked(xs, e4, F16, 2, "rne", lengths=[3, 4])
    assert got.tolist() == [F16_NAN, 0x6700]        # 1792 = 0x6700
    assert ref_value(F16, 0x6700) == 1792
    # products: (a, b) pairs
    e5_inf, e5_one, e5_nan = 0x7C, 0x3C, 0x7E
    a = np.array([0x00, one_e4, 0xB8, 0x7F, one_e4], dtype=np.uint64)   # 0, 1, -1, NaN, 1
    b = np.array([e5_inf, e5_inf, e5_inf, e5_one, e5_nan], dtype=np.uint64)
    got = chunked((a, b), None, F16, 0, "rne", lengths=[1, 1, 1, 1, 1], products=True,
                  a_fmt=e4, b_fmt=e5)
    assert got.tolist() == [F16_NAN, POS_INF, NEG_INF, F16_NAN, F16_NAN]
    # dlfloat16 max + max overflows
    x = np.array([dl.max_code, dl.max_code], dtype=np.uint64)
    assert chunked(x, dl, dl, 0, "rne").tolist() == [dl.nan_code]
    assert chunked(x, dl, dl, 1, "rtz").tolist() == [dl.max_code]


# ==== argument errors ====================================================================

def test_argument_errors():
    f = parse("fp16")
    x = np.array([ONE, ONE, ONE], dtype=np.uint64)
    for bad in (-1, 1.5, True, "4", None):
        with pytest.raises(ValueError, match="chunk"):
            chunked(x, f, f, bad)
        with pytest.raises(ValueError, match="chunk"):
            check_chunk(bad)
    assert check_chunk(0) == 0 and check_chunk(64) == 64
    for lengths in ([1, 1], [2, 2], [3, 0], [], [4, -1]):
        with pytest.raises(ValueError, match="lengths"):
            chunked(x, f, f, 2, lengths=lengths)
    with pytest.raises(ValueError, match="a_fmt"):
        chunked((x, x), None, f, 2, products=True)
    with pytest.raises(ValueError, match="a_fmt"):
        chunked((x, x), None, f, 2, products=True, a_fmt="fp16")
    with pytest.raises(ValueError, match="same length"):
        chunked((x, x[:2]), None, f, 2, products=True, a_fmt=f, b_fmt=f)
    with pytest.raises(ValueError):
        chunked(x, f, f, 2, "rnd")
    with pytest.raises(ValueError):
        chunked(x, f, f, 2, "sr", seed=0)
    with pytest.raises(ValueError):
        chunked(x, f, f, 2, "sr", rand_bits=0)


# ==== AXPY ===============================================================================

AXPY_CONFIGS = [("fp16", "fp16", "fp16"), ("fp32", "fp16", "bf16"),
                ("bf16", "bf16", "fp32"), ("fp16", "fp8_e4m3", "fp16")]


@pytest.mark.parametrize("mode", ["sr", "rne", "rtz", "rdn"])
@pytest.mark.parametrize("fmts", AXPY_CONFIGS, ids=lambda f: "-".join(f))
def test_axpy_matches_reference(fmts, mode):
    """Per element round(y + alpha*x), one fused rounding; alpha held per 50 elements;
    weights near, far from and cancelling the update, plus random codes."""
    fa, fx, fy = map(parse, fmts)
    rng = np.random.default_rng(10 * AXPY_CONFIGS.index(fmts) + len(mode))
    n = 600
    alpha = np.repeat(fa.encode(2.0 ** rng.integers(-12, 0, n // 50)
                                * rng.choice([-1, 1], n // 50)), 50).astype(np.uint64)
    xv = rng.standard_normal(n) * 2.0 ** rng.integers(-4, 4, n)
    x = fx.encode(xv).astype(np.uint64)
    av = np.array([float(ref_value(fa, int(c))) for c in alpha])
    yv = np.where(rng.random(n) < 0.3, -av * xv * rng.uniform(0.5, 2, n),
                  rng.standard_normal(n) * 2.0 ** rng.integers(-6, 6, n))
    y = fy.encode(yv).astype(np.uint64)
    for arr, f in ((alpha, fa), (x, fx), (y, fy)):
        pick = rng.random(n) < 0.02
        arr[pick] = rng.integers(0, 1 << f.width, int(pick.sum()), dtype=np.uint64)
    got = axpy(alpha, x, y, fa, fx, fy, mode, seed=41)
    want = reference_axpy(alpha, x, y, fa, fx, fy, mode, seed=41)
    assert got.dtype == fy.dtype and got.shape == (n,)
    assert_codes_equal(got, want, fy, f"axpy {fmts} {mode}")
    if mode == "rne" and fa.precision + fx.precision > fy.precision:
        # one fused rounding: somewhere rounding alpha*x to y's format first differs
        # (unless y's format holds every product exactly)
        unfused = [ref_fma(p, q, r, fa, fx, fy, fy, "rne", fused=False, prod_fmt=fy)
                   for p, q, r in zip(alpha.tolist(), x.tolist(), y.tolist())]
        assert not np.array_equal(got, np.array(unfused, dtype=np.uint64))


def test_axpy_scalar_alpha_and_default_sr():
    """alpha broadcast from a scalar code; default rounding is sr with draws(seed)."""
    f = parse("fp16")
    rng = np.random.default_rng(8)
    x = f.encode(rng.standard_normal(300)).astype(np.uint64)
    y = f.encode(rng.standard_normal(300)).astype(np.uint64)
    alpha = int(f.encode(np.array([0.001]))[0])
    got = axpy(alpha, x, y, f, f, f, seed=12)
    assert np.array_equal(got, reference_axpy(alpha, x, y, f, f, f, "sr", seed=12))
    assert np.array_equal(got, axpy(np.full(300, alpha, np.uint64), x, y, f, f, f, "sr",
                                    seed=12))
    assert not np.array_equal(got, axpy(alpha, x, y, f, f, f, "rne"))


# ==== numerics: what chunking and stochastic rounding are for ============================

def test_chunking_reduces_error_of_long_fp16_sum():
    """4096 values ~ N(1, 1) in fp16 summed in fp16 (rne), against the exact Fraction sum
    (about 4100, where the fp16 ulp is 4): with one running sum (chunk 0) each of the
    ~2000 late additions of a value ~1 is rounded to a multiple of 2 or 4; with chunk 64
    the inner sums stay small and only 64 folds see the coarse ulp.  Over 8 independent
    streams (seeds 0..7: mean errors ~31 vs ~2.3) the mean error of chunk 64 is far
    smaller, and within about one final ulp."""
    f = parse("fp16")
    streams = [f.encode(np.random.default_rng(seed).standard_normal(4096) + 1).astype(np.uint64)
               for seed in range(8)]
    exact = [sum((ref_value(f, c) for c in xs.tolist()), Fraction(0)) for xs in streams]
    err = {}
    for chunk in (0, 64):  # the 8 streams side by side in one call
        got = chunked(np.concatenate(streams), f, f, chunk, "rne", lengths=[4096] * 8)
        for i in range(8 if chunk else 2):  # the reference (on a sample for chunk 0)
            assert got[i] == reference_chunked(streams[i], f, f, chunk, "rne")[0]
        err[chunk] = [abs(ref_value(f, int(g)) - e) for g, e in zip(got.tolist(), exact)]
    mean0, mean64 = (sum(e, Fraction(0)) / len(e) for e in (err[0], err[64]))
    assert mean0 > 8 * mean64, (float(mean0), float(mean64))
    assert mean0 > 16                # four final ulps (ulp 4) or more, on average
    assert mean64 <= 4               # within one final ulp on average,
    assert max(err[64]) <= 12        # and three every time


def test_axpy_tiny_updates_vanish_under_rne_survive_under_sr():
    """1000 updates w := w + alpha*x with alpha = x = fp16(0.01), so alpha*x = p ~ 1.0004e-4,
    about 0.1 ulp of 1.0 (ulp 2**-10), applied to 2048 independent fp16 weights that start
    at 1.0.  rne: 1 + p is within half an ulp of 1, so every weight stays exactly 1.0.
    sr (16 random bits, a fresh seed per pass): each update moves a weight up one ulp with
    probability q = floor(p/ulp * 2**16) / 2**16 (exact math), so the final weights have
    mean 1 + 1000 * q * ulp ~ 1.1 and variance 1000 q (1-q) ulp**2: the sample mean is
    within 4 sigma of that and of 1 + 1000 p (they differ by < 0.05 sigma)."""
    f = parse("fp16")
    n, steps = 2048, 1000
    c = int(f.encode(np.array([0.01]))[0])
    p = ref_value(f, c) ** 2
    ulp = Fraction(1, 1024)
    assert ref_value(f, ONE) == 1 and p < ulp / 2
    q = Fraction(math.floor(p / ulp * 2 ** 16), 2 ** 16)
    alpha = np.full(n, c, dtype=np.uint64)
    w_sr = np.full(n, ONE, dtype=np.uint64)
    w_rne = w_sr.copy()
    for k in range(steps):
        w_sr = axpy(alpha, alpha, w_sr, f, f, f, "sr", seed=instance_seed(2024, k)
                    ).astype(np.uint64)
        w_rne = axpy(alpha, alpha, w_rne, f, f, f, "rne").astype(np.uint64)
        if k == 0:  # the first pass, element by element, against the reference
            assert np.array_equal(w_sr, reference_axpy(alpha, alpha, np.full(n, ONE, np.uint64),
                                                       f, f, f, "sr",
                                                       seed=instance_seed(2024, 0)))
    assert set(w_rne.tolist()) == {ONE}
    # every sr weight is still in [1, 2) (the ulp stays 2**-10) and moved in whole ulps
    ups = (w_sr.astype(np.int64) - ONE)
    assert ups.min() >= 0 and ups.max() < 1024
    mean_ups = Fraction(int(ups.sum()), n)
    expect_ups = steps * q
    sigma = math.sqrt(steps * q * (1 - q) / n)
    assert abs(float(mean_ups - expect_ups)) < 4 * sigma, (float(mean_ups), float(expect_ups),
                                                           sigma)
    exact_ups = steps * p / ulp                      # 1 + 1000 p, in ulps above 1
    assert abs(float(mean_ups - exact_ups)) < 4 * sigma
    mean_w = 1 + mean_ups * ulp
    assert abs(float(mean_w) - 1.1) < 0.002          # "1 + 0.1"
    # spread matches the binomial law (within 15 %)
    sd = float(np.std(ups))
    assert abs(sd - math.sqrt(steps * q * (1 - q))) < 0.15 * math.sqrt(steps * q * (1 - q))
