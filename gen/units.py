"""The unit registry: unit name + options -> configured component, golden function, ports.

One :class:`UnitConfig` subclass per unit (``gen.unit_base`` the interface and the shared
options; ``gen.unit_arith`` mul, add, mac; ``gen.unit_stream`` acc, axpy; ``gen.unit_array``
the systolic array).  The CLI, the Verilog emitter, the testbenches and the area scripts all
go through ``UNITS``, so a new unit is added by its class and one line here.
"""

from __future__ import annotations

from fpforge.gen.unit_arith import AddConfig, ArithConfig, BinaryConfig, MacConfig, MulConfig
from fpforge.gen.unit_array import SystolicConfig
from fpforge.gen.unit_base import (OwnPrngConfig, UnitConfig, format_option, nonneg_int_option,
                                   pos_int_option)
from fpforge.gen.unit_stream import AccConfig, AxpyConfig

__all__ = ["UnitConfig", "ArithConfig", "BinaryConfig", "MulConfig", "AddConfig", "MacConfig",
           "OwnPrngConfig", "AccConfig", "AxpyConfig", "SystolicConfig", "UNITS",
           "format_option", "nonneg_int_option", "pos_int_option"]


UNITS: dict[str, type[UnitConfig]] = {"mul": MulConfig, "add": AddConfig, "mac": MacConfig,
                                      "acc": AccConfig, "axpy": AxpyConfig,
                                      "array": SystolicConfig}
