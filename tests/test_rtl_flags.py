"""Exception flags of the RTL (``flags=True``: a 5-bit ``flags`` port, NX=1 UF=2 OF=4 DZ=8
NV=16) on mul, add and mac against the golden model.

* cocotb + Icarus (``verify`` compares ``y`` and ``flags``): fp16 in every mode, every pair
  of fp8_e4m3 and the IEEE-like e4m3 (signaling NaNs: NV), dlfloat16 (no subnormals:
  UF = flushed), mixed formats.
* Underflow boundaries: inputs built so that the exact result lies within a few ulps of
  2**emin (mostly just below it, where rounding may carry it up to the smallest normal
  although it stays tiny when rounded with an unbounded exponent: UF with a normal result).
  They go through the Amaranth simulator against ``arith.*(flags=True)`` in every mode, and
  the golden UF/NX bits themselves are checked against an independent Fraction reference.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest

from fpforge.gen.emit import generate, write_files
from fpforge.gen.units import AddConfig, MacConfig, MulConfig
from fpforge.sim import arith
from fpforge.sim.formats import FloatFormat, parse
from fpforge.tb.runner import run_cocotb
from fpforge.gen.verify import verify

from rtl_bench import amaranth_run, assert_same, cocotb_check

MODES = ("rne", "rtz", "rna", "rup", "rdn")
NX, UF, OF, DZ, NV = 1, 2, 4, 8, 16


# ---- cocotb + Icarus -------------------------------------------------------------------

def _config(unit: str, fmt: str, rounding: str, **kw):
    if unit == "mul":
        return MulConfig(a=fmt, b=fmt, out=fmt, rounding=rounding, flags=True, **kw)
    if unit == "add":
        return AddConfig(a=fmt, b=fmt, out=fmt, rounding=rounding, flags=True, **kw)
    return MacConfig(a=fmt, b=fmt, c=fmt, out=fmt, rounding=rounding, flags=True, **kw)


#: vectors per fp16 run (Icarus: ~0.1 ms a vector for mul/add, ~0.3 ms for mac)
FP16_VECTORS = {"mul": 6_000, "add": 6_000, "mac": 2_500}


@pytest.mark.sim
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("unit", ["mul", "add", "mac"])
def test_fp16_flags_every_mode_on_verilog(unit, mode, tmp_path):
    cfg = _config(unit, "fp16", mode)
    report = cocotb_check(cfg, tmp_path, vectors=FP16_VECTORS[unit])
    assert report.rtl.tried == FP16_VECTORS[unit]


@pytest.mark.sim
@pytest.mark.parametrize("unit,fmt,mode,saturate", [
    ("mul", "fp8_e4m3", "rne", False),
    ("add", "fp8_e4m3", "rne", False),
    ("mul", "e4m3", "rup", False),
    ("add", "e4m3", "rdn", True),
])
def test_eight_bit_flags_exhaustive_on_verilog(unit, fmt, mode, saturate, tmp_path):
    """Every pair, both outputs: fp8_e4m3 (no Inf, NaN = all ones) and the IEEE-like e4m3,
    whose signaling NaNs raise NV."""
    cfg = _config(unit, fmt, mode, saturate=saturate)
    data_flags = cfg.expected(cfg.all_inputs())["flags"]
    # (a same-format sum is exact whenever it is tiny: no UF from add)
    bits = (NX, OF) + ((UF,) if unit == "mul" else ()) + ((NV,) if fmt == "e4m3" else ())
    for bit in bits:
        assert (data_flags & bit).any(), f"no vector raises flag {bit}"
    report = cocotb_check(cfg, tmp_path)
    assert report.rtl.tried == 65536


@pytest.mark.sim
def test_eight_bit_mac_flags_on_verilog(tmp_path):
    cfg = MacConfig(a="fp8_e4m3", b="fp8_e4m3", c="fp8_e4m3", out="fp8_e4m3", flags=True)
    cocotb_check(cfg, tmp_path, vectors=5_000)


@pytest.mark.sim
@pytest.mark.parametrize("cfg", [
    MulConfig(a="dlfloat16", b="dlfloat16", out="dlfloat16", rounding="rna", flags=True),
    AddConfig(a="dlfloat16", b="dlfloat16", out="dlfloat16", rounding="rne", flags=True),
    MacConfig(a="dlfloat16", b="dlfloat16", c="dlfloat16", out="dlfloat16", rounding="rna",
              flags=True),
    AddConfig(a="fp32", b="fp32", out="fp16", rounding="rdn", flags=True),
    MacConfig(a="fp16", b="fp16", c="fp16", out="fp16", fused=False, prod="fp8_e5m2",
              rounding="rne", flags=True),
], ids=lambda c: c.default_name())
def test_other_formats_flags_on_verilog(cfg, tmp_path):
    n = 2_500 if cfg.unit == "mac" else 6_000
    cocotb_check(cfg, tmp_path, vectors=n)


@pytest.mark.sim
def test_pipelined_flags_travel_with_y(tmp_path):
    """Flags are registered alongside y (with in_valid gaps); in the unfused MAC the
    product's flags travel through their own registers."""
    cocotb_check(MacConfig(a="fp16", b="fp16", c="fp16", out="fp16", fused=False,
                           prod="fp16", flags=True, pipeline=2), tmp_path / "mac",
                 vectors=1_500)


@dataclass(frozen=True)
class _NoUnderflowGolden(MulConfig):
    """A golden model that never raises UF."""

    def evaluate(self, inputs, rand):
        y, f = super().evaluate(inputs, rand)
        return y, f & np.uint8(~UF & 0xFF)


@pytest.mark.sim
def test_bench_reports_wrong_flags(tmp_path):
    cfg = _NoUnderflowGolden(a="fp8_e4m3", b="fp8_e4m3", out="fp8_e4m3", flags=True)
    inputs = cfg.all_inputs()
    uf = int((MulConfig.evaluate(cfg, inputs, None)[1] & UF != 0).sum())
    assert uf > 100
    report = verify(cfg, workdir=tmp_path, log=lambda m: None)
    assert report.rtl.tried == 65536 and report.rtl.tried - report.rtl.passed == uf
    assert all(m["got_y"] == m["want_y"] for m in report.rtl.mismatches)


# ---- underflow boundaries --------------------------------------------------------------

def _edge(fmt: FloatFormat) -> Fraction:
    """Where tininess starts: 2**emin, or (no subnormals) the smallest positive value."""
    return Fraction(2) ** fmt.emin if fmt.subnormals else fmt.min_positive


def _ulp(fmt: FloatFormat) -> Fraction:
    return Fraction(2) ** (fmt.emin - fmt.man_bits)


def _normal_code(fmt: FloatFormat, e: int, rng: random.Random, neg: bool) -> int:
    frac = rng.randrange(1 << fmt.man_bits)
    if fmt.nan == "allones" and e + fmt.bias == fmt.exp_field_max:
        frac = min(frac, fmt.man_mask - 1)
    return (int(neg) << (fmt.width - 1)) | ((e + fmt.bias) << fmt.man_bits) | frac


def _finite_nonzero(fmt: FloatFormat, code: int) -> bool:
    v = fmt.value(code)
    return isinstance(v, Fraction) and v != 0


def _attempts(n: int, got: list):
    """Loop of a constructor until ``got`` holds ``n`` vectors; fails instead of looping
    forever."""
    for _ in range(20 * n + 100):
        if len(got) >= n:
            return
        yield
    if len(got) < n:
        raise AssertionError("boundary construction keeps producing unusable operands")


def _log2_floor(x: Fraction) -> int:
    e = x.numerator.bit_length() - x.denominator.bit_length()
    return e - 1 if Fraction(2) ** e > x else e


def _target(fo: FloatFormat, rng: random.Random) -> Fraction:
    """A positive value within a few output ulps of the tininess edge: mostly in the last
    ulp below it (where it may round up to the edge), some further below and above."""
    edge, ulp = _edge(fo), _ulp(fo)
    k = rng.choice([1, 1, 1, 1, 2, 3, -1])  # in units of ulps below the edge
    return edge - ulp * Fraction(rng.randrange(1, 1 << 16), 1 << 16) * k


def _exponent_choices(fa: FloatFormat, fb: FloatFormat, log_q: int) -> list[int]:
    """Exponents of a normal ``a`` for which ``q / a`` (log2 q ~ log_q) is a finite ``b``
    (normal or subnormal)."""
    lo_b = fb.emin - (fb.man_bits if fb.subnormals else 0)
    return [e for e in range(fa.emin, fa.emax + 1) if lo_b <= log_q - e <= fb.emax - 1]


def mul_boundary(fa, fb, fo, n, seed):
    """(a, b) whose exact product lies near the output's tininess edge."""
    rng, a, b = random.Random(seed), [], []
    for _ in _attempts(n, a):
        t, neg = _target(fo, rng), rng.random() < 0.5
        ea = rng.choice(_exponent_choices(fa, fb, _log2_floor(t)))
        ca = _normal_code(fa, ea, rng, neg)
        cb = fb.encode_exact(t / abs(fa.value(ca)), rng.choice(["rne", "rtz", "rup"]))
        if rng.random() < 0.5:
            cb |= fb.sign_bit
        if _finite_nonzero(fb, cb):
            a.append(ca), b.append(cb)
    return {"a": np.array(a, dtype=np.uint64), "b": np.array(b, dtype=np.uint64)}


def add_boundary(fa, fb, fo, n, seed):
    """(a, b) with a near the edge and b a small correction (or a near-cancelling value),
    so the exact sum lies near the output's tininess edge with bits below its ulp."""
    rng, a, b = random.Random(seed), [], []
    ulp = _ulp(fo)
    for _ in _attempts(n, a):
        t, neg = _target(fo, rng), rng.random() < 0.5
        if rng.random() < 0.7:  # b tiny: a sticky / round-bit perturbation
            s = ulp * Fraction(rng.randrange(1, 1 << 12), 1 << rng.randrange(12, 22))
            s = s if rng.random() < 0.5 else -s
        else:  # b large, a nearly its negative: cancellation down to the edge
            s = -_edge(fo) * rng.choice([2, 3, 8, 64]) * Fraction(rng.randrange(1 << 10,
                                                                               1 << 11), 1 << 10)
        ca, cb = fa.encode_exact(t - s), fb.encode_exact(s, negative_zero=False)
        if not (_finite_nonzero(fa, ca) and _finite_nonzero(fb, cb)):
            continue
        if neg:
            ca, cb = ca ^ fa.sign_bit, cb ^ fb.sign_bit
        a.append(ca), b.append(cb)
    return {"a": np.array(a, dtype=np.uint64), "b": np.array(b, dtype=np.uint64)}


def mac_boundary(fa, fb, fc, fo, n, seed):
    """(a, b, c): c of either sign below twice the edge (its grid then no coarser than the
    output's ulp there), a*b close to t - c for t near the edge, and c re-encoded as
    t - a*b so the exact a*b + c (with all of the product's low bits) lands near t."""
    rng, a, b, c = random.Random(seed), [], [], []
    edge = _edge(fo)
    for _ in _attempts(n, a):
        t, neg = _target(fo, rng), rng.random() < 0.5
        cv = edge * Fraction(rng.randrange(1, 1 << 12), 1 << 11) * rng.choice([1, -1])
        q = t - cv
        choices = _exponent_choices(fa, fb, _log2_floor(abs(q))) if q else []
        if not choices:  # q outside what a * b reaches
            continue
        ea = rng.choice(choices)
        ca = _normal_code(fa, ea, rng, q < 0)
        cb = fb.encode_exact(abs(q) / abs(fa.value(ca)), rng.choice(["rne", "rtz", "rup"]))
        if not _finite_nonzero(fb, cb):
            continue
        cc = fc.encode_exact(t - fa.value(ca) * fb.value(cb))
        if not _finite_nonzero(fc, cc) or fa.value(ca) * fb.value(cb) + fc.value(cc) == 0:
            continue
        if neg:
            ca, cc = ca ^ fa.sign_bit, cc ^ fc.sign_bit
        a.append(ca), b.append(cb), c.append(cc)
    return {k: np.array(v, dtype=np.uint64) for k, v in zip("abc", (a, b, c))}


def _round_int(q: Fraction, mode: str, neg: bool) -> int:
    """q >= 0 rounded to an integer in ``mode`` (the value's sign is ``neg``)."""
    fl = q.numerator // q.denominator
    rest = q - fl
    if rest == 0:
        return fl
    up = {"rne": rest > Fraction(1, 2) or (rest == Fraction(1, 2) and fl % 2 == 1),
          "rna": rest >= Fraction(1, 2), "rtz": False, "rup": not neg, "rdn": neg}[mode]
    return fl + int(up)


def reference_nx_uf(x: Fraction, fo: FloatFormat, mode: str) -> int:
    """NX | UF of rounding the exact nonzero x (no overflow) to ``fo``, from first
    principles: UF when x rounded with an unbounded exponent (precision p) is below the
    tininess edge and the delivered result is inexact; without subnormals such a value
    flushes to zero."""
    neg, ax, p = x < 0, abs(x), fo.precision
    e = _log2_floor(ax)
    step = Fraction(2) ** (e - p + 1)
    unbounded = _round_int(ax / step, mode, neg) * step
    tiny = unbounded < _edge(fo)
    if fo.subnormals:
        step = Fraction(2) ** (max(e, fo.emin) - p + 1)
        delivered = _round_int(ax / step, mode, neg) * step
    else:
        delivered = Fraction(0) if tiny else unbounded
    inexact = delivered != ax
    return (NX if inexact else 0) | (UF if tiny and inexact else 0)


def _exact(unit, fmts, inputs, i):
    vals = [f.value(int(inputs[k][i])) for k, f in zip("abc", fmts)]
    if unit == "mul":
        return vals[0] * vals[1]
    if unit == "add":
        return vals[0] + vals[1]
    return vals[0] * vals[1] + vals[2]


BOUNDARY = [
    ("mul", ("fp16", "fp16", "fp16")),
    ("mul", ("fp8_e4m3", "fp8_e5m2", "fp8_e4m3")),
    ("mul", ("fp32", "fp32", "dlfloat16")),
    ("add", ("fp32", "fp32", "fp16")),
    ("add", ("fp32", "fp32", "bf16")),
    ("add", ("fp16", "fp16", "fp8_e5m2")),
    ("add", ("fp32", "fp32", "dlfloat16")),
    ("mac", ("fp16", "fp16", "fp16", "fp16")),
    ("mac", ("fp8_e4m3", "fp8_e4m3", "fp16", "fp8_e4m3")),
]
BOUNDARY_IDS = [f"{u}-{'-'.join(f)}" for u, f in BOUNDARY]


def boundary_case(unit, names, n, seed=3):
    """(formats, output format, inputs, config factory) of a boundary case."""
    fmts = [parse(f) for f in names]
    *ins, fo = fmts
    if unit == "mul":
        inputs = mul_boundary(*ins, fo, n, seed)
        make = lambda mode, **kw: MulConfig(a=ins[0], b=ins[1], out=fo, rounding=mode,  # noqa
                                            flags=True, **kw)
    elif unit == "add":
        inputs = add_boundary(*ins, fo, n, seed)
        make = lambda mode, **kw: AddConfig(a=ins[0], b=ins[1], out=fo, rounding=mode,  # noqa
                                            flags=True, **kw)
    else:
        inputs = mac_boundary(*ins, fo, n, seed)
        make = lambda mode, **kw: MacConfig(a=ins[0], b=ins[1], c=ins[2], out=fo,  # noqa
                                            rounding=mode, flags=True, **kw)
    return ins, fo, inputs, make


@pytest.mark.parametrize("unit,names", BOUNDARY, ids=BOUNDARY_IDS)
def test_boundary_vectors_hit_the_edge_and_golden_agrees_with_fractions(unit, names):
    """The constructed vectors land where intended, and the golden NX/UF of each one, in
    every mode, is what first principles say."""
    ins, fo, inputs, make = boundary_case(unit, names, 400)
    exact = [_exact(unit, ins, inputs, i) for i in range(400)]
    assert all(x != 0 for x in exact)
    edge = _edge(fo)
    near = sum(edge - 4 * _ulp(fo) < abs(x) < edge for x in exact)
    assert near > 200, f"only {near} of 400 just below the edge"
    hits = {}
    for mode in MODES:
        y, flags = make(mode).evaluate(inputs, None)
        want = np.array([reference_nx_uf(x, fo, mode) for x in exact], dtype=np.uint8)
        assert_same(flags & (NX | UF), want, inputs, f"golden flags[{mode}]")
        at_edge = (y.astype(np.uint64) & np.uint64(fo.sign_bit - 1)) == fo.min_normal_code
        hits[mode] = (int((at_edge & (flags & UF != 0)).sum()),
                      int((at_edge & (flags & UF == 0) & (flags & NX != 0)).sum()),
                      int((flags & UF != 0).sum()))
    if fo.subnormals:
        # rounded up to 2**emin yet tiny (UF), and rounded up to it from a value that is not
        # tiny after rounding (no UF): both kinds occur in round-to-nearest
        assert hits["rne"][0] > 0 and hits["rne"][1] > 0, hits
        assert hits["rup"][0] + hits["rdn"][0] > 0, hits
    assert all(h[2] > 0 for h in hits.values()), hits


@pytest.mark.parametrize("unit,names", BOUNDARY, ids=BOUNDARY_IDS)
@pytest.mark.parametrize("mode", MODES)
def test_boundary_vectors_on_amaranth_sim(unit, names, mode):
    ins, fo, inputs, make = boundary_case(unit, names, 64, seed=MODES.index(mode))
    cfg = make(mode)
    want_y, want_flags = arith_call(unit, cfg, inputs)
    got = amaranth_run(cfg.build(), inputs)
    assert_same(got["y"], want_y, inputs, f"y[{mode}]")
    assert_same(got["flags"], want_flags, inputs, f"flags[{mode}]")


def arith_call(unit, cfg, inputs):
    """arith.mul/add/fma with flags=True, called directly."""
    if unit == "mul":
        return arith.mul(inputs["a"], inputs["b"], cfg.a, cfg.b, cfg.out, cfg.rounding,
                         flags=True)
    if unit == "add":
        return arith.add(inputs["a"], inputs["b"], cfg.a, cfg.b, cfg.out, cfg.rounding,
                         flags=True)
    return arith.fma(inputs["a"], inputs["b"], inputs["c"], cfg.a, cfg.b, cfg.c, cfg.out,
                     cfg.rounding, flags=True)


@pytest.mark.sim
@pytest.mark.parametrize("unit,names", BOUNDARY, ids=BOUNDARY_IDS)
def test_boundary_vectors_on_verilog(unit, names, tmp_path):
    """More of the same vectors through the emitted Verilog, one mode per case (the
    Amaranth test above covers every mode)."""
    ins, fo, inputs, make = boundary_case(unit, names, 1_000, seed=17)
    for mode in [MODES[BOUNDARY_IDS.index(f"{unit}-{'-'.join(names)}") % len(MODES)]]:
        cfg = make(mode)
        gen = generate(cfg)
        work = tmp_path / mode
        write_files(work, {f"{gen.name}.v": gen.verilog})
        data = dict(inputs)
        data.update(cfg.expected(data))
        res = run_cocotb(work / f"{gen.name}.v", gen.name, gen.manifest, data, work / "b")
        assert res.tried == 1_000 and res.passed == res.tried, (mode, res.mismatches[:5])
