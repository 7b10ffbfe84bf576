"""``fpforge area --liberty``: mapping to standard cells of a library laid out like a real
one (tests/liberty_cells.py), areas summed and OpenSTA delays computed by hand from the
library's declared figures, and every error path (one line; exit 1 when a tool fails,
2 for the user's file)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import pytest

from fpforge.gen.emit import generate
from fpforge.gen.synth import LibraryError, map_to_liberty, read_liberty, synthesize_liberty
from fpforge.gen.units import AddConfig, MulConfig

import liberty_cells as cells
from liberty_cells import AREA, CLK_TO_Q, DELAY, FLIP_FLOP, NEVER_USED, SETUP, area_of

NAND = "fx__nand2_1"
#: y = NAND(NAND(NAND(a, b), c), d): three NAND2 in a row, nothing cheaper
CHAIN = """module chain(input a, b, c, d, output y);
  assign y = ~(~(~(a & b) & c) & d);
endmodule
"""
#: r <= NAND(a, b); q <= NAND(r, c): the worst path is r's clock to Q, a NAND, q's setup
SEQ = """module seq(input clk, input a, b, c, output reg q);
  reg r;
  always @(posedge clk) begin r <= ~(a & b); q <= ~(r & c); end
endmodule
"""
#: two kept instances of a one-NAND module in a row
HIER = """(* keep_hierarchy *)
module sub(input a, b, output y);
  assign y = ~(a & b);
endmodule
module hier(input a, b, c, output y);
  wire t;
  sub s0(.a(a), .b(b), .y(t));
  sub s1(.a(t), .b(c), .y(y));
endmodule
"""


def _lib(tmp_path, name: str = "cells.lib", **options):
    path = tmp_path / name
    path.write_text(cells.liberty(**options))
    return path


def _unit(cfg, library, **kw):
    gen = generate(cfg)
    return map_to_liberty(gen.verilog, gen.name, library, "fixture.lib", **kw)


def test_area_is_the_sum_of_the_cells_of_a_real_layout():
    """An fp16 multiplier on fractional cell areas (over 1,000 in all: stat's text prints
    that as 7.51E+03, which broke the old parser): the area is its cells' areas summed by
    hand, no dont_use, scan or latch cell is used, and doubling every cell area doubles it
    with the same cells."""
    cfg = MulConfig(a="fp16", b="fp16", out="fp16")
    one = _unit(cfg, cells.liberty(), timing=False)
    assert one.area > 1000 and one.area == pytest.approx(area_of(one.cell_types), abs=1e-3)
    assert one.cells == sum(one.cell_types.values()) > 500 and one.sequential_area == 0
    assert set(one.cell_types) <= set(AREA) and not set(NEVER_USED) & set(one.cell_types)
    two = _unit(cfg, cells.liberty(scale=2), timing=False)
    assert two.cell_types == one.cell_types and two.area == pytest.approx(2 * one.area)


def test_flip_flops_map_to_the_two_output_cell():
    """The 17 registers of a 1-stage fp8 x fp8 -> fp16 multiplier (16 result bits and
    out_valid) are the Q/Q_N flip-flop, not the cheaper dont_use or scan one."""
    cfg = MulConfig(a="fp8_e4m3", b="fp8_e4m3", out="fp16", pipeline=1)
    r = _unit(cfg, cells.liberty(), timing=False)
    assert r.cell_types[FLIP_FLOP] == 17, r.cell_types
    assert r.sequential_area == pytest.approx(17 * AREA[FLIP_FLOP])
    assert r.area == pytest.approx(area_of(r.cell_types), abs=1e-3)
    assert not set(NEVER_USED) & set(r.cell_types)


@pytest.mark.parametrize("unit", ["ns", "ps"])
def test_delays_by_hand(unit):
    """OpenSTA's figures against the library's delays, whatever its time unit:
    a chain of three NAND2 (virtual clock), two registers (the worst path: clock to Q,
    a NAND2, setup), and two kept submodules (the totals of the hierarchy)."""
    library = cells.liberty(time_unit=unit)
    chain = map_to_liberty(CHAIN, "chain", library, "fixture.lib")
    assert chain.cell_types == {NAND: 3} and chain.area == pytest.approx(3 * AREA[NAND])
    assert chain.delay_ns == pytest.approx(3 * DELAY[NAND]) and chain.fmax_mhz is None
    assert chain.critical_path in ("a -> y", "b -> y"), chain

    seq = map_to_liberty(SEQ, "seq", library, "fixture.lib")
    assert seq.cell_types == {FLIP_FLOP: 2, NAND: 2}, seq
    assert seq.sequential_area == pytest.approx(2 * AREA[FLIP_FLOP])
    period = CLK_TO_Q + DELAY[NAND] + SETUP
    assert seq.delay_ns == pytest.approx(period)
    assert seq.fmax_mhz == pytest.approx(1000 / period, abs=0.01)
    assert seq.critical_path.endswith("/D") and seq.critical_path.count("/CLK") == 1, seq

    hier = map_to_liberty(HIER, "hier", library, "fixture.lib")
    assert hier.cell_types == {NAND: 2} and hier.cells == 2, hier
    assert hier.area == pytest.approx(2 * AREA[NAND])
    assert hier.delay_ns == pytest.approx(2 * DELAY[NAND])


def test_units_with_constant_outputs_and_pipelines():
    """Real units through OpenSTA 2.0's Verilog reader: the adder's flags has constant
    bits and Amaranth's netlists alias wires in concatenations (the reader takes neither);
    a 2-stage multiplier has register-to-register paths.  No path is shorter than one
    cell or longer than every cell in a row."""
    flags = _unit(AddConfig(a="fp8_e4m3", b="fp8_e4m3", out="fp8_e4m3", flags=True),
                  cells.liberty())
    assert max(DELAY.values()) < flags.delay_ns < flags.cells * max(DELAY.values()), flags
    assert flags.fmax_mhz is None
    piped = _unit(MulConfig(a="fp8_e4m3", b="fp8_e4m3", out="fp16", pipeline=2),
                  cells.liberty())
    assert CLK_TO_Q + SETUP < piped.delay_ns < flags.cells * max(DELAY.values()), piped
    assert piped.fmax_mhz == pytest.approx(1000 / piped.delay_ns, abs=0.01)


def test_gzip_library_reads_as_its_text(tmp_path):
    plain = _lib(tmp_path)
    packed = tmp_path / "cells.lib.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert read_liberty(packed) == read_liberty(plain) == plain.read_text()
    a = synthesize_liberty(CHAIN, "chain", plain)
    b = synthesize_liberty(CHAIN, "chain", packed)
    assert (a.area, a.delay_ns) == (b.area, b.delay_ns) and b.liberty == "cells.lib.gz"


# ---- the command ---------------------------------------------------------------------------
FPFORGE = [sys.executable, "-m", "fpforge.gen.cli"]


def _area(tmp_path, design: str, library, *extra, env=None):
    top = design.split("module ")[-1].split("(")[0]
    src = tmp_path / f"{top}.v"
    src.write_text(design)
    return subprocess.run(FPFORGE + ["area", "--verilog", str(src), "--top", top,
                                     "--liberty", str(library), *extra],
                          capture_output=True, text=True, env=env)


def test_cli_text_and_json(tmp_path):
    lib = _lib(tmp_path)
    proc = _area(tmp_path, SEQ, lib, "--json")
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    period = CLK_TO_Q + DELAY[NAND] + SETUP
    assert rep["delay_ns"] == pytest.approx(period) and rep["liberty"] == "cells.lib"
    assert rep["fmax_mhz"] == pytest.approx(1000 / period, abs=0.01)
    assert rep["area"] == pytest.approx(2 * AREA[FLIP_FLOP] + 2 * AREA[NAND])
    assert rep["opensta"] and rep["yosys"] and rep["cell_types"] == {FLIP_FLOP: 2, NAND: 2}
    proc = _area(tmp_path, CHAIN, lib)
    assert proc.returncode == 0, proc.stderr
    assert f"delay {3 * DELAY[NAND]:.2f} ns" in proc.stdout and "chain: area" in proc.stdout


def _write_bad(tmp_path, case: str):
    """A library path for each bad case."""
    path = tmp_path / "bad.lib"
    if case == "missing":
        return tmp_path / "none.lib"
    if case == "directory":
        return tmp_path
    if case == "not-liberty":
        path.write_text("cell (x) { area : 1; }\n")
    elif case == "binary":
        path.write_bytes(b"library (x) { \xff\xfe }")
    elif case == "bad-gzip":
        path = tmp_path / "bad.lib.gz"
        path.write_bytes(gzip.compress(cells.liberty().encode())[:200])
    elif case == "no-flip-flop":
        path.write_text(cells.liberty(flip_flop=False))
    elif case == "yosys-syntax":
        path.write_text(cells.liberty().replace('pin ("A") {', 'pin ("A") {{', 1))
    elif case == "no-thresholds":
        path.write_text("".join(ln for ln in cells.liberty().splitlines(keepends=True)
                                if "threshold" not in ln))
    elif case == "no-arcs":
        path.write_text(cells.liberty(arcs=False))
    return path


BAD = [  # case, exit status, words of the message
    ("missing", 2, ["no such liberty file", "none.lib"]),
    ("directory", 2, ["cannot read liberty file"]),
    ("not-liberty", 2, ["not a liberty file", "library ( ... ) group"]),
    ("binary", 2, ["not UTF-8 text"]),
    ("bad-gzip", 2, ["not valid gzip"]),
    ("no-flip-flop", 2, ["bad.lib has no usable cell for the $_DFF_P_ of seq"]),
    ("yosys-syntax", 1, ["yosys failed on seq", "ERROR"]),
    ("no-thresholds", 1, ["OpenSTA cannot read the library bad.lib", "thresholds"]),
    ("no-arcs", 1, ["OpenSTA found no timed path in seq"]),
]


@pytest.mark.parametrize("case,status,words", BAD, ids=[b[0] for b in BAD])
def test_cli_bad_library_is_one_line(tmp_path, case, status, words):
    proc = _area(tmp_path, SEQ, _write_bad(tmp_path, case))
    lines = proc.stderr.splitlines()
    assert proc.returncode == status, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert proc.stdout == "" and "Traceback" not in proc.stderr


def test_cli_without_opensta(tmp_path):
    """No ``sta`` on PATH: one line naming the package, before any synthesis."""
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = _area(tmp_path, CHAIN, _lib(tmp_path), env={**os.environ, "PATH": str(empty)})
    assert proc.returncode == 1 and proc.stdout == "", proc.stderr
    assert proc.stderr.splitlines() == [
        "error: OpenSTA (the sta command) is not installed: static timing needs it "
        "(Debian/Ubuntu: apt-get install opensta)"]


def test_library_errors_are_value_errors(tmp_path):
    """The API raises LibraryError (a ValueError: bad input) for the user's file."""
    with pytest.raises(LibraryError, match="no such liberty file"):
        read_liberty(tmp_path / "none.lib")
    with pytest.raises(ValueError, match="has no usable cell for"):
        map_to_liberty(SEQ, "seq", cells.liberty(flip_flop=False), "x.lib", timing=False)


# ---- the mapped netlist, simulated through the library's own functions --------------------
@pytest.mark.sim
def test_verify_on_the_mapped_netlist(tmp_path):
    """verify(..., liberty=...) simulates the netlist it measured (two-output flip-flops,
    half and full adders and all) through the cells' liberty functions: it passes, and the
    same netlist modelled with one cell's function changed fails."""
    from fpforge.gen.synth import liberty_model
    from fpforge.tb.runner import run_cocotb
    from fpforge.gen.verify import verify
    from fpforge.tb.stimulus import stimulus
    cfg = MulConfig(a="fp8_e4m3", b="fp8_e4m3", out="fp16", pipeline=1)
    report = verify(cfg, vectors=1500, netlist=True, netlist_sample=1500,
                    liberty=(cells.liberty(), "fixture.lib"), log=lambda msg: None)
    assert report.ok and report.netlist.tried > 1000, report.lines()
    assert report.area.cell_types[FLIP_FLOP] == 17 and report.area.fmax_mhz > 0
    gen = generate(cfg)
    net = tmp_path / "mapped.v"
    map_to_liberty(gen.verilog, gen.name, cells.liberty(), "fixture.lib", timing=False,
                   netlist=net)
    wrong = cells.liberty().replace('function : "!(A&B)"', 'function : "!(A|B)"', 1)
    model = tmp_path / "wrong.v"
    model.write_text(liberty_model(net, gen.name, wrong))
    data = stimulus(cfg, 500, False, 1)
    run = run_cocotb(model, gen.name, gen.manifest, data, tmp_path / "sim")
    assert run.tried > 0 and run.passed < run.tried, run
