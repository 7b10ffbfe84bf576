"""``fpforge verify``: emitted Verilog (and optionally its synthesized netlist) against the
golden model, in Icarus through cocotb (:func:`verify`) or in the Verilator streaming
harness (:func:`verify_verilator`).  The vectors are ``fpforge.tb.stimulus``'s.
"""

from __future__ import annotations

import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fpforge.gen.emit import generate, write_files
from fpforge.gen.synth import AreaReport, LibertyReport
from fpforge.gen.units import UnitConfig
from fpforge.tb.runner import RunResult, run_cocotb
from fpforge.tb.stimulus import sample, stimulus
from fpforge.tb.verilator import build_harness, run_harness, stimulus_blocks

__all__ = ["VerifyReport", "verify", "verify_verilator", "emitted", "NETLIST_SAMPLE"]

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
            part = sample(data, netlist_sample, config)
            log(f"{gen.name}: simulating {len(next(iter(part.values())))} input cycles "
                "on the netlist")
            report.netlist = run_cocotb(net, gen.name, gen.manifest, part, work / "netlist",
                                        reset_edges)
        return report


def verify_verilator(config: UnitConfig, vectors: int | None = None, exhaustive: bool = False,
                     seed: int = 1, name: str | None = None, workdir: Path | None = None,
                     log=lambda msg: print(msg, file=sys.stderr, flush=True)) -> VerifyReport:
    """Verify the emitted Verilog with the Verilator harness; progress goes to ``log``.
    The harness drives the operand ports and checks ``y``: units with other ports (flags,
    a rand port, streams) are refused."""
    with emitted(config, name, workdir, "fpforge-vl-") as (gen, work, vfile):
        names = {p["name"] for p in gen.manifest["ports"]}
        plain = set(config.operand_formats()) | {"y", "clk", "rst", "in_valid", "out_valid"}
        if config.result != "per_input" or names - plain:
            extra = ", ".join(sorted(names - plain)) or "per-stream results"
            raise ValueError(f"--sim verilator drives operand ports and y only, not {extra}: "
                             "use --sim icarus")
        exe = build_harness(vfile, gen.name, config, work, log)
        blocks, total = stimulus_blocks(config, vectors, exhaustive, seed)
        log(f"{gen.name}: streaming {total} vectors through verilator")
        rtl = run_harness(exe, blocks, total, config, log, gen.name)
        return VerifyReport(gen.name, "verilator", rtl)
