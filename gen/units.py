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
from fpforge.rtl.rounder import check_rand_source
from fpforge.sim.prng import check_rand_bits, check_seed, draws
from fpforge.sim.rounding import ALL_ROUNDING_MODES, check_rounding
from fpforge.tb.vectors import add_operands, mul_operands

__all__ = ["UnitConfig", "ArithConfig", "MulConfig", "AddConfig", "UNITS", "Port"]


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
        """Expected ``y`` for ``inputs``."""
        raise NotImplementedError

    def expected(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Expected value of every output port but ``out_valid``."""
        return {"y": self.golden(inputs)}

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
class ArithConfig(UnitConfig):
    """Options shared by the rounding arithmetic units (mul, add, mac): the formats named
    in ``FORMATS``, rounding, saturation, flags and the ``sr`` random source."""

    rounding: str = field(default="rne", kw_only=True)
    saturate: bool = field(default=False, kw_only=True)
    flags: bool = field(default=False, kw_only=True)
    rand_bits: int = field(default=16, kw_only=True)
    seed: int = field(default=1, kw_only=True)
    rand_source: str = field(default="prng", kw_only=True)

    #: (field, option meaning) of each format, operands first, the result last
    FORMATS = ()
    #: short unit prefix of default names
    PREFIX = ""

    def __post_init__(self):
        super().__post_init__()
        for n, _ in self.FORMATS:
            if getattr(self, n) is None:
                raise ValueError(f"{self.unit} needs format --{n}")
            object.__setattr__(self, n, parse(getattr(self, n)))
        check_rounding(self.rounding)
        check_rand_bits(self.rand_bits)
        check_seed(self.seed)
        check_rand_source(self.rounding, self.rand_source, self.pipeline > 0)
        arith.check_result_format(self.out_fmt, *self.operand_formats().values())
        for flag in ("saturate", "flags"):
            object.__setattr__(self, flag, bool(getattr(self, flag)))

    @property
    def out_fmt(self) -> FloatFormat:
        return self.out

    @property
    def rand_port(self) -> bool:
        return self.rounding == "sr" and self.rand_source == "port"

    @classmethod
    def add_arguments(cls, parser):
        for name, meaning in cls.FORMATS:
            parser.add_argument(f"--{name}", required=True, type=format_option, metavar="FMT",
                                help=f"{meaning} format")
        add_rounding_arguments(parser)
        parser.add_argument("--pipeline", type=nonneg_int_option, default=0, metavar="N",
                            help="pipeline registers (latency N cycles); 0 = combinational")

    @classmethod
    def from_args(cls, args):
        return cls(**{n: getattr(args, n) for n, _ in cls.FORMATS},
                   **rounding_kwargs(args), pipeline=args.pipeline)

    def operand_formats(self):
        return {n: getattr(self, n) for n, _ in self.FORMATS[:-1]}

    def rounding_options(self) -> dict:
        """Rounding, saturate, flags, and for ``sr`` the random source."""
        out = {"rounding": self.rounding, "saturate": self.saturate, "flags": self.flags}
        if self.rounding == "sr":
            out.update(rand_bits=self.rand_bits, seed=self.seed, rand_source=self.rand_source)
        return out

    def params(self) -> dict:
        out = {n: getattr(self, n).spec for n, _ in self.FORMATS}
        out.update(self.rounding_options(), pipeline=self.pipeline)
        return out

    def default_name(self) -> str:
        fmts = "_".join(_ident(getattr(self, n)) for n, _ in self.FORMATS)
        return f"{self.PREFIX}_{fmts}{rounding_suffix(self)}" + (
            f"_p{self.pipeline}" if self.pipeline else "")

    def draws(self, inputs: dict) -> np.ndarray | None:
        """The ``sr`` draw of every vector: the ``rand`` port, or the unit's PRNG stream,
        which steps once per valid vector."""
        if self.rounding != "sr":
            return None
        if self.rand_source == "port":
            return inputs["rand"]
        n = len(next(iter(inputs.values())))
        valid = np.asarray(inputs.get("valid", np.ones(n)), dtype=bool)
        stream = draws(self.seed, int(valid.sum()) + 1, self.rand_bits)
        return stream[np.cumsum(valid) - valid]

    def expected(self, inputs):
        res = self.evaluate(inputs, self.draws(inputs))
        return {"y": res[0], "flags": res[1]} if self.flags else {"y": res}

    def golden(self, inputs):
        return self.expected(inputs)["y"]

    def evaluate(self, inputs: dict, rand) -> np.ndarray | tuple:
        """The golden function on ``inputs`` with draws ``rand``."""
        raise NotImplementedError

    def with_rand(self, inputs: dict, seed: int) -> dict:
        if self.rand_port:
            n = len(next(iter(inputs.values())))
            rng = np.random.default_rng(seed + 7)
            inputs["rand"] = rng.integers(0, 1 << self.rand_bits, n, dtype=np.uint64)
        return inputs

    def inputs_from_index(self, index):
        return self.with_rand(super().inputs_from_index(index), int(np.size(index)))

    def ports(self) -> list[Port]:
        ports = super().ports()
        if self.rand_port:
            ports.insert(-1 if not self.pipeline else -2, Port(
                "rand", "in", self.rand_bits,
                f"sr: this operation's {self.rand_bits}-bit random draw, with the operands"))
        if self.flags:
            ports.insert(len(ports) - (1 if self.pipeline else 0), Port(
                "flags", "out", 5, "exception flags of y, RISC-V fflags order: "
                "bit 0 NX, 1 UF (tiny after rounding), 2 OF, 3 DZ (0), 4 NV"))
        return ports

    def build_kwargs(self) -> dict:
        return dict(rounding=self.rounding, saturate=self.saturate, pipeline=self.pipeline,
                    flags=self.flags, rand_bits=self.rand_bits, seed=self.seed,
                    rand_source=self.rand_source)


def add_rounding_arguments(parser: argparse.ArgumentParser, default: str = "rne") -> None:
    parser.add_argument("--rounding", default=default, choices=ALL_ROUNDING_MODES,
                        help=f"rounding mode (default {default})")
    parser.add_argument("--saturate", action="store_true", help="overflow gives +-max")
    parser.add_argument("--flags", action="store_true",
                        help="add a 5-bit flags output (NX UF OF DZ NV, RISC-V order)")
    parser.add_argument("--rand-bits", type=nonneg_int_option, default=16, metavar="R",
                        help="sr: random bits per rounding, 1..32 (default 16)")
    parser.add_argument("--seed", type=nonneg_int_option, default=1, metavar="S",
                        help="sr: PRNG seed, 1..2**32-1 (default 1)")
    parser.add_argument("--rand-source", choices=("prng", "port"), default="prng",
                        help="sr: own xorshift32 PRNG (default) or a rand input port")


def rounding_kwargs(args: argparse.Namespace) -> dict:
    return {"rounding": args.rounding, "saturate": args.saturate, "flags": args.flags,
            "rand_bits": args.rand_bits, "seed": args.seed, "rand_source": args.rand_source}


def rounding_suffix(config) -> str:
    """Name suffix for rounding options: mode, saturation, flags, the sr source."""
    out = f"_{config.rounding}"
    if config.rounding == "sr":
        out += (f"{config.rand_bits}_port" if config.rand_source == "port"
                else f"{config.rand_bits}_s{config.seed}")
    if config.saturate:
        out += "_sat"
    if config.flags:
        out += "_flags"
    return out


@dataclass(frozen=True)
class MulConfig(ArithConfig):
    """mul: y = round(a * b)"""

    a: FloatFormat = field(default=None, kw_only=True)
    b: FloatFormat = field(default=None, kw_only=True)
    out: FloatFormat = field(default=None, kw_only=True)

    unit = "mul"
    PREFIX = "fpmul"
    FORMATS = (("a", "operand a"), ("b", "operand b"), ("out", "result"))
    result_meaning = "round(a * b)"

    def build(self):
        from fpforge.rtl.mul import FPMultiplier
        return FPMultiplier(self.a, self.b, self.out, **self.build_kwargs())

    def evaluate(self, inputs, rand):
        return arith.mul(inputs["a"], inputs["b"], self.a, self.b, self.out, self.rounding,
                         self.saturate, rand=rand, rand_bits=self.rand_bits, flags=self.flags)

    def test_inputs(self, n, seed):
        a, b = mul_operands(self.a, self.b, self.out, n, seed)
        return self.with_rand({"a": a, "b": b}, seed)


@dataclass(frozen=True)
class AddConfig(ArithConfig):
    """add: y = round(a + b)"""

    a: FloatFormat = field(default=None, kw_only=True)
    b: FloatFormat = field(default=None, kw_only=True)
    out: FloatFormat = field(default=None, kw_only=True)

    unit = "add"
    PREFIX = "fpadd"
    FORMATS = (("a", "operand a"), ("b", "operand b"), ("out", "result"))
    result_meaning = "round(a + b)"

    def build(self):
        from fpforge.rtl.add import FPAdder
        return FPAdder(self.a, self.b, self.out, **self.build_kwargs())

    def evaluate(self, inputs, rand):
        return arith.add(inputs["a"], inputs["b"], self.a, self.b, self.out, self.rounding,
                         self.saturate, rand=rand, rand_bits=self.rand_bits, flags=self.flags)

    def test_inputs(self, n, seed):
        a, b = add_operands(self.a, self.b, self.out, n, seed)
        return self.with_rand({"a": a, "b": b}, seed)


UNITS: dict[str, type[UnitConfig]] = {"mul": MulConfig, "add": AddConfig}
