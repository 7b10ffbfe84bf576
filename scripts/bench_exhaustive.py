"""Exhaustive verification benchmark (not in CI): every one of the 2**32 operand pairs of
the fp16 multiplier, through the Verilator streaming harness against the golden model.

    python scripts/bench_exhaustive.py [--a fp16 --b fp16 --out fp16] [--rounding rne]
                                       [--no-readme]

Prints progress; writes the README section `exhaustive` with the pass count and the time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from fpforge.gen.report import publish, readme_options
from fpforge.gen.units import MulConfig
from fpforge.gen.verify import verify_verilator

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", default="fp16")
    ap.add_argument("--b", default="fp16")
    ap.add_argument("--out", default="fp16")
    ap.add_argument("--rounding", default="rne")
    readme_options(ap)
    args = ap.parse_args()
    cfg = MulConfig(a=args.a, b=args.b, out=args.out, rounding=args.rounding)
    t0 = time.time()
    report = verify_verilator(cfg, exhaustive=True)
    seconds = time.time() - t0
    for line in report.lines():
        print(line)
    text = (f"`scripts/bench_exhaustive.py`: {cfg.default_name()}, every operand pair "
            f"({report.rtl.tried:,} vectors) on the emitted Verilog with the Verilator harness "
            f"against the golden model: **{report.rtl.passed:,} passed**, "
            f"{report.rtl.tried - report.rtl.passed:,} failed, in {seconds / 60:.1f} minutes "
            f"on {os.cpu_count()} cores (golden model and simulator in parallel, "
            f"{report.rtl.tried / seconds / 1e6:.1f} M vectors/s).")
    publish(ROOT / "README.md", {"exhaustive": text}, args)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
