"""fpforge: reduced-precision floating-point hardware generator with a bit-exact golden model.

Subpackages: ``fpforge.spec`` (option checks), ``fpforge.sim`` (numpy golden model),
``fpforge.rtl`` (Amaranth components), ``fpforge.gen`` (CLI, Verilog emission, synthesis),
``fpforge.tb`` (cocotb testbenches); ``docs/architecture.md`` shows how they depend on each
other.

Public names: :class:`FloatFormat`, :func:`parse`, ``PRESETS`` (formats), the golden
operations :func:`mul`, :func:`add`, :func:`fma` and :func:`chunked` / :func:`axpy`
(streaming accumulation); the systolic array's GEMM is ``fpforge.sim.gemm.systolic``; the
accumulation-width model is ``fpforge.sim.vrr``; the hardware is in ``fpforge.rtl``
(``mul.FPMultiplier``, ``add.FPAdder``, ``mac.FPMAC``, ``accumulator.ChunkAccumulator`` and
``.AXPY``, ``systolic.SystolicArray``).  The public names load on first use, so importing a
subpackage (``fpforge.rtl.mul``, ``fpforge.spec``) does not load the golden model's compiled
kernel.
"""

import importlib

__version__ = "0.4.0"

_PUBLIC = {
    "FloatFormat": "fpforge.sim.formats", "parse": "fpforge.sim.formats",
    "PRESETS": "fpforge.sim.formats",
    "mul": "fpforge.sim.arith", "add": "fpforge.sim.arith", "fma": "fpforge.sim.arith",
    "chunked": "fpforge.sim.accumulate", "axpy": "fpforge.sim.accumulate",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    """The public names, imported from their modules on first use (PEP 562)."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'fpforge' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
