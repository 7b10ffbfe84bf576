"""The multiplier RTL against the golden model.

Quick Amaranth-simulator checks, then cocotb + Icarus on the emitted Verilog (every pair
for 8-bit formats, 200,000 corner + random vectors for 16/32-bit ones), pipelined variants
(latency and back-to-back throughput), gate-level netlists, and the Verilator long-run
path.  Also checks that these benches can fail.
"""

from __future__ import annotations

import pytest

from fpforge.gen.emit import generate, write_files
from fpforge.gen.units import MulConfig
from fpforge.rtl.mul import FPMultiplier
from fpforge.sim.arith import mul
from fpforge.sim.formats import parse
from fpforge.tb.runner import run_cocotb
from fpforge.tb.vectors import mul_operands
from fpforge.tb.stimulus import stimulus
from rtl_bench import amaranth_run, assert_lint_clean, assert_same, cocotb_check


@pytest.mark.parametrize("fmts,rounding,latency", [
    (("fp16", "fp16", "fp16"), "rne", 0),
    (("fp8_e4m3", "fp8_e5m2", "fp16"), "rup", 0),
    (("hfp8", "hfp8", "hfp8"), "rdn", 0),
    (("dlfloat16", "dlfloat16", "dlfloat16"), "rna", 0),
    (("bf16", "bf16", "fp8_e4m3"), "rtz", 0),
    (("fp16", "fp16", "fp16"), "rne", 3),
])
def test_amaranth_sim_matches_golden(fmts, rounding, latency):
    fa, fb, fo = map(parse, fmts)
    a, b = mul_operands(fa, fb, fo, 48, seed=7)
    want = mul(a, b, fa, fb, fo, rounding).tolist()
    got = amaranth_run(FPMultiplier(fa, fb, fo, rounding, pipeline=latency),
                       {"a": a, "b": b}, latency)["y"]
    assert_same(got, want, {"a": a, "b": b})


EIGHT_BIT = [
    ("fp8_e4m3", "fp8_e4m3", "fp8_e4m3", False),
    ("fp8_e4m3", "fp8_e4m3", "fp8_e4m3", True),
    ("fp8_e5m2", "fp8_e5m2", "fp8_e5m2", False),
    ("hfp8", "hfp8", "hfp8", False),
    ("e4m3", "e4m3", "e4m3", False),
    ("fp8_e4m3", "fp8_e5m2", "fp16", False),
    ("fp8_e4m3", "fp8_e4m3", "bf16", False),
]


@pytest.mark.sim
@pytest.mark.parametrize("a,b,out,saturate", EIGHT_BIT)
def test_eight_bit_exhaustive_on_verilog(a, b, out, saturate, tmp_path):
    report = cocotb_check(MulConfig(a=a, b=b, out=out, saturate=saturate), tmp_path)
    assert report.rtl.tried == 65536


WIDE = [("fp16", "rne"), ("bf16", "rne"), ("dlfloat16", "rne"), ("dlfloat16", "rna"),
        ("fp32", "rne")]


@pytest.mark.sim
@pytest.mark.parametrize("fmt,rounding", WIDE)
def test_wide_corner_and_random_on_verilog(fmt, rounding, tmp_path):
    report = cocotb_check(MulConfig(a=fmt, b=fmt, out=fmt, rounding=rounding), tmp_path,
                     vectors=200_000)
    assert report.rtl.tried == 200_000


@pytest.mark.sim
@pytest.mark.parametrize("mode", ["rtz", "rna", "rup", "rdn"])
def test_other_modes_on_verilog(mode, tmp_path):
    cocotb_check(MulConfig(a="fp16", b="fp16", out="fp16", rounding=mode), tmp_path, vectors=30_000)
    cocotb_check(MulConfig(a="fp8_e5m2", b="fp8_e5m2", out="fp8_e5m2", rounding=mode,
                      saturate=True), tmp_path / "e5m2")


@pytest.mark.sim
@pytest.mark.parametrize("stages", [1, 2, 3, 4, 6])
def test_pipelined_latency_and_throughput(stages, tmp_path):
    """One vector per cycle: the first half back-to-back, the rest with in_valid gaps; each
    result must appear with out_valid exactly `stages` cycles after its operands."""
    report = cocotb_check(MulConfig(a="fp16", b="fp16", out="fp16", pipeline=stages), tmp_path,
                     vectors=20_000)
    assert report.rtl.tried > 15_000


@pytest.mark.sim
@pytest.mark.parametrize("fmt", ["fp16", "e4m3"])
def test_synthesized_netlist_matches(fmt, tmp_path):
    report = cocotb_check(MulConfig(a=fmt, b=fmt, out=fmt), tmp_path, vectors=50_000, netlist=True)
    assert report.netlist.tried == 20_000


@pytest.mark.sim
def test_pipelined_netlist_matches(tmp_path):
    cocotb_check(MulConfig(a="fp8_e4m3", b="fp8_e4m3", out="fp16", pipeline=2), tmp_path,
            netlist=True)


# ---- the benches can fail --------------------------------------------------------------

def _run_with(cfg: MulConfig, data: dict, tmp_path, latency_claim=None):
    gen = generate(cfg)
    write_files(tmp_path, {f"{gen.name}.v": gen.verilog})
    manifest = dict(gen.manifest)
    if latency_claim is not None:
        manifest["latency"] = latency_claim
    return run_cocotb(tmp_path / f"{gen.name}.v", gen.name, manifest, data, tmp_path / "b")


@pytest.mark.sim
def test_cocotb_reports_wrong_results(tmp_path):
    cfg = MulConfig(a="fp8_e4m3", b="fp8_e4m3", out="fp16")
    data = stimulus(cfg, 500, False, 1)
    data["y"] = data["y"].copy()
    data["y"][[3, 100, 499]] ^= 1
    res = _run_with(cfg, data, tmp_path)
    assert (res.tried, res.passed) == (500, 497)
    assert [m["index"] for m in res.mismatches] == [3, 100, 499]


@pytest.mark.sim
def test_cocotb_reports_wrong_latency(tmp_path):
    cfg = MulConfig(a="fp8_e4m3", b="fp8_e4m3", out="fp16", pipeline=3)
    data = stimulus(cfg, 300, False, 1)
    res = _run_with(cfg, data, tmp_path, latency_claim=2)
    assert res.passed < res.tried


@pytest.mark.sim
@pytest.mark.parametrize("stages", [0, 2])
def test_verilator_path(stages, tmp_path):
    from fpforge.gen.verify import verify_verilator
    cfg = MulConfig(a="fp16", b="fp16", out="fp16", pipeline=stages)
    report = verify_verilator(cfg, vectors=300_000, workdir=tmp_path, log=lambda m: None)
    assert report.rtl.tried == 300_000 and report.rtl.passed == 300_000


@pytest.mark.sim
def test_verilator_reports_wrong_results(tmp_path, monkeypatch):
    from fpforge.gen.verify import verify_verilator
    cfg = MulConfig(a="fp8_e5m2", b="fp8_e5m2", out="fp8_e5m2", pipeline=1)
    real = MulConfig.golden

    def broken(self, inputs):
        y = real(self, inputs).copy()
        y[::1000] ^= 1
        return y

    monkeypatch.setattr(MulConfig, "golden", broken)
    report = verify_verilator(cfg, exhaustive=True, workdir=tmp_path, log=lambda m: None)
    assert report.rtl.tried == 65536
    assert report.rtl.tried - report.rtl.passed == len(range(0, 65536, 1000))
    assert not report.ok


@pytest.mark.sim
@pytest.mark.parametrize("pipeline", [0, 3])
def test_verilator_lint_clean(pipeline, tmp_path):
    for fmts in [("fp16", "fp16", "fp16"), ("fp8_e4m3", "fp8_e5m2", "bf16"),
                 ("hfp8", "hfp8", "dlfloat16")]:
        assert_lint_clean(generate(MulConfig(a=fmts[0], b=fmts[1], out=fmts[2],
                                             pipeline=pipeline)), tmp_path)
