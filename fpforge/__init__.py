"""fpforge: reduced-precision floating-point hardware generator with a bit-exact golden model.

Subpackages: ``fpforge.sim`` (numpy golden model), ``fpforge.rtl`` (Amaranth components),
``fpforge.gen`` (CLI, Verilog emission, synthesis), ``fpforge.tb`` (cocotb testbenches).

Public names: :class:`FloatFormat`, :func:`parse`, ``PRESETS`` (formats), the golden
operations :func:`mul`, :func:`add`, :func:`fma` and :func:`chunked` / :func:`axpy`
(streaming accumulation); the systolic array's GEMM is ``fpforge.sim.gemm.systolic``; the
accumulation-width model is ``fpforge.sim.vrr``; the hardware is in ``fpforge.rtl``
(``mul.FPMultiplier``, ``add.FPAdder``, ``mac.FPMAC``, ``accumulator.ChunkAccumulator`` and
``.AXPY``, ``systolic.SystolicArray``).
"""

__version__ = "0.4.0"

from fpforge.sim.formats import PRESETS, FloatFormat, parse  # noqa: E402
from fpforge.sim.arith import add, fma, mul  # noqa: E402
from fpforge.sim.accumulate import axpy, chunked  # noqa: E402

__all__ = ["__version__", "FloatFormat", "parse", "PRESETS", "mul", "add", "fma", "chunked",
           "axpy"]
