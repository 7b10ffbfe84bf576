"""The calling contract every per-element golden operation keeps, one suite for all of them
(``mul``, ``add``, ``fma``): codes in any integer dtype (or format names for the formats)
give the result format's dtype and the broadcast shape of the operands; scalars and
N-d operands broadcast as numpy does; codes that do not fit their format, float arrays,
unknown rounding modes and formats, and a finite-only result format for operands with
NaN/Inf are refused.  Expected codes come from the pure-Python references
(``tests/reference.py``), not from the code under test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from fpforge.sim import arith
from fpforge.sim.formats import parse
from fpforge.tb.vectors import corner_codes

from reference import ref_add_many, ref_fma_many, ref_mul_many


@dataclass(frozen=True)
class Op:
    name: str
    arity: int
    configs: tuple  # operand format names, then the result's

    def __call__(self, *args, **kwargs):
        return getattr(arith, self.name)(*args, **kwargs)

    def reference(self, codes, fmts, mode="rne"):
        """The reference's codes, on the broadcast operands."""
        codes = np.broadcast_arrays(*(np.asarray(c, dtype=np.uint64) for c in codes))
        flat = [c.ravel() for c in codes]
        many = {"mul": ref_mul_many, "add": ref_add_many, "fma": ref_fma_many}[self.name]
        return many(*flat, *fmts, mode).reshape(codes[0].shape)


_BINARY = (("fp8_e4m3",) * 3, ("fp8_e4m3", "fp8_e5m2", "fp16"), ("fp16",) * 3,
           ("fp16", "fp16", "fp8_e4m3"), ("fp32",) * 3, ("e11m52",) * 3)
OPS = [Op("mul", 2, _BINARY), Op("add", 2, _BINARY),
       Op("fma", 3, (("fp8_e4m3",) * 4, ("fp8_e4m3", "fp8_e5m2", "fp16", "fp16"),
                     ("fp16",) * 4, ("fp16", "fp16", "fp16", "fp8_e4m3"), ("fp32",) * 4,
                     ("e11m30",) * 4))]
CASES = [pytest.param(op, names, id=f"{op.name}-{'-'.join(names)}")
         for op in OPS for names in op.configs]


def _one(fmt) -> int:
    """The code of 1.0."""
    return fmt.bias << fmt.man_bits


def _corner_operands(fmts, n: int = 200, seed: int = 1) -> list[np.ndarray]:
    """``n`` random combinations of the operand formats' corner codes."""
    rng = np.random.default_rng(seed)
    return [corner_codes(f)[rng.integers(0, corner_codes(f).size, n)] for f in fmts]


@pytest.mark.parametrize("op, names", CASES)
def test_any_integer_dtype_gives_the_result_dtype(op, names):
    fmts = tuple(parse(n) for n in names)
    *ins, out = fmts
    codes = _corner_operands(ins)
    want = op.reference(codes, fmts)
    casts = [lambda c, f: c, lambda c, f: c.astype(f.dtype),
             lambda c, f: c.astype(np.int64) if f.width < 64 else c]
    for cast in casts:
        got = op(*(cast(c, f) for c, f in zip(codes, ins)), *fmts)
        assert isinstance(got, np.ndarray) and got.dtype == out.dtype
        assert got.shape == codes[0].shape and got.tolist() == want.tolist()
    assert np.array_equal(op(*codes, *names), want.astype(out.dtype))  # format names
    empty = np.array([], dtype=np.uint64)
    assert op(*[empty] * op.arity, *fmts).shape == (0,)


@pytest.mark.parametrize("op, names", CASES)
def test_operands_broadcast_as_numpy_does(op, names):
    fmts = tuple(parse(n) for n in names)
    *ins, out = fmts
    second = corner_codes(ins[1])
    rest = [_one(f) for f in ins[2:]]
    for scalar in (_one(ins[0]), np.uint64(_one(ins[0])), np.array(_one(ins[0]))):
        got = op(scalar, second, *rest, *fmts)
        assert got.shape == second.shape and got.dtype == out.dtype
        assert got.tolist() == op.reference([scalar, second, *rest], fmts).tolist()
    # operand k varies along axis k: the result spans every combination
    sizes = (3, 4, 2)[:op.arity]
    axes = []
    for k, (f, size) in enumerate(zip(ins, sizes)):
        shape = [1] * op.arity
        shape[k] = size
        axes.append(corner_codes(f)[-size:].reshape(shape))
    got = op(*axes, *fmts, rounding="rdn")
    assert got.shape == sizes and got.dtype == out.dtype
    assert got.tolist() == op.reference(axes, fmts, "rdn").tolist()
    with pytest.raises(ValueError):
        op(corner_codes(ins[0])[:3], second[:4], *rest, *fmts)  # (3,) with (4,)


@pytest.mark.parametrize("op, names", CASES)
def test_codes_outside_their_format_are_refused(op, names):
    fmts = tuple(parse(n) for n in names)
    ins = fmts[:-1]
    ok = [np.array([_one(f)] * 2, dtype=np.uint64) for f in ins]
    for k, f in enumerate(ins):
        bads = [np.array([_one(f), -1], dtype=np.int64)]
        if f.width < 64:
            bads.append(np.array([_one(f), 1 << f.width], dtype=object).astype(np.uint64))
        for bad in bads:
            args = list(ok)
            args[k] = bad
            with pytest.raises(ValueError, match="do not fit"):
                op(*args, *fmts)
    with pytest.raises(TypeError):
        op(np.array([1.0, 2.0]), *ok[1:], *fmts)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_bad_arguments_are_refused(op):
    zeros = [[0]] * op.arity
    with pytest.raises(ValueError, match="rounding"):
        op(*zeros, *["fp16"] * (op.arity + 1), rounding="nearest")
    with pytest.raises(ValueError, match="rounding"):
        op(*zeros, *["fp8_e4m3"] * (op.arity + 1), rounding="RNE")
    # a finite-only result cannot hold the NaN/Inf that operands with specials produce
    with pytest.raises(ValueError, match="NaN"):
        op(*zeros, *["fp8_e4m3"] * op.arity, "e2m1fin")
    with pytest.raises(ValueError):
        op(*zeros, "nope", *["fp16"] * op.arity)
