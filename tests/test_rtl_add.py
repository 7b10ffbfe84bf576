"""The adder RTL (``rtl.add.FPAdder``) against the golden model (``sim.arith.add``).

Quick Amaranth-simulator checks, then cocotb + Icarus on the emitted Verilog: every pair
for 8-bit formats (every mode on the IEEE-like e4m3, saturation), 100,000 corner + boundary
+ random vectors for the 16- and 32-bit ones and mixed formats, pipelined variants (latency
and back-to-back throughput with valid gaps), gate-level netlists, and the area targets.
Also checks that the bench fails on a broken adder or a wrong golden.

"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from fpforge.gen.emit import generate
from fpforge.gen.synth import synthesize
from fpforge.gen.units import AddConfig
from fpforge.rtl.add import FPAdder
from fpforge.sim.arith import add
from fpforge.sim.formats import parse
from fpforge.tb.vectors import add_operands
from fpforge.gen.verify import verify
from rtl_bench import amaranth_run, assert_same, cocotb_check


# ---- Amaranth simulator ----------------------------------------------------------------

QUICK = [
    (("fp16", "fp16", "fp16"), "rne", False, 0),
    (("fp16", "fp16", "fp16"), "rdn", False, 0),
    (("bf16", "bf16", "bf16"), "rup", False, 0),
    (("fp8_e4m3", "fp8_e4m3", "fp8_e4m3"), "rne", True, 0),
    (("fp8_e5m2", "fp8_e5m2", "fp8_e5m2"), "rtz", False, 0),
    (("hfp8", "hfp8", "hfp8"), "rdn", False, 0),
    (("dlfloat16", "dlfloat16", "dlfloat16"), "rna", False, 0),
    (("fp8_e4m3", "fp8_e5m2", "fp16"), "rup", False, 0),
    (("fp32", "fp16", "bf16"), "rne", False, 0),
    (("fp32", "fp32", "fp16"), "rna", True, 0),
    (("dlfloat16", "fp16", "fp16"), "rtz", False, 0),
    (("fp16", "fp16", "fp16"), "rne", False, 3),
]


@pytest.mark.parametrize("fmts,rounding,saturate,latency", QUICK)
def test_amaranth_sim_matches_golden(fmts, rounding, saturate, latency):
    fa, fb, fo = map(parse, fmts)
    a, b = add_operands(fa, fb, fo, 48, seed=11)
    want = add(a, b, fa, fb, fo, rounding, saturate)
    dut = FPAdder(fa, fb, fo, rounding, saturate, pipeline=latency)
    got = amaranth_run(dut, {"a": a, "b": b}, latency)["y"]
    assert_same(got, want, {"a": a, "b": b})


def test_amaranth_sim_cancellation_and_zero_signs():
    """Hand-picked: exact cancellation (x + -x: +0, rdn -0), (-0) + (-0), carries into a
    new binade, the largest alignment gap, Inf - Inf."""
    f = parse("fp16")
    a = np.array([0x3C00, 0x8000, 0x8000, 0x0000, 0x3BFF, 0x7BFF, 0x3C00, 0x7C00, 0x0001,
                  0x8400, 0x7BFF, 0x0400], dtype=np.uint64)
    b = np.array([0xBC00, 0x8000, 0x0000, 0x8000, 0x0001, 0x7BFF, 0x0001, 0xFC00, 0x8001,
                  0x0001, 0x0001, 0x83FF], dtype=np.uint64)
    for mode in ("rne", "rdn", "rup", "rtz", "rna"):
        got = amaranth_run(FPAdder(f, f, f, mode), {"a": a, "b": b})["y"]
        assert_same(got, add(a, b, f, f, f, mode), {"a": a, "b": b}, f"y[{mode}]")


# ---- cocotb + Icarus on the emitted Verilog --------------------------------------------

EIGHT_BIT = [
    ("fp8_e4m3", "fp8_e4m3", "fp8_e4m3", "rne", False),
    ("fp8_e5m2", "fp8_e5m2", "fp8_e5m2", "rne", False),
    ("hfp8", "hfp8", "hfp8", "rne", False),
    ("e4m3", "e4m3", "e4m3", "rne", False),
    ("e4m3", "e4m3", "e4m3", "rtz", False),
    ("e4m3", "e4m3", "e4m3", "rup", False),
    ("e4m3", "e4m3", "e4m3", "rdn", False),
    ("e4m3", "e4m3", "e4m3", "rna", False),
    ("fp8_e5m2", "fp8_e5m2", "fp8_e5m2", "rup", True),
]


@pytest.mark.sim
@pytest.mark.parametrize("a,b,out,rounding,saturate", EIGHT_BIT)
def test_eight_bit_exhaustive_on_verilog(a, b, out, rounding, saturate, tmp_path):
    report = cocotb_check(AddConfig(a=a, b=b, out=out, rounding=rounding, saturate=saturate),
                          tmp_path)
    assert report.rtl.tried == 65536


# (a, b, out), rounding, vectors: sized so the whole file runs in about a minute on 2 cores
# (Icarus takes ~0.1 ms per adder vector, ~0.15 ms clocked, ~0.7 ms on a netlist)
WIDE = [
    (("fp16", "fp16", "fp16"), "rne", 50_000),
    (("fp16", "fp16", "fp16"), "rtz", 15_000),
    (("fp16", "fp16", "fp16"), "rna", 15_000),
    (("fp16", "fp16", "fp16"), "rup", 15_000),
    (("fp16", "fp16", "fp16"), "rdn", 15_000),
    (("bf16", "bf16", "bf16"), "rne", 25_000),
    (("fp32", "fp32", "fp32"), "rne", 30_000),
    (("fp32", "fp32", "fp32"), "rtz", 20_000),
    (("dlfloat16", "dlfloat16", "dlfloat16"), "rna", 25_000),
    (("fp32", "fp16", "bf16"), "rne", 20_000),
    (("dlfloat16", "fp16", "fp16"), "rne", 20_000),
]


@pytest.mark.sim
@pytest.mark.parametrize("fmts,rounding,vectors", WIDE,
                         ids=[f"{'-'.join(f)}-{r}" for f, r, _ in WIDE])
def test_wide_corner_and_random_on_verilog(fmts, rounding, vectors, tmp_path):
    a, b, out = fmts
    report = cocotb_check(AddConfig(a=a, b=b, out=out, rounding=rounding), tmp_path,
                          vectors=vectors)
    assert report.rtl.tried == vectors


@pytest.mark.sim
@pytest.mark.parametrize("stages", [1, 2, 4])
def test_pipelined_latency_and_throughput(stages, tmp_path):
    """Back-to-back first half, in_valid gaps in the second; each result must come with
    out_valid exactly `stages` cycles after its operands."""
    report = cocotb_check(AddConfig(a="fp16", b="fp16", out="fp16", rounding="rne",
                                    pipeline=stages), tmp_path, vectors=10_000)
    assert report.rtl.tried > 7_500


@pytest.mark.sim
@pytest.mark.parametrize("fmt", ["fp16", "fp8_e4m3"])
def test_synthesized_netlist_matches(fmt, tmp_path):
    """Gate-level simulation costs ~0.7 ms a vector: 4,000 of them."""
    report = cocotb_check(AddConfig(a=fmt, b=fmt, out=fmt), tmp_path, vectors=4_000,
                          netlist=True)
    assert report.netlist.tried == 4_000


# ---- the bench can fail ----------------------------------------------------------------

@dataclass(frozen=True)
class _RtzGoldenAdd(AddConfig):
    """An adder whose golden model rounds toward zero while its RTL rounds to nearest."""

    def evaluate(self, inputs, rand):
        return add(inputs["a"], inputs["b"], self.a, self.b, self.out, "rtz", self.saturate)


@dataclass(frozen=True)
class _BrokenRtlAdd(AddConfig):
    """A broken adder: the hardware truncates (built as rtz) while the configuration, and
    so the golden, says rne."""

    def build(self):
        return FPAdder(self.a, self.b, self.out, "rtz", self.saturate, self.pipeline)


@pytest.mark.sim
@pytest.mark.parametrize("cls", [_RtzGoldenAdd, _BrokenRtlAdd])
def test_bench_reports_every_wrong_result(cls, tmp_path):
    fmt = parse("fp8_e4m3")
    cfg = cls(a=fmt, b=fmt, out=fmt, rounding="rne")
    inputs = cfg.test_inputs(6_000, 1)  # what verify(vectors=6000, seed=1) simulates
    a, b = inputs["a"], inputs["b"]
    differ = int((add(a, b, fmt, fmt, fmt, "rne") != add(a, b, fmt, fmt, fmt, "rtz")).sum())
    assert differ > 500
    report = verify(cfg, vectors=6_000, workdir=tmp_path, log=lambda m: None)
    assert report.rtl.tried == 6_000
    assert report.rtl.tried - report.rtl.passed == differ
    assert not report.ok and report.rtl.mismatches


@pytest.mark.sim
def test_bench_catches_a_pipelined_adder_that_loses_a_vector(tmp_path):
    """A golden shifted by one vector (as an adder that drops one result would produce)
    fails on the clocked path."""

    @dataclass(frozen=True)
    class Shifted(AddConfig):
        def evaluate(self, inputs, rand):
            y = add(inputs["a"], inputs["b"], self.a, self.b, self.out, self.rounding)
            return np.roll(y, 1)

    report = verify(Shifted(a="fp16", b="fp16", out="fp16", pipeline=2), vectors=2000,
                    workdir=tmp_path, log=lambda m: None)
    assert report.rtl.passed < report.rtl.tried // 2


# ---- area ------------------------------------------------------------------------------

AREA_TARGETS = {"fp16": 7_920, "fp32": 17_538}  # HardFloat's adders, same script


@pytest.mark.parametrize("fmt", AREA_TARGETS)
def test_adder_within_area_target(fmt):
    cfg = AddConfig(a=fmt, b=fmt, out=fmt)
    report = synthesize(generate(cfg).verilog, cfg.default_name())
    assert 0 < report.transistors <= AREA_TARGETS[fmt], report
    assert report.dffs == 0
