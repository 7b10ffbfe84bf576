"""Every ``fpforge`` subcommand with bad paths, unreadable or malformed files and a failing
tool: one ``error:`` line on stderr, no traceback, exit 2 for bad input and 1 for a tool
failure, and nothing written."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

FPFORGE = [sys.executable, "-m", "fpforge.gen.cli"]
MUL = ["mul", "--a", "fp8_e4m3", "--b", "fp8_e4m3", "--out", "fp16"]


def _run(args, cwd, env=None):
    return subprocess.run(FPFORGE + args, capture_output=True, text=True, cwd=cwd, env=env)


def _assert_one_line(proc, status, *needles):
    """Exit ``status``; stderr ends in one ``error:`` line naming the ``needles`` (progress
    lines may precede it); no traceback."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert lines and lines[-1].startswith("error: "), proc.stderr
    assert sum(ln.startswith("error") or "ERROR" in ln for ln in lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[-1], lines[-1]


@pytest.fixture
def files(tmp_path):
    """A work directory with a malformed Verilog file, a non-UTF-8 file, a directory and
    a malformed sweep file; returns (work dir, its listing before the command)."""
    (tmp_path / "broken.v").write_text("module broken(input a, output y); assign y = ;\n")
    (tmp_path / "binary.bin").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "adir").mkdir()
    (tmp_path / "bad.toml").write_text("[sweep\nvectors = 1\n")
    (tmp_path / "garbage.lib").write_text("this is not a liberty file {\n")
    return tmp_path, sorted(p.name for p in tmp_path.iterdir())


BAD_INPUT = [
    (["gen", *MUL, "-o", "broken.v/sub"], "cannot write"),  # under a file (root ignores modes)
    (["gen", *MUL, "--name", "9bad", "-o", "out"], "invalid module name"),
    (["gen", "mul", "--a", "fp99", "--b", "fp16", "--out", "fp16", "-o", "out"], "fp99"),
    (["area", "--verilog", "missing.v", "--top", "x"], "no such file"),
    (["area", "--verilog", "adir", "--top", "x"], "no such file"),
    (["area", *MUL, "--liberty", "missing.lib"], "no such liberty file"),
    (["area", *MUL, "--liberty", "adir"], "liberty"),
    (["area", *MUL, "--liberty", "garbage.lib"], "not a liberty file"),
    (["verify", *MUL, "--vectors", "0"], "--vectors"),
    (["sweep", "missing.toml"], "missing.toml"),
    (["sweep", "adir"], "adir"),
    (["sweep", "bad.toml"], "bad.toml"),
    (["sweep", "binary.bin"], "binary.bin"),
    (["area", "--verilog", "binary.bin", "--top", "x"], "not UTF-8"),
    (["vrr", "--length", "0", "--m-acc", "8"], "--length"),
    (["recommend", "--length", "64", "--operand", "nope"], "nope"),
    (["formats", "--bogus"], "--bogus"),
    (["nonsense"], "nonsense"),
]


@pytest.mark.parametrize("args,needle", BAD_INPUT, ids=[" ".join(a[:2]) for a, _ in BAD_INPUT])
def test_bad_input_exit_2(files, args, needle):
    work, before = files
    _assert_one_line(_run(args, work), 2, needle)
    assert sorted(p.name for p in work.iterdir()) == before


TOOL_FAILURES = [
    (["area", "--verilog", "broken.v", "--top", "broken"], "yosys"),
    (["area", "--verilog", "broken.v", "--top", "broken", "--target", "ice40"], "yosys"),
]


@pytest.mark.parametrize("args,needle", TOOL_FAILURES,
                         ids=[" ".join(a[:3]) for a, _ in TOOL_FAILURES])
def test_tool_failure_exit_1(files, args, needle):
    work, before = files
    _assert_one_line(_run(args, work), 1, needle)
    assert sorted(p.name for p in work.iterdir()) == before


def test_missing_simulator_exit_1(files, tmp_path_factory):
    """verify with no Icarus on PATH (python is run by its full path)."""
    work, before = files
    env = dict(os.environ, PATH=str(tmp_path_factory.mktemp("empty_bin")))
    _assert_one_line(_run(["verify", *MUL, "--vectors", "10"], work, env), 1, "Icarus")
    assert sorted(p.name for p in work.iterdir()) == before


def test_internal_error_is_one_line_unless_debugging(files, monkeypatch, capsys):
    """An unexpected exception (a bug) still ends in one line and exit 1; FPFORGE_DEBUG=1
    lets the traceback through."""
    from fpforge.gen import cli

    def broken(*args, **kwargs):
        raise KeyError("boom")
    monkeypatch.setattr(cli, "_cmd_formats", broken)
    assert cli.main(["formats"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: fpforge formats: internal error (KeyError") and \
        len(err.strip().splitlines()) == 1
    monkeypatch.setenv("FPFORGE_DEBUG", "1")
    with pytest.raises(KeyError):
        cli.main(["formats"])
