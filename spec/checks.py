"""Every option check of fpforge, each rule and its error sentence written once.

The golden model (``fpforge.sim``), the hardware (``fpforge.rtl``) and the command line
(``fpforge.gen``) call these; a check raises ``ValueError`` with one line that names the
problem and the valid choices, and returns the checked value otherwise.
"""

from __future__ import annotations

import numbers

import numpy as np

from fpforge.sim.formats import FloatFormat

__all__ = ["ROUNDING_MODES", "ALL_ROUNDING_MODES", "SR_CORE_BITS", "PRODUCT_BITS_MAX",
           "is_int", "check_rounding", "check_sr_bits", "check_rand_bits", "check_seed",
           "check_count", "check_rand_source", "check_pipeline", "check_chunk", "check_dim",
           "check_result_format", "check_product_width", "check_mac_product"]

#: the deterministic modes
ROUNDING_MODES = ("rne", "rtz", "rna", "rup", "rdn")
#: with stochastic rounding, which needs a random draw per rounding
ALL_ROUNDING_MODES = ROUNDING_MODES + ("sr",)
#: bits the golden rounding core keeps exactly: ``sr`` needs man_bits + R of them
SR_CORE_BITS = 60
#: widest significand product (bits) the accumulation kernel holds (``sim.kernel``)
PRODUCT_BITS_MAX = 62
_SEED_MAX = 0xFFFFFFFF


def is_int(value) -> bool:
    """An integer that is not a bool (numpy integers included)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_rounding(rounding: str) -> str:
    if rounding not in ALL_ROUNDING_MODES:
        raise ValueError(f"unknown rounding mode {rounding!r}; valid: "
                         f"{', '.join(ALL_ROUNDING_MODES)}")
    return rounding


def check_sr_bits(fmt: FloatFormat, rounding: str, rand_bits: int) -> None:
    """``sr`` compares R random bits with the R bits below the result's ulp; the rounding
    core holds man_bits + R <= ``SR_CORE_BITS`` of them exactly (binary64: R <= 8)."""
    if rounding == "sr" and fmt.man_bits + rand_bits > SR_CORE_BITS:
        raise ValueError(f"sr to {fmt} with {rand_bits} random bits needs {fmt.man_bits} + "
                         f"{rand_bits} exact bits, more than the {SR_CORE_BITS} the golden "
                         f"model keeps: use --rand-bits {SR_CORE_BITS - fmt.man_bits} or fewer")


def check_rand_bits(bits) -> int:
    """``bits`` (random bits per draw) as a Python int; ValueError unless in ``1..32``."""
    if not is_int(bits) or not 1 <= int(bits) <= 32:
        raise ValueError(f"random bits must be an integer in 1..32, not {bits!r}")
    return int(bits)


def check_seed(seed) -> int:
    """``seed`` as a Python int; ValueError unless an integer in ``1..2**32-1``."""
    if not is_int(seed) or not 1 <= int(seed) <= _SEED_MAX:
        raise ValueError(f"seed must be an integer in 1..2**32-1 (0 is invalid), not {seed!r}")
    return int(seed)


def check_count(n, label: str) -> int:
    """``n`` as a Python int; ValueError unless an integer >= 0."""
    if not is_int(n) or int(n) < 0:
        raise ValueError(f"{label} must be an integer >= 0, not {n!r}")
    return int(n)


def check_rand_source(rounding: str, rand_source: str, clocked: bool) -> str:
    """``sr`` takes its draws from the unit's ``rand`` port or from its own PRNG, which
    needs a clock (a pipelined or streaming unit)."""
    if rand_source not in ("prng", "port"):
        raise ValueError(f"rand_source must be 'prng' or 'port', not {rand_source!r}")
    if rounding == "sr" and rand_source == "prng" and not clocked:
        raise ValueError("sr with the internal PRNG needs a clocked unit (--pipeline N >= 1) "
                         "or draws from a port (--rand-source port)")
    return rand_source


def check_pipeline(stages) -> int:
    if not isinstance(stages, int) or isinstance(stages, bool) or stages < 0:
        raise ValueError(f"pipeline must be an integer >= 0, not {stages!r}")
    return stages


def check_chunk(chunk) -> int:
    if not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 0:
        raise ValueError(f"chunk must be an integer >= 0 (0 = no chunking), not {chunk!r}")
    return chunk


def check_dim(name: str, value) -> int:
    """An array dimension: an integer 1..64."""
    if not is_int(value) or not 1 <= value <= 64:
        raise ValueError(f"{name} must be an integer 1..64, not {value!r}")
    return int(value)


def check_result_format(out_fmt: FloatFormat, *operand_fmts: FloatFormat) -> None:
    """A finite-only result format cannot hold the NaN/Inf that special operands give."""
    if not out_fmt.has_nan and any(f.has_specials for f in operand_fmts):
        raise ValueError(f"result format {out_fmt} has no NaN/Inf for the special results of "
                         f"{' x '.join(map(str, operand_fmts))} operands")


def check_product_width(a_fmt: FloatFormat, b_fmt: FloatFormat) -> None:
    """The accumulation kernel (``sim.kernel``: the accumulators and GEMMs of exact
    products) holds significand products of at most ``PRODUCT_BITS_MAX`` bits; the fused
    multiply-add itself takes wider ones."""
    if a_fmt.precision + b_fmt.precision > PRODUCT_BITS_MAX:
        raise ValueError(f"accumulating {a_fmt} x {b_fmt} products: the significand product "
                         f"is wider than the {PRODUCT_BITS_MAX} bits the accumulation kernel "
                         "holds")


def check_mac_product(fused: bool, prod, rounding: str, cli: bool = False) -> None:
    """A fused MAC rounds once and takes no product format; an unfused one rounds its
    product to ``prod`` first, so it needs one and has no ``sr`` (one draw per operation).
    ``cli``: the sentences name the command-line options."""
    if fused and prod is not None:
        raise ValueError("--prod is only used with --no-fused" if cli
                         else "prod_fmt is only used with fused=False")
    if not fused and prod is None:
        raise ValueError("--no-fused needs --prod FMT, the format the product is rounded to"
                         if cli else
                         "fused=False needs prod_fmt, the format the product is rounded to")
    if not fused and rounding == "sr":
        raise ValueError("sr is supported for the fused MAC only (one draw per operation)")
