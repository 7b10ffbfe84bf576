"""Rounder: the one rounding circuit every unit ends in (mirror of ``sim.rounding.round_raw``).

The unit in front of it aligns its exact result to the output's precision; the Rounder
adds the rounding increment, handles overflow, underflow and specials, and packs the code.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from fpforge.rtl.fields import span
from fpforge.sim.formats import FloatFormat, parse
from fpforge.spec.checks import check_rounding

__all__ = ["Rounder", "guard_bits"]


def feed_rand(m: Module, rounder: "Rounder", rand_port, seed: int | None, step) -> None:
    """Drive an ``sr`` Rounder's draw: from an own xorshift32 PRNG seeded ``seed`` that
    steps once per rounding (``step``, the valid at the Rounder), or from ``rand_port``
    (the unit's ``rand`` input, cut along with the operands) when ``seed`` is None."""
    if rounder.rounding != "sr":
        return
    if seed is None:
        m.d.comb += rounder.rand.eq(rand_port)
        return
    from fpforge.rtl.prng import Xorshift32
    m.submodules.prng = prng = Xorshift32(seed, rounder.rand_bits)
    m.d.comb += [prng.step.eq(step), rounder.rand.eq(prng.draw)]


def guard_bits(fmt: FloatFormat, rounding: str, rand_bits: int = 16, flags: bool = False) -> int:
    """Exact bits below the ulp a unit must hand the :class:`Rounder` (``low``): the round
    bit; the R compared bits for ``sr``; one more for after-rounding tininess (flags)."""
    need = rand_bits if rounding == "sr" else 1
    return need + 1 if flags and fmt.subnormals else need


class Rounder(wiring.Component):
    """Round an aligned significand to ``fmt`` and pack it (combinational).

    The caller aligns its exact result to the output's precision: ``sig`` holds the kept
    significand (hidden bit at ``sig[man_bits]``, clear only for a subnormal), ``low`` the
    next G = :func:`guard_bits` lower bits exactly (``low[-1]`` is the round bit) and
    ``sticky`` the OR of all bits below those.  The value is then
    ``(-1)**sign * (sig + low/2**G + sticky*eps) * 2**(e - bias - man_bits)`` with
    ``e = max(exp, 1)`` in formats with subnormals and ``e = exp`` without.

    Parameters
    ----------
    fmt : FloatFormat
        Output format.
    exp_range : (int, int)
        Range of ``exp`` the caller can produce (sizes the exponent logic).
    rounding : {"rne", "rtz", "rna", "rup", "rdn", "sr"}
        ``sr`` rounds the magnitude up iff ``low[-R:] + rand >= 2**R``.
    saturate : bool
        Overflow gives +-max instead of Inf/NaN (Inf/NaN inputs still give Inf/NaN).
    rand_bits : int
        R, the width of ``rand`` (``sr`` only).
    flags : bool
        Add the ``flags`` output.

    Ports
    -----
    sign, is_nan, is_inf, is_zero : In(1)
        Result sign and class; ``is_nan`` > ``is_inf`` > ``is_zero`` > the value.
    exp : In(signed)
        Exponent field of the unrounded result: 0 for a subnormal; without subnormals it
        may be 0 or negative (then the result flushes to zero).  Values above the
        format's range overflow.
    sig : In(precision)
    low : In(G)
    sticky : In(1)
    rand : In(R)
        Only for ``sr``: this rounding's random draw.
    y : Out(fmt.width)
        The code; canonical NaN, signed zero (+0 only in ``fnuz``).
    flags : Out(5)
        Only with ``flags``: NX (bit 0), UF (tiny after rounding and inexact; without
        subnormals: flushed), OF (bit 2); DZ and NV (bits 3, 4) are 0 here.
    """

    def __init__(self, fmt: FloatFormat, exp_range: tuple[int, int], rounding: str = "rne",
                 saturate: bool = False, rand_bits: int = 16, flags: bool = False):
        self.fmt = parse(fmt)
        self.exp_range = exp_range
        self.rounding = check_rounding(rounding)
        self.saturate = bool(saturate)
        self.rand_bits = rand_bits
        self.has_flags = bool(flags)
        self.guard = guard_bits(self.fmt, rounding, rand_bits, flags)
        ports = {
            "sign": In(1), "is_nan": In(1), "is_inf": In(1), "is_zero": In(1),
            "exp": In(span(exp_range[0], exp_range[1])),
            "sig": In(self.fmt.precision), "low": In(self.guard), "sticky": In(1),
            "y": Out(self.fmt.width),
        }
        if rounding == "sr":
            ports["rand"] = In(rand_bits)
        if flags:
            ports["flags"] = Out(5)
        super().__init__(ports)

    def _increment(self, lsb, low, sticky):
        """Rounding increment for kept lsb ``lsb``, the bits ``low`` below it (msb first
        is the round bit) and ``sticky`` below those."""
        rnd = low[-1]
        below = low[:-1].any() | sticky if len(low) > 1 else sticky
        if self.rounding == "sr":  # carry of low[-R:] + rand, as a compare
            top = low[-self.rand_bits:]
            return self.rand > (~top)[:self.rand_bits]
        sign = self.sign
        return {"rne": rnd & (below | lsb), "rna": rnd, "rtz": 0,
                "rup": (rnd | below) & ~sign, "rdn": (rnd | below) & sign}[self.rounding]

    def _overflow_to_max(self):
        """1 where an overflow gives +-max rather than Inf/NaN."""
        if self.saturate or self.rounding == "rtz" or not self.fmt.has_nan:
            return 1
        return {"rup": self.sign, "rdn": ~self.sign}.get(self.rounding, 0)

    def elaborate(self, platform):
        m = Module()
        f = self.fmt
        mb = f.man_bits

        # Packed add: {exponent field, fraction} + increment, so a carry out of the
        # fraction bumps the exponent and a rounded-up subnormal becomes normal.  Overflow
        # and underflow are decided on the packed value before the add (and the increment),
        # in parallel with the carry chain.
        lo, hi = self.exp_range
        packed = Signal(span(lo << mb, ((hi + 1) << mb) - 1), name="packed")
        m.d.comb += packed.eq(Cat(self.sig[:mb], self.exp).as_signed())
        inc = Signal(name="inc")
        m.d.comb += inc.eq(self._increment(self.sig[0], self.low, self.sticky))
        mag = Signal(span(lo << mb, (hi + 1) << mb), name="mag")
        m.d.comb += mag.eq(packed + inc)

        overflow = Signal(name="overflow")
        m.d.comb += overflow.eq((packed > f.max_code) | ((packed == f.max_code) & inc))
        # mag < 0 (mag == 0 packs to a signed zero anyway)
        underflow = ((packed < -1) | ((packed == -1) & ~inc)) if lo < 0 else 0
        sign_bit = self.sign << (f.width - 1)
        zero = sign_bit if f.has_neg_zero else 0
        big = (sign_bit | f.inf_code) if f.has_inf else (f.nan_code if f.has_nan else 0)
        big = Mux(self._overflow_to_max(), sign_bit | f.max_code, big)
        # Inf in: Inf, or NaN where the format has no Inf, or +-max if it has neither.
        inf_code = (sign_bit | f.inf_code) if f.has_inf else (
            f.nan_code if f.has_nan else sign_bit | f.max_code)

        with m.If(self.is_nan):
            m.d.comb += self.y.eq(f.nan_code if f.has_nan else 0)
        with m.Elif(self.is_inf):
            m.d.comb += self.y.eq(inf_code)
        with m.Elif(self.is_zero | underflow):
            m.d.comb += self.y.eq(zero)
        with m.Elif(overflow):
            m.d.comb += self.y.eq(big)
        with m.Else():
            value = mag[:f.width - 1]
            if not f.has_neg_zero:  # a value that rounds to 0 is +0 (sign|0 is the NaN)
                sign_bit = Mux((packed == 0) & ~inc, 0, sign_bit)
            m.d.comb += self.y.eq(sign_bit | value)
        if self.has_flags:
            self._flags(m, overflow, underflow, mag)
        return m

    def _flags(self, m, overflow, underflow, mag):
        """NX, UF, OF of a finite, nonzero value (specials raise none here)."""
        f, mb = self.fmt, self.fmt.man_bits
        inexact = self.low.any() | self.sticky
        if f.subnormals:
            # Tiny after rounding: a subnormal unless, rounded at full precision (one bit
            # further down: lsb low[-1], then low[:-1]), the top binade below 2**emin
            # carries to 2**emin.
            all_ones = self.sig[:mb].all()
            carry = all_ones & self.low[-1] & self._increment(
                self.low[-1], self.low[:-1], self.sticky)
            uf = (self.exp == 0) & ~carry & inexact
        else:  # flushed: below the smallest positive code
            flushed = underflow | (mag == 0)
            inexact = inexact | flushed
            uf = flushed
        value = ~(self.is_nan | self.is_inf | self.is_zero)
        m.d.comb += self.flags.eq(Mux(value, Cat(inexact | overflow, uf, overflow), 0))
