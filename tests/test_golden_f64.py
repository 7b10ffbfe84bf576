"""binary64 (``fp64`` = e11m52) in the golden ``mul``/``add``/``fma`` against SoftFloat's
f64 operations in every IEEE mode, with flags (tininess after rounding), and against the
Fraction references on a sample.  The fma's 106-bit products take the exact
Python-integer path (``arith._wide_sum``); mul keeps the top 64 product bits + sticky.

Vectors: the generators ``fpforge verify`` uses (corner pairs, products aimed at the
overflow and subnormal thresholds, near and far exponents for sums, cancellation and
sticky cases for fma) plus half-ulp ties built here."""

from __future__ import annotations

import numpy as np
import pytest

from fpforge.sim import arith
from fpforge.sim.formats import parse
from fpforge.tb.vectors import add_operands, mac_operands, mul_operands

from reference import (MODES, NAN, frac_add_flags, frac_fma_flags, frac_mul_flags,
                       softfloat_run, spec)

F64 = parse("fp64")
N = 4_000


def _ties(n, seed):
    """a * b + c where c cancels the product's top half and leaves an exact tie or a
    near-tie below the ulp: b = 1 + 2**-52 * k, c = -a (fma rounds a * 2**-52 * k)."""
    rng = np.random.default_rng(seed)
    a = ((rng.integers(900, 1100, n).astype(np.uint64) << np.uint64(52))
         | rng.integers(0, 1 << 52, n, dtype=np.uint64))
    b = (np.uint64(1023) << np.uint64(52)) | rng.integers(1, 8, n).astype(np.uint64)
    c = a | np.uint64(1 << 63)
    return a, b, c


def _vectors(op, seed):
    if op == "mul":
        return mul_operands(F64, F64, F64, N, seed)
    if op == "add":
        return add_operands(F64, F64, F64, N, seed)
    a, b, c = mac_operands(F64, F64, F64, N, seed)
    ta, tb, tc = _ties(N // 4, seed)
    return tuple(np.concatenate(x) for x in ((a, ta), (b, tb), (c, tc)))


def _golden(op, args, mode):
    fn = {"mul": arith.mul, "add": arith.add, "fma": arith.fma}[op]
    return fn(*args, *([F64] * (len(args) + 1)), rounding=mode, flags=True)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op", ["mul", "add", "fma"])
def test_f64_matches_softfloat(op, mode):
    args = _vectors(op, 7 + MODES.index(mode))
    want_codes, want_flags = softfloat_run({"mul": "f64_mul", "add": "f64_add",
                                            "fma": "f64_mul_add"}[op], mode, *args)
    codes, flags = _golden(op, args, mode)
    codes = codes.astype(np.uint64)
    bad = np.flatnonzero((codes != want_codes) | (flags != want_flags))
    assert bad.size == 0, [(op, mode, [hex(int(a[i])) for a in args], hex(int(codes[i])),
                            int(flags[i]), hex(int(want_codes[i])), int(want_flags[i]))
                           for i in bad[:5]]
    # the vectors reach several flag combinations (a sum is never tiny and inexact)
    assert len(np.unique(want_flags)) >= (3 if op == "add" else 4), np.unique(want_flags)


@pytest.mark.parametrize("op", ["mul", "add", "fma"])
def test_f64_matches_fractions(op):
    """A sample of every mode against the exact-rational references, saturation too."""
    s = spec(F64)
    ref = {"mul": frac_mul_flags, "add": frac_add_flags, "fma": frac_fma_flags}[op]
    args = _vectors(op, 99)
    pick = np.random.default_rng(5).choice(args[0].size, 40, replace=False)
    for mode in MODES:
        for saturate in (False, True):
            fn = {"mul": arith.mul, "add": arith.add, "fma": arith.fma}[op]
            sub = [a[pick] for a in args]
            codes, flags = fn(*sub, *([F64] * (len(sub) + 1)), rounding=mode,
                              saturate=saturate, flags=True)
            for i in range(pick.size):
                code, fl = ref(*(int(a[i]) for a in sub), *([F64] * (len(sub) + 1)), mode,
                               saturate)
                same = code == int(codes[i]) or (s.decode(code)[0] == NAN
                                                 and s.decode(int(codes[i]))[0] == NAN)
                assert same and fl == int(flags[i]), (op, mode, saturate,
                                                      [hex(int(a[i])) for a in sub])


def test_f64_fma_exact_cancellation_and_far_addend():
    """Hand-checked: (1 + 2**-52)(1 - 2**-52) - 1 = -2**-104 exactly; 1 * 1 + 2**-1074
    rounds to 1 (rne) or to nextafter(1) (rup); 2**1023 * 2 - 2**1023 overflows nothing."""
    one, eps = 0x3FF0000000000000, 1
    a, b, c = one + eps, 0x3FEFFFFFFFFFFFFE, one | (1 << 63)
    y = int(arith.fma(a, b, c, F64, F64, F64, F64))
    assert y == 0xB970000000000000  # -2**-104 = -(2**-104): exponent 1023-104 = 919
    assert int(arith.fma(one, one, 1, F64, F64, F64, F64)) == one
    assert int(arith.fma(one, one, 1, F64, F64, F64, F64, rounding="rup")) == one + 1
    big = 0x7FE0000000000000
    assert int(arith.fma(big, 0x4000000000000000, big | (1 << 63), F64, F64, F64, F64)) == big
