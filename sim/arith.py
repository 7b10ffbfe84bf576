"""Golden arithmetic on encodings, vectorised over numpy arrays.

Each operation has the structure its hardware mirror has (``rtl/mul.py`` ...):
:func:`unpack` the operands -> compute the exact result as a :class:`Raw` -> ``round_raw``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fpforge.sim.formats import FloatClass, FloatFormat, parse
from fpforge.sim.rounding import (FLAG_BITS, Raw, bit_length, blocks, check_rand, check_rounding,
                                  low_mask, round_raw, shr)
from fpforge.spec.checks import check_mac_product, check_result_format

__all__ = ["Operand", "unpack", "mul", "add", "fma", "all_pairs", "check_codes",
           "check_result_format"]

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


def _signaling(x: Operand, codes: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """Signaling NaNs: IEEE-style formats only, NaN with the top fraction bit clear."""
    if fmt.nan != "ieee" or fmt.man_bits == 0:
        return np.zeros(x.is_nan.shape, dtype=bool)
    quiet = (codes >> _U64(fmt.man_bits - 1)) & _U64(1)
    return x.is_nan & (quiet == 0)


def _nv(invalid, *signaling):
    out = invalid
    for s in signaling:
        out = out | s
    return np.where(out, np.uint8(FLAG_BITS["NV"]), np.uint8(0))


class _Op:
    """Shared driver of the golden operations: checks, broadcasting, blockwise evaluation
    of ``kernel(block_codes..., rand_block) -> (Raw, nv)`` and rounding, and a table of
    every input for narrow deterministic operations without flags."""

    def __init__(self, fmts, out_fmt, rounding, saturate, rand, rand_bits, flags):
        self.fmts, self.out_fmt = fmts, out_fmt
        self.rounding, self.saturate = check_rounding(rounding), bool(saturate)
        self.rand, self.rand_bits, self.flags = rand, rand_bits, flags
        check_result_format(out_fmt, *fmts)

    def run(self, codes, labels, kernel):
        arrays = np.broadcast_arrays(*(np.asarray(c) for c in codes))
        shape = arrays[0].shape
        flat = [check_codes(c.ravel(), f, n) for c, f, n in zip(arrays, self.fmts, labels)]
        rand = check_rand(self.rounding, self.rand, self.rand_bits, shape)
        rand = None if rand is None else rand.ravel()
        out = np.empty(flat[0].size, dtype=self.out_fmt.dtype)
        out_flags = np.empty(flat[0].size, dtype=np.uint8) if self.flags else None
        for blk in blocks(out.size):
            raw, nv = kernel(*(c[blk] for c in flat))
            res = round_raw(raw, self.out_fmt, self.rounding, self.saturate,
                            rand=None if rand is None else rand[blk],
                            rand_bits=self.rand_bits, flags=self.flags)
            if self.flags:
                out[blk], out_flags[blk] = res[0], res[1] | nv
            else:
                out[blk] = res
        if self.flags:
            return out.reshape(shape), out_flags.reshape(shape)
        return out.reshape(shape)


def mul(a, b, a_fmt, b_fmt, out_fmt, rounding: str = "rne", saturate: bool = False, *,
        rand=None, rand_bits: int = 16, flags: bool = False):
    """y = round(a * b): codes of ``a_fmt`` x ``b_fmt`` -> codes of ``out_fmt``.

    The exact product is rounded once.  IEEE specials: NaN in -> NaN, 0 * Inf -> NaN,
    Inf * finite -> Inf; the sign of every non-NaN result is sign(a) xor sign(b).
    ``sr`` takes one ``rand_bits``-bit draw per element (``rand``); ``flags=True`` returns
    ``(codes, flags)`` (:data:`FLAG_BITS`; NV for 0 * Inf and signaling NaN operands).
    """
    return _binary("mul", a, b, a_fmt, b_fmt, out_fmt, rounding, saturate, rand, rand_bits,
                   flags)


def _binary(name, a, b, a_fmt, b_fmt, out_fmt, rounding, saturate, rand, rand_bits, flags):
    """A two-operand operation: through the table of every pair when the operands total at
    most 16 bits (deterministic rounding, no flags), else element by element."""
    a_fmt, b_fmt, out_fmt = parse(a_fmt), parse(b_fmt), parse(out_fmt)
    if a_fmt.width + b_fmt.width <= 16 and rounding != "sr" and not flags:
        check_result_format(out_fmt, a_fmt, b_fmt)
        return _pair_table(name, a_fmt, b_fmt, out_fmt, check_rounding(rounding),
                           bool(saturate))[_pair_index(a, b, a_fmt, b_fmt)]
    return _binary_exact(name, a, b, a_fmt, b_fmt, out_fmt, rounding, saturate, rand,
                         rand_bits, flags)


def _binary_exact(name, a, b, a_fmt, b_fmt, out_fmt, rounding, saturate, rand=None,
                  rand_bits=16, flags=False):
    """``name`` ("mul"/"add") without the table: every element through its kernel."""
    op = _Op((a_fmt, b_fmt), out_fmt, rounding, saturate, rand, rand_bits, flags)
    kernel = _mul_kernel(a_fmt, b_fmt) if name == "mul" else _add_kernel(a_fmt, b_fmt, rounding)
    return op.run((a, b), ("a", "b"), kernel)


def _mul_kernel(a_fmt, b_fmt):
    def kernel(a, b):
        x, y = unpack(a, a_fmt, "a"), unpack(b, b_fmt, "b")
        invalid = (x.is_inf & y.is_zero) | (x.is_zero & y.is_inf)
        is_nan = x.is_nan | y.is_nan | invalid
        sig, shift, sticky = _product(x.sig, y.sig, a_fmt.precision + b_fmt.precision)
        raw = Raw(sign=x.sign ^ y.sign, exp=x.exp + y.exp + shift, sig=sig, sticky=sticky,
                  is_nan=is_nan, is_inf=(x.is_inf | y.is_inf) & ~is_nan)
        return raw, _nv(invalid, _signaling(x, a, a_fmt), _signaling(y, b, b_fmt))
    return kernel


#: the exact-sum frame: the larger term's msb goes to this bit of a uint64
_SUM_TOP = 62
#: msb exponent of a zero term: far below any other, so it aligns to nothing
_ZERO_MSB = -(1 << 40)


def _exact_sum(x_sign, x_exp, x_sig, y_sign, y_exp, y_sig, zero_sign):
    """x + y for terms (-1)**sign * sig * 2**exp with sig < 2**62, as a Raw.

    The larger magnitude is normalised to bit 62 and the smaller aligned to it with the
    bits shifted out collected as sticky; an effective subtraction with sticky takes one
    more unit off (value = (big - small - 1) + (1 - t), t in (0, 1)), so the Raw contract
    holds.  At least 60 exact bits remain after any cancellation.  An exact zero gets
    ``zero_sign``.
    """
    def normalise(sig, exp):
        bl = bit_length(sig)
        return sig << (_SUM_TOP + 1 - bl).astype(_U64), np.where(bl == 0, _ZERO_MSB, exp + bl - 1)

    nx, ex = normalise(x_sig, x_exp)
    ny, ey = normalise(y_sig, y_exp)
    x_big = (ex > ey) | ((ex == ey) & (nx >= ny))
    big, small = np.where(x_big, nx, ny), np.where(x_big, ny, nx)
    e_big, e_small = np.where(x_big, ex, ey), np.where(x_big, ey, ex)
    sign = np.where(x_big, x_sign, y_sign)
    d = e_big - e_small
    aligned, sticky = shr(small, d), (small & low_mask(d)) != 0
    subtract = x_sign != y_sign
    sig = np.where(subtract, big - aligned - sticky.astype(_U64), big + aligned)
    sign = np.where((sig == 0) & ~sticky, zero_sign, sign)
    return Raw(sign=sign, exp=e_big - _SUM_TOP, sig=sig, sticky=sticky)


def _wide_sum(p_sign, p_exp, p_sig, c_sign, c_exp, c_sig, zero_sign):
    """:func:`_exact_sum` for a product ``p_sig`` of Python ints (wider than 62 bits:
    binary64 operands) and an addend ``c_sig`` (uint64), element by element.

    Both terms are aligned to the lower lsb and summed exactly in Python integers (a few
    thousand bits at most); the sum is cut to its top 64 bits, the rest joining sticky (64
    bits below the msb, below any round bit :func:`round_raw` needs).  An exact zero gets
    ``zero_sign``."""
    n = len(p_sig)
    sig, exp = np.zeros(n, dtype=_U64), np.zeros(n, dtype=np.int64)
    sticky, sign = np.zeros(n, dtype=bool), np.asarray(zero_sign, dtype=bool).copy()
    for i, (ps, pe, pm, cs, ce, cm) in enumerate(zip(
            p_sign.tolist(), p_exp.tolist(), p_sig.tolist(), c_sign.tolist(), c_exp.tolist(),
            c_sig.tolist())):
        low = min(e for e, m in ((pe, pm), (ce, cm)) if m) if pm or cm else 0
        total = ((-pm if ps else pm) << max(pe - low, 0)) + ((-cm if cs else cm)
                                                              << max(ce - low, 0))
        if total:
            mag = abs(total)
            cut = max(mag.bit_length() - 64, 0)
            sig[i], exp[i] = mag >> cut, low + cut
            sticky[i], sign[i] = mag & ((1 << cut) - 1) != 0, total < 0
    return Raw(sign=sign, exp=exp, sig=sig, sticky=sticky)


def _zero_sign(x_sign, y_sign, rounding):
    """IEEE sign of an exact zero sum: (-0) + (-0) = -0, any other zero +0 (rdn: -0)."""
    return (x_sign | y_sign) if rounding == "rdn" else (x_sign & y_sign)


def add(a, b, a_fmt, b_fmt, out_fmt, rounding: str = "rne", saturate: bool = False, *,
        rand=None, rand_bits: int = 16, flags: bool = False):
    """y = round(a + b): codes of ``a_fmt`` + ``b_fmt`` -> codes of ``out_fmt``.

    The exact sum is rounded once.  An exact-zero sum is +0, except (-0) + (-0) and, in
    ``rdn``, every exact zero: -0.  NaN in -> NaN, Inf + -Inf -> NaN (NV), Inf + x -> Inf.
    ``rand``/``rand_bits``/``flags`` as in :func:`mul`.
    """
    return _binary("add", a, b, a_fmt, b_fmt, out_fmt, rounding, saturate, rand, rand_bits,
                   flags)


def _add_kernel(a_fmt, b_fmt, rounding):
    def kernel(a, b):
        x, y = unpack(a, a_fmt, "a"), unpack(b, b_fmt, "b")
        raw = _exact_sum(x.sign, x.exp, x.sig, y.sign, y.exp, y.sig,
                         _zero_sign(x.sign, y.sign, rounding))
        invalid = x.is_inf & y.is_inf & (x.sign != y.sign)
        raw.is_nan = x.is_nan | y.is_nan | invalid
        raw.is_inf = (x.is_inf | y.is_inf) & ~raw.is_nan
        raw.sign = np.where(x.is_inf, x.sign, np.where(y.is_inf, y.sign, raw.sign))
        return raw, _nv(invalid, _signaling(x, a, a_fmt), _signaling(y, b, b_fmt))
    return kernel


def fma(a, b, c, a_fmt, b_fmt, c_fmt, out_fmt, rounding: str = "rne", saturate: bool = False,
        fused: bool = True, prod_fmt=None, *, rand=None, rand_bits: int = 16,
        flags: bool = False):
    """y = round(a * b + c), rounded once (``fused``), or ``add(round(a * b -> prod_fmt),
    c)`` with two roundings in the same mode when ``fused=False``.

    Exact zero: sign(a*b) and sign(c) both negative give -0, else +0 (``rdn``: either
    negative gives -0).  NaN in, 0 * Inf and Inf - Inf give NaN; NV also for 0 * Inf + NaN.
    Significand products wider than 62 bits (binary64 operands) take an exact Python-integer
    path, about 100x slower per element.  ``sr`` is fused only (one draw per operation).
    """
    a_fmt, b_fmt, c_fmt, out_fmt = map(parse, (a_fmt, b_fmt, c_fmt, out_fmt))
    check_mac_product(fused, prod_fmt, rounding)
    if not fused:
        prod_fmt = parse(prod_fmt)
        p = mul(a, b, a_fmt, b_fmt, prod_fmt, rounding, saturate, flags=flags)
        s = add(p[0] if flags else p, c, prod_fmt, c_fmt, out_fmt, rounding, saturate,
                flags=flags)
        return (s[0], s[1] | p[1]) if flags else s
    op = _Op((a_fmt, b_fmt, c_fmt), out_fmt, rounding, saturate, rand, rand_bits, flags)
    return op.run((a, b, c), ("a", "b", "c"), _fma_kernel(a_fmt, b_fmt, c_fmt, rounding))


def _fma_kernel(a_fmt, b_fmt, c_fmt, rounding):
    wide = a_fmt.precision + b_fmt.precision > _SUM_TOP  # binary64-class products

    def kernel(a, b, c):
        x, y, z = unpack(a, a_fmt, "a"), unpack(b, b_fmt, "b"), unpack(c, c_fmt, "c")
        p_sign = x.sign ^ y.sign
        z_sign = _zero_sign(p_sign, z.sign, rounding)
        if wide:
            raw = _wide_sum(p_sign, x.exp + y.exp, x.sig.astype(object) * y.sig.astype(object),
                            z.sign, z.exp, z.sig, z_sign)
        else:
            raw = _exact_sum(p_sign, x.exp + y.exp, x.sig * y.sig, z.sign, z.exp, z.sig, z_sign)
        zero_inf = (x.is_inf & y.is_zero) | (x.is_zero & y.is_inf)
        p_inf = (x.is_inf | y.is_inf) & ~zero_inf
        inf_minus_inf = p_inf & z.is_inf & (p_sign != z.sign)
        raw.is_nan = x.is_nan | y.is_nan | z.is_nan | zero_inf | inf_minus_inf
        raw.is_inf = (p_inf | z.is_inf) & ~raw.is_nan
        raw.sign = np.where(p_inf, p_sign, np.where(z.is_inf, z.sign, raw.sign))
        invalid = (zero_inf | inf_minus_inf) & ~(x.is_nan | y.is_nan)
        return raw, _nv(invalid, _signaling(x, a, a_fmt), _signaling(y, b, b_fmt),
                        _signaling(z, c, c_fmt))
    return kernel


def all_pairs(a_fmt: FloatFormat, b_fmt: FloatFormat) -> tuple[np.ndarray, np.ndarray]:
    """Every (a, b) code pair, a-major: pair i is (i >> b_fmt.width, i & mask)."""
    a = np.repeat(a_fmt.all_codes().astype(_U64), 1 << b_fmt.width)
    b = np.tile(b_fmt.all_codes().astype(_U64), 1 << a_fmt.width)
    return a, b


def _pair_index(a, b, a_fmt, b_fmt):
    ia, ib = np.broadcast_arrays(check_codes(a, a_fmt, "a").astype(np.intp),
                                 check_codes(b, b_fmt, "b").astype(np.intp))
    return (ia << b_fmt.width) | ib


@lru_cache(maxsize=64)
def _pair_table(name, a_fmt, b_fmt, out_fmt, rounding, saturate):
    """The result of ``name`` ("mul"/"add") for every pair: narrow operations index it."""
    table = _binary_exact(name, *all_pairs(a_fmt, b_fmt), a_fmt, b_fmt, out_fmt, rounding,
                          saturate)
    table.setflags(write=False)
    return table
