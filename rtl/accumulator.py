"""Streaming accumulators: ChunkAccumulator and the AXPY weight-update unit, mirrors of
``fpforge.sim.accumulate.chunked`` and ``.axpy``."""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from fpforge.rtl.add import FPAdder
from fpforge.rtl.mac import FPMAC
from fpforge.rtl.prng import Xorshift32
from fpforge.sim.formats import parse
from fpforge.sim.prng import instance_seed
from fpforge.spec.checks import (check_chunk, check_pipeline, check_rand_bits,
                                 check_rounding, check_seed)

__all__ = ["ChunkAccumulator", "AXPY", "running_sum", "stream_latency"]


def stream_latency(chunk: int) -> int:
    """Cycles from a stream's last input to its result: 1, or 2 with the fold of the last
    chunk (the accumulator's and a systolic PE's)."""
    return 1 if chunk == 0 else 2


def running_sum(m: Module, unit, inner: Signal, total) -> None:
    """One running sum (no chunking) for a component with ``in_valid``, ``in_last``, ``y``
    and ``out_valid``: each input ``inner := total`` (+0 after a stream's last input); the
    last input's ``total`` goes to the ``y`` register (reset 0, so ``y`` is never X), with
    ``out_valid`` the next cycle."""
    with m.If(unit.in_valid):
        m.d.sync += inner.eq(Mux(unit.in_last, 0, total))
    y = Signal(len(inner), name="y_reg")
    m.d.sync += [unit.out_valid.eq(unit.in_valid & unit.in_last)]
    with m.If(unit.in_valid & unit.in_last):
        m.d.sync += y.eq(total)
    m.d.comb += unit.y.eq(y)


class ChunkAccumulator(wiring.Component):
    """Chunk-based accumulation of a stream, one input per clock, no bubbles.

    For every input ``inner := round(x + inner)`` (``products``: ``round(a*b + inner)``,
    fused); after every ``chunk`` inputs and after the stream's last input a second adder
    folds ``outer := round(inner + outer)`` in the next cycle while ``inner`` restarts at
    +0.  ``chunk=0``: one running sum.  A new stream may start the cycle after ``in_last``.

    Parameters
    ----------
    in_fmt : FloatFormat or str or None
        Input format (unused with ``products``).
    acc_fmt : FloatFormat or str
        Format of ``inner``, ``outer`` and ``y``.
    chunk : int
        Inputs per chunk; 0 = no chunking.
    rounding : {"rne", "rtz", "rna", "rup", "rdn", "sr"}
    products : bool
        Accumulate the exact products of ``a`` (``a_fmt``) and ``b`` (``b_fmt``).
    saturate : bool
    rand_bits, seed : int
        ``sr``: the inner adder's xorshift32 PRNG is seeded ``seed`` (=
        ``instance_seed(seed, 0)``) and steps once per input; the fold adder's
        ``fold_seed``, once per fold.
    fold_seed : int or None
        Default ``instance_seed(seed, 1)``; an array gives each PE its own.

    Ports
    -----
    clk, rst : the ``sync`` domain (synchronous reset, active high; clears the sums)
    in_valid, in_last : In(1)
        An input this cycle; it is the last of its stream.
    x : In(in_fmt.width)   (or ``a``, ``b`` with ``products``)
    y : Out(acc_fmt.width)
        The stream's sum, valid while ``out_valid`` and held until the next sum; 0 after
        reset.
    out_valid : Out(1)
        High for one cycle, :attr:`latency` cycles after the cycle of ``in_last``
        (1 with ``chunk=0``, else 2).
    """

    def __init__(self, in_fmt, acc_fmt, chunk: int = 0, rounding: str = "rne",
                 products: bool = False, a_fmt=None, b_fmt=None, saturate: bool = False, *,
                 rand_bits: int = 16, seed: int = 1, fold_seed: int | None = None):
        self.acc_fmt = parse(acc_fmt)
        self.chunk = check_chunk(chunk)
        self.rounding = check_rounding(rounding)
        self.products = bool(products)
        self.saturate = bool(saturate)
        self.rand_bits, self.seed = check_rand_bits(rand_bits), check_seed(seed)
        self.fold_seed = instance_seed(seed, 1) if fold_seed is None else check_seed(fold_seed)
        if self.products:
            if a_fmt is None or b_fmt is None:
                raise ValueError("products=True needs a_fmt and b_fmt")
            self.a_fmt, self.b_fmt, self.in_fmt = parse(a_fmt), parse(b_fmt), None
            data = {"a": In(self.a_fmt.width), "b": In(self.b_fmt.width)}
        else:
            if in_fmt is None:
                raise ValueError("an accumulator of inputs needs in_fmt")
            self.in_fmt, self.a_fmt, self.b_fmt = parse(in_fmt), None, None
            data = {"x": In(self.in_fmt.width)}
        super().__init__({"in_valid": In(1), "in_last": In(1), **data,
                          "y": Out(self.acc_fmt.width), "out_valid": Out(1)})

    @property
    def latency(self) -> int:
        return stream_latency(self.chunk)

    def _adder(self, m, name, *formats):
        """A combinational rounding stage taking its ``sr`` draw from a port."""
        opts = dict(rounding=self.rounding, saturate=self.saturate, rand_bits=self.rand_bits,
                    rand_source="port")
        unit = FPMAC(*formats, **opts) if len(formats) == 4 else FPAdder(*formats, **opts)
        m.submodules[name] = unit
        return unit

    def _draws(self, m, unit, name, seed, step):
        if self.rounding == "sr":
            m.submodules[name] = prng = Xorshift32(seed, self.rand_bits)
            m.d.comb += [prng.step.eq(step), unit.rand.eq(prng.draw)]

    def elaborate(self, platform):
        m = Module()
        acc = self.acc_fmt
        inner = Signal(acc.width, name="inner")  # reset: +0
        if self.products:
            add = self._adder(m, "inner_mac", self.a_fmt, self.b_fmt, acc, acc)
            m.d.comb += [add.a.eq(self.a), add.b.eq(self.b), add.c.eq(inner)]
        else:
            add = self._adder(m, "inner_add", self.in_fmt, acc, acc)
            m.d.comb += [add.a.eq(self.x), add.b.eq(inner)]
        self._draws(m, add, "prng0", self.seed, self.in_valid)

        if self.chunk == 0:
            running_sum(m, self, inner, add.y)
            return m

        # Fold after every `chunk` inputs and after the last: the chunk's sum moves to
        # `folded` and inner restarts at +0.
        count = Signal(range(self.chunk), name="count")
        fold = Signal(name="fold")
        m.d.comb += fold.eq(self.in_valid & (self.in_last | (count == self.chunk - 1)))
        folded = Signal(acc.width, name="folded", reset_less=True)
        fold_valid, fold_last = Signal(name="fold_valid"), Signal(name="fold_last")
        with m.If(self.in_valid):
            m.d.sync += [inner.eq(Mux(fold, 0, add.y)), count.eq(Mux(fold, 0, count + 1))]
        m.d.sync += [fold_valid.eq(fold), fold_last.eq(self.in_last), folded.eq(add.y)]

        outer = Signal(acc.width, name="outer")  # reset: +0
        fold_add = self._adder(m, "outer_add", acc, acc, acc)
        m.d.comb += [fold_add.a.eq(folded), fold_add.b.eq(outer)]
        self._draws(m, fold_add, "prng1", self.fold_seed, fold_valid)
        y = Signal(acc.width, name="y_reg")  # reset: 0, so y is never X
        with m.If(fold_valid):
            m.d.sync += outer.eq(Mux(fold_last, 0, fold_add.y))
        with m.If(fold_valid & fold_last):
            m.d.sync += y.eq(fold_add.y)
        m.d.sync += self.out_valid.eq(fold_valid & fold_last)
        m.d.comb += self.y.eq(y)
        return m


class AXPY(wiring.Component):
    """Streaming weight update y' = round(y + alpha * x), one element per cycle, one fused
    rounding (an :class:`FPMAC`), stochastic rounding by default with its own PRNG.

    Parameters
    ----------
    alpha_fmt, x_fmt, y_fmt : FloatFormat or str
        ``y_fmt`` is the weight format, in and out.
    rounding : {"sr", "rne", "rtz", "rna", "rup", "rdn"}
        Default ``sr``: the PRNG (seeded ``seed``) steps once per valid element.
    saturate : bool
    pipeline : int
        Latency in cycles, >= 1.
    rand_bits, seed : int

    Ports
    -----
    clk, rst, in_valid : as for pipelined units
    alpha : In(alpha_fmt.width)
        The step size, held for the stream (sampled with each element).
    x : In(x_fmt.width), y_in : In(y_fmt.width)
        Gradient and old weight.
    y : Out(y_fmt.width)
        New weight, ``pipeline`` cycles after its element, with ``out_valid``.
    """

    def __init__(self, alpha_fmt, x_fmt, y_fmt, rounding: str = "sr", saturate: bool = False,
                 pipeline: int = 1, *, rand_bits: int = 16, seed: int = 1):
        self.alpha_fmt, self.x_fmt, self.y_fmt = parse(alpha_fmt), parse(x_fmt), parse(y_fmt)
        self.rounding = check_rounding(rounding)
        self.saturate = bool(saturate)
        if check_pipeline(pipeline) < 1:
            raise ValueError("axpy is a streaming unit: pipeline must be >= 1")
        self.pipeline = pipeline
        self.rand_bits, self.seed = check_rand_bits(rand_bits), check_seed(seed)
        super().__init__({"in_valid": In(1), "alpha": In(self.alpha_fmt.width),
                          "x": In(self.x_fmt.width), "y_in": In(self.y_fmt.width),
                          "y": Out(self.y_fmt.width), "out_valid": Out(1)})

    @property
    def latency(self) -> int:
        return self.pipeline

    def elaborate(self, platform):
        m = Module()
        m.submodules.mac = mac = FPMAC(self.alpha_fmt, self.x_fmt, self.y_fmt, self.y_fmt,
                                       rounding=self.rounding, saturate=self.saturate,
                                       pipeline=self.pipeline, rand_bits=self.rand_bits,
                                       seed=self.seed)
        m.d.comb += [mac.a.eq(self.alpha), mac.b.eq(self.x), mac.c.eq(self.y_in),
                     mac.in_valid.eq(self.in_valid), self.y.eq(mac.y),
                     self.out_valid.eq(mac.out_valid)]
        return m
