"""The product-anchored fused multiply-add datapath (wide products: fp16 x fp16 + fp16...).

The exact product ``P = a.sig * b.sig`` sits at a fixed place of a (W + 1)-bit window.
The addend ``c`` is aligned against the product's exponent while the multiplier runs (a
right shift by ``r = H + eP - ec``, the lost bits jammed into bit 0), complemented when
the signs differ.  One carry-select adder (:func:`fpforge.rtl.adders.magnitude_add`)
gives ``T = P + (c or ~c)`` and ``T + s`` (``s``: subtracting) from shared blocks, so the
magnitude ``|P - c|`` is ``~T`` when ``T`` is negative, else ``T + s``, with no second
carry chain.  The sum is then normalised and rounded once
(:func:`fpforge.rtl.sum_tail.round_sum`).  Nothing on the way compares magnitudes or
normalises the product, which keeps the path short: the multiplier and the alignment
run side by side, then one adder, one normalisation, the Rounder.  The product is
Verilog's ``*``, which FPGA flows map to their multiplier blocks.

Window (bit 0 lowest)::

    bit W (carry) | W-1 ... T_P + 1 : headroom H | T_P ... L : product | L-1 ... 1 | 0 jam

- ``H`` bits above the product hold an addend that dominates it; beyond them
  (``r < 0``) the product only matters as a sticky bit, so it is replaced by a jam in
  bit 0 and ``c`` sits at the top (``r = 0``).  That needs ``H >= po + G``: the product
  is below ``2**(ec - H)`` and the result's lowest exact bit (``G`` below the ulp of a
  result at least ``2**(ec - 1)``) weighs ``2**(ec - po - G)``; plus the leading zeros a
  ``c`` subnormal in its own format but normal in the output's may have.
- ``L`` bits below the product keep the sum exact wherever bits of ``c`` are lost: then
  ``c`` lies at least two binades below the product's leading one, and the result's
  ``po + G`` bits lie above bit 0.  Subnormal operands give the product leading zeros,
  so ``L`` grows with them where the exponent ranges let ``c`` lose bits at all
  (:func:`window_plan`).

The specials and the zero sign come from the caller; this module only builds the
magnitude path.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import Cat, Const, Module, Mux, Signal

from fpforge.rtl.adders import magnitude_add
from fpforge.rtl.fields import leading_zeros, ranged, value_sig
from fpforge.rtl.sum_tail import cut_with_specials
from fpforge.sim.formats import FloatFormat

__all__ = ["WindowPlan", "window_plan", "anchored_sum", "anchored_fits"]


@dataclass(frozen=True)
class WindowPlan:
    """Sizes of the window (see the module docstring), from the formats alone."""

    low: int       # L: bits below the product, the jam bit included
    product: int   # wP = pa + pb
    headroom: int  # H
    #: eP = a.exp + b.exp + p_const: the output field of the product's bit wP - 1
    p_const: int
    #: ec = c.exp + c_const: the output field of c's bit pc - 1
    c_const: int
    #: the output field below which no result needs exact bits (its smallest normal)
    floor: int

    @property
    def top(self) -> int:
        """T_P, the window position of the product's msb."""
        return self.low + self.product - 1

    @property
    def width(self) -> int:
        """W: window bits below the carry bit."""
        return self.top + 1 + self.headroom


def anchored_fits(a_fmt: FloatFormat, b_fmt: FloatFormat, c_fmt: FloatFormat,
                  out: FloatFormat) -> bool:
    """Whether the anchored datapath is the smaller one (measured over the presets): the
    product is about twice as wide as the addend and the result (within two bits; the
    window spans both), and both operand formats have subnormals.  A narrower product
    is better brought onto the addend's scale (:func:`fpforge.rtl.add.order_terms`; fp8
    x fp8 + bf16: 5,406 T against 7,604), and so is the product of two formats without
    subnormals, which has at most one leading zero (dlfloat16: 13,386 against 14,346)."""
    wp = a_fmt.precision + b_fmt.precision
    return (wp >= 2 * max(c_fmt.precision, out.precision) - 2 and a_fmt.subnormals
            and b_fmt.subnormals)


def window_plan(a_fmt: FloatFormat, b_fmt: FloatFormat, c_fmt: FloatFormat,
                out: FloatFormat, guard: int) -> WindowPlan:
    """``L`` and ``H`` for these formats and ``guard`` bits below the output's ulp."""
    wp, pc, po = a_fmt.precision + b_fmt.precision, c_fmt.precision, out.precision
    p_const = out.bias - a_fmt.bias - b_fmt.bias + 1
    c_const = out.bias - c_fmt.bias
    floor = out.field_range[0]
    # Leading zeros of a nonzero c: only a subnormal of c's format that is not also on
    # the output's lowest binade counts (there the result's ulp is the floor's anyway).
    c_low = c_fmt.field_range[0] + c_const
    c_lz = 0 if not c_fmt.subnormals or (out.subnormals and c_low == floor) else pc - 1
    headroom = po + guard + c_lz

    # Per class of operands (normal or subnormal each): the most leading zeros of the
    # product and its largest msb field.
    def classes(f: FloatFormat):
        normal = (0, f.field_range[1])
        return [normal, (f.precision - 1, 1)] if f.subnormals else [normal]
    cases = [(lz_a + lz_b + 1, ea + eb + p_const)
             for lz_a, ea in classes(a_fmt) for lz_b, eb in classes(b_fmt)]
    low = 1
    while True:
        # c (nonzero, msb field >= c_low) loses bits when its lsb falls below window bit 1:
        # ec < eP - (L + wP - pc - 1)
        need = [max(po + guard + 2 - wp + lz, pc - wp + 2 + lz) for lz, ep in cases
                if c_low < ep - (low + wp - pc - 1)]
        if all(low >= n for n in need):
            break
        low += 1
    return WindowPlan(low, wp, headroom, p_const, c_const, floor)


def anchored_sum(m: Module, pipe, a, b, c, a_fmt: FloatFormat, b_fmt: FloatFormat,
                 c_fmt: FloatFormat, out: FloatFormat, guard: int, specials: dict):
    """|a * b + c| as ``(total, top, top_range, sign, specials)`` for
    :func:`fpforge.rtl.sum_tail.round_sum`, from unpacked operands; ``specials`` (see
    :func:`fpforge.rtl.add.add_terms`) travels through the "align" cut (after the
    aligned rows) and the "sum" cut (after the adder) of ``pipe``."""
    plan = window_plan(a_fmt, b_fmt, c_fmt, out, guard)
    wp, low, top, width, head = plan.product, plan.low, plan.top, plan.width, plan.headroom

    p_sign = a.sign ^ b.sign
    p_zero = a.is_zero | b.is_zero
    subtract = p_sign ^ c.sign
    c_sig = value_sig(c, c_fmt)

    # Exponents: eP of the product's msb, ec of c's (a zero c counts at the floor).
    ea_lo, ea_hi = a_fmt.field_range[0], a_fmt.field_range[1]
    eb_lo, eb_hi = b_fmt.field_range[0], b_fmt.field_range[1]
    ep_lo, ep_hi = ea_lo + eb_lo + plan.p_const, ea_hi + eb_hi + plan.p_const
    e_p = ranged(m, a.exp + b.exp + plan.p_const, ep_lo, ep_hi, "p_exp")
    ec_lo = min(c_fmt.field_range[0] + plan.c_const, plan.floor)
    ec_hi = c_fmt.field_range[1] + plan.c_const
    e_c = ranged(m, Mux(c.is_zero, plan.floor, c.exp + plan.c_const), ec_lo, ec_hi, "c_exp")
    # r = H + eP - ec: c's shift right from the window's top
    r = ranged(m, head + e_p - e_c, head + ep_lo - ec_hi, head + ep_hi - ec_lo, "c_shift")
    # the product only as a sticky: c dominates (r < 0), or the product is zero
    p_jam_mode = Signal(name="p_jam_mode")
    m.d.comb += p_jam_mode.eq(p_zero | (r < 0))
    bits = width.bit_length()
    r_max = head + ep_hi - ec_lo
    amount = r
    if r_max >= 1 << bits:  # saturate: shifts of W or more lose everything
        amount = Mux(r >= (1 << bits), (1 << bits) - 1, amount)
    amount = Mux(p_jam_mode, 0, amount)
    amount = ranged(m, amount, 0, min(max(r_max, 0), (1 << bits) - 1), "c_amount")
    c_window = Cat(Const(0, width - len(c_sig)), c_sig)
    c_aligned = Signal(width, name="c_aligned")
    m.d.comb += c_aligned.eq(c_window >> amount)
    # c's bit k lands at window bit W - pc + k - amount: bits at 0 or below are lost, and
    # some nonzero one is iff c's trailing zeros are at most amount - (W - pc)
    c_tz = leading_zeros(m, c_sig[::-1], "c_tz")
    c_lost = Signal(name="c_lost")
    m.d.comb += c_lost.eq((c_tz + (width - len(c_sig)) <= amount) & (c_sig != 0))
    p_jam = p_jam_mode & ~p_zero

    # Two rows: the product (zero in jam mode, which sets bit 0 instead) and c,
    # complemented to subtract.
    a_sig, b_sig = value_sig(a, a_fmt), value_sig(b, b_fmt)
    product = Signal(wp, name="p_product")
    m.d.comb += product.eq(a_sig * b_sig)
    x = Signal(width + 1, name="p_row")
    m.d.comb += x.eq(Cat(p_jam, Const(0, low - 1), product & (~p_jam_mode).replicate(wp)))
    y = Signal(width + 1, name="c_row")
    m.d.comb += y.eq(Cat(c_lost, c_aligned[1:], Const(0, 1)) ^ subtract.replicate(width + 1))
    x, y, subtract, p_jam_mode, e_p, e_c, p_sign, c_sign, specials = cut_with_specials(
        pipe, "align", x, y, subtract, p_jam_mode, e_p, e_c, p_sign, c.sign, specials)
    total, negative = magnitude_add(m, x, y, subtract, "sum_abs")
    sign = Mux(negative, c_sign, p_sign)
    # the window's carry bit has field base + W; base from the product, or from c at the
    # top when the product is only a sticky
    top_field = Mux(p_jam_mode, e_c + 1, e_p + (width - top))
    t_lo = min(ep_lo + width - top, ec_lo + 1)
    t_hi = max(ep_hi + width - top, ec_hi + 1)
    top_field = ranged(m, top_field, t_lo, t_hi, "top_field")
    total, top_field, sign, specials = cut_with_specials(pipe, "sum", total, top_field, sign,
                                                          specials)
    return total, top_field, (t_lo, t_hi), sign, specials
