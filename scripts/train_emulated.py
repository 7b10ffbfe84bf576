"""Emulated low-precision training: a small convolutional network on scikit-learn's
bundled digits whose every GEMM (the convolutions as im2col GEMMs, forward, input
gradient and weight gradient, and the dense layer's three) runs through the golden model
(``fpforge.sim.gemm.matmul``) with fp8 operands, and whose weight update is the golden
AXPY (``fpforge.sim.accumulate.axpy``); written as the README section ``training``.

Model (``CHANNELS = (c1, c2)``): 8x8x1 -> conv 3x3 (1 -> c1, zero padding 1) -> ReLU ->
2x2 average pooling -> 4x4xc1 -> conv 3x3 (c1 -> c2, padding 1) -> ReLU -> 2x2 average
pooling -> 2x2xc2 -> dense (4 c2 -> 10), softmax cross-entropy, mini-batch SGD (no
momentum).  A convolution is one GEMM on the im2col matrix (one row per output pixel,
its 3x3 neighbourhood in the columns: data movement, exact), so per layer, IBM hybrid-FP8
style, with B the batch and H x W the layer's image:

* forward   Z = cols(X) @ W      X, W in hfp8 (e4m3, bias 11)      K = 9 C_in (dense: 4 c2)
* backward  dX = col2im(dZ @ W^T) dZ in fp8_e5m2, W in hfp8         K = C_out (not layer 1)
* gradient  dW = cols(X)^T @ dZ  X in hfp8, dZ in fp8_e5m2          K = B H W (dense: B)

(col2im, the adjoint of im2col, adds each column back to the pixel it came from.)  Every
fp8 operand is scaled per tensor by a power of two (exact, undone after the GEMM) that
maps its largest magnitude into (2**(emax-1), 2**emax] of its format, so nothing
overflows and the tensor uses the format's whole range; for dZ this is the (automatic,
power-of-two) loss scaling.  The GEMM accumulates either in numpy float32 (the
fp32-accumulation reference) or emulated in an accumulator format, with or without
chunk-based accumulation.  Biases (and their gradients), ReLU, the pooling (not a GEMM),
softmax and the loss are float64.  The update w := round(w - lr * g) is one fused
rounding (AXPY, alpha = -lr and g in fp32) into the master weights' format: fp32 (rne) or
fp16 (rne or sr; sr draws from a seed per step).

    python scripts/train_emulated.py [--no-readme] [--epochs N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from fpforge.gen.report import markdown_table, publish, readme_options, save_png
from fpforge.sim.accumulate import axpy
from fpforge.sim.formats import FloatFormat, parse
from fpforge.sim.gemm import matmul
from fpforge.sim.kernel import code_values
from fpforge.sim.prng import instance_seed

ROOT = Path(__file__).resolve().parent.parent
HFP8 = parse("hfp8")       # forward operands (activations, weights)
E5M2 = parse("fp8_e5m2")   # gradient operands
FP16 = parse("fp16")
FP32 = parse("fp32")

SIDE = 8           # the digits are SIDE x SIDE images
CHANNELS = (8, 16)  # output channels of the two 3x3 convolutions
CLASSES = 10
BATCH = 64
SEED = 1           # weight init and the shuffle order (the same for every configuration)
TEST_SIZE = 360


# ---- data ---------------------------------------------------------------------------------
def load_data(train: int | None = None, test: int | None = None):
    """scikit-learn's bundled 8x8 digits (no download), pixels k/16 centred to (k-8)/16
    (all exact in hfp8), split by a fixed permutation into the last ``TEST_SIZE`` samples
    (test) and the rest (train); ``train``/``test`` keep only the first that many of each.
    Returns ``(X_train, y_train, X_test, y_test)``, X float64 images (n, 8, 8, 1) (rows,
    columns, one channel), y int (n,)."""
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    X, y = ((X[order] - 8.0) / 16.0).reshape(-1, SIDE, SIDE, 1), y[order]
    Xtr, ytr, Xte, yte = X[:-TEST_SIZE], y[:-TEST_SIZE], X[-TEST_SIZE:], y[-TEST_SIZE:]
    return Xtr[:train], ytr[:train], Xte[:test], yte[:test]


# ---- quantisation and GEMMs -------------------------------------------------------------
class Quantized(NamedTuple):
    """A tensor as fp8 codes: value = fmt.decode(codes) * 2**-shift."""

    codes: np.ndarray
    fmt: FloatFormat
    shift: int

    @property
    def T(self) -> "Quantized":
        return Quantized(self.codes.T, self.fmt, self.shift)

    def values(self) -> np.ndarray:
        return np.ldexp(self.fmt.decode(self.codes), -self.shift)


def quantize(v: np.ndarray, fmt: FloatFormat) -> Quantized:
    """Round ``v * 2**shift`` to ``fmt`` (rne), with the power of two ``shift`` that maps
    max|v| into (2**(emax-1), 2**emax] (0 for an all-zero tensor): never overflows."""
    v = np.asarray(v, dtype=np.float64)
    amax = float(np.max(np.abs(v))) if v.size else 0.0
    shift = 0
    if amax > 0:
        shift = fmt.emax - int(np.ceil(np.log2(amax)))
        if np.ldexp(amax, shift) > 2.0 ** fmt.emax:  # log2 rounding at a power of two
            shift -= 1
    return Quantized(fmt.encode(np.ldexp(v, shift), "rne", saturate=True), fmt, shift)


@dataclass(frozen=True)
class Arith:
    """A training configuration's arithmetic.

    ``acc``: None = the GEMMs in numpy float32 on the quantised operands (fp32
    accumulation reference), else the accumulator format of the emulated GEMMs with
    ``chunk`` (0 = one running sum).  ``master``: format of the stored weights ("fp32" or
    "fp16"); ``update``: rounding of the weight update ("rne" or "sr")."""

    acc: str | None = None
    chunk: int = 0
    master: str = "fp32"
    update: str = "rne"


class Counter:
    """Multiply-accumulates done by emulated GEMMs."""

    def __init__(self):
        self.macs = 0


def gemm(a: Quantized, b: Quantized, arith: Arith, counter: Counter | None = None):
    """float64 values of a @ b (``(M, K) x (K, N)``): the operand values exactly as
    quantised, the products summed in float32 (``arith.acc`` None) or by the golden
    ``matmul`` into ``arith.acc`` (rne, ``arith.chunk``), then the scales undone (exact)."""
    shift = a.shift + b.shift
    if arith.acc is None:
        av, bv = (code_values(q.codes, q.fmt).astype(np.float32) for q in (a, b))
        return np.ldexp((av @ bv).astype(np.float64), -shift)
    acc = parse(arith.acc)
    if counter is not None:
        counter.macs += a.codes.shape[0] * a.codes.shape[1] * b.codes.shape[1]
    c = matmul(a.codes, b.codes, a.fmt, b.fmt, acc, chunk=arith.chunk, rounding="rne")
    return np.ldexp(acc.decode(c), -shift)


# ---- convolution as a GEMM ----------------------------------------------------------------
OFFSETS = [(di, dj) for di in range(3) for dj in range(3)]   # a 3x3 neighbourhood, row-major


def im2col(x: np.ndarray) -> np.ndarray:
    """``(n, h, w, c)`` -> ``(n h w, 9 c)``: row ``(b, i, j)`` (row-major) holds pixels
    ``(i + di - 1, j + dj - 1)`` of image b for ``(di, dj)`` in ``OFFSETS`` order, channels
    innermost, 0 outside the image.  Data movement only: on codes, 0 is +0 in every format
    used here, so ``im2col`` of a quantised tensor is the quantised im2col."""
    n, h, w, c = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return np.stack([xp[:, di:di + h, dj:dj + w] for di, dj in OFFSETS],
                    axis=3).reshape(n * h * w, 9 * c)


def col2im(cols: np.ndarray, shape: tuple) -> np.ndarray:
    """The adjoint of :func:`im2col` for images of ``shape`` ``(n, h, w, c)``: every entry
    of ``cols`` (n h w, 9 c) added to the pixel :func:`im2col` copied it from (entries
    from the padding dropped); float64."""
    n, h, w, c = shape
    cols = cols.reshape(n, h, w, 9, c)
    xp = np.zeros((n, h + 2, w + 2, c))
    for t, (di, dj) in enumerate(OFFSETS):
        xp[:, di:di + h, dj:dj + w] += cols[:, :, :, t]
    return xp[:, 1:-1, 1:-1]


def pool(x: np.ndarray) -> np.ndarray:
    """2x2 average pooling (stride 2) of ``(n, h, w, c)`` with h, w even; float64."""
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def unpool(d: np.ndarray) -> np.ndarray:
    """The gradient of :func:`pool`: each entry of ``d`` spread as a quarter over its 2x2."""
    return np.repeat(np.repeat(d, 2, axis=1), 2, axis=2) / 4


# ---- the model ----------------------------------------------------------------------------
def conv_shapes(channels: tuple = CHANNELS) -> list[tuple[int, int, int]]:
    """``(side, C_in, C_out)`` of conv layer 1, 2, ...: its input is a side x side x C_in
    image (padding 1 keeps the side, the pooling after the layer halves it)."""
    c_ins = (1, *channels[:-1])
    return [(SIDE >> l, c_in, c_out) for l, (c_in, c_out) in enumerate(zip(c_ins, channels))]


def dense_inputs(channels: tuple = CHANNELS) -> int:
    """Inputs of the dense layer: the last pooled image, flattened."""
    return (SIDE >> len(channels)) ** 2 * channels[-1]


def init_params(channels: tuple = CHANNELS, seed: int = SEED) -> dict:
    """He-normal weights and zero biases, float64: for conv layer l = 1, 2, ``W<l>``
    (9 C_in, C_out) (rows in :func:`im2col` column order) and ``b<l>``; the dense layer
    ``W3`` (4 c2, 10) (rows in the row-major (i, j, channel) order of the 2x2xc2 image)
    and ``b3``."""
    rng = np.random.default_rng(seed)
    params = {}
    for l, (_, c_in, c_out) in enumerate(conv_shapes(channels), 1):
        params[f"W{l}"] = rng.standard_normal((9 * c_in, c_out)) * np.sqrt(2 / (9 * c_in))
        params[f"b{l}"] = np.zeros(c_out)
    dense = dense_inputs(channels)
    d = len(channels) + 1
    params[f"W{d}"] = rng.standard_normal((dense, CLASSES)) * np.sqrt(2 / dense)
    params[f"b{d}"] = np.zeros(CLASSES)
    return params


def forward(params: dict, X: np.ndarray, arith: Arith, counter=None):
    """Logits (n, 10) of images X (n, 8, 8, 1) and the cache the backward pass needs:
    per conv layer its quantised im2col input, quantised weights and pre-activation
    (n, h, w, C_out); then the dense layer's quantised input and weights."""
    d = len(params) // 2          # the dense layer; conv layers 1 .. d-1
    a, convs = X, []
    for l in range(1, d):
        xq = quantize(a, HFP8)
        cols, wq = xq._replace(codes=im2col(xq.codes)), quantize(params[f"W{l}"], HFP8)
        z = gemm(cols, wq, arith, counter).reshape(*a.shape[:3], -1) + params[f"b{l}"]
        convs.append((cols, wq, z))
        a = pool(np.maximum(z, 0.0))
    hq, wq = quantize(a.reshape(len(a), -1), HFP8), quantize(params[f"W{d}"], HFP8)
    return gemm(hq, wq, arith, counter) + params[f"b{d}"], (convs, hq, wq)


def loss_and_dlogits(logits: np.ndarray, y: np.ndarray):
    """Mean softmax cross-entropy and its gradient with respect to the logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    loss = float(-np.mean(np.log(np.maximum(p[np.arange(n), y], 1e-300))))
    p[np.arange(n), y] -= 1.0
    return loss, p / n


def backward(dlogits: np.ndarray, cache, arith: Arith, counter=None) -> dict:
    """Gradients of every ``W<l>``, ``b<l>``: per layer, from the last, the gradient GEMM
    dW = X^T @ dZ (X the forward's quantised (im2col) input) and, but for conv layer 1,
    the backward GEMM dX = dZ @ W^T (col2im for a convolution), with dZ in fp8_e5m2
    (scaled) and W as the forward quantised it."""
    convs, hq, wq = cache
    d = len(convs) + 1
    dzq = quantize(dlogits, E5M2)
    grads = {f"W{d}": gemm(hq.T, dzq, arith, counter), f"b{d}": dlogits.sum(axis=0)}
    n, h, w, c = convs[-1][2].shape
    da = gemm(dzq, wq.T, arith, counter).reshape(n, h // 2, w // 2, c)
    for l in range(d - 1, 0, -1):
        cols, wq, z = convs[l - 1]
        dz = (unpool(da) * (z > 0)).reshape(-1, z.shape[-1])
        dzq = quantize(dz, E5M2)
        grads[f"W{l}"], grads[f"b{l}"] = gemm(cols.T, dzq, arith, counter), dz.sum(axis=0)
        if l > 1:
            shape = (n, *z.shape[1:3], cols.codes.shape[1] // 9)
            da = col2im(gemm(dzq, wq.T, arith, counter), shape)
    return grads


def update(master: dict, grads: dict, lr: float, arith: Arith, step: int,
           stats: dict | None = None) -> dict:
    """w := round(w - lr * g) for every tensor, one fused rounding into ``arith.master``
    (golden AXPY, alpha = -lr and g rounded to fp32); ``master`` holds the weights as codes
    of that format.  The tensors (in name order) go through one AXPY as one vector, ``sr``
    drawing from ``instance_seed(SEED, step)``: a stream of its own per step.  ``stats``:
    adds the number of nonzero gradient elements to ``"updates"`` and of those that round
    to nearest discards, with |lr * g| below half the spacing of ``arith.master`` at the
    weight, to ``"small"``."""
    fmt = parse(arith.master)
    names = sorted(master)
    w = np.concatenate([master[k].ravel() for k in names])
    g = np.concatenate([np.ravel(grads[k]) for k in names])
    alpha = FP32.encode(np.array([-lr]))[0]
    new = axpy(alpha, FP32.encode(g).astype(np.uint64), w, FP32, FP32, fmt, arith.update,
               seed=instance_seed(SEED, step)).astype(np.uint64)
    if stats is not None:
        moved, wv = g != 0, fmt.decode(w)
        small = fmt.decode(fmt.encode(wv - lr * g)) == wv
        stats["updates"] = stats.get("updates", 0) + int(moved.sum())
        stats["small"] = stats.get("small", 0) + int((moved & small).sum())
    ends = np.cumsum([master[k].size for k in names])
    return {k: v.reshape(master[k].shape) for k, v in zip(names, np.split(new, ends[:-1]))}


def decode_params(master: dict, arith: Arith) -> dict:
    fmt = parse(arith.master)
    return {k: fmt.decode(v) for k, v in master.items()}


def accuracy(params: dict, X, y, arith: Arith, counter=None) -> float:
    logits, _ = forward(params, X, arith, counter)
    return float(np.mean(np.argmax(logits, axis=1) == y))


def train(arith: Arith, data, epochs: int, lr: float, batch: int = BATCH,
          channels: tuple = CHANNELS, seed: int = SEED) -> dict:
    """Mini-batch SGD; the same init and shuffle order whatever ``arith``.  Per epoch:
    ``loss`` = mean of the mini-batch losses (as computed during training) and ``test_acc``
    (forward pass in ``arith``); ``small_updates``: the fraction of weight updates (nonzero
    gradient) that round to nearest would discard; ``macs`` of emulated GEMMs; ``seconds``."""
    Xtr, ytr, Xte, yte = data
    fmt = parse(arith.master)
    master = {k: fmt.encode(v).astype(np.uint64)
              for k, v in init_params(channels, seed).items()}
    rng = np.random.default_rng(seed)
    counter, step, stats, t0 = Counter(), 0, {}, time.perf_counter()
    hist = {"loss": [], "test_acc": []}
    for _ in range(epochs):
        order = rng.permutation(len(ytr))
        losses = []
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            params = decode_params(master, arith)
            logits, cache = forward(params, Xtr[idx], arith, counter)
            loss, dlogits = loss_and_dlogits(logits, ytr[idx])
            grads = backward(dlogits, cache, arith, counter)
            master = update(master, grads, lr, arith, step, stats)
            losses.append(loss)
            step += 1
        hist["loss"].append(float(np.mean(losses)))
        hist["test_acc"].append(accuracy(decode_params(master, arith), Xte, yte, arith,
                                         counter))
    hist["small_updates"] = stats.get("small", 0) / max(stats.get("updates", 0), 1)
    hist["macs"] = counter.macs
    hist["seconds"] = time.perf_counter() - t0
    return hist


# ---- the experiments --------------------------------------------------------------------
class Run(NamedTuple):
    """One training run: ``experiment`` ("accumulation" or "update"), its name in the
    table and plot, its arithmetic."""

    experiment: str
    name: str
    arith: Arith


SMALL_ACC = "e6m3"   # the small accumulator: 6 exponent bits, m_acc = 3 fraction bits
RUNS = [
    Run("accumulation", "fp32 accumulation (numpy)", Arith(None)),
    Run("accumulation", "fp32 accumulation (emulated)", Arith("e8m23")),
    Run("accumulation", f"{SMALL_ACC}, no chunking", Arith(SMALL_ACC, 0)),
    Run("accumulation", f"{SMALL_ACC}, chunk 32", Arith(SMALL_ACC, 32)),
    Run("accumulation", f"{SMALL_ACC}, chunk 64", Arith(SMALL_ACC, 64)),
    Run("update", "fp32 master weights", Arith(None, 0, "fp32", "rne")),
    Run("update", "fp16 master weights, rne", Arith(None, 0, "fp16", "rne")),
    Run("update", "fp16 master weights, sr", Arith(None, 0, "fp16", "sr")),
]


@dataclass(frozen=True)
class Settings:
    """Learning rate and epochs per experiment, batch size, conv channels, data subset.

    The accumulation runs use a learning rate that trains the net in a few epochs (master
    weights fp32, so only the GEMMs differ); the update runs use fp32-accumulation GEMMs
    and a learning rate so small that most updates are below half an fp16 ulp of their
    weight (hence many more epochs), so only the update's rounding differs."""

    acc_lr: float = 0.4
    acc_epochs: int = 20
    update_lr: float = 0.005
    update_epochs: int = 300
    batch: int = BATCH
    channels: tuple = CHANNELS
    train: int | None = None   # None: all 1437 training images
    test: int | None = None    # None: all 360 test images


def settings_for(epochs: int | None = None, quick: bool = False) -> Settings:
    """The full run, ``epochs`` accumulation epochs (and 15x as many update epochs), or
    the tiny ``quick`` run (256 training and 128 test images, channels (4, 8), 2 + 30
    epochs, batch 64)."""
    if quick:
        e = epochs or 2
        return Settings(acc_epochs=e, update_epochs=15 * e, batch=64, channels=(4, 8),
                        train=256, test=128)
    if epochs:
        return Settings(acc_epochs=epochs, update_epochs=15 * epochs)
    return Settings()


def run_all(settings: Settings, runs=RUNS, log=print) -> list[dict]:
    """Train every run; one record per run (its settings, history and cost).  numpy's
    float32 GEMMs here are tiny: on one BLAS thread (more only contend on a loaded
    machine)."""
    from threadpoolctl import threadpool_limits
    data = load_data(settings.train, settings.test)
    records = []
    for run in runs:
        acc = run.experiment == "accumulation"
        lr = settings.acc_lr if acc else settings.update_lr
        epochs = settings.acc_epochs if acc else settings.update_epochs
        with threadpool_limits(1, user_api="blas"):
            hist = train(run.arith, data, epochs, lr, settings.batch, settings.channels)
        records.append({"experiment": run.experiment, "name": run.name, **asdict(run.arith),
                        "lr": lr, "epochs": epochs, "batch": settings.batch, **hist})
        log(f"{run.name:32s} loss {hist['loss'][-1]:.4f} test acc {hist['test_acc'][-1]:.4f} "
            f"small updates {hist['small_updates']:.3f} {hist['macs'] / 1e6:8.1f} M MACs "
            f"{hist['seconds']:6.1f} s")
    return records


def _acc_label(r: dict) -> str:
    if r["acc"] is None:
        return "float32 (numpy)"
    fmt = parse(r["acc"])
    return f"{fmt.spec} emulated (m_acc = {fmt.man_bits})"


def table(records: list[dict]) -> str:
    rows = [[r["name"], _acc_label(r), r["chunk"] or "-", f"{r['master']}, {r['update']}",
             f"{r['lr']:g}", r["epochs"], f"{r['loss'][-1]:.3f}",
             f"{100 * r['test_acc'][-1]:.1f}%", f"{100 * r['small_updates']:.1f}%"]
            for r in records]
    return markdown_table(["configuration", "accumulation", "chunk", "weight update", "lr",
                           "epochs", "final train loss", "test accuracy",
                           "updates < half ulp"], rows)


def gemm_ks(batch: int, channels: tuple) -> str:
    """The K (accumulation length) of every GEMM of a training step, as README text."""
    convs = [f"conv {l} forward {9 * c_in}" + (f", input gradient {c_out}" if l > 1 else "")
             + f", weight gradient {batch * side * side}"
             for l, (side, c_in, c_out) in enumerate(conv_shapes(channels), 1)]
    return "; ".join(convs + [f"dense forward {dense_inputs(channels)}, input gradient "
                              f"{CLASSES}, weight gradient {batch}"])


def network(channels: tuple) -> str:
    """The network, as README text."""
    layers = [f"conv 3x3 {c_in}->{c_out} (padding 1), ReLU, 2x2 average pooling to "
              f"{side // 2}x{side // 2}x{c_out}"
              for side, c_in, c_out in conv_shapes(channels)]
    return ", ".join(layers + [f"dense {dense_inputs(channels)}->{CLASSES}"])


def readme_text(records: list[dict], settings: Settings, seconds: float, load: tuple,
                n_train: int, n_test: int, plot_path: str = "docs/train_emulated.png") -> str:
    """The README section: setup, the table, the plot link; ``load``: the 1-minute load
    averages before and after the run."""
    macs = sum(r["macs"] for r in records)
    fp16 = [r["small_updates"] for r in records
            if r["experiment"] == "update" and r["master"] == "fp16" and r["update"] == "rne"]
    small = (f", at which {100 * fp16[0]:.0f}% of the fp16 updates are below half an ulp "
             "of their weight" if fp16 else "")
    return (
        f"Produced by `scripts/train_emulated.py`: a convolutional network on "
        f"scikit-learn's bundled 8x8 digits ({n_train} training / {n_test} test images), "
        f"{network(settings.channels)}, softmax cross-entropy, trained by mini-batch SGD "
        f"(batch {settings.batch}, no momentum, fixed seeds). Every convolution and dense "
        "GEMM goes through the emulator: a convolution is one GEMM on its im2col matrix "
        "(one row per output pixel, its 3x3 neighbourhood in the columns; im2col and its "
        "adjoint col2im are exact data movement), forward, input gradient (not needed for "
        "conv 1) and weight gradient alike; their accumulation lengths K are "
        f"{gemm_ks(settings.batch, settings.channels)}. The pooling, ReLU, biases, softmax "
        "and loss are float64 numpy (not GEMMs). All GEMMs take fp8 operands, hfp8 "
        "activations and weights and fp8_e5m2 gradients, each tensor scaled by a power of "
        "two (loss scaling for the gradients), and accumulate in numpy float32 or in the "
        "emulated accumulator of `fpforge.sim.gemm.matmul` (the codes of the array's PEs; "
        "chunk c: the running sum restarts every c products and the chunk sums add up in a "
        "second register of the same format). The weight update is the golden AXPY "
        "w := round(w - lr g) into the master weights' format; the accumulation runs keep "
        "fp32 master weights, the update runs fp32-accumulation GEMMs and a learning rate "
        f"{settings.acc_lr / settings.update_lr:g}x smaller{small}.\n\n"
        + table(records)
        + "\n\nTrain loss: the mean mini-batch loss of the last epoch; updates < half ulp: "
        "the share of weight updates (nonzero g) that round to nearest discards. "
        f"{macs / 1e9:.2f} G emulated MACs, {seconds / 60:.1f} minutes on this 2-core "
        f"machine, shared with other jobs (load average {load[0]:.1f} before and "
        f"{load[1]:.1f} after; 2 would fill it).\n\n![training]({plot_path})")


def plot(records: list[dict], path: Path) -> None:
    """Train loss and test accuracy against the epoch, one column per experiment."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex="col")
    for col, (experiment, title) in enumerate(
            (("accumulation", "GEMM accumulation (fp32 master weights)"),
             ("update", "weight update (fp32-accumulation GEMMs)"))):
        mine = [r for r in records if r["experiment"] == experiment]
        colors = iter(("C3", "C1", "C0", "C2", "C4", "C5"))
        for r in mine:
            epochs = np.arange(1, len(r["loss"]) + 1)
            if r["acc"] is None and r["master"] == "fp32":   # the reference: wide, grey
                style = {"color": "0.6", "linewidth": 3.5}
            else:                                            # dashed where it may hide one
                style = {"color": next(colors), "linewidth": 1.4,
                         "linestyle": "--" if r["acc"] == "e8m23" or r["update"] == "sr"
                         else "-"}
            axes[0, col].plot(epochs, r["loss"], label=r["name"], **style)
            axes[1, col].plot(epochs, 100 * np.array(r["test_acc"]), label=r["name"], **style)
        if mine:
            axes[0, col].set_title(f"{title}, lr {mine[0]['lr']:g}")
        axes[0, col].set_yscale("log")
        axes[0, col].set_ylabel("train loss")
        axes[1, col].set_ylabel("test accuracy (%)")
        axes[1, col].set_xlabel("epoch")
        axes[1, col].xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[0, col].legend(fontsize=8)
        for ax in axes[:, col]:
            ax.grid(True, alpha=0.3)
    fig.suptitle("Emulated fp8 training of a CNN on digits (hfp8 forward, e5m2 gradients)")
    fig.tight_layout()
    save_png(fig, path, dpi=100)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    readme_options(ap)
    ap.add_argument("--epochs", type=int, default=None,
                    help="epochs of the accumulation runs (the update runs get 15x as many)")
    ap.add_argument("--quick", action="store_true",
                    help="tiny run (data subset, 2 epochs): a smoke test")
    ap.add_argument("--out", type=Path, default=ROOT / "docs",
                    help="directory of train_emulated.png/.json (default docs/)")
    args = ap.parse_args(argv)
    settings = settings_for(args.epochs, args.quick)
    load, t0 = [os.getloadavg()[0]], time.perf_counter()
    records = run_all(settings)
    seconds = time.perf_counter() - t0
    load.append(os.getloadavg()[0])
    Xtr, _, Xte, _ = load_data(settings.train, settings.test)
    png = args.out / "train_emulated.png"
    plot(records, png)
    (args.out / "train_emulated.json").write_text(json.dumps(
        {"settings": asdict(settings), "seconds": seconds, "load_average": load,
         "numpy": np.__version__,
         "runs": records}, indent=1) + "\n")
    rel = png.relative_to(ROOT).as_posix() if png.is_relative_to(ROOT) else png.as_posix()
    text = readme_text(records, settings, seconds, load, len(Xtr), len(Xte), rel)
    publish(ROOT / "README.md", {"training": text}, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
