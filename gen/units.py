"""The unit registry: unit name + options -> configured component, golden function, ports.

One :class:`UnitConfig` subclass per unit.  The CLI, the Verilog emitter, the testbenches
and the area scripts all go through it, so a new unit is added here once.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field

import numpy as np

from fpforge.rtl.fields import check_pipeline
from fpforge.sim import arith
from fpforge.sim.formats import FloatFormat, parse
from fpforge.sim.rounding import ROUNDING_MODES, check_rounding
from fpforge.tb.vectors import mul_operands

__all__ = ["UnitConfig", "MulConfig", "UNITS", "Port"]


@dataclass(frozen=True)
class Port:
    name: str
    direction: str  # "in" | "out"
    width: int
    meaning: str

    def as_dict(self) -> dict:
        return {"name": self.name, "direction": self.direction, "width": self.width,
                "meaning": self.meaning}


def format_option(text: str) -> FloatFormat:
    """argparse type for a format option."""
    try:
        return parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def nonneg_int_option(text: str) -> int:
    """argparse type for a count that may be 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, not {text!r}")
    return value


def _ident(fmt: FloatFormat) -> str:
    """A format as a Verilog-identifier-safe token."""
    return re.sub(r"[^0-9a-zA-Z_]", "n", str(fmt))


@dataclass(frozen=True)
class UnitConfig:
    """Base of unit configurations.  Subclasses define the fields, ``unit``,
    ``operand_formats``, ``build``, ``golden`` and ``default_name``."""

    pipeline: int = 0

    unit = ""
    result_meaning = ""

    def __post_init__(self):
        check_pipeline(self.pipeline)

    # ---- interface each unit provides -------------------------------------------------
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """The unit's options of ``fpforge gen/area/verify <unit>``."""
        raise NotImplementedError

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> UnitConfig:
        raise NotImplementedError

    def operand_formats(self) -> dict[str, FloatFormat]:
        raise NotImplementedError

    @property
    def out_fmt(self) -> FloatFormat:
        raise NotImplementedError

    def build(self):
        raise NotImplementedError

    def golden(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def default_name(self) -> str:
        raise NotImplementedError

    def params(self) -> dict:
        raise NotImplementedError

    def test_inputs(self, n: int, seed: int) -> dict[str, np.ndarray]:
        """``n`` corner + boundary + random input vectors."""
        raise NotImplementedError

    def inputs_from_index(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """Input vectors numbered by ``index``: the bits of the index, split over the
        operand ports in order (the first port most significant)."""
        index = np.asarray(index, dtype=np.uint64)
        out, shift = {}, self.input_bits
        for name, fmt in self.operand_formats().items():
            shift -= fmt.width
            out[name] = (index >> np.uint64(shift)) & np.uint64((1 << fmt.width) - 1)
        return out

    def all_inputs(self) -> dict[str, np.ndarray]:
        """Every input combination (for narrow inputs)."""
        if self.input_bits > 24:
            raise ValueError(f"{self.input_bits} input bits are too many to enumerate at once")
        return self.inputs_from_index(np.arange(1 << self.input_bits, dtype=np.uint64))

    # ---- shared -----------------------------------------------------------------------
    @property
    def latency(self) -> int:
        return self.pipeline

    @property
    def input_bits(self) -> int:
        return sum(f.width for f in self.operand_formats().values())

    def ports(self) -> list[Port]:
        ports = [Port(n, "in", f.width, f"operand {n}, {f} code ({f.spec})")
                 for n, f in self.operand_formats().items()]
        o = self.out_fmt
        lat = (f"valid {self.latency} cycles after its operands" if self.latency
               else "combinational")
        ports.append(Port("y", "out", o.width, f"{self.result_meaning}, {o} code ({o.spec}); {lat}"))
        if self.pipeline:
            ports = [Port("clk", "in", 1, "clock, rising edge"),
                     Port("rst", "in", 1, "synchronous reset, active high (clears valid)"),
                     Port("in_valid", "in", 1, "operands valid this cycle")] + ports + [
                     Port("out_valid", "out", 1,
                          f"y valid: in_valid delayed by {self.latency} cycles")]
        return ports


@dataclass(frozen=True)
class MulConfig(UnitConfig):
    """mul: y = round(a * b)"""

    a: FloatFormat = field(default=None, kw_only=True)
    b: FloatFormat = field(default=None, kw_only=True)
    out: FloatFormat = field(default=None, kw_only=True)
    rounding: str = field(default="rne", kw_only=True)
    saturate: bool = field(default=False, kw_only=True)

    unit = "mul"
    result_meaning = "round(a * b)"

    def __post_init__(self):
        super().__post_init__()
        for n in ("a", "b", "out"):
            if getattr(self, n) is None:
                raise ValueError(f"mul needs format {n}")
            object.__setattr__(self, n, parse(getattr(self, n)))
        check_rounding(self.rounding)
        arith.check_result_format(self.out, self.a, self.b)
        object.__setattr__(self, "saturate", bool(self.saturate))

    @property
    def out_fmt(self) -> FloatFormat:
        return self.out

    @classmethod
    def add_arguments(cls, parser):
        for port, meaning in (("a", "operand a"), ("b", "operand b"), ("out", "result")):
            parser.add_argument(f"--{port}", required=True, type=format_option, metavar="FMT",
                                help=f"{meaning} format")
        parser.add_argument("--rounding", default="rne", choices=ROUNDING_MODES,
                            help="rounding mode (default rne)")
        parser.add_argument("--saturate", action="store_true", help="overflow gives +-max")
        parser.add_argument("--pipeline", type=nonneg_int_option, default=0, metavar="N",
                            help="pipeline registers (latency N cycles); 0 = combinational")

    @classmethod
    def from_args(cls, args):
        return cls(a=args.a, b=args.b, out=args.out, rounding=args.rounding,
                   saturate=args.saturate, pipeline=args.pipeline)

    def operand_formats(self):
        return {"a": self.a, "b": self.b}

    def build(self):
        from fpforge.rtl.mul import FPMultiplier
        return FPMultiplier(self.a, self.b, self.out, rounding=self.rounding,
                            saturate=self.saturate, pipeline=self.pipeline)

    def golden(self, inputs):
        return arith.mul(inputs["a"], inputs["b"], self.a, self.b, self.out,
                         rounding=self.rounding, saturate=self.saturate)

    def default_name(self) -> str:
        name = f"fpmul_{_ident(self.a)}_{_ident(self.b)}_{_ident(self.out)}_{self.rounding}"
        if self.saturate:
            name += "_sat"
        if self.pipeline:
            name += f"_p{self.pipeline}"
        return name

    def test_inputs(self, n, seed):
        a, b = mul_operands(self.a, self.b, self.out, n, seed)
        return {"a": a, "b": b}

    def params(self) -> dict:
        return {"a": self.a.spec, "b": self.b.spec, "out": self.out.spec,
                "rounding": self.rounding, "saturate": self.saturate,
                "pipeline": self.pipeline}


UNITS: dict[str, type[UnitConfig]] = {"mul": MulConfig}
