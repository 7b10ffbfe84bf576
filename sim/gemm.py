"""Golden GEMM of the output-stationary systolic array (``rtl/systolic.py``).

PE (i, j) of an R x C array owns C[i, j]: for every tile it accumulates the exact products
A[i, k] * B[k, j] for k = 0..K-1 in that order with chunk-based accumulation (the
stand-alone accumulator's arithmetic, ``accumulate.chunked_lanes``), so the codes here are
the codes the array produces.  Both run on the compiled kernel of ``sim.kernel``.  Tiles run back to back through the same
PEs; in ``sr`` mode the PE's PRNGs run on across tiles.

PRNG seeds (flat index ``p = i * cols + j``): PE p has one PRNG, seeded
``instance_seed(seed, p)``; it draws once per rounding in the PE's cycle order, so with
chunking the fold of a chunk draws right after the chunk's last product (the PE's one MAC
does both), and no two PEs of an array share a stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fpforge.sim import arith, kernel
from fpforge.sim.formats import FloatFormat, parse
from fpforge.sim.prng import instance_seed, instance_seeds
from fpforge.spec.checks import (check_chunk, check_dim, check_product_width, check_rand_bits,
                                 check_result_format, check_rounding, check_seed, check_sr_bits)

__all__ = ["ArrayConfig", "ErrorReport", "systolic", "matmul", "error_report", "compare",
           "gaussian_error", "tiles", "PROGRESS_MACS"]


@dataclass(frozen=True)
class ArrayConfig:
    """An R x C array: operand formats of A and B, the accumulator (and result) format,
    chunk size (0 = one running sum), rounding of every accumulation step, PRNG seed and
    random bits for ``sr``, overflow saturation."""

    rows: int
    cols: int
    a_fmt: FloatFormat
    b_fmt: FloatFormat
    acc_fmt: FloatFormat
    chunk: int = 0
    rounding: str = "rne"
    seed: int = 1
    saturate: bool = False
    rand_bits: int = 16

    def __post_init__(self):
        object.__setattr__(self, "rows", check_dim("rows", self.rows))
        object.__setattr__(self, "cols", check_dim("cols", self.cols))
        for name in ("a_fmt", "b_fmt", "acc_fmt"):
            object.__setattr__(self, name, parse(getattr(self, name)))
        check_chunk(self.chunk)
        check_rounding(self.rounding)
        check_seed(self.seed)
        check_rand_bits(self.rand_bits)
        check_sr_bits(self.acc_fmt, self.rounding, self.rand_bits)
        object.__setattr__(self, "saturate", bool(self.saturate))
        check_result_format(self.acc_fmt, self.a_fmt, self.b_fmt)
        check_product_width(self.a_fmt, self.b_fmt)

    def pe_seed(self, i: int, j: int) -> int:
        """PRNG seed of PE (i, j): ``instance_seed(seed, i * cols + j)``."""
        return instance_seed(self.seed, i * self.cols + j)


def tiles(A_codes, B_codes, cfg: ArrayConfig) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Tiles as the array sees them: A as ``(rows, total)`` and B as ``(total, cols)``
    codes, tiles concatenated along k, and the list of tile lengths K_t.

    ``A_codes``: one tile ``(rows, K)``, tiles ``(T, rows, K)``, or a sequence of
    ``(rows, K_t)`` arrays; ``B_codes`` alike with ``(K, cols)``."""
    def as_list(codes, name):
        if isinstance(codes, np.ndarray) and codes.ndim in (2, 3):
            return list(codes) if codes.ndim == 3 else [codes]
        if isinstance(codes, (list, tuple)) and codes:
            return [np.asarray(c) for c in codes]
        raise ValueError(f"{name}: give a 2-D tile, a 3-D stack of tiles or a list of tiles")

    a_tiles, b_tiles = as_list(A_codes, "A"), as_list(B_codes, "B")
    if not a_tiles:
        raise ValueError("no tiles")
    if len(a_tiles) != len(b_tiles):
        raise ValueError(f"{len(a_tiles)} A tiles but {len(b_tiles)} B tiles")
    lengths = []
    for t, (a, b) in enumerate(zip(a_tiles, b_tiles)):
        if a.ndim != 2 or b.ndim != 2 or a.shape[0] != cfg.rows or b.shape[1] != cfg.cols \
                or a.shape[1] != b.shape[0] or a.shape[1] < 1:
            raise ValueError(f"tile {t}: A {a.shape} x B {b.shape} does not fit a "
                             f"{cfg.rows}x{cfg.cols} array (A: rows x K, B: K x cols, K >= 1)")
        lengths.append(a.shape[1])
    a = arith.check_codes(np.concatenate(a_tiles, axis=1), cfg.a_fmt, "A")
    b = arith.check_codes(np.concatenate(b_tiles, axis=0), cfg.b_fmt, "B")
    return a, b, lengths


def _single(A_codes, B_codes) -> bool:
    """One tile given as two 2-D arrays: results as (rows, cols)."""
    return all(isinstance(x, np.ndarray) and x.ndim == 2 for x in (A_codes, B_codes))


@dataclass(frozen=True)
class ErrorReport:
    """The array's results against a float64 GEMM of the same (decoded) operands, over the
    results where both are finite: max and mean absolute error, the relative Frobenius
    error ||C - C64|| / ||C64|| (Inf if C64 is all zero and C is not); ``nonfinite``:
    results that are Inf/NaN where the float64 GEMM is finite."""

    max_abs: float
    mean_abs: float
    rel_fro: float
    nonfinite: int

    def as_dict(self) -> dict:
        return {"max_abs": self.max_abs, "mean_abs": self.mean_abs, "rel_fro": self.rel_fro,
                "nonfinite": self.nonfinite}


def systolic(A_codes, B_codes, cfg: ArrayConfig, report: bool = False):
    """The codes of C = A x B that the array produces, per tile: ``(rows, cols)`` for one
    2-D tile, else ``(T, rows, cols)``.  ``report=True`` returns ``(codes, ErrorReport)``.
    """
    a, b, lengths = tiles(A_codes, B_codes, cfg)
    codes = _pe_sums(a, b, lengths, cfg, cfg.rows, cfg.cols)
    if _single(A_codes, B_codes):
        codes = codes[0]
    return (codes, error_report(A_codes, B_codes, codes, cfg)) if report else codes


def _pe_sums(a, b, lengths, cfg: ArrayConfig, rows: int, cols: int,
             row0: int = 0) -> np.ndarray:
    """``(tiles, len(a), cols)`` sums with ``cfg``'s arithmetic: output (i, j) accumulates
    row i of ``a`` times column j of ``b`` in streams of ``lengths``, with the seeds of
    PE p = (row0 + i) * cols + j of a rows x cols array (module docstring), on the compiled
    kernel (``sim.kernel``)."""
    check_product_width(cfg.a_fmt, cfg.b_fmt)
    p = (row0 + np.arange(a.shape[0]))[:, None] * cols + np.arange(cols)
    values = kernel.gemm(kernel.code_values(a, cfg.a_fmt), kernel.code_values(b, cfg.b_fmt),
                         lengths, cfg.a_fmt, cfg.b_fmt, cfg.acc_fmt, cfg.chunk, cfg.rounding,
                         cfg.saturate, cfg.rand_bits, instance_seeds(cfg.seed, p))
    return kernel.value_codes(values, cfg.acc_fmt).astype(cfg.acc_fmt.dtype)


#: with a progress callback, ``matmul`` reports after about this many MACs
PROGRESS_MACS = 1 << 26


def matmul(A_codes, B_codes, a_fmt, b_fmt, acc_fmt, chunk: int = 0, rounding: str = "rne",
           saturate: bool = False, seed: int = 1, rand_bits: int = 16,
           progress=None) -> np.ndarray:
    """Emulated low-precision GEMM of any size: ``(M, K) x (K, N)`` codes -> ``(M, N)``
    ``acc_fmt`` codes, each C[i, j] computed as a PE of the systolic array computes it
    (exact products A[i, k] * B[k, j] for k = 0..K-1 in order, one fused rounding per
    step, chunk-based accumulation).  ``sr``: output p = i * N + j draws from
    ``instance_seed(seed, p)``, its folds in turn with its products, so for M, N <= 64 the
    codes equal :func:`systolic`'s on an M x N array.

    ``progress``: called as ``progress(rows_done)`` after each block of rows (about
    ``PROGRESS_MACS`` multiply-adds); the codes are the same."""
    a = np.asarray(A_codes)
    b = np.asarray(B_codes)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0] or a.shape[1] < 1 \
            or a.size == 0 or b.size == 0:
        raise ValueError(f"matmul needs A (M, K) and B (K, N) with K >= 1, not A {a.shape} "
                         f"x B {b.shape}")
    # the arithmetic options, checked as an array's (its size is not used)
    cfg = ArrayConfig(1, 1, a_fmt, b_fmt, acc_fmt, chunk, rounding, seed, saturate, rand_bits)
    a = arith.check_codes(a, cfg.a_fmt, "A")
    b = arith.check_codes(b, cfg.b_fmt, "B")
    (m, k), n = a.shape, b.shape[1]
    if progress is None:
        return _pe_sums(a, b, [k], cfg, m, n)[0]
    out = np.empty((m, n), dtype=cfg.acc_fmt.dtype)
    step = max(1, PROGRESS_MACS // (k * n))
    for lo in range(0, m, step):
        hi = min(m, lo + step)
        out[lo:hi] = _pe_sums(a[lo:hi], b, [k], cfg, m, n, row0=lo)[0]
        progress(hi)
    return out


def error_report(A_codes, B_codes, C_codes, cfg: ArrayConfig) -> ErrorReport:
    """Compare result codes ``C_codes`` (as :func:`systolic` returns them) with a float64
    GEMM of the decoded operands."""
    a, b, lengths = tiles(A_codes, B_codes, cfg)
    av, bv = cfg.a_fmt.decode(a), cfg.b_fmt.decode(b)
    bounds = np.cumsum([0] + lengths)
    exact = np.stack([av[:, s:e] @ bv[s:e, :] for s, e in zip(bounds[:-1], bounds[1:])])
    c = arith.check_codes(C_codes, cfg.acc_fmt, "C")
    if c.shape != (exact.shape[1:] if _single(A_codes, B_codes) else exact.shape):
        raise ValueError(f"C has the shape {c.shape}; the tiles give {exact.shape}")
    return compare(cfg.acc_fmt.decode(c).reshape(exact.shape), exact)


def gaussian_error(a_fmt, b_fmt, acc_fmt, chunk: int = 0, shape=(64, 4096, 64),
                   seed: int = 0, rounding: str = "rne") -> ErrorReport:
    """The :class:`ErrorReport` of :func:`matmul` on an ``(M, K, N)`` GEMM of N(0, 1)
    operands rounded to ``a_fmt`` and ``b_fmt`` (``numpy.random.default_rng(seed)``: A,
    then B), against float64 of the same operands: what an accumulator costs in
    accuracy."""
    m, k, n = shape
    cfg = ArrayConfig(1, 1, a_fmt, b_fmt, acc_fmt, chunk, rounding)
    rng = np.random.default_rng(seed)
    a = cfg.a_fmt.encode(rng.standard_normal((m, k)))
    b = cfg.b_fmt.encode(rng.standard_normal((k, n)))
    c = matmul(a, b, cfg.a_fmt, cfg.b_fmt, cfg.acc_fmt, chunk, rounding)
    av, bv = cfg.a_fmt.decode(a), cfg.b_fmt.decode(b)
    return compare(cfg.acc_fmt.decode(c), av @ bv)


def compare(got: np.ndarray, exact: np.ndarray) -> ErrorReport:
    """The :class:`ErrorReport` of result values ``got`` against the float64 values
    ``exact`` of the same shape."""
    ok = np.isfinite(exact) & np.isfinite(got)
    err = np.abs(got[ok] - exact[ok])
    norm = float(np.sqrt(np.sum(exact[ok] ** 2)))
    err_norm = float(np.sqrt(np.sum(err ** 2)))
    return ErrorReport(
        max_abs=float(err.max()) if err.size else 0.0,
        mean_abs=float(err.mean()) if err.size else 0.0,
        rel_fro=err_norm / norm if norm else (float("inf") if err_norm else 0.0),
        nonfinite=int(np.sum(np.isfinite(exact) & ~np.isfinite(got))))
