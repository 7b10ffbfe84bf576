"""Benches shared by the RTL test files: the Amaranth simulator on a unit, an elementwise
comparison with a readable message, and the cocotb run of the emitted Verilog (the
standard-cell library of the mapping tests is tests/liberty_cells.py)."""

from __future__ import annotations

import numpy as np
from amaranth.sim import Simulator

from fpforge.gen.verify import verify


def amaranth_run(dut, inputs: dict, latency: int = 0, valid=None) -> dict:
    """Drive ``inputs`` (port name -> codes; a ``valid`` key is the in_valid pattern of a
    clocked unit) through the Amaranth simulator.  Returns the output ports (``y`` and, if
    present, ``flags``) as uint64 arrays, one entry per valid vector in order.  A clocked
    unit must raise ``out_valid`` exactly ``latency`` cycles after ``in_valid``."""
    names = [k for k in inputs if k != "valid"]
    n = len(inputs[names[0]])
    cols = [[int(v) for v in inputs[k]] for k in names]
    if valid is None:
        valid = inputs.get("valid")
    valid = [1] * n if valid is None else [int(v) for v in valid]
    outs = [k for k in ("y", "flags") if k in dut.signature.members]
    got = {k: [] for k in outs}
    late = []
    sim = Simulator(dut)

    async def comb(ctx):
        for i in range(n):
            for k, col in zip(names, cols):
                ctx.set(getattr(dut, k), col[i])
            await ctx.delay(1e-9)
            for k in outs:
                got[k].append(ctx.get(getattr(dut, k)))

    async def clocked(ctx):
        for cycle in range(n + latency - 1):  # after tick t: the vector of t + 1 - latency
            if cycle < n:
                ctx.set(dut.in_valid, valid[cycle])
                for k, col in zip(names, cols):
                    ctx.set(getattr(dut, k), col[cycle])
            else:
                ctx.set(dut.in_valid, 0)
            await ctx.tick()
            src = cycle + 1 - latency
            if src >= 0:
                if ctx.get(dut.out_valid) != valid[src]:
                    late.append(src)
                if valid[src]:
                    for k in outs:
                        got[k].append(ctx.get(getattr(dut, k)))

    if latency:
        sim.add_clock(1e-6)
        sim.add_testbench(clocked)
    else:
        sim.add_testbench(comb)
    sim.run()
    assert not late, f"out_valid wrong for vectors {late[:10]}"
    return {k: np.array(v, dtype=np.uint64) for k, v in got.items()}


def assert_same(got, want, inputs: dict, label: str = "y"):
    """Elementwise equality with the first mismatches (inputs in hex) in the message."""
    got, want = np.asarray(got, dtype=np.uint64), np.asarray(want, dtype=np.uint64)
    assert got.shape == want.shape, (got.shape, want.shape)
    bad = np.flatnonzero(got != want)
    if bad.size:
        rows = [{**{k: hex(int(v[i])) for k, v in inputs.items()},
                 f"got_{label}": hex(int(got[i])), f"want_{label}": hex(int(want[i]))}
                for i in bad[:8]]
        raise AssertionError(f"{bad.size} of {got.size} {label} mismatch: {rows}")


def cocotb_check(cfg, tmp_path, vectors=None, netlist=False, seed=1):
    """verify() and assert every vector passed, on the RTL and (if run) the netlist."""
    report = verify(cfg, vectors=vectors, netlist=netlist, workdir=tmp_path, seed=seed,
                    log=lambda m: None)
    for res in (report.rtl, report.netlist):
        if res is not None:
            assert res.tried > 0 and res.passed == res.tried, (
                f"{report.name}: {res.tried - res.passed} of {res.tried} fail; "
                f"{res.mismatches[:5]}")
    return report


def assert_lint_clean(gen, tmp_path):
    """``verilator --lint-only -Wall`` on a generated unit's Verilog: no warning."""
    import subprocess

    from fpforge.tb.verilator import verilator_command
    path = tmp_path / f"{gen.name}.v"
    path.write_text(gen.verilog)
    cmd, env = verilator_command()
    proc = subprocess.run(cmd + ["--lint-only", "-Wall", str(path)], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr[:2000]
