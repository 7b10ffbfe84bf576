"""The golden GEMM of the systolic array (``fpforge.sim.gemm``) against the independent
sequential accumulation reference of ``test_accumulate.py``.

PE (i, j) of an R x C array is one chunk-based accumulator of exact products: over the
tiles back to back it sums A[i, k] * B[k, j], k = 0..K_t-1, one stream per tile.  So the
expected code of C_t[i, j] is ``reference_chunked`` (Python ints / Fractions, one input at
a time, written from the README's chunk semantics) run on row i of A and column j of B, all tiles
concatenated, with the tile lengths as stream lengths.  Its ``sr`` draws come from the
seed rule of the module docstring, written out here with ``instance_seed``: one stream
``instance_seed(seed, p)``, ``p = i * cols + j``, drawn by products and folds in turn (a
fold right after its chunk's last product); the draws run on across tiles.  Nothing
expected is computed by the code under test.

Also: the three input forms (2-D tile, 3-D stack, list) and tile independence (rne) or
dependence (sr); the PE seeds; ``error_report`` against hand-computed errors; that chunking
shrinks the error of a long K (fp8 -> fp16); argument errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fpforge.sim.formats import parse
from fpforge.sim.gemm import (ArrayConfig, ErrorReport, error_report, gaussian_error,
                               matmul, systolic, tiles)
from fpforge.sim.prng import instance_seed
from fpforge.tb.vectors import corner_codes, random_codes

from reference import assert_codes_equal, ref_value
from test_accumulate import reference_chunked

# ==== stimulus and the per-PE reference ==================================================

# id -> (a_fmt, b_fmt, acc_fmt, sr seed, sr random bits)
FORMATS = {
    "e4m3*e4m3->fp16": ("fp8_e4m3", "fp8_e4m3", "fp16", 1, 16),
    "e5m2*e4m3->fp32": ("fp8_e5m2", "fp8_e4m3", "fp32", 0xFFFFFFF0, 16),  # seeds wrap 2**32
    "e5m2*e4m3->bf16": ("fp8_e5m2", "fp8_e4m3", "bf16", 12345, 5),
    "hfp8*hfp8->dlfloat16": ("hfp8", "hfp8", "dlfloat16", 777, 24),
}
SHAPES = [(1, 1), (2, 3), (3, 2)]
CHUNKS = [0, 1, 3, 16]
MODES = ["rne", "rtz", "rdn", "sr"]
# tile lengths: 1, chunk-sized (3, 16), chunk + 1 (4, 17), beyond (7, 20)
KS = [1, 7, 3, 20, 1, 16, 4, 17]
HOT = 3  # the K = 20 tile has large operands

E4 = parse("fp8_e4m3")
F16 = parse("fp16")


def _e4(values):
    """e4m3 codes of values that it holds exactly."""
    v = np.asarray(values, dtype=np.float64)
    codes = E4.encode(v).astype(np.uint64)
    assert np.array_equal(E4.decode(codes), v)
    return codes


def _operand(fmt, shape, rng, scale, odd):
    """N(0, 1) * scale rounded to ``fmt``; a fraction ``odd`` of the codes replaced, half
    by corner codes (zeros, subnormals, max, Inf, NaN), half by random codes."""
    codes = fmt.encode(rng.standard_normal(shape) * scale).astype(np.uint64)
    pick = rng.random(shape)
    corners = corner_codes(fmt)
    codes = np.where(pick < odd / 2, corners[rng.integers(0, corners.size, shape)], codes)
    rand = random_codes(fmt, codes.size, rng).reshape(shape)
    return np.where((pick >= odd / 2) & (pick < odd), rand, codes).astype(np.uint64)


def make_tiles(a_fmt, b_fmt, rows, cols, ks, seed, odd=0.03, exps=(-6, 5), hot=None):
    """Lists of A tiles (rows, K_t) and B tiles (K_t, cols), a random power-of-two scale
    per tile and operand (some tiles reach the accumulator's subnormals); tile ``hot`` is
    scaled to half the largest power of two of each format instead (e4m3 -> fp16
    overflows there)."""
    rng = np.random.default_rng(seed)
    a_fmt, b_fmt = parse(a_fmt), parse(b_fmt)
    A, B = [], []
    for t, k in enumerate(ks):
        sa, sb = 2.0 ** rng.integers(*exps, size=2)
        if t == hot:
            sa, sb = (2.0 ** (math.floor(math.log2(f.max)) - 1) for f in (a_fmt, b_fmt))
        A.append(_operand(a_fmt, (rows, k), rng, sa, odd))
        B.append(_operand(b_fmt, (k, cols), rng, sb, odd))
    return A, B


def expected(A, B, rows, cols, a_fmt, b_fmt, acc, chunk, mode, saturate=False, seed=1,
             rand_bits=16, definitional=False):
    """(T, rows, cols) codes: PE (i, j) = the sequential reference over row i of A and
    column j of B, tiles concatenated as its streams, seeds by the rule."""
    A, B = list(A), list(B)
    ks = [a.shape[1] for a in A]
    out = np.zeros((len(ks), rows, cols), dtype=np.uint64)
    for i in range(rows):
        for j in range(cols):
            p = i * cols + j
            a_row = np.concatenate([a[i, :] for a in A])
            b_col = np.concatenate([b[:, j] for b in B])
            out[:, i, j] = reference_chunked(
                (a_row, b_col), None, acc, chunk, mode, saturate, lengths=ks, a_fmt=a_fmt,
                b_fmt=b_fmt, pe_seed=instance_seed(seed, p), rand_bits=rand_bits,
                definitional=definitional)
    return out


def _case_seed(*parts):
    return sum(10 ** n * x for n, x in enumerate(parts)) + 1


# ==== golden vs reference ================================================================

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize("fmts", list(FORMATS))
def test_systolic_matches_reference(fmts, chunk, mode):
    """Every shape (1x1, 2x3, 3x2), 8 back-to-back tiles of different K (one of large
    values), 3 % odd codes; sr with the format's seed and random bits."""
    a_fmt, b_fmt, acc, seed, bits = FORMATS[fmts]
    acc_f = parse(acc)
    for rows, cols in SHAPES:
        case = _case_seed(SHAPES.index((rows, cols)), MODES.index(mode),
                          CHUNKS.index(chunk), list(FORMATS).index(fmts))
        A, B = make_tiles(a_fmt, b_fmt, rows, cols, KS, case, hot=HOT)
        cfg = ArrayConfig(rows, cols, a_fmt, b_fmt, acc, chunk=chunk, rounding=mode,
                          seed=seed, rand_bits=bits)
        got = systolic(A, B, cfg)
        assert got.shape == (len(KS), rows, cols) and got.dtype == acc_f.dtype
        want = expected(A, B, rows, cols, a_fmt, b_fmt, acc, chunk, mode, seed=seed,
                        rand_bits=bits)
        assert_codes_equal(got, want, acc_f, f"{fmts} {rows}x{cols} chunk={chunk} {mode}")


def test_stimulus_reaches_specials():
    """The stimulus of the test above is meaningful: over each format's cases the results
    include NaN and zero codes and mostly ordinary values, and for fp16 Inf (overflow) and
    subnormals (checked on the reference's rne, chunk 0 results)."""
    for n, (a_fmt, b_fmt, acc, _, _) in enumerate(FORMATS.values()):
        acc_f = parse(acc)
        seen = []
        for rows, cols in SHAPES:
            for m in range(len(MODES)):
                for c in range(len(CHUNKS)):
                    A, B = make_tiles(a_fmt, b_fmt, rows, cols, KS,
                                      _case_seed(SHAPES.index((rows, cols)), m, c, n),
                                      hot=HOT)
                    seen.append(expected(A, B, rows, cols, a_fmt, b_fmt, acc, 0, "rne")
                                .ravel())
        values = np.array([float(ref_value(acc_f, int(v))) for v in np.concatenate(seen)])
        assert np.isnan(values).sum() >= 3, acc
        assert (values == 0).sum() >= 1, acc
        finite = values[np.isfinite(values) & (values != 0)]
        assert finite.size > 0.8 * values.size
        if acc == "fp16":  # the only accumulator whose ends fp8 products reach
            assert np.isinf(values).sum() >= 3
            assert (np.abs(finite) < 2.0 ** acc_f.emin).sum() >= 3


@pytest.mark.parametrize("chunk", [0, 2])
def test_definitional_and_saturate(chunk):
    """A 2x2 array, tiles K = 3, 5, 1, some large operands (overflow of fp16, both signs),
    saturate=True, against the reference with the definitional Fraction roundings (all
    deterministic modes) and its Fraction sr; saturation changes the rne result (+-max
    instead of +-Inf)."""
    a_fmt, b_fmt, acc = "fp8_e4m3", "fp8_e4m3", "fp16"
    A, B = make_tiles(a_fmt, b_fmt, 2, 2, [3, 5, 1], seed=31 + chunk, odd=0.1, exps=(-4, 7))
    A[1][0, :], A[1][1, :] = _e4([448]), _e4([-448])   # PE (0, 0): 5 * 448 * 256 overflows,
    B[1][:, 0] = _e4([256])                            # PE (1, 0) to the negative side
    acc_f = parse(acc)
    for mode in ("rne", "rtz", "rdn", "rup", "rna", "sr"):
        cfg = ArrayConfig(2, 2, a_fmt, b_fmt, acc, chunk=chunk, rounding=mode, seed=9,
                          saturate=True)
        got = systolic(A, B, cfg)
        want = expected(A, B, 2, 2, a_fmt, b_fmt, acc, chunk, mode, saturate=True, seed=9,
                        definitional=mode != "sr")
        assert_codes_equal(got, want, acc_f, f"saturate chunk={chunk} {mode}")
        if mode == "rne":
            plain = systolic(A, B, ArrayConfig(2, 2, a_fmt, b_fmt, acc, chunk=chunk))
            assert got[1, 0, 0] == acc_f.max_code and plain[1, 0, 0] == 0x7C00
            assert got[1, 1, 0] == acc_f.max_code | acc_f.sign_bit and plain[1, 1, 0] == 0xFC00
            assert_codes_equal(plain, expected(A, B, 2, 2, a_fmt, b_fmt, acc, chunk, "rne",
                                               definitional=True), acc_f, "no saturate")


# ==== input forms and tile (in)dependence ================================================

def test_input_forms():
    """A 2-D tile gives (rows, cols); a 3-D stack (T, rows, K) gives (T, rows, cols), equal
    to the list of the same tiles; each agrees with the reference."""
    fmts = ("fp8_e5m2", "fp8_e4m3", "fp16")
    A, B = make_tiles(*fmts[:2], 3, 2, [9, 9, 9], seed=5)
    for mode in ("rne", "sr"):
        cfg = ArrayConfig(3, 2, *fmts, chunk=4, rounding=mode, seed=3)
        one = systolic(A[0], B[0], cfg)
        assert one.shape == (3, 2)
        assert_codes_equal(one, expected(A[:1], B[:1], 3, 2, *fmts, 4, mode, seed=3)[0], F16,
                           f"2-D tile {mode}")
        stack = systolic(np.stack(A), np.stack(B), cfg)
        assert stack.shape == (3, 3, 2)
        as_list = systolic(A, B, cfg)
        assert np.array_equal(stack, as_list)
        assert np.array_equal(systolic(tuple(A), tuple(B), cfg), as_list)
        assert_codes_equal(stack, expected(A, B, 3, 2, *fmts, 4, mode, seed=3), F16,
                           f"3-D stack {mode}")
        # a one-tile stack / list keeps the tile axis
        assert systolic(np.stack(A[:1]), np.stack(B[:1]), cfg).shape == (1, 3, 2)
        assert np.array_equal(systolic([A[0]], [B[0]], cfg)[0], one)
    # Python lists of ints are codes too
    cfg = ArrayConfig(3, 2, *fmts, chunk=4)
    assert np.array_equal(systolic([A[0].tolist()], [B[0].tolist()], cfg)[0],
                          systolic(A[0], B[0], cfg))


def test_tiles_independent_in_rne_not_in_sr():
    """rne: a tile's result does not depend on the tiles before it (registers start at +0).
    sr: it does, since every PE's PRNG runs on; the second tile's result is the
    reference with the draw streams continued after the first tile, and differs from the
    restarted streams (= the tile alone)."""
    fmts = ("fp8_e4m3", "fp8_e4m3", "fp16")
    (A0, A1, A2), (B0, B1, B2) = make_tiles(*fmts[:2], 2, 3, [40, 30, 50], seed=8, odd=0,
                                            exps=(0, 1))
    for chunk in (0, 8):
        rne = ArrayConfig(2, 3, *fmts, chunk=chunk, rounding="rne")
        alone = systolic(A2, B2, rne)
        assert np.array_equal(systolic([A0, A2], [B0, B2], rne)[1], alone)
        assert np.array_equal(systolic([A1, A0, A2], [B1, B0, B2], rne)[2], alone)

        sr = ArrayConfig(2, 3, *fmts, chunk=chunk, rounding="sr", seed=21)
        alone = systolic(A2, B2, sr)
        after = systolic([A0, A2], [B0, B2], sr)
        assert_codes_equal(after, expected([A0, A2], [B0, B2], 2, 3, *fmts, chunk, "sr",
                                           seed=21), F16, f"sr continued chunk={chunk}")
        assert_codes_equal(alone, expected([A2], [B2], 2, 3, *fmts, chunk, "sr", seed=21)[0],
                           F16, f"sr alone chunk={chunk}")
        assert not np.array_equal(after[1], alone)
        # the first tile itself does not see what follows
        assert np.array_equal(after[0], systolic(A0, B0, sr))
        assert not np.array_equal(systolic([A1, A2], [B1, B2], sr)[1], after[1])


# ==== PE seeds ===========================================================================

def test_pe_seeds_follow_the_rule():
    """pe_seed(i, j) = instance_seed(seed, i*cols + j); on an 8x8 array all 64 seeds are
    distinct; non-square: the flat index runs along a row (cols), not a column."""
    for seed in (1, 99, 0xFFFFFFFF):
        cfg = ArrayConfig(8, 8, "fp8_e4m3", "fp8_e4m3", "fp16", seed=seed)
        got = [cfg.pe_seed(i, j) for i in range(8) for j in range(8)]
        assert got == [instance_seed(seed, p) for p in range(64)]
        assert len(set(got)) == 64
    cfg = ArrayConfig(3, 5, "fp8_e4m3", "fp8_e4m3", "fp16", seed=4)
    assert cfg.pe_seed(1, 0) == instance_seed(4, 5)
    assert cfg.pe_seed(2, 4) == instance_seed(4, 14)
    assert cfg.pe_seed(0, 0) == 4


def test_seed_changes_sr_results_only():
    """Two seeds give different sr results, each equal to the reference with its own
    seeds; rne does not depend on the seed."""
    fmts = ("fp8_e4m3", "fp8_e4m3", "fp16")
    A, B = make_tiles(*fmts[:2], 2, 2, [60, 25], seed=12, odd=0, exps=(0, 1))
    res = {}
    for seed in (1, 2):
        cfg = ArrayConfig(2, 2, *fmts, chunk=8, rounding="sr", seed=seed)
        res[seed] = systolic(A, B, cfg)
        assert_codes_equal(res[seed], expected(A, B, 2, 2, *fmts, 8, "sr", seed=seed), F16,
                           f"sr seed={seed}")
    assert not np.array_equal(res[1], res[2])
    rne = [systolic(A, B, ArrayConfig(2, 2, *fmts, chunk=8, seed=s)) for s in (1, 2)]
    assert np.array_equal(*rne)


# ==== error_report =======================================================================

def test_error_report_exact():
    """Small integers: every product and partial sum is exact in fp16, so the array gives
    A @ B exactly and every error is zero (two tiles of different K)."""
    rng = np.random.default_rng(3)
    A = [_e4(rng.integers(-6, 7, (3, k))) for k in (5, 11)]
    B = [_e4(rng.integers(-6, 7, (k, 4))) for k in (5, 11)]
    for chunk in (0, 3):
        cfg = ArrayConfig(3, 4, E4, E4, F16, chunk=chunk)
        codes = systolic(A, B, cfg)
        for t in range(2):
            assert np.array_equal(F16.decode(codes[t]), E4.decode(A[t]) @ E4.decode(B[t]))
        rep = error_report(A, B, codes, cfg)
        assert rep == ErrorReport(0.0, 0.0, 0.0, 0)


def test_error_report_by_hand():
    """A 2x1 array, two tiles, rne, fp16 accumulator.
    Tile 0 (K=3): row 0 products 1024, 0.25, 0.25: each 0.25 is below half an ulp (1) of
    1024, so the sum stays 1024 (exact 1024.5, error 0.5); row 1 products 1, 2, 4 = 7 exact.
    Tile 1 (K=2): row 0 0.5 + 0.25 = 0.75 and row 1 -2 + 2 = 0, both exact.
    So max 0.5, mean 0.5 / 4, rel_fro 0.5 / ||(1024.5, 7, 0.75, 0)||.  Per tile: one GEMM
    over both tiles would be different."""
    A = [_e4([[32, 0.5, 0.5], [1 / 32, 4, 8]]), _e4([[0.5, 0.25], [-2, 2]])]
    B = [_e4([[32], [0.5], [0.5]]), _e4([[1], [1]])]
    cfg = ArrayConfig(2, 1, E4, E4, F16)
    codes = systolic(A, B, cfg)
    assert F16.decode(codes).tolist() == [[[1024.0], [7.0]], [[0.75], [0.0]]]
    rep = error_report(A, B, codes, cfg)
    assert rep.max_abs == 0.5
    assert rep.mean_abs == 0.125
    assert rep.rel_fro == pytest.approx(0.5 / math.sqrt(1024.5 ** 2 + 49 + 0.75 ** 2), rel=1e-12)
    assert rep.nonfinite == 0
    assert rep.as_dict() == {"max_abs": 0.5, "mean_abs": 0.125, "rel_fro": rep.rel_fro,
                             "nonfinite": 0}
    # rup: 1024 + 0.25 rounds up to 1025, + 0.25 to 1026: error 1.5
    rup = ArrayConfig(2, 1, E4, E4, F16, rounding="rup")
    codes = systolic(A, B, rup)
    assert F16.decode(codes[0]).ravel().tolist() == [1026.0, 7.0]
    assert error_report(A, B, codes, rup).max_abs == 1.5


def test_error_report_nonfinite():
    """fp16 accumulator, 1x3 array, K=2: column 0 sums 448*128 + 448*128 = 114688 (finite
    in float64) which overflows fp16: Inf under rne (counted in ``nonfinite``, left out of
    the errors), 65504 under rtz or with saturation (a finite error of 49184); column 1 is
    448 + 448 = 896 exact; column 2 has a NaN operand: NaN in both, not counted."""
    nan = int(E4.nan_code)
    A = _e4([[448, 448]])
    B = _e4([[128, 1, 1], [128, 1, 1]])
    B[0, 2] = nan
    for kw, nonfinite, max_abs in (({}, 1, 0.0), ({"rounding": "rtz"}, 0, 49184.0),
                                   ({"saturate": True}, 0, 49184.0)):
        cfg = ArrayConfig(1, 3, E4, E4, F16, **kw)
        codes = systolic(A, B, cfg)
        c = F16.decode(codes).ravel()
        assert c[0] == (math.inf if nonfinite else 65504.0) and c[1] == 896.0
        assert math.isnan(c[2])
        rep = error_report(A, B, codes, cfg)
        assert rep.nonfinite == nonfinite, kw
        assert rep.max_abs == max_abs
        assert rep.mean_abs == max_abs / (2 - nonfinite)
        want_fro = 0.0 if nonfinite else 49184.0 / math.hypot(114688.0, 896.0)
        assert rep.rel_fro == pytest.approx(want_fro, rel=1e-12, abs=0)


def test_report_flag():
    """report=True returns (codes, report): the codes of report=False and the report of
    error_report on them (2-D tile and list of tiles)."""
    A, B = make_tiles("fp8_e4m3", "fp8_e4m3", 2, 3, [17, 4], seed=2, odd=0.05)
    cfg = ArrayConfig(2, 3, "fp8_e4m3", "fp8_e4m3", "fp16", chunk=4, rounding="sr", seed=6)
    for a, b in ((A, B), (A[0], B[0])):
        codes, rep = systolic(a, b, cfg, report=True)
        assert np.array_equal(codes, systolic(a, b, cfg))
        assert isinstance(rep, ErrorReport)
        assert rep == error_report(a, b, codes, cfg)
        assert rep.max_abs > 0 and rep.mean_abs > 0 and rep.rel_fro > 0


# ==== numerics: chunking a long K ========================================================

def test_chunking_reduces_error_for_long_k():
    """fp8_e4m3 x fp8_e4m3 -> fp16, 2x2 array, K = 4096, values N(1, 1), rne, against the
    float64 GEMM (exact here: e4m3 products have 8-bit significands within 2**-18..2**18,
    4096 of them fit 53 bits).  The sums are about 4096, where the fp16 ulp is 2-4: a
    single running sum (chunk 0) loses most late products to rounding, chunk 64 only
    rounds 64 folds at that size.  Measured (seeds 0..5): rel_fro 0.008-0.016 for chunk 0,
    0.0004-0.001 for chunk 64 (ratio 8-23; seed 0: 0.0091 vs 0.00066, max_abs 44.6 vs
    4.25).  Asserted: chunk 64 at least 4x better, its rel_fro < 0.002 (~4 half-ulps of
    fp16 relative precision) and max_abs <= 12 (three ulps of 4), chunk 0 > 0.004."""
    rng = np.random.default_rng(0)
    A = E4.encode(rng.standard_normal((2, 4096)) + 1).astype(np.uint64)
    B = E4.encode(rng.standard_normal((4096, 2)) + 1).astype(np.uint64)
    rep = {}
    for chunk in (0, 64):
        cfg = ArrayConfig(2, 2, E4, E4, F16, chunk=chunk)
        codes, rep[chunk] = systolic(A, B, cfg, report=True)
        # one PE against the reference (the long path too)
        want = reference_chunked((A[1], B[:, 0]), None, F16, chunk, "rne", a_fmt=E4, b_fmt=E4)
        assert codes[1, 0] == want[0]
        assert rep[chunk].nonfinite == 0
    r0, r64 = rep[0], rep[64]
    assert r64.rel_fro < r0.rel_fro / 4, (r0, r64)
    assert r0.rel_fro > 0.004, r0
    assert r64.rel_fro < 0.002, r64
    assert r64.max_abs <= 12 < r0.max_abs, (r0, r64)


def test_gaussian_error():
    """``gaussian_error``: an fp64 accumulator sums short fp8 GEMMs exactly (error 0); the
    fp16 one does not, and chunk 64 shrinks its error at K = 4096; the same seed gives the
    same report, another seed another."""
    exact = gaussian_error(E4, E4, "fp64", 0, (3, 16, 2), seed=1)
    assert exact.rel_fro == 0 and exact.max_abs == 0
    plain = gaussian_error(E4, E4, F16, 0, (4, 4096, 4), seed=2)
    chunked = gaussian_error(E4, E4, F16, 64, (4, 4096, 4), seed=2)
    assert plain.rel_fro > 4 * chunked.rel_fro > 0, (plain, chunked)
    assert gaussian_error(E4, E4, F16, 0, (4, 4096, 4), seed=2) == plain
    assert gaussian_error(E4, E4, F16, 0, (4, 4096, 4), seed=3) != plain


# ==== argument errors ====================================================================

def test_config_errors():
    fmts = ("fp8_e4m3", "fp8_e4m3", "fp16")
    for bad in (0, 65, -1, 2.0, True, "2", None):
        with pytest.raises(ValueError, match="rows"):
            ArrayConfig(bad, 2, *fmts)
        with pytest.raises(ValueError, match="cols"):
            ArrayConfig(2, bad, *fmts)
    assert ArrayConfig(64, 1, *fmts).rows == 64 and ArrayConfig(1, 64, *fmts).cols == 64
    for bad in (-1, 1.5, True, "4"):
        with pytest.raises(ValueError, match="chunk"):
            ArrayConfig(2, 2, *fmts, chunk=bad)
    for bad in ("nearest", "RNE", ""):
        with pytest.raises(ValueError, match="rounding"):
            ArrayConfig(2, 2, *fmts, rounding=bad)
    for bad in (0, -1, 2 ** 32, 1.0):
        with pytest.raises(ValueError, match="seed"):
            ArrayConfig(2, 2, *fmts, seed=bad)
    for bad in (0, 33, -2):
        with pytest.raises(ValueError, match="random bits"):
            ArrayConfig(2, 2, *fmts, rand_bits=bad)
    # a result format with no NaN cannot take e4m3's NaN operands
    with pytest.raises(ValueError, match="NaN"):
        ArrayConfig(2, 2, "fp8_e4m3", "fp8_e4m3", "e5m10fin")
    with pytest.raises(ValueError, match="unknown format"):
        ArrayConfig(2, 2, "fp8_e4m3", "fp8_e9m9", "fp16")


_A = np.full((2, 4), 0x38, dtype=np.uint64)   # 1.0 in e4m3, for a 2x3 array
_B = np.full((4, 3), 0x38, dtype=np.uint64)
BAD_OPERANDS = {
    "tile count": ([_A, _A], [_B]),
    "A rows": (np.full((3, 4), 0x38, np.uint64), _B),
    "B cols": (_A, np.full((4, 2), 0x38, np.uint64)),
    "K": (_A, np.full((5, 3), 0x38, np.uint64)),
    "K in 2nd tile": ([_A, _A], [_B, _B[:3]]),
    "K = 0": (_A[:, :0], _B[:0]),
    "empty A list": ([], [_B]),
    "empty lists": ([], []),
    "empty stacks": (np.zeros((0, 2, 4), np.uint64), np.zeros((0, 4, 3), np.uint64)),
    "1-D A": (_A[0], _B),
    "4-D A": (_A[None, None], _B),
    "1-D tile in list": ([_A[0]], [_B]),
}


@pytest.mark.parametrize("what", list(BAD_OPERANDS))
def test_operand_shape_errors(what):
    """Tiles that do not fit the array (or each other), and no tiles at all."""
    cfg = ArrayConfig(2, 3, "fp8_e4m3", "fp8_e4m3", "fp16")
    assert F16.decode(systolic(_A, _B, cfg)).tolist() == [[4.0] * 3] * 2
    x, y = BAD_OPERANDS[what]
    with pytest.raises(ValueError):
        systolic(x, y, cfg)
    with pytest.raises(ValueError):
        error_report(x, y, np.zeros((1, 2, 3), np.uint16), cfg)
    with pytest.raises(ValueError):
        tiles(x, y, cfg)


def test_operand_code_errors():
    """Codes outside the 8-bit formats (too big, negative), in A or B or a later tile."""
    cfg = ArrayConfig(2, 3, "fp8_e4m3", "fp8_e4m3", "fp16")
    big_a, big_b, neg_a = _A.copy(), _B.copy(), _A.astype(np.int64)
    big_a[1, 2] = 0x100
    big_b[0, 0] = 0x1F0
    neg_a[0, 0] = -1
    for x, y in ((big_a, _B), (_A, big_b), (neg_a, _B), ([_A, big_a], [_B, _B])):
        with pytest.raises(ValueError, match="do not fit"):
            systolic(x, y, cfg)


def test_float_operands_and_bad_results_refused():
    """Float arrays are not codes; results must be codes of the array's shape."""
    cfg = ArrayConfig(2, 3, "fp8_e4m3", "fp8_e4m3", "fp16")
    with pytest.raises(TypeError, match="integers"):
        systolic(_A.astype(np.float64), _B, cfg)
    c = systolic(_A, _B, cfg)
    assert error_report(_A, _B, c, cfg).max_abs == 0.0
    for bad in (c.reshape(3, 2), c[None], c.reshape(6, 1)):
        with pytest.raises(ValueError, match="shape"):
            error_report(_A, _B, bad, cfg)
    with pytest.raises(ValueError, match="do not fit"):
        error_report(_A, _B, c.astype(np.uint64) | np.uint64(1 << 16), cfg)
    assert ArrayConfig(np.int64(2), np.uint8(3), "fp8_e4m3", "fp8_e4m3", "fp16").cols == 3


def test_rel_error_of_nonzero_result_for_zero_gemm_is_inf():
    cfg = ArrayConfig(1, 1, "fp8_e4m3", "fp8_e4m3", "fp16")
    zero_a, one_b = np.zeros((1, 2), np.uint64), np.full((2, 1), 0x38, np.uint64)
    rep = error_report(zero_a, one_b, np.array([[0x3C00]], np.uint64), cfg)
    assert rep.max_abs == 1.0 and rep.rel_fro == math.inf
    assert error_report(zero_a, one_b, np.array([[0]], np.uint64), cfg).rel_fro == 0.0


# ==== matmul: the emulated GEMM of any size ==============================================

@pytest.mark.parametrize("mode", ["rne", "rdn", "sr"])
@pytest.mark.parametrize("chunk", [0, 4])
def test_matmul_matches_reference(chunk, mode):
    """Every output of a (3, 21) x (21, 70) GEMM (N beyond an array's 64 columns) is the
    sequential reference accumulation of its row and column, seeds by the rule for a
    3 x 70 grid of outputs."""
    a_fmt, b_fmt, acc = "fp8_e4m3", "fp8_e5m2", "fp16"
    A, B = make_tiles(a_fmt, b_fmt, 3, 70, [21], _case_seed(chunk, len(mode)))
    got = matmul(A[0], B[0], a_fmt, b_fmt, acc, chunk=chunk, rounding=mode, seed=9)
    assert got.shape == (3, 70) and got.dtype == parse(acc).dtype
    want = expected(A, B, 3, 70, a_fmt, b_fmt, acc, chunk, mode, seed=9)[0]
    assert_codes_equal(got, want, parse(acc), f"matmul chunk={chunk} {mode}")


def test_matmul_is_the_array_for_small_shapes():
    A, B = make_tiles("hfp8", "fp8_e5m2", 4, 6, [33], 5)
    for mode in ("rne", "sr"):
        cfg = ArrayConfig(4, 6, "hfp8", "fp8_e5m2", "dlfloat16", chunk=8, rounding=mode,
                          seed=77)
        assert np.array_equal(
            matmul(A[0], B[0], "hfp8", "fp8_e5m2", "dlfloat16", chunk=8, rounding=mode,
                   seed=77), systolic(A[0], B[0], cfg))


@pytest.mark.parametrize("a,b,match", [
    (np.zeros((2, 3)), np.zeros((4, 2)), "A \\(2, 3\\) x B \\(4, 2\\)"),
    (np.zeros(3), np.zeros((3, 2)), "needs A"),
    (np.zeros((2, 0)), np.zeros((0, 2)), "K >= 1"),
    (np.full((1, 1), 256), np.zeros((1, 1)), "A"),
])
def test_matmul_errors(a, b, match):
    with pytest.raises(ValueError, match=match):
        matmul(a.astype(np.uint64), b.astype(np.uint64), "fp8_e4m3", "fp8_e4m3", "fp16")
    with pytest.raises(ValueError):
        matmul(np.zeros((1, 1), np.uint64), np.zeros((1, 1), np.uint64), "fp8_e4m3",
               "fp8_e4m3", "fp16", rounding="up")
