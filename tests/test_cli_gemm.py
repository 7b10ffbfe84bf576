"""`fpforge gemm`: the emulated GEMM of two .npy matrices, its error report, its output file,
progress, and one-line errors (exit 2, nothing written) for bad input.

The codes are ``sim.gemm.matmul``'s (tested against the references in test_gemm.py and
test_kernel.py); here the expected errors are computed from them with plain numpy."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from fpforge.gen import cli_model
from fpforge.gen.cli import main
from fpforge.sim import gemm
from fpforge.sim.formats import parse
from fpforge.sim.gemm import matmul

E4, F16 = parse("fp8_e4m3"), parse("fp16")


def _files(tmp_path, a, b):
    """``gemm A.npy B.npy`` with the two matrices written."""
    np.save(tmp_path / "A.npy", a)
    np.save(tmp_path / "B.npy", b)
    return ["gemm", str(tmp_path / "A.npy"), str(tmp_path / "B.npy")]


def _values(rng, shape, scale=1.0):
    return rng.standard_normal(shape) * scale


def test_float_inputs_json_and_output(tmp_path, capsys):
    """Float inputs are rounded (rne) to the operand formats; C is written as float64
    values; the errors are those of C against float64 GEMMs of the rounded operands and of
    the inputs as given."""
    rng = np.random.default_rng(1)
    a, b = _values(rng, (9, 40), 4.0), _values(rng, (40, 6))
    out = tmp_path / "C.npy"
    args = _files(tmp_path, a, b) + ["--a", "fp8_e4m3", "--b", "fp8_e5m2", "--acc", "e5m6",
                                     "--chunk", "8", "-o", str(out), "--json"]
    assert main(args) == 0
    rep = json.loads(capsys.readouterr().out)
    ca, cb = E4.encode(a).astype(np.uint64), parse("fp8_e5m2").encode(b).astype(np.uint64)
    acc = parse("e5m6")
    want = acc.decode(matmul(ca, cb, E4, "fp8_e5m2", acc, chunk=8))
    got = np.load(out)
    assert got.dtype == np.float64 and np.array_equal(got, want)
    exact = E4.decode(ca) @ parse("fp8_e5m2").decode(cb)
    err = np.abs(want - exact)
    assert rep["error"]["max_abs"] == pytest.approx(err.max(), rel=1e-12)
    assert rep["error"]["mean_abs"] == pytest.approx(err.mean(), rel=1e-12)
    assert rep["error"]["rel_fro"] == pytest.approx(
        np.linalg.norm(err) / np.linalg.norm(exact), rel=1e-12)
    assert rep["error"]["nonfinite"] == 0
    total = np.abs(want - a @ b)
    assert rep["error_vs_inputs"]["max_abs"] == pytest.approx(total.max(), rel=1e-12)
    assert rep["error_vs_inputs"]["max_abs"] > rep["error"]["max_abs"]
    assert (rep["m"], rep["k"], rep["n"], rep["acc"], rep["chunk"]) == (9, 40, 6, "e5m6", 8)
    assert rep["output"] == str(out) and rep["seconds"] > 0


def test_codes_sr_and_text(tmp_path, capsys):
    """--codes: integer codes in, accumulator codes out (sr with the seed rule of
    matmul); the text report names the GEMM and both error lines' fields; non-finite
    results (Inf operands) are counted."""
    rng = np.random.default_rng(2)
    ca = E4.encode(_values(rng, (5, 33))).astype(np.uint16)
    cb = E4.encode(_values(rng, (33, 4))).astype(np.uint8)
    ca[0, 3] = 0x7F  # a NaN in row 0
    out = tmp_path / "C.npy"
    base = _files(tmp_path, ca, cb) + ["--a", "fp8_e4m3", "--b", "fp8_e4m3", "--acc", "fp16",
                                       "--codes", "--rounding", "sr", "-o", str(out)]
    assert main(base + ["--seed", "7"]) == 0
    text = capsys.readouterr().out
    got = np.load(out)
    want = matmul(ca.astype(np.uint64), cb.astype(np.uint64), E4, E4, F16, rounding="sr",
                  seed=7)
    assert got.dtype == F16.dtype and np.array_equal(got, want)
    assert "(5 x 33) x (33 x 4)" in text and "sr" in text and "max abs" in text
    assert "on the inputs as given" not in text  # codes have no float inputs
    assert "non-finite 0" in text                # the NaN row is no finite result
    assert main(base + ["--seed", "8"]) == 0
    capsys.readouterr()
    assert not np.array_equal(np.load(out), want)


def test_nonfinite_count(tmp_path, capsys):
    """An fp16 accumulator overflows on large products: the results that are Inf where
    the float64 GEMM is finite are counted."""
    a = np.full((2, 4), 400.0)
    b = np.full((4, 3), 400.0)   # 4 * 160000 = 640000 > 65504
    assert main(_files(tmp_path, a, b) + ["--a", "fp8_e4m3", "--b", "fp8_e4m3", "--acc",
                                          "fp16", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["error"]["nonfinite"] == 6


def test_progress_bar(tmp_path, capsys, monkeypatch):
    """Long runs show a progress bar on stderr (here made 'long' by lowering the
    thresholds, so that matmul reports after every row); --no-progress hides it; the codes
    do not depend on it, sr included."""
    monkeypatch.setattr(cli_model, "GEMM_PROGRESS_MACS", 1)
    monkeypatch.setattr(gemm, "PROGRESS_MACS", 1)
    rng = np.random.default_rng(3)
    args = _files(tmp_path, _values(rng, (12, 20)), _values(rng, (20, 7))) + [
        "--a", "fp8_e4m3", "--b", "fp8_e4m3", "--acc", "fp16", "--rounding", "sr", "--chunk",
        "4", "-o", str(tmp_path / "C.npy")]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "fpforge gemm" in err and "12/12" in err
    with_bar = np.load(tmp_path / "C.npy")
    assert main(args + ["--no-progress"]) == 0
    assert "fpforge gemm" not in capsys.readouterr().err
    assert np.array_equal(np.load(tmp_path / "C.npy"), with_bar)


def _bad_cases(tmp_path):
    """name -> (extra files to write, argument list)."""
    ok_a, ok_b = np.ones((3, 4)), np.ones((4, 2))
    (tmp_path / "text.npy").write_text("not an array\n")
    np.savez(tmp_path / "two.npz", a=ok_a, b=ok_b)
    (tmp_path / "file").write_text("x")
    arrays = {"A.npy": ok_a, "B.npy": ok_b, "vec.npy": np.ones(4), "empty.npy": np.ones((0, 4)),
              "cube.npy": np.ones((2, 3, 4)), "Bk.npy": np.ones((5, 2)),
              "cplx.npy": np.ones((3, 4), complex), "bool.npy": np.ones((3, 4), bool),
              "obj.npy": np.array([[1, "x"]], dtype=object),
              "big.npy": np.full((3, 4), 300, np.int64), "neg.npy": np.full((3, 4), -1),
              "codes.npy": np.full((3, 4), 0x38, np.uint8)}
    for name, arr in arrays.items():
        np.save(tmp_path / name, arr, allow_pickle=True)
    p = lambda name: str(tmp_path / name)  # noqa: E731
    fmts = ["--a", "fp8_e4m3", "--b", "fp8_e4m3", "--acc", "fp16"]
    return {
        "missing file": [p("nope.npy"), p("B.npy")] + fmts,
        "not npy": [p("text.npy"), p("B.npy")] + fmts,
        "npz": [p("two.npz"), p("B.npy")] + fmts,
        "1-D": [p("vec.npy"), p("B.npy")] + fmts,
        "empty": [p("empty.npy"), p("B.npy")] + fmts,
        "3-D": [p("A.npy"), p("cube.npy")] + fmts,
        "K mismatch": [p("A.npy"), p("Bk.npy")] + fmts,
        "complex": [p("cplx.npy"), p("B.npy")] + fmts,
        "bool": [p("bool.npy"), p("B.npy")] + fmts,
        "pickled objects": [p("obj.npy"), p("B.npy")] + fmts,
        "floats as codes": [p("A.npy"), p("codes.npy")] + fmts + ["--codes"],
        "codes too big": [p("big.npy"), p("codes.npy")] + fmts + ["--codes"],
        "negative codes": [p("neg.npy"), p("codes.npy")] + fmts + ["--codes"],
        "unknown format": [p("A.npy"), p("B.npy"), "--a", "fp9", "--b", "fp16", "--acc",
                           "fp16"],
        "no NaN in acc": [p("A.npy"), p("B.npy"), "--a", "fp8_e4m3", "--b", "fp8_e4m3",
                          "--acc", "e5m10fin"],
        "rounding": [p("A.npy"), p("B.npy")] + fmts + ["--rounding", "nearest"],
        "seed 0": [p("A.npy"), p("B.npy")] + fmts + ["--rounding", "sr", "--seed", "0"],
        "rand bits": [p("A.npy"), p("B.npy")] + fmts + ["--rounding", "sr", "--rand-bits", "33"],
        "chunk": [p("A.npy"), p("B.npy")] + fmts + ["--chunk", "-2"],
        "missing --acc": [p("A.npy"), p("B.npy"), "--a", "fp8_e4m3", "--b", "fp8_e4m3"],
        "-o under a file": [p("A.npy"), p("B.npy")] + fmts + ["-o", p("file") + "/C.npy"],
        "-o a directory": [p("A.npy"), p("B.npy")] + fmts + ["-o", str(tmp_path)],
    }


BAD = ["missing file", "not npy", "npz", "1-D", "empty", "3-D", "K mismatch", "complex",
       "bool", "pickled objects", "floats as codes", "codes too big", "negative codes",
       "unknown format", "no NaN in acc", "rounding", "seed 0", "rand bits", "chunk",
       "missing --acc", "-o under a file", "-o a directory"]


@pytest.mark.parametrize("what", BAD)
def test_bad_input_one_line_exit_2(tmp_path, capsys, what):
    """Each bad input: exit status 2, one line on stderr naming the problem, nothing on
    stdout, no traceback, no C file."""
    args = _bad_cases(tmp_path)[what]
    before = set(tmp_path.rglob("*"))
    assert main(["gemm"] + args) == 2, what
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: fpforge gemm"), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert set(tmp_path.rglob("*")) == before


def test_bad_input_as_a_process(tmp_path):
    """The same from the command line: exit status 2 and one line, no traceback."""
    args = _bad_cases(tmp_path)["K mismatch"]
    proc = subprocess.run([sys.executable, "-m", "fpforge.gen.cli", "gemm"] + args,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "columns must equal" in proc.stderr
