"""`fpforge sweep`: sweep files -> points (expansion, keys, errors), the command's bad-input
handling, and (``sim``) running small sweeps: local vs Dask, figures against a direct
synthesis, cache and resume, failed verification, Ctrl-C, FPGA + liberty targets and plots."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fpforge.gen.cli import main
from fpforge.gen.sweep import SWEEP_TARGETS, SweepError, load, parse_sweep
from fpforge.gen.units import AccConfig, MulConfig
from fpforge.sim.formats import parse

from liberty_cells import liberty

FPFORGE = [sys.executable, "-m", "fpforge.gen.cli"]
PNG = b"\x89PNG\r\n\x1a\n"
#: a small verification budget for the sim tests: 300 RTL vectors, 100 on the netlist
SMALL = "[sweep]\nvectors = 300\nnetlist_sample = 100\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def sweep_of(tmp_path: Path, text: str, name: str = "s.toml"):
    return load(write(tmp_path / name, text))


def described(sweep) -> list[tuple]:
    """(unit, a, b, out, target) of every point, formats as specs."""
    return [(p.config.unit, p.params.get("a"), p.params.get("b"), p.params.get("out"),
             p.target) for p in sweep.points]


def keys(sweep) -> list[str]:
    return [p.key for p in sweep.points]


# ---- expansion ---------------------------------------------------------------------------
def test_cartesian_product_in_list_order(tmp_path):
    s = sweep_of(tmp_path, """
[sweep]
name = "grid"
[[unit]]
unit = ["mul", "add"]
a = ["fp8_e4m3", "fp8_e5m2", "fp16"]
b = ["fp16", "bf16"]
out = "fp32"
""")
    assert s.name == "grid" and s.liberty is None
    assert len(s.points) == 2 * 3 * 2
    e4m3, e5m2, fp16, bf16, fp32 = (parse(n).spec for n in
                                    ("fp8_e4m3", "fp8_e5m2", "fp16", "bf16", "fp32"))
    want = [(u, a, b, fp32, "asic") for u in ("mul", "add") for a in (e4m3, e5m2, fp16)
            for b in (fp16, bf16)]
    assert described(s) == want
    assert [p.config.default_name() for p in s.points][:2] == [
        "fpmul_fp8_e4m3_fp16_fp32_rne", "fpmul_fp8_e4m3_bf16_fp32_rne"]
    # the [sweep] defaults
    assert {(p.budget.vectors, p.budget.netlist_sample, p.budget.seed) for p in s.points} \
        == {(20_000, 2_000, 1)}
    # the name defaults to the file's stem
    t = sweep_of(tmp_path, '[[unit]]\nunit = "mul"\na = "fp16"\nsame = {b = "a", out = "a"}\n',
                 name="my_grid.toml")
    assert t.name == "my_grid"


def test_same_ties_fields(tmp_path):
    s = sweep_of(tmp_path, """
[[unit]]
unit = "mac"
a = ["fp8_e4m3", "bf16", "fp16"]
same = { b = "a", c = "a", out = "a" }
rounding = ["rne", "rtz"]
""")
    assert len(s.points) == 3 * 2
    for p in s.points:
        assert p.params["b"] == p.params["c"] == p.params["out"] == p.params["a"], p.params
    assert [(p.params["a"], p.params["rounding"]) for p in s.points] == [
        (parse(a).spec, r) for a in ("fp8_e4m3", "bf16", "fp16") for r in ("rne", "rtz")]


def test_where_filters(tmp_path):
    s = sweep_of(tmp_path, """
[[unit]]
unit = "mul"
a = ["fp8_e4m3", "fp16", "fp32"]
same = { b = "a" }
out = ["fp8_e4m3", "fp16", "fp32"]
where = ["out.width > a.width"]
""")
    widths = [(p.config.a.width, p.config.out.width) for p in s.points]
    assert widths == [(8, 16), (8, 32), (16, 32)]
    # several filters are and-ed; non-format fields, strings, arithmetic and `in` work
    s = sweep_of(tmp_path, """
[[unit]]
unit = "mul"
a = ["fp8_e4m3", "fp8_e5m2", "hfp8", "fp16"]
same = { b = "a", out = "a" }
pipeline = [0, 1, 2]
rounding = ["rne", "rtz"]
where = ["a.man_bits + a.exp_bits == 7", "pipeline % 2 == 0 and rounding != 'rtz'",
         "a.name in ['fp8_e4m3', 'hfp8']"]
""")
    assert [(p.config.a.name, p.config.pipeline, p.config.rounding) for p in s.points] == [
        ("fp8_e4m3", 0, "rne"), ("fp8_e4m3", 2, "rne"), ("hfp8", 0, "rne"), ("hfp8", 2, "rne")]


def test_duplicates_dropped_and_block_targets(tmp_path):
    s = sweep_of(tmp_path, """
[sweep]
targets = ["asic"]
[[unit]]
unit = "mul"
a = ["fp8_e4m3", "fp16"]
same = { b = "a", out = "a" }
[[unit]]
unit = "mul"
a = ["e5m10", "bf16"]          # e5m10 is fp16 again: its asic point is a duplicate
same = { b = "a", out = "a" }
targets = ["asic", "ice40"]
""")
    e4m3, fp16, bf16 = (parse(n).spec for n in ("fp8_e4m3", "fp16", "bf16"))
    assert [(p.params["a"], p.target) for p in s.points] == [
        (e4m3, "asic"), (fp16, "asic"),
        (fp16, "ice40"), (bf16, "asic"), (bf16, "ice40")]
    assert len(set(keys(s))) == len(s.points)
    # the same configuration with a different budget is another point
    s = sweep_of(tmp_path, """
[[unit]]
unit = "mul"
a = "fp16"
same = { b = "a", out = "a" }
[[unit]]
unit = "mul"
a = "fp16"
same = { b = "a", out = "a" }
vectors = 5
[[unit]]
unit = "mul"
a = "fp16"
same = { b = "a", out = "a" }
""")
    assert [p.budget.vectors for p in s.points] == [20_000, 5]


def test_block_overrides_budget(tmp_path):
    s = sweep_of(tmp_path, """
[sweep]
vectors = 1000
netlist_sample = 0
seed = 7
targets = ["ice40", "ecp5"]
[[unit]]
unit = "add"
a = "bf16"
same = { b = "a", out = "a" }
[[unit]]
unit = "add"
a = "fp16"
same = { b = "a", out = "a" }
vectors = 50
seed = 3
targets = "asic"
""")
    assert [(p.params["a"], p.target, p.budget.vectors, p.budget.netlist_sample, p.budget.seed)
            for p in s.points] == [("e8m7", "ice40", 1000, 0, 7), ("e8m7", "ecp5", 1000, 0, 7),
                                   ("e5m10", "asic", 50, 0, 3)]
    assert set(SWEEP_TARGETS) == {"asic", "ice40", "ecp5", "liberty"}


def test_in_alias_for_acc(tmp_path):
    s = sweep_of(tmp_path, """
[[unit]]
unit = "acc"
in = ["fp8_e4m3", "bf16"]
acc = ["fp32", "fp16"]
chunk = 32
where = ["acc.width > in_fmt.width"]
""")
    assert all(isinstance(p.config, AccConfig) for p in s.points)
    assert [(p.params["in"], p.params["acc"], p.config.chunk) for p in s.points] == [
        ("e4m3fn", "e8m23", 32), ("e4m3fn", "e5m10", 32), ("e8m7", "e8m23", 32)]
    assert s.points[0].config.in_fmt == parse("fp8_e4m3")
    # `in` as a source and a destination of `same`
    s = sweep_of(tmp_path, '[[unit]]\nunit = "acc"\nin = ["bf16", "fp32"]\nsame = {acc = "in"}\n')
    assert [(p.params["in"], p.params["acc"]) for p in s.points] == [
        ("e8m7", "e8m7"), ("e8m23", "e8m23")]
    s = sweep_of(tmp_path, '[[unit]]\nunit = "acc"\nacc = "fp32"\nsame = {in = "acc"}\n')
    assert [(p.params["in"], p.params["acc"]) for p in s.points] == [("e8m23", "e8m23")]


# ---- cache keys --------------------------------------------------------------------------
KEYED = """
[sweep]
vectors = 300
netlist_sample = 100
liberty = "cells.lib"
[[unit]]
unit = "mul"
a = ["fp8_e4m3", "fp16"]
same = { b = "a", out = "a" }
targets = ["asic", "ice40", "liberty"]
"""


def test_keys_are_stable_and_distinct(tmp_path):
    write(tmp_path / "cells.lib", liberty())
    first = keys(sweep_of(tmp_path, KEYED))
    assert first == keys(sweep_of(tmp_path, KEYED))
    assert len(set(first)) == len(first) == 6
    assert all(len(k) == 20 and int(k, 16) >= 0 for k in first)
    # the same text in a file of another name: the same keys
    assert keys(sweep_of(tmp_path, KEYED, name="other.toml")) == first


@pytest.mark.parametrize("change", [
    ("vectors = 300", "vectors = 301"),
    ("netlist_sample = 100", "netlist_sample = 0"),
    ('liberty = "cells.lib"', 'liberty = "cells.lib"\nseed = 2'),
    ("[[unit]]", '[[unit]]\nrounding = "rtz"'),
    ("[[unit]]", "[[unit]]\npipeline = 1"),
    ('a = ["fp8_e4m3", "fp16"]\nsame = { b = "a", out = "a" }',
     'a = ["fp8_e4m3", "fp16"]\nsame = { b = "a" }\nout = "fp32"'),
])
def test_key_changes_with_budget_and_params(tmp_path, change):
    write(tmp_path / "cells.lib", liberty())
    old, new = change
    assert old in KEYED
    before = keys(sweep_of(tmp_path, KEYED))
    after = keys(sweep_of(tmp_path, KEYED.replace(old, new)))
    assert len(after) == len(before)
    assert not set(before) & set(after), change


def test_key_changes_with_target_version_and_liberty(tmp_path, monkeypatch):
    import fpforge.gen.sweep as sweep_module
    lib = write(tmp_path / "cells.lib", liberty())
    s = sweep_of(tmp_path, KEYED)
    by_target = {}
    for p in s.points:
        by_target.setdefault(p.params["a"], {})[p.target] = p.key
    for targets in by_target.values():
        assert len(set(targets.values())) == 3, targets
    before = keys(s)
    # another fpforge version: every key changes (cached figures are not reused)
    monkeypatch.setattr(sweep_module, "__version__", "99.0.0")
    assert not set(keys(s)) & set(before)
    monkeypatch.undo()
    assert keys(s) == before
    # another liberty text: the liberty points' keys change, the others' do not
    lib.write_text(liberty(scale=2))
    t = sweep_of(tmp_path, KEYED)
    for p, q in zip(s.points, t.points):
        assert (p.key == q.key) == (p.target != "liberty"), (p.target, p.key, q.key)
    # the same text in a file of another name: same keys
    write(tmp_path / "lib2" / "other.lib", liberty(scale=2))
    u = sweep_of(tmp_path, KEYED.replace('"cells.lib"', '"lib2/other.lib"'))
    assert keys(u) == keys(t) and u.liberty == "other.lib" and t.liberty == "cells.lib"


# ---- errors ------------------------------------------------------------------------------
UNIT = '[[unit]]\nunit = "mul"\na = "fp8_e4m3"\nsame = { b = "a", out = "a" }\n'

ERRORS = [
    ('[[unit]]\nunit = "div"\na = "fp16"\n',
     ["unknown unit 'div'", "mul, add, mac, acc, axpy, array"]),
    ('[[unit]]\nunit = ["mul", "sqrt"]\na = "fp16"\n', ["unknown unit 'sqrt'"]),
    ('[[unit]]\nunit = "mul"\na = "fp16"\nc = "fp16"\n',
     ["mul has no field 'c'", "a, b, flags, out, pipeline, rand_bits"]),
    ('[[unit]]\nunit = ["add", "mac"]\na = "fp16"\nc = "fp16"\nsame = {b = "a", out = "a"}\n',
     ["add has no field 'c'"]),
    ('[[unit]]\nunit = "acc"\nin_format = "fp16"\nacc = "fp32"\n',
     ["acc has no field 'in_format'", "in_fmt"]),
    (UNIT + 'targets = ["asic", "xilinx"]\n',
     ["unknown target 'xilinx'", "asic, ice40, ecp5, liberty"]),
    ('[sweep]\ntarget = "asic"\n' + UNIT,
     ["[sweep]: unknown key 'target'", "name, liberty, vectors, netlist_sample, seed, targets"]),
    ('[sweeps]\nname = "x"\n' + UNIT, ["unknown table 'sweeps'"]),
    ('[sweep]\nname = "x"\n', ["at least one [[unit]] table"]),
    # an invalid combination that no filter removes: named, with the way out
    ('[[unit]]\nunit = "mac"\na = "fp8_e4m3"\nsame = { b = "a", c = "a", out = "a" }\n'
     'fused = [true, false]\n',
     ["mac", "fused=False", "--no-fused needs --prod", "exclude it with where"]),
    ('[[unit]]\nunit = "mac"\na = "fp8_e4m3"\nsame = { b = "a", c = "a", out = "a" }\n'
     'fused = [true, false]\nwhere = ["not fused"]\n', ["--no-fused needs --prod"]),
    ('[[unit]]\nunit = "mul"\na = ["fp16", "fp7"]\nsame = { b = "a", out = "a" }\n',
     ["unknown format 'fp7'", "exclude it with where"]),
    (UNIT + 'pipeline = -1\n', ["pipeline=-1", "must be an integer >= 0"]),
    (UNIT + 'rounding = ["rne", "rnd"]\n', ["unknown rounding mode 'rnd'", "rne, rtz"]),
    ('[[unit]]\nunit = "mul"\na = "fp16"\nsame = { b = "zz" }\n',
     ["same = {b = 'zz'}", "must be fields of mul"]),
    (UNIT + 'pipeline = []\n', ["pipeline is an empty list"]),
    # filters: a safe little language
    (UNIT + 'where = ["__import__(\'os\').system(\'true\')"]\n', ["Call is not allowed"]),
    (UNIT + 'where = ["len(rounding) > 2"]\n', ["Call is not allowed"]),
    (UNIT + 'where = ["a.__class__ is not None"]\n',
     ["unknown attribute '__class__'", "width, exp_bits, man_bits, bias, precision"]),
    (UNIT + 'where = ["a.dtype.itemsize == 1"]\n', ["unknown attribute"]),
    (UNIT + 'where = ["(lambda: 1)()"]\n', ["is not allowed"]),
    (UNIT + 'where = ["rounding[0] == \'r\'"]\n', ["Subscript is not allowed"]),
    (UNIT + 'where = ["a.width ** 99 > 1"]\n', ["Pow is not allowed"]),
    (UNIT + 'where = ["width > 8"]\n',
     ["unknown name 'width'", "the fields are a, b, flags, out, pipeline"]),
    (UNIT + 'where = ["__builtins__"]\n', ["unknown name '__builtins__'"]),
    (UNIT + 'where = ["a.width >"]\n', ["is not an expression"]),
    (UNIT + 'where = [8]\n', ["where takes expressions as strings"]),
    (UNIT + 'where = ["rounding.width > 1"]\n', ["fails", "has no attribute 'width'"]),
    # targets, budgets, the library, an empty sweep
    (UNIT + 'targets = ["liberty"]\n', ["target 'liberty' needs liberty = FILE"]),
    ('[sweep]\nliberty = "nope.lib"\n' + UNIT, ["no such liberty file", "nope.lib"]),
    (UNIT + 'where = ["a.width > 8"]\n', ["the sweep has no points", "filtered out"]),
    ('[sweep]\nvectors = 0\n' + UNIT, ["vectors must be an integer >= 1, not 0"]),
    ('[sweep]\nvectors = "many"\n' + UNIT, ["vectors must be an integer >= 1, not 'many'"]),
    (UNIT + 'vectors = 2.5\n', ["vectors must be an integer >= 1, not 2.5"]),
    (UNIT + 'vectors = true\n', ["vectors must be an integer >= 1, not True"]),
    ('[sweep]\nnetlist_sample = -1\n' + UNIT, ["netlist_sample must be an integer >= 0"]),
    ('[sweep]\nseed = 0\n' + UNIT, ["seed must be an integer >= 1, not 0"]),
]


@pytest.mark.parametrize("text,parts", ERRORS, ids=[parts[0] for _, parts in ERRORS])
def test_sweep_errors(tmp_path, text, parts):
    with pytest.raises(SweepError) as info:
        sweep_of(tmp_path, text)
    message = str(info.value)
    assert "\n" not in message
    for part in parts:
        assert part in message, (part, message)


def test_filtered_invalid_combination_is_no_error(tmp_path):
    s = sweep_of(tmp_path, """
[[unit]]
unit = "mac"
a = ["fp8_e4m3", "fp8_e5m2"]
same = { b = "a", c = "a", out = "a" }
fused = [true, false]
prod = ["fp16", "bf16"]
where = ["not fused"]
""")
    # fused with a prod is invalid (--prod only with --no-fused): filtered, no error
    assert [(p.params["a"], p.config.fused, p.params["prod"]) for p in s.points] == [
        (a, False, prod) for a in ("e4m3fn", "e5m2") for prod in ("e5m10", "e8m7")]
    s = sweep_of(tmp_path, UNIT + 'pipeline = [0, -1, 2]\nwhere = ["pipeline >= 0"]\n')
    assert [p.config.pipeline for p in s.points] == [0, 2]


def test_load_errors(tmp_path):
    with pytest.raises(SweepError, match="no such sweep file: .*missing.toml"):
        load(tmp_path / "missing.toml")
    bad = write(tmp_path / "bad.toml", '[[unit]]\nunit = "mul\na = 1\n')
    with pytest.raises(SweepError, match=r"bad.toml: not valid TOML"):
        load(bad)
    with pytest.raises(SweepError, match="needs at least one"):
        parse_sweep({}, "empty")


MALFORMED = [
    ('[[unit]]\nunit = "mul"\na = "fp16"\nsame = "a"\n', "same"),
    ("sweep = 5\n" + UNIT, "sweep"),
    ("unit = [1, 2]\n", "unit"),
    ('[[unit]]\nunit = []\na = "fp16"\n', "unit is empty"),
    ('[[unit]]\nunit = "mul"\na = "fp16"\nb = "fp16"\nout = "fp16"\ntargets = []\n',
     "targets is empty"),
    ('[[unit]]\nunit = "mul"\na = "fp16"\nout = "fp16"\nsame = { b = ["a"] }\n',
     "give a field name"),
]


@pytest.mark.parametrize("text,word", MALFORMED, ids=["same-str", "sweep-int", "unit-ints", "unit-empty",
                                        "targets-empty", "same-list"])
def test_malformed_tables_are_sweep_errors(tmp_path, text, word):
    with pytest.raises(SweepError, match=word):
        sweep_of(tmp_path, text)


@pytest.mark.parametrize("case", ["directory", "binary-sweep", "binary-liberty"])
def test_unreadable_files_are_sweep_errors(tmp_path, case):
    if case == "directory":
        path = tmp_path
    elif case == "binary-sweep":
        path = tmp_path / "s.toml"
        path.write_bytes(b"\xff\xfe[[unit]]\n")
    else:
        (tmp_path / "cells.lib").write_bytes(b"\xff\xfe library")
        path = write(tmp_path / "s.toml", '[sweep]\nliberty = "cells.lib"\n' + UNIT)
    with pytest.raises(SweepError):
        load(path)


# ---- the command: bad input -> exit 2, one line, nothing written --------------------------
def _cli_bad(tmp_path, capsys, args):
    out = tmp_path / "never"
    code = main(["sweep", *args, "-o", str(out), "--no-progress"])
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == 2, captured
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert not out.exists()
    return lines[0]


def test_cli_missing_file(tmp_path, capsys):
    line = _cli_bad(tmp_path, capsys, [str(tmp_path / "nope.toml")])
    assert "no such sweep file" in line and "nope.toml" in line


def test_cli_bad_toml(tmp_path, capsys):
    f = write(tmp_path / "bad.toml", "[sweep\nvectors = 3\n")
    assert "not valid TOML" in _cli_bad(tmp_path, capsys, [str(f)])


def test_cli_unknown_unit(tmp_path, capsys):
    f = write(tmp_path / "u.toml", '[[unit]]\nunit = "div"\na = "fp16"\n')
    line = _cli_bad(tmp_path, capsys, [str(f)])
    assert "unknown unit 'div'" in line and "mul, add" in line


def test_cli_scheduler_needs_dask(tmp_path, capsys):
    f = write(tmp_path / "s.toml", UNIT)
    line = _cli_bad(tmp_path, capsys, [str(f), "--scheduler", "tcp://127.0.0.1:8786"])
    assert "--scheduler needs --executor dask" in line


def test_cli_jobs_zero(tmp_path, capsys):
    f = write(tmp_path / "s.toml", UNIT)
    line = _cli_bad(tmp_path, capsys, [str(f), "-j", "0"])
    assert "-j/--jobs" in line and "must be an integer >= 1" in line


def test_cli_bad_input_subprocess(tmp_path):
    f = write(tmp_path / "s.toml", UNIT + 'targets = ["vhdl"]\n')
    proc = subprocess.run(FPFORGE + ["sweep", str(f), "-o", str(tmp_path / "never")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [proc.stderr.strip()] and proc.stdout == ""
    assert proc.stderr.startswith("error: fpforge sweep: ") and "unknown target 'vhdl'" \
        in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize("case", ["no-thresholds", "no-sta"])
def test_cli_opensta_trouble_stops_before_any_point(tmp_path, capsys, monkeypatch, case):
    """A library OpenSTA cannot read, or no sta: one line, exit 1, before any point is
    verified (the library is read at once), nothing written."""
    text = liberty()
    if case == "no-thresholds":
        text = "".join(ln for ln in text.splitlines(keepends=True) if "threshold" not in ln)
    else:
        monkeypatch.setenv("PATH", str(tmp_path))
    write(tmp_path / "cells.lib", text)
    f = write(tmp_path / "s.toml", '[sweep]\nliberty = "cells.lib"\ntargets = ["liberty"]\n'
              + UNIT)
    out = tmp_path / "never"
    code = main(["sweep", str(f), "-o", str(out), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == "" and not out.exists(), captured
    line, = captured.err.splitlines()
    assert line.startswith("error: OpenSTA ") and "Traceback" not in captured.err
    assert ("cannot read the library cells.lib" in line if case == "no-thresholds"
            else "apt-get install opensta" in line), line


# ---- running sweeps (Icarus + Yosys) -------------------------------------------------------
def _drop_seconds(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def _results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


@pytest.mark.sim
def test_local_and_dask_give_the_same_records(tmp_path):
    from fpforge.gen.sweep_run import run_sweep
    s = sweep_of(tmp_path, SMALL + """
[[unit]]
unit = "mul"
a = ["fp8_e4m3", "e3m2"]
same = { b = "a", out = "a" }
[[unit]]
unit = "mul"
a = "fp8_e5m2"
same = { b = "a", out = "a" }
pipeline = 1
""")
    assert len(s.points) == 3
    local = run_sweep(s, tmp_path / "local", jobs=2, executor="local", progress=False)
    dask = run_sweep(s, tmp_path / "dask", jobs=2, executor="dask", progress=False)
    for summary, out in ((local, tmp_path / "local"), (dask, tmp_path / "dask")):
        assert summary.ok and summary.computed == 3 and summary.cached == 0, summary.line()
        assert [r["status"] for r in summary.records] == ["ok"] * 3
        assert [r["key"] for r in summary.records] == keys(s)
        for name in ("results.json", "results.csv", "results.md"):
            assert (out / name).is_file() and out / name in summary.outputs
        assert len(list((out / "cache").glob("*.json"))) == 3
        assert _results(out)["records"] == json.loads(json.dumps(summary.records))
    assert _drop_seconds(local.records) == _drop_seconds(dask.records)
    assert local.records[2]["dffs"] > 0 and local.records[0]["dffs"] == 0


@pytest.mark.sim
def test_figures_match_a_direct_synthesis(tmp_path):
    """A sweep point's figures are those of `synthesize` on the emitted Verilog; the RTL
    check is exhaustive when every input combination fits in the vector budget
    (e3m2 x e3m2: 12 input bits, 4096 combinations), else exactly the budget."""
    from fpforge.gen.emit import generate
    from fpforge.gen.synth import synthesize
    from fpforge.gen.sweep_run import run_sweep
    s = sweep_of(tmp_path, """
[sweep]
netlist_sample = 100
[[unit]]
unit = "mul"
a = "e3m2"
same = { b = "a", out = "a" }
vectors = 4096
[[unit]]
unit = "mul"
a = "fp8_e4m3"
same = { b = "a" }
out = "fp16"
vectors = 300
[[unit]]
unit = "mul"
a = "e3m2"
same = { b = "a", out = "a" }
vectors = 4095
""")
    summary = run_sweep(s, tmp_path / "o", jobs=1, progress=False)
    assert summary.ok, summary.line()
    e3m2_exh, fp8, e3m2_rand = summary.records
    assert (e3m2_exh["rtl_checked"], e3m2_exh["rtl_passed"]) == (4096, 4096)
    assert (e3m2_rand["rtl_checked"], e3m2_rand["rtl_passed"]) == (4095, 4095)
    assert (fp8["rtl_checked"], fp8["rtl_passed"]) == (300, 300)
    for r in summary.records:
        assert r["verified"] is True and r["netlist_checked"] == r["netlist_passed"] == 100
    cfg = MulConfig(a="fp8_e4m3", b="fp8_e4m3", out="fp16")
    direct = synthesize(generate(cfg).verilog, cfg.default_name())
    assert fp8["name"] == cfg.default_name() and fp8["params"] == cfg.params()
    assert (fp8["transistors"], fp8["cells"], fp8["depth"], fp8["dffs"]) == (
        direct.transistors, direct.cells, direct.depth, direct.dffs)
    assert (fp8["m_p"], fp8["m_acc"]) == (3, 10)
    cfg = MulConfig(a="e3m2", b="e3m2", out="e3m2")
    direct = synthesize(generate(cfg).verilog, cfg.default_name())
    assert e3m2_exh["transistors"] == e3m2_rand["transistors"] == direct.transistors
    assert direct.transistors < fp8["transistors"]


CACHED = SMALL + """
[[unit]]
unit = "mul"
a = ["e3m2", "e3m3", "e4m2"]
same = { b = "a", out = "a" }
"""


@pytest.mark.sim
def test_cache_and_resume(tmp_path):
    from fpforge.gen.sweep_run import run_sweep
    out = tmp_path / "o"
    part = sweep_of(tmp_path, CACHED + 'where = ["a.man_bits == 2"]\n', name="part.toml")
    full = sweep_of(tmp_path, CACHED, name="full.toml")
    assert len(part.points) == 2 and len(full.points) == 3
    assert set(keys(part)) < set(keys(full))  # filters are not part of a key
    first = run_sweep(part, out, progress=False)
    assert (first.cached, first.computed, first.ok) == (0, 2, True)
    second = run_sweep(full, out, progress=False)
    assert (second.cached, second.computed, second.ok) == (2, 1, True)
    assert [r["key"] for r in second.records] == keys(full)
    assert sorted(p.stem for p in (out / "cache").glob("*.json")) == sorted(keys(full))
    written = _results(out)
    assert written["sweep"] == "full" and len(written["records"]) == 3
    third = run_sweep(full, out, progress=False)
    assert (third.cached, third.computed, third.ok) == (3, 0, True)
    again = _results(out)
    assert {k: v for k, v in again.items() if k != "seconds"} == \
        {k: v for k, v in written.items() if k != "seconds"}
    # a corrupt cache file (and one of another point's key) is recomputed, not trusted
    victim = out / "cache" / f"{full.points[1].key}.json"
    victim.write_text("garbage {\n")
    other = out / "cache" / f"{full.points[2].key}.json"
    record = json.loads(other.read_text())
    other.write_text(json.dumps(dict(record, key="0" * 20, transistors=1)))
    fourth = run_sweep(full, out, progress=False)
    assert (fourth.cached, fourth.computed, fourth.ok) == (1, 2, True)
    assert _drop_seconds(fourth.records) == _drop_seconds(written["records"])
    assert json.loads(victim.read_text())["key"] == full.points[1].key


def _wrong_golden(monkeypatch, fmt: str):
    """Make the golden model wrong (bit 0 of y flipped) for multipliers of ``fmt``."""
    real = MulConfig.expected

    def expected(self, inputs):
        out = real(self, inputs)
        if self.a == parse(fmt):
            y = np.asarray(out["y"])
            out = dict(out, y=y ^ np.ones_like(y))
        return out
    monkeypatch.setattr(MulConfig, "expected", expected)


FAILING = SMALL + """
[[unit]]
unit = "mul"
a = ["e3m2", "e4m2"]
same = { b = "a", out = "a" }
"""


@pytest.mark.sim
def test_failed_verification(tmp_path, monkeypatch, capsys):
    """A configuration that fails verification gets status "failed" and no figures; the
    sweep (and `fpforge sweep`, exit 1) is not ok.  Failed points are cached like passed
    ones: the key is a hash of the version, the configuration, the target and the budget,
    not of the golden model, so a re-run with the same fpforge version reports the cached
    failure (a fix to the golden model comes with a new version, hence new keys)."""
    from fpforge.gen.sweep_run import run_sweep
    f = write(tmp_path / "fail.toml", FAILING)
    s = load(f)
    _wrong_golden(monkeypatch, "e4m2")
    out = tmp_path / "o"
    summary = run_sweep(s, out, jobs=1, progress=False)
    ok, bad = summary.records
    assert ok["status"] == "ok" and ok["verified"] is True and ok["transistors"] > 0
    assert bad["status"] == "failed" and bad["verified"] is False, bad
    assert bad["rtl_passed"] < bad["rtl_checked"] == 300
    assert isinstance(bad["mismatch"], str) and bad["mismatch"]
    assert not {"transistors", "cells", "depth", "dffs", "error"} & set(bad), bad
    assert not summary.ok and summary.count("failed") == 1 and summary.count("ok") == 1
    assert "1 failed verification" in summary.line()
    assert "FAILED" in (out / "results.md").read_text()
    assert (out / "cache" / f"{bad['key']}.json").is_file()
    # the command, with the patch still active: exit 1
    code = main(["sweep", str(f), "-j", "1", "--no-progress", "-o", str(tmp_path / "cli")])
    captured = capsys.readouterr()
    assert code == 1, captured
    assert "2 points (0 cached, 2 run)" in captured.out and "1 failed" in captured.out
    assert [r["status"] for r in _results(tmp_path / "cli")["records"]] == ["ok", "failed"]
    # the golden model fixed: the failure is still reported, from the cache
    monkeypatch.undo()
    rerun = run_sweep(s, out, jobs=1, progress=False)
    assert (rerun.cached, rerun.computed) == (2, 0)
    assert [r["status"] for r in rerun.records] == ["ok", "failed"]


@pytest.mark.sim
def test_errors_are_not_cached(tmp_path, monkeypatch, capsys):
    """A tool failure is recorded with status "error" (no verification figures), is not
    cached, and is retried by the next run."""
    import fpforge.gen.verify
    from fpforge.gen.sweep_run import run_sweep
    f = write(tmp_path / "err.toml", FAILING)
    s = load(f)
    real = fpforge.gen.verify.verify

    def verify(config, **kwargs):
        if config.a == parse("e4m2"):
            raise RuntimeError("simulator exploded\nsecond line")
        return real(config, **kwargs)
    monkeypatch.setattr(fpforge.gen.verify, "verify", verify)
    out = tmp_path / "o"
    code = main(["sweep", str(f), "-j", "1", "--no-progress", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 1 and "1 errors" in captured.out, captured
    ok, err = _results(out)["records"]
    assert ok["status"] == "ok" and err["status"] == "error", err
    assert err["error"] == "RuntimeError: simulator exploded"
    assert "transistors" not in err and "verified" not in err
    assert sorted(p.stem for p in (out / "cache").glob("*.json")) == [ok["key"]]
    assert "| error |" in (out / "results.md").read_text()
    monkeypatch.undo()
    rerun = run_sweep(s, out, jobs=1, progress=False)
    assert (rerun.cached, rerun.computed, rerun.ok) == (1, 1, True)
    assert (out / "cache" / f"{err['key']}.json").is_file()


@pytest.mark.sim
def test_interrupt_then_resume(tmp_path):
    from fpforge.gen.sweep_run import run_sweep
    cli_source = Path(sys.modules["fpforge.gen.cli"].__file__).read_text()
    assert 'if __name__ == "__main__":' in cli_source
    f = write(tmp_path / "int.toml", SMALL + """
[[unit]]
unit = "mul"
a = ["e3m2", "e4m2", "e3m3", "e4m3"]
same = { b = "a", out = "a" }
""")
    out = tmp_path / "o"
    proc = subprocess.Popen(FPFORGE + ["sweep", str(f), "-j", "1", "--no-progress",
                                       "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # pytest-xdist workers ignore SIGINT, and a child inherits
                            # that: give the sweep a terminal's default disposition
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 240
        while not list((out / "cache").glob("*.json")):
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline, "no point finished in time"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stderr
    assert "interrupted" in stderr and "run the same command again to resume" in stderr
    assert not (out / "results.json").exists()
    done = len(list((out / "cache").glob("*.json")))
    assert 1 <= done < 4
    summary = run_sweep(load(f), out, jobs=1, progress=False)
    assert summary.cached == done and summary.cached + summary.computed == 4
    assert summary.ok and (out / "results.json").is_file()


@pytest.mark.sim
def test_fpga_liberty_targets_and_plots(tmp_path, monkeypatch):
    from fpforge.gen.report import sweep_columns
    from fpforge.gen.sweep_run import run_sweep
    here = tmp_path / "sweeps"
    write(here / "lib" / "cells.lib", liberty())
    write(here / "fpga.toml", SMALL + """
liberty = "lib/cells.lib"   # relative to this file
[[unit]]
unit = "mul"
a = "fp8_e4m3"
same = { b = "a", out = "a" }
pipeline = 2
targets = ["asic", "ice40", "liberty"]
[[unit]]
unit = "mul"
a = "e3m2"
same = { b = "a", out = "a" }
pipeline = 2
""")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    s = load(Path("..") / "sweeps" / "fpga.toml")
    assert s.liberty == "cells.lib"
    assert [(p.params["a"], p.target) for p in s.points] == [
        ("e4m3fn", "asic"), ("e4m3fn", "ice40"), ("e4m3fn", "liberty"), ("e3m2", "asic")]
    out = tmp_path / "o"
    summary = run_sweep(s, out, jobs=1, progress=False)
    assert summary.ok, summary.records
    asic, ice40, lib, small = summary.records
    assert asic["transistors"] > small["transistors"] > 0 and asic["dffs"] > 0
    assert ice40["lut4"] > 0 and ice40["dff"] > 0 and "carry" in ice40
    assert ice40["fmax_mhz"] is not None and 10 < ice40["fmax_mhz"] < 1000, ice40
    assert "transistors" not in ice40 and "lut4" not in asic
    assert lib["liberty_area"] > lib["sequential_area"] > 0 and lib["liberty"] == "cells.lib"
    # OpenSTA on the 2-stage multiplier: register-to-register paths, so an fmax
    assert lib["delay_ns"] > 0 and lib["fmax_mhz"] == pytest.approx(1000 / lib["delay_ns"],
                                                                     abs=0.01), lib
    assert lib["critical_path"] and lib["opensta"]
    # one verification serves the three targets of a configuration
    assert {r["rtl_checked"] for r in (asic, ice40, lib)} == {asic["rtl_checked"]}
    names = {p.name for p in summary.outputs}
    assert {"area_vs_mul_precision.png", "luts_vs_fmax.png"} <= names
    # each m_acc series has one point: no accumulator plot
    assert "area_vs_m_acc.png" not in names and not (out / "area_vs_m_acc.png").exists()
    for png in ("area_vs_mul_precision.png", "luts_vs_fmax.png"):
        assert (out / png).read_bytes()[:8] == PNG
    with open(out / "results.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        assert reader.fieldnames == sweep_columns(summary.records)
    assert len(rows) == 4
    assert [row["target"] for row in rows] == ["asic", "ice40", "liberty", "asic"]
    assert rows[1]["lut4"] == str(ice40["lut4"]) and rows[0]["transistors"] == str(
        asic["transistors"]) and rows[3]["a"] == "e3m2" and rows[0]["pipeline"] == "2"
    assert "primitives" not in reader.fieldnames and "params" not in reader.fieldnames
    md = (out / "results.md").read_text()
    assert md.count("\n| `fpmul_") == 4 and "LUT4" in md and "fmax" in md
    assert f"sequential, fmax {lib['fmax_mhz']:.1f} MHz" in md
    assert rows[2]["delay_ns"] == str(lib["delay_ns"]) and rows[1]["delay_ns"] == ""
    assert os.path.getsize(out / "results.json") > 0


def test_ctrl_c_during_yosys_interrupts(monkeypatch):
    """yowasp tools catch Ctrl-C and exit 130: that must stop a sweep, not become an
    'error' record that the sweep runs past."""
    from fpforge.gen import synth
    monkeypatch.setattr(synth, "_run_yosys", lambda args: 130)
    with pytest.raises(KeyboardInterrupt):
        synth.synthesize("module m(input a, output y); assign y = a; endmodule\n", "m")
    monkeypatch.setattr(synth, "_run_yosys", lambda args: 1)
    with pytest.raises(synth.SynthesisError):
        synth.synthesize("module m(input a, output y); assign y = a; endmodule\n", "m")
