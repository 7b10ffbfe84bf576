"""binary64 (``fp64``) units on the emitted Verilog against the golden model (itself checked
against SoftFloat f64 in every mode in ``test_golden_f64.py``): mul, add and the fused MAC
with flags, the five IEEE modes spread over the three units, a pipelined run, and ``sr``
within the golden model's 8 random bits and its refusal above them.  The gate-level
netlists (200,000 transistors for the multiplier: 20 minutes of synthesis and simulation
here) are checked by ``scripts/bench_area.py``, which also verifies the fp64 multiplier and
adder in every IEEE mode before it reports their areas."""

from __future__ import annotations

import pytest

from fpforge.gen.units import AddConfig, MacConfig, MulConfig

from rtl_bench import cocotb_check

pytestmark = pytest.mark.sim


def _config(unit, rounding, **kw):
    fmts = dict(a="fp64", b="fp64", out="fp64")
    if unit == "mac":
        fmts["c"] = "fp64"
    cls = {"mul": MulConfig, "add": AddConfig, "mac": MacConfig}[unit]
    return cls(**fmts, rounding=rounding, **kw)


@pytest.mark.parametrize("unit,mode", [("mul", "rne"), ("mul", "rdn"), ("add", "rtz"),
                                       ("add", "rna"), ("mac", "rup"), ("mac", "rne")])
def test_fp64_flags_on_verilog(unit, mode, tmp_path):
    cocotb_check(_config(unit, mode, flags=True), tmp_path, vectors=1_500)


def test_fp64_pipelined_mac_on_verilog(tmp_path):
    cocotb_check(_config("mac", "rdn", pipeline=3), tmp_path, vectors=800)


def test_fp64_sr_on_verilog(tmp_path):
    cocotb_check(_config("add", "sr", rand_bits=8, rand_source="port"), tmp_path,
                 vectors=1_000)


def test_fp64_sr_refuses_more_random_bits():
    with pytest.raises(ValueError, match="use --rand-bits 8 or fewer"):
        _config("mul", "sr", rand_bits=9, rand_source="port")
