"""The VRR model against Monte Carlo runs of the bit-exact golden accumulator.

For every accumulator mantissa m_acc and chunk size, ``fpforge.sim.vrr_measure`` sums
independent streams of N(0,1) products rounded to m_p mantissa bits (rne accumulation, 8
exponent bits) and measures VRR at every length 2^6 .. 2^20 from the same streams; the
model's ``vrr`` is evaluated at the same points.  Trials adapt to the 0.999 cutoff at 2^20:
from ``--trials`` they double (up to ``--max-trials``) until the measured VRR there is more
than three standard errors from 0.999, so that the cutoff is resolved where the budget
allows.  With chunking, ``--long-trials`` further streams reach 2^24.  Writes
``docs/vrr_montecarlo.json`` (every point, with its trials), the README section
``vrr_montecarlo`` and ``sim/vrr_measured.json``, the figures ``fpforge recommend`` answers
from (``fpforge.sim.vrr_measured``).  Computed trials are kept in ``--cache`` (default
``build/vrr_montecarlo``), so an interrupted or extended run computes only what is missing.

    python scripts/vrr_montecarlo.py [--trials 1024] [--max-trials 8192]
                                     [--long-trials 256] [--no-readme]
    python scripts/vrr_montecarlo.py --from-json docs/vrr_montecarlo.json  (re-render)

The stated tolerance is ``fpforge.sim.vrr.agrees``, checked where the model claims
validity (a predicted VRR of at least ``VALID_FROM``): the measured VRR lies between the
model's VRR at m_acc and at m_acc + 2, each widened by three standard errors plus
``SLACK``.  The kernel runs on both cores; one process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from fpforge.gen.report import markdown_table, publish, readme_options
from fpforge.sim.vrr import SLACK, VALID_FROM, agrees, min_m_acc, vrr
from fpforge.sim.vrr_measured import MEASURED_FILE
from fpforge.sim.vrr_measure import vrr_estimate, vrr_samples

ROOT = Path(__file__).resolve().parent.parent
M_P = 5
CUTOFF = 1e-3
RESOLVE_AT = 1 << 20
#: the README table shows every other length and m_acc; the JSON has all of them
SHOWN_M_ACC = range(6, 17, 2)


class SampleCache:
    """Per-trial sums already computed, kept in ``folder`` (one ``.npz`` per point), so an
    interrupted run resumes where it stopped: trials are numbered, and any batching of
    them gives the same sums (``vrr_samples``)."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    def _path(self, lengths, m_acc, chunk, seed) -> Path:
        return self.folder / (f"mp{M_P}_macc{m_acc}_chunk{chunk}_seed{seed}_"
                              f"n{lengths[0]}-{lengths[-1]}.npz")

    def samples(self, lengths, m_acc: int, chunk: int, trials: int, seed: int):
        """The first ``trials`` trials' (computed, exact) sums, computing only the missing."""
        computed = exact = np.empty((0, len(lengths)))
        path = None if self.folder is None else self._path(lengths, m_acc, chunk, seed)
        if path is not None and path.exists():
            with np.load(path) as data:
                computed, exact = data["computed"], data["exact"]
        if len(computed) < trials:
            c, e = vrr_samples(lengths, m_acc, M_P, chunk, trials - len(computed), seed,
                               first=len(computed))
            computed, exact = np.concatenate([computed, c]), np.concatenate([exact, e])
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp.npz")
                np.savez(tmp, computed=computed, exact=exact)
                tmp.replace(path)
        return computed[:trials], exact[:trials]


def run_point(cache: SampleCache, m_acc: int, chunk: int, trials: int, max_trials: int,
              seed: int) -> dict:
    """Lengths 2^6..2^20, trials doubling until the 2^20 point is resolved."""
    lengths = [1 << k for k in range(6, 21)]
    start = time.perf_counter()
    while True:
        computed, exact = cache.samples(lengths, m_acc, chunk, trials, seed)
        ratio, err = vrr_estimate(computed, exact)
        resolved = abs(ratio[-1] - (1 - CUTOFF)) > 3 * err[-1]
        if resolved or trials >= max_trials:
            break
        trials = min(2 * trials, max_trials)
    return {"m_acc": m_acc, "chunk": chunk, "lengths": lengths, "trials": [trials] *
            len(lengths), "measured": ratio.tolist(), "stderr": err.tolist(),
            "resolved": bool(resolved), "seconds": time.perf_counter() - start}


def run_long(cache: SampleCache, m_acc: int, chunk: int, trials: int, seed: int) -> dict:
    """Lengths 2^21..2^24 from ``trials`` further streams (trials after the first 2^20
    streams' budget: seeded apart by ``seed + 1``)."""
    lengths = [1 << k for k in range(21, 25)]
    start = time.perf_counter()
    ratio, err = vrr_estimate(*cache.samples(lengths, m_acc, chunk, trials, seed + 1))
    return {"m_acc": m_acc, "chunk": chunk, "lengths": lengths, "trials": [trials] * 4,
            "measured": ratio.tolist(), "stderr": err.tolist(),
            "seconds": time.perf_counter() - start}


def points(results: list[dict]) -> list[dict]:
    out = []
    for r in results:
        predicted = vrr(np.array(r["lengths"]), r["m_acc"], M_P, r["chunk"])
        for n, t, meas, err, pred in zip(r["lengths"], r["trials"], r["measured"],
                                         r["stderr"], predicted):
            out.append({"n": n, "m_acc": r["m_acc"], "chunk": r["chunk"], "trials": t,
                        "predicted": float(pred), "measured": meas, "stderr": err,
                        "valid": bool(pred >= VALID_FROM),
                        "agrees": agrees(meas, err, n, r["m_acc"], M_P, r["chunk"])})
    return out


def verdict(p: dict) -> str:
    """Where the measured VRR stands against the cutoff, three standard errors apart."""
    if p["measured"] - 3 * p["stderr"] >= 1 - CUTOFF:
        return "keeps 0.999"
    if p["measured"] + 3 * p["stderr"] < 1 - CUTOFF:
        return "loses more"
    return "unresolved"


def cutoff_table(pts: list[dict]) -> str:
    """At 2^20: per chunk and m_acc, the measurement against the cutoff, and the fewest
    bits the measurement and the model need."""
    rows = []
    for chunk in (0, 64):
        mine = sorted((p for p in pts if p["chunk"] == chunk and p["n"] == RESOLVE_AT),
                      key=lambda p: p["m_acc"])
        keeps = [p["m_acc"] for p in mine if verdict(p) == "keeps 0.999"]
        loses = [p["m_acc"] for p in mine if verdict(p) == "loses more"]
        for p in mine:
            rows.append([("plain" if chunk == 0 else f"chunk {chunk}"), p["m_acc"],
                         f"{p['predicted']:.4f}", f"{p['measured']:.4f} ± {p['stderr']:.4f}",
                         f"{p['trials']:,}", verdict(p)])
        rows.append([("plain" if chunk == 0 else f"chunk {chunk}"), "**fewest bits**",
                     f"model {min_m_acc(RESOLVE_AT, M_P, chunk, CUTOFF)}",
                     f"measured: below up to {max(loses) if loses else '-'}, kept from "
                     f"{min(keeps) if keeps else '-'}", "", ""])
    return markdown_table(["accumulation", "m_acc", "predicted VRR", "measured VRR ± 1 s.e.",
                           "trials", "at 2^20"], rows)


def readme_body(pts: list[dict], seconds: float) -> str:
    by_key = {(p["chunk"], p["n"], p["m_acc"]): p for p in pts}
    parts = []
    for chunk in sorted({p["chunk"] for p in pts}):
        title = "plain accumulation" if chunk == 0 else f"chunk size {chunk}"
        header = ["n"] + [f"m_acc {m}" for m in SHOWN_M_ACC]
        rows = []
        longest = max(p["n"] for p in pts if p["chunk"] == chunk).bit_length() - 1
        for log2 in range(6, longest + 1, 2):
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
    trials = sorted({p["trials"] for p in pts})
    at = [p for p in pts if p["n"] == RESOLVE_AT]
    parts.append(
        f"m_p = {M_P}; rne accumulator with 8 exponent bits; {trials[0]:,} to {trials[-1]:,} "
        f"trials per point ({sum(p['trials'] for p in at):,} streams of 2^20 in all); "
        f"{len(pts)} points (n = 2^6..2^{max(p['n'] for p in pts).bit_length() - 1}, "
        f"m_acc {min(p['m_acc'] for p in pts)}..{max(p['m_acc'] for p in pts)}), "
        f"{len(valid)} where the model claims validity (predicted VRR >= {VALID_FROM}): "
        f"**{ok} of them agree** (measured between the model at m_acc and at m_acc + 2, "
        f"± 3 standard errors + {SLACK}; ✗ marks the others). "
        f"° marks the {len(outside)} points deeper in swamping, where the model is not "
        f"used. Largest standard error {max(p['stderr'] for p in pts):.4f}; at 2^20 "
        f"{max(p['stderr'] for p in at):.4f}. `scripts/vrr_montecarlo.py`, one process: "
        f"{seconds / 60:.0f} min in the run that wrote this table, which reuses the trials "
        "earlier runs kept in its cache (`build/vrr_montecarlo`) and counts only the ones "
        "it computed.")
    parts.append("The 0.999 cutoff at n = 2^20, resolved: trials doubled until the measured "
                 "VRR lay more than three standard errors from 0.999 (or the budget ran "
                 "out: unresolved):\n\n" + cutoff_table(pts))
    return "\n\n".join(parts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1024, help="first trials per point")
    ap.add_argument("--max-trials", type=int, default=8192, help="most trials per point")
    ap.add_argument("--long-trials", type=int, default=256,
                    help="chunked streams of 2^24 per m_acc (0: none)")
    ap.add_argument("--m-acc", default="6-16", help="accumulator mantissa range, e.g. 6-16")
    ap.add_argument("--chunks", default="0,64", help="chunk sizes (0 = plain)")
    ap.add_argument("--seed", type=int, default=1)
    readme_options(ap)
    ap.add_argument("--cache", type=Path, default=ROOT / "build" / "vrr_montecarlo",
                    help="folder of computed trials, reused by a later run (default "
                         "build/vrr_montecarlo)")
    ap.add_argument("--no-cache", action="store_true", help="keep no computed trials")
    ap.add_argument("--from-json", type=Path, metavar="FILE",
                    help="measure nothing: publish the results a run saved")
    args = ap.parse_args()
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        publish_results(saved["points"], saved["seconds"], args)
        return 0
    low, _, high = args.m_acc.partition("-")
    widths = range(int(low), int(high or low) + 1)
    start = time.perf_counter()
    results = []
    cache = SampleCache(None if args.no_cache else args.cache)
    for chunk in (int(c) for c in args.chunks.split(",")):
        for m in widths:
            results.append(run_point(cache, m, chunk, args.trials, args.max_trials, args.seed))
            r = results[-1]
            print(f"m_acc {m} chunk {chunk}: {r['trials'][0]} trials, VRR(2^20) "
                  f"{r['measured'][-1]:.5f} ± {r['stderr'][-1]:.5f} "
                  f"{'resolved' if r['resolved'] else 'unresolved'}, {r['seconds']:.0f} s",
                  flush=True)
            if chunk and args.long_trials:
                results.append(run_long(cache, m, chunk, args.long_trials, args.seed))
                print(f"  to 2^24: {results[-1]['measured']}, {results[-1]['seconds']:.0f} s",
                      flush=True)
    seconds = time.perf_counter() - start
    pts = points(results)
    out = ROOT / "docs" / "vrr_montecarlo.json"
    out.write_text(json.dumps({"m_p": M_P, "valid_from": VALID_FROM, "slack": SLACK,
                               "cutoff": CUTOFF, "seconds": seconds, "points": pts},
                              indent=1) + "\n")
    publish_results(pts, seconds, args)
    return 0


def publish_results(pts: list[dict], seconds: float, args) -> None:
    """The package's measured table, the README section (unless ``--no-readme``)."""
    rows = [[p["chunk"], p["n"], p["m_acc"], p["trials"], round(p["measured"], 7),
             round(p["stderr"], 7)] for p in pts]
    (ROOT / "sim" / MEASURED_FILE).write_text(
        json.dumps({"m_p": M_P, "exp_bits": 8, "rounding": "rne",
                    "source": "scripts/vrr_montecarlo.py",
                    "points": sorted(rows)}, separators=(",", ":")) + "\n")
    publish(ROOT / "README.md", {"vrr_montecarlo": readme_body(pts, seconds)}, args)


if __name__ == "__main__":
    sys.exit(main())
