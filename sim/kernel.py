"""The compiled accumulation kernel (numba) behind ``sim.accumulate`` and ``sim.gemm``.

One accumulation step is ``z := round(a * b + z)``, the exact product plus the register,
rounded once into the accumulator format (``b = 1`` for a plain sum and for a chunk fold);
this module runs such steps for many independent accumulators in compiled loops on every
core (``sim.parallel``) and returns the registers' values.  It gives the codes of the numpy
kernel it replaced (every step through the golden ``arith.fma``/``arith.add``, kept as the
test reference ``tests/lanes_reference.py``) bit for bit, for every format, mode and
option:

* every register holds its value as a float64, which is exact (every format's values are
  float64 values: ``FloatFormat``'s invariant); NaN and Inf are float64 NaN and Inf, and
  ``value_codes`` turns registers into codes at the end;
* **fast path** (where it applies, almost every step): ``s = a * b + z`` in float64, then
  one packed rounding of ``s``'s bit pattern at the accumulator's ulp (add the mode's
  increment, clear the discarded bits, the carry bumps the exponent).  It is taken only when
  it is provably the golden result: the product is exact in float64 (operand precisions
  summing to at most 53, no float64 overflow or underflow: :class:`Path` checks this per
  format triple), the sum is exact (statically, when every sum of a product and a register
  spans at most 53 bits, e.g. fp8 x fp8 + fp16; otherwise per step, the TwoSum error being
  zero), ``s`` lies in the accumulator's normal range and the rounded result does not
  exceed its max, or ``s`` is an exact zero (float64 gives it the reference's sign in
  every mode but rdn);
* **exact path** (every other step: rdn zeros, subnormal results, overflow, NaN/Inf,
  inexact float64 sums, products wider than 53 bits, accumulators of 52 fraction bits):
  the golden model's integer arithmetic (``arith._exact_sum`` and ``rounding._round_core``)
  ported to scalar code, on the operands' integer significands.

``sr`` draws come from per-accumulator xorshift32 states (``sim.prng``) stepped once per
rounding, so each register consumes its stream in input order exactly as the reference does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from fpforge.sim import parallel
from fpforge.sim.formats import FloatFormat
from fpforge.sim.rounding import ALL_ROUNDING_MODES

__all__ = ["Path", "MODE_IDS", "Registers", "gemm", "streams", "advance", "value_codes", "code_values",
           "value_table", "KEEP_MORE_BITS"]

#: rounding mode -> the kernel's integer id
MODE_IDS = {m: i for i, m in enumerate(ALL_ROUNDING_MODES)}
_RNE, _RTZ, _RNA, _RUP, _RDN, _SR = (MODE_IDS[m] for m in ALL_ROUNDING_MODES)

#: raised (as ValueError) where the reference raises: sr with a sticky bit above its R bits
KEEP_MORE_BITS = ("sticky stands for bits above the round bit or the R random-compare bits: "
                  "keep more bits")


# ---- bit-level intrinsics ------------------------------------------------------------------
def _unary_intrinsic(src, dst, emit):
    """A numba intrinsic ``dst(src)`` whose LLVM code is ``emit(builder, value)``."""
    def typer(typingctx, x):
        if x != src:
            return None

        def codegen(context, builder, signature, args):
            return emit(builder, args[0])
        return dst(src), codegen
    return intrinsic(typer)


_I64, _DOUBLE, _FALSE = ir.IntType(64), ir.DoubleType(), ir.Constant(ir.IntType(1), 0)
#: float64 <-> bit patterns, and leading / trailing zeros of a uint64 (64 for 0)
_bits = _unary_intrinsic(types.float64, types.uint64, lambda b, x: b.bitcast(x, _I64))
_ibits = _unary_intrinsic(types.float64, types.int64, lambda b, x: b.bitcast(x, _I64))
_ifloat = _unary_intrinsic(types.int64, types.float64, lambda b, x: b.bitcast(x, _DOUBLE))
_clz = _unary_intrinsic(types.uint64, types.uint64, lambda b, x: b.ctlz(x, _FALSE))
_ctz = _unary_intrinsic(types.uint64, types.uint64, lambda b, x: b.cttz(x, _FALSE))


_U0, _U1 = np.uint64(0), np.uint64(1)
_ABS = np.uint64((1 << 63) - 1)
_IABS = np.int64((1 << 63) - 1)
_IINF = np.int64(0x7FF << 52)
_FRAC = np.uint64((1 << 52) - 1)
_HIDDEN = np.uint64(1 << 52)
_M32 = np.uint64(0xFFFFFFFF)
_S13, _S17, _S5, _S52, _S63 = (np.uint64(v) for v in (13, 17, 5, 52, 63))
_NAN = np.nan
_INF = np.inf
#: the reference's frames: exact sums with the larger msb at bit 62, rounding at bit 60
_SUM_TOP = 62
_TOP = 60
_ZERO_MSB = -(1 << 40)
_E_ZERO = -(1 << 20)


@njit
def _xorshift(x):
    x = (x ^ (x << _S13)) & _M32
    x ^= x >> _S17
    return (x ^ (x << _S5)) & _M32


@njit
def _bitlen(x):
    return np.int64(64 - _clz(x))


@njit
def _shr(x, n):
    """x >> n for n >= 0, 0 when n >= 64."""
    if n >= 64:
        return _U0
    return x >> np.uint64(n)


@njit
def _low_mask(n):
    """(1 << n) - 1 for 0 <= n (all ones from 64 on)."""
    if n >= 64:
        return ~_U0
    return (_U1 << np.uint64(n)) - _U1


# ---- the exact path: the reference's integer arithmetic, one element at a time --------------
@njit
def _split(x):
    """Finite float64 -> (sign, lsb exponent, odd significand): x = +-sig * 2**exp (sig 0
    for zero)."""
    b = _bits(x)
    sign = np.int64(b >> _S63)
    field = np.int64((b >> _S52) & np.uint64(0x7FF))
    sig = b & _FRAC
    exp = np.int64(-1074)
    if field != 0:
        sig |= _HIDDEN
        exp = field - 1075
    if sig == _U0:
        return sign, np.int64(0), _U0
    tz = _ctz(sig)
    return sign, exp + np.int64(tz), sig >> tz


@njit
def _round_at(sig, shift, sign, sticky, mode, r, rbits):
    """``rounding._round_at`` for one element: the kept significand plus the increment."""
    if mode == _RTZ:
        return _shr(sig, shift)
    if mode == _SR:
        if shift >= rbits:
            d_top = _shr(sig, shift - rbits) & _low_mask(rbits)
        else:
            d_top = (sig & _low_mask(shift)) << np.uint64(rbits - shift)
        return _shr(sig, shift) + ((d_top + r) >> np.uint64(rbits))
    ushift = np.uint64(shift)
    half = _U1 << np.uint64(shift - 1)
    if mode == _RNA:
        add = half
    elif mode == _RNE:
        odd = (sig >> ushift) & _U1
        if sticky:
            odd = _U1
        add = half - _U1 + odd
    else:
        up = (sign == 0) if mode == _RUP else (sign != 0)
        add = _U0
        if up:
            add = (_U1 << ushift) - _U1 + (_U1 if sticky else _U0)
    return (sig + add) >> ushift


@njit
def _exact_step(a, b, z, r, acc, rnd):
    """round(a * b + z) into the accumulator exactly as the reference computes it.  ``acc``
    = (m, bias, emin, subnormals, exp_field_max, max_code, has_nan, has_inf, neg_zero),
    ``rnd`` = (mode, saturate, rand_bits).  Returns (value, error): error 1 where the
    reference raises (sr with a sticky bit above its R compared bits)."""
    m, bias, emin, sub, efm, max_code, has_nan, has_inf, neg_zero = acc
    mode, sat, rbits = rnd
    if a != a or b != b or z != z:
        return _NAN, 0
    a_inf, b_inf, z_inf = abs(a) == _INF, abs(b) == _INF, abs(z) == _INF
    p_neg = (_bits(a) >> _S63) != (_bits(b) >> _S63)
    if a_inf or b_inf or z_inf:
        if (a_inf and b == 0.0) or (b_inf and a == 0.0):
            return _NAN, 0
        z_neg = (_bits(z) >> _S63) != _U0
        if (a_inf or b_inf) and z_inf and p_neg != z_neg:
            return _NAN, 0
        neg = p_neg if (a_inf or b_inf) else z_neg
        if has_inf:
            return (-_INF if neg else _INF), 0
        if has_nan:
            return _NAN, 0
        return _code_value(np.uint64(max_code), neg, m, bias, sub), 0

    # the exact sum (arith._exact_sum), the larger term's msb at bit 62
    sa, ea, ga = _split(a)
    sb, eb, gb = _split(b)
    sz, ez, gz = _split(z)
    ps = sa ^ sb
    zero_sign = (ps | sz) if mode == _RDN else (ps & sz)
    pg = ga * gb
    bl = _bitlen(pg)
    nx = pg << np.uint64(_SUM_TOP + 1 - bl) if bl else _U0
    ex = ea + eb + bl - 1 if bl else np.int64(_ZERO_MSB)
    bl = _bitlen(gz)
    ny = gz << np.uint64(_SUM_TOP + 1 - bl) if bl else _U0
    ey = ez + bl - 1 if bl else np.int64(_ZERO_MSB)
    if ex > ey or (ex == ey and nx >= ny):
        big, small, e_big, e_small, sign = nx, ny, ex, ey, ps
    else:
        big, small, e_big, e_small, sign = ny, nx, ey, ex, sz
    d = e_big - e_small
    aligned = _shr(small, d)
    sticky = (small & _low_mask(d)) != _U0
    if ps != sz:
        sig = big - aligned - (_U1 if sticky else _U0)
    else:
        sig = big + aligned
    if sig == _U0 and not sticky:
        sign = zero_sign
    exp = e_big - _SUM_TOP

    # round_raw: normalise to the msb at bit 60 (dropped bits join sticky)
    bl = _bitlen(sig)
    msb_exp = exp + bl - 1 if bl else np.int64(_E_ZERO)
    up = _TOP + 1 - bl
    if up >= 0:
        norm = sig << np.uint64(up)
    else:
        norm = sig >> np.uint64(-up)
        if (sig & _low_mask(-up)) != _U0:
            sticky = True
    # rounding._round_core
    base = _TOP - m
    field = msb_exp + bias
    drop = base
    if sub and msb_exp < emin:
        cap = _TOP + 2 + (rbits if mode == _SR else 0)
        drop = min(emin - msb_exp + base, cap)
        field = 1
    rounded = _round_at(norm, drop, sign, sticky, mode, r, rbits)
    err = 0
    if sticky:
        need = rbits if mode == _SR else 1
        if drop - max(up, 0) < need:
            err = 1
    under = (not sub) and field < 0
    field = min(max(field, 0), efm + 1)
    mag = (np.uint64(field) << np.uint64(m)) + rounded - (_U1 << np.uint64(m))
    if under:
        mag = _U0
    # rounding._finish
    if mag > np.uint64(max_code):
        to_max = sat or mode == _RTZ or not has_nan
        if mode == _RUP:
            to_max = to_max or sign != 0
        elif mode == _RDN:
            to_max = to_max or sign == 0
        if not to_max:
            if has_inf:
                return (-_INF if sign else _INF), err
            return _NAN, err
        mag = np.uint64(max_code)
    neg = sign != 0 and (neg_zero or mag != _U0)
    return _code_value(mag, neg, m, bias, sub), err


@njit
def _code_value(mag, neg, m, bias, sub):
    """float64 value of a finite magnitude code (field and fraction packed) and a sign."""
    if mag == _U0:
        return -0.0 if neg else 0.0
    field = np.int64(mag >> np.uint64(m))
    frac = mag & _low_mask(m)
    if sub and field == 0:
        v = math.ldexp(float(frac), 1 - bias - m)
    else:
        v = math.ldexp(float(frac | (_U1 << np.uint64(m))), field - bias - m)
    return -v if neg else v


# ---- a pass: one step for n registers side by side ---------------------------------------
@njit
def _fast_pass(xs, x, z, n, st, bad, c, acc, rnd):
    """z[j] := round(xs * x[j] + z[j]) for j < n, where every product xs * x[j] is exact
    in float64: the packed rounding where it is provably exact, in one branch-free
    (vectorised) loop, then the exact path for the others (their registers still hold
    the old value).  ``c`` = (shift, low, high, increment, odd mask, directed mask,
    directed sign, sr left shift, sr right shift, rand bits, sr, twosum).  Returns the
    number of reference errors."""
    sh, low, high, inc0, odd_mask, dir_mask, dir_neg, lsh, rsh, rbits, sr, twosum = c
    keep = ~((np.int64(1) << sh) - 1)
    r_shift = np.uint64(32 - rbits)
    r_mask = np.int64(-1) if sr else np.int64(0)
    e_mask = _IABS if twosum else np.int64(0)
    sign_dir = np.int64(-1) if dir_neg else np.int64(0)
    zero_ok = not dir_neg  # directed sign True only for rdn
    below_inf = _IINF - 1
    any_bad = np.int64(0)
    for j in range(n):
        zj, pj = z[j], xs * x[j]
        s = pj + zj
        # the PRNG steps every time (branch-free); its draw counts only for sr
        state = _xorshift(st[j])
        st[j] = state
        r = np.int64(state >> r_shift) & r_mask
        bb = s - pj
        err = _ibits((pj - (s - bb)) + (zj - bb)) & e_mask  # TwoSum error, 0 if exact
        bits = _ibits(s)
        mag = bits & _IABS
        inc = (inc0 + (((mag >> sh) & 1) & odd_mask) + ((r << lsh) >> rsh)
               + (dir_mask & ~((bits >> 63) ^ sign_dir)))
        rounded = (mag + inc) & keep
        # negative unless exact, in the normal range and not above max, or an exact zero
        # whose float64 sign is the reference's (all modes but rdn)
        t = (mag - low) | (below_inf - mag) | (high - rounded) | -err
        if mag == 0 and zero_ok:
            t = np.int64(0)
        z[j] = _ifloat(rounded | (bits - mag)) if t >= 0 else zj
        bad[j] = t
        any_bad |= t
    errors = 0
    if any_bad < 0:
        for j in range(n):
            if bad[j] < 0:
                r = st[j] >> r_shift if sr else _U0
                z[j], e = _exact_step(xs * x[j], 1.0, z[j], r, acc, rnd)
                errors += e
    return errors


@njit
def _mac(xs, x, y, use_y, z, n, st, bad, path, acc, rnd):
    """z[j] := round(x[j] * y[j] + z[j]) with ``use_y`` (x is then overwritten), else
    round(xs * x[j] + z[j]); fast where ``path`` = (ok, constants) allows, else every
    element by the exact path."""
    ok, c = path
    if ok:
        if use_y:
            for j in range(n):
                x[j] *= y[j]
        return _fast_pass(xs, x, z, n, st, bad, c, acc, rnd)
    errors = 0
    for j in range(n):
        r = _U0
        if rnd[0] == _SR:
            st[j] = _xorshift(st[j])
            r = st[j] >> np.uint64(32 - rnd[2])
        if use_y:
            z[j], e = _exact_step(x[j], y[j], z[j], r, acc, rnd)
        else:
            z[j], e = _exact_step(xs, x[j], z[j], r, acc, rnd)
        errors += e
    return errors


# ---- kernels (nogil: the Python side runs blocks of rows or units on threads) ----------------
@njit(nogil=True, cache=True)
def _gemm(av, bv, ks, chunk, acc, rnd, mac, fold, seeds, out, lo, hi):
    """out[t, i, j] := register of output (i, j), lo <= i < hi, after tile t (tiles of ks[t]
    steps along k, registers at +0 at each tile's start, PRNG states running on; a chunk's
    fold draws from the output's one state right after the chunk's last product).
    Returns the number of reference errors."""
    n_cols = bv.shape[1]
    inner, outer = np.zeros(n_cols), np.zeros(n_cols)
    y = np.ones(n_cols)
    bad = np.empty(n_cols, dtype=np.int64)
    errors = 0
    for i in range(lo, hi):
        st = seeds[i].copy()
        off = 0
        for t in range(ks.size):
            k_t = ks[t]
            inner[:] = 0.0
            outer[:] = 0.0
            for kk in range(k_t):
                errors += _mac(av[i, off + kk], bv[off + kk], y, False, inner, n_cols, st, bad,
                               mac, acc, rnd)
                if chunk and ((kk + 1) % chunk == 0 or kk == k_t - 1):
                    errors += _mac(1.0, inner, y, False, outer, n_cols, st, bad, fold, acc, rnd)
                    inner[:] = 0.0
            out[t, i] = outer if chunk else inner
            off += k_t
    return errors


#: units summed side by side in one pass of ``_lockstep`` (their registers stay in cache)
_UNIT_BLOCK = 512


@njit(nogil=True, cache=True)
def _lockstep(xa, xb, products, chunk, acc, rnd, mac, fold, inner, outer, st, fst, k0, total,
              taps, out, lo, hi):
    """Units lo <= u < hi in lockstep, resumed after k0 of their ``total`` inputs: unit u
    sums the column xa[:, u] of operand values (times xb[:, u] with ``products``) into its
    registers inner[u], outer[u] with PRNG states st[u], fst[u] (all updated in place);
    out[u, q] := its result after taps[q] inputs, for the taps among these steps.
    Returns the number of reference errors."""
    length = xa.shape[0]
    width = min(hi - lo, _UNIT_BLOCK)
    x, y = np.empty(width), np.ones(width)
    bad = np.empty(width, dtype=np.int64)
    errors = 0
    for b0 in range(lo, hi, width):
        n = min(hi, b0 + width) - b0
        zi, zo = inner[b0:b0 + n], outer[b0:b0 + n]
        si, so = st[b0:b0 + n], fst[b0:b0 + n]
        for k in range(length):
            step = k0 + k + 1  # inputs summed after this step
            x[:n] = xa[k, b0:b0 + n]
            if products:
                y[:n] = xb[k, b0:b0 + n]
            errors += _mac(1.0, x, y, products, zi, n, si, bad, mac, acc, rnd)
            if chunk and (step % chunk == 0 or step == total):
                errors += _mac(1.0, zi, y, False, zo, n, so, bad, fold, acc, rnd)
                zi[:] = 0.0
            for q in range(taps.size):
                if taps[q] == step:
                    out[b0:b0 + n, q] = zo if chunk else zi
    return errors


@njit(nogil=True, cache=True)
def _advance(seeds, offsets, out, lo, hi):
    """out[l, s] := seeds[l] stepped offsets[s] times (offsets non-decreasing), lo <= l < hi."""
    for lane in range(lo, hi):
        x, done = seeds[lane], 0
        for s in range(offsets.size):
            while done < offsets[s]:
                x = _xorshift(x)
                done += 1
            out[lane, s] = x
    return 0


# ---- the Python side ------------------------------------------------------------------------
def _lsb(fmt: FloatFormat | None) -> int:
    """Exponent of the smallest positive value's unit (0 for the constant 1)."""
    return 0 if fmt is None else fmt.emin - fmt.man_bits


def _max(fmt: FloatFormat | None) -> Fraction:
    return Fraction(1) if fmt is None else Fraction(fmt.max)


def _span_bits(bound: Fraction, lsb: int) -> int:
    """Bits from 2**lsb up to the power of two above ``bound`` (> 0)."""
    top = bound.numerator.bit_length() - bound.denominator.bit_length()  # floor(log2) or +1
    if Fraction(2) ** top > bound:
        top -= 1
    return top + 1 - lsb


@dataclass(frozen=True)
class Path:
    """Where the fast path applies to ``round(a * b + z)`` for ``a_fmt`` x ``b_fmt``
    operands (``b_fmt`` None: b = 1, a plain sum or a fold) and ``acc`` registers (module
    docstring): ``ok`` (the product is exact in float64, no sum overflows float64, the
    accumulator has at most 51 fraction bits) and ``twosum`` (a sum may span more than 53
    bits, so every step checks its TwoSum error)."""

    ok: bool
    twosum: bool
    acc: FloatFormat

    @classmethod
    def of(cls, a_fmt: FloatFormat, b_fmt: FloatFormat | None, acc: FloatFormat) -> "Path":
        precision = a_fmt.precision + (1 if b_fmt is None else b_fmt.precision)
        p_max, p_lsb = _max(a_fmt) * _max(b_fmt), _lsb(a_fmt) + _lsb(b_fmt)
        ok = (precision <= 53 and p_lsb >= -1074 and p_max + _max(acc) < 2 ** 1023
              and acc.man_bits <= 51)
        return cls(ok, _span_bits(p_max + _max(acc), min(p_lsb, _lsb(acc))) > 53, acc)

    def args(self, rounding: str, rand_bits: int) -> tuple:
        """(ok, constants of the packed rounding) for ``_fast_pass``."""
        acc = self.acc
        sh = 52 - acc.man_bits
        low = max(acc.emin + (0 if acc.subnormals else 1) + 1023, 1) << 52
        high = int(np.float64(float(acc.max)).view(np.int64))
        half = 1 << max(sh - 1, 0)
        inc = {"rne": half - 1, "rna": half}.get(rounding, 0)
        directed = (1 << max(sh, 0)) - 1 if rounding in ("rup", "rdn") else 0
        return (self.ok, (sh, low, high, inc, int(rounding == "rne"), directed,
                          rounding == "rdn", max(sh - rand_bits, 0), max(rand_bits - sh, 0),
                          int(rand_bits), rounding == "sr", self.twosum))


def _acc_args(acc: FloatFormat) -> tuple:
    return (acc.man_bits, acc.bias, acc.emin, acc.subnormals, acc.exp_field_max,
            acc.max_code, acc.has_nan, acc.has_inf, acc.has_neg_zero)


def _args(mac: Path, acc: FloatFormat, chunk: int, rounding: str, saturate: bool,
          rand_bits: int) -> tuple:
    """(chunk, acc, rnd, mac path, fold path): the kernels' parameter tuples."""
    return (int(chunk), _acc_args(acc), (MODE_IDS[rounding], bool(saturate), int(rand_bits)),
            mac.args(rounding, rand_bits), Path.of(acc, None, acc).args(rounding, rand_bits))


def _parallel(kernel, n: int, *args) -> None:
    """``kernel(*args, lo, hi)`` on every core (``parallel.run``); ValueError where the
    reference raises."""
    if parallel.run(kernel, n, *args):
        raise ValueError(KEEP_MORE_BITS)


def _states(values, shape) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(np.asarray(values, dtype=np.uint64), shape))


def gemm(av: np.ndarray, bv: np.ndarray, ks, a_fmt: FloatFormat, b_fmt: FloatFormat,
         acc: FloatFormat, chunk: int, rounding: str, saturate: bool, rand_bits: int,
         seeds=1) -> np.ndarray:
    """Registers ``(T, M, N)`` of the outputs of ``av (M, K) x bv (K, N)`` (operand values,
    float64) over tiles of ``ks`` steps along K: output (i, j) of tile t accumulates
    av[i, k] * bv[k, j] over the tile's k in order (chunk-based, ``chunk``), from +0.
    ``seeds``: (M, N) PRNG states at the start, for ``sr``: one stream per output, its
    products and folds drawing in turn (as an array's PE, whose one MAC does both)."""
    av = np.ascontiguousarray(av, dtype=np.float64)
    bv = np.ascontiguousarray(bv, dtype=np.float64)
    ks = np.asarray(ks, dtype=np.int64)
    out = np.empty((ks.size, av.shape[0], bv.shape[1]))
    shape = (av.shape[0], bv.shape[1])
    _parallel(_gemm, av.shape[0], av, bv, ks,
              *_args(Path.of(a_fmt, b_fmt, acc), acc, chunk, rounding, saturate, rand_bits),
              _states(seeds, shape), out)
    return out


def advance(seeds, offsets) -> np.ndarray:
    """PRNG states ``(L, S)``: seed l stepped offsets[s] times (offsets non-decreasing)."""
    seeds = np.asarray(seeds, dtype=np.uint64).ravel()
    out = np.empty((seeds.size, len(offsets)), dtype=np.uint64)
    _parallel(_advance, seeds.size, seeds, np.asarray(offsets, dtype=np.int64), out)
    return out


class Registers:
    """``units`` chunk-based accumulators in lockstep, fed their inputs block by block
    (:meth:`feed`), each summing ``total`` inputs from +0: operands of ``a_fmt`` (times
    ``b_fmt`` operands: exact products), rounding into ``acc``.  ``states`` /
    ``fold_states``: their PRNG states at the start (``sr``).  :attr:`tapped` holds, for
    every unit, its result after each of ``taps`` inputs (increasing; after all ``total``
    when there are none)."""

    def __init__(self, units: int, a_fmt: FloatFormat, b_fmt: FloatFormat | None,
                 acc: FloatFormat, chunk: int, rounding: str, saturate: bool, rand_bits: int,
                 total: int, taps=None, states=1, fold_states=1):
        self.acc, self.total, self.done = acc, int(total), 0
        self.products = b_fmt is not None
        self.inner, self.outer = np.zeros(units), np.zeros(units)
        self.states = _states(states, (units,)).copy()
        self.fold_states = _states(fold_states, (units,)).copy()
        self.taps = np.asarray([total] if taps is None else taps, dtype=np.int64)
        self.tapped = np.full((units, self.taps.size), np.nan)
        self._args = _args(Path.of(a_fmt, b_fmt, acc), acc, chunk, rounding, saturate,
                           rand_bits)

    def feed(self, xa: np.ndarray, xb: np.ndarray | None = None) -> None:
        """The next ``len(xa)`` inputs of every unit: operand values ``(steps, units)``
        (and ``xb`` alike for products)."""
        xa = np.ascontiguousarray(xa, dtype=np.float64)
        if xa.ndim != 2 or xa.shape[1] != self.inner.size \
                or self.done + xa.shape[0] > self.total or (xb is None) == self.products:
            raise ValueError("feed takes (steps, units) operand values within the total")
        xb = np.ones((1, 1)) if xb is None else np.ascontiguousarray(xb, dtype=np.float64)
        _parallel(_lockstep, self.inner.size, xa, xb, self.products, *self._args, self.inner,
                  self.outer, self.states, self.fold_states, self.done, self.total, self.taps,
                  self.tapped)
        self.done += xa.shape[0]


def streams(xa: np.ndarray, xb: np.ndarray | None, a_fmt: FloatFormat,
            b_fmt: FloatFormat | None, acc: FloatFormat, lengths, chunk: int, rounding: str,
            saturate: bool, rand_bits: int, states=1, fold_states=1, taps=None) -> np.ndarray:
    """Registers ``(L, S)`` (or ``(L, S, len(taps))``) of L lanes of S back-to-back
    streams of ``lengths``: lane l sums the codes xa[l] (times xb[l] when given: exact
    products) stream by stream, each from +0.  ``states``/``fold_states``: (L, S) PRNG
    states at each stream's start (``sr``).  ``taps``: the results after that many
    inputs instead (each at most the shortest stream)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    n_lanes, n_streams = xa.shape[0], lengths.size
    states = _states(states, (n_lanes, n_streams))
    fold_states = _states(fold_states, (n_lanes, n_streams))
    va = code_values(xa, a_fmt)
    vb = code_values(xb, b_fmt) if xb is not None else None
    out = np.empty((n_lanes, n_streams, 1 if taps is None else len(taps)))
    for length in np.unique(lengths):
        # the units (lane, stream) of this length side by side, lane-major
        sel = np.flatnonzero(lengths == length)
        cols = starts[sel][None, :] + np.arange(length)[:, None]
        units = n_lanes * sel.size

        def lay_out(values):
            return np.moveaxis(values[:, cols], 0, 1).reshape(length, units)

        regs = Registers(units, a_fmt, b_fmt if xb is not None else None, acc, chunk,
                         rounding, saturate, rand_bits, length, taps,
                         states[:, sel].reshape(units), fold_states[:, sel].reshape(units))
        regs.feed(lay_out(va), None if vb is None else lay_out(vb))
        out[:, sel] = regs.tapped.reshape(n_lanes, sel.size, -1)
    return out if taps is not None else out[..., 0]


_TABLES: dict = {}


def value_table(fmt: FloatFormat) -> np.ndarray:
    """The float64 value of every code of a format of up to 16 bits (read-only)."""
    if fmt not in _TABLES:
        table = fmt.decode(fmt.all_codes())
        table.setflags(write=False)
        _TABLES[fmt] = table
    return _TABLES[fmt]


def code_values(codes, fmt: FloatFormat) -> np.ndarray:
    """Codes -> their float64 values (exact; NaN codes NaN)."""
    codes = np.asarray(codes)
    if fmt.width <= 16:
        return value_table(fmt)[codes.astype(np.intp)]
    return fmt.decode(codes)


def value_codes(values: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """Register values (each a value of ``fmt``, or NaN/Inf) -> codes (NaN: the canonical
    NaN)."""
    return fmt.encode(values)
