"""Area figures are deterministic under the pinned Yosys: hold the multiplier to the issue's
targets (Berkeley HardFloat's figures, same script) so a change that bloats it fails."""

from __future__ import annotations

import pytest

from fpforge.gen.emit import generate
from fpforge.gen.synth import STANDARD_SCRIPT, synthesize
from fpforge.gen.units import MulConfig

TARGETS = {  # format: (max transistors, max depth or None)
    "fp16": (10986, 102),
    "bf16": (6958, None),
    "e4m3": (2076, None),
    "fp8_e5m2": (1664, None),
    "fp32": (45828, None),
}


@pytest.mark.parametrize("fmt", TARGETS)
def test_multiplier_within_target(fmt):
    cfg = MulConfig(a=fmt, b=fmt, out=fmt)
    report = synthesize(generate(cfg).verilog, cfg.default_name())
    max_t, max_depth = TARGETS[fmt]
    assert report.transistors <= max_t, report
    if max_depth:
        assert report.depth <= max_depth, report
    assert report.dffs == 0


def test_pipeline_registers_are_counted():
    comb = MulConfig(a="fp8_e4m3", b="fp8_e4m3", out="fp16")
    piped = MulConfig(a="fp8_e4m3", b="fp8_e4m3", out="fp16", pipeline=1)
    r0 = synthesize(generate(comb).verilog, comb.default_name())
    r1 = synthesize(generate(piped).verilog, piped.default_name())
    # output register (16 bits) + out_valid
    assert r1.dffs == 17 and r1.transistors > r0.transistors


def test_standard_script_is_the_anchor_script():
    assert STANDARD_SCRIPT.format(name="X") == (
        "read_verilog X.v; synth -flatten -top X; delete t:$scopeinfo; dffunmap; "
        "abc -g cmos2; opt_clean; stat -tech cmos; ltp -noff")


def test_fpga_targets_count_the_family_primitives():
    """ice40 and ecp5 mapping: LUTs and carries for the logic, exactly the design's
    flip-flops (17 for a 1-stage fp16-output multiplier, as above), and the fp16
    multiplier's 11x11 significand product in one ECP5 18x18 DSP; nextpnr timing."""
    from fpforge.gen.synth import synthesize_fpga
    comb = MulConfig(a="fp8_e4m3", b="fp8_e4m3", out="fp16")
    piped = MulConfig(a="fp8_e4m3", b="fp8_e4m3", out="fp16", pipeline=1)
    two = MulConfig(a="fp8_e4m3", b="fp8_e4m3", out="fp16", pipeline=2)
    for target, carry in (("ice40", "carry"), ("ecp5", "ccu2c")):
        r0 = synthesize_fpga(generate(comb).verilog, comb.default_name(), target)
        r1 = synthesize_fpga(generate(piped).verilog, piped.default_name(), target)
        assert r0.counts["lut4"] > 20 and r0.counts[carry] > 0 and r0.counts["dff"] == 0, r0
        assert r1.counts["dff"] == 17, r1
        assert sum(r0.cells.values()) >= r0.counts["lut4"] + r0.counts[carry]
        # nextpnr: with no register-to-register path (combinational, or an output register
        # only) the longest path, else an fmax
        assert r0.fmax_mhz is None and 5 < r0.delay_ns < 100, r0
        assert r1.fmax_mhz is None and r1.delay_ns > 0, r1
        r2 = synthesize_fpga(generate(two).verilog, two.default_name(), target)
        assert r2.delay_ns is None and 10 < r2.fmax_mhz < 500, r2
        again = synthesize_fpga(generate(two).verilog, two.default_name(), target)
        assert again == r2  # seeded place and route: the same figures every run
    fp16 = MulConfig(a="fp16", b="fp16", out="fp16")
    r = synthesize_fpga(generate(fp16).verilog, fp16.default_name(), "ecp5")
    assert r.counts["mult18x18d"] == 1, r
    with pytest.raises(ValueError, match="ice40, ecp5"):
        synthesize_fpga(generate(comb).verilog, comb.default_name(), "xilinx")
