"""Run a shipped sweep file and put its results in README.

Runs ``fpforge sweep`` on the file (cache and results in ``out/<name>``, so a re-run only
re-tabulates), copies its plots to ``docs/sweep_<name>/`` and writes the README section
``sweep_<name>``: the results table, the sweep's wall time, and the plots.

    python scripts/readme_sweep.py configs/precision_grid.toml [-j N] [--no-readme]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from fpforge.gen.report import (markdown_table, publish, readme_options, sweep_figures,
                                sweep_timing)
from fpforge.gen.sweep import load
from fpforge.gen.sweep_run import run_sweep

ROOT = Path(__file__).resolve().parent.parent


def _column(record: dict) -> str:
    pipeline = record["params"].get("pipeline", 0)
    return record["target"] + (f", pipeline {pipeline}" if pipeline else "")


def _cell(record: dict) -> str:
    if record["status"] != "ok":
        return record["status"]
    area, detail = sweep_figures(record)
    return f"{area}, {sweep_timing(record) if record['target'] in ('ice40', 'ecp5') else detail}"


def pivot(records: list[dict]) -> str | None:
    """One row per unit and formats, one column per target (and pipeline depth); None
    when two points would share a cell (the flat table is used then)."""
    rows = list(dict.fromkeys((r["unit"], r["formats"]) for r in records))
    columns = list(dict.fromkeys(_column(r) for r in records))
    cells = {}
    for r in records:
        at = ((r["unit"], r["formats"]), _column(r))
        if at in cells:
            return None
        cells[at] = _cell(r)
    return markdown_table(["unit", "formats"] + columns,
                          [[unit, formats] + [cells.get(((unit, formats), c), "-")
                                              for c in columns] for unit, formats in rows])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path, help="sweep file")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="configurations at a time")
    readme_options(ap)
    args = ap.parse_args()
    sweep = load(args.file)
    out = ROOT / "out" / sweep.name
    summary = run_sweep(sweep, out, args.jobs)
    print(summary.line())
    docs = ROOT / "docs" / f"sweep_{sweep.name}"
    docs.mkdir(parents=True, exist_ok=True)
    plots = []
    for png in summary.outputs:
        if png.suffix == ".png":
            shutil.copyfile(png, docs / png.name)
            plots.append(f"![{png.stem}](docs/{docs.name}/{png.name})")
    head, flat = (out / "results.md").read_text().split("\n\n", 1)
    text = (f"`{args.file.as_posix()}`: {summary.count('ok')} points verified and measured, "
            f"{summary.count('failed')} failed verification, {summary.count('error')} errors. "
            f"{head} Area: transistors (T) and logic depth on the standard script; LUT4 and "
            "fmax (or the longest path of a unit with no register-to-register path) on the "
            "FPGAs.\n\n" + (pivot(summary.records) or flat) + "\n\n" + "\n".join(plots))
    publish(ROOT / "README.md", {f"sweep_{sweep.name}": text}, args)
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
