"""The systolic GEMM array (``gen.units``)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import numpy as np

from fpforge.gen.unit_base import (OwnPrngConfig, add_rounding_arguments, format_option,
                                   name_token, nonneg_int_option, rounding_suffix)
from fpforge.sim.formats import FloatFormat
from fpforge.tb.protocols import tile_bounds, valid_mask
from fpforge.tb.vectors import gemm_beats

__all__ = ["SystolicConfig"]


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
        return (f"fparray_{self.rows}x{self.cols}_{name_token(self.a)}x{name_token(self.b)}_"
                f"{name_token(self.acc)}_c{self.chunk}{rounding_suffix(self)}")

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
