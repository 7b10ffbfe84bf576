"""``fpforge gemm``: an emulated low-precision GEMM of two ``.npy`` matrices.

:func:`load_operand` reads and checks one matrix (float values, rounded to the operand
format, or integer codes); :func:`run` multiplies them with ``sim.gemm.matmul`` and measures
the result against float64.  Problems with the input raise :class:`InputError` with one
line naming the problem.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fpforge.sim import arith
from fpforge.sim.formats import FloatFormat
from fpforge.sim.gemm import ErrorReport, compare, matmul

__all__ = ["InputError", "Operand", "load_operand", "GemmResult", "run", "npy_bytes"]


class InputError(ValueError):
    """A matrix file that cannot be used (one-line message)."""


@dataclass(frozen=True)
class Operand:
    """A matrix as codes of ``fmt``, and the float64 values it was given as (None when it
    was given as codes)."""

    codes: np.ndarray
    fmt: FloatFormat
    given: np.ndarray | None


def load_operand(path: Path, fmt: FloatFormat, codes: bool, saturate: bool,
                 name: str) -> Operand:
    """Read the 2-D matrix ``name`` from the ``.npy`` file ``path``: integer codes of
    ``fmt`` (``codes``), else real values rounded to ``fmt`` (rne, ``saturate``)."""
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file: {path}") from None
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{name}: {path} is not a .npy array file ({exc})") from None
    if not isinstance(data, np.ndarray):
        raise InputError(f"{name}: {path} holds several arrays (.npz); give one .npy matrix")
    if data.ndim != 2 or data.size == 0:
        raise InputError(f"{name}: {path} holds an array of shape {data.shape}; give a "
                         "non-empty 2-D matrix")
    if codes:
        if data.dtype.kind not in "ui":
            raise InputError(f"{name}: --codes needs integer codes, not {data.dtype}")
        try:
            return Operand(arith.check_codes(data, fmt, name), fmt, None)
        except ValueError as exc:
            raise InputError(str(exc)) from None
    if data.dtype.kind not in "fiu":
        raise InputError(f"{name}: {path} holds {data.dtype} values; give real numbers "
                         "(float or integer) or integer codes with --codes")
    given = data.astype(np.float64)
    return Operand(fmt.encode(given, "rne", saturate=saturate).astype(np.uint64), fmt, given)


@dataclass(frozen=True)
class GemmResult:
    """The result codes, the seconds the GEMM took, its error against a float64 GEMM of
    the operands as rounded (``error``) and, for float inputs, of the inputs as given
    (``error_vs_inputs``: the operands' rounding included)."""

    codes: np.ndarray
    seconds: float
    error: ErrorReport
    error_vs_inputs: ErrorReport | None


def run(a: Operand, b: Operand, acc: FloatFormat, chunk: int, rounding: str,
        saturate: bool, seed: int, rand_bits: int, progress=None) -> GemmResult:
    """C = A x B in the emulator; ``progress(rows_done)`` as ``matmul`` calls it."""
    if a.codes.shape[1] != b.codes.shape[0]:
        raise InputError(f"A is {a.codes.shape[0]} x {a.codes.shape[1]} and B is "
                         f"{b.codes.shape[0]} x {b.codes.shape[1]}: A's columns must equal "
                         "B's rows")
    start = time.perf_counter()
    c = matmul(a.codes, b.codes, a.fmt, b.fmt, acc, chunk, rounding, saturate, seed,
               rand_bits, progress=progress)
    seconds = time.perf_counter() - start
    got = acc.decode(c)
    error = compare(got, a.fmt.decode(a.codes) @ b.fmt.decode(b.codes))
    vs_inputs = None
    if a.given is not None and b.given is not None:
        vs_inputs = compare(got, a.given @ b.given)
    return GemmResult(c, seconds, error, vs_inputs)


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` as the bytes of a ``.npy`` file."""
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()
