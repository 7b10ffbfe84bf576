"""Output-stationary systolic GEMM array, mirror of ``fpforge.sim.gemm.systolic``.

Each PE (:class:`SystolicPE`) is one fused MAC and its registers: one round(a*b + inner)
per beat; with chunking, a chunk's fold round(inner + outer) goes through the same MAC in
a cycle of its own, so a PE has no second adder.  Around the PEs there are only registers
and wires:

* input skew and forwarding: row i of A travels right along a delay line, column j of B
  down along another, one register per PE, so PE (i, j) sees A[i, k] and B[k, j] i + j
  cycles after the beat that carried them;
* one shared control line (valid, fold, last) whose stage i + j drives PE (i, j); with
  chunking the array's input counts the beats of a chunk and holds ``in_ready`` low in
  the fold cycle after a chunk's last beat (and after a tile's last beat): a bubble that
  reaches every PE right after its own chunk's last product;
* drain: PE (i, cols-1) finishes row i of a tile last; in that cycle every PE of row i
  still holds its result, and an AND-OR select puts the whole row on ``y`` (with
  chunking the same signal clears the row's ``outer`` sums for the next tile).  Rows of a
  tile leave on consecutive cycles while the next tile computes.
"""

from __future__ import annotations

from amaranth import Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from fpforge.rtl.accumulator import running_sum, stream_latency
from fpforge.rtl.mac import FPMAC
from fpforge.rtl.prng import Xorshift32
from fpforge.sim.gemm import ArrayConfig

__all__ = ["SystolicArray", "SystolicPE", "pe_latency", "array_latency", "tile_interval"]


def pe_latency(cfg: ArrayConfig) -> int:
    """Cycles from a PE's last beat to its ``out_valid``: 1, or 2 with the fold cycle."""
    return stream_latency(cfg.chunk)


def array_latency(cfg: ArrayConfig) -> int:
    """Cycles from the cycle a tile's last beat is taken to its row 0 on ``y``."""
    return cfg.cols - 1 + pe_latency(cfg)


def tile_interval(cfg: ArrayConfig) -> int:
    """Fewest cycles from a tile's last beat to the beat that overwrites its results:
    without chunking the next tile's last beat, max(rows, cols); with chunking the beat
    that ends the next tile's first chunk, whose fold must come after the row's drain has
    cleared ``outer``: max(rows, cols + 1).  Rows leave one per cycle and row r must be
    out before the PEs of row r are overwritten."""
    return max(cfg.rows, cfg.cols + (1 if cfg.chunk else 0))


class SystolicPE(wiring.Component):
    """A PE of :class:`SystolicArray`: one fused MAC (``rtl.mac.FPMAC``) and the PE's
    registers, mirror of one output of ``sim.gemm.systolic``.

    Every cycle with ``in_valid``: ``inner := round(a*b + inner)``.  ``chunk=0``: the beat
    with ``in_last`` also writes that sum to ``y`` and restarts ``inner`` at +0.
    ``chunk > 0``: a cycle with ``fold`` (never with ``in_valid``) computes
    ``outer := round(inner + outer)`` through the same MAC and restarts ``inner`` at +0;
    ``y`` is ``outer``, the tile's result after its last fold, until ``clear`` (its row
    has drained) restarts ``outer`` at +0 for the next tile.  ``sr``: one xorshift32 PRNG
    seeded ``seed`` steps once per rounding, beats and folds alike.

    Ports
    -----
    clk, rst : the ``sync`` domain (synchronous reset: the sums and ``y`` to +0)
    in_valid, in_last : In(1); fold, clear : In(1) (only with ``chunk > 0``)
    a : In(a_fmt.width), b : In(b_fmt.width)
    y : Out(acc_fmt.width), the last result, held as said above
    out_valid : Out(1)
        High for one cycle, :attr:`latency` cycles after the last beat.
    """

    def __init__(self, cfg: ArrayConfig, seed: int):
        self.cfg, self.seed = cfg, seed
        ctl = {"in_valid": In(1), "in_last": In(1)} | (
            {"fold": In(1), "clear": In(1)} if cfg.chunk else {})
        super().__init__(ctl | {"a": In(cfg.a_fmt.width), "b": In(cfg.b_fmt.width),
                                "y": Out(cfg.acc_fmt.width), "out_valid": Out(1)})

    @property
    def latency(self) -> int:
        """:func:`pe_latency`."""
        return pe_latency(self.cfg)

    def elaborate(self, platform):
        m = Module()
        cfg, acc = self.cfg, self.cfg.acc_fmt
        chunked = cfg.chunk > 0
        m.submodules.inner_mac = mac = FPMAC(cfg.a_fmt, cfg.b_fmt, acc, acc,
                                             rounding=cfg.rounding, saturate=cfg.saturate,
                                             rand_bits=cfg.rand_bits, rand_source="port",
                                             fold=chunked)
        inner = Signal(acc.width, name="inner")  # reset: +0
        m.d.comb += [mac.a.eq(self.a), mac.b.eq(self.b), mac.c.eq(inner)]
        if cfg.rounding == "sr":
            m.submodules.prng0 = prng = Xorshift32(self.seed, cfg.rand_bits)
            m.d.comb += [prng.step.eq(self.in_valid | self.fold if chunked else self.in_valid),
                         mac.rand.eq(prng.draw)]

        if not chunked:
            running_sum(m, self, inner, mac.y)
            return m

        outer = Signal(acc.width, name="outer")  # reset: +0, so y is never X
        m.d.comb += [mac.fold.eq(self.fold), mac.z.eq(outer), self.y.eq(outer)]
        with m.If(self.in_valid):
            m.d.sync += inner.eq(mac.y)
        with m.If(self.fold):
            m.d.sync += [inner.eq(0), outer.eq(mac.y)]
        with m.If(self.clear):  # never with fold (the array's in_ready sees to it)
            m.d.sync += outer.eq(0)
        m.d.sync += self.out_valid.eq(self.fold & self.in_last)
        return m


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
        ``sr``: PE (i, j) (flat index p = i*cols + j) draws from ``instance_seed(seed, p)``
        (its beats and folds in cycle order).
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
        Low for a beat with ``in_last`` (with chunking: the beat that ends a tile's first
        chunk) that comes fewer than :attr:`tile_interval` cycles after the previous
        tile's last beat (hold it until ``in_ready``), and, with chunking, in the fold
        cycle after every ``chunk``-th beat of a tile and after its last beat; other beats
        are taken.  With chunking a tile of K beats takes K + ceil(K / chunk) cycles.
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
    def latency(self) -> int:
        """:func:`array_latency`."""
        return array_latency(self.config)

    @property
    def tile_interval(self) -> int:
        """:func:`tile_interval`."""
        return tile_interval(self.config)

    def _pe(self, i: int, j: int) -> SystolicPE:
        return SystolicPE(self.config, self.config.pe_seed(i, j))

    @staticmethod
    def _delay_line(m, first, stages: int, name: str, reset_less: bool = True) -> list:
        """``[first, first delayed 1 cycle, ..., delayed stages cycles]``."""
        line = [first]
        for d in range(1, stages + 1):
            reg = Signal.like(first, name=f"{name}_d{d}", reset_less=reset_less)
            m.d.sync += reg.eq(line[-1])
            line.append(reg)
        return line

    def _control(self, m):
        """The input side: ``in_ready`` and the control line's first stage, as
        (taken, fold, last).  ``taken``: a beat is taken this cycle.  Without chunking
        ``last`` is ``in_last`` (fold is None).  With chunking ``fold``: this cycle folds
        the chunk that the previous cycle's beat ended, ``last``: that beat was the tile's
        last.
        ``in_ready`` is low in a fold cycle, and for a beat that overwrites the previous
        tile's results (without chunking a last beat; with chunking the beat that ends a
        tile's first chunk, whose fold writes ``outer``) fewer than ``tile_interval``
        cycles after the previous tile's last beat."""
        chunk, interval = self.config.chunk, self.tile_interval
        taken = Signal(name="taken")
        m.d.comb += taken.eq(self.in_valid & self.in_ready)
        if chunk:
            count = Signal(range(chunk), name="count")  # beats of the chunk so far
            first_chunk = Signal(init=1, name="first_chunk")
            fold, last = Signal(name="fold"), Signal(name="fold_last")
            chunk_ends = self.in_last | (count == chunk - 1)
            with m.If(taken):
                m.d.sync += count.eq(Mux(chunk_ends, 0, count + 1))
                with m.If(chunk_ends):
                    m.d.sync += first_chunk.eq(self.in_last)
            m.d.sync += [fold.eq(taken & chunk_ends), last.eq(self.in_last)]
            overwrites, ready = first_chunk & chunk_ends, ~fold
        else:
            fold = None
            last = overwrites = self.in_last
            ready = None
        if interval > 1:
            since_last = Signal(range(interval + 1), init=interval, name="since_last")
            with m.If(taken & self.in_last):
                m.d.sync += since_last.eq(1)
            with m.Elif(since_last != interval):
                m.d.sync += since_last.eq(since_last + 1)
            waits = ~overwrites | (since_last == interval)
            ready = waits if ready is None else ready & waits
        m.d.comb += self.in_ready.eq(1 if ready is None else ready)
        return taken, fold, last

    def elaborate(self, platform):
        m = Module()
        R, C = self.rows, self.cols
        aw, bw, yw = self.a_fmt.width, self.b_fmt.width, self.acc_fmt.width

        taken, fold, last = self._control(m)
        chunked = self.config.chunk > 0
        valid = self._delay_line(m, taken, R + C - 2, "valid", reset_less=False)
        last = self._delay_line(m, last, R + C - 2, "last")
        if chunked:
            folds = self._delay_line(m, fold, R + C - 2, "fold", reset_less=False)
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
                if chunked:
                    m.d.comb += pe.fold.eq(folds[d])

        # Drain: row i is complete when its last PE reports; select that row (and clear
        # its sums).
        row_done = [pes[i][C - 1].out_valid for i in range(R)]
        if chunked:
            m.d.comb += [pes[i][j].clear.eq(row_done[i]) for i in range(R) for j in range(C)]
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
