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


# ==== addition and fused multiply-add: definitional Fraction references ==================
#
# IEEE 754 zero-sign rules (section 6.3): an exact zero sum of operands that are not both
# zero is +0 in every mode but rdn (-0 there); x + y with x and y both zero is -0 only when
# both are -0 (rdn: when either is).  For fma the product a*b (exact) takes the role of x,
# with the sign sign(a) xor sign(b) even when it is zero.  Formats without -0 give +0.

# RISC-V fflags bits (= SoftFloat ExceptionFlag values)
FLAG_NX, FLAG_UF, FLAG_OF, FLAG_DZ, FLAG_NV = 1, 2, 4, 8, 16
FLAG_NAMES = {FLAG_NX: "NX", FLAG_UF: "UF", FLAG_OF: "OF", FLAG_DZ: "DZ", FLAG_NV: "NV"}


def flag_str(flags: int) -> str:
    """'NV|OF|NX' style name of a flags value ('-' for none)."""
    names = [n for bit, n in sorted(FLAG_NAMES.items(), reverse=True) if flags & bit]
    return "|".join(names) or "-"


def _zero_sum_neg(x_neg: bool, x_zero: bool, y_neg: bool, y_zero: bool, mode: str) -> bool:
    """Sign of an exact zero x + y (IEEE 754 section 6.3)."""
    if x_zero and y_zero:
        return (x_neg or y_neg) if mode == "rdn" else (x_neg and y_neg)
    return mode == "rdn"


def frac_is_snan(fmt: FloatFormat, code: int) -> bool:
    """A signaling NaN: only IEEE-convention formats have them (NaN, fraction msb clear)."""
    code = int(code)
    if fmt.nan != "ieee":
        return False
    field = (code >> fmt.man_bits) & fmt.exp_field_max
    frac = code & fmt.man_mask
    return field == fmt.exp_field_max and frac != 0 and not (frac >> (fmt.man_bits - 1)) & 1


def _frac_operand(fmt: FloatFormat, code: int):
    """(value, neg, is_nan, is_inf, is_snan); value is a Fraction for finite codes."""
    code = int(code)
    v = fmt.value(code)
    neg = bool(code >> (fmt.width - 1))
    is_nan = isinstance(v, float) and math.isnan(v)
    is_inf = isinstance(v, float) and not is_nan
    return v, neg, is_nan, is_inf, frac_is_snan(fmt, code)


def _frac_round_unbounded(mag: Fraction, precision: int, mode: str, neg: bool) -> Fraction:
    """mag > 0 rounded to ``precision`` significant bits with an unbounded exponent range."""
    e = _floor_log2(mag)
    ulp = Fraction(2) ** (e - precision + 1)
    n = math.floor(mag / ulp)
    rem = mag / ulp - n
    half = Fraction(1, 2)
    up = {"rne": rem > half or (rem == half and n % 2 == 1), "rna": rem >= half,
          "rtz": False, "rup": rem > 0 and not neg, "rdn": rem > 0 and neg}[mode]
    return (n + up) * ulp


def frac_round_flags(x: Fraction, fmt: FloatFormat, mode: str, saturate: bool = False,
                     zero_neg: bool = False) -> tuple[int, int]:
    """``(frac_round(x, ...), flags)`` for an exact finite x; flags from the definitions:
    OF when x rounded with an unbounded exponent exceeds max (whatever is delivered);
    UF when that rounded value is nonzero and below 2**emin (without subnormals: below the
    smallest positive code) and the delivered result is inexact (tininess after rounding);
    NX when the delivered value differs from x (overflow and flush included)."""
    code = frac_round(x, fmt, mode, saturate, zero_neg)
    if x == 0:
        return code, 0
    neg, mag = x < 0, abs(x)
    r = _frac_round_unbounded(mag, fmt.precision, mode, neg)
    got = fmt.value(code)
    exact = not isinstance(got, float) and got == x
    flags = 0 if exact else FLAG_NX
    if r > fmt.max:
        flags |= FLAG_OF | FLAG_NX
    tiny = r < (fmt.min_normal if fmt.subnormals else fmt.min_positive)
    if tiny and not exact:
        flags |= FLAG_UF
    return code, flags


def frac_mul_flags(a: int, b: int, a_fmt: FloatFormat, b_fmt: FloatFormat,
                   out_fmt: FloatFormat, mode: str, saturate: bool = False) -> tuple[int, int]:
    """``(frac_mul(...), flags)``: NV for 0 * Inf or a signaling NaN operand; no flag for a
    quiet NaN or an Inf result from an Inf operand."""
    va, na, nan_a, inf_a, snan_a = _frac_operand(a_fmt, a)
    vb, nb, nan_b, inf_b, snan_b = _frac_operand(b_fmt, b)
    neg = na != nb
    if nan_a or nan_b:
        return out_fmt.nan_code, FLAG_NV if (snan_a or snan_b) else 0
    if (inf_a and vb == 0) or (inf_b and va == 0):
        return out_fmt.nan_code, FLAG_NV
    if inf_a or inf_b:
        return _frac_big(out_fmt, neg, to_max=False), 0
    return frac_round_flags(va * vb, out_fmt, mode, saturate, zero_neg=neg)


def frac_add_flags(a: int, b: int, a_fmt: FloatFormat, b_fmt: FloatFormat,
                   out_fmt: FloatFormat, mode: str, saturate: bool = False) -> tuple[int, int]:
    """``(frac_add(...), flags)``: y = round(a + b) once.  NaN in -> canonical NaN,
    Inf + -Inf -> NaN (NV), Inf + finite -> Inf (NaN where the result format has no Inf);
    NV also for a signaling NaN operand."""
    va, na, nan_a, inf_a, snan_a = _frac_operand(a_fmt, a)
    vb, nb, nan_b, inf_b, snan_b = _frac_operand(b_fmt, b)
    if nan_a or nan_b:
        return out_fmt.nan_code, FLAG_NV if (snan_a or snan_b) else 0
    if inf_a and inf_b and na != nb:
        return out_fmt.nan_code, FLAG_NV
    if inf_a or inf_b:
        return _frac_big(out_fmt, na if inf_a else nb, to_max=False), 0
    s = va + vb
    zneg = _zero_sum_neg(na, va == 0, nb, vb == 0, mode)
    return frac_round_flags(s, out_fmt, mode, saturate, zero_neg=zneg)


def frac_add(a: int, b: int, a_fmt: FloatFormat, b_fmt: FloatFormat, out_fmt: FloatFormat,
             mode: str, saturate: bool = False) -> int:
    """Code of round(a + b) (see ``frac_add_flags``)."""
    return frac_add_flags(a, b, a_fmt, b_fmt, out_fmt, mode, saturate)[0]


def frac_fma_flags(a: int, b: int, c: int, a_fmt: FloatFormat, b_fmt: FloatFormat,
                   c_fmt: FloatFormat, out_fmt: FloatFormat, mode: str, saturate: bool = False,
                   fused: bool = True, prod_fmt: FloatFormat | None = None) -> tuple[int, int]:
    """``(code, flags)`` of a*b + c.

    Fused: the exact a*b + c rounded once.  NaN if any operand is NaN, for 0 * Inf (whatever
    c is, a NaN c included: NV) and for an Inf product plus an Inf c of the other sign (NV);
    NV also for any signaling NaN operand.  An Inf product or Inf c gives Inf of its sign.

    Unfused: p = a*b rounded to ``prod_fmt`` (same mode and saturate), then p + c rounded to
    ``out_fmt``; the flags are those of the two roundings OR-ed."""
    if not fused:
        if prod_fmt is None:
            raise ValueError("unfused fma needs prod_fmt")
        p, f1 = frac_mul_flags(a, b, a_fmt, b_fmt, prod_fmt, mode, saturate)
        y, f2 = frac_add_flags(p, c, prod_fmt, c_fmt, out_fmt, mode, saturate)
        return y, f1 | f2
    va, na, nan_a, inf_a, snan_a = _frac_operand(a_fmt, a)
    vb, nb, nan_b, inf_b, snan_b = _frac_operand(b_fmt, b)
    vc, nc, nan_c, inf_c, snan_c = _frac_operand(c_fmt, c)
    nv = FLAG_NV if (snan_a or snan_b or snan_c) else 0
    np_ = na != nb
    if nan_a or nan_b:
        return out_fmt.nan_code, nv
    if (inf_a and vb == 0) or (inf_b and va == 0):
        return out_fmt.nan_code, FLAG_NV
    if nan_c:
        return out_fmt.nan_code, nv
    inf_p = inf_a or inf_b
    if inf_p and inf_c and np_ != nc:
        return out_fmt.nan_code, FLAG_NV
    if inf_p or inf_c:
        return _frac_big(out_fmt, np_ if inf_p else nc, to_max=False), 0
    p = va * vb
    zneg = _zero_sum_neg(np_, p == 0, nc, vc == 0, mode)
    return frac_round_flags(p + vc, out_fmt, mode, saturate, zero_neg=zneg)


def frac_fma(a: int, b: int, c: int, a_fmt: FloatFormat, b_fmt: FloatFormat,
             c_fmt: FloatFormat, out_fmt: FloatFormat, mode: str, saturate: bool = False,
             fused: bool = True, prod_fmt: FloatFormat | None = None) -> int:
    """Code of a*b + c (see ``frac_fma_flags``)."""
    return frac_fma_flags(a, b, c, a_fmt, b_fmt, c_fmt, out_fmt, mode, saturate, fused,
                          prod_fmt)[0]


# ==== addition and fused multiply-add: fast integer references ===========================

def _snan(s: _Spec, code: int) -> bool:
    return (s.kind == "ieee" and ((code >> s.m) & s.efm) == s.efm and (code & s.mm) != 0
            and not (code >> (s.m - 1)) & 1)


def _dyadic_sum(na, sa, ea, nb, sb, eb):
    """(-1)**na*sa*2**ea + (-1)**nb*sb*2**eb exactly, as (neg, sig, exp); sig 0 for 0."""
    if sa == 0:
        return nb, sb, eb
    if sb == 0:
        return na, sa, ea
    e = ea if ea < eb else eb
    x = sa << (ea - e)
    y = sb << (eb - e)
    s = (-x if na else x) + (-y if nb else y)
    return s < 0, abs(s), e


def ref_round_exact_flags(neg: bool, sig: int, exp: int, fmt: FloatFormat, mode: str,
                          saturate: bool = False) -> tuple[int, int]:
    """``(ref_round_exact(...), flags)`` with the flags of ``frac_round_flags``."""
    code = ref_round_exact(neg, sig, exp, fmt, mode, saturate)
    if sig == 0:
        return code, 0
    s = spec(fmt)
    m = s.m
    # round at precision m+1, unbounded exponent: value n * 2**u, n in [2**m, 2**(m+1)]
    u = exp + sig.bit_length() - 1 - m
    sh = u - exp
    if sh <= 0:
        n, rem, half = sig << -sh, 0, 1
    else:
        n, rem, half = sig >> sh, sig & ((1 << sh) - 1), 1 << (sh - 1)
    up = {"rne": rem > half or (rem == half and n & 1 == 1), "rna": rem >= half,
          "rtz": False, "rup": rem != 0 and not neg, "rdn": rem != 0 and neg}[mode]
    n += up
    if n >> (m + 1):
        n >>= 1
        u += 1
    kind, _, dsig, dexp = s.decode(code)
    if kind != FINITE:
        exact = False
    elif dsig == 0:
        exact = False           # sig != 0 here
    else:
        e = min(dexp, exp)
        exact = (dsig << (dexp - e)) == (sig << (exp - e))
    flags = 0 if exact else FLAG_NX
    if u > s.max_u or (u == s.max_u and n > s.max_n):
        flags |= FLAG_OF | FLAG_NX
    if s.sub:
        tiny = u + m < s.emin              # n * 2**u < 2**emin  (n normalised)
    else:
        tiny = u < s.minpos_u or (u == s.minpos_u and n < s.minpos_n)
    if tiny and not exact:
        flags |= FLAG_UF
    return code, flags


def _add_decoded(ka, na, sa, ea, kb, nb, sb, eb, so, out_fmt, mode, saturate, snan,
                 with_flags=True):
    """(code, flags) of decoded a + b; ``snan`` says whether an operand is a signaling NaN
    (``with_flags=False``: finite results' flags are left 0, for speed)."""
    if ka == NAN or kb == NAN:
        return so.nan_code, FLAG_NV if snan else 0
    if ka == INF or kb == INF:
        if ka == INF and kb == INF and na != nb:
            return so.nan_code, FLAG_NV
        neg = na if ka == INF else nb
        if so.has_inf:
            return (so.sign_bit if neg else 0) | so.inf_code, 0
        return so.nan_code, 0
    neg, sig, exp = _dyadic_sum(na, sa, ea, nb, sb, eb)
    if sig == 0:
        neg = _zero_sum_neg(bool(na), sa == 0, bool(nb), sb == 0, mode)
    if not with_flags:
        return ref_round_exact(neg, sig, exp, out_fmt, mode, saturate), 0
    return ref_round_exact_flags(neg, sig, exp, out_fmt, mode, saturate)


def ref_add(a: int, b: int, a_fmt: FloatFormat, b_fmt: FloatFormat, out_fmt: FloatFormat,
            mode: str, saturate: bool = False, flags: bool = False):
    """Code of round(a + b), or ``(code, flags)`` with ``flags``."""
    a, b = int(a), int(b)
    sa_, sb_ = spec(a_fmt), spec(b_fmt)
    res = _add_decoded(*sa_.decode(a), *sb_.decode(b), spec(out_fmt), out_fmt, mode, saturate,
                       _snan(sa_, a) or _snan(sb_, b))
    return res if flags else res[0]


def _as_list(x, n):
    x = np.asarray(x)
    if x.ndim == 0:
        return [int(x)] * n
    return x.tolist()


def ref_add_many(a, b, a_fmt, b_fmt, out_fmt, mode, saturate=False, flags=False):
    """ref_add over equal-length code arrays: codes (uint64), or ``(codes, flags uint8)``."""
    sa_, sb_, so = spec(a_fmt), spec(b_fmt), spec(out_fmt)
    da, db = sa_.decode, sb_.decode
    codes, fl = [], []
    for x, y in zip(np.asarray(a).tolist(), np.asarray(b).tolist()):
        c, f = _add_decoded(*da(x), *db(y), so, out_fmt, mode, saturate,
                            _snan(sa_, x) or _snan(sb_, y), flags)
        codes.append(c)
        fl.append(f)
    codes = np.array(codes, dtype=np.uint64)
    return (codes, np.array(fl, dtype=np.uint8)) if flags else codes


def _mul_flags_decoded(ka, na, sa, ea, kb, nb, sb, eb, so, out_fmt, mode, saturate, snan):
    if ka == NAN or kb == NAN:
        return so.nan_code, FLAG_NV if snan else 0
    if ka == INF or kb == INF:
        if (ka == FINITE and sa == 0) or (kb == FINITE and sb == 0):
            return so.nan_code, FLAG_NV
        return _mul_decoded(ka, na, sa, ea, kb, nb, sb, eb, so, out_fmt, mode, saturate), 0
    return ref_round_exact_flags(na != nb, sa * sb, ea + eb, out_fmt, mode, saturate)


def ref_mul_flags_many(a, b, a_fmt, b_fmt, out_fmt, mode, saturate=False):
    """``(codes, flags)`` of a * b over equal-length code arrays (flags as frac_mul_flags)."""
    sa_, sb_, so = spec(a_fmt), spec(b_fmt), spec(out_fmt)
    codes, fl = [], []
    for x, y in zip(np.asarray(a).tolist(), np.asarray(b).tolist()):
        c, f = _mul_flags_decoded(*sa_.decode(x), *sb_.decode(y), so, out_fmt, mode, saturate,
                                  _snan(sa_, x) or _snan(sb_, y))
        codes.append(c)
        fl.append(f)
    return np.array(codes, dtype=np.uint64), np.array(fl, dtype=np.uint8)


def _fma_fused(a, b, c, sa_, sb_, sc_, so, out_fmt, mode, saturate):
    ka, na, sa, ea = sa_.decode(a)
    kb, nb, sb, eb = sb_.decode(b)
    kc, nc, sc, ec = sc_.decode(c)
    nv = FLAG_NV if (_snan(sa_, a) or _snan(sb_, b) or _snan(sc_, c)) else 0
    npr = na != nb
    if ka == NAN or kb == NAN:
        return so.nan_code, nv
    if (ka == INF and kb == FINITE and sb == 0) or (kb == INF and ka == FINITE and sa == 0):
        return so.nan_code, FLAG_NV
    if kc == NAN:
        return so.nan_code, nv
    inf_p = ka == INF or kb == INF
    if inf_p and kc == INF and npr != nc:
        return so.nan_code, FLAG_NV
    if inf_p or kc == INF:
        neg = npr if inf_p else nc
        if so.has_inf:
            return (so.sign_bit if neg else 0) | so.inf_code, 0
        return so.nan_code, 0
    sp = sa * sb
    neg, sig, exp = _dyadic_sum(npr, sp, ea + eb, nc, sc, ec)
    if sig == 0:
        neg = _zero_sum_neg(npr, sp == 0, bool(nc), sc == 0, mode)
    return ref_round_exact_flags(neg, sig, exp, out_fmt, mode, saturate)


def ref_fma(a: int, b: int, c: int, a_fmt, b_fmt, c_fmt, out_fmt, mode, saturate=False,
            fused=True, prod_fmt=None, flags=False):
    """Code of a*b + c (semantics of ``frac_fma_flags``), or ``(code, flags)``."""
    a, b, c = int(a), int(b), int(c)
    sa_, sb_, sc_, so = spec(a_fmt), spec(b_fmt), spec(c_fmt), spec(out_fmt)
    if fused:
        res = _fma_fused(a, b, c, sa_, sb_, sc_, so, out_fmt, mode, saturate)
    else:
        if prod_fmt is None:
            raise ValueError("unfused fma needs prod_fmt")
        sp_ = spec(prod_fmt)
        p, f1 = _mul_flags_decoded(*sa_.decode(a), *sb_.decode(b), sp_, prod_fmt, mode,
                                   saturate, _snan(sa_, a) or _snan(sb_, b))
        y, f2 = _add_decoded(*sp_.decode(p), *sc_.decode(c), so, out_fmt, mode, saturate,
                             _snan(sp_, p) or _snan(sc_, c))
        res = (y, f1 | f2)
    return res if flags else res[0]


def ref_fma_many(a, b, c, a_fmt, b_fmt, c_fmt, out_fmt, mode, saturate=False, fused=True,
                 prod_fmt=None, flags=False):
    """ref_fma over code arrays (broadcast): codes (uint64), or ``(codes, flags uint8)``."""
    a, b, c = np.broadcast_arrays(np.asarray(a), np.asarray(b), np.asarray(c))
    codes, fl = [], []
    for x, y, z in zip(a.ravel().tolist(), b.ravel().tolist(), c.ravel().tolist()):
        r, f = ref_fma(x, y, z, a_fmt, b_fmt, c_fmt, out_fmt, mode, saturate, fused, prod_fmt,
                       flags=True)
        codes.append(r)
        fl.append(f)
    codes = np.array(codes, dtype=np.uint64).reshape(a.shape)
    return (codes, np.array(fl, dtype=np.uint8).reshape(a.shape)) if flags else codes


# ==== SoftFloat (softfloatpy) drivers ====================================================
# Element by element with the flags cleared before and read after each operation; the
# rounding mode and (after-rounding) tininess mode are set for the call and restored.

def _sf():
    import softfloatpy
    return softfloatpy


def sf_mode(mode: str):
    rm = _sf().RoundingMode
    return {"rne": rm.NEAR_EVEN, "rtz": rm.MIN_MAG, "rdn": rm.MIN, "rup": rm.MAX,
            "rna": rm.NEAR_MAX_MAG}[mode]


def sf_bits(x) -> int:
    return int.from_bytes(x.to_bytes(), "big")


_SF_OBJ16: dict = {}


def _sf_f16(code: int):
    objs = _SF_OBJ16.get("f16")
    if objs is None:
        sf = _sf()
        objs = _SF_OBJ16["f16"] = [sf.Float16.from_bytes(c.to_bytes(2, "big"))
                                   for c in range(1 << 16)]
    return objs[code]


def _sf_f32(code: int):
    return _sf().Float32.from_bytes(int(code).to_bytes(4, "big"))


def _sf_f64(code: int):
    return _sf().Float64.from_bytes(int(code).to_bytes(8, "big"))


def _sf_bf16_f64(code: int):
    """A bf16 code as an exact SoftFloat float64 (preserving signaling NaNs is not needed:
    the bf16 recipes are compared on codes only)."""
    objs = _SF_OBJ16.get("bf16")
    if objs is None:
        sf = _sf()
        old = sf.get_rounding_mode()
        sf.set_rounding_mode(sf.RoundingMode.NEAR_EVEN)
        objs = _SF_OBJ16["bf16"] = [
            sf.f32_to_f64(sf.bf16_to_f32(sf.BFloat16.from_bytes(c.to_bytes(2, "big"))))
            for c in range(1 << 16)]
        sf.set_rounding_mode(old)
    return objs[code]


def _sf_bf16_via_odd(op, args, mode):
    """bf16 result of a binary64 SoftFloat op on exact binary64 operands: the op rounded to
    odd in binary64 (toward zero, inexact jammed into the lsb), then to float32 the same way
    (binary64 and float32 keep >= 2 more bits than bf16 in each binade, subnormals
    included, and float32's largest value is beyond bf16's overflow threshold), then
    float32 -> bf16 in ``mode``.  An exact zero result is recomputed in ``mode`` itself,
    whose IEEE zero-sign rule (rdn: -0) round-to-odd would lose."""
    sf = _sf()
    nx = int(sf.ExceptionFlag.INEXACT)
    sf.set_rounding_mode(sf.RoundingMode.MIN_MAG)
    sf.set_exception_flags(0)
    r = op(*args)
    if sf.get_exception_flags() & nx:
        r = sf.Float64.from_bytes((sf_bits(r) | 1).to_bytes(8, "big"))
    elif sf_bits(r) & ~(1 << 63) == 0:
        sf.set_rounding_mode(sf_mode(mode))
        r = op(*args)
        sf.set_rounding_mode(sf.RoundingMode.MIN_MAG)
    sf.set_exception_flags(0)
    s = sf.f64_to_f32(r)
    if sf.get_exception_flags() & nx:
        s = sf.Float32.from_bytes((sf_bits(s) | 1).to_bytes(4, "big"))
    sf.set_rounding_mode(sf_mode(mode))
    return sf_bits(sf.f32_to_bf16(s))


def softfloat_run(op: str, mode: str, *operands) -> tuple[np.ndarray, np.ndarray]:
    """``(codes uint64, flags uint8)`` of a SoftFloat operation over equal-length code arrays.

    ``op``: ``f16_add``, ``f16_mul``, ``f16_mul_add`` and the same for ``f32`` and ``f64``
    (native SoftFloat, after-rounding tininess), or ``bf16_add``,
    ``bf16_mul_add`` (binary64 round-to-odd recipe, codes only: flags are 0)."""
    sf = _sf()
    ops = [np.asarray(x).tolist() for x in operands]
    n = len(ops[0])
    assert all(len(x) == n for x in ops)
    old_mode, old_tin = sf.get_rounding_mode(), sf.get_tininess_mode()
    codes, flags = [], []
    try:
        sf.set_tininess_mode(sf.TininessMode.AFTER_ROUNDING)
        if op.startswith("bf16_"):
            fn = {"bf16_add": sf.f64_add, "bf16_mul_add": sf.f64_mul_add}[op]
            for args in zip(*ops):
                codes.append(_sf_bf16_via_odd(fn, [_sf_bf16_f64(x) for x in args], mode))
                flags.append(0)
        else:
            fn = getattr(sf, op)
            conv = {"f16": _sf_f16, "f32": _sf_f32, "f64": _sf_f64}[op[:3]]
            sf.set_rounding_mode(sf_mode(mode))
            set_flags, get_flags = sf.set_exception_flags, sf.get_exception_flags
            for args in zip(*ops):
                objs = [conv(x) for x in args]
                set_flags(0)
                r = fn(*objs)
                flags.append(int(get_flags()))
                codes.append(sf_bits(r))
    finally:
        sf.set_rounding_mode(old_mode)
        sf.set_tininess_mode(old_tin)
    return np.array(codes, dtype=np.uint64), np.array(flags, dtype=np.uint8)


def widen_code(code: int, src: FloatFormat, dst: FloatFormat) -> int:
    """A code of ``src`` as the code of the same value in the wider IEEE format ``dst`` (for
    handing narrow operands to SoftFloat): exact for finite values and Inf; an IEEE NaN
    keeps its payload (so signaling stays signaling), other NaNs become dst's quiet NaN."""
    code = int(code)
    kind, neg, sig, exp = ref_decode(src, code)
    sign = dst.sign_bit if neg else 0
    if kind == NAN:
        if src.nan == "ieee":
            return sign | dst.inf_code | ((code & src.man_mask) << (dst.man_bits - src.man_bits))
        return dst.nan_code
    if kind == INF:
        return sign | dst.inf_code
    out = ref_round_exact(bool(neg), sig, exp, dst, "rne")
    assert ref_value(dst, out) == ref_value(src, code), (code, src, dst)
    return out


# ==== exhaustive addition of narrow formats ==============================================

_PAIR_SUMS: dict = {}


def _all_pair_sums(a_fmt: FloatFormat, b_fmt: FloatFormat) -> list:
    """Exact a + b of every pair (a-major), cached: ``(0, neg, sig, exp)`` for a nonzero
    finite sum, ``(1, x_neg, x_zero, y_neg, y_zero)`` for a zero sum, ``(2, a, b)`` when an
    operand is Inf or NaN."""
    key = (a_fmt, b_fmt)
    out = _PAIR_SUMS.get(key)
    if out is not None:
        return out
    sa_, sb_ = spec(a_fmt), spec(b_fmt)
    db = [sb_.decode(y) for y in range(1 << sb_.width)]
    out = []
    append = out.append
    for x in range(1 << sa_.width):
        ka, na, sa, ea = sa_.decode(x)
        for y, (kb, nb, sb, eb) in enumerate(db):
            if ka or kb:
                append((2, x, y))
                continue
            neg, sig, exp = _dyadic_sum(na, sa, ea, nb, sb, eb)
            append((0, neg, sig, exp) if sig else (1, bool(na), sa == 0, bool(nb), sb == 0))
    _PAIR_SUMS[key] = out
    return out


def ref_add_all_pairs(a_fmt: FloatFormat, b_fmt: FloatFormat, out_fmt: FloatFormat, mode: str,
                      saturate: bool = False) -> np.ndarray:
    """ref_add of every (a, b) pair in all_pairs order (a-major), for narrow formats."""
    so = spec(out_fmt)
    sa_, sb_ = spec(a_fmt), spec(b_fmt)
    out = []
    append = out.append
    for item in _all_pair_sums(a_fmt, b_fmt):
        t = item[0]
        if t == 0:
            append(ref_round_exact(item[1], item[2], item[3], out_fmt, mode, saturate))
        elif t == 1:
            append(_zero(so, _zero_sum_neg(item[1], item[2], item[3], item[4], mode)))
        else:
            x, y = item[1], item[2]
            append(_add_decoded(*sa_.decode(x), *sb_.decode(y), so, out_fmt, mode, saturate,
                                False, False)[0])
    return np.array(out, dtype=np.uint64)


# ==== operand generators for addition and fma ============================================
# Deterministic for a seed; they choose inputs only (expected values come from the
# references above).

def _rand_codes(fmt: FloatFormat, n: int, rng) -> np.ndarray:
    """Uniform random codes, a third with structured fractions (all ones, zero, one bit)."""
    codes = rng.integers(0, 1 << fmt.width, size=n, dtype=np.uint64, endpoint=False) \
        if fmt.width < 64 else rng.integers(0, np.iinfo(np.uint64).max, size=n,
                                            dtype=np.uint64, endpoint=True)
    pick = rng.integers(0, 6, size=n)
    frac = np.select([pick == 0, pick == 1], [np.uint64(fmt.man_mask), np.uint64(0)],
                     np.uint64(1) << rng.integers(0, fmt.man_bits, size=n).astype(np.uint64))
    return np.where(pick < 2, (codes & ~np.uint64(fmt.man_mask)) | frac, codes)


def _uexp(codes, fmt: FloatFormat) -> np.ndarray:
    """Unbiased exponent read from the exponent field (subnormals read as field 1)."""
    field = ((codes >> np.uint64(fmt.man_bits)) & np.uint64(fmt.exp_field_max)).astype(np.int64)
    if fmt.subnormals:
        field = np.maximum(field, 1)
    return field - fmt.bias


def _set_uexp(codes, fmt: FloatFormat, unbiased) -> np.ndarray:
    """Codes with their exponent field set for the unbiased exponent (clipped to the field;
    the extremes give zeros/subnormals and Inf/NaN codes)."""
    field = np.clip(np.asarray(unbiased, dtype=np.int64) + fmt.bias, 0,
                    fmt.exp_field_max).astype(np.uint64)
    mask = np.uint64(fmt.exp_field_max << fmt.man_bits)
    return (codes & ~mask) | (field << np.uint64(fmt.man_bits))


def _set_sign(codes, fmt: FloatFormat, neg) -> np.ndarray:
    sb = np.uint64(fmt.sign_bit)
    return np.where(np.asarray(neg, dtype=bool), codes | sb, codes & ~sb)


def _neg_near(src, src_fmt, dst_fmt, rng, max_delta=2) -> np.ndarray:
    """Codes of dst_fmt close to -src (src rounded toward zero into dst_fmt, then the
    magnitude code moved by up to ``max_delta``); specials of src give random codes."""
    d = spec(dst_fmt)
    out = []
    for x, delta in zip(np.asarray(src).tolist(),
                        rng.integers(-max_delta, max_delta + 1, len(src)).tolist()):
        kind, neg, sig, exp = ref_decode(src_fmt, x)
        if kind != FINITE:
            out.append(int(rng.integers(0, 1 << min(d.width, 63))))
            continue
        code = ref_round_exact(not neg, sig, exp, dst_fmt, "rtz", True)
        mag = min(max((code & (d.sign_bit - 1)) + delta, 0), d.sign_bit - 1)
        out.append((code & d.sign_bit) | mag)
    return np.array(out, dtype=np.uint64)


def add_operands(a_fmt: FloatFormat, b_fmt: FloatFormat, out_fmt: FloatFormat, n: int,
                 seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (a, b) pairs for an adder: b's exponent near a's (alignment and carry, b of
    the opposite sign 60% of the time), b close to -a (massive cancellation), huge exponent
    gaps, both operands near the result's overflow and underflow thresholds, b a power of
    two at a's result half-ulp (ties), and uniform random pairs."""
    rng = np.random.default_rng(seed)
    span = max(a_fmt.man_bits, b_fmt.man_bits, out_fmt.man_bits) + 3
    k = n // 8
    sizes = [2 * k, k, k, 2 * k, k]
    sizes.append(n - sum(sizes))
    a = _rand_codes(a_fmt, n, rng)
    b = _rand_codes(b_fmt, n, rng)
    ua = _uexp(a, a_fmt)
    sa = (a >> np.uint64(a_fmt.width - 1)) == 1
    lo = 0
    parts = []
    for i, size in enumerate(sizes):
        sl = slice(lo, lo + size)
        lo += size
        x, y, u, s = a[sl], b[sl], ua[sl], sa[sl]
        if i == 0:      # near exponents
            y = _set_uexp(y, b_fmt, u + rng.integers(-span, span + 1, size))
            y = _set_sign(y, b_fmt, s ^ (rng.random(size) < 0.6))
        elif i == 1:    # cancellation
            y = _neg_near(x, a_fmt, b_fmt, rng)
        elif i == 2:    # huge gaps
            g = rng.integers(span, span + 2 + 2 * (out_fmt.emax - out_fmt.emin), size)
            y = _set_uexp(y, b_fmt, u + np.where(rng.random(size) < 0.5, g, -g))
        elif i == 3:    # near the result's overflow / underflow thresholds
            t = rng.choice([out_fmt.emax, out_fmt.emax - 1, out_fmt.emax + 1, out_fmt.emin,
                            out_fmt.emin - 1, out_fmt.emin + 1,
                            out_fmt.emin - out_fmt.man_bits,
                            out_fmt.emin - out_fmt.man_bits - 1], size)
            x = _set_uexp(x, a_fmt, t + rng.integers(-1, 2, size))
            y = _set_uexp(y, b_fmt, t + rng.integers(-2, 3, size))
            y = _set_sign(y, b_fmt, s ^ (rng.random(size) < 0.4))
        elif i == 4:    # ties: b = +-2**(ua - m_out - 1) (or a neighbouring power of two)
            y = y & ~np.uint64(b_fmt.man_mask)
            y = _set_uexp(y, b_fmt, u - out_fmt.man_bits - 1 + rng.choice([0, 0, 1, -1], size))
        parts.append((x, y))
    return (np.concatenate([p[0] for p in parts]).astype(np.uint64),
            np.concatenate([p[1] for p in parts]).astype(np.uint64))


def fma_operands(a_fmt: FloatFormat, b_fmt: FloatFormat, c_fmt: FloatFormat,
                 out_fmt: FloatFormat, n: int, seed: int):
    """``n`` (a, b, c) triples for a*b + c: three quarters of the products aimed at the
    result's overflow/underflow thresholds, the middle of its range and beyond; c close to
    -(a*b) (massive cancellation), with an exponent near the product's, with a huge gap,
    +-0, a power of two at the product's half-ulp (ties), or uniform random."""
    rng = np.random.default_rng(seed)
    a = _rand_codes(a_fmt, n, rng)
    b = _rand_codes(b_fmt, n, rng)
    c = _rand_codes(c_fmt, n, rng)
    aim = rng.random(n) < 0.75
    t = rng.choice([out_fmt.emax, out_fmt.emax + 1, out_fmt.emax - 1, out_fmt.emin,
                    out_fmt.emin - 1, out_fmt.emin - out_fmt.man_bits, 0, 1, -1], n)
    t = t + rng.integers(-2, 3, n)
    ua = _uexp(a, a_fmt)
    b = np.where(aim, _set_uexp(b, b_fmt, t - ua), b)
    up = ua + _uexp(b, b_fmt)
    sp = ((a >> np.uint64(a_fmt.width - 1)) ^ (b >> np.uint64(b_fmt.width - 1))) == 1
    span = max(a_fmt.precision + b_fmt.precision, out_fmt.man_bits) + 3
    kind = rng.integers(0, 8, n)   # 0,1: cancel  2,3: near  4: gap  5: zero  6: tie  7: random
    # cancellation: c = -(a*b) rounded toward zero into c_fmt, +- a few codes
    cancel = np.flatnonzero(kind <= 1)
    if cancel.size:
        prods = np.array([_mul_decoded(*spec(a_fmt).decode(x), *spec(b_fmt).decode(y),
                                       spec(c_fmt), c_fmt, "rtz", True) if c_fmt.has_nan else
                          ref_round_exact(False, 0, 0, c_fmt, "rtz")
                          for x, y in zip(a[cancel].tolist(), b[cancel].tolist())],
                         dtype=np.uint64)
        c[cancel] = _neg_near(prods, c_fmt, c_fmt, rng)
    near = (kind == 2) | (kind == 3)
    c = np.where(near, _set_uexp(c, c_fmt, up + rng.integers(-span, span + 1, n)), c)
    c = np.where(near, _set_sign(c, c_fmt, sp ^ (rng.random(n) < 0.6)), c)
    g = rng.integers(span, span + 2 + 2 * (out_fmt.emax - out_fmt.emin), n)
    c = np.where(kind == 4, _set_uexp(c, c_fmt, up + np.where(rng.random(n) < 0.5, g, -g)), c)
    zero = np.uint64(c_fmt.sign_bit if c_fmt.has_neg_zero else 0)
    c = np.where(kind == 5, np.where(rng.random(n) < 0.5, zero, np.uint64(0)), c)
    tie = _set_uexp(c & ~np.uint64(c_fmt.man_mask), c_fmt,
                    up - out_fmt.man_bits - 1 + rng.choice([0, 0, 1, -1, 2], n))
    c = np.where(kind == 6, tie, c)
    return a.astype(np.uint64), b.astype(np.uint64), c.astype(np.uint64)


def underflow_boundary_pairs(fmt: FloatFormat, n: int, seed: int):
    """``n`` (a, b) pairs of normal codes whose exact product lies just below (or, a few, at
    or just above) the smallest normal 2**emin: rounding may carry it up to 2**emin, where
    tininess after rounding and before rounding differ.  Random signs."""
    rng = np.random.default_rng(seed)
    m = fmt.man_bits
    lo_u, hi_u = max(fmt.emin, fmt.emin - 1 - fmt.emax), -1
    assert lo_u <= hi_u, fmt
    ua = rng.integers(lo_u, hi_u + 1, n)
    ub = fmt.emin - 1 - ua
    a_sig = rng.integers(1 << m, 1 << (m + 1), n, dtype=np.int64).tolist()
    j = rng.choice([0, 0, 0, 0, 1, 2, -1], n).tolist()
    b_sig = [min(max(((1 << (2 * m + 1)) - 1) // s - jj, 1 << m), (1 << (m + 1)) - 1)
             for s, jj in zip(a_sig, j)]
    neg_a, neg_b = rng.random(n) < 0.5, rng.random(n) < 0.5
    a = [(int(na) << (fmt.width - 1)) | ((int(u) + fmt.bias) << m) | (s - (1 << m))
         for na, u, s in zip(neg_a, ua, a_sig)]
    b = [(int(nb) << (fmt.width - 1)) | ((int(u) + fmt.bias) << m) | (s - (1 << m))
         for nb, u, s in zip(neg_b, ub, b_sig)]
    return np.array(a, dtype=np.uint64), np.array(b, dtype=np.uint64)
