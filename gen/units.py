"""The unit registry: unit name + options -> configured component, golden function, ports.

One :class:`UnitConfig` subclass per unit.  The CLI, the Verilog emitter, the testbenches
and the area scripts all go through it, so a new unit is added here once.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field

import numpy as np

from fpforge.sim import accumulate, arith
from fpforge.sim.formats import FloatFormat, parse
from fpforge.spec.checks import (ALL_ROUNDING_MODES, check_chunk, check_mac_product,
                                 check_pipeline, check_product_width, check_rand_bits,
                                 check_rand_source, check_result_format, check_rounding,
                                 check_seed, check_sr_bits)
from fpforge.tb.protocols import (per_input_draws, stream_lengths, tile_bounds,
                                  valid_mask)
from fpforge.tb.vectors import (accumulation_streams, add_operands, gemm_beats, mac_operands,
                                mul_operands)

__all__ = ["UnitConfig", "ArithConfig", "BinaryConfig", "MulConfig", "AddConfig", "MacConfig",
           "OwnPrngConfig", "AccConfig", "AxpyConfig", "SystolicConfig", "UNITS"]


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
    #: "per_input": one result per valid input; "per_stream": one per ``in_last``;
    #: "per_tile": one row of results per cycle after each tile (the array)
    result = "per_input"
    #: whether verify may enumerate every input (narrow per-input units)
    enumerable = True
    #: input vectors of ``fpforge verify`` without ``--vectors``
    default_vectors = 100_000

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

    @classmethod
    def add_verify_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Stimulus options of ``fpforge verify <unit>`` beyond ``--vectors``."""

    @staticmethod
    def stimulus_options(args: argparse.Namespace) -> dict:
        """Keyword arguments of :meth:`test_inputs` from those options."""
        return {}

    def manifest_extra(self, unit) -> dict:
        """Unit-specific manifest entries, from the built component ``unit``."""
        return {}

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

    def port_meanings(self, unit) -> dict[str, str]:
        """{port: meaning} of the built component ``unit``'s ports (``gen.manifest``)."""
        o, latency = self.out_fmt, unit.latency
        lat = (f"valid {latency} cycles after its operands, 0 while out_valid is low"
               if latency else "combinational")
        return {**{n: f"operand {n}, {f} code ({f.spec})"
                   for n, f in self.operand_formats().items()},
                "y": f"{self.result_meaning}, {o} code ({o.spec}); {lat}",
                "clk": "clock, rising edge",
                "rst": "synchronous reset, active high (clears valid)",
                "in_valid": "operands valid this cycle",
                "out_valid": f"y valid: in_valid delayed by {latency} cycles"}


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
        check_sr_bits(self.out_fmt, self.rounding, self.rand_bits)
        check_seed(self.seed)
        check_rand_source(self.rounding, self.rand_source, self.pipeline > 0)
        check_result_format(self.out_fmt, *self.operand_formats().values())
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
        return per_input_draws(self.seed, self.rand_bits, valid_mask(inputs))

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

    def port_meanings(self, unit):
        return dict(super().port_meanings(unit),
                    rand=f"sr: this operation's {self.rand_bits}-bit random draw, with the "
                         "operands",
                    flags="exception flags of y, RISC-V fflags order: bit 0 NX, 1 UF (tiny "
                          "after rounding), 2 OF, 3 DZ (0), 4 NV")

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
class BinaryConfig(ArithConfig):
    """A two-operand unit: formats a, b and out; ``COMPONENT`` (module, class) builds the
    hardware, ``GOLDEN`` is its mirror and ``OPERANDS`` generates test vectors."""

    a: FloatFormat = field(default=None, kw_only=True)
    b: FloatFormat = field(default=None, kw_only=True)
    out: FloatFormat = field(default=None, kw_only=True)

    FORMATS = (("a", "operand a"), ("b", "operand b"), ("out", "result"))
    COMPONENT = ("", "")
    GOLDEN = OPERANDS = None

    def build(self):
        import importlib
        module, name = self.COMPONENT
        component = getattr(importlib.import_module(module), name)
        return component(self.a, self.b, self.out, **self.build_kwargs())

    def evaluate(self, inputs, rand):
        return self.GOLDEN(inputs["a"], inputs["b"], self.a, self.b, self.out, self.rounding,
                           self.saturate, rand=rand, rand_bits=self.rand_bits, flags=self.flags)

    def test_inputs(self, n, seed):
        a, b = self.OPERANDS(self.a, self.b, self.out, n, seed)
        return self.with_rand({"a": a, "b": b}, seed)


@dataclass(frozen=True)
class MulConfig(BinaryConfig):
    """mul: y = round(a * b)"""

    unit = "mul"
    PREFIX = "fpmul"
    result_meaning = "round(a * b)"
    COMPONENT = ("fpforge.rtl.mul", "FPMultiplier")
    GOLDEN = staticmethod(arith.mul)
    OPERANDS = staticmethod(mul_operands)


@dataclass(frozen=True)
class AddConfig(BinaryConfig):
    """add: y = round(a + b)"""

    unit = "add"
    PREFIX = "fpadd"
    result_meaning = "round(a + b)"
    COMPONENT = ("fpforge.rtl.add", "FPAdder")
    GOLDEN = staticmethod(arith.add)
    OPERANDS = staticmethod(add_operands)


@dataclass(frozen=True)
class MacConfig(ArithConfig):
    """mac: y = round(a * b + c), fused (one rounding) or with the product rounded first"""

    a: FloatFormat = field(default=None, kw_only=True)
    b: FloatFormat = field(default=None, kw_only=True)
    c: FloatFormat = field(default=None, kw_only=True)
    out: FloatFormat = field(default=None, kw_only=True)
    fused: bool = field(default=True, kw_only=True)
    prod: FloatFormat | None = field(default=None, kw_only=True)

    unit = "mac"
    PREFIX = "fpmac"
    FORMATS = (("a", "operand a"), ("b", "operand b"), ("c", "addend c"), ("out", "result"))
    result_meaning = "round(a * b + c)"

    def __post_init__(self):
        super().__post_init__()
        if self.prod is not None:
            object.__setattr__(self, "prod", parse(self.prod))
        check_mac_product(self.fused, self.prod, self.rounding, cli=True)

    @classmethod
    def add_arguments(cls, parser):
        super().add_arguments(parser)
        parser.add_argument("--no-fused", dest="fused", action="store_false",
                            help="round the product to --prod first (two roundings)")
        parser.add_argument("--prod", type=format_option, metavar="FMT",
                            help="product format with --no-fused")

    @classmethod
    def from_args(cls, args):
        return cls(**{n: getattr(args, n) for n, _ in cls.FORMATS}, fused=args.fused,
                   prod=args.prod, **rounding_kwargs(args), pipeline=args.pipeline)

    def params(self) -> dict:
        out = super().params()
        out.update(fused=self.fused, prod=None if self.prod is None else self.prod.spec)
        return out

    def default_name(self) -> str:
        name = super().default_name()
        return name if self.fused else name.replace(
            "fpmac_", f"fpmacu_{_ident(self.prod)}_", 1)

    def build(self):
        from fpforge.rtl.mac import FPMAC
        return FPMAC(self.a, self.b, self.c, self.out, fused=self.fused, prod_fmt=self.prod,
                     **self.build_kwargs())

    def evaluate(self, inputs, rand):
        return arith.fma(inputs["a"], inputs["b"], inputs["c"], self.a, self.b, self.c,
                         self.out, self.rounding, self.saturate, fused=self.fused,
                         prod_fmt=self.prod, rand=rand, rand_bits=self.rand_bits,
                         flags=self.flags)

    def test_inputs(self, n, seed):
        a, b, c = mac_operands(self.a, self.b, self.c, n, seed)
        return self.with_rand({"a": a, "b": b, "c": c}, seed)


@dataclass(frozen=True)
class OwnPrngConfig(UnitConfig):
    """Options of the streaming units that draw from their own PRNGs (acc, axpy, array):
    rounding, saturation, and for ``sr`` the random bits and the seed; no flags output."""

    rounding: str = field(default="rne", kw_only=True)
    saturate: bool = field(default=False, kw_only=True)
    rand_bits: int = field(default=16, kw_only=True)
    seed: int = field(default=1, kw_only=True)

    rand_source = "prng"

    def check_rounding_options(self) -> None:
        check_rounding(self.rounding)
        check_rand_bits(self.rand_bits)
        check_sr_bits(parse(self.out_fmt), self.rounding, self.rand_bits)
        check_seed(self.seed)
        object.__setattr__(self, "saturate", bool(self.saturate))

    @classmethod
    def rounding_args(cls, args: argparse.Namespace) -> dict:
        """The rounding options of the command line; flags and a rand port are refused."""
        if args.flags:
            raise ValueError(f"{cls.unit} has no flags output")
        if args.rand_source != "prng":
            raise ValueError(f"{cls.unit} draws from its own PRNGs (--rand-source prng)")
        return {"rounding": args.rounding, "saturate": args.saturate,
                "rand_bits": args.rand_bits, "seed": args.seed}

    @property
    def flags(self) -> bool:
        return False


@dataclass(frozen=True)
class AccConfig(OwnPrngConfig):
    """acc: streaming chunk-based accumulator, one result per stream"""

    in_fmt: FloatFormat | None = field(default=None, kw_only=True)
    acc: FloatFormat = field(default=None, kw_only=True)
    chunk: int = field(default=0, kw_only=True)
    products: bool = field(default=False, kw_only=True)
    a: FloatFormat | None = field(default=None, kw_only=True)
    b: FloatFormat | None = field(default=None, kw_only=True)

    unit = "acc"
    result = "per_stream"
    enumerable = False
    result_meaning = "sum of the stream"

    def __post_init__(self):
        if self.pipeline:
            raise ValueError("acc has a fixed latency; --pipeline does not apply")
        names = ("a", "b") if self.products else ("in_fmt",)
        for n in names + ("acc",):
            if getattr(self, n) is None:
                raise ValueError(f"acc needs format --{'in' if n == 'in_fmt' else n}"
                                 + (" (with --products)" if self.products else ""))
            object.__setattr__(self, n, parse(getattr(self, n)))
        unused = [n for n in (("in_fmt",) if self.products else ("a", "b"))
                  if getattr(self, n) is not None]
        if unused:
            raise ValueError("--in is not used with --products" if self.products
                             else "--a/--b need --products")
        check_chunk(self.chunk)
        self.check_rounding_options()
        check_result_format(self.acc, *self.operand_formats().values())
        if self.products:
            check_product_width(self.a, self.b)

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--in", dest="in_fmt", type=format_option, metavar="FMT",
                            help="input format (not with --products)")
        parser.add_argument("--acc", required=True, type=format_option, metavar="FMT",
                            help="accumulator and result format")
        parser.add_argument("--chunk", type=nonneg_int_option, default=0, metavar="N",
                            help="inputs per chunk; 0 = no chunking (default)")
        parser.add_argument("--products", action="store_true",
                            help="accumulate exact products of --a and --b inputs")
        parser.add_argument("--a", type=format_option, metavar="FMT", help="product operand a")
        parser.add_argument("--b", type=format_option, metavar="FMT", help="product operand b")
        add_rounding_arguments(parser)

    @classmethod
    def from_args(cls, args):
        return cls(in_fmt=args.in_fmt, acc=args.acc, chunk=args.chunk,
                   products=args.products, a=args.a, b=args.b, **cls.rounding_args(args))

    @property
    def out_fmt(self):
        return self.acc

    @property
    def latency(self) -> int:
        from fpforge.rtl.accumulator import stream_latency
        return stream_latency(self.chunk)

    def operand_formats(self):
        return {"a": self.a, "b": self.b} if self.products else {"x": self.in_fmt}

    def build(self):
        from fpforge.rtl.accumulator import ChunkAccumulator
        return ChunkAccumulator(self.in_fmt, self.acc, self.chunk, self.rounding,
                                products=self.products, a_fmt=self.a, b_fmt=self.b,
                                saturate=self.saturate, rand_bits=self.rand_bits,
                                seed=self.seed)

    def golden(self, inputs):
        valid = valid_mask(inputs)
        xs = (inputs["a"][valid], inputs["b"][valid]) if self.products else inputs["x"][valid]
        return accumulate.chunked(xs, self.in_fmt, self.acc, self.chunk, self.rounding,
                                  self.saturate, lengths=stream_lengths(inputs, valid),
                                  products=self.products,
                                  a_fmt=self.a, b_fmt=self.b, seed=self.seed,
                                  rand_bits=self.rand_bits)

    def default_name(self) -> str:
        src = (f"{_ident(self.a)}x{_ident(self.b)}" if self.products else _ident(self.in_fmt))
        return f"fpacc_{src}_{_ident(self.acc)}_c{self.chunk}{rounding_suffix(self)}"

    def params(self) -> dict:
        out = {"acc": self.acc.spec, "chunk": self.chunk, "products": self.products}
        if self.products:
            out.update(a=self.a.spec, b=self.b.spec)
        else:
            out["in"] = self.in_fmt.spec
        out.update(rounding=self.rounding, saturate=self.saturate)
        if self.rounding == "sr":
            out.update(rand_bits=self.rand_bits, seed=self.seed)
        return out

    def test_inputs(self, n, seed):
        """About ``n`` inputs in streams of 1..4096 (short ones first), with specials at a
        low rate and random ``in_valid`` gaps in the second half."""
        return accumulation_streams(self.operand_formats(), n, seed)

    def all_inputs(self):
        raise ValueError("acc has no exhaustive mode: give --vectors N (inputs)")

    def port_meanings(self, unit):
        how = (f"inner := round({'a*b' if self.products else 'x'} + inner)" +
               (f"; every {self.chunk} inputs and at the end outer := round(inner + outer)"
                if self.chunk else ""))
        return {"clk": "clock, rising edge",
                "rst": "synchronous reset, active high (clears the sums)",
                "in_valid": "an input this cycle (one per cycle, no bubbles needed)",
                "in_last": "this input ends its stream; the next stream may start the next "
                           "cycle",
                **{n: f"{'product operand' if self.products else 'input'} {n}, {f} code "
                      f"({f.spec})" for n, f in self.operand_formats().items()},
                "y": f"the stream's sum ({how}), {self.acc} code ({self.acc.spec}); held "
                     "until the next sum, 0 after reset",
                "out_valid": f"y valid: one cycle, {unit.latency} cycles after the cycle of "
                             "in_last"}


@dataclass(frozen=True)
class AxpyConfig(OwnPrngConfig):
    """axpy: streaming weight update y' = round(y + alpha * x), stochastic by default"""

    alpha: FloatFormat = field(default=None, kw_only=True)
    x: FloatFormat = field(default=None, kw_only=True)
    y: FloatFormat = field(default=None, kw_only=True)
    rounding: str = field(default="sr", kw_only=True)
    pipeline: int = 1

    unit = "axpy"
    result_meaning = "round(y_in + alpha * x)"

    def __post_init__(self):
        super().__post_init__()
        if self.pipeline < 1:
            raise ValueError("axpy is a streaming unit: --pipeline must be >= 1")
        for n in ("alpha", "x", "y"):
            if getattr(self, n) is None:
                raise ValueError(f"axpy needs format --{n}")
            object.__setattr__(self, n, parse(getattr(self, n)))
        self.check_rounding_options()
        check_result_format(self.y, self.alpha, self.x, self.y)

    @classmethod
    def add_arguments(cls, parser):
        for n, meaning in (("alpha", "step size alpha"), ("x", "gradient x"),
                           ("y", "weight y (in and out)")):
            parser.add_argument(f"--{n}", required=True, type=format_option, metavar="FMT",
                                help=f"{meaning} format")
        add_rounding_arguments(parser, default="sr")
        parser.add_argument("--pipeline", type=nonneg_int_option, default=1, metavar="N",
                            help="latency in cycles, >= 1 (default 1)")

    @classmethod
    def from_args(cls, args):
        return cls(alpha=args.alpha, x=args.x, y=args.y, pipeline=args.pipeline,
                   **cls.rounding_args(args))

    @property
    def out_fmt(self):
        return self.y

    def operand_formats(self):
        return {"alpha": self.alpha, "x": self.x, "y_in": self.y}

    def build(self):
        from fpforge.rtl.accumulator import AXPY
        return AXPY(self.alpha, self.x, self.y, self.rounding, self.saturate, self.pipeline,
                    rand_bits=self.rand_bits, seed=self.seed)

    def golden(self, inputs):
        valid = valid_mask(inputs)
        out = np.zeros(valid.size, dtype=self.y.dtype)
        out[valid] = accumulate.axpy(inputs["alpha"][valid], inputs["x"][valid],
                                     inputs["y_in"][valid], self.alpha, self.x, self.y,
                                     self.rounding, self.saturate, seed=self.seed,
                                     rand_bits=self.rand_bits)
        return out

    def default_name(self) -> str:
        return (f"fpaxpy_{_ident(self.alpha)}_{_ident(self.x)}_{_ident(self.y)}"
                f"{rounding_suffix(self)}_p{self.pipeline}")

    def params(self) -> dict:
        out = {"alpha": self.alpha.spec, "x": self.x.spec, "y": self.y.spec,
               "rounding": self.rounding, "saturate": self.saturate, "pipeline": self.pipeline}
        if self.rounding == "sr":
            out.update(rand_bits=self.rand_bits, seed=self.seed)
        return out

    def test_inputs(self, n, seed):
        """Streams with alpha held per stream of 64 elements, gradients x and weights y
        from corner, targeted (y near alpha*x, ulp-scale updates) and random codes."""
        c, a, b = mac_operands(self.y, self.alpha, self.x, n, seed)
        alpha = np.repeat(a[::64], 64)[:n]
        return {"alpha": alpha, "x": b, "y_in": c}


def _pos_dim(text: str) -> int:
    value = nonneg_int_option(text)
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"must be an integer 1..64, not {text!r}")
    return value


@dataclass(frozen=True)
class SystolicConfig(OwnPrngConfig):
    """array: R x C output-stationary systolic GEMM array of chunk-accumulating MAC PEs"""

    rows: int = field(default=None, kw_only=True)
    cols: int = field(default=None, kw_only=True)
    a: FloatFormat = field(default=None, kw_only=True)
    b: FloatFormat = field(default=None, kw_only=True)
    acc: FloatFormat = field(default=None, kw_only=True)
    chunk: int = field(default=0, kw_only=True)

    unit = "array"
    result = "per_tile"
    enumerable = False
    default_vectors = 2_000  # beats
    result_meaning = "row r of C = A x B"

    def __post_init__(self):
        if self.pipeline:
            raise ValueError("array has a fixed latency; --pipeline does not apply")
        for n in ("a", "b", "acc"):
            if getattr(self, n) is None:
                raise ValueError(f"array needs format --{n}")
        self.check_rounding_options()
        cfg = self.array  # checks the shape, formats and chunk
        for n in ("a", "b", "acc"):
            object.__setattr__(self, n, getattr(cfg, f"{n}_fmt"))

    @property
    def array(self):
        """The :class:`fpforge.sim.gemm.ArrayConfig` shared by the RTL and the golden GEMM."""
        from fpforge.sim.gemm import ArrayConfig
        return ArrayConfig(self.rows, self.cols, self.a, self.b, self.acc, self.chunk,
                           self.rounding, self.seed, self.saturate, self.rand_bits)

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--rows", required=True, type=_pos_dim, metavar="R",
                            help="PE rows (rows of A and C), 1..64")
        parser.add_argument("--cols", required=True, type=_pos_dim, metavar="C",
                            help="PE columns (columns of B and C), 1..64")
        for n, meaning in (("a", "A"), ("b", "B"), ("acc", "accumulator and result")):
            parser.add_argument(f"--{n}", required=True, type=format_option, metavar="FMT",
                                help=f"{meaning} format")
        parser.add_argument("--chunk", type=nonneg_int_option, default=0, metavar="N",
                            help="chunk-based accumulation in every PE; 0 = none (default)")
        add_rounding_arguments(parser)

    @classmethod
    def from_args(cls, args):
        return cls(rows=args.rows, cols=args.cols, a=args.a, b=args.b, acc=args.acc,
                   chunk=args.chunk, **cls.rounding_args(args))

    @classmethod
    def add_verify_arguments(cls, parser):
        parser.add_argument("--gemms", type=nonneg_int_option, metavar="N",
                            help="tiles (GEMMs) to run back to back (default: as many as "
                                 "--vectors beats allow)")
        parser.add_argument("--k", type=nonneg_int_option, metavar="K",
                            help="K of every tile (default: 1, 2, 3, then random 1..64)")

    @staticmethod
    def stimulus_options(args):
        for name in ("gemms", "k"):
            if getattr(args, name) == 0:
                raise ValueError(f"--{name} must be >= 1")
        return {"gemms": args.gemms, "k": args.k}

    @property
    def out_fmt(self):
        return self.acc

    @property
    def latency(self) -> int:
        """Cycles from a tile's last beat to its row 0 (``rtl.systolic.array_latency``)."""
        from fpforge.rtl.systolic import array_latency
        return array_latency(self.array)

    @property
    def tile_interval(self) -> int:
        """``rtl.systolic.tile_interval``."""
        from fpforge.rtl.systolic import tile_interval
        return tile_interval(self.array)

    @property
    def input_bits(self) -> int:
        return self.rows * self.a.width + self.cols * self.b.width

    def operand_formats(self):
        return {"a": self.a, "b": self.b}

    def build(self):
        from fpforge.rtl.systolic import SystolicArray
        return SystolicArray(self.rows, self.cols, self.a, self.b, self.acc, self.chunk,
                             self.rounding, self.seed, self.saturate, rand_bits=self.rand_bits)

    def golden(self, inputs):
        """Result rows ``(tiles * rows, cols)`` of the tiles in ``inputs`` (beats)."""
        from fpforge.sim.gemm import systolic
        valid = valid_mask(inputs)
        a, b = inputs["a"][valid], inputs["b"][valid]
        tiles = tile_bounds(inputs, valid)
        codes = systolic([a[s:e].T for s, e in tiles], [b[s:e] for s, e in tiles], self.array)
        return codes.reshape(-1, self.cols)

    def test_inputs(self, n, seed, gemms=None, k=None, idle=0.1):
        """Back-to-back tiles (``gemm_beats``) totalling about ``n`` beats, or ``gemms``
        tiles; K = ``k`` (an int, or a list used in turn), or 1, 2, 3, then random 1..64;
        a fraction ``idle`` of idle cycles after the first tile."""
        rng = np.random.default_rng(seed + 11)
        ks = [k] if isinstance(k, int) else k
        lengths, total = [], 0
        while (len(lengths) < gemms) if gemms else (total < n or not lengths):
            i = len(lengths)
            lengths.append(ks[i % len(ks)] if ks else
                           (i + 1 if i < 3 else int(rng.integers(1, 65))))
            total += lengths[-1]
        return gemm_beats(self.a, self.b, self.rows, self.cols, lengths, seed, gaps=idle)

    def all_inputs(self):
        raise ValueError("array has no exhaustive mode: give --gemms N [--k K] or --vectors N")

    def default_name(self) -> str:
        return (f"fparray_{self.rows}x{self.cols}_{_ident(self.a)}x{_ident(self.b)}_"
                f"{_ident(self.acc)}_c{self.chunk}{rounding_suffix(self)}")

    def params(self) -> dict:
        out = {"rows": self.rows, "cols": self.cols, "a": self.a.spec, "b": self.b.spec,
               "acc": self.acc.spec, "chunk": self.chunk, "rounding": self.rounding,
               "saturate": self.saturate}
        if self.rounding == "sr":
            out.update(rand_bits=self.rand_bits, seed=self.seed)
        return out

    def manifest_extra(self, unit) -> dict:
        return {"array": {"rows": self.rows, "cols": self.cols,
                          "tile_interval": unit.tile_interval,
                          "lanes": {"a": self.rows, "b": self.cols, "y": self.cols}}}

    def port_meanings(self, unit):
        R, C, a, b, acc = self.rows, self.cols, self.a, self.b, self.acc
        how = ("inner := round(a*b + inner) per k" +
               (f"; after every {self.chunk} k and at the end, in a cycle of its own through "
                "the same MAC, outer := round(inner + outer)" if self.chunk else ""))
        interval = unit.tile_interval
        return {
            "clk": "clock, rising edge",
            "rst": "synchronous reset, active high (clears the sums)",
            "in_valid": "a beat (one k of the tile) this cycle; taken when in_valid & in_ready",
            "in_last": "this beat is the tile's last k (K = beats since the previous last); "
                       "the next tile may start the next cycle",
            "a": f"column k of A: A[i,k] in bits [{a.width}*i +: {a.width}], i = 0..{R - 1}, "
                 f"{a} codes ({a.spec})",
            "b": f"row k of B: B[k,j] in bits [{b.width}*j +: {b.width}], j = 0..{C - 1}, "
                 f"{b} codes ({b.spec})",
            "in_ready": (
                f"low while a beat with in_last comes less than {interval} cycles after the "
                "previous tile's last beat (hold it)" if not self.chunk else
                f"low in the fold cycle after every {self.chunk}th beat of a tile and after its "
                f"last beat, and while the beat that ends a tile's first chunk comes less than "
                f"{interval} cycles after the previous tile's last beat (hold it): a tile of K "
                f"beats takes K + ceil(K/{self.chunk}) cycles"),
            "y": f"row r of C = A x B: C[r,j] in bits [{acc.width}*j +: {acc.width}], {acc} "
                 f"codes ({acc.spec}); each PE: {how}",
            "out_valid": f"y holds a row: rows 0..{R - 1} of a tile on consecutive cycles, "
                         f"row 0 {unit.latency} cycles after the cycle its last beat was taken",
            "out_last": f"y holds row {R - 1}, the tile's last",
        }


UNITS: dict[str, type[UnitConfig]] = {"mul": MulConfig, "add": AddConfig, "mac": MacConfig,
                                      "acc": AccConfig, "axpy": AxpyConfig,
                                      "array": SystolicConfig}
