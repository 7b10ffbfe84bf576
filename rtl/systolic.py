"""Output-stationary systolic GEMM array, mirror of ``fpforge.sim.gemm.systolic``.

Each PE is a :class:`~fpforge.rtl.accumulator.ChunkAccumulator` of exact products (one
fused round(a*b + inner) per cycle, chunk folds one cycle later), the same unit as the
stand-alone ``acc --products``.  Around the PEs there are only registers and wires:

* input skew and forwarding: row i of A travels right along a delay line, column j of B
  down along another, one register per PE, so PE (i, j) sees A[i, k] and B[k, j] i + j
  cycles after the beat that carried them;
* one shared control line (valid, last) whose stage i + j drives PE (i, j);
* drain: PE (i, cols-1) finishes row i of a tile last; in that cycle every PE of row i
  still holds its result, and an AND-OR select puts the whole row on ``y``.  Rows of a tile
  leave on consecutive cycles while the next tile computes.
"""

from __future__ import annotations

from amaranth import Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from fpforge.rtl.accumulator import ChunkAccumulator
from fpforge.sim.gemm import ArrayConfig

__all__ = ["SystolicArray"]


class SystolicArray(wiring.Component):
    """R x C output-stationary GEMM array: C = A x B per tile, K set at run time.

    Parameters
    ----------
    rows, cols : int
        Array shape R x C (1..64 each).
    a_fmt, b_fmt, acc_fmt : FloatFormat or str
        Formats of A, B and of the accumulators and results.
    chunk : int
        Chunk-based accumulation in every PE (0 = one running sum).
    rounding : {"rne", "rtz", "rna", "rup", "rdn", "sr"}
    seed : int
        ``sr``: PE (i, j) (flat index p = i*cols + j) draws from
        ``instance_seed(seed, p)``, its folds from ``instance_seed(seed, rows*cols + p)``.
    saturate : bool
    rand_bits : int
        ``sr`` random bits per rounding (1..32).

    Ports
    -----
    clk, rst : the ``sync`` domain (synchronous reset, active high; clears the sums)
    in_valid, in_last : In(1)
        A beat (one k) this cycle; it is the tile's last k (K = beats since the previous
        last).  A beat is taken when ``in_valid & in_ready``.
    a : In(rows * a_fmt.width)
        Column k of A: A[i, k] in bits ``[i*w, (i+1)*w)``.
    b : In(cols * b_fmt.width)
        Row k of B: B[k, j] in bits ``[j*w, (j+1)*w)``.
    in_ready : Out(1)
        Low only for a beat with ``in_last`` that comes fewer than :attr:`tile_interval`
        cycles after the previous tile's last beat (hold it until ``in_ready``); beats
        without ``in_last`` are always taken.
    y : Out(cols * acc_fmt.width)
        Row r of C: C[r, j] in bits ``[j*w, (j+1)*w)``, valid while ``out_valid``.
    out_valid, out_last : Out(1)
        Rows 0..R-1 of a tile on consecutive cycles, row 0 :attr:`latency` cycles after
        the cycle its last beat was taken; ``out_last`` with row R-1.
    """

    def __init__(self, rows: int, cols: int, a_fmt, b_fmt, acc_fmt, chunk: int = 0,
                 rounding: str = "rne", seed: int = 1, saturate: bool = False, *,
                 rand_bits: int = 16):
        self.config = ArrayConfig(rows, cols, a_fmt, b_fmt, acc_fmt, chunk, rounding, seed,
                                  saturate, rand_bits)
        cfg = self.config
        self.rows, self.cols = cfg.rows, cfg.cols
        self.a_fmt, self.b_fmt, self.acc_fmt = cfg.a_fmt, cfg.b_fmt, cfg.acc_fmt
        #: submodules emitted as modules of their own (``gen.emit.to_verilog``): the PEs,
        #: so synthesis works PE by PE instead of on one flat netlist of R*C PEs
        self.keep_hierarchy = [f"pe_{i}_{j}" for i in range(rows) for j in range(cols)]
        super().__init__({"in_valid": In(1), "in_last": In(1),
                          "a": In(rows * cfg.a_fmt.width), "b": In(cols * cfg.b_fmt.width),
                          "in_ready": Out(1), "y": Out(cols * cfg.acc_fmt.width),
                          "out_valid": Out(1), "out_last": Out(1)})

    @property
    def pe_latency(self) -> int:
        """Cycles from a PE's last input to its result (1 without chunking, else 2)."""
        return 1 if self.config.chunk == 0 else 2

    @property
    def latency(self) -> int:
        """Cycles from the cycle a tile's last beat is taken to its row 0 on ``y``."""
        return self.cols - 1 + self.pe_latency

    @property
    def tile_interval(self) -> int:
        """Fewest cycles between the last beats of two tiles: max(rows, cols).  Rows
        leave one per cycle and row r of the earlier tile must be out before the PEs of
        row r are overwritten."""
        return max(self.rows, self.cols)

    def _pe(self, i: int, j: int) -> ChunkAccumulator:
        cfg = self.config
        seed, fold_seed = cfg.pe_seeds(i, j)
        return ChunkAccumulator(None, cfg.acc_fmt, cfg.chunk, cfg.rounding, products=True,
                                a_fmt=cfg.a_fmt, b_fmt=cfg.b_fmt, saturate=cfg.saturate,
                                rand_bits=cfg.rand_bits, seed=seed, fold_seed=fold_seed)

    @staticmethod
    def _delay_line(m, first, stages: int, name: str, reset_less: bool = True) -> list:
        """``[first, first delayed 1 cycle, ..., delayed stages cycles]``."""
        line = [first]
        for d in range(1, stages + 1):
            reg = Signal.like(first, name=f"{name}_d{d}", reset_less=reset_less)
            m.d.sync += reg.eq(line[-1])
            line.append(reg)
        return line

    def _ready(self, m, taken_last):
        """``in_ready``: a last beat waits until tile_interval cycles after the previous."""
        interval = self.tile_interval
        if interval == 1:
            m.d.comb += self.in_ready.eq(1)
            return
        since_last = Signal(range(interval + 1), init=interval, name="since_last")
        with m.If(taken_last):
            m.d.sync += since_last.eq(1)
        with m.Elif(since_last != interval):
            m.d.sync += since_last.eq(since_last + 1)
        m.d.comb += self.in_ready.eq(~self.in_last | (since_last == interval))

    def elaborate(self, platform):
        m = Module()
        R, C = self.rows, self.cols
        aw, bw, yw = self.a_fmt.width, self.b_fmt.width, self.acc_fmt.width

        taken = Signal(name="taken")
        m.d.comb += taken.eq(self.in_valid & self.in_ready)
        self._ready(m, taken & self.in_last)
        valid = self._delay_line(m, taken, R + C - 2, "valid", reset_less=False)
        last = self._delay_line(m, self.in_last, R + C - 2, "last")
        a_rows = [self._delay_line(m, self.a[i * aw:(i + 1) * aw], i + C - 1, f"a{i}")
                  for i in range(R)]
        b_cols = [self._delay_line(m, self.b[j * bw:(j + 1) * bw], j + R - 1, f"b{j}")
                  for j in range(C)]

        pes = [[None] * C for _ in range(R)]
        for i in range(R):
            for j in range(C):
                pes[i][j] = pe = self._pe(i, j)
                m.submodules[f"pe_{i}_{j}"] = pe
                d = i + j
                m.d.comb += [pe.in_valid.eq(valid[d]), pe.in_last.eq(last[d]),
                             pe.a.eq(a_rows[i][d]), pe.b.eq(b_cols[j][d])]

        # Drain: row i is complete when its last PE reports; select that row.
        row_done = [pes[i][C - 1].out_valid for i in range(R)]
        for j in range(C):
            column = Const(0, yw)
            for i in range(R):
                column = column | (pes[i][j].y & row_done[i].replicate(yw))
            m.d.comb += self.y[j * yw:(j + 1) * yw].eq(column)
        any_done = Const(0, 1)
        for done in row_done:
            any_done = any_done | done
        m.d.comb += [self.out_valid.eq(any_done), self.out_last.eq(row_done[R - 1])]
        return m
