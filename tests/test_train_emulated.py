"""scripts/train_emulated.py: emulated fp8 training of an MLP on the digits data.

Checks the pieces against independent references (float64 products, error bounds, the
expected value of many small updates) and a quick training run; the full run is the
script's (README section ``training``)."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from fpforge.sim.formats import parse  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _load():
    name = "train_emulated"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look the module up while it loads
        spec.loader.exec_module(module)
    return sys.modules[name]


te = _load()


def _rel_fro(got, want):
    return float(np.linalg.norm(got - want) / np.linalg.norm(want))


@pytest.mark.parametrize("fmt_name", ["hfp8", "fp8_e5m2"])
def test_quantize_scales_into_range_and_rounds_once(fmt_name):
    fmt = parse(fmt_name)
    v = np.random.default_rng(3).standard_normal((40, 30)) * 1e-3
    q = te.quantize(v, fmt)
    scaled = np.abs(fmt.decode(q.codes))
    top = 2.0 ** fmt.emax
    assert top / 2 < scaled.max() <= top
    # round to nearest with (m + 1)-bit significands: relative error <= 2**-(m+1) for values
    # that are normal after scaling
    normal = np.abs(np.ldexp(v, q.shift)) >= 2.0 ** fmt.emin
    err = np.abs(q.values() - v)[normal] / np.abs(v)[normal]
    assert normal.mean() > 0.9
    assert err.max() <= 2.0 ** -(fmt.man_bits + 1)


def test_emulated_fp32_accumulation_matches_float_products():
    rng = np.random.default_rng(5)
    a = te.quantize(rng.standard_normal((24, 96)), te.HFP8)
    b = te.quantize(rng.standard_normal((96, 12)) * 0.01, te.E5M2)
    av, bv = a.values(), b.values()
    exact = av @ bv                      # float64: exact for these short fp8 products
    bound = 96 * 2.0 ** -24 / (1 - 96 * 2.0 ** -24) * (np.abs(av) @ np.abs(bv))
    emulated = te.gemm(a, b, te.Arith("e8m23"))
    numpy32 = te.gemm(a, b, te.Arith(None))
    assert np.all(np.abs(emulated - exact) <= bound)
    assert np.all(np.abs(numpy32 - exact) <= bound)
    assert np.abs(exact).min() > 0 and _rel_fro(emulated, exact) < 1e-6


def test_chunking_reduces_swamping_in_the_gradient_gemm():
    """dW = X^T dZ over a batch of 256 digits images: a 4-bit accumulator without chunking
    loses much more than with chunks of 32 or 64."""
    data = te.load_data(train=256)
    x = te.quantize(data[0], te.HFP8)
    dz = te.quantize(np.random.default_rng(7).standard_normal((256, 6)), te.E5M2)
    exact = x.T.values() @ dz.values()
    err = {chunk: _rel_fro(te.gemm(x.T, dz, te.Arith("e6m3", chunk)), exact)
           for chunk in (0, 32, 64)}
    assert err[0] > 0.1
    # chunks of 32 split the 256 products into 8 sums of 32; chunks of 64 into 4 of 64
    assert err[32] < err[0] / 2 and err[64] < err[0] / 1.5
    assert _rel_fro(te.gemm(x.T, dz, te.Arith("e6m10")), exact) < err[64] / 10


def test_sr_weight_update_is_unbiased_where_rne_stalls():
    """300 updates of -1e-4 to fp16 weights of 1.0 (an update is ~a fifth of the ulp below
    1.0): rne never moves them, sr moves them by the expected 0.03 on average, fp32
    master weights move by it exactly (up to fp32 rounding)."""
    steps, lr, g = 300, 1.0, 1e-4
    grads = {"W": np.full(4096, g)}
    final = {}
    for master, rounding in (("fp16", "rne"), ("fp16", "sr"), ("fp32", "rne")):
        arith = te.Arith(None, 0, master, rounding)
        fmt = parse(master)
        w = {"W": fmt.encode(np.ones(4096)).astype(np.uint64)}
        for step in range(steps):
            w = te.update(w, grads, lr, arith, step)
        final[master, rounding] = fmt.decode(w["W"])
    expected = 1.0 - steps * lr * g
    assert np.all(final["fp16", "rne"] == 1.0)
    assert abs(final["fp16", "sr"].mean() - expected) < 5e-4    # std of the mean ~5e-5
    assert final["fp16", "sr"].std() > 0                        # weights move differently
    assert np.allclose(final["fp32", "rne"], expected, atol=1e-5)


def test_update_counts_updates_that_rne_discards():
    stats = {}
    w = {"W": te.FP16.encode(np.array([1.5, 1.5, 1.5, 1.5, 1.0])).astype(np.uint64)}
    # fp16 spacing is 2**-10 around 1.5 and 2**-11 just below 1.0: w - 1e-4 and w - 4e-4
    # round back to 1.5, w - 1e-3 does not, the zero gradient is no update, and 1.0 - 4e-4
    # rounds down to 1 - 2**-11
    grads = {"W": np.array([1e-4, 4e-4, 1e-3, 0.0, 4e-4])}
    out = te.update(w, grads, 1.0, te.Arith(None, 0, "fp16", "rne"), 0, stats)
    assert stats == {"updates": 4, "small": 2}
    assert list(te.FP16.decode(out["W"])) == [1.5, 1.5, 1.5 - 2.0 ** -10, 1.5, 1 - 2.0 ** -11]


def test_quick_training_learns():
    data = te.load_data(train=256, test=128)
    hist = te.train(te.Arith("e6m3", 32), data, epochs=3, lr=0.4, batch=64, hidden=16)
    assert hist["loss"][-1] < hist["loss"][0] < np.log(10) + 0.3
    assert hist["loss"][-1] < 0.8 * np.log(10)
    assert hist["test_acc"][-1] > 0.5          # chance is 0.1
    # 4 batches x (forward 64x64x16 + 64x16x10, backward 64x10x16, gradients) + test set
    per_epoch = 4 * 64 * (64 * 16 + 16 * 10 + 10 * 16 + 16 * 10 + 64 * 16) \
        + 128 * (64 * 16 + 16 * 10)
    assert hist["macs"] == 3 * per_epoch


def test_quick_script_writes_outputs(tmp_path, capsys):
    readme = (ROOT / "README.md").read_bytes()
    assert te.main(["--quick", "--no-readme", "--out", str(tmp_path)]) == 0
    assert (ROOT / "README.md").read_bytes() == readme
    assert (tmp_path / "train_emulated.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    record = json.loads((tmp_path / "train_emulated.json").read_text())
    names = [r["name"] for r in record["runs"]]
    assert len(names) == len(te.RUNS) and len(set(names)) == len(names)
    for r in record["runs"]:
        assert len(r["loss"]) == r["epochs"] == len(r["test_acc"])
        assert (r["macs"] > 0) == (r["acc"] is not None)
    text = capsys.readouterr().out
    assert "| configuration |" in text and "![training](" in text
    assert text.count("\n| ") == len(te.RUNS) + 1      # header and one row per run
