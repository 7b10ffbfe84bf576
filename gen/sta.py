"""Static timing with OpenSTA (``sta``, Debian package ``opensta``) on a mapped netlist.

The constraints are those the SKY130 anchors were measured with: a clock of period
:data:`PERIOD_NS` (on the design's clock ports, or a virtual clock when it has no
register), every other input and every output at delay 0 against it, ideal inputs (no
input transition), no output load beyond what the library's cells and its default
wire-load model give, ``find_timing_paths -path_delay max``.

The figure is the shortest clock period every path meets: ``PERIOD_NS`` minus the worst
setup slack.  For a combinational design that is the longest input-to-output path; for a
clocked one the worst of input-to-register (plus setup), register-to-register (clock to
output, logic, setup), register-to-output and input-to-output paths, as a unit placed
between registers of the same clock sees it (single-edge designs: a negative-edge or
latch path does not scale with the period this way).  OpenSTA reports in seconds, so the
library's time unit does not matter.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fpforge.gen.synth import SynthesisError

__all__ = ["PERIOD_NS", "LIBRARY", "NETLIST", "WRITE_NETLIST", "Timing", "TimingError",
           "find_sta", "sta_version", "check_library", "static_timing"]

#: the files :func:`static_timing` reads in its working directory
LIBRARY, NETLIST = "cells.lib", "timing.v"
#: Yosys commands after the mapping that write :data:`NETLIST` for OpenSTA 2.0's Verilog
#: reader, which takes no concatenation: no internal aliases, every port split into bits
#: (ports ``\\y[3]``), single-bit assigns.  The cells are those of the mapping.
WRITE_NETLIST = f"opt_clean -purge; splitnets -ports; write_verilog -noattr -simple-lhs {NETLIST}"
#: the clock period the constraints are written for (ns); the result does not depend on it
PERIOD_NS = 100.0

#: OpenSTA ignores a failing command and goes on, so the script prints what it found and
#: the caller checks for "Error:" lines.  Clock ports: the inputs whose fanout reaches a
#: register's clock pin.  Each path group's worst path: slack (s), endpoint, startpoint
#: (the launching register's clock pin, else the input port).
_READ = "read_liberty {library}\n"
_SCRIPT = _READ + """\
read_verilog {netlist}
link_design {{{top}}}
set_cmd_units -time ns
set is_clk [dict create]
foreach pin [all_registers -clock_pins] {{ dict set is_clk [get_full_name $pin] 1 }}
set clocks {{}}
foreach port [all_inputs] {{
  foreach pin [get_fanout -from $port -flat -endpoints_only] {{
    if {{[dict exists $is_clk [get_full_name $pin]]}} {{ lappend clocks $port; break }}
  }}
}}
if {{[llength $clocks]}} {{
  create_clock -name clk -period {period} $clocks
}} else {{
  create_clock -name clk -period {period}
}}
set data {{}}
foreach port [all_inputs] {{ if {{[lsearch -exact $clocks $port] < 0}} {{ lappend data $port }} }}
if {{[llength $data]}} {{ set_input_delay 0 -clock clk $data }}
if {{[llength [all_outputs]]}} {{ set_output_delay 0 -clock clk [all_outputs] }}
foreach port $clocks {{ puts "fpforge-clock [get_full_name $port]" }}
foreach end [find_timing_paths -path_delay max -group_count 1 -endpoint_count 1] {{
  set pins [[$end path] pins]
  set start [get_full_name [lindex $pins end]]
  foreach pin $pins {{
    if {{[dict exists $is_clk [get_full_name $pin]]}} {{ set start [get_full_name $pin] }}
  }}
  puts "fpforge-path\t[$end slack]\t[get_full_name [lindex $pins 0]]\t$start"
}}
"""
_DONE = 'puts "fpforge-done"\n'


class TimingError(SynthesisError):
    """OpenSTA is missing, cannot read the library or netlist, or found no timed path."""


@dataclass(frozen=True)
class Timing:
    """``delay_ns``: the shortest period every path meets (see the module docstring);
    ``fmax_mhz``: its inverse for a clocked design, else None; ``clocks``: the clock
    ports found; ``start`` and ``end`` of the critical path (a register's clock pin for a
    path launched by a register)."""

    delay_ns: float
    fmax_mhz: float | None
    clocks: tuple[str, ...]
    start: str
    end: str


def find_sta() -> str:
    """The ``sta`` command's path, or a one-line :class:`TimingError`."""
    path = shutil.which("sta")
    if path is None:
        raise TimingError("OpenSTA (the sta command) is not installed: static timing needs "
                          "it (Debian/Ubuntu: apt-get install opensta)")
    return path


def sta_version() -> str:
    """e.g. ``2.0.17``."""
    proc = subprocess.run([find_sta(), "-version"], capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


def check_library(library: str, name: str) -> None:
    """Read the library text with OpenSTA alone: a :class:`TimingError` naming ``name``
    when OpenSTA cannot (before a long run needs it)."""
    with tempfile.TemporaryDirectory(prefix="fpforge-sta-") as tmp:
        (Path(tmp) / LIBRARY).write_text(library)
        _run(Path(tmp), _READ.format(library=LIBRARY), "", name)


def static_timing(work: Path, top: str, library: str = LIBRARY) -> Timing:
    """OpenSTA on ``work/``:data:`NETLIST` (module ``top``) with ``work/``:data:`LIBRARY`
    (named ``library`` in errors)."""
    lines = _run(Path(work), _SCRIPT.format(top=top, period=PERIOD_NS, library=LIBRARY,
                                            netlist=NETLIST), top, library)
    clocks = tuple(ln.split(maxsplit=1)[1] for ln in lines if ln.startswith("fpforge-clock "))
    paths = [ln.split("\t")[1:] for ln in lines if ln.startswith("fpforge-path\t")]
    if not paths:
        raise TimingError(f"OpenSTA found no timed path in {top} (are there timing arcs in "
                          "the library?)")
    slack, end, start = min(paths, key=lambda p: float(p[0]))
    delay = PERIOD_NS - float(slack) * 1e9
    return Timing(round(delay, 4), round(1000.0 / delay, 2) if clocks else None, clocks,
                  start, end)


def _run(work: Path, script: str, top: str, library: str) -> list[str]:
    """Run a Tcl script in ``work``; its output lines, or the first error as a one-line
    :class:`TimingError` (the library named ``library``, the design ``top``)."""
    (work / "timing.tcl").write_text(script + _DONE)
    proc = subprocess.run([find_sta(), "-no_init", "-no_splash", "-exit", "timing.tcl"],
                          cwd=work, capture_output=True, text=True)
    lines = (proc.stdout + "\n" + proc.stderr).splitlines()
    errors = [ln for ln in lines if ln.startswith("Error")]
    if not errors and proc.returncode == 0 and "fpforge-done" in lines:
        return lines
    if not errors:
        raise TimingError(f"OpenSTA failed on {top or library}: exit {proc.returncode}, "
                          "no result")
    where = re.match(rf"Error: {re.escape(LIBRARY)}, (line \d+)\s*(.*)", errors[0])
    if where:
        raise TimingError(f"OpenSTA cannot read the library {library}: {where.group(1)}: "
                          f"{where.group(2)}")
    raise TimingError(f"OpenSTA failed on {top or library}: "
                      f"{errors[0].removeprefix('Error: ')}")
