"""Running a sweep: each configuration is verified, then measured on its targets.

A configuration is verified once (cocotb + Icarus on the emitted Verilog with the point's
vector budget, exhaustive when every input combination fits in it, then the synthesized
netlist on a sample); only a configuration that passes gets figures.  A point that fails
is recorded with ``status = "failed"`` and no area; a tool failure is ``"error"``.

Configurations run on a local process pool (``-j N``; ``-j 1`` runs in this process) or on
Dask distributed (a scheduler address, or a ``LocalCluster`` of N worker processes).  Only
this process reads and writes the cache, ``DIR/cache/<key>.json`` (one file per finished
point, written atomically): a re-run skips finished points, an interrupted sweep resumes.
Failed points are cached (they fail the same way again); errors are not (they are retried).
"""

from __future__ import annotations

import json
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fpforge import __version__
from fpforge.gen.emit import write_files
from fpforge.gen.sweep import Budget, Point, Sweep, SweepError

__all__ = ["measure", "run_sweep", "SweepSummary", "EXECUTORS"]

EXECUTORS = ("local", "dask")


@dataclass
class SweepSummary:
    name: str
    records: list[dict]
    cached: int
    computed: int
    seconds: float
    outputs: list[Path] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.records)

    @property
    def ok(self) -> bool:
        return self.count("ok") == len(self.records)

    def line(self) -> str:
        return (f"sweep {self.name}: {len(self.records)} points ({self.cached} cached, "
                f"{self.computed} run) in {self.seconds:.0f} s: {self.count('ok')} ok, "
                f"{self.count('failed')} failed verification, {self.count('error')} errors")


def _describe(config) -> dict:
    """Columns every record has: what the point is, for tables and plots."""
    operands = list(config.operand_formats().values())
    return {"name": config.default_name(), "unit": config.unit,
            "formats": ", ".join(str(f) for f in operands) + f" -> {config.out_fmt}",
            "m_p": operands[0].man_bits, "m_acc": config.out_fmt.man_bits,
            "params": config.params()}


def _figures(report) -> dict:
    """The measured figures of a synthesis report, as record columns."""
    from fpforge.gen.synth import AreaReport, FpgaReport
    if isinstance(report, AreaReport):
        return {"transistors": report.transistors, "cells": report.cells,
                "depth": report.depth, "dffs": report.dffs, "yosys": report.yosys}
    if isinstance(report, FpgaReport):
        return {**report.counts, "fmax_mhz": report.fmax_mhz, "delay_ns": report.delay_ns,
                "part": report.part, "pnr_error": report.pnr_error,
                "primitives": report.cells, "yosys": report.yosys}
    return {"liberty_area": report.area, "sequential_area": report.sequential_area,
            "cells": report.cells, "liberty": report.liberty, "yosys": report.yosys,
            "delay_ns": report.delay_ns, "fmax_mhz": report.fmax_mhz,
            "critical_path": report.critical_path, "opensta": report.opensta}


def measure(config, targets: list[str], budget: Budget,
            liberty_text: str | None = None) -> list[dict]:
    """Verify ``config`` within ``budget``, then synthesize it for each target; one record
    per target.  Runs on a worker: takes and returns only plain, picklable values."""
    from fpforge.gen.emit import generate
    from fpforge.gen.synth import map_to_liberty, synthesize, synthesize_fpga
    from fpforge.gen.verify import verify

    t0 = time.time()
    base = _describe(config)
    exhaustive = config.enumerable and (1 << config.input_bits) <= budget.vectors
    try:
        report = verify(config, vectors=None if exhaustive else budget.vectors,
                        exhaustive=exhaustive, seed=budget.seed,
                        netlist=budget.netlist_sample > 0,
                        netlist_sample=budget.netlist_sample, log=lambda msg: None)
    except Exception as exc:  # a tool failure: recorded, not cached, retried next run
        return [dict(base, target=t, status="error", error=_first_line(exc),
                     seconds=round(time.time() - t0, 2)) for t in targets]
    base.update(verified=report.ok, rtl_checked=report.rtl.tried,
                rtl_passed=report.rtl.passed,
                netlist_checked=report.netlist.tried if report.netlist else 0,
                netlist_passed=report.netlist.passed if report.netlist else 0)
    if not report.ok:
        wrong = (report.rtl.mismatches or (report.netlist.mismatches if report.netlist
                                           else []))
        base["mismatch"] = str(wrong[0]) if wrong else ""
    verify_seconds = time.time() - t0
    verilog = generate(config).verilog if report.ok else None
    records = []
    for target in targets:
        t1 = time.time()
        record = dict(base, target=target)
        if not report.ok:
            record["status"] = "failed"
        else:
            try:
                if target == "asic":
                    area = report.area or synthesize(verilog, base["name"])
                elif target == "liberty":
                    area = map_to_liberty(verilog, base["name"], liberty_text, "cells.lib")
                else:
                    area = synthesize_fpga(verilog, base["name"], target)
                record.update(status="ok", **_figures(area))
            except Exception as exc:
                record.update(status="error", error=_first_line(exc))
        record["seconds"] = round(verify_seconds + time.time() - t1, 2)
        records.append(record)
    return records


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


# ---- executors -------------------------------------------------------------------------
def _measure_task(task: tuple) -> tuple[int, list[dict]]:
    index, args = task
    return index, measure(*args)


def _ignore_sigint() -> None:  # pool workers: Ctrl-C is the parent's to handle
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _local(jobs: int):
    """Yields run(tasks) -> iterator of (index, records) as they finish."""
    if jobs == 1:
        yield lambda tasks: map(_measure_task, tasks)
        return
    import multiprocessing
    pool = multiprocessing.get_context("spawn").Pool(jobs, initializer=_ignore_sigint)
    try:
        yield lambda tasks: pool.imap_unordered(_measure_task, tasks)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _worker_versions() -> tuple[str, str]:
    from fpforge.gen.synth import yosys_version
    return __version__, yosys_version()


@contextmanager
def _dask(jobs: int, scheduler: str | None):
    """Dask distributed: the scheduler at ``scheduler``, or a LocalCluster of ``jobs``
    single-threaded worker processes."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise SweepError("--executor dask needs Dask distributed: pip install "
                         "'fpforge[dask]'") from None
    import logging
    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise SweepError(f"cannot reach the Dask scheduler at {scheduler}: "
                                 f"{_first_line(exc)}") from None
        else:
            cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
    except BaseException:
        if cluster is not None:
            cluster.close()
        raise
    try:
        mine = _worker_versions()
        for worker, theirs in client.run(_worker_versions).items():
            if tuple(theirs) != mine:
                raise SweepError(f"Dask worker {worker} runs fpforge {theirs[0]} with yosys "
                                 f"{theirs[1]}; this client fpforge {mine[0]}, yosys "
                                 f"{mine[1]}: install the same versions on every worker")

        def run(tasks):
            futures = [client.submit(_measure_task, task, pure=False) for task in tasks]
            for future in as_completed(futures):
                yield future.result()
        yield run
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# ---- the sweep -------------------------------------------------------------------------
def _cached(cache: Path, point: Point) -> dict | None:
    path = cache / f"{point.key}.json"
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if record.get("key") == point.key else None


def _tasks(points: list[Point], todo: set[int]) -> list[tuple]:
    """One task per configuration with the targets it still needs, and the indexes of
    their points: [(task, [point index, ...])]."""
    groups: dict[tuple, list[int]] = {}
    for i in sorted(todo):
        p = points[i]
        ident = (p.config.unit, json.dumps(p.params, sort_keys=True), p.budget)
        groups.setdefault(ident, []).append(i)
    tasks = []
    for n, indexes in enumerate(groups.values()):
        first = points[indexes[0]]
        libs = [points[i].liberty_text for i in indexes if points[i].liberty_text]
        args = (first.config, [points[i].target for i in indexes], first.budget,
                libs[0] if libs else None)
        tasks.append(((n, args), indexes))
    return tasks


def run_sweep(sweep: Sweep, out: Path, jobs: int = 1, executor: str = "local",
              scheduler: str | None = None, progress: bool = True) -> SweepSummary:
    """Run every point not in ``out/cache``, then write the results (``out/results.*`` and
    plots).  Raises KeyboardInterrupt after caching what finished, ``TimingError`` before
    anything runs when liberty points need OpenSTA and it is missing or cannot read the
    library."""
    from tqdm import tqdm
    from fpforge.gen.report import write_sweep_results

    if executor not in EXECUTORS:
        raise SweepError(f"unknown executor {executor!r}: choose from {', '.join(EXECUTORS)}")
    t0 = time.time()
    out = Path(out)
    cache = out / "cache"
    records: list[dict | None] = [_cached(cache, p) for p in sweep.points]
    todo = {i for i, r in enumerate(records) if r is None}
    cached = len(records) - len(todo)
    libraries = {sweep.points[i].liberty_text for i in todo} - {None}
    if libraries:  # before any point runs: a missing sta or a library it cannot read
        from fpforge.gen.sta import check_library
        check_library(libraries.pop(), sweep.liberty)
    tasks = _tasks(sweep.points, todo)
    bar = tqdm(total=len(records), initial=cached, unit="pt", desc=sweep.name,
               disable=not progress, file=sys.stderr, dynamic_ncols=True)
    try:
        if tasks:
            runner = _local(jobs) if executor == "local" else _dask(jobs, scheduler)
            with runner as run:
                for n, results in run([task for task, _ in tasks]):
                    for i, record in zip(tasks[n][1], results):
                        record = dict(record, key=sweep.points[i].key)
                        if record["status"] != "error":
                            write_files(cache, {f"{record['key']}.json":
                                                json.dumps(record, sort_keys=True) + "\n"})
                        records[i] = record
                        bar.update(1)
    finally:
        bar.close()
    summary = SweepSummary(sweep.name, records, cached, len(todo), time.time() - t0)
    summary.outputs = write_sweep_results(out, sweep, records, summary.seconds, len(todo))
    return summary
