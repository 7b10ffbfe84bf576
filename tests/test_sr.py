"""Stochastic rounding (``sr``): with d the discarded fraction in ulps and r the R-bit draw,
the magnitude rounds up iff floor(d * 2**R) + r >= 2**R.

* The RTL PRNG inside a unit and the golden stream agree bit for bit: pipelined sr adders,
  multipliers and MACs with ``rand_source="prng"`` (several seeds, R = 1, 8, 16, 32) on
  the emitted Verilog with in_valid gaps (the PRNG steps once per valid input), and
  ``rand_source="port"`` units (combinational and pipelined).  A golden that uses another
  seed or a stream shifted by one draw fails.
* The rounding rule itself, exhaustively over the draws (RTL and golden): the number of
  draws that round up is exactly floor(d * 2**R); representable values never move.
* Statistics: rounding a fixed non-representable value 100,000 times with independent draws
  gives the mean x_down + ulp * floor(d * 2**R) / 2**R within 4 sigma (Bernoulli), which is
  within 2**-R ulp of x; round-to-nearest on the same data is off by many sigma; and the
  test notices a compare that is off by one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest

from fpforge.gen.emit import generate, write_files
from fpforge.gen.units import AddConfig, MacConfig, MulConfig
from fpforge.sim import arith
from fpforge.sim.formats import parse
from fpforge.sim.prng import draws
from fpforge.tb.runner import run_cocotb
from fpforge.tb.stimulus import stimulus

from rtl_bench import amaranth_run, assert_same, cocotb_check

FP16, FP32, BF16 = parse("fp16"), parse("fp32"), parse("bf16")


def _run_vectors(cfg, inputs: dict, tmp_path):
    """The emitted Verilog of ``cfg`` on exactly ``inputs`` (golden from cfg.expected)."""
    gen = generate(cfg)
    write_files(tmp_path, {f"{gen.name}.v": gen.verilog})
    data = dict(inputs)
    data.update(cfg.expected(data))
    return run_cocotb(tmp_path / f"{gen.name}.v", gen.name, gen.manifest, data, tmp_path / "b")


# ---- the PRNG inside a unit matches the golden stream ----------------------------------

def _sr_moves(cfg, inputs) -> float:
    """Fraction of vectors whose sr result depends on the draw (draw 0 vs all ones)."""
    n = len(inputs["a"])
    lo = cfg.evaluate(inputs, np.zeros(n, dtype=np.uint64))
    hi = cfg.evaluate(inputs, np.full(n, (1 << cfg.rand_bits) - 1, dtype=np.uint64))
    return float(np.mean(lo != hi))


@pytest.mark.parametrize("cfg", [
    AddConfig(a="fp16", b="fp16", out="fp16", rounding="sr", rand_bits=16, seed=1,
              pipeline=2),
    MulConfig(a="fp16", b="fp16", out="fp8_e5m2", rounding="sr", rand_bits=8, seed=77,
              pipeline=1),
    MacConfig(a="fp8_e4m3", b="fp8_e4m3", c="fp16", out="fp16", rounding="sr", rand_bits=32,
              seed=0xDEADBEEF, pipeline=3),
], ids=lambda c: c.default_name())
def test_amaranth_sim_prng_stream_with_gaps(cfg):
    inputs = cfg.test_inputs(60, seed=4)
    n = 60
    inputs["valid"] = (np.random.default_rng(2).random(n) < 0.7).astype(np.uint64)
    want = cfg.expected(inputs)["y"][inputs["valid"] == 1]
    got = amaranth_run(cfg.build(), inputs, cfg.latency)["y"]
    assert_same(got, want, {k: v[inputs["valid"] == 1] for k, v in inputs.items()})


PRNG_UNITS = [
    (AddConfig(a="fp16", b="fp16", out="fp16", rounding="sr", rand_bits=16, seed=1,
               pipeline=1), 20_000),
    (AddConfig(a="fp32", b="fp32", out="bf16", rounding="sr", rand_bits=32,
               seed=0xDEADBEEF, pipeline=3), 10_000),
    (MulConfig(a="fp16", b="fp16", out="fp16", rounding="sr", rand_bits=8, seed=12345,
               pipeline=2), 10_000),
    (MulConfig(a="fp8_e4m3", b="fp8_e4m3", out="fp8_e4m3", rounding="sr", rand_bits=1,
               seed=0xFFFFFFFF, pipeline=1), 10_000),
    (MacConfig(a="fp16", b="fp16", c="fp16", out="fp16", rounding="sr", rand_bits=16,
               seed=99, pipeline=2), 3_000),
    (MacConfig(a="fp8_e4m3", b="fp8_e4m3", c="fp32", out="bf16", rounding="sr",
               rand_bits=32, seed=0x13579BDF, pipeline=4), 3_000),
]


@pytest.mark.sim
@pytest.mark.parametrize("cfg,vectors", PRNG_UNITS,
                         ids=[c.default_name() for c, _ in PRNG_UNITS])
def test_prng_unit_matches_golden_stream_on_verilog(cfg, vectors, tmp_path):
    """verify() gives clocked units back-to-back vectors, then in_valid gaps; the golden
    takes draw k of draws(seed) for the k-th valid vector."""
    data = stimulus(cfg, vectors, False, 1)
    assert _sr_moves(cfg, data) > 0.1  # the draws matter for many of these vectors
    assert (data["valid"] == 0).sum() > 0.05 * len(data["valid"])
    report = cocotb_check(cfg, tmp_path, vectors=vectors)
    assert report.rtl.tried == int(data["valid"].sum())


@dataclass(frozen=True)
class _OtherSeed(AddConfig):
    """A golden that takes its draws from the stream of seed + 1."""

    def draws(self, inputs):
        n = len(inputs["a"])
        valid = np.asarray(inputs.get("valid", np.ones(n)), dtype=bool)
        stream = draws(self.seed + 1, int(valid.sum()) + 1, self.rand_bits)
        return stream[np.cumsum(valid) - valid]


@dataclass(frozen=True)
class _OneDrawAhead(AddConfig):
    """A golden whose k-th valid vector uses draw k + 1 (a PRNG that stepped early)."""

    def draws(self, inputs):
        n = len(inputs["a"])
        valid = np.asarray(inputs.get("valid", np.ones(n)), dtype=bool)
        stream = draws(self.seed, int(valid.sum()) + 2, self.rand_bits)
        return stream[np.cumsum(valid) - valid + 1]


@dataclass(frozen=True)
class _StepsOnGaps(AddConfig):
    """A golden whose PRNG steps every cycle, valid or not."""

    def draws(self, inputs):
        n = len(inputs["a"])
        return draws(self.seed, n, self.rand_bits)


def _inexact_sums(n: int, seed: int) -> dict:
    """fp16 pairs a in [1, 2), b 1..10 binades lower (nearly every sum is inexact), with
    in_valid gaps throughout."""
    rng = np.random.default_rng(seed)
    a = (15 << 10) | rng.integers(0, 1 << 10, n)
    b = ((15 - rng.integers(1, 11, n)) << 10) | rng.integers(0, 1 << 10, n)
    b |= rng.integers(0, 2, n) << 15
    valid = (rng.random(n) < 0.7).astype(np.uint64)
    return {"a": a.astype(np.uint64), "b": b.astype(np.uint64), "valid": valid}


@pytest.mark.sim
@pytest.mark.parametrize("cls", [_OtherSeed, _OneDrawAhead, _StepsOnGaps])
def test_bench_catches_a_wrong_stream(cls, tmp_path):
    cfg = cls(a="fp16", b="fp16", out="fp16", rounding="sr", rand_bits=8, seed=3,
              pipeline=2)
    data = _inexact_sums(3_000, seed=1)
    assert _sr_moves(cfg, data) > 0.5
    res = _run_vectors(cfg, data, tmp_path)
    assert res.tried == int(data["valid"].sum())
    assert res.tried - res.passed > 0.2 * res.tried, (res.tried, res.passed)


@pytest.mark.sim
def test_prng_unit_on_inexact_sums_with_gaps_everywhere(tmp_path):
    """The right stream passes on the same data (gaps from the first cycle on)."""
    cfg = AddConfig(a="fp16", b="fp16", out="fp16", rounding="sr", rand_bits=8, seed=3,
                    pipeline=2)
    data = _inexact_sums(6_000, seed=1)
    res = _run_vectors(cfg, data, tmp_path)
    assert res.tried == int(data["valid"].sum()) and res.passed == res.tried, \
        res.mismatches[:5]


PORT_UNITS = [
    (AddConfig(a="fp16", b="fp16", out="fp16", rounding="sr", rand_bits=16,
               rand_source="port"), 10_000),
    (AddConfig(a="fp32", b="fp32", out="bf16", rounding="sr", rand_bits=32,
               rand_source="port", pipeline=4), 6_000),  # rand registered with operands
    (MulConfig(a="fp16", b="fp16", out="fp16", rounding="sr", rand_bits=8,
               rand_source="port"), 10_000),
    (MulConfig(a="fp8_e4m3", b="fp8_e5m2", out="fp8_e4m3", rounding="sr", rand_bits=1,
               rand_source="port"), None),  # every pair, random draws
    (MacConfig(a="fp16", b="fp16", c="fp16", out="fp16", rounding="sr", rand_bits=12,
               rand_source="port"), 3_000),
    (MacConfig(a="fp8_e4m3", b="fp8_e4m3", c="fp32", out="fp16", rounding="sr",
               rand_bits=20, rand_source="port"), 3_000),
]


@pytest.mark.sim
@pytest.mark.parametrize("cfg,vectors", PORT_UNITS,
                         ids=[c.default_name() for c, _ in PORT_UNITS])
def test_rand_port_unit_matches_golden_on_verilog(cfg, vectors, tmp_path):
    data = stimulus(cfg, vectors, False, 1)
    assert _sr_moves(cfg, data) > 0.1
    report = cocotb_check(cfg, tmp_path, vectors=vectors)
    assert report.rtl.tried == int(data.get("valid", np.ones(len(data["a"]))).sum())


# ---- the rounding rule, exhaustively over the draws ------------------------------------

def _fp32_codes(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)


def _rule_vectors(r_bits: int, n_values: int, seed: int):
    """fp32 values x (positive and negative; their discarded fractions d in fp16 spread
    over [0, 1), with many below 2**-R) each paired with every R-bit draw."""
    rng = np.random.default_rng(seed)
    mag = rng.uniform(1, 2, n_values) * 2.0 ** rng.integers(-14, 15, n_values)  # fp16 normal
    x = _fp32_codes(mag * rng.choice([-1, 1], n_values))
    # some x with d < 2**-R: an fp16 value plus less than 2**-R of its ulp
    few = n_values // 4
    base = x[:few] & np.uint64(~0x1FFF & 0xFFFFFFFF)       # on the fp16 grid (13 low bits 0)
    tiny_d = rng.integers(1, 1 << max(0, 13 - r_bits), few).astype(np.uint64)
    x[:few] = base | tiny_d
    draws_all = np.arange(1 << r_bits, dtype=np.uint64)
    return np.repeat(x, draws_all.size), np.tile(draws_all, n_values)


def _discarded(x_codes, out_fmt, r_bits):
    """floor(d * 2**R) of fp32 -> fp16 (normal range) per code."""
    vals = [abs(FP32.value(int(c))) for c in x_codes]
    out = []
    for v in vals:
        e = v.numerator.bit_length() - v.denominator.bit_length()
        e = e - 1 if Fraction(2) ** e > v else e
        ulp = Fraction(2) ** (max(e, out_fmt.emin) - out_fmt.man_bits)
        d = v / ulp - (v / ulp).numerator // (v / ulp).denominator
        out.append(int(d * (1 << r_bits)))
    return np.array(out)


@pytest.mark.parametrize("r_bits", [1, 4, 8])
def test_golden_up_count_over_all_draws_is_floor_d(r_bits):
    """For each x, exactly floor(d * 2**R) of the 2**R draws round the magnitude up
    (none when floor(d * 2**R) = 0, e.g. d < 2**-R)."""
    n_values = 64
    x, r = _rule_vectors(r_bits, n_values, seed=r_bits)
    zero = np.zeros_like(x)
    y = arith.add(x, zero, FP32, FP32, FP16, "sr", rand=r, rand_bits=r_bits)
    down = arith.add(x, zero, FP32, FP32, FP16, "rtz")
    moved = (y != down).reshape(n_values, 1 << r_bits)
    k = _discarded(x[::1 << r_bits], FP16, r_bits)
    assert (k == 0).sum() >= n_values // 4
    np.testing.assert_array_equal(moved.sum(axis=1), k)
    # the draws that round up are the top floor(d*2**R) ones
    draws_up = np.arange(1 << r_bits)[None, :] >= (1 << r_bits) - k[:, None]
    np.testing.assert_array_equal(moved, draws_up)


@pytest.mark.sim
@pytest.mark.parametrize("unit", ["add", "mul"])
def test_rtl_up_count_over_all_draws_on_verilog(unit, tmp_path):
    """The same every-draw vectors through a rand-port adder (x + 0) and multiplier
    (x * 1): the RTL compare is floor(d * 2**R) + r >= 2**R exactly."""
    r_bits = 8
    x, r = _rule_vectors(r_bits, 48, seed=11)
    if unit == "add":
        cfg = AddConfig(a="fp32", b="fp32", out="fp16", rounding="sr", rand_bits=r_bits,
                        rand_source="port")
        other = np.zeros_like(x)
    else:
        cfg = MulConfig(a="fp32", b="fp32", out="fp16", rounding="sr", rand_bits=r_bits,
                        rand_source="port")
        other = np.full_like(x, 0x3F800000)
    res = _run_vectors(cfg, {"a": x, "b": other, "rand": r}, tmp_path)
    assert res.tried == x.size and res.passed == res.tried, res.mismatches[:5]


@pytest.mark.parametrize("r_bits", [1, 16, 32])
def test_golden_representable_values_never_move(r_bits):
    """Every fp16 code: x + (-0) and x * 1 in sr give x back for any draw (NaN: the
    canonical NaN)."""
    codes = FP16.all_codes().astype(np.uint64)
    finite = ~np.isnan(FP16.decode(codes))
    top = (1 << r_bits) - 1
    rng = np.random.default_rng(r_bits)
    for rand in (0, top, rng.integers(0, top + 1, codes.size, dtype=np.uint64)):
        y_add = arith.add(codes, np.uint64(0x8000), FP16, FP16, FP16, "sr", rand=rand,
                          rand_bits=r_bits)
        y_mul = arith.mul(codes, np.uint64(0x3C00), FP16, FP16, FP16, "sr", rand=rand,
                          rand_bits=r_bits)
        np.testing.assert_array_equal(y_add[finite], codes[finite])
        np.testing.assert_array_equal(y_mul[finite], codes[finite])
        assert (y_add[~finite] == FP16.nan_code).all()
    # widened to fp32 (the sticky path of a wider input), rounded back to fp16
    x32 = _fp32_codes(FP16.decode(codes[finite]).astype(np.float32))
    y = arith.add(x32, np.uint64(0x80000000), FP32, FP32, FP16, "sr",
                  rand=np.uint64(top), rand_bits=r_bits)
    np.testing.assert_array_equal(y, codes[finite])


@pytest.mark.sim
def test_rtl_representable_values_never_move_on_verilog(tmp_path):
    """Every other finite fp16 value (both signs, every binade) widened to fp32, + (-0),
    rounded to fp16 by an sr rand-port adder, with the all-ones draw (the most eager) and
    random draws: unchanged."""
    codes = FP16.all_codes().astype(np.uint64)
    codes = codes[~np.isnan(FP16.decode(codes))][::2]
    x32 = _fp32_codes(FP16.decode(codes).astype(np.float32))
    cfg = AddConfig(a="fp32", b="fp32", out="fp16", rounding="sr", rand_bits=16,
                    rand_source="port")
    rand = np.random.default_rng(0).integers(0, 1 << 16, x32.size, dtype=np.uint64)
    rand[::2] = 0xFFFF
    data = {"a": x32, "b": np.full_like(x32, 0x80000000), "rand": rand}
    assert (cfg.expected(data)["y"] == codes).all()
    res = _run_vectors(cfg, data, tmp_path)
    assert res.tried == x32.size and res.passed == res.tried, res.mismatches[:5]


# ---- statistics ------------------------------------------------------------------------

N = 100_000


def _fp32(value: float) -> int:
    return int(_fp32_codes([value])[0])


# id -> (a code, a format, b code, b format, out format)
STAT_CASES = {
    "1+2^-13->fp16": (0x3F800400, FP32, 0, FP32, FP16),
    "1/3->bf16": (_fp32(1 / 3), FP32, 0, FP32, BF16),
    "1/3->fp16": (_fp32(1 / 3), FP32, 0, FP32, FP16),
    "-0.1->fp16": (_fp32(-0.1), FP32, 0, FP32, FP16),
    "1+1e-5->bf16": (0x3F80, BF16, _fp32(1e-5), FP32, BF16),
    "1+1e-5->fp16": (0x3C00, FP16, _fp32(1e-5), FP32, FP16),
    "3e-6->fp16 subnormal": (_fp32(3e-6), FP32, 0, FP32, FP16),
    "0.3->fp8_e4m3": (_fp32(0.3), FP32, 0, FP32, parse("fp8_e4m3")),
}


def _neighbours(x: Fraction, fmt):
    """(toward-zero neighbour, away neighbour, ulp) of a non-representable x."""
    down = fmt.value(fmt.encode_exact(x, "rtz"))
    up = fmt.value(fmt.encode_exact(x, "rup" if x > 0 else "rdn"))
    return down, up, abs(up - down)


def _sr_mean(case, r_bits, seed, rand_map=None):
    """(exact x, mean of N sr results as a Fraction, ulp, p = floor(d 2**R)/2**R, down,
    up) for one case, draws from the golden PRNG stream."""
    a, fa, b, fb, fo = STAT_CASES[case]
    x = fa.value(a) + fb.value(b)
    down, up, ulp = _neighbours(x, fo)
    d = abs(x - down) / ulp
    assert 0 < d < 1
    p = Fraction(int(d * (1 << r_bits)), 1 << r_bits)
    rand = draws(seed, N, r_bits).astype(np.uint64)
    if rand_map is not None:
        rand = rand_map(rand)
    y = arith.add(np.full(N, a, dtype=np.uint64), np.full(N, b, dtype=np.uint64), fa, fb, fo,
                  "sr", rand=rand, rand_bits=r_bits)
    codes, counts = np.unique(y, return_counts=True)
    values = [fo.value(int(c)) for c in codes]
    assert set(values) <= {down, up}, (values, down, up)  # only the two neighbours
    mean = sum(v * int(k) for v, k in zip(values, counts)) / N
    return x, mean, ulp, p, down, up


def _sigma(ulp: Fraction, p: Fraction) -> float:
    """Standard deviation of the mean of N Bernoulli(p) steps of one ulp."""
    return float(ulp) * math.sqrt(float(p * (1 - p)) / N)


@pytest.mark.parametrize("r_bits", [4, 16, 32])
@pytest.mark.parametrize("case", list(STAT_CASES))
def test_sr_mean_is_unbiased_within_4_sigma(case, r_bits):
    seed = 1 + list(STAT_CASES).index(case) * 1000 + r_bits
    x, mean, ulp, p, down, up = _sr_mean(case, r_bits, seed)
    expected = down + (up - down) * p  # x rounded toward zero plus p ulps away
    # the expectation is within 2**-R ulp of x, on the side of zero
    assert 0 <= abs(x - down) - abs(expected - down) < ulp / (1 << r_bits)
    sigma = _sigma(ulp, p)
    if p == 0:
        assert mean == down
    else:
        assert abs(float(mean - expected)) <= 4 * sigma, (
            f"{case}: mean {float(mean)!r} vs {float(expected)!r}, "
            f"{float(abs(mean - expected)) / sigma:.1f} sigma")


@pytest.mark.parametrize("case", list(STAT_CASES))
def test_rne_on_the_same_data_is_visibly_biased(case):
    """Round-to-nearest gives one value every time: its error is many SR sigmas."""
    a, fa, b, fb, fo = STAT_CASES[case]
    x, mean, ulp, p, down, up = _sr_mean(case, 16, seed=42)
    rne = arith.add(np.full(N, a, dtype=np.uint64), np.full(N, b, dtype=np.uint64),
                    fa, fb, fo, "rne")
    assert len(np.unique(rne)) == 1
    rne_mean = fo.value(int(rne[0]))
    sigma = _sigma(ulp, p)
    assert float(abs(rne_mean - x)) > 8 * sigma, (case, float(abs(rne_mean - x)) / sigma)
    assert abs(float(mean - x)) < float(abs(rne_mean - x)) / 4


def test_statistics_notice_an_off_by_one_compare():
    """With R = 4, a compare of > instead of >= (draws r -> max(r - 1, 0)) moves the mean
    by 1/16 ulp: tens of sigma, so the 4-sigma test fails on it."""
    case, r_bits = "1/3->fp16", 4
    x, mean, ulp, p, down, up = _sr_mean(
        case, r_bits, 7, rand_map=lambda r: np.maximum(r, 1) - np.uint64(1))
    expected = down + (up - down) * p
    assert p not in (0, 1)
    assert abs(float(mean - expected)) > 10 * _sigma(ulp, p)


def test_sr_step_probability_is_zero_when_floor_d_is_zero():
    """d < 2**-R: P(up) = 0 whatever the draws; d = 2**-R exactly: up only for the
    all-ones draw."""
    # 1 + 2**-20 -> fp16: d = 2**-10 ulp
    x = np.full(1 << 8, 0x3F800008, dtype=np.uint64)
    zero = np.zeros_like(x)
    all8 = np.arange(1 << 8, dtype=np.uint64)
    y = arith.add(x, zero, FP32, FP32, FP16, "sr", rand=all8, rand_bits=8)
    assert (y == 0x3C00).all()
    y = arith.add(x, zero, FP32, FP32, FP16, "sr", rand=np.arange(1 << 10, dtype=np.uint64)
                  [:256], rand_bits=10)
    assert (y == 0x3C01).sum() == 0  # draws 0..255 of 1024: none is all ones
    y = arith.add(np.full(1 << 10, 0x3F800008, dtype=np.uint64), np.zeros(1 << 10, np.uint64),
                  FP32, FP32, FP16, "sr", rand=np.arange(1 << 10, dtype=np.uint64),
                  rand_bits=10)
    assert np.flatnonzero(y == 0x3C01).tolist() == [1023]
