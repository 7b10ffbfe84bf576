"""Logic shared by every unit: unpacking encodings, leading-zero count, sticky shifter,
range-sized signals, pipeline cuts.

Mirrors ``fpforge.sim.arith.unpack``: an operand becomes sign, effective exponent field,
integer significand (hidden bit included) and class flags.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import Cat, Const, Module, Mux, Signal, Value
from amaranth.hdl import Shape

from fpforge.sim.formats import FloatFormat

__all__ = ["Unpacked", "unpack", "value_sig", "span", "ranged", "leading_zeros",
           "shift_right_sticky", "Pipeline"]


def span(lo: int, hi: int) -> Shape:
    """The shape of the integers ``lo..hi``: as ``Shape.cast(range(lo, hi + 1))``, which
    cannot take ranges of more than 2**63 values (binary64's packed codes)."""
    if lo >= 0:
        return Shape(hi.bit_length(), signed=False)
    return Shape(max((-lo - 1).bit_length(), max(hi, 0).bit_length()) + 1, signed=True)


def ranged(m: Module, expr, lo: int, hi: int, name: str) -> Signal:
    """A signal just wide enough for the integers ``lo..hi`` (known from the formats),
    driven by ``expr``; the value is truncated to that width, so callers must be right
    about the range."""
    sig = Signal(span(lo, hi), name=name)
    m.d.comb += sig.eq(expr)
    return sig


@dataclass
class Unpacked:
    """An operand, as ``sim.arith.Operand``: value = (-1)**sign * sig * 2**(exp - bias -
    man_bits).  ``exp`` is the effective exponent field (field 0 of a subnormal reads as 1)
    and ``sig`` includes the hidden bit."""

    sign: Value
    exp: Value
    sig: Value
    is_zero: Value
    is_inf: Value
    is_nan: Value
    is_snan: Value  # signaling NaN (IEEE-style formats: top fraction bit clear)


def value_sig(u: Unpacked, fmt: FloatFormat) -> Value:
    """``u.sig``, but 0 for a zero: in a format without subnormals the hidden bit of the
    zero code reads as 1."""
    return u.sig if fmt.subnormals else Mux(u.is_zero, 0, u.sig)


def unpack(m: Module, code: Value, fmt: FloatFormat, name: str) -> Unpacked:
    """Split ``code`` into fields and classify it (``FloatFormat.classify`` in logic)."""
    mbits, e = fmt.man_bits, fmt.exp_bits
    frac, field, sign = code[:mbits], code[mbits:mbits + e], code[-1]
    field_zero = Signal(name=f"{name}_field_zero")
    field_ones = Signal(name=f"{name}_field_ones")
    frac_zero = Signal(name=f"{name}_frac_zero")
    m.d.comb += [field_zero.eq(field == 0), field_ones.eq(field.all()), frac_zero.eq(frac == 0)]
    if fmt.subnormals:
        hidden, exp = ~field_zero, field | field_zero
    else:
        hidden, exp = Const(1), field
    is_zero = field_zero & frac_zero
    is_inf = is_nan = Const(0)
    if fmt.nan == "ieee":
        is_inf, is_nan = field_ones & frac_zero, field_ones & ~frac_zero
    elif fmt.nan == "allones":
        is_nan = field_ones & frac.all()
    elif fmt.nan == "negzero":
        is_nan, is_zero = is_zero & sign, is_zero & ~sign
    is_snan = is_nan & ~frac[-1] if fmt.nan == "ieee" and mbits else Const(0)
    u = Unpacked(sign, Signal(e, name=f"{name}_exp"), Signal(mbits + 1, name=f"{name}_sig"),
                 Signal(name=f"{name}_is_zero"), Signal(name=f"{name}_is_inf"),
                 Signal(name=f"{name}_is_nan"), is_snan)
    m.d.comb += [u.exp.eq(exp), u.sig.eq(Cat(frac, hidden)), u.is_zero.eq(is_zero),
                 u.is_inf.eq(is_inf), u.is_nan.eq(is_nan)]
    return u


def normalise(m: Module, u: Unpacked, fmt: FloatFormat, name: str) -> Unpacked:
    """``u`` with a subnormal's significand shifted up to its hidden bit and its exponent
    lowered by the shift (so ``exp`` is signed, down to ``1 - man_bits``); other operands
    unchanged (a zero keeps ``sig`` 0)."""
    if not fmt.subnormals:
        return u
    lz = leading_zeros(m, u.sig, f"{name}_lz")
    sig = Signal(len(u.sig), name=f"{name}_nsig")
    exp = ranged(m, u.exp - lz, 1 - fmt.man_bits, fmt.field_range[1], f"{name}_nexp")
    m.d.comb += sig.eq(u.sig << lz)
    return Unpacked(u.sign, exp, sig, u.is_zero, u.is_inf, u.is_nan, u.is_snan)


def leading_zeros(m: Module, value: Value, name: str) -> Signal:
    """Number of leading zeros of ``value`` (its width when zero), as a balanced tree."""
    width = len(value)
    levels = (width - 1).bit_length()
    # Pad on the right with ones to a power of two, so a zero value counts `width`.
    padded = Cat(Const(-1, (1 << levels) - width), value) if (1 << levels) > width else value

    def tree(v):  # -> (count, all-zero) of a power-of-two-wide slice
        if len(v) == 2:
            return ~v[1], ~v[1] & ~v[0]
        half = len(v) // 2
        c_hi, z_hi = tree(v[half:])
        c_lo, z_lo = tree(v[:half])
        return Cat(Mux(z_hi, c_lo, c_hi), z_hi), z_hi & z_lo

    if width == 1:
        out = Signal(1, name=name)
        m.d.comb += out.eq(~value[0])
        return out
    count, all_zero = tree(padded)
    out = Signal(range(width + 1), name=name)
    m.d.comb += out.eq(Mux(all_zero, width, count))
    return out


def shift_right_sticky(m: Module, value: Value, amount: Value, max_amount: int, name: str):
    """``(value >> amount, sticky)``: a logarithmic right shifter that ORs every bit shifted
    out below bit 0 into ``sticky``.  ``amount`` must not exceed ``max_amount``; amounts of
    ``len(value)`` or more shift everything out.  The largest step comes first, so output
    bits the caller leaves unused prune the later, narrower stages."""
    cur = value
    sticky = Const(0)
    for i in reversed(range(max(max_amount, 0).bit_length())):
        step = 1 << i
        if step >= len(cur):
            shifted, lost = Const(0, len(cur)), cur.any()
        else:
            shifted, lost = Cat(cur[step:], Const(0, step)), cur[:step].any()
        nxt = Signal(len(cur), name=f"{name}_s{i}")
        stk = Signal(name=f"{name}_k{i}")
        m.d.comb += [nxt.eq(Mux(amount[i], shifted, cur)), stk.eq(sticky | (amount[i] & lost))]
        cur, sticky = nxt, stk
    return cur, sticky


class Pipeline:
    """Register cuts for a unit with ``stages`` pipeline registers.

    A unit names its possible cut points, most useful first; the first ``stages`` of them
    get a register, and stages beyond the named points become extra registers at the first
    point.  ``cut(point, *values)`` returns the values, registered (no reset) when that
    point is cut; ``valid`` (reset to 0) is registered alongside, so after the last cut it
    is the unit's ``out_valid``.
    """

    def __init__(self, m: Module, stages: int, preference: list[str], valid: Value | None):
        self.m = m
        self.active = set(preference[:stages])
        self.extra = max(0, stages - len(preference))
        self.first = preference[0]
        self.valid = valid

    def cut(self, point: str, *values):
        out = list(values)
        depth = int(point in self.active) + (self.extra if point == self.first else 0)
        for r in range(depth):
            regs = [Signal(Value.cast(v).shape(), name=f"{point}{r}_{i}", reset_less=True)
                    for i, v in enumerate(out)]
            self.m.d.sync += [reg.eq(v) for reg, v in zip(regs, out)]
            out = regs
            if self.valid is not None:
                valid = Signal(name=f"{point}{r}_valid")
                self.m.d.sync += valid.eq(self.valid)
                self.valid = valid
        return out
