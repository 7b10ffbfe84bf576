"""FPAdder: y = round(a + b), mirror of ``fpforge.sim.arith.add``.

Structure (as the golden model's ``_exact_sum``): unpack both operands onto one exponent
scale (the output's field) and one significand width -> order them by magnitude -> align
the smaller to the larger with a sticky shifter whose lost bits are jammed into the
lowest bit -> one add or subtract (never negative) -> leading-zero normalisation, held at
the output's smallest normal -> Rounder.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import Cat, Const, Module, Mux, Signal, Value

from fpforge.rtl.adders import carry_select_add
from fpforge.rtl.fields import (Pipeline, leading_zeros, ranged, shift_right_sticky, unpack,
                                value_sig)
from fpforge.rtl.sum_tail import cut_with_specials, round_sum
from fpforge.rtl.rounder import guard_bits
from fpforge.rtl.unit import ArithUnit
from fpforge.sim.formats import FloatFormat

__all__ = ["FPAdder", "Addend", "SumTerm", "operand_addend", "order_terms", "add_terms",
           "sum_specials", "select_term"]


@dataclass
class SumTerm:
    """An ordered addend for :func:`add_terms` (from :func:`order_terms`): value =
    (-1)**sign * (sig + eps) * 2**(exp - bias - (len(sig) - 1)), output field scale, with
    0 < eps < 1 when ``sticky`` else eps = 0; all terms share one significand width."""

    sign: object
    exp: object
    sig: object
    exp_range: tuple[int, int]
    #: some nonzero bits below ``sig``'s lsb were dropped (less than one lsb in all)
    sticky: object = 0


class FPAdder(ArithUnit):
    """Floating-point adder with mixed operand/result formats.

    Parameters
    ----------
    a_fmt, b_fmt, out_fmt : FloatFormat or str
        Operand and result formats.
    rounding : {"rne", "rtz", "rna", "rup", "rdn", "sr"}
        Rounding of the exact sum (rounded once).  An exact zero sum is +0, except
        (-0) + (-0) and every exact zero in ``rdn``: -0.
    saturate : bool
        Overflow gives +-max instead of Inf/NaN.
    pipeline : int
        Pipeline registers; 0 is combinational.  N >= 1 adds ``clk``, ``rst``,
        ``in_valid``, ``out_valid``: latency N, one input per cycle.  Registers go at the
        output, after the add, after the alignment and at the inputs, in that order.
    flags : bool
        Add the ``flags`` output (NX, UF, OF, DZ, NV as RISC-V fflags bits 0..4).
    rand_bits, seed, rand_source : int, int, {"prng", "port"}
        ``sr`` only, as for :class:`fpforge.rtl.mul.FPMultiplier`.

    Ports
    -----
    a : In(a_fmt.width), b : In(b_fmt.width)
    y : Out(out_fmt.width)
        round(a + b); with pipeline N, for the operands presented N cycles earlier.
    in_valid : In(1), out_valid : Out(1)
        Only with ``pipeline >= 1``.
    rand : In(rand_bits)
        Only for ``sr`` with ``rand_source="port"``.
    flags : Out(5)
        Only with ``flags``, aligned with ``y``.
    """

    CUTS = ["output", "sum", "align", "input"]

    def __init__(self, a_fmt, b_fmt, out_fmt, rounding: str = "rne", saturate: bool = False,
                 pipeline: int = 0, *, flags: bool = False, rand_bits: int = 16, seed: int = 1,
                 rand_source: str = "prng"):
        super().__init__({"a": a_fmt, "b": b_fmt}, out_fmt, rounding, saturate, pipeline, flags,
                         rand_bits, seed, rand_source)

    def elaborate(self, platform):
        m = Module()
        fa, fb, fo = self.a_fmt, self.b_fmt, self.out_fmt
        pipe = self.make_pipeline(m)
        a_code, b_code, rand = pipe.cut("input", self.a, self.b, self.rand_input())
        a, b = unpack(m, a_code, fa, "a"), unpack(m, b_code, fb, "b")
        ta, tb = order_terms(m, [operand_addend(a, fa, fo, "a"), operand_addend(b, fb, fo, "b")],
                             fo, guard_bits(fo, self.rounding, self.rand_bits, self.flags_out))

        specials = dict(sum_specials(a, b, self.rounding), rand=rand)
        y, flags = add_terms(m, pipe, ta, tb, fo, self.rounding, self.saturate,
                             self.rand_bits, self.flags_out, specials, self.prng_seed(),
                             fast=True)
        self.drive_outputs(m, pipe, y, flags)
        return m


def sum_specials(a, b, rounding: str) -> dict:
    """The specials of a + b (unpacked operands) for :func:`add_terms`, without ``rand``:
    NaN in, or Inf - Inf; Inf and its sign; NV; the sign of an exact zero sum."""
    inf_minus_inf = a.is_inf & b.is_inf & (a.sign ^ b.sign)
    return dict(is_nan=a.is_nan | b.is_nan | inf_minus_inf, is_inf=a.is_inf | b.is_inf,
                inf_sign=Mux(a.is_inf, a.sign, b.sign),
                nv=inf_minus_inf | a.is_snan | b.is_snan,
                zero_sign=(a.sign | b.sign) if rounding == "rdn" else (a.sign & b.sign))


@dataclass
class Addend:
    """An addend before ordering: value = (-1)**sign * sig * 2**(exp - bias - (len(sig) -
    1)) on the output's field scale, ``exp`` in ``exp_range``.  ``denormal`` says where its
    msb may be clear: "never", "lowest" (a subnormal: only at the lowest exponent) or
    "any" (a product of significands, with at most ``max_lz`` leading zeros)."""

    name: str
    sign: object
    exp: object
    sig: object
    is_zero: object
    exp_range: tuple[int, int]
    denormal: str
    #: at most this many leading zeros in a nonzero ``sig`` (None: any)
    max_lz: int | None = None


def operand_addend(u, fmt: FloatFormat, out: FloatFormat, name: str) -> Addend:
    """An unpacked operand as an :class:`Addend` on ``out``'s field scale."""
    return Addend(name, u.sign, u.exp + (out.bias - fmt.bias), value_sig(u, fmt), u.is_zero,
                  (fmt.field_range[0] - fmt.bias + out.bias,
                   fmt.exp_field_max - fmt.bias + out.bias),
                  "lowest" if fmt.subnormals else "never")


def order_terms(m: Module, addends: list[Addend], out: FloatFormat, guard: int) -> list[SumTerm]:
    """Addends as :class:`SumTerm` with significands padded to one width, placed so that
    ordering by (exponent, significand) orders by magnitude.  A zero takes the lowest
    exponent of all.

    When ``out`` has subnormals and every operand lies on or above its lowest binade, with
    its own subnormals (if any) in that binade, a product is brought onto ``out``'s scale
    once (:func:`_product_to_floor`: normalised down to the lowest binade, or shifted right
    onto it with its lost bits in ``sticky``); the sum then never needs denormalising.
    Otherwise a product is normalised, and so is a subnormal that another addend reaches
    below.  ``guard``: the bits below ``out``'s ulp the rounding needs exactly."""
    floor = out.field_range[0]
    on_floor = out.subnormals and sum(a.denormal == "any" for a in addends) <= 1 and all(
        a.denormal == "any" or (a.exp_range[0] >= floor
                                and (a.denormal != "lowest" or a.exp_range[0] == floor))
        for a in addends)
    width = max(len(a.sig) for a in addends)
    if on_floor:
        if any(a.denormal == "any" and a.exp_range[0] < floor for a in addends):
            width = max(width, out.precision + guard)  # exact down to the guard bits
        return [_product_to_floor(m, a, width, floor) if a.denormal == "any"
                else _operand_term(m, a, width, floor) for a in addends]

    norm = [a.denormal == "any" for a in addends]
    for _ in addends:  # a normalised addend reaches lower: repeat until stable
        reach = [a.exp_range[0] - (_most_zeros(a, width) if n else 0)
                 for a, n in zip(addends, norm)]
        norm = [a.denormal == "any" or (a.denormal == "lowest" and any(
                    r < a.exp_range[0] for j, r in enumerate(reach) if j != i))
                for i, a in enumerate(addends)]
    bottom = min(a.exp_range[0] - (_most_zeros(a, width) if n else 0)
                 for a, n in zip(addends, norm))
    terms = []
    for a, n in zip(addends, norm):
        if n:
            sig = Cat(Const(0, width - len(a.sig)), a.sig)
            lz = _leading_zeros(m, a, sig, f"{a.name}_lz")
            a = Addend(a.name, a.sign, a.exp - lz, (sig << lz)[:width], a.is_zero,
                       (a.exp_range[0] - _most_zeros(a, width), a.exp_range[1]), a.denormal)
        terms.append(_operand_term(m, a, width, bottom))
    return terms


def _most_zeros(a: Addend, width: int) -> int:
    """The most leading zeros :func:`_leading_zeros` counts for ``a`` padded to ``width``."""
    return width if a.max_lz is None else a.max_lz + 1


def _leading_zeros(m: Module, a: Addend, sig, name: str):
    """Leading zeros of the padded ``sig`` of ``a``, counted over its top ``max_lz + 1``
    bits when ``max_lz`` bounds them (a zero then counts ``max_lz + 1``)."""
    return leading_zeros(m, sig if a.max_lz is None else sig[-(a.max_lz + 1):], name)


def _operand_term(m: Module, a: Addend, width: int, bottom: int) -> SumTerm:
    """An addend already placed for ordering, padded to ``width``; a zero takes exponent
    ``bottom``."""
    sig, exp, (lo, hi) = Cat(Const(0, width - len(a.sig)), a.sig), a.exp, a.exp_range
    if lo > bottom or a.denormal == "any":  # a zero must order below every other value
        exp = Mux(a.is_zero, bottom, exp)
    return SumTerm(a.sign, ranged(m, exp, bottom, hi, f"{a.name}_exp"),
                   ranged(m, sig, 0, (1 << width) - 1, f"{a.name}_sig"), (bottom, hi))


def _product_to_floor(m: Module, a: Addend, width: int, floor: int) -> SumTerm:
    """A product on the output's scale: at exponent ``floor`` or above, normalised left by
    its leading zeros but never below ``floor`` (a subnormal there); below ``floor``,
    shifted right onto it, every lost bit in ``sticky``.  Both shifts read the unnormalised
    product, side by side."""
    lo, hi = a.exp_range
    sig = Cat(Const(0, width - len(a.sig)), a.sig)
    room = ranged(m, a.exp - floor, lo - floor, hi - floor, f"{a.name}_room")
    below = (room < 0) if lo < floor else Const(0)
    norm, left, sticky = sig, 0, 0
    if hi > floor:  # normalise, saturating at the floor
        lz = _leading_zeros(m, a, sig, f"{a.name}_lz")
        if lo - _most_zeros(a, len(a.sig)) >= floor:  # never reaches the floor: plain
            left = lz
        else:
            left = ranged(m, Mux(below, 0, Mux(lz > room, room, lz)), 0,
                          min(_most_zeros(a, width), hi - floor), f"{a.name}_left")
        norm = (sig << left)[:width]
    if lo < floor:  # denormalise onto the floor
        right = ranged(m, Mux(below, -room, 0), 0, floor - lo, f"{a.name}_right")
        low, lost = shift_right_sticky(m, sig, right, floor - lo, f"{a.name}_denorm")
        norm = Mux(below, low, norm)
        sticky = ranged(m, lost, 0, 1, f"{a.name}_sticky")
    exp = Mux(a.is_zero | below, floor, a.exp - left)
    return SumTerm(a.sign, ranged(m, exp, floor, hi, f"{a.name}_exp"),
                   ranged(m, norm, 0, (1 << width) - 1, f"{a.name}_sig"), (floor, hi), sticky)


def select_term(m: Module, sel, x: SumTerm, y: SumTerm, name: str) -> SumTerm:
    """``x`` when ``sel`` else ``y`` (terms of one significand width); only ``y`` may
    carry a sticky."""
    assert len(x.sig) == len(y.sig) and not isinstance(x.sticky, Value)
    lo, hi = min(x.exp_range[0], y.exp_range[0]), max(x.exp_range[1], y.exp_range[1])
    return SumTerm(Mux(sel, x.sign, y.sign), ranged(m, Mux(sel, x.exp, y.exp), lo, hi,
                                                    f"{name}_exp"),
                   ranged(m, Mux(sel, x.sig, y.sig), 0, (1 << len(x.sig)) - 1, f"{name}_sig"),
                   (lo, hi), y.sticky & ~sel if isinstance(y.sticky, Value) else y.sticky)


def add_terms(m: Module, pipe: Pipeline, x: SumTerm, y: SumTerm, out: FloatFormat,
              rounding: str, saturate: bool, rand_bits: int, flags: bool, specials: dict,
              seed: int | None, fast: bool = False, lowest_field: int | None = None):
    """Round x + y to ``out``: order, align, add, normalise, Rounder.  Both terms carry
    significands of one width W (msb = 2**exp, output field scale).  ``specials`` holds
    is_nan, is_inf, inf_sign, nv, zero_sign (sign of an exact zero) and rand (the ``sr``
    draw presented with the operands, used when ``seed`` is None; else an own PRNG).
    Only ``x`` may carry a sticky (a tie in magnitude orders ``x`` as the big term, so the
    difference is never negative).  Returns (y, flags) after the "output" cut.

    ``fast`` trades a little area for depth: the aligned operand's lost bits come from
    its trailing-zero count instead of an OR per shifter stage, the sum from carry-select
    blocks instead of one ripple chain, and the normalisation stops at the smallest normal
    by a stop bit (:func:`round_sum`).  The adder takes it (its depth is what it is
    measured by); the accumulating MACs do not (their area is).  ``lowest_field``: as
    for :func:`round_sum`."""
    assert not isinstance(y.sticky, Value), "only x may carry a sticky"
    width = len(x.sig)
    g = guard_bits(out, rounding, rand_bits, flags)
    frame = max(out.precision + g + 1, width + 1)  # bits 1..frame; bit 0 jams the sticky
    e_lo, e_hi = min(x.exp_range[0], y.exp_range[0]), max(x.exp_range[1], y.exp_range[1])

    # Order by magnitude: (exponent, significand) as one unsigned number.
    def key(t):
        return Cat(t.sig, ranged(m, t.exp - e_lo, 0, e_hi - e_lo, "key_exp"))
    x_big = Signal(name="x_big")
    m.d.comb += x_big.eq(key(x) >= key(y))
    big_sig = ranged(m, Mux(x_big, x.sig, y.sig), 0, (1 << width) - 1, "big_sig")
    small_sig = ranged(m, Mux(x_big, y.sig, x.sig), 0, (1 << width) - 1, "small_sig")
    big_exp = ranged(m, Mux(x_big, x.exp, y.exp), e_lo, e_hi, "big_exp")
    big_sign = Mux(x_big, x.sign, y.sign)
    subtract = x.sign ^ y.sign

    small_exp = Mux(x_big, y.exp, x.exp)

    # Align the smaller significand; a bit shifted out below bit 0 is jammed into it.
    diff = ranged(m, big_exp - small_exp, 0, e_hi - e_lo, "exp_diff")
    bits = frame.bit_length()
    if e_hi - e_lo >= 1 << bits:  # saturate: shifts of `frame` or more lose everything
        diff = diff[:bits] | diff[bits:].any().replicate(bits)
    small_frame = Cat(Const(0, frame - width), small_sig)
    if fast:
        shifted = Signal(frame, name="align")
        m.d.comb += shifted.eq(small_frame >> diff)
        # small's bit k lands at frame - width + k - diff: a nonzero one is lost below
        # bit 0 iff small's trailing zeros are fewer than diff - (frame - width)
        tz = leading_zeros(m, small_sig[::-1], "small_tz")
        jam = Signal(name="align_jam")
        m.d.comb += jam.eq((tz + (frame - width) < diff) & (small_sig != 0))
    else:
        shifted, jam = shift_right_sticky(m, small_frame, diff,
                                          min(e_hi - e_lo, (1 << bits) - 1), "align")
    big = Cat(Const(0, 1 + frame - width), big_sig)
    if isinstance(x.sticky, Value):
        # x's dropped bits are jammed into bit 0 whichever term it is; as the big one it
        # sits on the floor with the small one (no alignment shift, nothing else in bit 0)
        jam = jam | (~x_big & x.sticky)
        big = big | (x_big & x.sticky)
    aligned = Cat(jam, shifted)
    (aligned, big, subtract, big_sign, big_exp, specials) = cut_with_specials(
        pipe, "align", aligned, big, subtract, big_sign, big_exp, specials)

    # never negative: big >= aligned
    small = Cat(aligned, 0) ^ subtract.replicate(frame + 2)
    if fast:  # never negative: big >= aligned
        total = carry_select_add(m, big, small, "sum", subtract)
    else:
        total = Signal(frame + 2, name="sum")
        m.d.comb += total.eq(big + small + subtract)
    total, big_sign, big_exp, specials = cut_with_specials(pipe, "sum", total, big_sign,
                                                           big_exp, specials)

    return round_sum(m, pipe, total, big_exp + 1, (e_lo + 1, e_hi + 1), big_sign, specials,
                     out, rounding, saturate, rand_bits, flags, seed, stop_bit=fast,
                     lowest_field=lowest_field)
