"""The swamping model (``fpforge.sim.vrr``), the ``taps`` of the golden accumulator, and the
``fpforge vrr`` / ``fpforge recommend`` commands.

The model is checked against a plain-Python, loop-based evaluation of the formulas in the
module docstring of ``sim/vrr.py`` (``ref_plain`` / ``ref_vrr`` below), not against its own
output; the Monte Carlo side against the bit-exact accumulator and the stated tolerance.
"""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest

from fpforge.gen.cli import main
from fpforge.sim.accumulate import chunked, chunked_lanes
from fpforge.sim.formats import FloatFormat, parse
from fpforge.sim.vrr_measure import measure_vrr, sample_products
from fpforge.sim.vrr import (MAX_LENGTH, MAX_M_ACC, SLACK, VALID_FROM, agrees,
                             min_m_acc, variance_lost, vrr)


# ---- independent reference of the model (module docstring of sim/vrr.py) -----------------

def _q(x: float) -> float:
    """Q(x) = P(N(0,1) > x)."""
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def _alpha(m_acc: int, m_p: int, j: int) -> float:
    """alpha_j = 2^(m_acc - 3 m_p) / 3 * sum_{t=1}^{j-1} J (J-1) (2J-1), J = 2^t."""
    total = sum(J * (J - 1) * (2 * J - 1) for J in (2 ** t for t in range(1, j)))
    return 2.0 ** (m_acc - 3 * m_p) / 3 * total


@functools.lru_cache(maxsize=None)
def ref_plain(n: int, m_acc: int, m_p: int) -> float:
    alpha = _alpha(m_acc, m_p, m_p + 1)
    scale = 2.0 ** m_acc
    full = []  # (i, q_i) for 2 <= i < n, i > alpha
    for i in range(2, n):
        if i > alpha:
            full.append((i, 2 * _q(scale / math.sqrt(i)) * (1 - 2 * _q(scale / math.sqrt(i - 1)))))
    k1 = math.fsum(q for _, q in full)
    weighted = math.fsum((i - alpha) * q for i, q in full)
    k2 = partial = 0.0
    for j in range(2, m_p + 1):
        alpha_j = _alpha(m_acc, m_p, j)
        top = 2.0 ** (m_acc - m_p + j)
        q_j = top * 2 * _q(2.0 ** (m_acc - m_p + j - 1) / math.sqrt(n)) \
            * (1 - 2 * _q(top / math.sqrt(n)))
        if n > alpha_j:
            k2 += q_j
            partial += (n - alpha_j) * q_j
    k3 = 1 - 2 * _q(2.0 ** (m_acc - m_p + 1) / math.sqrt(n))
    return (weighted + partial + n * k3) / (n * (k1 + k2 + k3))


def ref_vrr(n: int, m_acc: int, m_p: int = 5, chunk: int = 0) -> float:
    """Plain, or chunk-based: ceil(n/C) chunks of C, chunk sums of min(m_acc, m_p +
    floor(log2 C)) bits; C >= n is plain accumulation."""
    if chunk == 0 or chunk >= n:
        return ref_plain(n, m_acc, m_p)
    chunk_bits = min(m_acc, m_p + chunk.bit_length() - 1)
    return ref_plain(chunk, m_acc, m_p) * ref_plain(-(-n // chunk), m_acc, chunk_bits)


# ---- the model -------------------------------------------------------------------------

@pytest.mark.parametrize("m_p", [3, 5])
@pytest.mark.parametrize("m_acc", [6, 8, 10, 12])
def test_vrr_matches_reference(m_acc, m_p):
    for n in (2, 3, 64, 1000, 4096, 50000):
        assert vrr(n, m_acc, m_p) == pytest.approx(ref_vrr(n, m_acc, m_p), rel=1e-9), n


def test_vrr_matches_reference_across_the_block_boundary():
    n = (1 << 20) + 3  # the implementation sums q_i in blocks of 2^20
    expected = ref_vrr(n, 11)
    assert vrr(n, 11) == pytest.approx(expected, rel=1e-9)
    assert expected < 0.99  # a length where full swamping counts


@pytest.mark.parametrize("n, m_acc, chunk", [(4096, 6, 64), (4096, 10, 64), (4100, 6, 64),
                                             (4100, 8, 64), (50000, 8, 64), (1000, 7, 48),
                                             (50000, 12, 16), (3000, 10, 24)])
def test_chunked_vrr_matches_reference(n, m_acc, chunk):
    assert vrr(n, m_acc, 5, chunk) == pytest.approx(ref_vrr(n, m_acc, 5, chunk), rel=1e-9)


@pytest.mark.parametrize("n", [50, 64])
def test_chunk_not_shorter_than_length_is_plain(n):
    """Module docstring: "C >= n is plain accumulation"."""
    for m_acc in (6, 8, 11):
        assert vrr(n, m_acc, 5, 64) == pytest.approx(ref_plain(n, m_acc, 5), rel=1e-9), m_acc


def test_vrr_broadcasts():
    ns = np.array([64, 1000, 4096, 3])
    ms = np.array([6, 8, 10])
    for chunk in (0, 64):
        grid = vrr(ns[:, None], ms[None, :], 5, chunk)
        assert grid.shape == (4, 3)
        for a, n in enumerate(ns):
            for b, m in enumerate(ms):
                assert grid[a, b] == pytest.approx(vrr(int(n), int(m), 5, chunk), rel=1e-12)
    assert isinstance(vrr(64, 8), float)
    assert vrr([4096, 64], 8).shape == (2,)
    lost = variance_lost(ns, 8)
    assert lost == pytest.approx(ns * (1 - vrr(ns, 8)), rel=1e-12)


def test_vrr_properties():
    ns = np.array([1, 2, 3, 10, 100, 1000, 10_000, 100_000])
    widths = np.arange(1, 21)
    for chunk in (0, 64):
        grid = vrr(ns[:, None], widths[None, :], 5, chunk)
        assert np.all(grid > 0) and np.all(grid <= 1 + 1e-12), chunk
    assert vrr(1 << 20, 30) == pytest.approx(1.0, abs=1e-9)
    # plain accumulation in 8 bits: 2^16 products swamp far more than 2^10
    assert vrr(1 << 16, 8) < vrr(1 << 10, 8) - 0.2
    assert vrr(1 << 18, 10, 5, 64) > vrr(1 << 18, 10, 5, 0) + 0.1


# ---- min_m_acc -------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _min_m(chunk: int, top_log2: int) -> tuple[np.ndarray, np.ndarray]:
    ns = 1 << np.arange(6, top_log2 + 1, 2)
    return ns, min_m_acc(ns, 5, chunk)


@pytest.mark.parametrize("chunk, cutoff", [(0, 1e-3), (0, 1e-2), (64, 1e-3), (64, 1e-4)])
def test_min_m_acc_is_the_knee(chunk, cutoff):
    for n in (64, 1000, 4096, 65536, 300_000):
        m = min_m_acc(n, 5, chunk, cutoff)
        assert isinstance(m, int) and 1 <= m <= MAX_M_ACC
        above = np.arange(m, min(m + 10, MAX_M_ACC) + 1)
        assert np.all(vrr(n, above, 5, chunk) >= 1 - cutoff), (n, m)
        if m > 1:
            assert vrr(n, m - 1, 5, chunk) < 1 - cutoff, (n, m)


def test_min_m_acc_grows_with_length():
    for chunk, top in ((0, 24), (64, 24)):
        ns, ms = _min_m(chunk, top)
        assert np.all(np.diff(ms) >= 0), (chunk, ms)
        assert ms[-1] > ms[0], (chunk, ms)


def test_chunking_never_needs_more_bits():
    ns, plain = _min_m(0, 24)
    chunked_m = _min_m(64, 24)[1]
    assert np.all(chunked_m <= plain)
    assert np.any(chunked_m < plain)


def test_larger_cutoff_never_needs_more_bits():
    ns = np.array([64, 1000, 4096, 65536])
    for chunk in (0, 64):
        needed = [min_m_acc(ns, 5, chunk, c) for c in (1e-5, 1e-4, 1e-3, 1e-2, 0.1)]
        for strict, loose in zip(needed, needed[1:]):
            assert np.all(loose <= strict), (chunk, needed)


def test_min_m_acc_vectorised_equals_scalar():
    ns = np.array([[64, 4096], [100_000, 3]])
    for m_p, chunk in ((5, 0), (7, 64)):
        grid = min_m_acc(ns, m_p, chunk)
        assert grid.shape == (2, 2)
        for idx in np.ndindex(ns.shape):
            assert grid[idx] == min_m_acc(int(ns[idx]), m_p, chunk)


@pytest.mark.parametrize("cutoff", [0, 1, -1, 1.5])
def test_min_m_acc_bad_cutoff(cutoff):
    with pytest.raises(ValueError):
        min_m_acc(4096, 5, 0, cutoff)


@pytest.mark.parametrize("kwargs", [
    dict(n=0, m_acc=8), dict(n=MAX_LENGTH + 1, m_acc=8), dict(n=2.5, m_acc=8),
    dict(n=64, m_acc=0), dict(n=64, m_acc=MAX_M_ACC + 1), dict(n=64, m_acc=8, m_p=0),
    dict(n=64, m_acc=8, chunk=1), dict(n=64, m_acc=8, chunk=-1),
    dict(n=[64, 0], m_acc=8), dict(n=64, m_acc=[8, 0]),
])
def test_vrr_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        vrr(**kwargs)


def test_min_m_acc_and_measure_bad_arguments():
    with pytest.raises(ValueError):
        min_m_acc(0)
    with pytest.raises(ValueError):
        min_m_acc(64, 5, 1)
    with pytest.raises(ValueError):
        measure_vrr([96, 128], 6, 5, 64, trials=4)  # a tap within a chunk
    for bad in (dict(trials=1), dict(lengths=[128, 64]), dict(m_p=16)):
        with pytest.raises(ValueError):
            measure_vrr(**{"lengths": [64, 128], "m_acc": 6, "m_p": 5, "trials": 4, **bad})
    # the last length may end in a partial chunk, like a stream does
    assert measure_vrr([64, 96], 6, 5, 64, trials=4)[0].shape == (2,)


# ---- taps of the golden accumulator ----------------------------------------------------

IN_FMT, ACC_FMT = parse("e5m3"), parse("e5m4")


def _codes(size: int, seed: int = 5) -> np.ndarray:
    return IN_FMT.encode(np.random.default_rng(seed).standard_normal(size))


def _prefixes(codes, lengths, t):
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.concatenate([codes[s:s + t] for s in starts])


@pytest.mark.parametrize("chunk", [0, 4])
@pytest.mark.parametrize("lengths", [[12, 12, 12], [12, 16, 13]])
def test_taps_equal_prefix_runs(chunk, lengths):
    codes = _codes(sum(lengths))
    taps = [4, 8, 12]
    got = chunked(codes, IN_FMT, ACC_FMT, chunk, lengths=lengths, taps=taps)
    assert got.shape == (len(lengths), len(taps))
    assert got.dtype == ACC_FMT.dtype
    for col, t in enumerate(taps):
        alone = chunked(_prefixes(codes, lengths, t), IN_FMT, ACC_FMT, chunk,
                        lengths=[t] * len(lengths))
        np.testing.assert_array_equal(got[:, col], alone)
    # the full results are untouched by taps
    np.testing.assert_array_equal(
        chunked(codes, IN_FMT, ACC_FMT, chunk, lengths=lengths)[:len(lengths)],
        chunked(codes, IN_FMT, ACC_FMT, chunk, lengths=lengths))


def test_taps_rounding_matters():
    """The narrow accumulator really rounds: chunking changes some tapped results."""
    lengths = [16] * 8
    codes = _codes(sum(lengths), seed=9)
    plain = chunked(codes, IN_FMT, ACC_FMT, 0, lengths=lengths, taps=[8, 16])
    chunk4 = chunked(codes, IN_FMT, ACC_FMT, 4, lengths=lengths, taps=[8, 16])
    assert np.any(plain != chunk4)


@pytest.mark.parametrize("chunk", [0, 4])
def test_taps_sr_equal_prefix_runs(chunk):
    codes = _codes(24, seed=11)
    taps = [4, 12, 24]
    got = chunked(codes, IN_FMT, ACC_FMT, chunk, "sr", seed=7, taps=taps, rand_bits=8)
    assert got.shape == (1, 3)
    for col, t in enumerate(taps):
        alone = chunked(codes[:t], IN_FMT, ACC_FMT, chunk, "sr", seed=7, rand_bits=8)
        np.testing.assert_array_equal(got[0, col], alone[0])


def test_taps_lanes():
    lengths = [8, 12]
    x = np.stack([_codes(20, seed=s) for s in (1, 2)])
    got = chunked_lanes(x, IN_FMT, ACC_FMT, 4, lengths=lengths, taps=[4, 8])
    assert got.shape == (2, 2, 2)
    for lane in range(2):
        np.testing.assert_array_equal(
            got[lane], chunked(x[lane], IN_FMT, ACC_FMT, 4, lengths=lengths, taps=[4, 8]))


@pytest.mark.parametrize("chunk, taps", [
    (0, [8, 4]), (0, [4, 4]), (0, [0, 4]), (0, []), (0, [4, 13]), (4, [4, 13]),
    (4, [6]), (4, [4, 10]),
])
def test_bad_taps(chunk, taps):
    lengths = [12, 16]  # shortest 12
    with pytest.raises(ValueError):
        chunked(_codes(28), IN_FMT, ACC_FMT, chunk, lengths=lengths, taps=taps)


# ---- Monte Carlo -----------------------------------------------------------------------

def test_measure_vrr_two_stages_equal_direct_chunking():
    trials, n, m_acc, m_p, seed = 16, 1024, 6, 5, 3
    in_fmt, acc_fmt = FloatFormat(8, m_p), FloatFormat(8, m_acc)
    codes = in_fmt.encode(sample_products(trials, n, m_p, seed))
    exact = in_fmt.decode(codes).sum(axis=1)
    for chunk in (64, 0):
        sums = chunked(codes.ravel(), in_fmt, acc_fmt, chunk=chunk, lengths=[n] * trials)
        computed = acc_fmt.decode(sums)
        expected = (computed ** 2).sum() / (exact ** 2).sum()
        measured, stderr = measure_vrr([256, n], m_acc, m_p, chunk, trials=trials, seed=seed)
        assert measured.shape == stderr.shape == (2,)
        assert measured[-1] == pytest.approx(expected, rel=1e-12), chunk
        ratios = computed ** 2 / exact ** 2  # trial by trial: the error's scale
        assert 0 < stderr[-1] < ratios.std() / np.sqrt(trials) * 5
        assert expected != pytest.approx(1.0, abs=1e-6)  # swamping is measured


def test_sampled_products_are_rounded_gaussians():
    """The Monte Carlo's products: values of the product format, mean 0 and variance 1
    within their standard errors, each value's frequency as N(0, 1) gives it (computed
    here from math.erf at the rounding midpoints), independent of the batching of trials."""
    fmt = FloatFormat(8, 3)
    x = sample_products(64, 4096, 3, seed=5)
    assert np.array_equal(fmt.decode(fmt.encode(x)), x)
    n = x.size
    assert abs(x.mean()) < 4 / math.sqrt(n) and abs(x.var() - 1) < 4 * math.sqrt(2 / n)
    values, counts = np.unique(np.abs(x), return_counts=True)
    grid = fmt.decode(np.arange(1 << (fmt.width - 1), dtype=np.uint64))
    grid = grid[np.isfinite(grid)]
    for v, c in zip(values, counts):
        k = int(np.searchsorted(grid, v))
        lo = 0.0 if k == 0 else (grid[k - 1] + grid[k]) / 2
        hi = (grid[k] + grid[k + 1]) / 2
        p = math.erf(hi / math.sqrt(2)) - math.erf(lo / math.sqrt(2))
        if n * p > 50:
            assert abs(c - n * p) < 5 * math.sqrt(n * p), (v, c, n * p)
    assert np.array_equal(sample_products(8, 100, 3, seed=5, first=10),
                          sample_products(20, 100, 3, seed=5)[10:18])
    assert not np.array_equal(sample_products(8, 100, 3, seed=6), x[:8, :100])


@functools.lru_cache(maxsize=None)
def _measured(m_acc: int, chunk: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lengths = 1 << np.arange(6, 13)
    return (lengths,) + measure_vrr(lengths, m_acc, 5, chunk, trials=256, seed=1)


@pytest.mark.parametrize("chunk", [0, 64])
@pytest.mark.parametrize("m_acc", [6, 7, 8])
def test_monte_carlo_within_stated_tolerance(m_acc, chunk):
    """Where the model claims validity, the bit-exact accumulator agrees with it."""
    lengths, measured, stderr = _measured(m_acc, chunk)
    valid = vrr(lengths, m_acc, 5, chunk) >= VALID_FROM
    assert valid.sum() >= 4
    for n, meas, err in zip(lengths[valid], measured[valid], stderr[valid]):
        assert agrees(meas, err, int(n), m_acc, 5, chunk), (n, meas, err)


def test_agrees_is_the_stated_band():
    n, m_acc = 4096, 7  # model: 0.9217 at m_acc 7, 0.9995 at m_acc 9
    low, high = vrr(n, m_acc), vrr(n, m_acc + 2)
    assert agrees(low - SLACK + 1e-9, 0.0, n, m_acc)
    assert not agrees(low - SLACK - 1e-6, 0.0, n, m_acc)
    assert agrees(high + SLACK + 0.03 - 1e-9, 0.01, n, m_acc)  # three standard errors
    assert not agrees(high + SLACK + 0.03 + 1e-6, 0.01, n, m_acc)


def test_standard_error_matches_a_bootstrap():
    trials, n, m_acc, seed = 200, 4096, 4, 2
    in_fmt, acc_fmt = FloatFormat(8, 5), FloatFormat(8, m_acc)
    codes = in_fmt.encode(sample_products(trials, n, 5, seed))
    computed = acc_fmt.decode(chunked(codes.ravel(), in_fmt, acc_fmt, lengths=[n] * trials))
    exact = in_fmt.decode(codes).sum(axis=1)
    picks = np.random.default_rng(0).integers(0, trials, (4000, trials))
    boot = (computed[picks] ** 2).sum(axis=1) / (exact[picks] ** 2).sum(axis=1)
    ratio, stderr = measure_vrr([n], m_acc, 5, 0, trials=trials, seed=seed)
    assert ratio[0] < 0.8  # swamping: the error is not just rounding noise
    assert 0.8 < stderr[0] / boot.std() < 1.25


def test_monte_carlo_shows_swamping():
    """A 4-bit accumulator loses about half the variance of 4096 products, and chunks of 64
    keep nearly all of it (either result is more than 5 standard errors from the other)."""
    lengths = [1024, 4096]
    plain, plain_err = measure_vrr(lengths, 4, 5, 0, trials=256, seed=1)
    chunk, chunk_err = measure_vrr(lengths, 4, 5, 64, trials=256, seed=1)
    assert plain[-1] < 0.7 and chunk[-1] > 0.9
    assert chunk[-1] - plain[-1] > 5 * (plain_err[-1] + chunk_err[-1])


# ---- the commands ----------------------------------------------------------------------

def test_cli_vrr(capsys):
    assert main(["vrr", "--length", "4096", "--m-acc", "7", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["vrr"] == vrr(4096, 7)
    assert out["variance_lost"] == pytest.approx(4096 * (1 - out["vrr"]), rel=1e-12)
    assert (out["length"], out["m_acc"], out["m_p"], out["chunk"]) == (4096, 7, 5, 0)
    assert main(["vrr", "--length", "4096", "--m-acc", "7", "--m-p", "3", "--chunk", "64",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["vrr"] == vrr(4096, 7, 3, 64)
    assert main(["vrr", "--length", "4096", "--m-acc", "7"]) == 0
    assert "VRR" in capsys.readouterr().out


def test_cli_recommend_no_area(capsys):
    n = 802816
    assert main(["recommend", "--length", str(n), "--chunk", "64", "--no-area", "--no-check",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    m = min_m_acc(n, 5, 64)
    assert out["m_acc"] == m and out["m_p"] == 5
    assert out["accumulator"] == f"e6m{m}"
    assert out["mac_area"] is None and out["check"] is None and "--no-check" in out["source"]
    assert out["variance_lost"] <= 1e-3 * n
    # --operand sets the default m_p: fp8_e4m3 x fp8_e4m3 has 2*3 + 1 = 7
    assert main(["recommend", "--length", "4096", "--operand", "fp8_e4m3", "--acc-exp", "8",
                 "--no-area", "--no-check", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["m_p"] == 7
    assert out["m_acc"] == min_m_acc(4096, 7, 0)
    assert out["accumulator"] == f"e8m{out['m_acc']}"
    assert main(["recommend", "--length", "4096", "--cutoff", "0.01", "--no-area",
                 "--no-check"]) == 0
    assert f"m_acc = {min_m_acc(4096, 5, 0, 0.01)}" in capsys.readouterr().out


def test_cli_recommend_with_area(capsys):
    assert main(["recommend", "--length", "4096", "--no-check", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["m_acc"] == min_m_acc(4096, 5)
    area = out["mac_area"]
    for key in ("transistors", "cells", "depth"):
        assert isinstance(area[key], int) and area[key] > 0, key
    assert isinstance(area["module"], str) and area["module"]


def test_check_raises_an_under_provisioned_width():
    """Started at 4 bits for 4096 plain products (the model asks for 9), the check measures
    each width (VRR far below 0.999 at 4 bits: decided by the first 256 trials) and
    settles on the first that is not below the cutoff by more than 3 standard errors."""
    from fpforge.sim.vrr_measure import check_m_acc
    model = min_m_acc(4096, 5, 0)
    check = check_m_acc(4096, 4, 5, 0, 1e-3, 8)
    assert check.raised and 4 < check.m_acc <= model
    for m, trials, ratio, err in check.tried[:-1]:
        assert ratio + 3 * err < 0.999, (m, ratio, err)
    m, trials, ratio, err = check.tried[-1]
    assert m == check.m_acc and ratio + 3 * err >= 0.999
    assert check.tried[0][:2] == (4, 256) and check.tried[0][2] < 0.9


def test_cli_recommend_says_when_the_check_raised(capsys, monkeypatch):
    """A model that under-provisions (here a patched min_m_acc answering 4 bits for 4096
    products in chunks of 32, a size the stored measurement does not cover): recommend
    answers from its own check, and its output says so and shows the measurement."""
    from fpforge.sim import vrr as model_module
    monkeypatch.setattr(model_module, "min_m_acc", lambda *a, **k: 4)
    argv = ["recommend", "--length", "4096", "--chunk", "32", "--no-area", "--acc-exp", "8"]
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model_m_acc"] == 4 and out["m_acc"] > 4 and out["measured"] is None
    assert out["source"] == "model, raised by the Monte Carlo check"
    assert out["check"][0]["vrr"] + 3 * out["check"][0]["stderr"] < 0.999
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "raised by the Monte Carlo check" in text and "below the cutoff" in text


def test_cli_recommend_check_confirms(capsys):
    """Where the own check agrees (4096 products, chunks of 32) the model's width stays,
    and the text says where the answer came from and what was measured."""
    assert main(["recommend", "--length", "4096", "--chunk", "32", "--no-area"]) == 0
    text = capsys.readouterr().out
    m = min_m_acc(4096, 5, 32)
    assert f"m_acc = {m} from the model, confirmed by the Monte Carlo check" in text
    assert "Monte Carlo check: measured VRR" in text and "trials" in text
    # products wider than the sampler's tables: the model alone, and it says so
    assert main(["recommend", "--length", "4096", "--operand", "fp16", "--no-area"]) == 0
    assert "no Monte Carlo check for products wider than 15 bits" in capsys.readouterr().out


def _table(points, m_p=5):
    return {"m_p": m_p, "points": [list(p) for p in points]}


def test_measured_width_is_the_fewest_with_every_wider_passing():
    """From a table of (chunk, n, m_acc, trials, vrr, stderr): at the shortest measured
    length >= n, the fewest width that and every wider one are measured at the cutoff or
    above (a lucky narrow width below a failing one does not count, nor a width measured
    below the cutoff within its standard error); None where the table does not cover the
    question."""
    from fpforge.sim.vrr_measured import measured_m_acc
    table = _table([(0, 1024, 8, 1000, 0.9999, 0.0001),   # passes, but 9 fails above it
                    (0, 1024, 9, 1000, 0.9980, 0.0002),
                    (0, 1024, 10, 1000, 0.9989, 0.0004),  # below, if within 3 s.e.
                    (0, 1024, 11, 1000, 1.0000, 0.0001),
                    (0, 4096, 11, 1000, 0.9950, 0.0001),
                    (0, 4096, 12, 1000, 0.9995, 0.0001),
                    (64, 1024, 7, 1000, 0.9999, 0.0001)])
    got = measured_m_acc(1000, 5, 0, 1e-3, 6, table)
    assert (got.m_acc, got.n) == (11, 1024) and [r[0] for r in got.rows] == [8, 9, 10, 11]
    assert measured_m_acc(2048, 5, 0, 1e-3, 8, table).m_acc == 12  # the next length up
    assert measured_m_acc(1024, 5, 64, 1e-3, 6, table).m_acc == 7
    assert measured_m_acc(1024, 5, 2048, 1e-3, 6, table).m_acc == 11  # one chunk: plain
    for args in [(8192, 5, 0), (1024, 7, 0), (1024, 5, 32)]:  # longer; other m_p; chunk
        assert measured_m_acc(*args, 1e-3, 6, table) is None
    assert measured_m_acc(1024, 5, 0, 1e-3, 5, table) is None  # fewer exponent bits
    failing = _table([(0, 1024, 8, 1000, 0.99, 0.0001)])
    assert measured_m_acc(1024, 5, 0, 1e-3, 6, failing) is None


def test_cli_recommend_answers_from_the_stored_measurement(capsys, monkeypatch):
    """n = 2^20 in chunks of 64 is measured (scripts/vrr_montecarlo.py): recommend takes the
    wider of the model's width and the measured one, read here from the package's table
    directly, and raises an under-provisioning model to it."""
    from fpforge.sim import vrr as model_module
    from fpforge.sim.vrr_measured import load_table
    n = 1 << 20
    rows = sorted((p[2], p[4], p[5]) for p in load_table()["points"]
                  if p[0] == 64 and p[1] == n)
    fewest = None
    for m, vrr, _ in reversed(rows):
        if vrr < 0.999:
            break
        fewest = m
    assert fewest is not None
    assert main(["recommend", "--length", str(n), "--chunk", "64", "--no-area", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["m_acc"] == max(min_m_acc(n, 5, 64), fewest) and out["check"] is None
    assert "stored Monte Carlo measurement" in out["source"]
    assert out["measured"]["m_acc"] == fewest and out["measured"]["n"] == n
    monkeypatch.setattr(model_module, "min_m_acc", lambda *a, **k: 4)
    assert main(["recommend", "--length", str(n), "--chunk", "64", "--no-area"]) == 0
    text = capsys.readouterr().out
    assert f"m_acc = {fewest} from the model, raised to the stored Monte Carlo" in text
    assert "stored Monte Carlo measurement at n = 1,048,576" in text


@pytest.mark.parametrize("argv", [
    ["vrr", "--length", "0", "--m-acc", "7"],
    ["vrr", "--length", "4096", "--m-acc", "0"],
    ["vrr", "--length", "4096", "--m-acc", "7", "--chunk", "1"],
    ["vrr", "--length", "4096"],
    ["vrr", "--length", str(MAX_LENGTH + 1), "--m-acc", "7"],
    ["recommend", "--length", "0", "--no-area"],
    ["recommend", "--length", "4096", "--chunk", "1", "--no-area"],
    ["recommend", "--length", "4096", "--cutoff", "0", "--no-area"],
    ["recommend", "--length", "4096", "--cutoff", "1.5", "--no-area"],
    ["recommend", "--length", "4096", "--operand", "bogus", "--no-area"],
    ["recommend", "--length", "4096", "--acc-exp", "12", "--no-area"],
    ["recommend", "--length", "4096", "--m-p", "7"],  # the default operand's product has 5
    ["recommend", "--length", "4096", "--m-p", "7", "--operand", "fp8_e5m2", "--no-area"],
])
def test_cli_bad_input(argv, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), captured.err
    assert captured.out == ""
