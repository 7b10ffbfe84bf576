"""Independent scalar references for the golden model, written from the definitions with
``fractions.Fraction`` and sharing no code with ``fpforge.sim.rounding``/``arith``.

Decoding uses ``FloatFormat.value``, itself checked code-for-code against ml_dtypes.
"""

from __future__ import annotations

import math
from fractions import Fraction

from fpforge.sim.formats import FloatFormat


def _floor_log2(x: Fraction) -> int:
    e = x.numerator.bit_length() - x.denominator.bit_length()
    while Fraction(2) ** e > x:
        e -= 1
    while Fraction(2) ** (e + 1) <= x:
        e += 1
    return e


def _signed_zero(fmt: FloatFormat, neg: bool) -> int:
    return fmt.sign_bit if neg and fmt.has_neg_zero else 0


def _encode_exact(fmt: FloatFormat, mag: Fraction, neg: bool) -> int:
    """Code of a representable magnitude (asserted)."""
    if mag == 0:
        return _signed_zero(fmt, neg)
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


def _big(fmt: FloatFormat, neg: bool, to_max: bool) -> int:
    sign = fmt.sign_bit if neg else 0
    if to_max or not fmt.has_nan:
        return fmt.max_code | sign
    if fmt.has_inf:
        return fmt.inf_code | sign
    return fmt.nan_code


def ref_round(x: Fraction, fmt: FloatFormat, mode: str, saturate: bool = False,
              zero_neg: bool = False) -> int:
    """Round the exact value x to a code of fmt.  ``zero_neg`` is the sign of an exact 0."""
    neg = x < 0 or (x == 0 and zero_neg)
    mag = abs(x)
    if mag == 0:
        return _signed_zero(fmt, neg)
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
        return _big(fmt, neg, to_max)
    if r < fmt.min_positive:  # only reachable without subnormals (or r == 0)
        return _signed_zero(fmt, neg)
    return _encode_exact(fmt, r, neg)


def _special(fmt: FloatFormat, kind: str, neg: bool) -> int:
    if kind == "nan":
        return fmt.nan_code
    return _big(fmt, neg, to_max=False)  # Inf, or NaN/max where the format has no Inf


def ref_mul(a: int, b: int, a_fmt: FloatFormat, b_fmt: FloatFormat, out_fmt: FloatFormat,
            mode: str, saturate: bool = False) -> int:
    va, vb = a_fmt.value(a), b_fmt.value(b)
    neg = bool(a >> (a_fmt.width - 1)) != bool(b >> (b_fmt.width - 1))
    nan_a = isinstance(va, float) and math.isnan(va)
    nan_b = isinstance(vb, float) and math.isnan(vb)
    inf_a = isinstance(va, float) and not nan_a
    inf_b = isinstance(vb, float) and not nan_b
    if nan_a or nan_b or (inf_a and vb == 0) or (inf_b and va == 0):
        return _special(out_fmt, "nan", neg)
    if inf_a or inf_b:
        return _special(out_fmt, "inf", neg)
    return ref_round(va * vb, out_fmt, mode, saturate, zero_neg=neg)
