"""`make demo`: generate an FP8 E4M3 x E4M3 -> FP16 multiplier and an FP16 multiplier,
print their area, verify both on their emitted Verilog, print the pass counts.

Runs the same `fpforge` commands a user would type; files go to out/demo/.
"""

from __future__ import annotations

import shlex
import sys
import time

from fpforge.gen.cli import main as fpforge

CONFIGS = [
    ["--a", "fp8_e4m3", "--b", "fp8_e4m3", "--out", "fp16"],
    ["--a", "fp16", "--b", "fp16", "--out", "fp16"],
]


def run(args: list[str]) -> None:
    print(f"\n$ fpforge {shlex.join(args)}", flush=True)
    t0 = time.time()
    rc = fpforge(args)
    print(f"  ({time.time() - t0:.1f} s)", flush=True)
    if rc != 0:
        sys.exit(f"demo: `fpforge {shlex.join(args)}` failed with exit status {rc}")


def main() -> None:
    for cfg in CONFIGS:
        run(["gen", "mul", *cfg, "-o", "out/demo"])
        run(["area", "mul", *cfg])
        run(["verify", "mul", *cfg, "--netlist"])
    print("\ndemo: both multipliers generated, synthesized and verified (files in out/demo/)")


if __name__ == "__main__":
    main()
