"""`fpforge gen ... --fusesoc`: the NAME.core file, checked by FuseSoC itself.

Every FuseSoC call runs in a subprocess with a private, empty config file and the XDG
config/data/cache homes inside tmp_path, so nothing outside tmp_path is read or written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # comes with fusesoc (a dev dependency)

from fpforge import __version__
from fpforge.gen.cli import main
from fpforge.gen.emit import LINT_WAIVERS

MUL = ["mul", "--a", "fp8_e4m3", "--b", "fp8_e4m3", "--out", "fp16"]
ARRAY = ["array", "--rows", "2", "--cols", "2", "--a", "fp8_e4m3", "--b", "fp8_e4m3",
         "--acc", "fp16"]
CONFIGS = {  # id: (CLI unit arguments, module name, unit)
    "mul": (MUL, "fpmul_fp8_e4m3_fp8_e4m3_fp16_rne", "mul"),
    "mul_p2": (MUL + ["--pipeline", "2"], "fpmul_fp8_e4m3_fp8_e4m3_fp16_rne_p2", "mul"),
    "acc": (["acc", "--in", "fp16", "--acc", "fp32", "--chunk", "4"],
            "fpacc_fp16_fp32_c4_rne", "acc"),
    "array": (ARRAY, "fparray_2x2_fp8_e4m3xfp8_e4m3_fp16_c0_rne", "array"),
}


def gen(tmp_path: Path, key: str, *extra: str) -> tuple[Path, str, str]:
    """``fpforge gen ... --fusesoc`` into tmp_path/cores; returns (dir, NAME, VLNV)."""
    args, name, unit = CONFIGS[key]
    out = tmp_path / "cores"
    assert main(["gen", *args, "-o", str(out), "--fusesoc", *extra]) == 0
    return out, name, f"fpforge:{unit}:{name}:{__version__}"


def fusesoc(tmp_path: Path, cores: Path, *args: str, env=None) -> subprocess.CompletedProcess:
    """``fusesoc --config EMPTY --cores-root CORES ARGS`` with everything in tmp_path."""
    conf = tmp_path / "fusesoc.conf"
    conf.touch()
    env = dict(env or os.environ)
    for var in ("FUSESOC_CORES", "FUSESOC_CONFIG"):
        env.pop(var, None)
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        env[var] = str(tmp_path / "xdg" / var.lower())
    cmd = [sys.executable, "-m", "fusesoc.main", "--monochrome", "--config", str(conf),
           "--cores-root", str(cores), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path)


def edam(tmp_path: Path, cores: Path, vlnv: str, target: str, *tool: str) -> dict:
    """The EDAM description FuseSoC sets up for ``target`` (setup stage only: no tool runs)."""
    work = tmp_path / f"work_{target}"
    proc = fusesoc(tmp_path, cores, "run", "--setup", "--work-root", str(work),
                   "--target", target, *tool, vlnv)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (path,) = work.glob("*.eda.yml")
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("key", CONFIGS)
def test_core_file_accepted_by_fusesoc(key, tmp_path):
    cores, name, vlnv = gen(tmp_path, key)
    assert sorted(p.name for p in cores.iterdir()) == [f"{name}.core", f"{name}.json",
                                                       f"{name}.v"]
    text = (cores / f"{name}.core").read_text()
    assert text.startswith("CAPI=2:\n")

    proc = fusesoc(tmp_path, cores, "core-info", vlnv)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    info = dict(line.split(":", 1) for line in proc.stdout.splitlines()
                if line[:1].isupper() and ":" in line)
    assert info["Name"].strip() == vlnv
    assert info["Core file"].strip() == f"{name}.core"
    assert info["Description"].strip().startswith(f"fpforge {__version__} {CONFIGS[key][2]} ")
    targets = [line.split(":")[0].strip()
               for line in proc.stdout.split("Targets:", 1)[1].splitlines() if line.strip()]
    assert targets == ["default", "lint"], proc.stdout

    files = {f"{name}.v": "verilogSource", f"{name}.json": "user"}
    default = edam(tmp_path, cores, vlnv, "default", "--tool", "icarus")
    assert default["toplevel"] == name
    assert {Path(f["name"]).name: f["file_type"] for f in default["files"]} == files

    lint = edam(tmp_path, cores, vlnv, "lint")
    assert lint["toplevel"] == name
    assert {Path(f["name"]).name: f["file_type"] for f in lint["files"]} == files
    options = lint["flow_options"]
    assert options["tool"] == "verilator"
    waivers = list(LINT_WAIVERS) + (["DECLFILENAME"] if key == "array" else [])
    assert options["verilator_options"] == ["-Wall"] + [f"-Wno-{w}" for w in waivers]


def test_no_core_file_without_flag(tmp_path):
    args, name, _ = CONFIGS["mul"]
    out = tmp_path / "o"
    assert main(["gen", *args, "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"{name}.json", f"{name}.v"]


def test_core_file_is_deterministic(tmp_path):
    texts = []
    for run in ("1", "2"):
        cores, name, _ = gen(tmp_path / run, "mul", "--name", "m")
        texts.append((cores / "m.core").read_bytes())
    assert texts[0] == texts[1]
    assert b'\nname: "fpforge:mul:m:' in texts[0] and b"toplevel: \"m\"" in texts[0]


def _verilator_env() -> dict:
    """os.environ with the Verilator fpforge's tests use first on PATH (FuseSoC's lint
    flow runs ``verilator`` from PATH)."""
    from fpforge.tb.verilator import verilator_command
    cmd, env = verilator_command()
    env["PATH"] = str(Path(cmd[0]).parent) + os.pathsep + env.get("PATH", "")
    return env


@pytest.mark.sim
@pytest.mark.parametrize("key", ["mul", "array"])
def test_fusesoc_lint_target_passes(key, tmp_path):
    cores, name, vlnv = gen(tmp_path, key)
    env = _verilator_env()
    proc = fusesoc(tmp_path, cores, "run", "--work-root", str(tmp_path / "lint"),
                   "--target", "lint", vlnv, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "verilator -f" in proc.stdout, proc.stdout  # the linter did run
    vc = next((tmp_path / "lint").glob("*.vc")).read_text().split()
    assert "--lint-only" in vc and "-Wall" in vc and vc[vc.index("--top-module") + 1] == name

    # the same flow fails on a -Wall warning that is not waived: a second module in
    # the mul's file (DECLFILENAME is waived for the array only)
    if key == "mul":
        verilog = cores / f"{name}.v"
        verilog.write_text(verilog.read_text() + "module extra(input a, output b);\n"
                           "  assign b = a;\nendmodule\n")
        proc = fusesoc(tmp_path, cores, "run", "--work-root", str(tmp_path / "lint2"),
                       "--target", "lint", vlnv, env=env)
        assert proc.returncode != 0 and "DECLFILENAME" in proc.stdout + proc.stderr, \
            proc.stdout + proc.stderr
