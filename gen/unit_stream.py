"""The streaming units with their own PRNGs: the chunk-based accumulator and AXPY
(``gen.units``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fpforge.gen.unit_base import (OwnPrngConfig, add_rounding_arguments, format_option,
                                   name_token, nonneg_int_option, rounding_suffix)
from fpforge.sim import accumulate
from fpforge.sim.formats import FloatFormat, parse
from fpforge.spec.checks import check_chunk, check_product_width, check_result_format
from fpforge.tb.protocols import stream_lengths, valid_mask
from fpforge.tb.vectors import accumulation_streams, mac_operands

__all__ = ["AccConfig", "AxpyConfig"]


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
        src = (f"{name_token(self.a)}x{name_token(self.b)}" if self.products
               else name_token(self.in_fmt))
        return f"fpacc_{src}_{name_token(self.acc)}_c{self.chunk}{rounding_suffix(self)}"

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
        return (f"fpaxpy_{name_token(self.alpha)}_{name_token(self.x)}_{name_token(self.y)}"
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
