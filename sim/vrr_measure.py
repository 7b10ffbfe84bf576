"""Monte Carlo VRR of the bit-exact golden accumulator, and the check ``fpforge recommend``
makes of the model's answer.

Trial t sums a stream of products drawn from N(0, 1) and rounded (rne) to ``m_p``
mantissa bits (a format of ``exp_bits`` exponent bits), in the golden accumulator
(``sim.kernel.Registers``, the arithmetic of ``sim.accumulate.chunked``) of ``m_acc``
mantissa bits, plain or chunk-based; its exact sum is kept alongside (float64 with
a TwoSum compensation, exact for these sums in all but astronomically rare draws).
VRR = sum of squared computed sums / sum of squared exact sums over the trials (the ratio
of the two variances, both sums having mean 0), with its standard error (delta method for
a ratio of means).

Sampling: the rounded product takes each of the format's values with the probability that
N(0, 1) rounds to it (exact, from erfc at the rounding boundaries), drawn by Walker's alias
method (32-bit thresholds, so each probability is exact to about 2**-45) from a splitmix64
stream of its own per trial; trial t's stream depends only on (seed, t), so trials may be
run in any batches.  The tables hold every value of the product format: up to ``MAX_M_P``
mantissa bits.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.special import erfc

from fpforge.sim import kernel, parallel
from fpforge.sim.formats import FloatFormat

__all__ = ["MAX_M_P", "sample_products", "vrr_samples", "vrr_estimate", "measure_vrr",
           "Check", "check_m_acc"]

#: widest product mantissa the sampler's tables hold (2**(8 + MAX_M_P) entries)
MAX_M_P = 15
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S1 = (np.uint64(v) for v in (30, 27, 31, 1))
_M32 = np.uint64(0xFFFFFFFF)


@njit(inline="always")
def _mix(z):
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(nogil=True, cache=True)
def _draw(states, thresh, alias, values, index_bits, k0, taps, out, sums, comps, exact,
          lo, hi):
    """out[k, t] := the next product of trial t (lo <= t < hi), k < len(out); the trials'
    splitmix64 states and compensated exact sums (sums + comps, TwoSum) advance; exact[t, q] :=
    the exact sum after taps[q] products, for the taps among these steps."""
    shift = np.uint64(64 - index_bits)
    for k in range(out.shape[0]):
        step = k0 + k + 1
        for t in range(lo, hi):
            st = states[t] + _GOLDEN
            states[t] = st
            r = _mix(st)
            i = r >> shift
            code = i if ((r >> _S1) & _M32) < thresh[i] else np.uint64(alias[i])
            v = values[code] * np.float64(1 - 2 * np.int64(r & _S1))  # the sign, branch-free
            out[k, t] = v
            s = sums[t]
            total = s + v                # TwoSum: s + v = total + err exactly
            bb = total - s
            comps[t] += (s - (total - bb)) + (v - bb)
            sums[t] = total
        for q in range(taps.size):
            if taps[q] == step:
                for t in range(lo, hi):
                    exact[t, q] = sums[t] + comps[t]
    return 0


@njit(cache=True)
def _vose(p):
    """Walker / Vose alias tables of the distribution p (sums to 1): (thresholds * 2**32,
    aliases)."""
    n = p.size
    scaled = p * n
    thresh = np.zeros(n, dtype=np.uint64)
    alias = np.arange(n).astype(np.uint32)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    ns = nl = 0
    for i in range(n):
        if scaled[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns and nl:
        ns -= 1
        s = small[ns]
        g = large[nl - 1]
        thresh[s] = np.uint64(scaled[s] * 4294967296.0)
        alias[s] = np.uint32(g)
        scaled[g] -= 1.0 - scaled[s]
        if scaled[g] < 1.0:
            nl -= 1
            small[ns] = g
            ns += 1
    for i in range(nl):
        thresh[large[i]] = np.uint64(4294967296)
    for i in range(ns):  # rounding leftovers: probability 1 within their slot
        thresh[small[i]] = np.uint64(4294967296)
    return thresh, alias


@functools.lru_cache(maxsize=8)
def _tables(m_p: int, exp_bits: int):
    """(thresholds, aliases, magnitudes, index bits) of |N(0, 1)| rounded to the format."""
    if not 1 <= m_p <= MAX_M_P:
        raise ValueError(f"the Monte Carlo draws products of 1 to {MAX_M_P} mantissa bits, "
                         f"not {m_p}")
    fmt = FloatFormat(exp_bits, m_p)
    index_bits = fmt.width - 1
    mags = fmt.decode(np.arange(1 << index_bits, dtype=np.uint64))
    finite = np.isfinite(mags)
    v = mags[finite]                                    # increasing, v[0] = 0
    top = v[-1] + (v[-1] - v[-2]) / 2                    # beyond: rounds to Inf
    edges = np.concatenate([[0.0], (v[:-1] + v[1:]) / 2, [top]])
    tail = erfc(edges / math.sqrt(2))                    # P(|x| >= edge)
    p = np.zeros(mags.size)
    p[np.flatnonzero(finite)] = tail[:-1] - tail[1:]
    thresh, alias = _vose(p / p.sum())
    values = np.where(finite, mags, 0.0)
    return thresh, alias, values, index_bits


def _trial_states(seed: int, first: int, count: int) -> np.ndarray:
    """splitmix64 states of trials first .. first + count - 1."""
    t = np.arange(first, first + count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        key = np.uint64(seed) * np.uint64(0x100000001B3) + t * _GOLDEN
        return (key ^ (key >> _S30)) * _MIX1


def _streams(trials: int, longest: int, m_p: int, exp_bits: int, seed: int, first: int,
             taps, block: int):
    """Yields (values (steps, trials), exact (trials, len(taps)) so far) block by block;
    each block's values are overwritten by the next."""
    thresh, alias, values, index_bits = _tables(m_p, exp_bits)
    states = _trial_states(seed, first, trials)
    sums, comps = np.zeros(trials), np.zeros(trials)
    exact = np.full((trials, len(taps)), np.nan)
    taps = np.asarray(taps, dtype=np.int64)
    buffer = np.empty((min(block, longest), trials))  # reused: the caller consumes each block
    for k0 in range(0, longest, block):
        out = buffer[:min(block, longest - k0)]
        parallel.run(_draw, trials, states, thresh, alias, values, index_bits, k0, taps, out,
                     sums, comps, exact)
        yield out, exact


def sample_products(trials: int, n: int, m_p: int = 5, seed: int = 1, first: int = 0,
                    exp_bits: int = 8) -> np.ndarray:
    """The first ``n`` products of trials first .. first + trials - 1, ``(trials, n)``
    float64 values of ``FloatFormat(exp_bits, m_p)``: what :func:`vrr_samples` sums."""
    blocks = [v.copy() for v, _ in _streams(trials, n, m_p, exp_bits, seed, first, [n],
                                             1 << 12)]
    return np.concatenate(blocks).T.copy()


#: trials summed side by side, their inputs drawn in blocks of _BLOCK steps (4 MB: in cache)
_BATCH = 4096
_BLOCK = 1 << 7


def vrr_samples(lengths, m_acc: int, m_p: int = 5, chunk: int = 0, trials: int = 256,
                seed: int = 1, first: int = 0, exp_bits: int = 8, acc_exp: int | None = None):
    """Per trial and length, the computed and the exact sum: two ``(trials, len(lengths))``
    arrays, trials first .. first + trials - 1 (any batching gives the same trials).
    The accumulator has ``m_acc`` mantissa and ``acc_exp`` (default ``exp_bits``) exponent
    bits; ``lengths`` increase (all but the last multiples of ``chunk``: the last may end
    in a partial chunk)."""
    lengths = [int(n) for n in lengths]
    if not lengths or any(b <= a for a, b in zip(lengths, lengths[1:])) or lengths[0] < 1:
        raise ValueError("lengths must increase from 1 on")
    if chunk and any(n % chunk for n in lengths[:-1]):
        raise ValueError(f"lengths but the last must be multiples of the chunk ({chunk})")
    if trials < 1:
        raise ValueError("trials must be >= 1")
    in_fmt = FloatFormat(exp_bits, m_p)
    acc = FloatFormat(exp_bits if acc_exp is None else acc_exp, m_acc)
    computed = np.empty((trials, len(lengths)))
    exact = np.empty_like(computed)
    for lo in range(0, trials, _BATCH):
        count = min(_BATCH, trials - lo)
        regs = kernel.Registers(count, in_fmt, None, acc, chunk, "rne", False, 16, lengths[-1],
                                taps=lengths)
        block = max(_BLOCK, (1 << 19) // count)  # few trials: longer blocks
        for values, ex in _streams(count, lengths[-1], m_p, exp_bits, seed, first + lo,
                                   lengths, block):
            regs.feed(values)
        computed[lo:lo + count], exact[lo:lo + count] = regs.tapped, ex
    return computed, exact


def vrr_estimate(computed: np.ndarray, exact: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(VRR, standard error) per column of per-trial computed and exact sums (at least 2
    trials): VRR = sum(computed^2) / sum(exact^2), its error by the delta method."""
    if computed.shape[0] < 2:
        raise ValueError("trials must be >= 2")
    c2, e2 = computed ** 2, exact ** 2
    ratio = c2.mean(axis=0) / e2.mean(axis=0)
    stderr = (c2 - ratio * e2).std(axis=0, ddof=1) / e2.mean(axis=0) / np.sqrt(len(c2))
    return ratio, stderr


def measure_vrr(lengths, m_acc: int, m_p: int = 5, chunk: int = 0, trials: int = 256,
                seed: int = 1, exp_bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo (VRR, standard error) for each of the increasing ``lengths``
    (multiples of ``chunk``) over ``trials`` trials (module docstring)."""
    return vrr_estimate(*vrr_samples(lengths, m_acc, m_p, chunk, trials, seed,
                                     exp_bits=exp_bits))


@dataclass(frozen=True)
class Check:
    """The Monte Carlo check of an accumulator width: the model's ``model_m_acc``, the
    ``m_acc`` the check settled on, and per width tried (from the model's up) the trials,
    measured VRR and standard error."""

    model_m_acc: int
    m_acc: int
    tried: tuple[tuple[int, int, float, float], ...]   # (m_acc, trials, vrr, stderr)

    @property
    def raised(self) -> bool:
        return self.m_acc > self.model_m_acc


#: the check's trials: it starts with this many and doubles while undecided
CHECK_TRIALS = (256, 4096)
#: and runs at most about this many accumulation steps per width
CHECK_STEPS = 1 << 32


def check_m_acc(n: int, model_m_acc: int, m_p: int, chunk: int, cutoff: float,
                acc_exp: int, seed: int = 1) -> Check:
    """From the model's width up, measure VRR at length ``n`` (accumulator ``acc_exp``
    exponent bits): a width passes unless its measured VRR is below 1 - ``cutoff`` by more
    than three standard errors (trials doubling from ``CHECK_TRIALS[0]`` to
    ``CHECK_TRIALS[1]``, within ``CHECK_STEPS`` steps, while undecided); the first width
    that passes is the answer."""
    from fpforge.sim.vrr import MAX_M_ACC
    if chunk >= n:
        chunk = 0  # one chunk: plain accumulation
    most = max(CHECK_TRIALS[0], min(CHECK_TRIALS[1], CHECK_STEPS // n))
    tried = []
    for m_acc in range(model_m_acc, MAX_M_ACC + 1):
        trials, computed, exact = CHECK_TRIALS[0], None, None
        while True:
            c, e = vrr_samples([n], m_acc, m_p, chunk, trials - (0 if computed is None
                                                                     else len(computed)),
                               seed, first=0 if computed is None else len(computed),
                               acc_exp=acc_exp)
            computed = c if computed is None else np.concatenate([computed, c])
            exact = e if exact is None else np.concatenate([exact, e])
            ratio, err = (float(x[0]) for x in vrr_estimate(computed, exact))
            decided = abs(ratio - (1 - cutoff)) > 3 * err
            if decided or trials >= most:
                break
            trials = min(2 * trials, most)
        tried.append((m_acc, len(computed), ratio, err))
        if ratio + 3 * err >= 1 - cutoff:
            return Check(model_m_acc, m_acc, tuple(tried))
    raise ValueError(f"no accumulator up to {MAX_M_ACC} mantissa bits passes the Monte Carlo "
                     f"check at length {n}")
