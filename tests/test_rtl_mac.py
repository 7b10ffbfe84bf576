"""The multiply-add RTL (``rtl.mac.FPMAC``) against the golden model (``sim.arith.fma``).

Quick Amaranth-simulator checks, then cocotb + Icarus on the emitted Verilog: fused MACs
with mixed formats (FP8 products accumulated in fp16/fp32/dlfloat16, bf16 into fp32),
every rounding mode on fp16, unfused MACs (product rounded to ``prod`` first), pipelined
variants, a gate-level netlist, and benches that must fail.

Icarus runs a MAC at ~0.3 ms a vector (fp16; ~1 ms clocked), so vector counts are sized to
keep the file near a minute on 2 cores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from fpforge.gen.units import MacConfig
from fpforge.rtl.mac import FPMAC
from fpforge.sim.arith import fma
from fpforge.sim.formats import parse
from fpforge.tb.vectors import mac_operands
from fpforge.gen.verify import verify

from reference import fma_operands
from rtl_bench import amaranth_run, assert_same, cocotb_check

# ---- Amaranth simulator ----------------------------------------------------------------

# (a, b, c, out), rounding, saturate, fused prod (None: fused), pipeline
QUICK = [
    (("fp16", "fp16", "fp16", "fp16"), "rne", False, None, 0),
    (("fp16", "fp16", "fp16", "fp16"), "rdn", False, None, 0),
    (("fp32", "fp32", "fp32", "fp32"), "rne", False, None, 0),
    (("fp8_e4m3", "fp8_e4m3", "fp16", "fp16"), "rup", False, None, 0),
    (("fp8_e5m2", "fp8_e5m2", "fp32", "fp32"), "rtz", False, None, 0),
    (("fp8_e4m3", "fp8_e5m2", "dlfloat16", "dlfloat16"), "rna", False, None, 0),
    (("bf16", "bf16", "fp32", "bf16"), "rne", True, None, 0),
    (("hfp8", "hfp8", "hfp8", "hfp8"), "rne", False, None, 0),
    (("fp8_e4m3", "fp8_e4m3", "fp16", "fp16"), "rne", False, "fp8_e5m2", 0),
    (("fp16", "fp16", "fp16", "fp16"), "rup", False, "fp16", 0),
    (("fp16", "fp16", "fp16", "fp16"), "rne", False, None, 3),
    (("fp8_e4m3", "fp8_e4m3", "fp16", "fp16"), "rne", False, "fp8_e5m2", 2),
]


@pytest.mark.parametrize("fmts,rounding,saturate,prod,latency", QUICK)
def test_amaranth_sim_matches_golden(fmts, rounding, saturate, prod, latency):
    fa, fb, fc, fo = map(parse, fmts)
    a, b, c = mac_operands(fa, fb, fc, 48, seed=5)
    fused = prod is None
    want = fma(a, b, c, fa, fb, fc, fo, rounding, saturate, fused=fused, prod_fmt=prod)
    dut = FPMAC(fa, fb, fc, fo, fused=fused, prod_fmt=prod, rounding=rounding,
                saturate=saturate, pipeline=latency)
    got = amaranth_run(dut, {"a": a, "b": b, "c": c}, latency)["y"]
    assert_same(got, want, {"a": a, "b": b, "c": c})


def test_amaranth_sim_hand_picked_fma_cases():
    """Exact cancellation of a*b against c (+0; rdn -0), a product far below c (sticky
    only), a product far above c, 0 * Inf + c, Inf * 1 - Inf, a product below the
    subnormals, a product with bits below the ulp and nothing to add, -0 * 1 + -0."""
    f = parse("fp16")
    one, m_one, half = 0x3C00, 0xBC00, 0x3800
    a = [one, 0x3C01, 0x0001, 0x7BFF, 0x0000, 0x7C00, 0x0400, 0x3C01, one, 0x8000]
    b = [one, 0x3C01, 0x0001, 0x7BFF, 0x7C00, one, 0x0400, 0x3C01, half, one]
    c = [m_one, m_one, one, one, one, 0xFC00, 0x0000, 0x0000, 0x0001, 0x8000]
    a, b, c = (np.array(v, dtype=np.uint64) for v in (a, b, c))
    for mode in ("rne", "rtz", "rna", "rup", "rdn"):
        got = amaranth_run(FPMAC(f, f, f, f, rounding=mode), {"a": a, "b": b, "c": c})["y"]
        assert_same(got, fma(a, b, c, f, f, f, f, mode), {"a": a, "b": b, "c": c},
                    f"y[{mode}]")


@pytest.mark.parametrize("a,c", [("e3m2", "e4m2ns"), ("e2m2", "e5m1ns"), ("e3m1ns", "e3m3ns"),
                                 ("e3m2", "e3m2"), ("e2m1", "e5m3ns")])
def test_lowest_result_field_bounds_every_sum(a, c):
    """``lowest_result_field`` (which lets fp8 x fp8 + dlfloat16 drop the Rounder's flush)
    against the smallest nonzero |a * b + c| over every finite code triple of small
    formats, in exact rationals."""
    from fractions import Fraction
    from fpforge.rtl.mac import lowest_result_field
    fa, fc = parse(a), parse(c)

    def values(f):
        return {v for v in map(f.value, f.all_codes().tolist()) if isinstance(v, Fraction)}
    products, addends = {x * y for x in values(fa) for y in values(fa)}, values(fc)
    smallest = min(abs(p + q) for p in products for q in addends if p + q)
    lowest = lowest_result_field(fa, fa, fc, fc)
    assert Fraction(2) ** (lowest - fc.bias) <= smallest
    assert Fraction(2) ** (lowest - fc.bias + 3) > smallest  # and not far below it


# ---- cocotb + Icarus on the emitted Verilog --------------------------------------------

FUSED = [
    (("fp16", "fp16", "fp16", "fp16"), "rne", 8_000),
    (("fp16", "fp16", "fp16", "fp16"), "rtz", 5_000),
    (("fp16", "fp16", "fp16", "fp16"), "rna", 5_000),
    (("fp16", "fp16", "fp16", "fp16"), "rup", 5_000),
    (("fp16", "fp16", "fp16", "fp16"), "rdn", 5_000),
    (("fp32", "fp32", "fp32", "fp32"), "rne", 4_000),
    (("fp8_e4m3", "fp8_e4m3", "fp16", "fp16"), "rne", 8_000),
    (("fp8_e5m2", "fp8_e5m2", "fp32", "fp32"), "rne", 6_000),
    (("fp8_e4m3", "fp8_e4m3", "dlfloat16", "dlfloat16"), "rna", 6_000),
    (("bf16", "bf16", "fp32", "bf16"), "rne", 6_000),
]


@pytest.mark.sim
@pytest.mark.parametrize("fmts,rounding,vectors", FUSED,
                         ids=[f"{'-'.join(f)}-{r}" for f, r, _ in FUSED])
def test_fused_on_verilog(fmts, rounding, vectors, tmp_path):
    a, b, c, out = fmts
    report = cocotb_check(MacConfig(a=a, b=b, c=c, out=out, rounding=rounding), tmp_path,
                          vectors=vectors)
    assert report.rtl.tried == vectors


@pytest.mark.sim
def test_fused_fp8_saturating_on_verilog(tmp_path):
    """All-8-bit fused MAC with saturation (24 input bits: corner + random)."""
    cocotb_check(MacConfig(a="fp8_e4m3", b="fp8_e4m3", c="fp8_e4m3", out="fp8_e4m3",
                           saturate=True, rounding="rup"), tmp_path, vectors=6_000)


@dataclass(frozen=True)
class _HardMac(MacConfig):
    """A MAC driven by ``reference.fma_operands``: products aimed at the overflow and
    underflow thresholds, c cancelling them (massive cancellation), near, far or at a
    half-ulp tie, signed zeros."""

    def test_inputs(self, n, seed):
        a, b, c = fma_operands(self.a, self.b, self.c, self.out, n, seed)
        return self.with_rand({"a": a, "b": b, "c": c}, seed)


# both datapaths: the product-anchored window (wide products) and the ordered sum of a
# product brought onto the accumulator's scale (fp8 products, fp16 products into fp32)
HARD = [(("fp16", "fp16", "fp16", "fp16"), m) for m in ("rne", "rtz", "rna", "rup", "rdn")] + [
    (("bf16", "bf16", "bf16", "bf16"), "rne"),
    (("fp32", "fp32", "fp32", "fp32"), "rdn"),
    (("fp8_e5m2", "fp8_e5m2", "fp8_e5m2", "fp8_e5m2"), "rup"),
    (("fp16", "fp16", "fp8_e5m2", "bf16"), "rna"),
    (("fp16", "fp16", "fp32", "fp32"), "rne"),
    (("fp8_e4m3", "fp8_e4m3", "fp16", "fp16"), "rtz"),
    (("fp8_e4m3", "fp8_e4m3", "dlfloat16", "dlfloat16"), "rne"),
]


@pytest.mark.sim
@pytest.mark.parametrize("fmts,rounding", HARD, ids=[f"{'-'.join(f)}-{r}" for f, r in HARD])
def test_fused_hard_cases_on_verilog(fmts, rounding, tmp_path):
    from fpforge.gen.verify import verify_verilator
    a, b, c, out = fmts
    cfg = _HardMac(a=a, b=b, c=c, out=out, rounding=rounding)
    report = verify_verilator(cfg, vectors=40_000, workdir=tmp_path, log=lambda m: None)
    assert report.rtl.tried == report.rtl.passed == 40_000


@pytest.mark.sim
def test_fused_all_eight_bit_triples_on_verilog(tmp_path):
    """Every (a, b, c) of the all-e5m2 fused MAC (anchored datapath), 2**24 triples."""
    from fpforge.gen.verify import verify_verilator
    f = "fp8_e5m2"
    report = verify_verilator(MacConfig(a=f, b=f, c=f, out=f), exhaustive=True,
                              workdir=tmp_path, log=lambda m: None)
    assert report.rtl.tried == report.rtl.passed == 1 << 24


UNFUSED = [
    (("fp8_e4m3", "fp8_e4m3", "fp16", "fp16"), "fp8_e5m2", "rne"),
    (("fp8_e4m3", "fp8_e4m3", "fp16", "fp16"), "fp8_e5m2", "rdn"),
    (("fp16", "fp16", "fp16", "fp16"), "fp16", "rne"),
    (("fp16", "fp16", "fp32", "fp32"), "fp16", "rna"),
]


@pytest.mark.sim
@pytest.mark.parametrize("fmts,prod,rounding", UNFUSED,
                         ids=[f"{'-'.join(f)}-p{p}-{r}" for f, p, r in UNFUSED])
def test_unfused_on_verilog(fmts, prod, rounding, tmp_path):
    a, b, c, out = fmts
    cfg = MacConfig(a=a, b=b, c=c, out=out, fused=False, prod=prod, rounding=rounding)
    report = cocotb_check(cfg, tmp_path, vectors=5_000)
    assert report.rtl.tried == 5_000


@pytest.mark.sim
@pytest.mark.parametrize("fused,stages", [(True, 1), (True, 2), (True, 4), (False, 2)])
def test_pipelined_latency_and_throughput(fused, stages, tmp_path):
    cfg = MacConfig(a="fp16", b="fp16", c="fp16", out="fp16", pipeline=stages, fused=fused,
                    prod=None if fused else "fp16")
    report = cocotb_check(cfg, tmp_path, vectors=2_500)
    assert report.rtl.tried > 1_800


@pytest.mark.sim
def test_synthesized_netlist_matches(tmp_path):
    """Gate-level MAC simulation is slow in Icarus (several ms a vector): a small sample."""
    report = cocotb_check(MacConfig(a="fp8_e4m3", b="fp8_e4m3", c="fp8_e4m3", out="fp8_e4m3"),
                          tmp_path, vectors=2_000, netlist=True)
    assert report.netlist.tried == 2_000


# ---- the benches can fail --------------------------------------------------------------

@dataclass(frozen=True)
class _DoubleRoundingGolden(MacConfig):
    """A fused fp16 MAC checked against an unfused golden (product rounded to fp16)."""

    def evaluate(self, inputs, rand):
        return fma(inputs["a"], inputs["b"], inputs["c"], self.a, self.b, self.c, self.out,
                   self.rounding, self.saturate, fused=False, prod_fmt="fp16")


@dataclass(frozen=True)
class _RtzRtl(MacConfig):
    """A MAC whose hardware truncates while the golden rounds to nearest."""

    def build(self):
        return FPMAC(self.a, self.b, self.c, self.out, rounding="rtz")


@pytest.mark.sim
@pytest.mark.parametrize("cls,alt", [(_DoubleRoundingGolden, dict(fused=False, prod_fmt="fp16")),
                                     (_RtzRtl, dict(rounding="rtz"))])
def test_bench_reports_every_wrong_result(cls, alt, tmp_path):
    cfg = cls(a="fp16", b="fp16", c="fp16", out="fp16")
    n = 3_000
    inputs = cfg.test_inputs(n, 1)  # what verify(seed=1) simulates
    args = (inputs["a"], inputs["b"], inputs["c"], cfg.a, cfg.b, cfg.c, cfg.out)
    right = fma(*args, "rne")
    wrong = fma(*args, alt.get("rounding", "rne"), fused=alt.get("fused", True),
                prod_fmt=alt.get("prod_fmt"))
    differ = int((right != wrong).sum())
    assert differ > 20
    report = verify(cfg, vectors=n, workdir=tmp_path, log=lambda m: None)
    assert report.rtl.tried == n and report.rtl.tried - report.rtl.passed == differ
    assert not report.ok
