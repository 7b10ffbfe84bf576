"""Why chunking and stochastic rounding: two measurements on the golden model (the codes
the hardware produces), written as the README section ``accumulation``.

1. Error of a long fp16 accumulation of N(1, 1) values against the exact (Fraction) sum,
   without chunking and with chunk 64, in rne and sr.
2. The weight update: many tiny AXPY updates (alpha * x ~ 1e-4) to fp16 weights of 1.0,
   whose ulp is ~1e-3: under rne they vanish, under sr they survive in expectation.

    python scripts/bench_accumulation.py [--no-readme]
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

from fpforge.gen.report import markdown_table, publish, readme_options
from fpforge.sim.accumulate import axpy, chunked
from fpforge.sim.formats import parse

ROOT = Path(__file__).resolve().parent.parent
FP16 = parse("fp16")


def accumulation_errors(length: int = 4096, streams: int = 8, seed: int = 1) -> list:
    rng = np.random.default_rng(seed)
    x = FP16.encode(rng.standard_normal(length * streams) + 1.0).astype(np.uint64)
    exact = [float(sum(FP16.value(int(c)) for c in x[i * length:(i + 1) * length]))
             for i in range(streams)]
    rows = []
    for rounding in ("rne", "sr"):
        for chunk in (0, 64):
            got = chunked(x, FP16, FP16, chunk, rounding, lengths=[length] * streams, seed=seed)
            err = np.abs(FP16.decode(got) - np.array(exact))
            rows.append([rounding, chunk, f"{np.mean(exact):.1f}", f"{err.mean():.2f}",
                         f"{err.max():.2f}"])
    return rows


def weight_update(updates: int = 1000, weights: int = 2048, seed: int = 1) -> list:
    alpha = FP16.encode(np.array([0.01]))[0]
    grad = np.full(weights, FP16.encode(np.array([0.01]))[0], dtype=np.uint64)
    step = float(Fraction(FP16.value(int(alpha))) * Fraction(FP16.value(int(alpha))))
    rows = []
    for rounding in ("rne", "sr"):
        w = np.full(weights, FP16.encode(np.array([1.0]))[0], dtype=np.uint64)
        for k in range(updates):
            w = axpy(alpha, grad, w, FP16, FP16, FP16, rounding, seed=seed + k).astype(np.uint64)
        final = FP16.decode(w)
        rows.append([rounding, f"{1 + updates * step:.5f}", f"{final.mean():.5f}",
                     f"{final.std():.5f}", int(np.sum(final == 1.0))])
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    readme_options(ap)
    args = ap.parse_args()
    acc = markdown_table(["rounding", "chunk", "mean exact sum", "mean abs error", "max abs error"],
                         accumulation_errors())
    upd = markdown_table(["rounding", "exact weight", "mean weight", "std", "weights still 1.0"],
                         weight_update())
    text = ("Produced by `scripts/bench_accumulation.py` on the golden model (bit-exact with "
            "the RTL). Eight streams of 4096 fp16 values N(1, 1) summed in an fp16 "
            "accumulator, absolute error against the exact sum (one ulp at 4096 is 4):\n\n"
            + acc + "\n\n1000 AXPY updates w := round(w + alpha * x), alpha = x = fp16(0.01), "
            "to 2048 fp16 weights starting at 1.0 (an update is ~1e-4, a tenth of an ulp); "
            "sr draws from a different seed per update:\n\n" + upd)
    publish(ROOT / "README.md", {"accumulation": text}, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
