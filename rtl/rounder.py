"""Rounder: the one rounding circuit every unit ends in (mirror of ``sim.rounding.round_raw``).

The unit in front of it aligns its exact result to the output's precision; the Rounder
adds the rounding increment, handles overflow, underflow and specials, and packs the code.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal
from amaranth.hdl import Shape
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from fpforge.sim.formats import FloatFormat, parse
from fpforge.sim.rounding import check_rounding

__all__ = ["Rounder"]


class Rounder(wiring.Component):
    """Round an aligned significand to ``fmt`` and pack it (combinational).

    The caller aligns its exact result to the output's precision: ``sig`` holds the kept
    significand (hidden bit at ``sig[man_bits]``, clear only for a subnormal), ``round``
    the next lower bit and ``sticky`` the OR of all bits below that.  The value is then
    ``(-1)**sign * (sig + round/2 + sticky/4) * 2**(e - bias - man_bits)`` with
    ``e = max(exp, 1)`` in formats with subnormals and ``e = exp`` without (sticky/4
    standing for "some positive amount below half an ulp").

    Parameters
    ----------
    fmt : FloatFormat
        Output format.
    exp_range : (int, int)
        Range of ``exp`` the caller can produce (sizes the exponent logic).
    rounding : {"rne", "rtz", "rna", "rup", "rdn"}
    saturate : bool
        Overflow gives +-max instead of Inf/NaN (Inf/NaN inputs still give Inf/NaN).

    Ports
    -----
    sign, is_nan, is_inf, is_zero : In(1)
        Result sign and class; ``is_nan`` > ``is_inf`` > ``is_zero`` > the value.
    exp : In(signed)
        Exponent field of the unrounded result: 0 for a subnormal; without subnormals it
        may be 0 or negative (then the result flushes to zero).  Values above the
        format's range overflow.
    sig : In(precision)
    round, sticky : In(1)
    y : Out(fmt.width)
        The code; canonical NaN, signed zero (+0 only in ``fnuz``).
    """

    def __init__(self, fmt: FloatFormat, exp_range: tuple[int, int], rounding: str = "rne",
                 saturate: bool = False):
        self.fmt = parse(fmt)
        self.exp_range = exp_range
        self.rounding = check_rounding(rounding)
        self.saturate = bool(saturate)
        super().__init__({
            "sign": In(1), "is_nan": In(1), "is_inf": In(1), "is_zero": In(1),
            "exp": In(Shape.cast(range(exp_range[0], exp_range[1] + 1))),
            "sig": In(self.fmt.precision), "round": In(1), "sticky": In(1),
            "y": Out(self.fmt.width),
        })

    def _increment(self):
        sign, rnd, stk, lsb = self.sign, self.round, self.sticky, self.sig[0]
        return {"rne": rnd & (stk | lsb), "rna": rnd, "rtz": 0,
                "rup": (rnd | stk) & ~sign, "rdn": (rnd | stk) & sign}[self.rounding]

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
        packed = Signal(range(lo << mb, (hi + 1) << mb), name="packed")
        m.d.comb += packed.eq(Cat(self.sig[:mb], self.exp).as_signed())
        inc = Signal(name="inc")
        m.d.comb += inc.eq(self._increment())
        mag = Signal(range(lo << mb, ((hi + 1) << mb) + 1), name="mag")
        m.d.comb += mag.eq(packed + inc)

        overflow = (packed > f.max_code) | ((packed == f.max_code) & inc)
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
        return m
