"""The rounding arithmetic units: mul, add (two operands) and the MAC (``gen.units``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fpforge.gen.unit_base import (UnitConfig, add_rounding_arguments, format_option, name_token,
                                   nonneg_int_option, rounding_kwargs, rounding_suffix)
from fpforge.sim import arith
from fpforge.sim.formats import FloatFormat, parse
from fpforge.spec.checks import (check_mac_product, check_rand_bits, check_rand_source,
                                 check_result_format, check_rounding, check_seed, check_sr_bits)
from fpforge.tb.protocols import per_input_draws, valid_mask
from fpforge.tb.vectors import add_operands, mac_operands, mul_operands

__all__ = ["ArithConfig", "BinaryConfig", "MulConfig", "AddConfig", "MacConfig"]


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
        fmts = "_".join(name_token(getattr(self, n)) for n, _ in self.FORMATS)
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
            "fpmac_", f"fpmacu_{name_token(self.prod)}_", 1)

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
