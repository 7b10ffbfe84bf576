# amaranth: UnusedElaboratable=no
"""The systolic GEMM array (``rtl.systolic.SystolicArray``) against the golden GEMM
(``sim.gemm.systolic``, itself checked PE by PE against an independent sequential reference
in ``test_gemm.py``).

Amaranth-simulator runs first (small shapes, tiles with K from 1 up, idle cycles, tiles
shorter than the array so that ``in_ready`` holds a last beat): every result row must
appear exactly ``latency + r`` cycles after the cycle its tile's last beat was taken, with
``out_last`` on the last row.  Then cocotb + Icarus on the emitted Verilog (``verify``):
shapes 1x1, 2x3, 4x4 and 8x8, tiles of K = 1, 7, 64 and 256 back to back with specials in
the inputs, fp16 chunked (rne, and sr with chunk 16) and fp32 accumulation (sr); a gate-level netlist; an 8x8
array computing a real layer (a linear classifier of scikit-learn's digits, in fp8); and
benches that must fail (a perturbed golden row, a wrong latency claim).
"""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from fpforge.gen.emit import generate, write_files
from fpforge.gen.units import SystolicConfig
from fpforge.rtl.systolic import SystolicArray
from fpforge.sim.formats import parse
from fpforge.sim.gemm import systolic
from fpforge.tb.runner import run_cocotb
from fpforge.gen.verify import verify
from fpforge.tb.stimulus import stimulus

from rtl_bench import assert_lint_clean, cocotb_check


# ---- Amaranth simulator -------------------------------------------------------------

def _beats(dut, a_tiles, b_tiles, gap, rng):
    """(valid, last, a, b) per cycle: the tiles' beats with idle cycles (junk data) at
    rate ``gap``."""
    aw, bw = dut.a_fmt.width, dut.b_fmt.width
    beats = []
    for A, B in zip(a_tiles, b_tiles):
        for k in range(A.shape[1]):
            while rng.random() < gap:
                beats.append((0, 0, int(rng.integers(0, 1 << (dut.rows * aw))),
                              int(rng.integers(0, 1 << (dut.cols * bw)))))
            beats.append((1, int(k == A.shape[1] - 1),
                          sum(int(A[i, k]) << (i * aw) for i in range(dut.rows)),
                          sum(int(B[k, j]) << (j * bw) for j in range(dut.cols))))
    return beats


def amaranth_tiles(dut, a_tiles, b_tiles, gap=0.0, seed=0):
    """Run the tiles; returns (rows seen as (cycle, [codes], out_last), cycles in which a
    last beat was taken, cycles a beat was held by in_ready)."""
    yw, C = dut.acc_fmt.width, dut.cols
    beats = _beats(dut, a_tiles, b_tiles, gap, np.random.default_rng(seed))
    seen, taken_last, held = [], [], []
    sim = Simulator(dut)
    sim.add_clock(1e-6)

    async def bench(ctx):
        cycle = 0

        def sample():
            if ctx.get(dut.out_valid):
                y = ctx.get(dut.y)
                seen.append((cycle, [(y >> (j * yw)) & ((1 << yw) - 1) for j in range(C)],
                             ctx.get(dut.out_last)))

        for valid, last, a, b in beats:
            while True:
                ctx.set(dut.in_valid, valid)
                ctx.set(dut.in_last, last)
                ctx.set(dut.a, a)
                ctx.set(dut.b, b)
                ready = ctx.get(dut.in_ready)
                sample()
                if valid and last and ready:
                    taken_last.append(cycle)
                if valid and not ready:
                    held.append(cycle)
                await ctx.tick()
                cycle += 1
                if ready or not valid:
                    break
        ctx.set(dut.in_valid, 0)
        for _ in range(dut.latency + dut.rows + 2):
            sample()
            await ctx.tick()
            cycle += 1

    sim.add_testbench(bench)
    sim.run()
    return seen, taken_last, held


def _tiles(rows, cols, lengths, seed, a_fmt="fp8_e4m3", b_fmt="fp8_e4m3"):
    rng = np.random.default_rng(seed)
    fa, fb = parse(a_fmt), parse(b_fmt)
    return ([fa.encode(rng.standard_normal((rows, k)) * 2).astype(np.uint64) for k in lengths],
            [fb.encode(rng.standard_normal((k, cols)) * 2).astype(np.uint64) for k in lengths])


@pytest.mark.parametrize("rows,cols,lengths,chunk,rounding,gap", [
    (1, 1, [5, 1, 1, 3], 0, "rne", 0.0),
    (2, 3, [7, 7, 7, 7], 0, "rne", 0.0),
    (2, 3, [1, 1, 2, 1, 7, 1], 0, "rtz", 0.0),     # shorter than the array: held lasts
    (3, 2, [1, 1, 2, 1, 7, 1], 2, "rne", 0.0),
    (4, 4, [16, 3, 16, 1], 4, "sr", 0.2),
    (3, 5, [5, 9, 1, 20], 3, "sr", 0.3),
    (2, 5, [5, 5, 6, 2, 9], 2, "sr", 0.0),     # chunk < cols - 1: first chunks held
])
def test_tiles_amaranth(rows, cols, lengths, chunk, rounding, gap):
    dut = SystolicArray(rows, cols, "fp8_e4m3", "fp8_e4m3", "fp16", chunk=chunk,
                        rounding=rounding, seed=5)
    a_t, b_t = _tiles(rows, cols, lengths, rows * 10 + cols)
    seen, taken_last, held = amaranth_tiles(dut, a_t, b_t, gap, seed=len(lengths))
    want = systolic(a_t, b_t, dut.config)
    assert len(taken_last) == len(lengths)
    assert [c for c, _, _ in seen] == [t + dut.latency + r for t in taken_last
                                       for r in range(rows)]
    assert [last for _, _, last in seen] == [int(r == rows - 1) for _ in lengths
                                             for r in range(rows)]
    assert np.array([row for _, row, _ in seen]).reshape(want.shape).tolist() == want.tolist()
    # a tile's last beat waits exactly until tile_interval cycles after the previous one
    gaps = np.diff(taken_last)
    assert gaps.min() >= dut.tile_interval
    if min(lengths[1:]) < dut.tile_interval and gap == 0:
        assert held and gaps.min() == dut.tile_interval


def test_fold_cycles():
    """With chunking every chunk's fold takes a cycle of its own: in_ready is low exactly in
    the cycle after each chunk's last beat, so a tile of K beats takes K + ceil(K / chunk)
    cycles (K = 10, chunk 4: 13)."""
    dut = SystolicArray(2, 2, "fp8_e4m3", "fp8_e4m3", "fp16", chunk=4)
    a_t, b_t = _tiles(2, 2, [10, 10, 10], 3)
    seen, taken_last, held = amaranth_tiles(dut, a_t, b_t)
    assert taken_last == [11, 24, 37]
    folds = [13 * t + c for t in range(3) for c in (4, 9, 12)]
    assert held == folds[:-1]  # the last fold has no beat waiting
    assert np.array([row for _, row, _ in seen]).reshape(3, 2, 2).tolist() == \
        systolic(a_t, b_t, dut.config).tolist()


def test_no_stall_when_tiles_are_long_enough():
    """K >= max(rows, cols): tiles stream back to back, in_ready never drops and the drain
    of one tile overlaps the next tile's compute (one beat per cycle throughout)."""
    dut = SystolicArray(3, 4, "fp8_e5m2", "fp8_e4m3", "fp32", chunk=0)
    a_t, b_t = _tiles(3, 4, [4, 4, 9, 4], 7, "fp8_e5m2", "fp8_e4m3")
    seen, taken_last, held = amaranth_tiles(dut, a_t, b_t)
    assert held == []
    assert taken_last == (np.cumsum([4, 4, 9, 4]) - 1).tolist()
    assert np.array([row for _, row, _ in seen]).reshape(4, 3, 4).tolist() == \
        systolic(a_t, b_t, dut.config).tolist()


def test_latency_and_interval_properties():
    for rows, cols, chunk in ((1, 1, 0), (2, 3, 0), (4, 4, 64), (8, 2, 16)):
        dut = SystolicArray(rows, cols, "fp8_e4m3", "fp8_e4m3", "fp16", chunk=chunk)
        cfg = SystolicConfig(rows=rows, cols=cols, a="fp8_e4m3", b="fp8_e4m3", acc="fp16",
                             chunk=chunk)
        assert dut.latency == cols - 1 + (1 if chunk == 0 else 2) == cfg.latency
        # rows drain one per cycle; with chunking a fold must also wait for the clear
        assert dut.tile_interval == max(rows, cols + (1 if chunk else 0))
        assert generate(cfg).manifest["array"]["tile_interval"] == dut.tile_interval
        assert generate(cfg).manifest["latency"] == dut.latency


def test_argument_errors():
    for bad in (0, 65, 2.0, True):
        with pytest.raises(ValueError, match="rows"):
            SystolicArray(bad, 2, "fp8_e4m3", "fp8_e4m3", "fp16")
        with pytest.raises(ValueError, match="cols"):
            SystolicArray(2, bad, "fp8_e4m3", "fp8_e4m3", "fp16")
    with pytest.raises(ValueError, match="chunk"):
        SystolicArray(2, 2, "fp8_e4m3", "fp8_e4m3", "fp16", chunk=-1)
    with pytest.raises(ValueError):
        SystolicArray(2, 2, "fp8_e4m3", "fp8_e4m3", "fp16", rounding="rnd")
    with pytest.raises(ValueError):
        SystolicArray(2, 2, "fp8_e4m3", "fp8_e4m3", "fp16", rounding="sr", seed=0)
    with pytest.raises(ValueError):
        SystolicArray(2, 2, "fp8_e4m3", "nope", "fp16")
    with pytest.raises(ValueError, match="pipeline"):
        SystolicConfig(rows=2, cols=2, a="fp8_e4m3", b="fp8_e4m3", acc="fp16", pipeline=1)


# ---- cocotb + Icarus on the emitted Verilog ---------------------------------------------

#: tiles of every K of the issue, back to back; 1 and 7 are shorter than the 8x8 array
K_MIX = [1, 7, 64, 256, 7, 1]


def _config(shape, acc, chunk, rounding, seed=3):
    return SystolicConfig(rows=shape[0], cols=shape[1], a="fp8_e4m3", b="fp8_e4m3",
                          acc=acc, chunk=chunk, rounding=rounding, seed=seed)


@pytest.mark.sim
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (4, 4), (8, 8)])
@pytest.mark.parametrize("acc,chunk,rounding", [("fp16", 64, "rne"), ("fp32", 0, "sr"),
                                                ("fp16", 16, "sr")])
def test_gemm_tiles_on_verilog(shape, acc, chunk, rounding, tmp_path):
    """Tiles of K = 1, 7, 64, 256, 7, 1 back to back (idle cycles, 2 % special codes); with
    chunk 16 and sr the folds draw from the PE's one PRNG between its products."""
    cfg = _config(shape, acc, chunk, rounding)
    report = verify(cfg, seed=shape[0] + shape[1], workdir=tmp_path, log=lambda m: None,
                    options={"gemms": len(K_MIX), "k": K_MIX})
    assert report.ok, report.rtl.mismatches[:3]
    assert report.rtl.tried == len(K_MIX) * shape[0] * shape[1]


@pytest.mark.sim
def test_gemm_tiles_other_formats_on_verilog(tmp_path):
    """Mixed operand formats, rdn and saturation, the K chosen by verify (1, 2, 3, random)."""
    cfg = SystolicConfig(rows=3, cols=2, a="fp8_e5m2", b="hfp8", acc="dlfloat16", chunk=5,
                         rounding="rdn", saturate=True)
    report = cocotb_check(cfg, tmp_path, vectors=600)
    assert report.rtl.tried >= 6 * 10


@pytest.mark.sim
def test_synthesized_netlist_matches(tmp_path):
    cfg = _config((2, 2), "fp16", 4, "sr")
    report = verify(cfg, vectors=150, netlist=True, workdir=tmp_path, log=lambda m: None)
    assert report.ok and report.netlist.tried == report.rtl.tried > 0


def _digits_layer():
    """A linear classifier of scikit-learn's bundled 8x8 digits (least squares on one-hot
    targets, float64), its inputs and weights in fp8_e4m3; 64 test images x 10 classes,
    padded to 16 columns: 8 x 2 tiles of an 8x8 array with K = 64 pixels."""
    from sklearn.datasets import load_digits
    X, labels = load_digits(return_X_y=True)
    X = X / 16.0
    train, test = slice(0, 1500), slice(1500, 1564)
    ones = np.ones((X.shape[0], 1))
    W = np.linalg.lstsq(np.hstack([X[train], ones[train]]), np.eye(10)[labels[train]],
                        rcond=None)[0][:64]  # bias left out of the GEMM
    return X[test], labels[test], W


@pytest.mark.sim
def test_digits_layer_on_8x8_array(tmp_path):
    """A real forward GEMM: 64 digits images x a 64x10 weight matrix in fp8_e4m3 with fp16
    chunk-16 accumulation on the 8x8 array, bit-exact with the golden GEMM; the fp8 result
    classifies the images nearly as well as float64."""
    X, labels, W = _digits_layer()
    e4 = parse("fp8_e4m3")
    x_codes = e4.encode(X).astype(np.uint64)
    w_codes = np.zeros((64, 16), dtype=np.uint64)
    w_codes[:, :10] = e4.encode(W * 8)  # scaled into fp8's well-resolved range
    a_tiles = [x_codes[r:r + 8] for r in range(0, 64, 8) for _ in range(2)]
    b_tiles = [w_codes[:, c:c + 8] for _ in range(0, 64, 8) for c in (0, 8)]
    cfg = SystolicConfig(rows=8, cols=8, a="fp8_e4m3", b="fp8_e4m3", acc="fp16", chunk=16)

    from fpforge.tb.vectors import gemm_beats
    data = gemm_beats(cfg.a, cfg.b, 8, 8, [64] * 16, 1, odd=0, gaps=0)
    data["a"] = np.concatenate([t.T for t in a_tiles])
    data["b"] = np.concatenate(b_tiles)
    data.update(cfg.expected(data))
    gen = generate(cfg)
    write_files(tmp_path, {f"{gen.name}.v": gen.verilog})
    res = run_cocotb(tmp_path / f"{gen.name}.v", gen.name, gen.manifest, data, tmp_path / "b")
    assert res.tried == 16 * 64 and res.passed == res.tried, res.mismatches[:3]

    # The golden result, reassembled: 64 x 16 scores, first 10 columns are classes.
    codes = systolic(a_tiles, b_tiles, cfg.array).reshape(8, 2, 8, 8)
    scores = parse("fp16").decode(codes.transpose(0, 2, 1, 3).reshape(64, 16))[:, :10]
    exact = e4.decode(x_codes) @ (e4.decode(w_codes[:, :10]))
    assert np.isfinite(scores).all()
    assert np.mean(scores.argmax(1) == exact.argmax(1)) >= 0.95
    assert np.mean(scores.argmax(1) == labels) >= 0.8


# ---- benches that must fail ---------------------------------------------------------

class _PerturbedArray(SystolicConfig):
    def golden(self, inputs):
        y = super().golden(inputs).copy()
        y[3, 1] ^= 1
        return y


@pytest.mark.sim
def test_bench_fails_on_wrong_golden(tmp_path):
    cfg = _PerturbedArray(rows=4, cols=2, a="fp8_e4m3", b="fp8_e4m3", acc="fp16")
    report = verify(cfg, options={"gemms": 3, "k": 5}, workdir=tmp_path, log=lambda m: None)
    assert not report.ok
    assert report.rtl.tried - report.rtl.passed == 1
    assert [(m["tile"], m["row"]) for m in report.rtl.mismatches] == [(0, 3)]


@pytest.mark.sim
def test_bench_fails_on_wrong_latency_claim(tmp_path):
    cfg = _config((2, 2), "fp16", 0, "rne")
    data = stimulus(cfg, None, False, 1, {"gemms": 3, "k": 4})
    gen = generate(cfg)
    write_files(tmp_path, {f"{gen.name}.v": gen.verilog})
    manifest = dict(gen.manifest, latency=gen.manifest["latency"] + 1)
    res = run_cocotb(tmp_path / f"{gen.name}.v", gen.name, manifest, data, tmp_path / "b")
    assert res.passed == 0 < res.tried
    assert any("out_valid" in m.get("error", "") for m in res.mismatches)


@pytest.mark.sim
@pytest.mark.parametrize("cfg", [_config((2, 3), "fp16", 4, "sr"), _config((1, 1), "fp32", 0,
                                                                           "rne")])
def test_verilator_lint_clean(cfg, tmp_path):
    """The array keeps its PEs as modules of their own in the same file."""
    gen = generate(cfg)
    assert gen.verilog.count("(* keep_hierarchy *)\nmodule ") == cfg.rows * cfg.cols
    assert_lint_clean(gen, tmp_path)


def test_netlist_sample_keeps_whole_tiles():
    """The gate-level sample of an array run is its first tiles, inputs and result rows."""
    from fpforge.tb.stimulus import sample
    cfg = _config((3, 2), "fp16", 0, "rne")
    data = stimulus(cfg, None, False, 1, {"gemms": 4, "k": 5, "idle": 0.0})
    part = sample(data, 12, cfg)  # tiles end in cycles 4, 9, 14, 19
    assert len(part["valid"]) == 10 and part["in_last"].tolist().count(1) == 2
    assert part["y"].tolist() == data["y"][:6].tolist()
    assert part["y"].tolist() == cfg.golden(part).tolist()
