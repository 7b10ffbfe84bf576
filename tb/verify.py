"""``fpforge verify``: emitted Verilog (and optionally its synthesized netlist) against the
golden model.

Vectors: every input combination when the inputs total at most 16 bits (or with
``exhaustive``), else corners + boundary-targeted + random ones.  Clocked units get the
first half back-to-back and the second half with random idle cycles (``in_valid`` low)
between vectors; every vector is still applied and checked once.
"""

from __future__ import annotations

import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fpforge.gen.emit import generate, write_files
from fpforge.gen.synth import AreaReport, LibertyReport
from fpforge.gen.units import UnitConfig
from fpforge.tb.runner import RunResult, run_cocotb

__all__ = ["VerifyReport", "verify", "stimulus", "emitted", "EXHAUSTIVE_BITS", "NETLIST_SAMPLE"]

#: inputs of at most this many bits in total are verified exhaustively by default
EXHAUSTIVE_BITS = 16
#: vectors simulated on the gate-level netlist
NETLIST_SAMPLE = 20_000


@dataclass
class VerifyReport:
    name: str
    sim: str
    rtl: RunResult
    netlist: RunResult | None = None
    #: the area of the netlist that was simulated (with ``netlist``): the standard
    #: script's, or with a liberty file its area and timing
    area: AreaReport | LibertyReport | None = None

    @property
    def ok(self) -> bool:
        return self.rtl.ok and (self.netlist is None or self.netlist.ok)

    def lines(self) -> list[str]:
        out = [f"{self.name} rtl ({self.sim}): {self.rtl.tried} results checked, "
               f"{self.rtl.passed} passed"]
        if self.netlist is not None:
            out.append(f"{self.name} netlist ({self.sim}): {self.netlist.tried} results "
                       f"checked, {self.netlist.passed} passed")
        for res in (self.rtl, self.netlist):
            for mm in (res.mismatches if res else [])[:5]:
                out.append(f"  mismatch: {mm}")
        return out


def stimulus(config: UnitConfig, vectors: int | None, exhaustive: bool, seed: int,
             options: dict | None = None, idle: bool = True) -> dict:
    """Input arrays, the expected outputs (``y``, ``flags``) and (clocked units) the
    ``valid`` pattern.  ``options``: the unit's own stimulus options (``test_inputs``);
    ``idle=False``: no idle cycles inserted (a harness that drives every cycle)."""
    if exhaustive or (vectors is None and config.enumerable
                      and config.input_bits <= EXHAUSTIVE_BITS):
        data = config.all_inputs()
    else:
        data = config.test_inputs(vectors or config.default_vectors, seed, **(options or {}))
    if idle and config.latency and "valid" not in data:
        data = _with_bubbles(data, seed)
    data.update(config.expected(data))
    return data


def _with_bubbles(data: dict, seed: int) -> dict:
    """Every vector once, back-to-back in the first half; in the second half an idle
    cycle (``valid`` 0, the next vector's inputs held) before about a quarter of them."""
    n = len(next(iter(data.values())))
    bubble = np.zeros(n, dtype=bool)
    bubble[n // 2:] = np.random.default_rng(seed).random(n - n // 2) < 0.25
    rows = np.repeat(np.arange(n), 1 + bubble)
    valid = np.ones(len(rows), dtype=np.uint64)
    valid[np.flatnonzero(bubble) + np.arange(int(bubble.sum()))] = 0
    return dict({k: v[rows] for k, v in data.items()}, valid=valid)


def _sample(data: dict, n: int, config: UnitConfig) -> dict:
    """The first n/2 vectors (the corner-rich head) and n/2 spread over the rest; for
    per-stream and per-tile units, the whole streams (tiles) that end within the first n
    cycles."""
    if config.result in ("per_stream", "per_tile"):
        ends = np.flatnonzero((data["in_last"] == 1) & (data.get("valid", 1) == 1))
        keep = ends[ends < n]
        if keep.size == 0:
            keep = ends[:1]
        cut = int(keep[-1]) + 1
        results = keep.size * (config.rows if config.result == "per_tile" else 1)
        outputs = {"y", "flags"}
        return {k: (v[:results] if k in outputs else v[:cut]) for k, v in data.items()}
    total = len(data["y"])
    if total <= n:
        return data
    head = np.arange(n // 2)
    rest = np.linspace(n // 2, total - 1, n - n // 2).astype(np.int64)
    idx = np.concatenate([head, rest])
    return {k: v[idx] for k, v in data.items()}


@contextmanager
def emitted(config: UnitConfig, name: str | None, workdir: Path | None, prefix: str):
    """Generate the unit and write its Verilog into ``workdir`` (or a temporary directory
    removed afterwards); yields (Generated, work directory, Verilog path)."""
    gen = generate(config, name)
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        work = Path(workdir) if workdir else Path(tmp)
        vfile = work / f"{gen.name}.v"
        write_files(work, {vfile.name: gen.verilog})
        yield gen, work, vfile


def verify(config: UnitConfig, vectors: int | None = None, exhaustive: bool = False,
           seed: int = 1, netlist: bool = False, name: str | None = None,
           workdir: Path | None = None, log=lambda msg: print(msg, file=sys.stderr),
           options: dict | None = None, netlist_sample: int = NETLIST_SAMPLE,
           reset_edges: int | None = None,
           liberty: tuple[str, str] | None = None) -> VerifyReport:
    """Generate the unit, simulate its Verilog with cocotb + Icarus against the golden
    model, and (``netlist``) simulate the synthesized netlist on a sample of
    ``netlist_sample`` vectors (input cycles for streams and tiles); the report then holds
    that netlist's area.  With ``liberty`` (library text, name) that netlist is the one
    mapped to the library's cells (simulated through the cells' liberty functions), and
    the area its :class:`LibertyReport`.  ``options``: the unit's stimulus options (e.g.
    the array's ``gemms`` and ``k``); ``reset_edges``: reset held from time 0 for that
    many edges with the inputs undriven (:func:`fpforge.tb.runner.run_cocotb`)."""
    if exhaustive and config.input_bits > 24:
        raise ValueError(f"exhaustive {config.unit} over {config.input_bits} input bits is too "
                         "long for Icarus: use --sim verilator")
    with emitted(config, name, workdir, "fpforge-verify-") as (gen, work, vfile):
        log(f"{gen.name}: computing golden vectors")
        data = stimulus(config, vectors, exhaustive, seed, options)
        log(f"{gen.name}: simulating {len(next(iter(data.values())))} input cycles on the "
            "RTL (icarus)")
        rtl = run_cocotb(vfile, gen.name, gen.manifest, data, work / "rtl", reset_edges)
        report = VerifyReport(gen.name, "icarus", rtl)
        if netlist:
            from fpforge.gen.synth import liberty_model, map_to_liberty, synthesize
            net = work / f"{gen.name}_netlist.v"
            if liberty is None:
                log(f"{gen.name}: synthesizing (standard script) for the gate-level run")
                report.area = synthesize(gen.verilog, gen.name, netlist=net)
            else:
                log(f"{gen.name}: mapping to {liberty[1]} for the gate-level run")
                report.area = map_to_liberty(gen.verilog, gen.name, *liberty, netlist=net)
                write_files(work, {net.name: liberty_model(net, gen.name, liberty[0])})
            sample = _sample(data, netlist_sample, config)
            log(f"{gen.name}: simulating {len(next(iter(sample.values())))} input cycles "
                "on the netlist")
            report.netlist = run_cocotb(net, gen.name, gen.manifest, sample, work / "netlist",
                                        reset_edges)
        return report
