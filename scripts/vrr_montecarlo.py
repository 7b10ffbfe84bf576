"""The VRR model against Monte Carlo runs of the bit-exact golden accumulator.

For every accumulator mantissa m_acc and chunk size, ``fpforge.sim.vrr.measure_vrr`` sums
``--trials`` independent streams of N(0,1) products rounded to m_p mantissa bits (rne
accumulation, 8 exponent bits) and measures VRR at every length 2^6 .. 2^max; the model's
``vrr`` is evaluated at the same points.  Writes ``docs/vrr_montecarlo.json`` (every point)
and the README section ``vrr_montecarlo`` (a table per chunk size and the agreement line).

    python scripts/vrr_montecarlo.py [-j 2] [--trials 256] [--max-log2 20] [--no-readme]

The stated tolerance is ``fpforge.sim.vrr.agrees``, checked where the model claims
validity (a predicted VRR of at least ``VALID_FROM``): the measured VRR lies between the
model's VRR at m_acc and at m_acc + 2, each widened by three standard errors plus
``SLACK``.  The full grid takes about half an hour at -j 2 (the plain runs of 2^20
sequential roundings dominate).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

from fpforge.gen.report import markdown_table, replace_readme_section
from fpforge.sim.vrr import SLACK, VALID_FROM, agrees, measure_vrr, vrr

ROOT = Path(__file__).resolve().parent.parent
M_P = 5
#: the README table shows every other length and m_acc; the JSON has all of them
SHOWN_LOG2 = range(6, 21, 2)
SHOWN_M_ACC = range(6, 17, 2)


def run_point(task: tuple) -> dict:
    m_acc, chunk, lengths, trials, seed = task
    start = time.perf_counter()
    measured, stderr = measure_vrr(lengths, m_acc, M_P, chunk, trials=trials, seed=seed)
    return {"m_acc": m_acc, "chunk": chunk, "lengths": [int(n) for n in lengths],
            "measured": [float(v) for v in measured], "stderr": [float(v) for v in stderr],
            "seconds": time.perf_counter() - start}


def points(results: list[dict]) -> list[dict]:
    out = []
    for r in results:
        predicted = vrr(np.array(r["lengths"]), r["m_acc"], M_P, r["chunk"])
        for n, meas, err, pred in zip(r["lengths"], r["measured"], r["stderr"], predicted):
            out.append({"n": n, "m_acc": r["m_acc"], "chunk": r["chunk"],
                        "predicted": float(pred), "measured": meas, "stderr": err,
                        "valid": bool(pred >= VALID_FROM),
                        "agrees": agrees(meas, err, n, r["m_acc"], M_P, r["chunk"])})
    return out


def readme_body(pts: list[dict], trials: int, seconds: float) -> str:
    by_key = {(p["chunk"], p["n"], p["m_acc"]): p for p in pts}
    parts = []
    for chunk in sorted({p["chunk"] for p in pts}):
        title = "plain accumulation" if chunk == 0 else f"chunk size {chunk}"
        header = ["n"] + [f"m_acc {m}" for m in SHOWN_M_ACC]
        rows = []
        for log2 in SHOWN_LOG2:
            cells = []
            for m in SHOWN_M_ACC:
                p = by_key.get((chunk, 1 << log2, m))
                cells.append("" if p is None else
                             f"{p['predicted']:.3f} / {p['measured']:.3f}"
                             + ("°" if not p["valid"] else "" if p["agrees"] else " ✗"))
            rows.append([f"2^{log2}"] + cells)
        parts.append(f"**{title}** (predicted / measured VRR)\n\n{markdown_table(header, rows)}")
    valid = [p for p in pts if p["valid"]]
    ok = sum(p["agrees"] for p in valid)
    outside = [p for p in pts if not p["valid"]]
    parts.append(
        f"m_p = {M_P}; {trials} trials per point, rne accumulator with 8 exponent bits; "
        f"{len(pts)} points (n = 2^6..2^{max(p['n'] for p in pts).bit_length() - 1}, "
        f"m_acc {min(p['m_acc'] for p in pts)}..{max(p['m_acc'] for p in pts)}), "
        f"{len(valid)} where the model claims validity (predicted VRR >= {VALID_FROM}): "
        f"**{ok} of them agree** (measured between the model at m_acc and at m_acc + 2, "
        f"± 3 standard errors + {SLACK}; ✗ marks the others). "
        f"° marks the {len(outside)} points deeper in swamping, where the model is not "
        f"used; there the measured VRR is higher than predicted in "
        f"{sum(p['measured'] > p['predicted'] for p in outside)} and lower in "
        f"{sum(p['measured'] <= p['predicted'] for p in outside)} (a stagnated sum: the "
        f"measured VRR falls like 1/n). Largest standard error "
        f"{max(p['stderr'] for p in pts):.3f}; {seconds / 60:.0f} min "
        f"(`scripts/vrr_montecarlo.py`).")
    return "\n\n".join(parts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-j", "--jobs", type=int, default=2, help="processes")
    ap.add_argument("--trials", type=int, default=256, help="streams per point")
    ap.add_argument("--max-log2", type=int, default=20, help="longest length 2^N")
    ap.add_argument("--m-acc", default="6-16", help="accumulator mantissa range, e.g. 6-16")
    ap.add_argument("--chunks", default="0,64", help="chunk sizes (0 = plain)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-readme", action="store_true", help="do not update README.md")
    args = ap.parse_args()
    low, _, high = args.m_acc.partition("-")
    widths = range(int(low), int(high or low) + 1)
    chunks = [int(c) for c in args.chunks.split(",")]
    lengths = 1 << np.arange(6, args.max_log2 + 1)
    # longest runs first, so the pool ends together
    tasks = [(m, c, lengths, args.trials, args.seed) for c in chunks for m in widths]
    tasks.sort(key=lambda t: t[1] != 0)
    start = time.perf_counter()
    results = []
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        for r in pool.imap_unordered(run_point, tasks):
            results.append(r)
            print(f"[{len(results)}/{len(tasks)}] m_acc {r['m_acc']} chunk {r['chunk']}: "
                  f"{r['seconds']:.0f} s", flush=True)
    seconds = time.perf_counter() - start
    results.sort(key=lambda r: (r["chunk"], r["m_acc"]))
    pts = points(results)
    out = ROOT / "docs" / "vrr_montecarlo.json"
    out.write_text(json.dumps({"m_p": M_P, "trials": args.trials, "valid_from": VALID_FROM,
                               "slack": SLACK,
                               "seconds": seconds, "points": pts}, indent=1) + "\n")
    body = readme_body(pts, args.trials, seconds)
    print(body)
    if not args.no_readme:
        replace_readme_section(ROOT / "README.md", "vrr_montecarlo", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
