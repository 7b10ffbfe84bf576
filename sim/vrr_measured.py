"""The long Monte Carlo measurement of VRR, kept with the package for ``fpforge recommend``.

``scripts/vrr_montecarlo.py`` measures the bit-exact accumulator's VRR for products of
``M_P`` mantissa bits summed in accumulators of 6..16 mantissa bits (8 exponent bits, rne),
plain and in chunks of 64, at every length 2^6..2^20 (2^24 with chunks), with up to
hundreds of thousands of streams where the 0.999 cutoff needs them, and writes the figures
to ``vrr_measured.json`` beside this module.  :func:`measured_m_acc` answers from them.

The figures hold for accumulators of 6 or more exponent bits: the sums of up to 2^24
N(0, 1) products stay within 2^±30 but for draws too rare to move a VRR.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

__all__ = ["MEASURED_FILE", "Measured", "measured_m_acc", "load_table"]

MEASURED_FILE = "vrr_measured.json"
#: accumulators with fewer exponent bits than this are not covered by the measurement
MIN_ACC_EXP = 6


@dataclass(frozen=True)
class Measured:
    """The measurement's answer: the fewest ``m_acc`` that keeps the cutoff at the
    measured length ``n`` (the shortest measured one at or above the asked length), and
    every width measured there as (m_acc, trials, vrr, stderr)."""

    m_acc: int
    n: int
    rows: tuple[tuple[int, int, float, float], ...]


@functools.lru_cache(maxsize=1)
def load_table() -> dict:
    """``{"m_p": int, "points": [[chunk, n, m_acc, trials, vrr, stderr], ...]}``."""
    text = resources.files("fpforge.sim").joinpath(MEASURED_FILE).read_text()
    return json.loads(text)


def measured_m_acc(n: int, m_p: int, chunk: int, cutoff: float, acc_exp: int,
                   table: dict | None = None) -> Measured | None:
    """The fewest accumulator mantissa bits whose measured VRR at length ``n`` (the
    shortest measured length >= ``n``) is at least ``1 - cutoff``, with every wider
    measured width at least that too; None where the measurement does not cover the
    question (another ``m_p`` or chunk size, fewer than ``MIN_ACC_EXP`` exponent bits,
    longer streams, or no width passing).  The measured value itself decides: a width
    measured below the cutoff is not answered even where the shortfall is within the run's
    noise (an architect sizes for the loss, not for a test of it)."""
    table = load_table() if table is None else table
    if m_p != table["m_p"] or acc_exp < MIN_ACC_EXP:
        return None
    if chunk >= n:
        chunk = 0  # one chunk: plain accumulation
    lengths = sorted({p[1] for p in table["points"] if p[0] == chunk and p[1] >= n})
    if not lengths:
        return None
    at = lengths[0]
    rows = sorted(tuple(p[2:]) for p in table["points"] if p[0] == chunk and p[1] == at)
    passing = [vrr >= 1 - cutoff for _, _, vrr, _ in rows]
    fewest = None
    for (m_acc, *_), ok in zip(reversed(rows), reversed(passing)):
        if not ok:
            break
        fewest = m_acc
    return None if fewest is None else Measured(fewest, at, tuple(rows))
