"""Variance retention ratio (VRR) of a floating-point accumulation, predicted and measured.

The model is the swamping analysis of Sakr, Wang, Chen, Choi, Agrawal, Shanbhag and
Gopalakrishnan, "Accumulation Bit-Width Scaling for Ultra-Low Precision Training of Deep
Networks", ICLR 2019 (arXiv 1901.06588): n zero-mean products of ``m_p`` mantissa bits,
summed one after the other in an accumulator of ``m_acc`` mantissa bits, lose the small
addends that a large running sum swamps, fully or in part; VRR = Var(computed sum) /
Var(exact sum).  The paper's own text could not be consulted for this implementation: the
formulas follow a public transcription of its theorem (the notebook ``vrr_analysis.ipynb``
of github.com/yanivbl6/convNet.pytorch), so no equation numbers are cited.  Notation:

    Q(x)     = P(N(0,1) > x)
    q_i      = 2Q(2^m_acc / sqrt(i)) (1 - 2Q(2^m_acc / sqrt(i-1)))       full swamping
                                                                          begins at step i
    alpha_j  = 2^(m_acc - 3 m_p) / 3 * sum_{t=1}^{j-1} J (J-1) (2J-1),  J = 2^t
    alpha    = alpha_{m_p + 1}
    q_j      = 2^(m_acc-m_p+j) 2Q(2^(m_acc-m_p+j-1) / sqrt n) (1 - 2Q(2^(m_acc-m_p+j) / sqrt n))
                                                  partial swamping of j bits, j = 2..m_p
    k1 = sum_{2 <= i < n, i > alpha} q_i,  k2 = sum_{j: n > alpha_j} q_j,
    k3 = 1 - 2Q(2^(m_acc-m_p+1) / sqrt n)                                  no swamping
    VRR = [sum_{i > alpha} (i - alpha) q_i + sum_j max(n - alpha_j, 0) q_j + n k3]
          / [n (k1 + k2 + k3)]

Chunk-based accumulation of chunk C (the transcription's rule): the chunks are n/C
accumulations of length C, and their sums, which carry m_p + floor(log2 C) bits, one
accumulation of length n/C:  VRR(m_acc, m_p, C) * VRR(m_acc, min(m_acc, m_p + log2 C), n/C).
Where the paper's wording is not available we chose: a length that is not a multiple of C
counts ceil(n/C) chunks; C >= n is plain accumulation.

The variance lost is v(n) = n (1 - VRR), in units of one product's variance.  For a long
accumulation it jumps by orders of magnitude within one bit of m_acc: below the knee a
sizeable part of the sum's variance n is lost, above it a tiny part.  The minimum m_acc
for a length is the smallest m_acc from which on v(n) <= ``cutoff`` * n (default 1e-3:
99.9% of the variance retained), a cutoff inside that jump, so that for long accumulations
the answer does not hinge on its exact value.  (The paper's own cutoff could not be
checked; this is our reading of "the knee".)

``fpforge.sim.vrr_measure`` is the Monte Carlo side (Gaussian products rounded to m_p
mantissa bits, summed by the golden accumulator in many independent trials);
:func:`agrees` is the stated tolerance between the two.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erfc

from fpforge.sim.formats import FloatFormat

__all__ = ["vrr", "variance_lost", "min_m_acc", "product_bits", "agrees",
           "MAX_LENGTH", "MAX_M_ACC", "VALID_FROM", "SLACK"]

#: longest accumulation the model evaluates (its sum over i runs to n)
MAX_LENGTH = 1 << 26
#: widest accumulator mantissa :func:`min_m_acc` considers
MAX_M_ACC = 52
#: the model claims validity where it predicts at least this VRR (around the knee)
VALID_FROM = 0.9
#: the stated tolerance of :func:`agrees`, beyond three standard errors
SLACK = 0.01
_BLOCK = 1 << 20
_Q_ZERO = 40.0


def _q(x):
    """Q(x) = P(N(0,1) > x)."""
    return 0.5 * erfc(np.asarray(x, dtype=np.float64) / np.sqrt(2.0))


def _alpha(m_acc: int, m_p: int, j: int) -> float:
    """alpha_j: the swamping penalty of j - 1 partially lost product bits."""
    big_j = 2.0 ** np.arange(1, j)
    return 2.0 ** (m_acc - 3 * m_p) / 3 * float(np.sum(big_j * (big_j - 1) * (2 * big_j - 1)))


def _plain(ns: np.ndarray, m_acc: int, m_p: int) -> np.ndarray:
    """VRR of plain accumulation for an increasing array of lengths ``ns``."""
    alpha = _alpha(m_acc, m_p, m_p + 1)
    scale = 2.0 ** m_acc
    out = np.empty(ns.size)
    k1 = weighted = 0.0  # running sum over i < n of q_i and (i - alpha) q_i, i > alpha
    # Q(x) is exactly 0.0 in float64 for x > 38.5, so q_i = 0 for scale / sqrt(i) > 40
    i_next = max(2, int((scale / _Q_ZERO) ** 2))
    for idx, n in enumerate(ns):
        while i_next < n:
            i = np.arange(i_next, min(n, i_next + _BLOCK), dtype=np.float64)
            q = 2 * _q(scale / np.sqrt(i)) * (1 - 2 * _q(scale / np.sqrt(i - 1)))
            q[i <= alpha] = 0.0
            k1 += float(q.sum())
            weighted += float(((i - alpha) * q).sum())
            i_next += i.size
        k2 = partial = 0.0
        for j in range(2, m_p + 1):
            top = 2.0 ** (m_acc - m_p + j)
            q_j = top * 2 * _q(top / 2 / np.sqrt(n)) * (1 - 2 * _q(top / np.sqrt(n)))
            lost = n - _alpha(m_acc, m_p, j)
            if lost > 0:
                k2 += q_j
                partial += lost * q_j
        k3 = 1 - 2 * _q(2.0 ** (m_acc - m_p + 1) / np.sqrt(n))
        out[idx] = (weighted + partial + n * k3) / (n * (k1 + k2 + k3))
    return out


def _check(n, m_acc, m_p: int, chunk: int):
    n = np.asarray(n)
    m_acc = np.asarray(m_acc)
    if not np.issubdtype(n.dtype, np.integer) or n.size == 0 or n.min() < 1 \
            or n.max() > MAX_LENGTH:
        raise ValueError(f"length must be an integer from 1 to {MAX_LENGTH}")
    if not np.issubdtype(m_acc.dtype, np.integer) or m_acc.size == 0 or m_acc.min() < 1 \
            or m_acc.max() > MAX_M_ACC:
        raise ValueError(f"m_acc must be an integer from 1 to {MAX_M_ACC}")
    if not isinstance(m_p, (int, np.integer)) or not 1 <= m_p <= MAX_M_ACC:
        raise ValueError(f"m_p must be an integer from 1 to {MAX_M_ACC}")
    if not isinstance(chunk, (int, np.integer)) or isinstance(chunk, bool) or chunk < 0 \
            or chunk == 1:
        raise ValueError(f"chunk must be 0 (no chunking) or an integer >= 2, not {chunk!r}")
    return n.astype(np.int64), m_acc.astype(np.int64)


def vrr(n, m_acc, m_p: int = 5, chunk: int = 0) -> np.ndarray:
    """Predicted VRR of an accumulation of ``n`` products of ``m_p`` mantissa bits in an
    accumulator of ``m_acc`` mantissa bits, plain (``chunk=0``) or chunk-based; ``n`` and
    ``m_acc`` broadcast against each other (a float for scalars)."""
    n, m_acc = _check(n, m_acc, m_p, chunk)
    n, m_acc = np.broadcast_arrays(n, m_acc)
    out = np.empty(n.shape)
    for m in np.unique(m_acc):
        sel = m_acc == m
        out[sel] = _vrr_one(n[sel], int(m), m_p, chunk)
    return out if out.ndim else float(out)


def _vrr_one(ns: np.ndarray, m_acc: int, m_p: int, chunk: int) -> np.ndarray:
    if chunk == 0:
        return _plain_any(ns, m_acc, m_p)
    out = _plain_any(np.minimum(ns, chunk), m_acc, m_p)
    several = ns > chunk  # else one chunk: plain accumulation
    if several.any():
        outer = -(-ns[several] // chunk)  # ceil: a last, shorter chunk counts as one
        chunk_bits = min(m_acc, m_p + int(np.log2(chunk)))
        out[several] *= _plain_any(outer, m_acc, chunk_bits)
    return out


def _plain_any(ns: np.ndarray, m_acc: int, m_p: int) -> np.ndarray:
    """:func:`_plain` over lengths in any order (it wants them increasing, once each)."""
    unique, back = np.unique(ns, return_inverse=True)
    return _plain(unique, m_acc, m_p)[back]


def variance_lost(n, m_acc, m_p: int = 5, chunk: int = 0) -> np.ndarray:
    """Predicted variance lost n (1 - VRR), in units of one product's variance."""
    return np.asarray(n) * (1 - vrr(n, m_acc, m_p, chunk))


def min_m_acc(n, m_p: int = 5, chunk: int = 0, cutoff: float = 1e-3) -> np.ndarray:
    """Smallest m_acc (1..MAX_M_ACC) from which on the predicted variance lost stays at or
    below ``cutoff`` * n, for each length in ``n`` (an int for a scalar ``n``)."""
    if not 0 < cutoff < 1:
        raise ValueError(f"cutoff must be a fraction of the variance, 0 < cutoff < 1, not "
                         f"{cutoff!r}")
    n = np.asarray(n)
    flat = n.reshape(-1)
    first = np.ones(flat.shape, dtype=np.int64)
    open_ = np.arange(flat.size)  # lengths whose answer is not known yet
    # From the widest accumulator down: the first width that fails settles the answer
    # (one more bit), and the wide, cheap widths are evaluated before the narrow ones.
    for m_acc in range(MAX_M_ACC, 0, -1):
        failed = vrr(flat[open_], m_acc, m_p, chunk) < 1 - cutoff
        if failed.any():
            if m_acc == MAX_M_ACC:
                raise ValueError(f"no accumulator up to {MAX_M_ACC} mantissa bits keeps "
                                 f"1 - {cutoff} of the variance")
            first[open_[failed]] = m_acc + 1
            open_ = open_[~failed]
        if open_.size == 0:
            break
    first = first.reshape(n.shape)
    return first if first.ndim else int(first)


def product_bits(operand: FloatFormat) -> int:
    """m_p of the exact product of two ``operand`` values: 2 m + 1 mantissa bits."""
    return 2 * operand.man_bits + 1


def agrees(measured: float, stderr: float, n: int, m_acc: int, m_p: int = 5,
           chunk: int = 0) -> bool:
    """The stated tolerance of the model against ``vrr_measure.measure_vrr``: the measured VRR
    lies between the model's VRR at m_acc and at m_acc + 2, each widened by three standard
    errors of the measurement plus ``SLACK``.  One of the two bits is rounding to nearest
    (the model drops a product below one ulp of the running sum, rne only below half an
    ulp); the other is what we measured.  It is claimed where the model predicts a VRR of
    at least ``VALID_FROM``: deeper in swamping the sum stagnates and the measured VRR
    falls like 1/n, which the model does not follow."""
    margin = 3 * stderr + SLACK
    return bool(vrr(n, m_acc, m_p, chunk) - margin <= measured
                <= vrr(n, m_acc + 2, m_p, chunk) + margin)
