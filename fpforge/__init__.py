"""fpforge: reduced-precision floating-point hardware generator with a bit-exact golden model.

Subpackages: ``fpforge.sim`` (numpy golden model), ``fpforge.rtl`` (Amaranth components),
``fpforge.gen`` (CLI, Verilog emission, synthesis), ``fpforge.tb`` (cocotb testbenches).
"""

__version__ = "0.1.0"
