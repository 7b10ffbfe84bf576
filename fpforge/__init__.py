"""fpforge: reduced-precision floating-point hardware generator with a bit-exact golden model.

Subpackages: ``fpforge.sim`` (numpy golden model), ``fpforge.rtl`` (Amaranth components),
``fpforge.gen`` (CLI, Verilog emission, synthesis), ``fpforge.tb`` (cocotb testbenches).

Public names: :class:`FloatFormat`, :func:`parse`, ``PRESETS`` (formats) and :func:`mul`
(the golden multiplier); the hardware is ``fpforge.rtl.mul.FPMultiplier``.
"""

__version__ = "0.1.0"

from fpforge.sim.formats import PRESETS, FloatFormat, parse  # noqa: E402
from fpforge.sim.arith import mul  # noqa: E402

__all__ = ["__version__", "FloatFormat", "parse", "PRESETS", "mul"]
