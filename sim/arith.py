"""Golden arithmetic on encodings, vectorised over numpy arrays.

Each operation has the structure its hardware mirror has (``rtl/mul.py`` ...):
:func:`unpack` the operands -> compute the exact result as a :class:`Raw` -> ``round_raw``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fpforge.sim.formats import FloatClass, FloatFormat, parse
from fpforge.sim.rounding import (Raw, bit_length, blocks, check_rounding, low_mask, round_raw,
                                  shr)

__all__ = ["Operand", "unpack", "mul", "all_pairs", "check_codes", "check_result_format"]

_U64 = np.uint64


@dataclass
class Operand:
    """An unpacked encoding: value = (-1)**sign * sig * 2**exp unless a special."""

    sign: np.ndarray     # bool
    exp: np.ndarray      # int64, exponent of sig's LSB
    sig: np.ndarray      # uint64, hidden bit included (0 for zero)
    is_zero: np.ndarray  # bool
    is_inf: np.ndarray   # bool
    is_nan: np.ndarray   # bool


def check_codes(codes, fmt: FloatFormat, label: str) -> np.ndarray:
    """Codes as a uint64 array; ValueError if any does not fit ``fmt.width`` bits."""
    c = np.asarray(codes)
    if c.dtype.kind not in "ui":
        raise TypeError(f"{label} codes must be integers, not {c.dtype}")
    if c.size and ((c.dtype.kind == "i" and c.min() < 0) or int(c.max()) >> fmt.width):
        raise ValueError(f"{label} codes do not fit the {fmt.width}-bit format {fmt}")
    return c.astype(_U64)


def check_result_format(out_fmt: FloatFormat, *operand_fmts: FloatFormat) -> None:
    """A finite-only result format cannot hold the NaN/Inf that special operands give."""
    if not out_fmt.has_nan and any(f.has_specials for f in operand_fmts):
        raise ValueError(f"result format {out_fmt} has no NaN/Inf for the special results of "
                         f"{' x '.join(map(str, operand_fmts))} operands")


#: formats up to this width unpack through a table of every code
_TABLE_BITS = 16


def unpack(codes, fmt: FloatFormat, label: str = "operand") -> Operand:
    """Decode codes into sign / exponent / integer significand and class flags."""
    c = check_codes(codes, fmt, label)
    if fmt.width > _TABLE_BITS:
        return _unpack_direct(c, fmt)
    table, index = _unpack_table(fmt), c.astype(np.intp)
    return Operand(*(getattr(table, f).take(index) for f in
                     ("sign", "exp", "sig", "is_zero", "is_inf", "is_nan")))


@lru_cache(maxsize=32)
def _unpack_table(fmt: FloatFormat) -> Operand:
    table = _unpack_direct(fmt.all_codes().astype(_U64), fmt)
    for v in vars(table).values():
        v.setflags(write=False)
    return table


def _unpack_direct(c: np.ndarray, fmt: FloatFormat) -> Operand:
    cls = fmt.classify(c)
    sign, ef, mf = fmt.fields(c)
    sig, exp = fmt.sig_exp(ef, mf)
    is_zero = cls == FloatClass.ZERO
    return Operand(sign=sign == 1, exp=exp, sig=np.where(is_zero, _U64(0), sig),
                   is_zero=is_zero, is_inf=cls == FloatClass.INF, is_nan=cls == FloatClass.NAN)


def _product(a_sig, b_sig, width):
    """Exact product of two significands of at most ``width`` bits in total, returned as
    (sig, exp_shift, sticky): product = (sig + t) * 2**exp_shift, t in [0,1), t>0 iff sticky.
    Products wider than 64 bits keep their top 64 bits."""
    if width <= 64:
        return a_sig * b_sig, 0, None
    lo_mask, s32 = _U64(0xFFFFFFFF), _U64(32)
    a1, a0, b1, b0 = a_sig >> s32, a_sig & lo_mask, b_sig >> s32, b_sig & lo_mask
    mid1, mid2 = a1 * b0, a0 * b1
    low = a0 * b0
    mid = (low >> s32) + (mid1 & lo_mask) + (mid2 & lo_mask)
    lo = (low & lo_mask) | ((mid & lo_mask) << s32)
    hi = a1 * b1 + (mid1 >> s32) + (mid2 >> s32) + (mid >> s32)
    n = bit_length(hi)                          # drop the n low bits of hi:lo
    top = np.where(n == 0, lo, (hi << (64 - np.maximum(n, 1)).astype(_U64)) | shr(lo, n))
    return top, n, (lo & low_mask(n)) != 0


def mul(a, b, a_fmt, b_fmt, out_fmt, rounding: str = "rne", saturate: bool = False):
    """y = round(a * b): codes of ``a_fmt`` x ``b_fmt`` -> codes of ``out_fmt``.

    The exact product is rounded once.  IEEE specials: NaN in -> NaN, 0 * Inf -> NaN,
    Inf * finite -> Inf; the sign of every non-NaN result is sign(a) xor sign(b).
    """
    a_fmt, b_fmt, out_fmt = parse(a_fmt), parse(b_fmt), parse(out_fmt)
    check_rounding(rounding)
    check_result_format(out_fmt, a_fmt, b_fmt)
    if a_fmt.width + b_fmt.width <= 16:  # every pair fits a table: index it
        table = _mul_table(a_fmt, b_fmt, out_fmt, rounding, saturate)
        ia, ib = np.broadcast_arrays(check_codes(a, a_fmt, "a").astype(np.intp),
                                     check_codes(b, b_fmt, "b").astype(np.intp))
        return table[(ia << b_fmt.width) | ib]
    return _mul_exact(a, b, a_fmt, b_fmt, out_fmt, rounding, saturate)


def _mul_exact(a, b, a_fmt, b_fmt, out_fmt, rounding, saturate):
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    shape, a, b = a.shape, a.ravel(), b.ravel()
    out = np.empty(a.size, dtype=out_fmt.dtype)
    for blk in blocks(a.size):
        x, y = unpack(a[blk], a_fmt, "a"), unpack(b[blk], b_fmt, "b")
        is_nan = x.is_nan | y.is_nan | (x.is_inf & y.is_zero) | (x.is_zero & y.is_inf)
        sig, shift, sticky = _product(x.sig, y.sig, a_fmt.precision + b_fmt.precision)
        raw = Raw(sign=x.sign ^ y.sign, exp=x.exp + y.exp + shift, sig=sig, sticky=sticky,
                  is_nan=is_nan, is_inf=(x.is_inf | y.is_inf) & ~is_nan)
        out[blk] = round_raw(raw, out_fmt, rounding, saturate)
    return out.reshape(shape)


def all_pairs(a_fmt: FloatFormat, b_fmt: FloatFormat) -> tuple[np.ndarray, np.ndarray]:
    """Every (a, b) code pair, a-major: pair i is (i >> b_fmt.width, i & mask)."""
    a = np.repeat(a_fmt.all_codes().astype(_U64), 1 << b_fmt.width)
    b = np.tile(b_fmt.all_codes().astype(_U64), 1 << a_fmt.width)
    return a, b


@lru_cache(maxsize=64)
def _mul_table(a_fmt, b_fmt, out_fmt, rounding, saturate):
    table = _mul_exact(*all_pairs(a_fmt, b_fmt), a_fmt, b_fmt, out_fmt, rounding, saturate)
    table.setflags(write=False)
    return table
