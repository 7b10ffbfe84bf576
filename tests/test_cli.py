"""The `fpforge` command: outputs, manifest, determinism, bad input, area."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fpforge.gen.cli import main

FPFORGE = [sys.executable, "-m", "fpforge.gen.cli"]


def run(args, env=None, cwd=None):
    return subprocess.run(FPFORGE + args, capture_output=True, text=True, env=env, cwd=cwd)


def test_formats_table(capsys):
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    for name, maximum in [("fp32", "3.402823466e+38"), ("fp16", "65504"), ("bf16", "3.389531389e+38"),
                          ("dlfloat16", "8573157376"), ("fp8_e4m3", "448"),
                          ("fp8_e5m2", "57344"), ("hfp8", "30")]:
        line = next(ln for ln in out.splitlines() if ln.startswith(name + " "))
        assert maximum in line.split(), line
    assert main(["formats", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    fp16 = next(r for r in rows if r["name"] == "fp16")
    assert (fp16["width"], fp16["bias"], fp16["min_subnormal"]) == (16, 15, "5.960464478e-08")


def test_gen_writes_verilog_and_manifest(tmp_path):
    out = tmp_path / "o"
    proc = run(["gen", "mul", "--a", "fp8_e4m3", "--b", "fp8_e5m2", "--out", "fp16",
                "--rounding", "rna", "--saturate", "--pipeline", "2", "-o", str(out)])
    assert proc.returncode == 0, proc.stderr
    name = "fpmul_fp8_e4m3_fp8_e5m2_fp16_rna_sat_p2"
    assert sorted(p.name for p in out.iterdir()) == [f"{name}.json", f"{name}.v"]
    man = json.loads((out / f"{name}.json").read_text())
    assert man["top"] == name and man["unit"] == "mul" and man["latency"] == 2
    assert man["params"] == {"a": "e4m3fn", "b": "e5m2", "out": "e5m10", "rounding": "rna",
                             "saturate": True, "flags": False, "pipeline": 2}
    ports = {p["name"]: (p["direction"], p["width"]) for p in man["ports"]}
    assert ports == {"clk": ("in", 1), "rst": ("in", 1), "in_valid": ("in", 1),
                     "a": ("in", 8), "b": ("in", 8), "y": ("out", 16), "out_valid": ("out", 1)}
    text = (out / f"{name}.v").read_text()
    import hashlib
    assert man["verilog_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert f"module {name}(" in text


def test_gen_is_deterministic_across_hash_seeds(tmp_path):
    outs = []
    for seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = tmp_path / seed
        proc = run(["gen", "mul", "--a", "fp16", "--b", "bf16", "--out", "hfp8", "--pipeline",
                    "3", "--name", "m", "-o", str(out)], env=env)
        assert proc.returncode == 0, proc.stderr
        outs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert outs[0] == outs[1]


BAD = [
    (["--a", "fp7", "--b", "fp16", "--out", "fp16"], "unknown format 'fp7'"),
    (["--a", "e0m3", "--b", "fp16", "--out", "fp16"], "exp_bits must be >= 2"),
    (["--a", "fp16", "--b", "fp16", "--out", "fp16", "--pipeline", "-1"], "must be an integer >= 0"),
    (["--a", "fp16", "--b", "fp16", "--out", "fp16", "--rounding", "rnd"], "invalid choice: 'rnd'"),
    (["--a", "fp16", "--b", "fp16", "--out", "e2m3fin"], "has no NaN/Inf"),
    (["--a", "fp16", "--b", "fp16", "--out", "fp16", "--name", "9bad"], "invalid module name"),
]


@pytest.mark.parametrize("args,message", BAD)
def test_bad_input_one_line_exit_2_nothing_written(args, message, tmp_path):
    out = tmp_path / "never"
    proc = run(["gen", "mul", *args, "-o", str(out)])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert not out.exists()


def test_bad_format_message_names_valid_choices():
    proc = run(["gen", "mul", "--a", "fp7", "--b", "fp16", "--out", "fp16", "-o", "x"])
    assert "fp8_e4m3" in proc.stderr and "e<E>m<M>" in proc.stderr


def test_output_path_that_is_a_file(tmp_path):
    """-o below an existing regular file cannot be created (as any user, root included)."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run(["gen", "mul", "--a", "fp16", "--b", "fp16", "--out", "fp16", "-o",
                str(blocker / "sub")])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write" in lines[0] and "Traceback" not in proc.stderr
    assert blocker.read_text() == "x"


def test_no_command_and_unknown_unit():
    for args in ([], ["gen"], ["gen", "div"], ["area"]):
        proc = run(args)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, args


def test_area_json_and_verilog_file(tmp_path):
    args = ["--a", "fp8_e5m2", "--b", "fp8_e5m2", "--out", "fp8_e5m2"]
    proc = run(["area", "mul", *args, "--json"])
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    assert {"transistors", "cells", "depth", "dffs"} <= rep.keys()
    assert rep["dffs"] == 0 and rep["transistors"] > 230  # above the 3x3 integer floor
    assert run(["gen", "mul", *args, "--pipeline", "2", "--name", "m", "-o", str(tmp_path)]).returncode == 0
    proc = run(["area", "--verilog", str(tmp_path / "m.v"), "--top", "m", "--json"])
    rep2 = json.loads(proc.stdout)
    assert rep2["dffs"] > 0 and rep2["transistors"] > rep["transistors"]
    assert run(["area", "--verilog", str(tmp_path / "none.v"), "--top", "m"]).returncode == 2


@pytest.mark.sim
def test_verify_prints_counts():
    proc = run(["verify", "mul", "--a", "fp8_e5m2", "--b", "fp8_e5m2", "--out", "fp16"])
    assert proc.returncode == 0, proc.stderr
    assert "65536 results checked, 65536 passed" in proc.stdout


def test_verify_refuses_exhaustive_icarus_for_wide_units():
    proc = run(["verify", "mul", "--a", "fp16", "--b", "fp16", "--out", "fp16", "--exhaustive"])
    assert proc.returncode == 2 and "--sim verilator" in proc.stderr


def test_ci_runs_the_readme_test_command():
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (root / ".ci" / "run").read_text()


ARRAY = ["--rows", "2", "--cols", "3", "--a", "fp8_e4m3", "--b", "fp8_e5m2", "--acc", "fp16"]


def test_gen_array_manifest_documents_the_ports(tmp_path):
    proc = run(["gen", "array", *ARRAY, "--chunk", "16", "--rounding", "sr", "--seed", "7",
                "-o", str(tmp_path)])
    assert proc.returncode == 0, proc.stderr
    name = "fparray_2x3_fp8_e4m3xfp8_e5m2_fp16_c16_sr16_s7"
    man = json.loads((tmp_path / f"{name}.json").read_text())
    assert man["unit"] == "array" and man["result"] == "per_tile"
    assert man["latency"] == 3 - 1 + 2
    # chunked: a first chunk's fold waits for the drain of cols rows' results, plus one
    assert man["array"] == {"rows": 2, "cols": 3, "tile_interval": 4,
                            "lanes": {"a": 2, "b": 3, "y": 3}}
    assert man["params"] == {"rows": 2, "cols": 3, "a": "e4m3fn", "b": "e5m2", "acc": "e5m10",
                             "chunk": 16, "rounding": "sr", "saturate": False,
                             "rand_bits": 16, "seed": 7}
    ports = {p["name"]: (p["direction"], p["width"]) for p in man["ports"]}
    assert ports == {"clk": ("in", 1), "rst": ("in", 1), "in_valid": ("in", 1),
                     "in_last": ("in", 1), "a": ("in", 16), "b": ("in", 24),
                     "in_ready": ("out", 1), "y": ("out", 48), "out_valid": ("out", 1),
                     "out_last": ("out", 1)}
    meaning = {p["name"]: p["meaning"] for p in man["ports"]}
    assert "[8*i +: 8]" in meaning["a"] and "[16*j +: 16]" in meaning["y"]
    assert "4 cycles" in meaning["out_valid"]
    assert "fold cycle after every 16th beat" in meaning["in_ready"]
    assert f"module {name}(" in (tmp_path / f"{name}.v").read_text()


@pytest.mark.parametrize("extra,message", [
    (["--rows", "0"], "must be an integer 1..64"),
    (["--cols", "65"], "must be an integer 1..64"),
    (["--flags"], "no flags output"),
    (["--rand-source", "port"], "own PRNGs"),
    (["--rounding", "sr", "--seed", "0"], "seed"),
    (["--chunk", "-2"], "must be an integer >= 0"),
])
def test_gen_array_bad_input(extra, message, tmp_path):
    out = tmp_path / "never"
    proc = run(["gen", "array", *ARRAY, *extra, "-o", str(out)])
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and message in lines[0], proc.stderr
    assert not out.exists()


def test_verify_array_bad_stimulus_options():
    for extra in (["--gemms", "0"], ["--k", "0"], ["--exhaustive"], ["--sim", "verilator"]):
        proc = run(["verify", "array", *ARRAY, *extra])
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, (
            extra, proc.stderr)


@pytest.mark.sim
def test_verify_array_gemms_and_k():
    proc = run(["verify", "array", *ARRAY, "--gemms", "3", "--k", "5"])
    assert proc.returncode == 0, proc.stderr
    assert "18 results checked, 18 passed" in proc.stdout  # 3 tiles x 2 x 3


@pytest.mark.sim
def test_verify_narrow_accumulator_without_vectors():
    """An fp8 accumulator has 8 input bits, but streams are not enumerable: the default
    is a vector budget, not the exhaustive mode."""
    proc = run(["verify", "acc", "--in", "fp8_e4m3", "--acc", "fp16", "--vectors", "300"])
    assert proc.returncode == 0, proc.stderr
    proc = run(["verify", "acc", "--in", "fp8_e4m3", "--acc", "fp16"])
    assert proc.returncode == 0 and " passed" in proc.stdout, proc.stderr


def test_area_fpga_target_json():
    proc = run(["area", "mul", "--a", "fp8_e5m2", "--b", "fp8_e5m2", "--out", "fp16",
                "--target", "ice40", "--json"])
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    assert rep["target"] == "ice40" and rep["lut4"] > 0 and rep["dff"] == 0
    assert rep["lut4"] == rep["cells"]["SB_LUT4"]
    proc = run(["area", "mul", "--a", "fp16", "--b", "fp16", "--out", "fp16", "--target", "gw"])
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_area_liberty_bad_input(tmp_path):
    args = ["area", "mul", "--a", "fp8_e5m2", "--b", "fp8_e5m2", "--out", "fp16"]
    proc = run(args + ["--liberty", str(tmp_path / "none.lib")])
    assert proc.returncode == 2 and "no such liberty file" in proc.stderr
    (tmp_path / "x.lib").write_text("library(x) {}\n")
    proc = run(args + ["--liberty", str(tmp_path / "x.lib"), "--target", "ecp5"])
    assert proc.returncode == 2 and "does not combine" in proc.stderr
