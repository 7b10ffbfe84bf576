"""The normalise-and-round tail every sum shares (the adder, the MAC's ordered and
product-anchored sums): an exact non-negative sum -> leading-zero normalisation held at
the output's smallest normal (the op denormalises, not the Rounder) -> sticky -> Rounder;
and the pipeline cut that carries the specials beside the datapath.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, Value

from fpforge.rtl.fields import Pipeline, leading_zeros, ranged, shift_right_sticky
from fpforge.rtl.rounder import Rounder, feed_rand, guard_bits
from fpforge.sim.formats import FloatFormat

__all__ = ["round_sum", "cut_with_specials"]


def round_sum(m: Module, pipe: Pipeline, total: Value, top, top_range: tuple[int, int], sign,
              specials: dict, out: FloatFormat, rounding: str, saturate: bool, rand_bits: int,
              flags: bool, seed: int | None, stop_bit: bool = False,
              lowest_field: int | None = None):
    """Normalise an exact, non-negative sum and round it to ``out``; returns (y, flags)
    after the "output" cut.

    ``total``'s msb has exponent field ``top`` (on ``out``'s scale, in ``top_range``); its
    lowest bits reach at least :func:`guard_bits` below the ulp of any result, its bit 0
    may be a jammed sticky.  ``sign`` is the sign of a nonzero sum, ``specials`` as for
    :func:`fpforge.rtl.add.add_terms`.  The shift is the leading-zero count, held at the output's smallest
    normal where it has subnormals (field 0 then marks a subnormal): by comparing the count
    with the limit, or (``stop_bit``) by ORing a one in at the limit before counting, which
    takes the compare off the critical path (``fpforge.rtl.add.add_terms(fast=True)``); a
    ``top`` below that binade first shifts right onto it, every lost bit jammed into bit 0.
    The kept bits come out of the shifter, the sticky from the sum under a mask of the
    bits the shift leaves below them.  ``lowest_field``: the lowest exponent field a
    nonzero sum can have, where the caller knows one from the formats; in an output
    without subnormals, at 0 or above it leaves the Rounder no flush to zero to build."""
    frame = len(total)
    t_lo, t_hi = top_range
    g = guard_bits(out, rounding, rand_bits, flags)
    if out.subnormals and t_lo < 1:
        right = ranged(m, Mux(top < 1, 1 - top, 0), 0, 1 - t_lo, "denorm")
        shifted, lost = shift_right_sticky(m, total, right, 1 - t_lo, "denorm")
        total = Cat(shifted[0] | lost, shifted[1:])
        top = Mux(top < 1, 1, top)
        t_lo = 1
    p = out.precision
    kept = min(p + g, frame)
    normalised = Signal(frame, name="normalised")  # only its top `kept` bits are used
    if out.subnormals and stop_bit:
        # the count stops at field 1: a one ORed in where the msb would reach it (none
        # when that lies below the sum); the hidden bit then tells a subnormal
        limit = ranged(m, top - 1, t_lo - 1, t_hi - 1, "norm_limit")
        stop = Signal(frame, name="norm_stop")
        m.d.comb += stop.eq(Const(1 << (frame - 1), frame) >> limit)
        shift = leading_zeros(m, total | stop, "norm_shift")
        m.d.comb += normalised.eq(total << shift)
        field = Mux(normalised[-1], top - shift, 0)
    elif out.subnormals:
        lz = leading_zeros(m, total, "lz")
        limit = ranged(m, top - 1, t_lo - 1, t_hi - 1, "norm_limit")
        subnormal = lz > limit
        shift = ranged(m, Mux(subnormal, limit, lz), 0, frame, "norm_shift")
        m.d.comb += normalised.eq(total << shift)
        field = Mux(subnormal, 0, top - lz)
    else:
        shift = leading_zeros(m, total, "norm_shift")
        m.d.comb += normalised.eq(total << shift)
        field = top - shift
    f_lo = 0 if out.subnormals else t_lo - frame
    if lowest_field is not None and not out.subnormals:
        f_lo = max(f_lo, lowest_field)
    is_zero = total == 0
    if kept < p + g:
        normalised = Cat(Const(0, p + g - kept), normalised)
    else:
        normalised = normalised[frame - kept:]
    field = ranged(m, field, f_lo, t_hi, "field")
    sig, low = normalised[-p:], normalised[:g]
    # sticky: a bit of total below the kept ones, i.e. at position < frame - kept - shift
    below = Signal(frame, name="below_kept")
    m.d.comb += below.eq(((1 << (frame - kept)) - 1) >> shift)
    sticky = (total & below).any()

    m.submodules.rounder = rounder = Rounder(out, (f_lo, t_hi), rounding, saturate,
                                             rand_bits, flags)
    sign = Mux(specials["is_inf"], specials["inf_sign"],
               Mux(is_zero, specials["zero_sign"], sign))
    m.d.comb += [rounder.sign.eq(sign), rounder.is_nan.eq(specials["is_nan"]),
                 rounder.is_inf.eq(specials["is_inf"]), rounder.is_zero.eq(is_zero),
                 rounder.exp.eq(field), rounder.sig.eq(sig), rounder.low.eq(low),
                 rounder.sticky.eq(sticky)]
    feed_rand(m, rounder, specials["rand"], seed, pipe.valid)
    outputs = [rounder.y] + ([rounder.flags | (specials["nv"] << 4)] if flags else [])
    outputs = pipe.cut("output", *outputs)
    return outputs[0], (outputs[1] if flags else None)


_SPECIAL_KEYS = ("is_nan", "is_inf", "inf_sign", "nv", "zero_sign", "rand")


def cut_with_specials(pipe, point, *values):
    """``pipe.cut`` for positional values followed by the specials dict (both returned)."""
    *plain, specials = values
    keys = [k for k in _SPECIAL_KEYS if k in specials]
    cut = pipe.cut(point, *plain, *(specials[k] for k in keys))
    return (*cut[:len(plain)], dict(zip(keys, cut[len(plain):])))
