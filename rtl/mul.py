"""FPMultiplier: y = round(a * b), mirror of ``fpforge.sim.arith.mul``.

Structure: unpack both operands -> exact significand product and exponent sum (leading
zeros of subnormal significands counted in parallel) -> one right shift that both
normalises and denormalises to the output's precision, collecting sticky -> Rounder.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from fpforge.rtl.fields import Pipeline, check_pipeline, leading_zeros, ranged, shift_right_sticky, unpack
from fpforge.rtl.rounder import Rounder
from fpforge.sim.arith import check_result_format
from fpforge.sim.formats import parse
from fpforge.sim.rounding import check_rounding

__all__ = ["FPMultiplier"]


class FPMultiplier(wiring.Component):
    """Floating-point multiplier with mixed operand/result formats.

    Parameters
    ----------
    a_fmt, b_fmt, out_fmt : FloatFormat or str
        Operand and result formats (any :func:`fpforge.sim.formats.parse` string).
    rounding : {"rne", "rtz", "rna", "rup", "rdn"}
        Rounding of the exact product (rounded once).
    saturate : bool
        Overflow gives +-max instead of Inf/NaN.
    pipeline : int
        Pipeline registers; 0 is combinational.  N >= 1 adds ``clk``, ``rst``
        (synchronous, active high), ``in_valid`` and ``out_valid``: latency N cycles, one
        input accepted every cycle.

    Ports
    -----
    a : In(a_fmt.width), b : In(b_fmt.width)
        Operand codes.
    y : Out(out_fmt.width)
        round(a * b); with pipeline N, the product of the inputs presented N cycles
        earlier.
    in_valid : In(1), out_valid : Out(1)
        Only with ``pipeline >= 1``: out_valid is in_valid delayed by N cycles.
    """

    #: cut points, most useful first; extra stages become output registers
    CUTS = ["output", "product", "align", "input"]

    def __init__(self, a_fmt, b_fmt, out_fmt, rounding: str = "rne", saturate: bool = False,
                 pipeline: int = 0):
        self.a_fmt, self.b_fmt, self.out_fmt = parse(a_fmt), parse(b_fmt), parse(out_fmt)
        self.rounding = check_rounding(rounding)
        self.saturate = bool(saturate)
        self.pipeline = check_pipeline(pipeline)
        check_result_format(self.out_fmt, self.a_fmt, self.b_fmt)
        ports = {"a": In(self.a_fmt.width), "b": In(self.b_fmt.width),
                 "y": Out(self.out_fmt.width)}
        if pipeline:
            ports.update(in_valid=In(1), out_valid=Out(1))
        super().__init__(ports)

    @property
    def latency(self) -> int:
        return self.pipeline

    # ---- alignment plan (pure Python, from the formats) --------------------------------
    def _plan(self):
        """Constants of the alignment: product width, right padding, shift range."""
        fa, fb, fo = self.a_fmt, self.b_fmt, self.out_fmt
        width = fa.precision + fb.precision
        # exponent of the product's LSB = exp_a + exp_b + lsb_const (effective fields)
        lsb_const = -fa.bias - fb.bias - fa.man_bits - fb.man_bits
        # drop (bits below the result ulp) = max(t1, t2) with
        #   t1 = width - 2 - lz - man_out          (msb assumed in the lower binade)
        #   t2 = emin_out - man_out - lsb_const - (exp_a + exp_b)   (subnormal clamp)
        t1_base = width - 2 - fo.man_bits
        t2_base = fo.emin - fo.man_bits - lsb_const
        cases = []
        for sub_a in ([False, True] if fa.subnormals else [False]):
            for sub_b in ([False, True] if fb.subnormals else [False]):
                ea = (1, 1) if sub_a else (1 if fa.subnormals else 0, fa.max_code >> fa.man_bits)
                eb = (1, 1) if sub_b else (1 if fb.subnormals else 0, fb.max_code >> fb.man_bits)
                lz = (fa.precision - 1 if sub_a else 0) + (fb.precision - 1 if sub_b else 0)
                t1 = (t1_base - lz, t1_base)
                t2 = (t2_base - ea[1] - eb[1], t2_base - ea[0] - eb[0])
                if not fo.subnormals:
                    t2 = (t1[0], t1[0])  # no clamp: drop = t1
                cases.append((max(t1[0], t2[0]), max(t1[1], t2[1])))
        pad = max(0, -min(c[0] for c in cases))
        natural_max = max(c[1] for c in cases) + pad
        drop_max = min(natural_max, width + pad + 1)  # beyond: everything is sticky
        return {"width": width, "lsb_const": lsb_const, "pad": pad,
                "t1_base": t1_base + pad, "t2_base": t2_base + pad,
                "drop_max": drop_max, "drop_clamp": natural_max > drop_max}

    def elaborate(self, platform):
        m = Module()
        fa, fb, fo = self.a_fmt, self.b_fmt, self.out_fmt
        plan = self._plan()
        pipe = Pipeline(m, self.pipeline, self.CUTS, self.in_valid if self.pipeline else None)

        a_code, b_code = pipe.cut("input", self.a, self.b)
        a, b = unpack(m, a_code, fa, "a"), unpack(m, b_code, fb, "b")

        # Exact significand product; leading zeros of subnormal significands in parallel.
        product = Signal(plan["width"], name="product")
        m.d.comb += product.eq(a.sig * b.sig)
        lz_a = leading_zeros(m, a.sig, "lz_a") if fa.subnormals else Const(0)
        lz_b = leading_zeros(m, b.sig, "lz_b") if fb.subnormals else Const(0)
        lz = ranged(m, lz_a + lz_b, 0, fa.precision + fb.precision, "lz")
        (ea_lo, ea_hi), (eb_lo, eb_hi) = a.exp_range, b.exp_range
        esum = ranged(m, a.exp + b.exp, ea_lo + eb_lo, ea_hi + eb_hi, "esum")
        sign = a.sign ^ b.sign
        is_nan = a.is_nan | b.is_nan | (a.is_inf & b.is_zero) | (a.is_zero & b.is_inf)
        is_inf = a.is_inf | b.is_inf
        is_zero = a.is_zero | b.is_zero
        product, lz, esum, sign, is_nan, is_inf, is_zero = pipe.cut(
            "product", product, lz, esum, sign, is_nan, is_inf, is_zero)

        # Result exponent field if the msb sits in the lower of its two possible binades,
        # and bits to drop below the result ulp: t1 normalises; below the smallest normal
        # the result is subnormal (field 1) and the drop t2 grows to match.
        pad, dmax = plan["pad"], plan["drop_max"]
        exp_const = plan["lsb_const"] - pad + fo.man_bits + fo.bias + plan["t1_base"]
        lz_max = (fa.precision - 1 if fa.subnormals else 0) + (fb.precision - 1 if fb.subnormals else 0)
        exp_range = (ea_lo + eb_lo - lz_max + exp_const, ea_hi + eb_hi + exp_const)
        exp = ranged(m, esum - lz + exp_const, *exp_range, "exp")
        drop_expr = plan["t1_base"] - lz
        if fo.subnormals:
            subnormal = exp < 1
            drop_expr = Mux(subnormal, plan["t2_base"] - esum, drop_expr)
            exp = Mux(subnormal, 1, exp)
            exp_range = (1, max(1, exp_range[1]))
        if plan["drop_clamp"]:
            drop_expr = Mux(drop_expr > dmax, dmax, drop_expr)
        drop = ranged(m, drop_expr, 0, dmax, "drop")
        shifted, sticky = shift_right_sticky(
            m, Cat(Const(0, 1 + pad), product), drop, dmax, "align")
        need = fo.precision + 2  # round bit, sig with one spare top bit
        if len(shifted) < need:
            shifted = Cat(shifted, Const(0, need - len(shifted)))
        sig, rnd = shifted[1:need], shifted[0]
        sig, rnd, sticky, exp, sign, is_nan, is_inf, is_zero = pipe.cut(
            "align", sig, rnd, sticky, exp, sign, is_nan, is_inf, is_zero)

        m.submodules.rounder = rounder = Rounder(fo, exp_range, self.rounding, self.saturate)
        m.d.comb += [rounder.sign.eq(sign), rounder.is_nan.eq(is_nan),
                     rounder.is_inf.eq(is_inf), rounder.is_zero.eq(is_zero),
                     rounder.exp.eq(exp), rounder.sig.eq(sig), rounder.round.eq(rnd),
                     rounder.sticky.eq(sticky)]
        y, = pipe.cut("output", rounder.y)
        m.d.comb += self.y.eq(y)
        if self.pipeline:
            m.d.comb += self.out_valid.eq(pipe.valid)
        return m
