"""Bit-exact emulated GEMM throughput against numpy float32 matmul, in one run.

``fpforge.sim.gemm.matmul`` computes every output as a PE of the systolic array does (exact
fp8 products, one fused rounding per step into an fp16 accumulator, chunks of 64, rne).
Operands are N(0, 1) values rounded to fp8_e4m3; the float32 reference multiplies the same
decoded values with ``numpy.matmul``.  Reports MACs per second for both and the slowdown
of exact emulation, and writes the README section ``emulation``.

    python scripts/bench_emulation.py [--sizes 64,128,256] [--no-readme]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

from fpforge.gen.report import markdown_table, replace_readme_section
from fpforge.sim.formats import parse
from fpforge.sim.gemm import matmul

ROOT = Path(__file__).resolve().parent.parent
IN_FMT, ACC_FMT, CHUNK = "fp8_e4m3", "fp16", 64


def best_of(fn, seconds: float = 1.0) -> float:
    """The fastest of repeated calls (at least 3, about ``seconds`` in all)."""
    times, start = [], time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(n: int, seed: int = 1) -> dict:
    fmt = parse(IN_FMT)
    rng = np.random.default_rng(seed)
    a = fmt.encode(rng.standard_normal((n, n))).astype(np.uint64)
    b = fmt.encode(rng.standard_normal((n, n))).astype(np.uint64)
    af, bf = fmt.decode(a).astype(np.float32), fmt.decode(b).astype(np.float32)
    emulated = best_of(lambda: matmul(a, b, IN_FMT, IN_FMT, ACC_FMT, chunk=CHUNK), 0)
    native = best_of(lambda: af @ bf)
    macs = n ** 3
    return {"n": n, "emulated_macs_per_s": macs / emulated, "float32_macs_per_s": macs / native,
            "slowdown": emulated / native}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="64,128,256", help="square GEMM sizes n (n x n x n)")
    ap.add_argument("--no-readme", action="store_true", help="do not update README.md")
    args = ap.parse_args()
    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        r = measure(n)
        print(r, flush=True)
        rows.append([f"{n} x {n} x {n}", f"{r['emulated_macs_per_s'] / 1e6:.2f} M",
                     f"{r['float32_macs_per_s'] / 1e9:.2f} G", f"{r['slowdown']:,.0f}x"])
    text = (f"`fpforge.sim.gemm.matmul`: {IN_FMT} operands, {ACC_FMT} accumulation in chunks "
            f"of {CHUNK}, rne, bit-exact with the array's PEs, against `numpy.matmul` in "
            f"float32 on the same values (numpy {np.__version__}, Python "
            f"{platform.python_version()}, this 2-core machine; best of repeated runs); "
            "produced by `scripts/bench_emulation.py`.\n\n"
            + markdown_table(["GEMM", "emulated MACs/s", "float32 MACs/s",
                              "emulation slowdown"], rows))
    print(text)
    if not args.no_readme:
        replace_readme_section(ROOT / "README.md", "emulation", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
