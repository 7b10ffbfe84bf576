"""FPMultiplier: y = round(a * b), mirror of ``fpforge.sim.arith.mul``.

Structure (as the golden model): unpack both operands -> exact significand product and
exponent sum -> leading-zero count of the product -> one right shift that both normalises
and, below the smallest normal, denormalises to the output's precision while collecting
sticky -> Rounder.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal

from fpforge.rtl.fields import leading_zeros, ranged, shift_right_sticky, unpack
from fpforge.rtl.rounder import Rounder, feed_rand, guard_bits
from fpforge.rtl.unit import ArithUnit

__all__ = ["FPMultiplier"]


class FPMultiplier(ArithUnit):
    """Floating-point multiplier with mixed operand/result formats.

    Parameters
    ----------
    a_fmt, b_fmt, out_fmt : FloatFormat or str
        Operand and result formats (any :func:`fpforge.sim.formats.parse` string).
    rounding : {"rne", "rtz", "rna", "rup", "rdn", "sr"}
        Rounding of the exact product (rounded once).
    saturate : bool
        Overflow gives +-max instead of Inf/NaN.
    pipeline : int
        Pipeline registers; 0 is combinational.  N >= 1 adds ``clk``, ``rst``
        (synchronous, active high), ``in_valid`` and ``out_valid``: latency N cycles, one
        input accepted every cycle.  Registers go, in this order, at the output, after the
        significand product, after the alignment shift and at the inputs; stages beyond
        four are extra output registers.
    flags : bool
        Add the ``flags`` output (NX, UF, OF, DZ, NV as RISC-V fflags bits 0..4).
    rand_bits, seed, rand_source : int, int, {"prng", "port"}
        ``sr`` only: R random bits per rounding, from an own xorshift32 PRNG seeded
        ``seed`` that steps once per valid input (needs ``pipeline >= 1``), or from the
        ``rand`` input port, presented with the operands.

    Ports
    -----
    a : In(a_fmt.width), b : In(b_fmt.width)
        Operand codes.
    y : Out(out_fmt.width)
        round(a * b); with pipeline N, for the operands presented N cycles earlier.
    in_valid : In(1), out_valid : Out(1)
        Only with ``pipeline >= 1``: out_valid is in_valid delayed by N cycles.
    rand : In(rand_bits)
        Only for ``sr`` with ``rand_source="port"``.
    flags : Out(5)
        Only with ``flags``, aligned with ``y``.
    """

    #: cut points, most useful first
    CUTS = ["output", "product", "align", "input"]

    def __init__(self, a_fmt, b_fmt, out_fmt, rounding: str = "rne", saturate: bool = False,
                 pipeline: int = 0, *, flags: bool = False, rand_bits: int = 16, seed: int = 1,
                 rand_source: str = "prng"):
        super().__init__({"a": a_fmt, "b": b_fmt}, out_fmt, rounding, saturate, pipeline, flags,
                         rand_bits, seed, rand_source)

    def _plan(self) -> dict:
        """Alignment constants, from the formats.

        With ``lz`` the leading zeros of the ``width``-bit product and ``esum`` the sum of
        the effective exponent fields, the result's exponent field if normal is
        ``esum - lz + field_const``, and the bits to drop below its ulp are
        ``t1 = t1_base - lz``.  Below the smallest normal the drop is instead
        ``t2 = t2_base - esum`` (exponent field 0).

        The count saturates at ``lz_sat``: a product with that many leading zeros is
        subnormal whatever its exponents (checked case by case below), so only the top
        ``lz_sat`` bits need counting.  ``pad`` zero bits below the product keep every
        drop non-negative (products narrower than the output); ``guard`` bits below those
        receive the Rounder's ``low`` bits.
        """
        fa, fb, fo = self.a_fmt, self.b_fmt, self.out_fmt
        width = fa.precision + fb.precision
        lsb_const = -fa.bias - fb.bias - fa.man_bits - fb.man_bits  # product LSB: esum + this
        t1_base = width - 1 - fo.man_bits
        t2_base = fo.emin - fo.man_bits - lsb_const
        field_const = lsb_const + t1_base + fo.man_bits + fo.bias

        def classes(f):  # (msb of the significand, largest exponent field) per operand class
            normal = (f.man_bits, f.field_range[1])
            return [normal, (0, 1)] if f.subnormals else [normal]

        # (largest leading-zero count, largest esum) for each pair of operand classes
        cases = [(width - 1 - msb_a - msb_b, ea + eb)
                 for msb_a, ea in classes(fa) for msb_b, eb in classes(fb)]
        lz_max = max(lz for lz, _ in cases)
        if fo.subnormals:  # smallest S such that lz >= S only happens for subnormal results
            lz_sat = next(s for s in range(1, lz_max + 2)
                          if all(lz < s or e + field_const - 1 < s for lz, e in cases))
            normal_lz_max = lz_sat - 1
        else:
            lz_sat = normal_lz_max = lz_max
        esum = (fa.field_range[0] + fb.field_range[0], max(e for _, e in cases))
        pad = max(0, normal_lz_max - t1_base)
        drop_hi = max(t1_base, t2_base - esum[0] if fo.subnormals else t1_base) + pad
        g = guard_bits(fo, self.rounding, self.rand_bits, self.flags_out)
        drop_max = min(drop_hi, width + pad + g)  # beyond: everything is sticky
        return {"width": width, "pad": pad, "guard": g, "lz_sat": lz_sat, "esum": esum,
                "t1_base": t1_base + pad, "t2_base": t2_base + pad, "drop_max": drop_max,
                "drop_clamp": drop_hi > drop_max, "field_const": field_const}

    def elaborate(self, platform):
        m = Module()
        fa, fb, fo = self.a_fmt, self.b_fmt, self.out_fmt
        plan = self._plan()
        pipe = self.make_pipeline(m)

        a_code, b_code, rand = pipe.cut("input", self.a, self.b, self.rand_input())
        a, b = unpack(m, a_code, fa, "a"), unpack(m, b_code, fb, "b")

        # Exact significand product and exponent sum; specials.
        product = Signal(plan["width"], name="product")
        m.d.comb += product.eq(a.sig * b.sig)
        esum = ranged(m, a.exp + b.exp, *plan["esum"], "esum")
        sign = a.sign ^ b.sign
        is_nan = a.is_nan | b.is_nan | (a.is_inf & b.is_zero) | (a.is_zero & b.is_inf)
        is_inf = a.is_inf | b.is_inf
        is_zero = a.is_zero | b.is_zero
        nv = (a.is_inf & b.is_zero) | (a.is_zero & b.is_inf) | a.is_snan | b.is_snan
        product, esum, sign, is_nan, is_inf, is_zero, nv, rand = pipe.cut(
            "product", product, esum, sign, is_nan, is_inf, is_zero, nv, rand)

        # Normalise: leading zeros of the product (only the top bit can be clear when no
        # operand is subnormal).
        if plan["lz_sat"] > 1:
            lz = leading_zeros(m, product[-plan["lz_sat"]:], "lz")
        else:
            lz = ~product[-1]
        pad, dmax = plan["pad"], plan["drop_max"]
        fc = plan["field_const"]
        e_lo, e_hi = plan["esum"]
        field = ranged(m, esum - lz + fc, e_lo - plan["lz_sat"] + fc, e_hi + fc, "field")
        drop_expr = plan["t1_base"] - lz
        if fo.subnormals:
            # Subnormal iff the normal field would be < 1, i.e. lz > esum + fc - 1: the
            # right side, like the subnormal drop t2, comes from esum alone, off the lz path.
            limit = ranged(m, esum + (fc - 1), e_lo + fc - 1, e_hi + fc - 1, "sub_limit")
            subnormal = lz > limit
            t2 = ranged(m, plan["t2_base"] - esum, plan["t2_base"] - e_hi,
                        plan["t2_base"] - e_lo, "t2")
            if plan["drop_clamp"]:  # t2 > 0 where used: saturate to all ones
                bits = dmax.bit_length()
                t2 = t2[:bits] | t2[bits:].any().replicate(bits)
            drop_expr = Mux(subnormal, t2, drop_expr)
            field = Mux(subnormal, 0, field)
        drop = ranged(m, drop_expr, 0, (1 << dmax.bit_length()) - 1, "drop")
        g = plan["guard"]
        shifted, sticky = shift_right_sticky(
            m, Cat(Const(0, g + pad), product), drop, dmax, "align")
        need = fo.precision + g  # kept significand + guard bits
        if len(shifted) < need:
            shifted = Cat(shifted, Const(0, need - len(shifted)))
        shifted = shifted[:need]
        field_range = (0 if fo.subnormals else e_lo - plan["lz_sat"] + fc, max(0, e_hi + fc))
        sig, low = shifted[g:], shifted[:g]
        sig, low, sticky, field, sign, is_nan, is_inf, is_zero, nv, rand = pipe.cut(
            "align", sig, low, sticky, ranged(m, field, *field_range, "exp"), sign, is_nan,
            is_inf, is_zero, nv, rand)

        m.submodules.rounder = rounder = Rounder(fo, field_range, self.rounding, self.saturate,
                                                 self.rand_bits, self.flags_out)
        m.d.comb += [rounder.sign.eq(sign), rounder.is_nan.eq(is_nan),
                     rounder.is_inf.eq(is_inf), rounder.is_zero.eq(is_zero),
                     rounder.exp.eq(field), rounder.sig.eq(sig), rounder.low.eq(low),
                     rounder.sticky.eq(sticky)]
        feed_rand(m, rounder, rand, self.prng_seed(), pipe.valid)
        outputs = [rounder.y] + ([rounder.flags | (nv << 4)] if self.flags_out else [])
        outputs = pipe.cut("output", *outputs)
        self.drive_outputs(m, pipe, outputs[0], outputs[1] if self.flags_out else None)
        return m
