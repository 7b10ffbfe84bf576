"""Emulated low-precision training: a small MLP on scikit-learn's bundled digits whose
three GEMMs per layer (forward, backward, gradient) run through the golden model
(``fpforge.sim.gemm.matmul``) with fp8 operands, and whose weight update is the golden
AXPY (``fpforge.sim.accumulate.axpy``); written as the README section ``training``.

Model: 64 -> HIDDEN -> 10, ReLU, softmax cross-entropy, mini-batch SGD (no momentum).
Per layer, IBM hybrid-FP8 style:

* forward   Z = X @ W        X, W in hfp8 (e4m3, bias 11)
* backward  dX = dZ @ W^T    dZ in fp8_e5m2, W in hfp8 (layer 2 only: the input needs none)
* gradient  dW = X^T @ dZ    X in hfp8, dZ in fp8_e5m2 (K = batch: the long accumulation)

Every fp8 operand is scaled per tensor by a power of two (exact, undone after the GEMM)
that maps its largest magnitude into (2**(emax-1), 2**emax] of its format, so nothing
overflows and the tensor uses the format's whole range; for dZ this is the (automatic,
power-of-two) loss scaling.  The GEMM accumulates either in numpy float32 (the
fp32-accumulation reference) or emulated in an accumulator format, with or without
chunk-based accumulation.  Biases (and their gradients), ReLU, softmax and the loss are
float64.  The update
w := round(w - lr * g) is one fused rounding (AXPY, alpha = -lr and g in fp32) into the
master weights' format: fp32 (rne) or fp16 (rne or sr; sr draws from a seed per step and
tensor).

    python scripts/train_emulated.py [--no-readme] [--epochs N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from fpforge.gen.report import markdown_table, replace_readme_section, save_png
from fpforge.sim.accumulate import axpy
from fpforge.sim.formats import FloatFormat, parse
from fpforge.sim.gemm import matmul
from fpforge.sim.prng import instance_seed

ROOT = Path(__file__).resolve().parent.parent
HFP8 = parse("hfp8")       # forward operands (activations, weights)
E5M2 = parse("fp8_e5m2")   # gradient operands
FP16 = parse("fp16")
FP32 = parse("fp32")

HIDDEN = 32
BATCH = 256
SEED = 1           # weight init and the shuffle order (the same for every configuration)
TEST_SIZE = 360


# ---- data ---------------------------------------------------------------------------------
def load_data(train: int | None = None, test: int | None = None):
    """scikit-learn's bundled 8x8 digits (no download), pixels k/16 centred to (k-8)/16
    (all exact in hfp8), split by a fixed permutation into the last ``TEST_SIZE`` samples
    (test) and the rest (train); ``train``/``test`` keep only the first that many of each.
    Returns ``(X_train, y_train, X_test, y_test)``, X float64 (n, 64), y int (n,)."""
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    X, y = (X[order] - 8.0) / 16.0, y[order]
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
        av = a.fmt.decode(a.codes).astype(np.float32)
        bv = b.fmt.decode(b.codes).astype(np.float32)
        return np.ldexp((av @ bv).astype(np.float64), -shift)
    acc = parse(arith.acc)
    if counter is not None:
        counter.macs += a.codes.shape[0] * a.codes.shape[1] * b.codes.shape[1]
    c = matmul(a.codes, b.codes, a.fmt, b.fmt, acc, chunk=arith.chunk, rounding="rne")
    return np.ldexp(acc.decode(c), -shift)


# ---- the model ----------------------------------------------------------------------------
def init_params(hidden: int = HIDDEN, seed: int = SEED) -> dict:
    """He-normal weights W1 (64, hidden), W2 (hidden, 10) and zero biases, float64."""
    rng = np.random.default_rng(seed)
    return {"W1": rng.standard_normal((64, hidden)) * np.sqrt(2 / 64), "b1": np.zeros(hidden),
            "W2": rng.standard_normal((hidden, 10)) * np.sqrt(2 / hidden), "b2": np.zeros(10)}


def forward(params: dict, X: np.ndarray, arith: Arith, counter=None):
    """Logits (n, 10) and the cache the backward pass needs (quantised X, H, W and Z1)."""
    xq, w1q = quantize(X, HFP8), quantize(params["W1"], HFP8)
    z1 = gemm(xq, w1q, arith, counter) + params["b1"]
    hq, w2q = quantize(np.maximum(z1, 0.0), HFP8), quantize(params["W2"], HFP8)
    logits = gemm(hq, w2q, arith, counter) + params["b2"]
    return logits, (xq, w1q, z1, hq, w2q)


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
    """Gradients of W1, b1, W2, b2: backward GEMM dH = dZ2 @ W2^T and gradient GEMMs
    dW = X^T @ dZ, with dZ in fp8_e5m2 (scaled) and X, H, W as the forward quantised them."""
    xq, w1q, z1, hq, w2q = cache
    dz2q = quantize(dlogits, E5M2)
    grads = {"W2": gemm(hq.T, dz2q, arith, counter), "b2": dlogits.sum(axis=0)}
    dz1 = gemm(dz2q, w2q.T, arith, counter) * (z1 > 0)
    grads["W1"] = gemm(xq.T, quantize(dz1, E5M2), arith, counter)
    grads["b1"] = dz1.sum(axis=0)
    return grads


def update(master: dict, grads: dict, lr: float, arith: Arith, step: int,
           stats: dict | None = None) -> dict:
    """w := round(w - lr * g) for every tensor, one fused rounding into ``arith.master``
    (golden AXPY, alpha = -lr and g rounded to fp32); ``master`` holds the weights as codes
    of that format.  ``sr`` draws from ``instance_seed(SEED, 4 * step + t)`` for tensor t,
    a stream of its own per step and tensor.  ``stats``: adds the number of nonzero
    gradient elements to ``"updates"`` and of those that round to nearest discards, with
    |lr * g| below half the spacing of ``arith.master`` at the weight, to ``"small"``."""
    fmt = parse(arith.master)
    alpha = FP32.encode(np.array([-lr]))[0]
    out = {}
    for t, name in enumerate(sorted(master)):
        g = FP32.encode(grads[name]).astype(np.uint64)
        out[name] = axpy(alpha, g, master[name], FP32, FP32, fmt, arith.update,
                         seed=instance_seed(SEED, 4 * step + t)).astype(np.uint64)
        if stats is not None:
            moved = grads[name] != 0
            w = fmt.decode(master[name])
            small = fmt.decode(fmt.encode(w - lr * grads[name])) == w
            stats["updates"] = stats.get("updates", 0) + int(moved.sum())
            stats["small"] = stats.get("small", 0) + int((moved & small).sum())
    return out


def decode_params(master: dict, arith: Arith) -> dict:
    fmt = parse(arith.master)
    return {k: fmt.decode(v) for k, v in master.items()}


def accuracy(params: dict, X, y, arith: Arith, counter=None) -> float:
    logits, _ = forward(params, X, arith, counter)
    return float(np.mean(np.argmax(logits, axis=1) == y))


def train(arith: Arith, data, epochs: int, lr: float, batch: int = BATCH,
          hidden: int = HIDDEN, seed: int = SEED) -> dict:
    """Mini-batch SGD; the same init and shuffle order whatever ``arith``.  Per epoch:
    ``loss`` = mean of the mini-batch losses (as computed during training) and ``test_acc``
    (forward pass in ``arith``); ``small_updates``: the fraction of weight updates (nonzero
    gradient) that round to nearest would discard; ``macs`` of emulated GEMMs; ``seconds``."""
    Xtr, ytr, Xte, yte = data
    fmt = parse(arith.master)
    master = {k: fmt.encode(v).astype(np.uint64) for k, v in init_params(hidden, seed).items()}
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
    """Learning rate and epochs per experiment, batch size, hidden width, data subset.

    The accumulation runs use a learning rate that trains the net in a few epochs (master
    weights fp32, so only the GEMMs differ); the update runs use fp32-accumulation GEMMs
    and a learning rate so small that most updates are below half an fp16 ulp of their
    weight (hence many more epochs), so only the update's rounding differs."""

    acc_lr: float = 0.4
    acc_epochs: int = 20
    update_lr: float = 0.005
    update_epochs: int = 300
    batch: int = BATCH
    hidden: int = HIDDEN
    train: int | None = None   # None: all 1437 training images
    test: int | None = None    # None: all 360 test images


def settings_for(epochs: int | None = None, quick: bool = False) -> Settings:
    """The full run, ``epochs`` accumulation epochs (and 15x as many update epochs), or
    the tiny ``quick`` run (256 training and 128 test images, 2 + 30 epochs, batch 64)."""
    if quick:
        e = epochs or 2
        return Settings(acc_epochs=e, update_epochs=15 * e, batch=64, hidden=16, train=256,
                        test=128)
    if epochs:
        return Settings(acc_epochs=epochs, update_epochs=15 * epochs)
    return Settings()


def run_all(settings: Settings, runs=RUNS, log=print) -> list[dict]:
    """Train every run; one record per run (its settings, history and cost)."""
    data = load_data(settings.train, settings.test)
    records = []
    for run in runs:
        acc = run.experiment == "accumulation"
        lr = settings.acc_lr if acc else settings.update_lr
        epochs = settings.acc_epochs if acc else settings.update_epochs
        hist = train(run.arith, data, epochs, lr, settings.batch, settings.hidden)
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


def readme_text(records: list[dict], settings: Settings, seconds: float, n_train: int,
                n_test: int, plot_path: str = "docs/train_emulated.png") -> str:
    """The README section: setup, the table, the plot link."""
    macs = sum(r["macs"] for r in records)
    fp16 = [r["small_updates"] for r in records
            if r["experiment"] == "update" and r["master"] == "fp16" and r["update"] == "rne"]
    small = (f", at which {100 * fp16[0]:.0f}% of the fp16 updates are below half an ulp "
             "of their weight" if fp16 else "")
    return (
        f"Produced by `scripts/train_emulated.py`: an MLP 64-{settings.hidden}-10 (ReLU, "
        f"softmax cross-entropy) trained by mini-batch SGD (batch {settings.batch}, no "
        "momentum, fixed seeds) on scikit-learn's bundled 8x8 digits "
        f"({n_train} training / {n_test} test images). All GEMMs (forward X W, backward "
        f"dZ W^T, gradient X^T dZ with K = {settings.batch}) take fp8 operands, hfp8 "
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
        f"machine.\n\n![training]({plot_path})")


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
    fig.suptitle("Emulated fp8 training of an MLP on digits (hfp8 forward, e5m2 gradients)")
    fig.tight_layout()
    save_png(fig, path, dpi=100)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-readme", action="store_true", help="do not update README.md")
    ap.add_argument("--epochs", type=int, default=None,
                    help="epochs of the accumulation runs (the update runs get 15x as many)")
    ap.add_argument("--quick", action="store_true",
                    help="tiny run (data subset, 2 epochs): a smoke test")
    ap.add_argument("--out", type=Path, default=ROOT / "docs",
                    help="directory of train_emulated.png/.json (default docs/)")
    args = ap.parse_args(argv)
    settings = settings_for(args.epochs, args.quick)
    t0 = time.perf_counter()
    records = run_all(settings)
    seconds = time.perf_counter() - t0
    Xtr, _, Xte, _ = load_data(settings.train, settings.test)
    png = args.out / "train_emulated.png"
    plot(records, png)
    (args.out / "train_emulated.json").write_text(json.dumps(
        {"settings": asdict(settings), "seconds": seconds, "numpy": np.__version__,
         "runs": records}, indent=1) + "\n")
    rel = png.relative_to(ROOT).as_posix() if png.is_relative_to(ROOT) else png.as_posix()
    text = readme_text(records, settings, seconds, len(Xtr), len(Xte), rel)
    print(text)
    if not args.no_readme:
        replace_readme_section(ROOT / "README.md", "training", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
