"""`make demo`: generate an FP8 E4M3 x E4M3 -> FP16 multiplier, an FP16 multiplier, an
FP16 adder, a chunk-based FP8 -> FP16 accumulator and a 2x2 FP8 systolic GEMM array; print
their area, verify each on its emitted Verilog and netlist, print the pass counts.

Runs the same `fpforge` commands a user would type; files go to out/demo/.
"""

from __future__ import annotations

import shlex
import sys
import time

from fpforge.gen.cli import main as fpforge

CONFIGS = [
    ["mul", "--a", "fp8_e4m3", "--b", "fp8_e4m3", "--out", "fp16"],
    ["mul", "--a", "fp16", "--b", "fp16", "--out", "fp16"],
    ["add", "--a", "fp16", "--b", "fp16", "--out", "fp16"],
    ["acc", "--in", "fp8_e4m3", "--acc", "fp16", "--chunk", "64", "--rounding", "sr"],
    ["array", "--rows", "2", "--cols", "2", "--a", "fp8_e4m3", "--b", "fp8_e4m3", "--acc",
     "fp16", "--chunk", "16"],
]
#: verify options per unit (default: the unit's own vector budget)
VERIFY = {"acc": ["--vectors", "20000"], "array": ["--gemms", "6", "--k", "24"]}


def run(args: list[str]) -> None:
    print(f"\n$ fpforge {shlex.join(args)}", flush=True)
    t0 = time.time()
    rc = fpforge(args)
    print(f"  ({time.time() - t0:.1f} s)", flush=True)
    if rc != 0:
        sys.exit(f"demo: `fpforge {shlex.join(args)}` failed with exit status {rc}")


def main() -> None:
    for unit, *cfg in CONFIGS:
        run(["gen", unit, *cfg, "-o", "out/demo"])
        run(["area", unit, *cfg])
        run(["verify", unit, *cfg, "--netlist", *VERIFY.get(unit, [])])
    print("\ndemo: every unit generated, synthesized and verified (files in out/demo/)")


if __name__ == "__main__":
    main()
