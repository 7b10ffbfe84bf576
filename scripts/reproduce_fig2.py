"""Fig 2 of IBM's accumulation-width study (ICLR 2019): variance lost against accumulation
length for several accumulator widths, plain and with chunks of 64.

Evaluates ``fpforge.sim.vrr.variance_lost`` (products of m_p = 5 mantissa bits, fp8_e5m2 x
fp8_e5m2) for n = 2^4 .. 2^24 and m_acc = 6 .. 16, draws both panels with the cutoff
v(n) = 1e-3 n that ``fpforge recommend`` uses, and writes ``docs/fig2.png`` and the README
section ``fig2`` (the longest power-of-two length each m_acc handles, plain and chunked).

    python scripts/reproduce_fig2.py [--no-readme]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from fpforge.gen.report import markdown_table, publish, readme_options, save_png
from fpforge.sim.vrr import variance_lost

ROOT = Path(__file__).resolve().parent.parent
M_P = 5
CHUNK = 64
CUTOFF = 1e-3
LOG2_LENGTHS = np.arange(4, 25)
WIDTHS = range(6, 17, 2)
TABLE_WIDTHS = range(6, 17)


def longest_ok(m_acc: int, chunk: int) -> str:
    """The longest 2^k of the plotted range with v(n) <= CUTOFF n, as text."""
    ns = 1 << LOG2_LENGTHS
    ok = variance_lost(ns, m_acc, M_P, chunk) <= CUTOFF * ns
    if ok.all():
        return f">= 2^{LOG2_LENGTHS[-1]}"
    bad = int(np.argmin(ok))
    return "none" if bad == 0 else f"2^{LOG2_LENGTHS[bad - 1]}"


def plot(path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = 2.0 ** LOG2_LENGTHS
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    for ax, chunk in zip(axes, (0, CHUNK)):
        for m_acc in WIDTHS:
            lost = variance_lost(1 << LOG2_LENGTHS, m_acc, M_P, chunk)
            ax.plot(ns, np.maximum(lost, 1e-6), marker=".", label=f"m_acc = {m_acc}")
        ax.plot(ns, CUTOFF * ns, color="black", linestyle="--", label="cutoff 1e-3 n")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_ylim(1e-4, 1e8)
        ax.set_xlabel("accumulation length n")
        ax.set_title("plain accumulation" if chunk == 0 else f"chunk size {chunk}")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("variance lost n (1 - VRR)")
    axes[1].legend(fontsize=8)
    fig.suptitle(f"Variance lost vs accumulation length, m_p = {M_P} (cf. IBM ICLR'19 Fig. 2)")
    fig.tight_layout()
    save_png(fig, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    readme_options(ap)
    args = ap.parse_args()
    plot(ROOT / "docs" / "fig2.png")
    rows = [[m, longest_ok(m, 0), longest_ok(m, CHUNK)] for m in TABLE_WIDTHS]
    body = (f"Produced by `scripts/reproduce_fig2.py` from the model (`fpforge.sim.vrr`), "
            f"m_p = {M_P}. The longest length n = 2^k (k <= {LOG2_LENGTHS[-1]}) each "
            f"accumulator width handles with at most {CUTOFF:g} of the sum's variance lost:\n\n"
            + markdown_table(["m_acc", "plain", f"chunk {CHUNK}"], rows)
            + "\n\n![variance lost vs length](docs/fig2.png)")
    publish(ROOT / "README.md", {"fig2": body}, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
