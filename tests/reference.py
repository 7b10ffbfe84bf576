"""Independent scalar references for the golden model, written from the definitions and
sharing no code with ``fpforge.sim.rounding`` / ``fpforge.sim.arith``.

Two implementations of the same definitions:

* the *fast* reference (``ref_decode``, ``ref_round_exact``, ``ref_round``, ``ref_mul``,
  ``ref_mul_many``, ``ref_round_many``) works on exact dyadic values held as Python
  integers ``(-1)**neg * sig * 2**exp``; it decodes codes with its own field decoder
  (checked code-for-code against ml_dtypes/numpy and ``FloatFormat.value`` in
  ``test_formats.py``) and caches a decode table per format up to 16 bits;
* the *definitional* reference (``frac_round``, ``frac_mul``) is the original, slow
  ``fractions.Fraction`` transcription of the definitions; the tests check the fast
  reference against it on samples (``test_fast_*reference_matches_fraction_reference``).

Both use only format *parameters* (``exp_bits``, ``man_bits``, ``bias``, ``nan``,
``subnormals``) and, for the Fraction version, ``FloatFormat.value``/``.max``.

Also here, shared by the test modules: ``assert_codes_equal`` (reports mismatches in hex),
the ml_dtypes type table and ``float_data`` (float64 test data for rounding).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from fpforge.sim.formats import FloatFormat

MODES = ("rne", "rtz", "rna", "rup", "rdn")

# decode kinds
FINITE, INF, NAN = 0, 1, 2


# ==== fast reference: format constants and decoding ======================================

class _Spec:
    """Constants of one format, derived from its parameters (not from FloatFormat's
    derived properties such as max_code/nan_code, which the tests check separately)."""

    __slots__ = ("fmt", "e", "m", "bias", "kind", "sub", "width", "sign_bit", "efm", "mm",
                 "emin", "max_field", "max_frac", "max_u", "max_n", "minpos_u", "minpos_n",
                 "nan_code", "inf_code", "has_nan", "has_inf", "neg_zero", "table")

    def __init__(self, fmt: FloatFormat):
        self.fmt = fmt
        e, m = fmt.exp_bits, fmt.man_bits
        self.e, self.m, self.bias, self.kind = e, m, fmt.bias, fmt.nan
        self.sub = fmt.subnormals
        self.width = 1 + e + m
        self.sign_bit = 1 << (e + m)
        self.efm = (1 << e) - 1
        self.mm = (1 << m) - 1
        # lowest binade: exponent field 1 with subnormals, field 0 without
        self.emin = (1 if self.sub else 0) - self.bias
        # largest finite magnitude, by convention
        if self.kind == "ieee":
            self.max_field, self.max_frac = self.efm - 1, self.mm
        elif self.kind == "allones":
            self.max_field, self.max_frac = self.efm, self.mm - 1
        else:
            self.max_field, self.max_frac = self.efm, self.mm
        # normalised (u, n): value = n * 2**u, n in [2**m, 2**(m+1))
        self.max_u = self.max_field - self.bias - m
        self.max_n = (1 << m) | self.max_frac
        # smallest positive magnitude (code 1)
        if self.sub:
            self.minpos_u, self.minpos_n = self.emin - m, 1
        else:
            self.minpos_u, self.minpos_n = self.emin - m, (1 << m) | 1
        self.has_nan = self.kind != "none"
        self.has_inf = self.kind == "ieee"
        self.neg_zero = self.kind != "negzero"
        if self.kind == "ieee":
            self.nan_code = (self.efm << m) | (1 << (m - 1))
        elif self.kind == "allones":
            self.nan_code = (self.efm << m) | self.mm
        elif self.kind == "negzero":
            self.nan_code = self.sign_bit
        else:
            self.nan_code = None
        self.inf_code = self.efm << m if self.has_inf else None
        self.table = None
        if self.width <= 16:
            self.table = [self._decode(c) for c in range(1 << self.width)]

    def _decode(self, code: int):
        """(kind, neg, sig, exp): value = (-1)**neg * sig * 2**exp for FINITE."""
        m = self.m
        neg = code >> (self.width - 1)
        field = (code >> m) & self.efm
        frac = code & self.mm
        if self.kind == "ieee" and field == self.efm:
            return (NAN, neg, 0, 0) if frac else (INF, neg, 0, 0)
        if self.kind == "allones" and field == self.efm and frac == self.mm:
            return (NAN, neg, 0, 0)
        if self.kind == "negzero" and neg and field == 0 and frac == 0:
            return (NAN, neg, 0, 0)
        if field == 0 and frac == 0:
            return (FINITE, neg, 0, 0)
        if field == 0 and self.sub:
            return (FINITE, neg, frac, 1 - self.bias - m)
        return (FINITE, neg, (1 << m) | frac, field - self.bias - m)

    def decode(self, code: int):
        if self.table is not None:
            return self.table[code]
        return self._decode(code)


_SPECS: dict = {}


def spec(fmt: FloatFormat) -> _Spec:
    s = _SPECS.get(fmt)
    if s is None:
        s = _SPECS[fmt] = _Spec(fmt)
    return s


def ref_decode(fmt: FloatFormat, code: int):
    """``(kind, neg, sig, exp)`` of one code; kind is FINITE, INF or NAN."""
    code = int(code)
    s = spec(fmt)
    if not 0 <= code < (1 << s.width):
        raise ValueError(code)
    return s.decode(code)


def ref_value(fmt: FloatFormat, code: int):
    """Exact value as a Fraction, or float inf / nan (same convention as FloatFormat.value)."""
    kind, neg, sig, exp = ref_decode(fmt, code)
    if kind == NAN:
        return float("nan")
    if kind == INF:
        return float("-inf") if neg else float("inf")
    v = Fraction(sig << exp) if exp >= 0 else Fraction(sig, 1 << -exp)
    return -v if neg else v


# ==== fast reference: rounding ===========================================================

def _overflow_code(s: _Spec, neg: bool, mode: str, saturate: bool) -> int:
    to_max = (saturate or mode == "rtz" or (mode == "rup" and neg) or (mode == "rdn" and not neg)
              or not s.has_nan)
    if to_max:
        return (s.sign_bit if neg else 0) | (s.max_field << s.m) | s.max_frac
    if s.has_inf:
        return (s.sign_bit if neg else 0) | s.inf_code
    return s.nan_code


def _zero(s: _Spec, neg: bool) -> int:
    return s.sign_bit if (neg and s.neg_zero) else 0


def ref_round_exact(neg: bool, sig: int, exp: int, fmt: FloatFormat, mode: str,
                    saturate: bool = False) -> int:
    """Round the exact value (-1)**neg * sig * 2**exp (sig >= 0 an int) to a code.
    A zero value gives a zero of sign ``neg`` (+0 where the format has no -0)."""
    s = spec(fmt)
    if sig == 0:
        return _zero(s, neg)
    m = s.m
    msb = exp + sig.bit_length() - 1
    e = msb if (not s.sub or msb >= s.emin) else s.emin
    u = e - m                      # exponent of the result's ulp
    sh = u - exp                   # bits of sig below the ulp
    if sh <= 0:
        n = sig << -sh
        up = False
    else:
        n = sig >> sh
        rem = sig & ((1 << sh) - 1)
        half = 1 << (sh - 1)
        if mode == "rne":
            up = rem > half or (rem == half and (n & 1) == 1)
        elif mode == "rna":
            up = rem >= half
        elif mode == "rtz":
            up = False
        elif mode == "rup":
            up = rem != 0 and not neg
        elif mode == "rdn":
            up = rem != 0 and neg
        else:
            raise ValueError(mode)
    if up:
        n += 1
        if n >> (m + 1):           # carry into the next binade: n == 2**(m+1)
            n >>= 1
            u += 1
    # now value = n * 2**u with n in [2**m, 2**(m+1)), or n < 2**m (subnormal, u = emin-m)
    if n >> m:
        if u > s.max_u or (u == s.max_u and n > s.max_n):
            return _overflow_code(s, neg, mode, saturate)
        if u < s.minpos_u or (u == s.minpos_u and n < s.minpos_n):
            return _zero(s, neg)   # only without subnormals
        field = u + m + s.bias
        mag = (field << m) | (n - (1 << m))
    else:
        if n == 0:
            return _zero(s, neg)
        assert s.sub and u == s.emin - m, (neg, sig, exp, fmt)
        mag = n
    return (s.sign_bit if neg else 0) | mag


def dyadic(x) -> tuple[bool, int, int]:
    """A finite float or dyadic Fraction as (neg, sig, exp)."""
    if isinstance(x, float):
        if x == 0:
            return math.copysign(1.0, x) < 0, 0, 0
        mant, e = math.frexp(abs(x))
        return x < 0, int(mant * (1 << 53)), e - 53
    x = Fraction(x)
    den = x.denominator
    if den & (den - 1):
        raise ValueError(f"{x} is not dyadic")
    return x < 0, abs(x.numerator), -(den.bit_length() - 1)


def ref_round(x, fmt: FloatFormat, mode: str, saturate: bool = False,
              zero_neg: bool = False) -> int:
    """Round an exact value (dyadic Fraction, int or float, incl. +-inf/nan floats) to a code.
    ``zero_neg`` is the sign of an exact Fraction/int zero (a float zero carries its own)."""
    s = spec(fmt)
    if isinstance(x, float):
        if math.isnan(x):
            if not s.has_nan:
                raise ValueError("no NaN")
            return s.nan_code
        if math.isinf(x):
            neg = x < 0
            if s.has_inf:
                return (s.sign_bit if neg else 0) | s.inf_code
            if s.has_nan:
                return s.nan_code
            return (s.sign_bit if neg else 0) | (s.max_field << s.m) | s.max_frac
        neg, sig, exp = dyadic(x)
    else:
        neg, sig, exp = dyadic(x)
        if sig == 0:
            neg = zero_neg
    return ref_round_exact(neg, sig, exp, fmt, mode, saturate)


def ref_round_many(values, fmt: FloatFormat, mode: str, saturate: bool = False) -> np.ndarray:
    """ref_round over an array of float64 values."""
    vals = np.asarray(values, np.float64).tolist()
    out = [ref_round(float(v), fmt, mode, saturate) for v in vals]
    return np.array(out, dtype=np.uint64)


# ==== fast reference: multiplication =====================================================

def ref_mul(a: int, b: int, a_fmt: FloatFormat, b_fmt: FloatFormat, out_fmt: FloatFormat,
            mode: str, saturate: bool = False) -> int:
    ka, na, sa, ea = spec(a_fmt).decode(int(a))
    kb, nb, sb, eb = spec(b_fmt).decode(int(b))
    return _mul_decoded(ka, na, sa, ea, kb, nb, sb, eb, spec(out_fmt), out_fmt, mode, saturate)


def _mul_decoded(ka, na, sa, ea, kb, nb, sb, eb, so, out_fmt, mode, saturate):
    neg = bool(na) != bool(nb)
    if ka == NAN or kb == NAN:
        return so.nan_code
    if ka == INF or kb == INF:
        if (ka == FINITE and sa == 0) or (kb == FINITE and sb == 0):
            return so.nan_code                      # 0 * Inf
        if so.has_inf:
            return (so.sign_bit if neg else 0) | so.inf_code
        return so.nan_code                          # Inf in a format without Inf: NaN
    return ref_round_exact(neg, sa * sb, ea + eb, out_fmt, mode, saturate)


def ref_mul_many(a, b, a_fmt, b_fmt, out_fmt, mode, saturate=False) -> np.ndarray:
    """ref_mul over equal-length code arrays."""
    da, db, so = spec(a_fmt).decode, spec(b_fmt).decode, spec(out_fmt)
    out = []
    append = out.append
    for x, y in zip(np.asarray(a).tolist(), np.asarray(b).tolist()):
        ka, na, sa, ea = da(x)
        kb, nb, sb, eb = db(y)
        if ka or kb:
            append(_mul_decoded(ka, na, sa, ea, kb, nb, sb, eb, so, out_fmt, mode, saturate))
        else:
            append(ref_round_exact(na != nb, sa * sb, ea + eb, out_fmt, mode, saturate))
    return np.array(out, dtype=np.uint64)


# ==== definitional (slow) Fraction reference =============================================

def _floor_log2(x: Fraction) -> int:
    e = x.numerator.bit_length() - x.denominator.bit_length()
    while Fraction(2) ** e > x:
        e -= 1
    while Fraction(2) ** (e + 1) <= x:
        e += 1
    return e


def _frac_signed_zero(fmt: FloatFormat, neg: bool) -> int:
    return fmt.sign_bit if neg and fmt.has_neg_zero else 0


def _frac_encode_exact(fmt: FloatFormat, mag: Fraction, neg: bool) -> int:
    """Code of a representable magnitude (asserted)."""
    if mag == 0:
        return _frac_signed_zero(fmt, neg)
    if fmt.subnormals and mag < fmt.min_normal:
        field, frac = 0, mag / Fraction(2) ** (fmt.emin - fmt.man_bits)
    else:
        e = _floor_log2(mag)
        field = e + fmt.bias
        frac = mag / Fraction(2) ** (e - fmt.man_bits) - (1 << fmt.man_bits)
    assert frac.denominator == 1 and 0 <= field <= fmt.exp_field_max, (mag, fmt)
    code = (field << fmt.man_bits) | int(frac) | (fmt.sign_bit if neg else 0)
    assert fmt.value(code) == (-mag if neg else mag)
    return code


def _frac_big(fmt: FloatFormat, neg: bool, to_max: bool) -> int:
    sign = fmt.sign_bit if neg else 0
    if to_max or not fmt.has_nan:
        return fmt.max_code | sign
    if fmt.has_inf:
        return fmt.inf_code | sign
    return fmt.nan_code


def frac_round(x: Fraction, fmt: FloatFormat, mode: str, saturate: bool = False,
               zero_neg: bool = False) -> int:
    """Round the exact value x to a code of fmt.  ``zero_neg`` is the sign of an exact 0."""
    neg = x < 0 or (x == 0 and zero_neg)
    mag = abs(x)
    if mag == 0:
        return _frac_signed_zero(fmt, neg)
    e = _floor_log2(mag)
    if fmt.subnormals:
        e = max(e, fmt.emin)
    ulp = Fraction(2) ** (e - fmt.man_bits)
    n = math.floor(mag / ulp)
    rem = mag / ulp - n
    half = Fraction(1, 2)
    if mode == "rne":
        up = rem > half or (rem == half and n % 2 == 1)
    elif mode == "rna":
        up = rem >= half
    elif mode == "rtz":
        up = False
    elif mode == "rup":
        up = rem > 0 and not neg
    elif mode == "rdn":
        up = rem > 0 and neg
    else:
        raise ValueError(mode)
    r = (n + up) * ulp
    if r > fmt.max:
        to_max = (saturate or mode == "rtz" or (mode == "rup" and neg)
                  or (mode == "rdn" and not neg))
        return _frac_big(fmt, neg, to_max)
    if r < fmt.min_positive:  # only reachable without subnormals (or r == 0)
        return _frac_signed_zero(fmt, neg)
    return _frac_encode_exact(fmt, r, neg)


def frac_mul(a: int, b: int, a_fmt: FloatFormat, b_fmt: FloatFormat, out_fmt: FloatFormat,
             mode: str, saturate: bool = False) -> int:
    va, vb = a_fmt.value(a), b_fmt.value(b)
    neg = bool(a >> (a_fmt.width - 1)) != bool(b >> (b_fmt.width - 1))
    nan_a = isinstance(va, float) and math.isnan(va)
    nan_b = isinstance(vb, float) and math.isnan(vb)
    inf_a = isinstance(va, float) and not nan_a
    inf_b = isinstance(vb, float) and not nan_b
    if nan_a or nan_b or (inf_a and vb == 0) or (inf_b and va == 0):
        return out_fmt.nan_code
    if inf_a or inf_b:
        return _frac_big(out_fmt, neg, to_max=False)  # Inf, or NaN where no Inf
    return frac_round(va * vb, out_fmt, mode, saturate, zero_neg=neg)


# ==== comparison helpers =================================================================

def mismatches(got, want, fmt: FloatFormat, inputs: dict | None = None, nan_by_class=False,
               limit: int = 20) -> list[str]:
    """Lines describing every index where ``got`` != ``want`` (codes of ``fmt``), in hex.
    ``nan_by_class``: any NaN code matches any NaN code (by the reference decoder)."""
    got = np.asarray(got).astype(np.uint64)
    want = np.asarray(want).astype(np.uint64)
    bad = got != want
    if nan_by_class and bad.any():
        s = spec(fmt)
        idx = np.flatnonzero(bad)
        both_nan = np.array([s.decode(int(g))[0] == NAN and s.decode(int(w))[0] == NAN
                             for g, w in zip(got[idx].tolist(), want[idx].tolist())], dtype=bool)
        bad[idx[both_nan]] = False
    idx = np.flatnonzero(bad)
    digits = (fmt.width + 3) // 4
    lines = []
    for i in idx[:limit]:
        ins = ""
        if inputs:
            parts = []
            for k, (arr, width_or_fmt) in inputs.items():
                v = arr[i].item() if hasattr(arr[i], "item") else arr[i]
                if isinstance(width_or_fmt, int):
                    parts.append(f"{k}={int(v):#0{width_or_fmt // 4 + 2}x}")
                else:
                    parts.append(f"{k}={v!r}")
            ins = " ".join(parts) + " -> "
        lines.append(f"[{i}] {ins}got {int(got[i]):#0{digits + 2}x} "
                     f"want {int(want[i]):#0{digits + 2}x}")
    if idx.size > limit:
        lines.append(f"... and {idx.size - limit} more ({idx.size} mismatches in total)")
    elif idx.size:
        lines.append(f"({idx.size} mismatches in total)")
    return lines


def assert_codes_equal(got, want, fmt: FloatFormat, what: str = "", inputs: dict | None = None,
                       nan_by_class: bool = False, limit: int = 200) -> None:
    """Fail with every mismatch (up to ``limit`` lines, then the count) in hex.
    ``inputs`` maps a label to ``(array, width_in_bits)`` (hex) or ``(array, None)`` (repr)."""
    import pytest

    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    flat = {k: (np.asarray(a).ravel(), w) for k, (a, w) in (inputs or {}).items()}
    lines = mismatches(got.ravel(), want.ravel(), fmt, flat or None,
                       nan_by_class=nan_by_class, limit=limit)
    if lines:
        pytest.fail(f"{what} [{fmt}]: mismatches (inputs -> got, want, hex)\n" + "\n".join(lines))


# ==== ml_dtypes / numpy types ===========================================================

def ml_types() -> dict:
    """ml_dtypes / numpy name -> numpy dtype of every type the formats are checked against.
    The 6- and 4-bit types are stored one per byte (low bits)."""
    import ml_dtypes

    names = ["float8_e4m3fn", "float8_e4m3fnuz", "float8_e4m3b11fnuz", "float8_e5m2",
             "float8_e5m2fnuz", "float8_e3m4", "float8_e4m3", "bfloat16",
             "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn"]
    out = {n: np.dtype(getattr(ml_dtypes, n)) for n in names}
    out["float16"] = np.dtype(np.float16)
    return out


ML8 = ["float8_e4m3fn", "float8_e4m3fnuz", "float8_e4m3b11fnuz", "float8_e5m2",
       "float8_e5m2fnuz", "float8_e3m4", "float8_e4m3"]
ML_SUB8 = ["float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn"]


def storage_dtype(dt: np.dtype) -> type:
    return {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[dt.itemsize]


# ==== float64 test data =================================================================

def float_data(fmt: FloatFormat, n: int, seed: int, f32: bool = False,
               nan: bool = True) -> np.ndarray:
    """About ``n`` float64 values for rounding into ``fmt``: uniformly random bit patterns
    (far beyond max and far below the smallest subnormal), random values spanning the
    format's range, exact ties between adjacent codes and their float64 neighbours, and the
    overflow/underflow thresholds, +-0, +-inf and (unless ``nan=False``) NaN.

    ``f32=True``: every value is exactly a float32 (for comparing with ml_dtypes, whose
    float64 casts go through float32 and round twice)."""
    rng = np.random.default_rng(seed)
    m = fmt.man_bits
    k = max(n // 8, 1)
    parts = []
    # 1. random bit patterns
    if f32:
        bits = rng.integers(0, 1 << 32, k, dtype=np.uint64).astype(np.uint32)
        with np.errstate(invalid="ignore"):  # signalling NaNs
            parts.append(bits.view(np.float32).astype(np.float64))
    else:
        parts.append(rng.integers(0, np.iinfo(np.uint64).max, k, dtype=np.uint64,
                                  endpoint=True).view(np.float64))
    # 2. random significands over the format's exponent range and a little beyond
    k2 = 3 * k
    sig = rng.integers(1 << 52, 1 << 53, k2, dtype=np.int64).astype(np.float64) / 2.0 ** 52
    exps = rng.integers(fmt.emin - m - 6, fmt.emax + 4, k2)
    vals = np.ldexp(sig, exps) * rng.choice([-1.0, 1.0], k2)
    # a third with short significands (so that some are exact or near-ties)
    short = rng.random(k2) < 1 / 3
    keep = rng.integers(1, m + 4, k2)
    trunc = np.ldexp(np.floor(np.ldexp(sig, keep)), -keep)
    vals = np.where(short, np.ldexp(trunc, exps) * np.sign(vals), vals)
    parts.append(vals)
    # 3. exact ties between adjacent finite codes, and their neighbours
    k3 = 3 * k
    lo_mag = rng.integers(0, fmt.max_code, k3, dtype=np.uint64)     # magnitude < max_code
    lo_mag = np.concatenate([lo_mag, np.arange(0, min(fmt.max_code, 64), dtype=np.uint64)])
    neg = rng.random(lo_mag.size) < 0.5
    lo = fmt.decode(lo_mag)
    hi = fmt.decode(lo_mag + np.uint64(1))
    mid = (lo + hi) / 2 * np.where(neg, -1.0, 1.0)
    ties = [mid]
    if f32:
        mid32 = mid.astype(np.float32)
        ties += [np.nextafter(mid32, np.float32(np.inf)).astype(np.float64),
                 np.nextafter(mid32, np.float32(-np.inf)).astype(np.float64)]
    else:
        ties += [np.nextafter(mid, np.inf), np.nextafter(mid, -np.inf)]
    parts += ties
    # 4. thresholds
    mx = float(fmt.max)
    ulp_max = 2.0 ** (fmt.emax - m)
    mp = float(fmt.min_positive)
    mn = 2.0 ** fmt.emin
    edges = [mx, mx + ulp_max / 2, mx + ulp_max, mx + ulp_max * 0.75, mx + ulp_max / 4,
             2 * mx, 4 * mx, 1e300, mp, mp / 2, mp * 0.75, mp / 4, mp * 1.5, mp / 1024,
             mn, mn / 2, mn * (1 - 2.0 ** -(m + 1)), mn * (1 - 2.0 ** -(m + 2)),
             mn * (1 - 2.0 ** -m), 1e-300, 5e-324, 1.0, 0.0]
    edges = np.array(edges, dtype=np.float64)
    edges = np.concatenate([edges, np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)])
    edges = np.concatenate([edges, -edges, [np.inf, -np.inf]]
                           + ([[np.nan, -np.nan]] if nan else []))
    parts.append(edges)
    out = np.concatenate(parts)
    if f32:
        with np.errstate(over="ignore"):
            out = out.astype(np.float32).astype(np.float64)
    if not nan:
        out = out[~np.isnan(out)]
    return out
