"""Golden rounding: an exact (sign, exponent, integer significand, sticky) value -> codes.

Every golden operation computes its result exactly as a :class:`Raw` (HardFloat's "raw"
form) and ends in :func:`round_raw`, the one rounding function; ``rtl/rounder.py`` is its
hardware mirror.  All arithmetic is on integers (numpy uint64/int64), never float64, so
nothing is rounded twice.

Semantics (the README's Numerical semantics):

* modes ``rne`` (ties to even), ``rna`` (ties away), ``rtz``, ``rup`` (toward +inf),
  ``rdn`` (toward -inf), and ``sr`` (stochastic): with d in [0, 1) the discarded part in
  ulps and r the element's R-bit random draw, round the magnitude up iff
  floor(d * 2**R) + r >= 2**R;
* overflow: a rounded finite result above max becomes Inf (NaN in formats without Inf);
  ``saturate=True``, ``rtz`` and the directed mode toward the smaller magnitude give +-max;
  finite-only formats always saturate;
* underflow: gradual where the format has subnormals; otherwise the value is rounded with
  an unbounded exponent and a rounded magnitude below the smallest positive code flushes to
  signed zero;
* NaN results are the format's canonical NaN; zero results keep the sign (``fnuz``: +0);
* exception flags (``flags=True``), RISC-V fflags bits: NX inexact, UF underflow (tiny after
  rounding, i.e. the value rounded with unbounded exponent is below 2**emin, and inexact;
  without subnormals: flushed), OF overflow (rounded finite result above max).  NV and DZ
  belong to the operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fpforge.sim.formats import FloatFormat, code_dtype
from fpforge.spec.checks import (ALL_ROUNDING_MODES, ROUNDING_MODES, SR_CORE_BITS,
                                 check_rand_bits, check_rounding, check_sr_bits)

__all__ = ["ROUNDING_MODES", "ALL_ROUNDING_MODES", "FLAG_BITS", "Raw", "round_raw",
           "round_float64", "round_fraction", "check_rounding", "check_sr_bits", "check_rand",
           "bit_length",
           "shr", "low_mask", "blocks"]

#: exception flag bits, as RISC-V fflags (and SoftFloat's flag values)
FLAG_BITS = {"NX": 1, "UF": 2, "OF": 4, "DZ": 8, "NV": 16}

_U64 = np.uint64
_ONE = _U64(1)


def check_rand(rounding: str, rand, rand_bits: int, shape) -> np.ndarray | None:
    """The R-bit draws of ``sr`` broadcast to ``shape`` (uint64), or None for other modes.
    ValueError when ``sr`` lacks draws, R is outside 1..32 or a draw does not fit R bits."""
    if rounding != "sr":
        return None
    rand_bits = check_rand_bits(rand_bits)
    if rand is None:
        raise ValueError("rounding 'sr' needs rand: one R-bit random draw per element")
    r = np.asarray(rand)
    if r.dtype.kind not in "ui" or (r.size and (r.min() < 0 or int(r.max()) >> rand_bits)):
        raise ValueError(f"rand must hold integers of {rand_bits} bits")
    return np.broadcast_to(r.astype(_U64), shape)


@dataclass
class Raw:
    """An exact value before rounding, elementwise over equal-shape arrays.

    value = (-1)**sign * (sig + t) * 2**exp, where t is 0 if ``sticky`` is False and some
    t in (0, 1) if it is True.  ``sticky`` may only stand for bits below the result's round
    bit (the caller keeps enough bits).  ``is_nan``/``is_inf`` override the value (Inf takes
    ``sign``).  A zero value (sig 0, no sticky) keeps ``sign``.
    """

    sign: np.ndarray             # bool
    exp: np.ndarray              # int64, exponent of sig's least significant bit
    sig: np.ndarray              # uint64
    sticky: np.ndarray | None = None  # bool
    is_nan: np.ndarray | None = None  # bool
    is_inf: np.ndarray | None = None  # bool


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


#: The rounding core works on significands normalised to their msb at bit P; P + 2 < 63
#: leaves room for the rounding add and for shifts that discard everything.
_P = SR_CORE_BITS
#: Elements per block: numpy temporaries of this size stay in cache.
_BLOCK = 1 << 16
#: msb exponent given to zero significands: far below any format's range.
_E_ZERO = -(1 << 20)


def blocks(n: int):
    """Slices of at most ``_BLOCK`` elements covering ``range(n)``: golden functions work
    block by block so their numpy temporaries stay in cache."""
    return (slice(i, min(i + _BLOCK, n)) for i in range(0, n, _BLOCK))


def _as_flat(value, shape, dtype):
    if value is None:
        return None
    return np.broadcast_to(np.asarray(value, dtype=dtype), shape).ravel()


def round_raw(raw: Raw, fmt: FloatFormat, rounding: str = "rne", saturate: bool = False, *,
              rand=None, rand_bits: int = 16, flags: bool = False):
    """Round exact values to ``fmt`` codes (dtype ``fmt.dtype``), once.

    ``raw.sticky``, ``raw.is_nan`` and ``raw.is_inf`` may be None (all False).  ``sr``
    takes one ``rand_bits``-bit draw per element in ``rand``; it needs the R bits below the
    result's ulp exactly (a ``sticky`` may stand only for bits below those).  With
    ``flags`` the result is ``(codes, flags)``, flags a uint8 array of NX/UF/OF bits
    (:data:`FLAG_BITS`); specials (``is_nan``/``is_inf``) raise none.
    """
    check_rounding(rounding)
    check_sr_bits(fmt, rounding, rand_bits)
    shape = np.broadcast_shapes(*(np.shape(v) for v in (raw.sign, raw.exp, raw.sig)
                                  if v is not None))
    sign, exp, sig = (_as_flat(raw.sign, shape, bool), _as_flat(raw.exp, shape, np.int64),
                      _as_flat(raw.sig, shape, _U64))
    sticky, is_nan, is_inf = (_as_flat(v, shape, bool)
                              for v in (raw.sticky, raw.is_nan, raw.is_inf))
    rand = check_rand(rounding, rand, rand_bits, shape)
    rand = None if rand is None else rand.ravel()
    out = np.empty(sig.size, dtype=code_dtype(fmt.width))
    out_flags = np.empty(sig.size, dtype=np.uint8) if flags else None
    for b in blocks(sig.size):
        # Normalise the significand to its msb at bit P.
        s_sig, s_sticky = sig[b], None if sticky is None else sticky[b]
        if s_sticky is not None and np.any(s_sticky & (s_sig == 0)):
            raise ValueError("sticky with a zero significand: keep more bits")
        bl = bit_length(s_sig)
        msb_exp = np.where(bl == 0, _E_ZERO, exp[b] + bl - 1)
        up = _P + 1 - bl
        norm = s_sig << np.maximum(up, 0).astype(_U64)
        if (up < 0).any():  # wider than P+1 bits: the dropped bits join sticky
            down = np.maximum(-up, 0)
            lost = (s_sig & low_mask(down)) != 0
            norm = np.where(up < 0, s_sig >> down.astype(_U64), norm)
            s_sticky = lost if s_sticky is None else s_sticky | lost
        res = _round_core(fmt, rounding, saturate, sign[b], msb_exp, norm, s_sticky,
                          None if is_nan is None else is_nan[b],
                          None if is_inf is None else is_inf[b], known_low=up,
                          rand=None if rand is None else rand[b], rand_bits=rand_bits,
                          flags=flags)
        if flags:
            out[b], out_flags[b] = res
        else:
            out[b] = res
    if flags:
        return out.reshape(shape), out_flags.reshape(shape)
    return out.reshape(shape)


def _round_at(sig, shift, sign, sticky, rounding, rand=None, rand_bits=16):
    """Kept significand plus rounding increment in one add: ``(sig + add) >> shift``, where
    ``shift`` (>= 1, scalar or per element) bits are discarded."""
    if rounding == "rtz":
        return sig >> shift
    if rounding == "sr":  # carry into the ulp iff floor(d * 2**R) + r >= 2**R
        shift = np.asarray(shift, dtype=np.int64)
        r_bits = np.int64(rand_bits)
        d_top = np.where(shift >= r_bits,
                         shr(sig, np.maximum(shift - r_bits, 0)) & low_mask(r_bits),
                         (sig & low_mask(shift)) << np.maximum(r_bits - shift, 0).astype(_U64))
        return shr(sig, shift) + ((d_top + rand) >> _U64(rand_bits))
    half = _ONE << (shift - _ONE)
    if rounding == "rna":
        add = half
    elif rounding == "rne":  # ties to even: below half, or half with an even kept lsb
        odd = (sig >> shift) & _ONE
        if sticky is not None:
            odd |= sticky.astype(_U64)
        add = half - _ONE + odd
    else:  # directed: up when inexact and the sign points that way
        up = ~sign if rounding == "rup" else sign
        ulp_minus = (_ONE << shift) - _ONE
        if sticky is not None:
            ulp_minus = ulp_minus + sticky.astype(_U64)
        add = np.where(up, ulp_minus, _U64(0))
    return (sig + add) >> shift


def _round_core(fmt, rounding, saturate, sign, msb_exp, sig, sticky, is_nan, is_inf,
                top=_P, known_low=None, rand=None, rand_bits=16, flags=False):
    """Round one block.  ``sig`` (uint64) has its msb at bit ``top`` (0 for zero, whose
    ``msb_exp`` must be ``_E_ZERO``); ``sticky`` stands for bits below bit 0; the
    ``known_low`` lowest bits are zeros shifted in by normalisation (not known to be
    zero if sticky).  Returns codes, or ``(codes, flags)``."""
    m = fmt.man_bits
    base = top - m  # bits below the ulp of a normal result
    field = msb_exp + fmt.bias
    rounded = _round_at(sig, _U64(base), sign, sticky, rounding, rand, rand_bits)
    # tiny after rounding: the value rounded at full precision stays below 2**emin
    tiny = ((msb_exp < fmt.emin - 1) | ((msb_exp == fmt.emin - 1) & (rounded >> _U64(m + 1) == 0))
            ) & (sig != 0) if flags else None
    drop = base
    if fmt.subnormals:
        # Below the smallest normal the ulp stays put: shift further right (capped where
        # everything, round bit or the R compared bits included, is discarded); field 1.
        sub = np.flatnonzero(msb_exp < fmt.emin)
        if sub.size:
            drop = np.full(sig.shape, base)
            cap = top + 2 + (rand_bits if rounding == "sr" else 0)
            drop[sub] = np.minimum(fmt.emin - msb_exp[sub] + base, cap)
            rounded[sub] = _round_at(sig[sub], drop[sub].astype(_U64), sign[sub],
                                     None if sticky is None else sticky[sub], rounding,
                                     None if rand is None else rand[sub], rand_bits)
            field[sub] = 1
    if sticky is not None and known_low is not None:
        exact_bits = drop - np.maximum(known_low, 0)  # exactly known bits below the ulp
        need = rand_bits if rounding == "sr" else 1   # the round bit, or R bits for sr
        if np.any(sticky & (exact_bits < need)):
            raise ValueError("sticky stands for bits above the round bit"
                             + (" or the R random-compare bits" if rounding == "sr" else "")
                             + ": keep more bits")

    # Packed add: (field - 1) * 2**m + rounded, so a carry out of the significand bumps
    # the exponent field and a subnormal that rounds up becomes the smallest normal.
    # Without subnormals a field below 0 (or a rounded 2**-bias) flushes to zero.
    # (uint64: the largest sum, (2**E + 1) * 2**m, fits for every width up to 64.)
    under = field < 0 if not fmt.subnormals else None
    field = np.clip(field, 0, fmt.exp_field_max + 1).astype(_U64)
    mag = (field << _U64(m)) + rounded - _U64(1 << m)
    if under is not None:
        mag[under] = 0

    if not flags:
        return _finish(fmt, rounding, saturate, sign, mag, is_nan, is_inf)
    inexact = (sig & low_mask(np.asarray(drop, dtype=np.int64))) != 0
    if sticky is not None:
        inexact |= sticky
    if not fmt.subnormals:  # flushed: the magnitude rounded to the zero code
        tiny = (mag == 0) & (sig != 0)
        inexact |= tiny
    overflow = mag > _U64(fmt.max_code)
    bits = (np.where(inexact | overflow, FLAG_BITS["NX"], 0)
            | np.where(tiny & inexact, FLAG_BITS["UF"], 0)
            | np.where(overflow, FLAG_BITS["OF"], 0)).astype(np.uint8)
    for special in (is_nan, is_inf):
        if special is not None:
            bits[special] = 0
    return _finish(fmt, rounding, saturate, sign, mag, is_nan, is_inf), bits


def _finish(fmt, rounding, saturate, sign, mag, is_nan, is_inf):
    """Rounded magnitudes (packed field and fraction, uint64) -> codes: overflow by mode,
    Inf/NaN inputs, sign."""
    # Overflow: +-max, or Inf (NaN in formats without Inf), by mode.
    overflow = mag > _U64(fmt.max_code)
    inf = is_inf
    if overflow.any():
        if saturate or rounding == "rtz" or not fmt.has_nan:
            to_max = overflow
        elif rounding in ("rup", "rdn"):
            to_max = overflow & (sign if rounding == "rup" else ~sign)
        else:
            to_max = None
        big = overflow if to_max is None else overflow & ~to_max
        if to_max is not None:
            mag[to_max] = fmt.max_code
        inf = big if inf is None else inf | big

    # Specials: Inf/NaN inputs keep their class whatever `saturate` says.
    if inf is not None and inf.any():
        if fmt.has_inf:
            mag[inf] = fmt.inf_code
        elif fmt.has_nan:
            is_nan = inf if is_nan is None else is_nan | inf
        else:
            mag[inf] = fmt.max_code

    neg = sign if fmt.has_neg_zero else sign & (mag != 0)
    code = mag | (neg.astype(_U64) << _U64(fmt.width - 1))
    if is_nan is not None and is_nan.any():
        if not fmt.has_nan:
            raise ValueError(f"format {fmt} cannot represent NaN")
        code[is_nan] = fmt.nan_code
    return code


_F64_FRAC = 52
_F64_BIAS = 1023


def round_float64(values, fmt: FloatFormat, rounding: str = "rne",
                  saturate: bool = False) -> np.ndarray:
    """float64 values -> ``fmt`` codes, rounded once from the exact binary64 value.

    A binary64 code is itself a packed (exponent field, fraction) integer, so for results
    in the format's normal range the packed add works on it directly: add the rounding
    increment at the format's ulp, shift, and rebias the exponent.  Zeros, binary64
    subnormals, specials and results below the format's normal range go through the
    general core.
    """
    check_rounding(rounding)
    x = np.ascontiguousarray(values, dtype=np.float64)
    bits = x.reshape(-1).view(_U64)
    out = np.empty(bits.size, dtype=code_dtype(fmt.width))
    m = fmt.man_bits
    shift = _U64(_F64_FRAC - m)
    rebias = _U64((_F64_BIAS - fmt.bias) << m) if _F64_BIAS >= fmt.bias else None
    low_field = fmt.emin + _F64_BIAS if fmt.subnormals else _F64_BIAS - fmt.bias
    for b in blocks(bits.size):
        blk = bits[b]
        sign = (blk >> _U64(63)) == 1
        packed = blk & _U64((1 << 63) - 1)
        # a 52-bit fraction (binary64's own) keeps every bit: nothing to round
        rounded = packed if m == _F64_FRAC else _round_at(packed, shift, sign, None, rounding)
        if rebias is None:
            mag = rounded + _U64((fmt.bias - _F64_BIAS) << m)
        else:
            mag = rounded - rebias
        raw_field = packed >> _U64(_F64_FRAC)
        slow = np.flatnonzero((raw_field < _U64(max(low_field, 1))) | (raw_field == _U64(0x7FF)))
        if slow.size:
            mag[slow] = 0  # placeholder, replaced below
        code = _finish(fmt, rounding, saturate, sign, mag, None, None)
        if slow.size:
            code[slow] = _round_float64_general(blk[slow], fmt, rounding, saturate)
        out[b] = code
    return out.reshape(x.shape)


def _round_float64_general(bits, fmt, rounding, saturate):
    """The general core on binary64 codes: zeros, subnormals, specials, tiny results."""
    field = ((bits >> _U64(_F64_FRAC)) & _U64(0x7FF)).astype(np.int64)
    frac = bits & _U64((1 << _F64_FRAC) - 1)
    sig = frac | (_ONE << _U64(_F64_FRAC))
    msb_exp = field - _F64_BIAS
    tiny = np.flatnonzero(field == 0)
    if tiny.size:  # zero and binary64 subnormals: normalise (zero: msb_exp _E_ZERO)
        bl = bit_length(frac[tiny])
        sig[tiny] = np.where(bl == 0, _U64(0), frac[tiny] << (_F64_FRAC + 1 - bl).astype(_U64))
        msb_exp[tiny] = np.where(bl == 0, _E_ZERO, 1 - _F64_BIAS - _F64_FRAC + bl - 1)
    special = field == 0x7FF
    return _round_core(fmt, rounding, saturate, (bits >> _U64(63)) == 1, msb_exp, sig, None,
                       special & (frac != 0), special & (frac == 0), top=_F64_FRAC)


def round_fraction(value, fmt: FloatFormat, rounding: str = "rne", saturate: bool = False,
                   negative_zero: bool = False) -> int:
    """One exact rational (``fractions.Fraction``, int, or ``float('nan'/'inf')``) -> code.

    Enough quotient bits are kept for every rounding decision and the remainder becomes
    sticky, so non-dyadic values (1/3) round correctly.  ``negative_zero`` gives the sign of
    an exact zero.
    """
    from fractions import Fraction

    if isinstance(value, float) and not np.isfinite(value):
        sign = value < 0
        raw = Raw(sign=[sign], exp=[0], sig=[0], is_nan=[np.isnan(value)],
                  is_inf=[np.isinf(value)])
        return int(round_raw(raw, fmt, rounding, saturate)[0])
    x = Fraction(value)
    sign = x < 0 or (x == 0 and negative_zero)
    num, den = abs(x.numerator), x.denominator
    # Scale by 2**-exp so the integer quotient reaches two bits below the result's ulp
    # (round bit + one more) and is nonzero; log2 x lies in [top - 1, top + 1).
    top = num.bit_length() - den.bit_length()
    lowest_binade = max(top - 1, fmt.emin) if fmt.subnormals else top - 1
    exp = min(lowest_binade - fmt.man_bits - 2, top - 2)
    scaled_num = num << -exp if exp < 0 else num
    scaled_den = den if exp < 0 else den << exp
    sig, rem = divmod(scaled_num, scaled_den)
    raw = Raw(sign=[sign], exp=[exp], sig=[sig], sticky=[rem != 0])
    return int(round_raw(raw, fmt, rounding, saturate)[0])
