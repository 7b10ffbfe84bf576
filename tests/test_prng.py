"""The xorshift32 PRNG: golden model (``sim.prng``) against a plain Python-int reference
written here, and the RTL (``rtl.prng``) against the golden model in Amaranth's simulator
(random ``step`` patterns, mid-run resets)."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest
from amaranth import ClockDomain, Module
from amaranth.sim import Simulator

from fpforge.rtl.prng import Xorshift32
from fpforge.sim.prng import (SEED_STRIDE, Xorshift32Stream, check_rand_bits, check_seed,
                              draws, instance_seed, xorshift32)


def ref_states(seed: int, n: int) -> list[int]:
    """States after 1..n steps, one Python-int step at a time."""
    out = []
    x = seed
    for _ in range(n):
        x ^= (x << 13) % 2**32
        x ^= x >> 17
        x ^= (x << 5) % 2**32
        out.append(x)
    return out


def ref_draws(seed: int, n: int, bits: int) -> list[int]:
    return [s >> (32 - bits) for s in ref_states(seed, n)]


SEEDS = [1, 2463534242, 0xFFFFFFFF, 0x80000000, 0x12345678]


def test_published_value():
    # Marsaglia, "Xorshift RNGs" (2003): from y = 2463534242 the first output is 723471715.
    assert ref_states(2463534242, 1) == [723471715]
    assert xorshift32(2463534242) == 723471715
    assert int(draws(2463534242, 1, 32)[0]) == 723471715


def test_xorshift32_kinds():
    states = ref_states(0x12345678, 2)
    assert xorshift32(0x12345678) == states[0] and type(xorshift32(1)) is int
    s = xorshift32(np.uint32(0x12345678))
    assert isinstance(s, np.uint32) and int(s) == states[0]
    want = ref_states(0xFFFFFFFF, 1) + ref_states(7, 1) + [0]
    for dtype in (np.uint32, np.uint64):
        got = xorshift32(np.array([0xFFFFFFFF, 7, 0], dtype=dtype))
        assert got.dtype == dtype and got.tolist() == want
    with pytest.raises(ValueError):
        xorshift32(2**32)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("bits", [1, 8, 16, 32])
def test_draws_match_reference(seed, bits):
    n = 10_007
    got = draws(seed, n, bits)
    assert got.dtype == np.uint32 and got.shape == (n,)
    assert got.tolist() == ref_draws(seed, n, bits)


@pytest.mark.parametrize("n", [0, 1, 2, 63, 64, 65, 1000])
def test_draws_short(n):
    got = draws(0xDEADBEEF, n)
    assert got.dtype == np.uint32 and got.shape == (n,)
    assert got.tolist() == ref_draws(0xDEADBEEF, n, 16)


def test_draws_default_bits_and_long_tail():
    n = 300_001  # long enough for many jump-ahead lanes; compare a prefix and the tail
    got = draws(99, n)
    want = ref_draws(99, n, 16)
    assert got[:1000].tolist() == want[:1000] and got[-1000:].tolist() == want[-1000:]
    assert got.tolist() == want


def test_draws_speed():
    draws(5, 1000)
    t = time.perf_counter()
    draws(5, 10**6)
    assert 10**6 / (time.perf_counter() - t) > 5e6


@pytest.mark.parametrize("bits", [16, 32, 3])
def test_stream_take_in_pieces(bits):
    seed = 0x2545F491
    sizes = [0, 1, 5, 0, 63, 64, 200, 1, 3000, 17]
    total = sum(sizes)
    whole = draws(seed, total, bits)
    stream = Xorshift32Stream(seed, bits)
    assert stream.state == seed
    pos = 0
    for size in sizes:
        part = stream.take(size)
        assert part.dtype == np.uint32 and part.tolist() == whole[pos:pos + size].tolist()
        pos += size
    assert stream.state == ref_states(seed, total)[-1]
    assert whole.tolist() == ref_draws(seed, total, bits)


def test_instance_seed_examples():
    assert SEED_STRIDE == 0x9E3779B9
    assert instance_seed(1) == 1
    assert instance_seed(1, 0) == 1
    assert instance_seed(1, 1) == 0x9E3779BA
    assert instance_seed(1, 2) == 0x3C6EF373            # 1 + 0x13C6EF372 - 2**32
    assert instance_seed(0xFFFFFFFF, 1) == 0x9E3779B8   # wraps
    assert instance_seed(100, 3) == 0xDAA66D8F          # 3 * 0x9E3779B9 = 0x1DAA66D2B
    # 0x61C88647 + 0x9E3779B9 == 2**32: the sum wraps to 0, which becomes 1
    assert instance_seed(0x61C88647, 1) == 1
    # 2 * 0x9E3779B9 = 0x13C6EF372 -> needs seed 2**32 - 0x3C6EF372 = 0xC3910C8E
    assert instance_seed(0xC3910C8E, 2) == 1
    assert instance_seed(0xC3910C8E, 1) == 0x61C88647


def test_argument_errors():
    for bad in (0, 2**32, -1, 1.0, True, "1"):
        with pytest.raises(ValueError, match=r"1\.\.2\*\*32-1"):
            check_seed(bad)
        with pytest.raises(ValueError):
            instance_seed(bad, 0)
        with pytest.raises(ValueError):
            draws(bad, 4)
        with pytest.raises(ValueError):
            Xorshift32Stream(bad)
        with pytest.raises(ValueError):
            Xorshift32(bad)
    assert check_seed(2**32 - 1) == 2**32 - 1 and check_seed(np.uint32(5)) == 5
    with pytest.raises(ValueError, match="index"):
        instance_seed(1, -1)
    for bad in (0, 33, -1, 16.0):
        with pytest.raises(ValueError, match=r"1\.\.32"):
            check_rand_bits(bad)
        with pytest.raises(ValueError):
            draws(1, 4, bad)
        with pytest.raises(ValueError):
            Xorshift32Stream(1, bad)
        with pytest.raises(ValueError):
            Xorshift32(1, bad)
    assert check_rand_bits(1) == 1 and check_rand_bits(32) == 32
    with pytest.raises(ValueError):
        draws(1, -1)


# --- RTL in Amaranth's simulator --------------------------------------------------------

def _pattern(rng: random.Random, cycles: int) -> list[tuple[int, int]]:
    """(step, rst) per cycle: long runs of step=1, gaps, random bits, a few resets."""
    out = []
    while len(out) < cycles:
        kind = rng.randrange(4)
        length = rng.randrange(1, 60)
        if kind == 0:
            out += [(1, 0)] * length
        elif kind == 1:
            out += [(0, 0)] * length
        elif kind == 2:
            out += [(rng.randrange(2), 0) for _ in range(length)]
        else:
            out.append((rng.randrange(2), 1))
    return out[:cycles]


def _run_rtl(seed: int, bits: int, pattern, golden) -> list[tuple[int, int, int]]:
    """Drive ``pattern`` into an Xorshift32 and compare ``draw`` with ``golden`` at the
    expected stream position before the first edge and after every edge.  Returns the
    mismatches as (cycle, got, want)."""
    m = Module()
    m.domains.sync = cd = ClockDomain()
    m.submodules.dut = dut = Xorshift32(seed, bits)
    sim = Simulator(m)
    sim.add_clock(1e-6)
    bad = []

    async def bench(ctx):
        pos = 0
        got = ctx.get(dut.draw)
        if got != golden[0]:
            bad.append((-1, got, int(golden[0])))
        for cycle, (step, rst) in enumerate(pattern):
            ctx.set(dut.step, step)
            ctx.set(cd.rst, rst)
            await ctx.tick()
            pos = 0 if rst else pos + step
            got = ctx.get(dut.draw)
            if got != golden[pos]:
                bad.append((cycle, got, int(golden[pos])))

    sim.add_testbench(bench)
    sim.run()
    return bad


@pytest.mark.parametrize("bits", [16, 32])
@pytest.mark.parametrize("seed", [2463534242, 0x00000001])
def test_rtl_matches_golden(seed, bits):
    rng = random.Random(seed ^ bits)
    pattern = _pattern(rng, 1500)
    steps = "".join(str(step) for step, rst in pattern if not rst)
    assert sum(rst for _, rst in pattern) >= 3          # mid-run resets happen
    assert "1" * 40 in steps and "0" * 40 in steps      # long runs and long gaps
    assert steps.count("1") > 300
    golden = ref_draws(seed, len(pattern) + 1, bits)
    assert draws(seed, len(golden), bits).tolist() == golden
    assert _run_rtl(seed, bits, pattern, golden) == []


def test_rtl_bench_can_fail():
    pattern = [(1, 0)] * 20 + [(0, 0)] * 5 + [(0, 1)] + [(1, 0)] * 10
    golden = ref_draws(77, 40, 16)
    assert _run_rtl(77, 16, pattern, golden) == []
    # A wrong seed, a stream shifted by one draw, or too few bits are all caught.
    assert _run_rtl(78, 16, pattern, golden)
    assert _run_rtl(77, 16, pattern, golden[1:])
    assert _run_rtl(77, 8, pattern, golden)


def test_rtl_reset_restarts_stream():
    seed, bits = 0xC0FFEE, 16
    golden = ref_draws(seed, 50, bits)
    # step during reset is ignored; after release the stream restarts at draw 0
    pattern = [(1, 0)] * 30 + [(1, 1), (1, 1)] + [(1, 0)] * 15
    assert _run_rtl(seed, bits, pattern, golden) == []
