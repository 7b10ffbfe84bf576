"""Xorshift32 PRNG for stochastic rounding (mirror of ``sim.prng``).

A 32-bit state register and one step of pure XOR wiring
(``x ^= x << 13; x ^= x >> 17; x ^= x << 5``); the draw is the top bits of the register.
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from fpforge.sim.prng import xorshift32
from fpforge.spec.checks import check_rand_bits, check_seed

__all__ = ["Xorshift32"]


class Xorshift32(wiring.Component):
    """Xorshift32 generator in the ``sync`` domain, advancing one step per ``step``.

    The state register resets (the ``sync`` domain's synchronous reset) to
    ``xorshift32(seed)``, the state after one step, so ``draw`` already shows the first
    draw of the stream and a rounding event uses ``draw`` in the cycle it pulses ``step``.

    Timing: ``draw`` is combinational from the register.  After reset and ``k`` clock edges
    with ``step`` high, ``draw == sim.prng.draws(seed, k + 1, bits)[k]``; edges with
    ``step`` low hold the state.  Reset takes priority over ``step``.

    Parameters
    ----------
    seed : int
        Stream seed, ``1..2**32-1`` (``sim.prng.instance_seed`` gives a unit instance's).
    bits : int
        Random bits per draw, ``1..32``.

    Ports
    -----
    step : In(1)
        Advance the state one step at the next clock edge.
    draw : Out(bits)
        Top ``bits`` bits of the current state.
    """

    def __init__(self, seed: int, bits: int = 16):
        self.seed = check_seed(seed)
        self.bits = check_rand_bits(bits)
        super().__init__({"step": In(1), "draw": Out(self.bits)})

    def elaborate(self, platform):
        m = Module()
        state = Signal(32, init=xorshift32(self.seed), name="state")
        t1 = Signal(32, name="t1")
        t2 = Signal(32, name="t2")
        t3 = Signal(32, name="t3")
        m.d.comb += [
            t1.eq(state ^ (state << 13)[:32]),
            t2.eq(t1 ^ (t1 >> 17)),
            t3.eq(t2 ^ (t2 << 5)[:32]),
            self.draw.eq(state[32 - self.bits:]),
        ]
        with m.If(self.step):
            m.d.sync += state.eq(t3)
        return m
