"""ArithUnit: what the rounding arithmetic units (mul, add, mac) share: option checks,
the port signature and the ``sr`` draw presented with the operands."""

from __future__ import annotations

from amaranth import Const, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from fpforge.rtl.fields import Pipeline
from fpforge.sim.formats import parse
from fpforge.spec.checks import (check_pipeline, check_rand_bits, check_rand_source,
                                 check_result_format, check_rounding, check_seed)

__all__ = ["ArithUnit"]


class ArithUnit(wiring.Component):
    """Base of :class:`FPMultiplier`, :class:`FPAdder` and :class:`FPMAC`.

    ``operands`` maps port names to formats (``a_fmt``... become attributes).  Ports:
    one input per operand and ``y``; with ``pipeline >= 1`` ``in_valid``/``out_valid``
    (plus the domain's ``clk``/``rst``); ``rand`` for ``sr`` with ``rand_source="port"``;
    ``flags`` (5 bits) with ``flags``; ``controls``: further 1-bit inputs.  Latency is
    ``pipeline`` cycles; pipelined, ``y`` and ``flags`` are 0 whenever ``out_valid`` is low.
    """

    def __init__(self, operands: dict, out_fmt, rounding: str, saturate: bool, pipeline: int,
                 flags: bool, rand_bits: int, seed: int, rand_source: str,
                 controls: tuple[str, ...] = ()):
        operands = {name: parse(fmt) for name, fmt in operands.items()}
        for name, fmt in operands.items():
            setattr(self, f"{name}_fmt", fmt)
        self.out_fmt = parse(out_fmt)
        self.rounding = check_rounding(rounding)
        self.saturate = bool(saturate)
        self.pipeline = check_pipeline(pipeline)
        self.flags_out = bool(flags)
        self.rand_bits, self.seed = check_rand_bits(rand_bits), check_seed(seed)
        self.rand_source = check_rand_source(rounding, rand_source, pipeline > 0)
        check_result_format(self.out_fmt, *operands.values())
        ports = {name: In(fmt.width) for name, fmt in operands.items()}
        ports.update((name, In(1)) for name in controls)
        ports["y"] = Out(self.out_fmt.width)
        if pipeline:
            ports.update(in_valid=In(1), out_valid=Out(1))
        if rounding == "sr" and rand_source == "port":
            ports["rand"] = In(self.rand_bits)
        if flags:
            ports["flags"] = Out(5)
        super().__init__(ports)

    @property
    def latency(self) -> int:
        return self.pipeline

    def rand_input(self):
        """The ``rand`` port, or a constant placeholder when the unit has none."""
        return self.rand if "rand" in self.signature.members else Const(0, 1)

    def prng_seed(self) -> int | None:
        """Seed of the unit's own PRNG, None when draws come from the port."""
        return self.seed if self.rand_source == "prng" else None

    def make_pipeline(self, m):
        """The unit's register cuts (``CUTS``, most useful first), valid from ``in_valid``."""
        return Pipeline(m, self.pipeline, self.CUTS, self.in_valid if self.pipeline else None)

    def drive_outputs(self, m, pipe, y, flags) -> None:
        """Connect the result (after the last cut), its flags and ``out_valid``.  A
        pipelined unit's ``y`` and ``flags`` read 0 while ``out_valid`` is low: its data
        registers have no reset, and this keeps X (after reset, or from undriven inputs
        of idle cycles) off the outputs at the cost of one AND per output bit."""
        if self.pipeline:
            m.d.comb += self.out_valid.eq(pipe.valid)
            y = Mux(pipe.valid, y, 0)
            if self.flags_out:
                flags = Mux(pipe.valid, flags, 0)
        m.d.comb += self.y.eq(y)
        if self.flags_out:
            m.d.comb += self.flags.eq(flags)
