"""The base of the unit configurations (``gen.units``): the interface every unit provides,
the command-line option types and the rounding options shared by the units."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field

import numpy as np

from fpforge.sim.formats import FloatFormat, parse
from fpforge.spec.checks import (ALL_ROUNDING_MODES, check_pipeline, check_rand_bits,
                                 check_rounding, check_seed, check_sr_bits)

__all__ = ["UnitConfig", "OwnPrngConfig", "format_option", "nonneg_int_option", "pos_int_option",
           "name_token", "add_rounding_arguments", "rounding_kwargs", "rounding_suffix"]


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


def pos_int_option(text: str) -> int:
    """argparse type for a count of at least 1."""
    value = nonneg_int_option(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, not {text!r}")
    return value


def name_token(fmt: FloatFormat) -> str:
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
