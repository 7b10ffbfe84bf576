"""Golden rounding: an exact (sign, exponent, integer significand, sticky) value -> codes.

Every golden operation computes its result exactly as a :class:`Raw` (HardFloat's "raw"
form) and ends in :func:`round_raw`, the one rounding function; ``rtl/rounder.py`` is its
hardware mirror.  All arithmetic is on integers (numpy uint64/int64), never float64, so
nothing is rounded twice.

Semantics (DESIGN.md section 3):

* modes ``rne`` (ties to even), ``rna`` (ties away), ``rtz``, ``rup`` (toward +inf),
  ``rdn`` (toward -inf);
* overflow: a rounded finite result above max becomes Inf (NaN in formats without Inf);
  ``saturate=True``, ``rtz`` and the directed mode toward the smaller magnitude give +-max;
  finite-only formats always saturate;
* underflow: gradual where the format has subnormals; otherwise the value is rounded with
  an unbounded exponent and a rounded magnitude below the smallest positive code flushes to
  signed zero;
* NaN results are the format's canonical NaN; zero results keep the sign (``fnuz``: +0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fpforge.sim.formats import FloatFormat, code_dtype

__all__ = ["ROUNDING_MODES", "Raw", "round_raw", "round_float64", "check_rounding",
           "bit_length", "shr", "low_mask"]

ROUNDING_MODES = ("rne", "rtz", "rna", "rup", "rdn")

_U64 = np.uint64
_ONE = _U64(1)


def check_rounding(rounding: str) -> str:
    if rounding not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding mode {rounding!r}; valid: {', '.join(ROUNDING_MODES)}")
    return rounding


@dataclass
class Raw:
    """An exact value before rounding, elementwise over equal-shape arrays.

    value = (-1)**sign * (sig + t) * 2**exp, where t is 0 if ``sticky`` is False and some
    t in (0, 1) if it is True.  ``sticky`` may only stand for bits below the result's round
    bit (the caller keeps enough bits).  ``is_nan``/``is_inf`` override the value (Inf takes
    ``sign``).  A zero value (sig 0, no sticky) keeps ``sign``.
    """

    sign: np.ndarray    # bool
    exp: np.ndarray     # int64, exponent of sig's least significant bit
    sig: np.ndarray     # uint64
    sticky: np.ndarray  # bool
    is_nan: np.ndarray  # bool
    is_inf: np.ndarray  # bool


def bit_length(x: np.ndarray) -> np.ndarray:
    """Elementwise bit length of a uint64 array (0 for 0), as int64."""
    x = np.asarray(x, dtype=_U64)
    _, e = np.frexp(x.astype(np.float64))
    e = e.astype(np.int64)
    # float64 conversion can round x up to the next power of two when x >= 2**53.
    big = e > 53
    if big.any():
        xb, eb = x[big], e[big]
        top = np.where(eb > 64, _U64(0), xb >> np.minimum(eb - 1, 63).astype(_U64))
        e[big] = eb - (top == 0)
    return e


def shr(x, n):
    """x >> n for uint64 x and int n >= 0, giving 0 when n >= 64."""
    return np.where(n >= 64, _U64(0), x >> np.minimum(n, 63).astype(_U64))


def low_mask(n):
    """(1 << n) - 1 as uint64 for 0 <= n <= 64."""
    return np.where(n >= 64, ~_U64(0), (_ONE << np.minimum(n, 63).astype(_U64)) - _ONE)


def round_raw(raw: Raw, fmt: FloatFormat, rounding: str = "rne",
              saturate: bool = False) -> np.ndarray:
    """Round exact values to ``fmt`` codes (dtype ``fmt.dtype``), once."""
    check_rounding(rounding)
    m = fmt.man_bits
    sign = np.asarray(raw.sign, dtype=bool)
    sig = np.asarray(raw.sig, dtype=_U64)
    exp = np.asarray(raw.exp, dtype=np.int64)
    sticky = np.asarray(raw.sticky, dtype=bool)

    # Exponent of the result's ulp: the msb binade, clamped to the subnormal binade.
    msb_exp = exp + bit_length(sig) - 1
    ulp_exp = (np.maximum(msb_exp, fmt.emin) if fmt.subnormals else msb_exp) - m
    shift = np.where(sig == 0, 0, ulp_exp - exp)  # significand bits below the result ulp
    if np.any(sticky & (shift < 1)):
        raise ValueError("sticky stands for bits above the round bit: keep more bits")

    # Split into kept significand, round bit and sticky (or shift left when exact).
    right = np.maximum(shift, 0)
    kept = np.where(shift < 0, sig << np.minimum(-shift, 63).astype(_U64), shr(sig, right))
    half = np.maximum(right - 1, 0)
    round_bit = (right > 0) & ((shr(sig, half) & _ONE) == 1)
    low = sticky | ((right > 1) & ((sig & low_mask(half)) != 0))

    inexact = round_bit | low
    if rounding == "rne":
        inc = round_bit & (low | ((kept & _ONE) == 1))
    elif rounding == "rna":
        inc = round_bit
    elif rounding == "rtz":
        inc = np.zeros_like(round_bit)
    elif rounding == "rup":
        inc = inexact & ~sign
    else:  # rdn
        inc = inexact & sign

    # Packed add: (field - 1) * 2**m + kept, so a carry out of the significand bumps the
    # exponent field and a subnormal that rounds up becomes the smallest normal.
    field = ulp_exp + m + fmt.bias
    underflow = field < 0
    field_c = np.clip(field, 0, fmt.exp_field_max + 1).astype(_U64)
    mag = (field_c << _U64(m)) + kept + inc.astype(_U64) - (_ONE << _U64(m))
    mag = np.where(underflow | (sig == 0) & ~sticky, _U64(0), mag)

    # Overflow: +-max, or Inf (NaN in formats without Inf), by mode.
    overflow = mag > _U64(fmt.max_code)
    if saturate or rounding == "rtz" or not fmt.has_nan:
        to_max = np.ones_like(sign)
    elif rounding == "rup":
        to_max = sign
    elif rounding == "rdn":
        to_max = ~sign
    else:
        to_max = np.zeros_like(sign)
    mag = np.where(overflow & to_max, _U64(fmt.max_code), mag)

    # Specials: Inf/NaN inputs keep their class whatever `saturate` says.
    is_nan = np.asarray(raw.is_nan, dtype=bool)
    is_inf = (np.asarray(raw.is_inf, dtype=bool) | overflow & ~to_max) & ~is_nan
    if fmt.has_inf:
        mag = np.where(is_inf, _U64(fmt.inf_code), mag)
    elif fmt.has_nan:
        is_nan = is_nan | is_inf
    else:
        mag = np.where(is_inf, _U64(fmt.max_code), mag)

    neg = sign & ((mag != 0) | fmt.has_neg_zero)
    code = mag | (neg.astype(_U64) << _U64(fmt.width - 1))
    if is_nan.any():
        if not fmt.has_nan:
            raise ValueError(f"format {fmt} cannot represent NaN")
        code = np.where(is_nan, _U64(fmt.nan_code), code)
    return code.astype(code_dtype(fmt.width))


_F64_FRAC = 52
_F64_BIAS = 1023


def round_float64(values, fmt: FloatFormat, rounding: str = "rne",
                  saturate: bool = False) -> np.ndarray:
    """float64 values -> ``fmt`` codes, rounded once from the exact binary64 value."""
    x = np.ascontiguousarray(values, dtype=np.float64)
    bits = x.view(_U64)
    sign = (bits >> _U64(63)) == 1
    ef = ((bits >> _U64(_F64_FRAC)) & _U64(0x7FF)).astype(np.int64)
    frac = bits & _U64((1 << _F64_FRAC) - 1)
    special = ef == 0x7FF
    sig = np.where(special, _U64(0), frac | ((ef != 0).astype(_U64) << _U64(_F64_FRAC)))
    raw = Raw(sign=sign, exp=np.maximum(ef, 1) - (_F64_BIAS + _F64_FRAC), sig=sig,
              sticky=np.zeros_like(sign), is_nan=special & (frac != 0),
              is_inf=special & (frac == 0))
    return round_raw(raw, fmt, rounding, saturate)
