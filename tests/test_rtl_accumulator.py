# amaranth: UnusedElaboratable=no
"""The streaming accumulator RTL (``rtl.accumulator.ChunkAccumulator``) and the AXPY unit
against the golden model (``sim.accumulate.chunked`` / ``.axpy``, itself checked against an
independent reference in ``test_accumulate.py``).

Amaranth-simulator checks of back-to-back streams (a new stream the cycle after
``in_last``), then cocotb + Icarus on the emitted Verilog through ``verify``: streams of
length 1..4096 (``accumulation_streams``: 1, 2, 3, ... then random lengths up to 4096, the
first half back-to-back, the second with ``in_valid`` gaps), chunk 0/1/16/64, rne and sr,
fp16, fp8 -> fp16, fp8 products -> fp16 and bf16 -> fp32, plus rdn and dlfloat16; many
short streams with injected specials; a gate-level netlist; AXPY; and benches that must
fail (a perturbed golden stream result, a wrong latency claim).

The cocotb bench checks one result per stream, and that ``out_valid`` is high exactly
``latency`` cycles after each valid ``in_last`` and low in every other cycle.
"""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from fpforge.gen.emit import generate, write_files
from fpforge.gen.units import AccConfig, AxpyConfig
from fpforge.rtl.accumulator import AXPY, ChunkAccumulator
from fpforge.sim.accumulate import chunked
from fpforge.sim.formats import parse
from fpforge.tb.runner import run_cocotb
from fpforge.tb.vectors import accumulation_streams
from fpforge.gen.verify import verify
from fpforge.tb.stimulus import stimulus


def _streams(data):
    """(lengths of the valid streams, number of no-bubble boundaries: a valid in_last
    followed directly by a valid input)."""
    valid = np.asarray(data["valid"], dtype=bool)
    last = np.asarray(data["in_last"], dtype=bool)
    ends = np.flatnonzero(last[valid])
    lengths = np.diff(np.concatenate([[-1], ends]))
    back_to_back = int(np.sum(valid[:-1] & last[:-1] & valid[1:]))
    return lengths, back_to_back


# ---- Amaranth simulator: back-to-back streams -----------------------------------------

def _amaranth_streams(dut, ports: dict, last, valid, latency):
    """Drive one input per cycle; returns [(cycle the result was seen, y)], where a result
    seen in loop iteration t was produced by the input of cycle t - latency + 1."""
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    n = len(last)
    seen = []

    async def bench(ctx):
        for cycle in range(n + latency + 2):
            if cycle < n:
                ctx.set(dut.in_valid, int(valid[cycle]))
                ctx.set(dut.in_last, int(last[cycle]))
                for name, codes in ports.items():
                    ctx.set(getattr(dut, name), int(codes[cycle]))
            else:
                ctx.set(dut.in_valid, 0)
                ctx.set(dut.in_last, 0)
            await ctx.tick()
            if ctx.get(dut.out_valid):
                seen.append((cycle - latency + 1, ctx.get(dut.y)))

    sim.add_testbench(bench)
    sim.run()
    return seen


@pytest.mark.parametrize("chunk,rounding", [(0, "rne"), (1, "sr"), (2, "rne"), (3, "sr"),
                                            (2, "rdn")])
def test_back_to_back_streams_amaranth(chunk, rounding):
    """fp16 streams of lengths 1, 1, 2, 1, 3, 4, 1, 5, 2, 1 back to back (a new stream the
    cycle after in_last, even after a length-1 stream), then one gap cycle, then 3, 1:
    each result appears exactly `latency` cycles after its in_last, and nowhere else."""
    f = parse("fp16")
    lengths = [1, 1, 2, 1, 3, 4, 1, 5, 2, 1, 3, 1]
    rng = np.random.default_rng(chunk + len(rounding))
    xs = f.encode(rng.standard_normal(sum(lengths)) + 0.5).astype(np.uint64)
    last = np.zeros(sum(lengths), dtype=np.uint64)
    last[np.cumsum(lengths) - 1] = 1
    # a gap cycle (junk data) before the last two streams
    gap_at = sum(lengths[:-2])
    xs_c = np.insert(xs, gap_at, 0x7E00)
    last_c = np.insert(last, gap_at, 1)
    valid_c = np.insert(np.ones(sum(lengths), dtype=np.uint64), gap_at, 0)
    dut = ChunkAccumulator(f, f, chunk, rounding, seed=9)
    seen = _amaranth_streams(dut, {"x": xs_c}, last_c, valid_c, dut.latency)
    want = chunked(xs, f, f, chunk, rounding, lengths=lengths, seed=9)
    ends = [int(i) for i in np.flatnonzero(last_c.astype(bool) & valid_c.astype(bool))]
    assert [c for c, _ in seen] == ends
    assert [y for _, y in seen] == want.tolist()


def test_products_back_to_back_amaranth():
    """fp8_e4m3 x fp8_e4m3 products into fp16, chunk 2, length-1 streams back to back."""
    e4, f = parse("fp8_e4m3"), parse("fp16")
    lengths = [1, 1, 1, 2, 3, 1, 4]
    rng = np.random.default_rng(3)
    n = sum(lengths)
    a = e4.encode(rng.standard_normal(n) * 4).astype(np.uint64)
    b = e4.encode(rng.standard_normal(n) * 4).astype(np.uint64)
    last = np.zeros(n, dtype=np.uint64)
    last[np.cumsum(lengths) - 1] = 1
    dut = ChunkAccumulator(None, f, 2, "rne", products=True, a_fmt=e4, b_fmt=e4)
    seen = _amaranth_streams(dut, {"a": a, "b": b}, last, np.ones(n, np.uint64), 2)
    want = chunked((a, b), None, f, 2, lengths=lengths, products=True, a_fmt=e4, b_fmt=e4)
    assert [c for c, _ in seen] == (np.cumsum(lengths) - 1).tolist()
    assert [y for _, y in seen] == want.tolist()


# ---- latency: Amaranth property, config and manifest agree -----------------------------

@pytest.mark.parametrize("cfg", [
    AccConfig(in_fmt="fp16", acc="fp16", chunk=0),
    AccConfig(in_fmt="fp16", acc="fp16", chunk=1, rounding="sr"),
    AccConfig(in_fmt="bf16", acc="fp32", chunk=64),
    AccConfig(a="fp8_e4m3", b="fp8_e4m3", products=True, acc="fp16", chunk=0, rounding="sr"),
    AxpyConfig(alpha="fp16", x="fp16", y="fp16"),
    AxpyConfig(alpha="fp32", x="fp16", y="bf16", pipeline=3),
], ids=lambda c: c.default_name())
def test_latency_property_matches_manifest(cfg):
    gen = generate(cfg)
    unit = cfg.build()
    unit._MustUse__silence = True  # built only for its latency property
    assert unit.latency == cfg.latency == gen.manifest["latency"]
    if isinstance(cfg, AccConfig):
        assert unit.latency == (1 if cfg.chunk == 0 else 2)
        assert gen.manifest["result"] == "per_stream"
        assert f"{unit.latency} cycles after" in {p["name"]: p["meaning"] for p in
                                                  gen.manifest["ports"]}["out_valid"]
    else:
        assert unit.latency == cfg.pipeline and gen.manifest["result"] == "per_input"


def test_argument_errors():
    with pytest.raises(ValueError, match="a_fmt"):
        ChunkAccumulator(None, "fp16", products=True, a_fmt="fp8_e4m3")
    with pytest.raises(ValueError, match="in_fmt"):
        ChunkAccumulator(None, "fp16")
    with pytest.raises(ValueError, match="chunk"):
        ChunkAccumulator("fp16", "fp16", chunk=-2)
    with pytest.raises(ValueError):
        ChunkAccumulator("fp16", "fp16", rounding="sr", seed=0)
    with pytest.raises(ValueError, match="pipeline"):
        AXPY("fp16", "fp16", "fp16", pipeline=0)
    with pytest.raises(ValueError, match="pipeline"):
        AccConfig(in_fmt="fp16", acc="fp16", pipeline=1)
    with pytest.raises(ValueError, match="products"):
        AccConfig(in_fmt="fp16", acc="fp16", a="fp16")
    with pytest.raises(ValueError, match="--in"):
        AccConfig(in_fmt="fp16", acc="fp16", a="fp16", b="fp16", products=True)
    with pytest.raises(ValueError):
        AccConfig(acc="fp16", products=True, a="fp16")
    with pytest.raises(ValueError, match="chunk"):
        AccConfig(in_fmt="fp16", acc="fp16", chunk=-1)
    with pytest.raises(ValueError, match="pipeline"):
        AxpyConfig(alpha="fp16", x="fp16", y="fp16", pipeline=0)


# ---- cocotb + Icarus: the stream-length x chunk x mode matrix --------------------------

def _check(report, *, streams=None):
    for res in (report.rtl, report.netlist):
        if res is not None:
            assert res.tried > 0 and res.passed == res.tried, res.mismatches[:5]
    if streams is not None:
        assert report.rtl.tried == streams  # one result per stream, each checked


def _acc(**kw):
    if "a" in kw:
        kw.setdefault("products", True)
    return AccConfig(**kw)


FP16 = dict(in_fmt="fp16", acc="fp16")
E4_16 = dict(in_fmt="fp8_e4m3", acc="fp16")
PROD = dict(a="fp8_e4m3", b="fp8_e4m3", acc="fp16")
BF_32 = dict(in_fmt="bf16", acc="fp32")

# (formats, chunk, rounding, cycles); fp16 has the full chunk x mode cross product, the
# products every chunk once (rne and sr alternating), the other formats three of them
MATRIX = ([("fp16", FP16, c, m, 12_000) for c in (0, 1, 16, 64) for m in ("rne", "sr")]
          + [("e4m3->fp16", E4_16, 0, "sr", 12_000), ("e4m3->fp16", E4_16, 16, "sr", 12_000),
             ("e4m3->fp16", E4_16, 64, "rne", 12_000),
             ("e4m3*e4m3->fp16", PROD, 0, "rne", 12_000),
             ("e4m3*e4m3->fp16", PROD, 1, "sr", 12_000),
             ("e4m3*e4m3->fp16", PROD, 16, "rne", 12_000),
             ("e4m3*e4m3->fp16", PROD, 64, "sr", 12_000),
             ("bf16->fp32", BF_32, 0, "sr", 12_000), ("bf16->fp32", BF_32, 1, "rne", 12_000),
             ("bf16->fp32", BF_32, 64, "sr", 12_000),
             ("fp16", FP16, 16, "rdn", 12_000),
             ("dlfloat16", dict(in_fmt="dlfloat16", acc="dlfloat16"), 64, "rne", 12_000)])


@pytest.mark.sim
@pytest.mark.parametrize("name,fmts,chunk,rounding,cycles", MATRIX,
                         ids=[f"{n}-c{c}-{m}" for n, _, c, m, _ in MATRIX])
def test_stream_matrix_on_verilog(name, fmts, chunk, rounding, cycles, tmp_path):
    """Streams of 1..8 inputs then random lengths up to 4096 (several longer than 1000),
    the first half back-to-back, the second half with in_valid gaps."""
    seed = 1 + MATRIX.index((name, fmts, chunk, rounding, cycles))
    cfg = _acc(**fmts, chunk=chunk, rounding=rounding, seed=seed + 100)
    lengths, back_to_back = _streams(cfg.test_inputs(cycles, seed))
    assert lengths[:8].tolist() == list(range(1, 9))
    assert (lengths > 1000).sum() >= 3 and lengths.max() > 2000, lengths
    assert back_to_back >= 8
    report = verify(cfg, vectors=cycles, seed=seed, workdir=tmp_path, log=lambda m: None)
    _check(report, streams=len(lengths))


# ---- many short streams, with specials injected ----------------------------------------

def _short_streams_data(cfg, cycles, seed, max_length):
    """``accumulation_streams`` with short streams, NaN / +-Inf / max codes injected into a
    few streams (one stream gets +Inf and -Inf), and the golden expected results."""
    data = accumulation_streams(cfg.operand_formats(), cycles, seed, max_length=max_length)
    rng = np.random.default_rng(seed)
    valid = np.flatnonzero(data["valid"] == 1)
    k = max(6, int(data["in_last"][valid].sum()) // 5)  # specials per port
    for port, fmt in cfg.operand_formats().items():
        specials = [fmt.nan_code, fmt.max_code, fmt.max_code | fmt.sign_bit]
        if fmt.has_inf:
            specials += [fmt.inf_code, fmt.inf_code | fmt.sign_bit]
        where = rng.choice(valid, size=k, replace=False)
        data[port][where] = rng.choice(specials, size=k)
        if fmt.has_inf:  # +Inf then -Inf in one stream (its first two inputs)
            first = valid[np.flatnonzero(data["in_last"][valid] == 1)[10] + 1:][:2]
            if data["in_last"][first[0]] == 0:
                data[port][first] = [fmt.inf_code, fmt.inf_code | fmt.sign_bit]
    data.update(cfg.expected(data))
    return data


SHORT = [
    ("fp16-c16-sr", _acc(**FP16, chunk=16, rounding="sr", seed=5), 40),
    ("fp16-c0-rne", _acc(**FP16, chunk=0), 12),
    ("e4m3->fp16-c3-rne", _acc(**E4_16, chunk=3), 10),
    ("e4m3*e5m2->fp16-c1-sr", _acc(a="fp8_e4m3", b="fp8_e5m2", acc="fp16", chunk=1,
                                   rounding="sr"), 6),
    ("bf16->fp32-c64-rne", _acc(**BF_32, chunk=64), 200),
]


@pytest.mark.sim
@pytest.mark.parametrize("name,cfg,max_length", SHORT, ids=[s[0] for s in SHORT])
def test_short_streams_with_specials_back_to_back(name, cfg, max_length, tmp_path):
    """Hundreds of short streams (lengths around and across the chunk size), first half
    back-to-back: a new stream starts the cycle after in_last with no bubble (asserted to
    occur in the stimulus), and NaN / Inf / +-max inputs give the golden NaN / Inf / overflow
    results per stream without leaking into the next."""
    cycles = 3000
    data = _short_streams_data(cfg, cycles, seed=len(name), max_length=max_length)
    lengths, back_to_back = _streams(data)
    assert back_to_back >= len(lengths) // 3
    assert (lengths == 1).sum() >= 1
    acc = cfg.acc
    y = data["y"].astype(np.uint64)
    nan_or_inf = ((y >> np.uint64(acc.man_bits)) & np.uint64(acc.exp_field_max)) == \
        acc.exp_field_max
    assert nan_or_inf.sum() >= 3 and (~nan_or_inf).sum() >= len(lengths) // 2
    gen = generate(cfg)
    write_files(tmp_path, {f"{gen.name}.v": gen.verilog})
    res = run_cocotb(tmp_path / f"{gen.name}.v", gen.name, gen.manifest, data, tmp_path / "b")
    assert res.tried == len(lengths) and res.passed == res.tried, res.mismatches[:5]


# ---- gate-level netlist ----------------------------------------------------------------

@pytest.mark.sim
def test_synthesized_netlist_matches(tmp_path):
    cfg = AccConfig(in_fmt="fp8_e4m3", acc="fp16", chunk=16)
    report = verify(cfg, vectors=3000, seed=4, netlist=True, workdir=tmp_path,
                    log=lambda m: None)
    _check(report)
    assert report.netlist.tried == report.rtl.tried >= 9


# ---- AXPY ------------------------------------------------------------------------------

AXPY_CASES = [AxpyConfig(alpha="fp16", x="fp16", y="fp16"),
              AxpyConfig(alpha="fp32", x="fp16", y="bf16", pipeline=3),
              AxpyConfig(alpha="fp16", x="fp16", y="fp16", rounding="rne", pipeline=2)]


@pytest.mark.sim
@pytest.mark.parametrize("cfg", AXPY_CASES, ids=lambda c: c.default_name())
def test_axpy_on_verilog(cfg, tmp_path):
    """20,000 elements, the first half back-to-back, the second with in_valid gaps; every
    valid element's y' exactly `pipeline` cycles later."""
    n = 20_000
    report = verify(cfg, vectors=n, seed=3, workdir=tmp_path, log=lambda m: None)
    _check(report)
    valid = cfg.test_inputs(n, 3).get("valid")
    if valid is None:  # verify's default gaps: 25 % of the second half
        valid = stimulus(cfg, n, False, 3)["valid"]
    assert report.rtl.tried == int(np.sum(valid)) > 15_000


# ---- the benches can fail --------------------------------------------------------------

class _PerturbedAcc(AccConfig):
    """An AccConfig whose golden model is wrong in the lowest bit of stream 5's result."""

    def golden(self, inputs):
        y = super().golden(inputs).copy()
        y[5] ^= 1
        return y


@pytest.mark.sim
@pytest.mark.parametrize("chunk", [0, 16])
def test_bench_fails_on_wrong_golden(chunk, tmp_path):
    cfg = _PerturbedAcc(in_fmt="fp16", acc="fp16", chunk=chunk, rounding="sr")
    report = verify(cfg, vectors=2000, workdir=tmp_path, log=lambda m: None)
    assert not report.ok
    assert report.rtl.tried - report.rtl.passed == 1
    assert [m["index"] for m in report.rtl.mismatches] == [5]


@pytest.mark.sim
def test_bench_fails_on_wrong_latency_claim(tmp_path):
    """A manifest claiming latency 1 for a chunked accumulator (true latency 2), or 2 for
    chunk 0 (true 1): out_valid is then seen at the wrong cycle."""
    for chunk, claim in ((16, 1), (0, 2)):
        cfg = AccConfig(in_fmt="fp16", acc="fp16", chunk=chunk)
        data = stimulus(cfg, 1500, False, 2)
        gen = generate(cfg)
        work = tmp_path / f"c{chunk}"
        write_files(work, {f"{gen.name}.v": gen.verilog})
        manifest = dict(gen.manifest, latency=claim)
        res = run_cocotb(work / f"{gen.name}.v", gen.name, manifest, data, work / "b")
        assert res.passed == 0 < res.tried
        assert any("out_valid" in m.get("error", "") for m in res.mismatches)
