"""Golden-model speed, in one run: rounding a 10**7-element float64 array to fp8_e4m3 and
fp16 with fpforge vs ml_dtypes' cast, and fp8 / fp16 golden multiplication throughput.

The fpforge figures must agree bit for bit with ml_dtypes on the same data (checked here on
float32-exact data: ml_dtypes casts float64 to 8-bit types through float32).  Writes the
README section `golden` unless --no-readme.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import ml_dtypes
import numpy as np

from fpforge.gen.report import markdown_table, publish, readme_options
from fpforge.sim.arith import mul
from fpforge.sim.formats import parse

ROOT = Path(__file__).resolve().parent.parent
N = 10_000_000
REPEATS = 3


def best_of(fn):
    best = float("inf")
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    readme_options(ap)
    args = ap.parse_args()
    rng = np.random.default_rng(2026)
    # float32-exact data: values near 1 (the format's normal range) and values spread over
    # 2**-30 .. 2**20 (subnormals, overflow: the slow paths of a cast)
    data = {"N(0,1)": rng.standard_normal(N).astype(np.float32).astype(np.float64),
            "wide": (rng.standard_normal(N) * 2.0 ** rng.integers(-30, 20, N))
            .astype(np.float32).astype(np.float64)}
    rows = []
    np.seterr(over="ignore")  # casts of out-of-range values are the point here
    for name, dtype in (("fp8_e4m3", ml_dtypes.float8_e4m3fn), ("fp16", np.float16)):
        fmt = parse(name)
        for label, x in data.items():
            ours = fmt.encode(x)
            theirs = x.astype(dtype).view(fmt.dtype)
            nan = np.isnan(fmt.decode(ours)) & np.isnan(fmt.decode(theirs))
            mismatches = int(np.count_nonzero((ours != theirs) & ~nan))
            t_ours = best_of(lambda: fmt.encode(x))
            t_theirs = best_of(lambda: x.astype(dtype))
            rows.append([f"round float64 -> {name}, {label} data", f"{N / t_ours / 1e6:.1f} M/s",
                         f"{N / t_theirs / 1e6:.1f} M/s", f"{t_theirs / t_ours:.2f}",
                         ">= 0.33", f"{mismatches} mismatches"])
            print(rows[-1], flush=True)
    for name in ("fp8_e4m3", "fp16"):
        fmt = parse(name)
        a = rng.integers(0, 1 << fmt.width, N, dtype=np.uint64).astype(fmt.dtype)
        b = rng.integers(0, 1 << fmt.width, N, dtype=np.uint64).astype(fmt.dtype)
        mul(a[:1], b[:1], fmt, fmt, fmt)  # build any table outside the timing
        t = best_of(lambda: mul(a, b, fmt, fmt, fmt))
        target = ">= 20 M/s" if fmt.width == 8 else "-"
        rows.append([f"{name} x {name} -> {name} multiply, random codes",
                     f"{N / t / 1e6:.1f} M/s", "-", "-", target, ""])
        print(rows[-1], flush=True)
    text = (f"{N:,} elements, best of {REPEATS}, one core of this machine "
            f"({platform.processor() or platform.machine()}), numpy {np.__version__}, "
            f"ml_dtypes {ml_dtypes.__version__}; produced by `scripts/bench_golden.py`. "
            "fpforge rounds on integer significands (no float shortcut); ml_dtypes is C++.\n\n"
            + markdown_table(["operation", "fpforge", "ml_dtypes", "ratio", "aim",
                              "bit-exact check"],
                             rows))
    publish(ROOT / "README.md", {"golden": text}, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
