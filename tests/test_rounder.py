"""The Rounder on its own (Amaranth simulator) against the golden ``round_raw``.

The Rounder's input (pre-round field, kept significand, round bit, sticky) is turned into
the golden model's exact Raw form: sig * 4 + round * 2 + sticky at two extra bits, which
rounds the same way in every mode (sticky is any amount below half an ulp).
"""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from fpforge.rtl.rounder import Rounder
from fpforge.sim.formats import parse
from fpforge.sim.rounding import ROUNDING_MODES, Raw, round_raw

FORMATS = ["fp16", "fp8_e4m3", "fp8_e5m2", "hfp8", "dlfloat16", "e2m3fin"]


def _vectors(fmt, exp_range, n, rng):
    lo, hi = exp_range
    field = rng.integers(lo, hi + 1, n)
    sig = rng.integers(1 << fmt.man_bits, 1 << fmt.precision, n)
    if fmt.subnormals:  # field 0 carries a subnormal significand (hidden bit clear)
        sig = np.where(field == 0, rng.integers(0, 1 << fmt.man_bits, n), sig)
    flags = rng.integers(0, 16, n)
    return {"sign": rng.integers(0, 2, n), "exp": field, "sig": sig,
            "round": rng.integers(0, 2, n), "sticky": rng.integers(0, 2, n),
            "is_nan": (flags == 0) & fmt.has_nan, "is_inf": (flags == 1) & fmt.has_nan,
            "is_zero": flags == 2}


def _golden(fmt, v, rounding, saturate):
    eff = v["exp"] if not fmt.subnormals else np.maximum(v["exp"], 1)
    sig = (v["sig"] * 4 + v["round"] * 2 + v["sticky"]).astype(np.uint64)
    raw = Raw(sign=v["sign"].astype(bool), exp=eff - fmt.bias - fmt.man_bits - 2,
              sig=np.where(v["is_zero"], np.uint64(0), sig),
              is_nan=v["is_nan"].astype(bool), is_inf=v["is_inf"].astype(bool))
    return round_raw(raw, fmt, rounding, saturate)


@pytest.mark.parametrize("fmt_name", FORMATS)
@pytest.mark.parametrize("rounding", ROUNDING_MODES)
def test_rounder_matches_round_raw(fmt_name, rounding):
    fmt = parse(fmt_name)
    exp_range = (0 if fmt.subnormals else -3, fmt.exp_field_max + 2)
    rng = np.random.default_rng(sum(map(ord, fmt_name + rounding)))
    for saturate in (False, True):
        dut = Rounder(fmt, exp_range, rounding, saturate)
        v = _vectors(fmt, exp_range, 150, rng)
        want = _golden(fmt, v, rounding, saturate).tolist()
        got = []

        async def bench(ctx):
            for i in range(len(want)):
                for port in ("sign", "exp", "sig", "sticky", "is_nan", "is_inf", "is_zero"):
                    ctx.set(getattr(dut, port), int(v[port][i]))
                ctx.set(dut.low, int(v["round"][i]))
                await ctx.delay(1e-9)
                got.append(ctx.get(dut.y))

        sim = Simulator(dut)
        sim.add_testbench(bench)
        sim.run()
        bad = [(i, hex(g), hex(w)) for i, (g, w) in enumerate(zip(got, want)) if g != w]
        assert not bad, f"{len(bad)} mismatches, first {bad[:5]}"
