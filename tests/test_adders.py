"""The carry-select adders (``rtl.adders``) against Python integers, every input of small
widths with blocks small enough that several carry chains take part; and the sizes of the
fused MAC's product-anchored window (``rtl.fma.window_plan``) against their derivation."""

from __future__ import annotations

import itertools
import random

import pytest
from amaranth import Elaboratable, Module, Signal
from amaranth.sim import Simulator

from fpforge.rtl.adders import carry_select_add, magnitude_add
from fpforge.rtl.fma import anchored_fits, window_plan
from fpforge.rtl.rounder import guard_bits
from fpforge.sim.formats import parse


class _Harness(Elaboratable):
    def __init__(self, width: int, block: int, kind: str):
        self.x, self.y = Signal(width), Signal(width)
        self.carry_in = Signal()
        self.out, self.negative = Signal(width), Signal()
        self.width, self.block, self.kind = width, block, kind

    def elaborate(self, platform):
        m = Module()
        if self.kind == "sum":
            m.d.comb += self.out.eq(carry_select_add(m, self.x, self.y, "s", self.carry_in,
                                                     self.block))
        else:
            mag, neg = magnitude_add(m, self.x, self.y, self.carry_in, "s", self.block)
            m.d.comb += [self.out.eq(mag), self.negative.eq(neg)]
        return m


def _simulate(dut, vectors):
    got = []

    async def bench(ctx):
        for x, y, c in vectors:
            ctx.set(dut.x, x)
            ctx.set(dut.y, y)
            ctx.set(dut.carry_in, c)
            got.append((ctx.get(dut.out), ctx.get(dut.negative)))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return got


@pytest.mark.parametrize("width,block", [(1, 4), (5, 2), (6, 4), (7, 3), (8, 8)])
def test_carry_select_add_every_input(width, block):
    vectors = list(itertools.product(range(1 << width), range(1 << width), (0, 1)))
    got = _simulate(_Harness(width, block, "sum"), vectors)
    want = [((x + y + c) % (1 << width), 0) for x, y, c in vectors]
    assert got == want


def test_carry_select_add_wide_random():
    rng = random.Random(3)
    vectors = [(rng.getrandbits(39), rng.getrandbits(39), rng.getrandbits(1))
               for _ in range(3000)]
    vectors += [((1 << 39) - 1, 0, 1), ((1 << 39) - 1, 1, 0), (1 << 38, 1 << 38, 0)]
    got = _simulate(_Harness(39, 8, "sum"), vectors)
    assert got == [((x + y + c) % (1 << 39), 0) for x, y, c in vectors]


def _magnitude_cases(width: int, values):
    """(x, y, subtract, |v|, negative) for x + v with v = +y' (add) or -y' (subtract, y
    complemented), wherever the signed result fits in ``width`` bits; ``negative`` is the
    sign of ``x + y`` (the subtraction less one): also set for an exact zero difference."""
    full = (1 << width) - 1
    for x, operand in values:
        if x + operand <= full:
            yield x, operand, 0, x + operand, 0
        diff = x - operand
        if -(1 << (width - 1)) < diff < (1 << (width - 1)):
            yield x, full ^ operand, 1, abs(diff), int(diff <= 0)


@pytest.mark.parametrize("width,block", [(6, 4), (7, 2), (5, 8)])
def test_magnitude_add_every_input(width, block):
    cases = list(_magnitude_cases(width, itertools.product(range(1 << width), repeat=2)))
    got = _simulate(_Harness(width, block, "mag"), [c[:3] for c in cases])
    assert got == [c[3:] for c in cases]


def test_magnitude_add_wide_random():
    rng = random.Random(5)
    pairs = [(rng.getrandbits(37), rng.getrandbits(37)) for _ in range(2000)]
    pairs += [(5, 5), (0, 0), (1 << 36, (1 << 36) - 1), ((1 << 36) - 1, 1 << 36)]
    cases = list(_magnitude_cases(38, pairs))
    got = _simulate(_Harness(38, 8, "mag"), [c[:3] for c in cases])
    assert got == [c[3:] for c in cases]


def test_window_of_the_fp16_fma():
    """By hand: the product has 22 bits; an operand's subnormal gives it up to 10 + 1
    leading zeros, and c (11 bits) can lose bits with it, so L = po + G + 2 - wP + 11 = 3
    (the result's 12 exact bits above the jam bit) against pc - wP + 2 + 11 = 2; H = po + G
    = 12 keeps a dominant c's exact bits clear of a product below 2**(ec - H)."""
    f = parse("fp16")
    plan = window_plan(f, f, f, f, guard_bits(f, "rne"))
    assert (plan.low, plan.product, plan.headroom, plan.width) == (3, 22, 12, 37)
    # sr with 16 random bits (G = 16): H = 27; L = 8 already puts a c that could lose bits
    # beside a subnormal operand's product (msb field at most 17) below field 17 - (L + wP
    # - pc - 1) = -1, under c's lowest (1), so the normal operands' bound holds:
    # max(po + G + 2 - wP + 1, ...) = 8
    sr = window_plan(f, f, f, f, guard_bits(f, "sr", 16))
    assert (sr.low, sr.headroom) == (8, 27)


def test_window_without_subnormal_operands_needs_one_low_bit():
    f, e = parse("fp16"), parse("e5m10ns")
    plan = window_plan(e, e, f, f, guard_bits(f, "rne"))
    assert plan.low == 1  # products of normal operands: at most one leading zero


@pytest.mark.parametrize("fmts,anchored", [
    (("fp16", "fp16", "fp16", "fp16"), True),
    (("bf16", "bf16", "bf16", "bf16"), True),
    (("fp32", "fp32", "fp32", "fp32"), True),
    (("fp8_e4m3", "fp8_e4m3", "fp8_e4m3", "fp8_e4m3"), True),
    (("fp8_e4m3", "fp8_e4m3", "fp16", "fp16"), False),   # narrow product: accumulator MAC
    (("fp8_e4m3", "fp8_e4m3", "bf16", "bf16"), False),
    (("fp16", "fp16", "fp16", "fp32"), False),           # result wider than the product
    (("dlfloat16", "dlfloat16", "dlfloat16", "dlfloat16"), False),  # no subnormals
])
def test_datapath_choice(fmts, anchored):
    assert anchored_fits(*map(parse, fmts)) is anchored
