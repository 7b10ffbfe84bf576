"""FPMAC: y = round(a * b + c), mirror of ``fpforge.sim.arith.fma``.

Fused (one rounding), one of two datapaths chosen from the formats
(:func:`fpforge.rtl.fma.anchored_fits`):

- a product at least as wide as the addend and the result (fp16 x fp16 + fp16): the
  product-anchored window of ``rtl.fma`` (carry-save product, ``c`` aligned against it
  while the multiplier runs, one adder);
- a narrower product (fp8 x fp8 into an fp16 or fp32 accumulator): the exact product
  becomes one addend of the adder's datapath (``rtl.add``: order, align with jammed
  sticky, add, normalise, Rounder), ``c`` the other.  Where the result format has
  subnormals and ``c`` lies on its scale (as an accumulator's does), the product is
  brought onto that scale once, before the add (normalised, or shifted right onto the
  lowest binade), so ``c`` is never normalised and the sum never denormalised: the cost
  follows the accumulator.  The PE's ``fold`` port uses this datapath.

Unfused: an :class:`FPMultiplier` rounding to ``prod_fmt`` feeding an :class:`FPAdder`.
"""

from __future__ import annotations

from fractions import Fraction

from amaranth import Module, Mux, Signal

from fpforge.rtl.add import (Addend, FPAdder, add_terms, operand_addend, order_terms,
                             select_term, sum_specials)
from fpforge.rtl.fma import anchored_fits, anchored_sum
from fpforge.rtl.fields import normalise, unpack
from fpforge.rtl.mul import FPMultiplier
from fpforge.rtl.sum_tail import round_sum
from fpforge.rtl.rounder import guard_bits
from fpforge.rtl.unit import ArithUnit
from fpforge.sim.formats import FloatFormat, parse
from fpforge.spec.checks import check_mac_product

__all__ = ["FPMAC", "product_addend", "lowest_result_field", "NORMALISED_OPERANDS_UP_TO"]


class FPMAC(ArithUnit):
    """Multiply-add with mixed formats: y = round(a * b + c).

    Parameters
    ----------
    a_fmt, b_fmt, c_fmt, out_fmt : FloatFormat or str
    fused : bool
        True: the exact a * b + c is rounded once.  False: a * b is first rounded to
        ``prod_fmt`` (same mode), then the sum is rounded to ``out_fmt``.
    prod_fmt : FloatFormat or str or None
        Only with ``fused=False``.
    rounding : {"rne", "rtz", "rna", "rup", "rdn", "sr"}
        ``sr`` only fused (one draw per operation).  Exact zero: -0 when a*b and c are
        both negative (``rdn``: either), else +0.
    saturate : bool
        Overflow gives +-max instead of Inf/NaN.
    pipeline : int
        Pipeline registers (latency N cycles, one input per cycle); cuts at the output,
        after the add, after the alignment and at the inputs.  Unfused: in the adder.
    flags, rand_bits, seed, rand_source
        As for :class:`fpforge.rtl.add.FPAdder`.
    fold : bool
        Fused only: add the ports ``fold`` and ``z`` (a ``c_fmt`` operand); while ``fold``
        is high, y = round(z + c) through the same datapath, ``z`` taking the product's
        place after it is brought onto the output's scale (a PE folds its chunk sums so).

    Ports
    -----
    a, b, c : In(width of their format)
    fold : In(1), z : In(c_fmt.width)
        Only with ``fold``.
    y : Out(out_fmt.width)
    in_valid, out_valid, rand, flags : as for :class:`fpforge.rtl.add.FPAdder`.
    """

    CUTS = FPAdder.CUTS

    def __init__(self, a_fmt, b_fmt, c_fmt, out_fmt, fused: bool = True, prod_fmt=None,
                 rounding: str = "rne", saturate: bool = False, pipeline: int = 0, *,
                 flags: bool = False, rand_bits: int = 16, seed: int = 1,
                 rand_source: str = "prng", fold: bool = False):
        self.fused, self.fold_port = bool(fused), bool(fold)
        if self.fold_port and not self.fused:
            raise ValueError("fold needs the fused MAC (the fold takes the product's place)")
        check_mac_product(self.fused, prod_fmt, rounding)
        self.prod_fmt = None if prod_fmt is None else parse(prod_fmt)
        operands = {"a": a_fmt, "b": b_fmt, "c": c_fmt} | ({"z": c_fmt} if fold else {})
        super().__init__(operands, out_fmt, rounding, saturate, pipeline, flags, rand_bits,
                         seed, rand_source, controls=("fold",) if fold else ())

    def elaborate(self, platform):
        return self._fused() if self.fused else self._unfused()

    def _unfused(self):
        m = Module()
        m.submodules.mul = mul = FPMultiplier(self.a_fmt, self.b_fmt, self.prod_fmt,
                                              self.rounding, self.saturate,
                                              flags=self.flags_out)
        m.submodules.add = add = FPAdder(self.prod_fmt, self.c_fmt, self.out_fmt,
                                         self.rounding, self.saturate, self.pipeline,
                                         flags=self.flags_out)
        m.d.comb += [mul.a.eq(self.a), mul.b.eq(self.b), add.a.eq(mul.y), add.b.eq(self.c),
                     self.y.eq(add.y)]
        if self.flags_out:  # the product's flags travel with it through the adder's cuts
            mul_flags = mul.flags
            for _ in range(self.pipeline):
                reg = Signal(5, reset_less=True)
                m.d.sync += reg.eq(mul_flags)
                mul_flags = reg
            m.d.comb += self.flags.eq(add.flags | mul_flags)
        if self.pipeline:
            m.d.comb += [add.in_valid.eq(self.in_valid), self.out_valid.eq(add.out_valid)]
        return m

    def _fused(self):
        m = Module()
        fa, fb, fc, fo = self.a_fmt, self.b_fmt, self.c_fmt, self.out_fmt
        pipe = self.make_pipeline(m)
        folding = (self.fold, self.z) if self.fold_port else ()
        a_code, b_code, c_code, rand, *folding = pipe.cut("input", self.a, self.b, self.c,
                                                          self.rand_input(), *folding)
        a, b = unpack(m, a_code, fa, "a"), unpack(m, b_code, fb, "b")
        c = unpack(m, c_code, fc, "c")
        specials = _fma_specials(a, b, c, self.rounding)
        g = guard_bits(fo, self.rounding, self.rand_bits, self.flags_out)
        rounding = (fo, self.rounding, self.saturate, self.rand_bits, self.flags_out)
        lowest = lowest_result_field(fa, fb, fc, fo, fold=self.fold_port)
        if not folding and anchored_fits(fa, fb, fc, fo):  # rtl.fma: product-anchored window
            total, top, top_range, sign, specials = anchored_sum(
                m, pipe, a, b, c, fa, fb, fc, fo, g, dict(specials, rand=rand))
            y, flags = round_sum(m, pipe, total, top, top_range, sign, specials, *rounding,
                                 self.prng_seed(), lowest_field=lowest)
        else:  # the product onto the addend's scale, then rtl.add's ordered sum
            addends = [product_addend(m, a, fa, b, fb, fo), operand_addend(c, fc, fo, "c")]
            if folding:
                z = unpack(m, folding[1], fc, "z")
                addends.append(operand_addend(z, fc, fo, "z"))
            p, pc, *pz = order_terms(m, addends, fo, g)
            if folding:  # z takes the product's place
                fold = folding[0]
                p = select_term(m, fold, pz[0], p, "zp")
                specials = {k: Mux(fold, v, specials[k])
                            for k, v in sum_specials(z, c, self.rounding).items()}
            y, flags = add_terms(m, pipe, p, pc, *rounding, dict(specials, rand=rand),
                                 self.prng_seed(), lowest_field=lowest)
        self.drive_outputs(m, pipe, y, flags)
        return m


def _fma_specials(a, b, c, rounding: str) -> dict:
    """The specials of a * b + c (unpacked operands) for :func:`add_terms`, without
    ``rand``: NaN in, 0 * Inf, Inf - Inf; Inf and its sign; NV; the sign of an exact zero."""
    p_sign = a.sign ^ b.sign
    zero_inf = (a.is_inf & b.is_zero) | (a.is_zero & b.is_inf)
    p_inf = (a.is_inf | b.is_inf) & ~zero_inf
    inf_minus_inf = p_inf & c.is_inf & (p_sign ^ c.sign) & ~(a.is_nan | b.is_nan)
    is_nan = a.is_nan | b.is_nan | c.is_nan | zero_inf | inf_minus_inf
    nv = zero_inf | inf_minus_inf | a.is_snan | b.is_snan | c.is_snan
    zero_sign = (p_sign | c.sign) if rounding == "rdn" else (p_sign & c.sign)
    return dict(is_nan=is_nan, is_inf=p_inf | c.is_inf, inf_sign=Mux(p_inf, p_sign, c.sign),
                nv=nv, zero_sign=zero_sign)


def _field_of(value: Fraction, fmt: FloatFormat) -> int:
    """The exponent field of ``fmt`` whose binade holds the positive ``value``."""
    log2 = value.numerator.bit_length() - value.denominator.bit_length()
    if Fraction(2) ** log2 > value:
        log2 -= 1
    return log2 + fmt.bias


def lowest_result_field(a_fmt: FloatFormat, b_fmt: FloatFormat, c_fmt: FloatFormat,
                        out: FloatFormat, fold: bool = False) -> int:
    """The lowest exponent field of ``out`` a nonzero exact ``a * b + c`` can reach.  It
    is at least the least of: half the smallest nonzero product (``c`` below half of it);
    the smallest ``c`` (a zero product); and where ``c`` and the product lie within a
    binade of each other, the finer of their steps there (the product's, the product of
    the operands' lowest-binade steps; ``c``'s at half the smallest product).  For fp8 x
    fp8 + dlfloat16 that is dlfloat16's smallest normal: the sum cannot underflow.  With
    ``fold``, also a fold's ``z + c`` of two ``c_fmt`` values: at least ``c``'s step."""
    def step(f: FloatFormat) -> Fraction:
        return Fraction(2) ** (f.emin - f.man_bits)
    half = a_fmt.min_positive * b_fmt.min_positive / 2
    c_step = max(step(c_fmt), Fraction(2) ** (_field_of(half, c_fmt) - c_fmt.bias
                                               - c_fmt.man_bits))
    lowest = min(half, c_fmt.min_positive, step(a_fmt) * step(b_fmt), c_step)
    return _field_of(min(lowest, step(c_fmt)) if fold else lowest, out)


#: Widest significand product (bits) whose operands are normalised before the multiply
#: (on the ordered-sum datapath): two 4-bit normalisers are smaller than one 8-bit one
#: after it (fp8_e4m3^2 + fp16: 6,100 T against 6,212; + dlfloat16: 5,006 against 5,606),
#: two 11-bit ones larger than one 22-bit one (fp16^2 + fp32: 19,574 against 17,846)
NORMALISED_OPERANDS_UP_TO = 8


def product_addend(m: Module, a, a_fmt: FloatFormat, b, b_fmt: FloatFormat,
                   out: FloatFormat, name: str = "p") -> Addend:
    """The exact product of two unpacked operands as an :class:`Addend` (msb weight
    2**(ea + eb - bias_a - bias_b + 1) on ``out``'s field scale).  Products of at most
    :data:`NORMALISED_OPERANDS_UP_TO` bits come from normalised operands
    (:func:`~fpforge.rtl.fields.normalise`), so a nonzero one has at most one leading zero;
    wider ones are normalised after the multiply."""
    normalised = a_fmt.precision + b_fmt.precision <= NORMALISED_OPERANDS_UP_TO
    if normalised:
        a, b = normalise(m, a, a_fmt, f"{name}_a"), normalise(m, b, b_fmt, f"{name}_b")
    is_zero = a.is_zero | b.is_zero
    product = Signal(a_fmt.precision + b_fmt.precision, name=f"{name}_product")
    if a_fmt.subnormals and b_fmt.subnormals:
        m.d.comb += product.eq(a.sig * b.sig)
    else:  # an ns zero code reads as 1.0
        m.d.comb += product.eq(Mux(is_zero, 0, a.sig * b.sig))
    const = out.bias - a_fmt.bias - b_fmt.bias + 1
    lowest = [f.field_range[0] - (f.man_bits if normalised and f.subnormals else 0)
              for f in (a_fmt, b_fmt)]
    return Addend(name, a.sign ^ b.sign, a.exp + b.exp + const, product, is_zero,
                  (sum(lowest) + const, a_fmt.exp_field_max + b_fmt.exp_field_max + const),
                  "any", max_lz=1 if normalised else None)
