"""scripts/train_emulated.py: emulated fp8 training of a CNN on the digits data.

Checks the pieces against independent references (loop convolutions, finite differences of
a float64 loss, float64 products, error bounds, the expected value of many small updates)
and a quick training run; the full run is the script's (README section ``training``)."""

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


def _direct_conv(x, w):
    """3x3 convolution, zero padding 1, by explicit loops over the output pixels: x
    (n, h, w, c), w (3, 3, c, f) -> (n, h, w, f)."""
    n, h, wd, _ = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros((n, h, wd, w.shape[-1]))
    for i in range(h):
        for j in range(wd):
            out[:, i, j] = np.einsum("nabc,abcf->nf", xp[:, i:i + 3, j:j + 3], w)
    return out


def test_im2col_gemm_is_the_direct_convolution():
    rng = np.random.default_rng(11)
    x, w = rng.standard_normal((3, 8, 8, 2)), rng.standard_normal((3, 3, 2, 5))
    direct = _direct_conv(x, w)
    assert np.allclose((te.im2col(x) @ w.reshape(18, 5)).reshape(direct.shape), direct,
                       rtol=0, atol=1e-12)
    # the same through the emulated GEMM on quantised codes (im2col of the codes, 0 = +0)
    xq, wq = te.quantize(x, te.HFP8), te.quantize(w.reshape(18, 5), te.HFP8)
    direct_q = _direct_conv(xq.values(), wq.values().reshape(3, 3, 2, 5))
    got = te.gemm(xq._replace(codes=te.im2col(xq.codes)), wq, te.Arith("e8m23"))
    assert _rel_fro(got.reshape(direct_q.shape), direct_q) < 1e-6


def test_col2im_is_the_adjoint_of_im2col():
    """<im2col(x), c> = <x, col2im(c)>: the backward GEMM's col2im is the transpose."""
    rng = np.random.default_rng(12)
    x, c = rng.standard_normal((2, 4, 6, 3)), rng.standard_normal((48, 27))
    assert np.isclose(np.sum(te.im2col(x) * c), np.sum(x * te.col2im(c, x.shape)),
                      rtol=1e-12)


def _float64_loss(params, x, y):
    """The network's loss computed independently in float64, no quantisation: loop
    convolutions, average pooling by slicing, dense, softmax cross-entropy."""
    a, n_conv = x, len(params) // 2 - 1
    for l in range(1, n_conv + 1):
        w = params[f"W{l}"].reshape(3, 3, a.shape[-1], -1)
        a = np.maximum(_direct_conv(a, w) + params[f"b{l}"], 0)
        a = (a[:, ::2, ::2] + a[:, 1::2, ::2] + a[:, ::2, 1::2] + a[:, 1::2, 1::2]) / 4
    z = a.reshape(len(a), -1) @ params[f"W{n_conv + 1}"] + params[f"b{n_conv + 1}"]
    z = z - z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))


def test_backward_matches_finite_differences(monkeypatch):
    """With fp32-precision "fp8" formats (e8m23, bias 200: scaled products stay in
    float32's range) and float32 GEMMs, the gradients of every convolution and dense
    weight and bias match central differences of an independent float64 loss."""
    wide = parse("e8m23b200")
    monkeypatch.setattr(te, "HFP8", wide)
    monkeypatch.setattr(te, "E5M2", wide)
    X, y, _, _ = te.load_data(train=6)
    rng = np.random.default_rng(13)
    params = {k: v + 0.1 * rng.standard_normal(v.shape)       # nonzero biases too
              for k, v in te.init_params((3, 4), seed=2).items()}
    logits, cache = te.forward(params, X, te.Arith(None))
    loss, dlogits = te.loss_and_dlogits(logits, y)
    assert loss == pytest.approx(_float64_loss(params, X, y), rel=1e-5)
    grads = te.backward(dlogits, cache, te.Arith(None))
    assert sorted(grads) == sorted(params)
    h = 1e-5
    for name, p in params.items():
        for flat in rng.choice(p.size, size=min(p.size, 6), replace=False):
            idx = np.unravel_index(flat, p.shape)
            plus, minus = dict(params), dict(params)
            plus[name], minus[name] = p.copy(), p.copy()
            plus[name][idx] += h
            minus[name][idx] -= h
            fd = (_float64_loss(plus, X, y) - _float64_loss(minus, X, y)) / (2 * h)
            assert grads[name][idx] == pytest.approx(fd, rel=1e-3, abs=1e-6), (name, idx)


def test_emulated_fp32_forward_matches_numpy():
    X, _, _, _ = te.load_data(train=32)
    params = te.init_params()
    numpy32, _ = te.forward(params, X, te.Arith(None))
    emulated, _ = te.forward(params, X, te.Arith("e8m23"))
    assert _rel_fro(emulated, numpy32) < 1e-5


def test_chunking_reduces_swamping_in_the_conv_gradient_gemm():
    """dW1 = cols(X)^T dZ of conv 1 over a batch of 64 digits images (K = 64 * 64 = 4096
    pixels): a 4-bit accumulator without chunking loses much more than with chunks of 32
    or 64."""
    data = te.load_data(train=64)
    x = te.quantize(data[0], te.HFP8)
    cols = x._replace(codes=te.im2col(x.codes))
    dz = te.quantize(np.random.default_rng(7).standard_normal((4096, 6)), te.E5M2)
    exact = cols.T.values() @ dz.values()
    err = {chunk: _rel_fro(te.gemm(cols.T, dz, te.Arith("e6m3", chunk)), exact)
           for chunk in (0, 32, 64)}
    assert err[0] > 0.1
    assert err[32] < err[0] / 2 and err[64] < err[0] / 1.5
    assert _rel_fro(te.gemm(cols.T, dz, te.Arith("e6m10")), exact) < err[64] / 10


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
    hist = te.train(te.Arith("e6m3", 32), data, epochs=6, lr=0.8, batch=32, channels=(4, 8))
    assert hist["loss"][-1] < hist["loss"][0] < np.log(10) + 0.3
    assert hist["loss"][-1] < 0.85 * np.log(10)
    assert hist["test_acc"][-1] > 0.3          # chance is 0.1
    # per training image: conv 1 (8x8 pixels, K = 9 -> 4 channels) forward and weight
    # gradient; conv 2 (4x4 pixels, 36 -> 8) forward, input and weight gradients; dense
    # (2x2x8 = 32 -> 10) forward, input and weight gradients.  Test images: forward only.
    conv1, conv2, dense = 64 * 9 * 4, 16 * 36 * 8, 32 * 10
    per_epoch = 256 * (2 * conv1 + 3 * conv2 + 3 * dense) + 128 * (conv1 + conv2 + dense)
    assert hist["macs"] == 6 * per_epoch


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
