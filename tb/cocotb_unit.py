"""cocotb testbench for any generated unit, driven from its manifest.

Environment (set by :mod:`fpforge.tb.runner`):

``FPFORGE_MANIFEST``  the unit's JSON manifest (ports, latency)
``FPFORGE_VECTORS``   .npz with one array per input port, one per output port (expected,
                      from the golden model: ``y``, ``flags``) and for clocked units
                      optionally ``valid``
``FPFORGE_RESULT``    where to write {"tried", "passed", "mismatches", "cycles", "seconds"}
                      as JSON (arrays: cycles from the first beat to the last result row
                      and the wall time of that loop)
``FPFORGE_RESET_EDGES`` optional, clocked units: reset as a user's bench does it, ``rst``
                      high from time 0 for this many rising edges with every other input
                      left undriven (X) until ``rst`` falls together with the first
                      vector (default: inputs at 0, reset for latency + 2 edges)

Clocked units are checked on every falling edge from the first vector on (from the
first rising edge with ``FPFORGE_RESET_EDGES``): no output bit may be X or Z, and
``out_valid`` must be low wherever no result is due.

Combinational units: apply each vector, wait 1 ns, compare every output.
Clocked units: one vector per cycle (``in_valid`` from ``valid``), inputs driven and outputs
sampled on the falling edge; the output of the vector applied in cycle t must appear with
``out_valid`` in cycle t + latency exactly, so latency and back-to-back throughput are
both checked.

Arrays (``result: per_tile``): one beat per cycle (``a``/``b`` vectors hold one code per
lane, packed here), a beat with ``in_last`` held while ``in_ready`` is low; row r of a tile
whose last beat was taken in cycle t must appear with ``out_valid`` in cycle
t + latency + r exactly (``out_last`` on the last row), and ``out_valid`` never otherwise.
"""

from __future__ import annotations

import json
import os
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge, Timer

MAX_REPORTED = 20


def _load():
    manifest = json.loads(open(os.environ["FPFORGE_MANIFEST"]).read())
    with np.load(os.environ["FPFORGE_VECTORS"]) as data:
        vectors = {k: data[k] for k in data.files}
    inputs = [p["name"] for p in manifest["ports"]
              if p["direction"] == "in" and p["name"] not in ("clk", "rst", "in_valid")]
    outputs = [p["name"] for p in manifest["ports"]
               if p["direction"] == "out" and p["name"] != "out_valid"]
    return manifest, vectors, inputs, outputs


def _read(handle):
    """Output value as int, or None when it holds X/Z."""
    v = handle.value
    return int(v) if v.is_resolvable else None


def _report(tried, passed, mismatches, cycles=0, seconds=0.0):
    with open(os.environ["FPFORGE_RESULT"], "w") as fh:
        json.dump({"tried": tried, "passed": passed, "mismatches": mismatches[:MAX_REPORTED],
                   "cycles": cycles, "seconds": seconds}, fh)
    if passed != tried:
        first = ", ".join(f"{m}" for m in mismatches[:3])
        raise AssertionError(f"{tried - passed} of {tried} vectors mismatch; first: {first}")


def _mismatch(index, inputs, outputs, vectors, got):
    fields = {name: hex(int(vectors[name][index])) for name in inputs}
    for name, value in zip(outputs, got):
        fields[f"got_{name}"] = "x" if value is None else hex(value)
        fields[f"want_{name}"] = hex(int(vectors[name][index]))
    fields["index"] = int(index)
    return fields


@cocotb.test()
async def vectors(dut):
    manifest, vectors, inputs, outputs = _load()
    if manifest.get("result") == "per_tile":
        await _tiles(dut, manifest, vectors)
    elif manifest["latency"]:
        await _clocked(dut, manifest["latency"], vectors, inputs, outputs,
                       manifest.get("result") == "per_stream")
    else:
        await _combinational(dut, vectors, inputs, outputs)


async def _combinational(dut, vectors, inputs, outputs):
    handles = [getattr(dut, n) for n in inputs]
    columns = [vectors[n].tolist() for n in inputs]
    out_handles = [getattr(dut, n) for n in outputs]
    want = list(zip(*(vectors[n].tolist() for n in outputs)))
    mismatches, passed = [], 0
    for i in range(len(want)):
        for h, col in zip(handles, columns):
            h.value = col[i]
        await Timer(1, unit="ns")
        got = tuple(_read(h) for h in out_handles)
        if got == want[i]:
            passed += 1
        else:
            mismatches.append(_mismatch(i, inputs, outputs, vectors, got))
    _report(len(want), passed, mismatches)


async def _clocked(dut, latency, vectors, inputs, outputs, per_stream):
    """Per-input units: every valid input's result ``latency`` cycles later.  Per-stream
    units (accumulators): one result per valid ``in_last``, ``latency`` cycles later; the
    expected arrays then hold one row per stream."""
    n = len(vectors[inputs[0]])
    valid = vectors["valid"].tolist() if "valid" in vectors else [1] * n
    produces = ([v and last for v, last in zip(valid, vectors["in_last"].tolist())]
                if per_stream else valid)
    row, row_of = 0, []
    for p in produces:
        row_of.append(row)
        row += bool(p)
    handles = [getattr(dut, name) for name in inputs]
    columns = [vectors[name].tolist() for name in inputs]
    out_handles = [getattr(dut, name) for name in outputs]
    want = list(zip(*(vectors[name].tolist() for name in outputs)))
    mismatches = await _reset(dut, handles, latency + 2)
    passed, tried = 0, len(mismatches)
    for cycle in range(n + latency):
        if cycle < n:  # drive vector `cycle`
            dut.in_valid.value = valid[cycle]
            for h, col in zip(handles, columns):
                h.value = col[cycle]
        else:
            dut.in_valid.value = 0
        src = cycle - latency  # the vector whose result is due now
        undefined = _undefined(dut, ["out_valid", *outputs])
        if undefined:
            mismatches.append({"cycle": cycle, "error": f"X or Z on {', '.join(undefined)}"})
            tried += 1
        elif src < 0 and _read(dut.out_valid):
            mismatches.append({"cycle": cycle, "error": "out_valid before any result"})
            tried += 1
        elif src >= 0:
            out_valid = _read(dut.out_valid)
            if out_valid != produces[src]:
                mismatches.append({"index": src, "error": f"out_valid={out_valid}, "
                                   f"expected {produces[src]} {latency} cycles after input"})
                tried += 1
            elif produces[src]:
                tried += 1
                got = tuple(_read(h) for h in out_handles)
                r = row_of[src] if per_stream else src
                if got == want[r]:
                    passed += 1
                else:
                    fields = _mismatch(r, [] if per_stream else inputs, outputs, vectors, got)
                    fields["input_index"] = src
                    mismatches.append(fields)
        await FallingEdge(dut.clk)
    _report(tried, passed, mismatches)


def _undefined(dut, names) -> list[str]:
    """The outputs among ``names`` that hold an X or Z bit."""
    return [name for name in names if not getattr(dut, name).value.is_resolvable]


async def _reset(dut, data_inputs, default_edges: int) -> list:
    """Reset the unit and return the mismatches seen meanwhile; ends on the falling edge
    where the first vector is to be driven, with ``rst`` low.  With
    ``FPFORGE_RESET_EDGES``: ``rst`` high from time 0 for that many rising edges, the
    other inputs undriven, and every output checked for X and Z after each edge."""
    edges = os.environ.get("FPFORGE_RESET_EDGES")
    dut.rst.value = 1
    # the clock starts low: its first rising edge comes 5 ns after rst is set, as in a
    # Verilog bench with `reg clk = 0`, not in the same time step
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start(start_high=False))
    if edges is None:
        dut.in_valid.value = 0
        if hasattr(dut, "in_last"):
            dut.in_last.value = 0
        for h in data_inputs:
            h.value = 0
    mismatches = []
    # (an array's in_ready is combinational from in_last: X while in_last is undriven)
    outputs = [p for p in ("out_valid", "y", "flags", "out_last") if hasattr(dut, p)]
    for edge in range(int(edges) if edges else default_edges):
        await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        undefined = _undefined(dut, outputs) if edges else []
        if undefined:
            mismatches.append({"reset_edge": edge + 1,
                               "error": f"X or Z on {', '.join(undefined)} during reset"})
        elif _read(dut.out_valid):
            mismatches.append({"reset_edge": edge + 1, "error": "out_valid during reset"})
    dut.rst.value = 0
    return mismatches


def _pack(codes, width: int) -> list[int]:
    """Rows of lane codes -> one int per row, lane i in bits [i*width, (i+1)*width)."""
    return [sum(int(c) << (i * width) for i, c in enumerate(row)) for row in codes.tolist()]


async def _tiles(dut, manifest, vectors):
    rows, cols = manifest["array"]["rows"], manifest["array"]["cols"]
    widths = {k: f["width"] for k, f in manifest["formats"].items()}
    latency = manifest["latency"]
    a, b = _pack(vectors["a"], widths["a"]), _pack(vectors["b"], widths["b"])
    valid, last = vectors["valid"].tolist(), vectors["in_last"].tolist()
    want = vectors["y"].tolist()  # one row per (tile, r)
    mismatches = await _reset(dut, [dut.a, dut.b], 3)
    start = time.perf_counter()
    due = {}  # cycle -> index of the result row expected then
    last_row_cycle = 0
    tiles = 0
    passed, tried = 0, len(mismatches)
    beat, cycle = 0, 0
    while beat < len(valid) or due:
        out_valid = _read(dut.out_valid)  # registered outputs of this cycle
        row = due.pop(cycle, None)
        undefined = _undefined(dut, ["out_valid", "out_last", "y"])
        if undefined:
            mismatches.append({"cycle": cycle, "error": f"X or Z on {', '.join(undefined)}"})
            tried += 1
        elif out_valid != (row is not None):
            mismatches.append({"cycle": cycle, "error": f"out_valid={out_valid}, expected "
                               f"{int(row is not None)}"})
            tried += 1
        elif row is not None:
            y, out_last = _read(dut.y), _read(dut.out_last)
            mask = (1 << widths["y"]) - 1
            got = [None if y is None else (y >> (j * widths["y"])) & mask for j in range(cols)]
            good = sum(g == w for g, w in zip(got, want[row]))
            last_row_cycle = cycle
            tried, passed = tried + cols, passed + good
            if good != cols:
                mismatches.append({"tile": row // rows, "row": row % rows, "cycle": cycle,
                                   "got": [None if g is None else hex(g) for g in got],
                                   "want": [hex(w) for w in want[row]]})
            if out_last != int(row % rows == rows - 1):
                tried += 1
                mismatches.append({"tile": row // rows, "row": row % rows,
                                   "error": f"out_last={out_last}"})
        if cycle > 50 * (len(valid) + latency + rows) + 1000:
            tried += 1
            mismatches.append({"error": f"stuck at beat {beat} (in_ready low)"})
            break
        if beat < len(valid):
            dut.in_valid.value = valid[beat]
            dut.in_last.value = last[beat]
            dut.a.value, dut.b.value = a[beat], b[beat]
            await Timer(1, unit="ns")
            ready = _read(dut.in_ready)
            if valid[beat] and last[beat] and ready:
                for r in range(rows):
                    due[cycle + latency + r] = tiles * rows + r
                tiles += 1
            if ready or not valid[beat]:
                beat += 1
        else:
            dut.in_valid.value = 0
        await FallingEdge(dut.clk)
        cycle += 1
    for _ in range(2):  # and nothing after the last row
        if _read(dut.out_valid) != 0:
            tried += 1
            mismatches.append({"cycle": cycle, "error": "out_valid after the last row"})
        await FallingEdge(dut.clk)
        cycle += 1
    if tiles * rows != len(want):
        tried += 1
        mismatches.append({"error": f"{tiles} tiles taken, {len(want) // rows} expected"})
    _report(tried, passed, mismatches, cycles=last_row_cycle + 1,
            seconds=time.perf_counter() - start)
