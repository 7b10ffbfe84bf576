"""Test-vector generation: corner codes, boundary-targeted and uniform random operands.

Deterministic for a given seed.  Used by pytest, the cocotb runners and ``fpforge verify``.
"""

from __future__ import annotations

import numpy as np

from fpforge.sim.arith import all_pairs  # re-exported: every (a, b) pair
from fpforge.sim.formats import FloatFormat
from fpforge.tb.protocols import idle_valid

__all__ = ["corner_codes", "random_codes", "mul_operands", "add_operands", "mac_operands",
           "accumulation_streams", "gemm_beats", "all_pairs"]


def corner_codes(fmt: FloatFormat) -> np.ndarray:
    """Both signs of: zero, smallest/largest subnormal, smallest normals, 1 and its
    neighbours, max and its neighbour, Inf and every NaN class code, and a power of two
    from every binade."""
    m, efm = fmt.man_bits, fmt.exp_field_max
    one = fmt.bias << m
    mags = {0, 1, 2, fmt.man_mask, fmt.man_mask - 1, 1 << m, (1 << m) + 1, one, one + 1,
            one - 1, one + fmt.man_mask, fmt.max_code, fmt.max_code - 1,
            (efm << m), (efm << m) | fmt.man_mask, (efm << m) | (1 << (m - 1)),
            (efm << m) | 1}
    mags.update(e << m for e in range(efm + 1))
    mags = np.array(sorted(v for v in mags if 0 <= v < (1 << (fmt.width - 1))), dtype=np.uint64)
    return np.unique(np.concatenate([mags, mags | np.uint64(fmt.sign_bit)]))


def random_codes(fmt: FloatFormat, n: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform random codes, with a third given structured fractions (all-ones, all-zeros,
    one bit) that exercise carries and ties."""
    codes = rng.integers(0, 1 << fmt.width, size=n, dtype=np.uint64)
    pick = rng.integers(0, 6, size=n)
    m = fmt.man_bits
    frac = np.select(
        [pick == 0, pick == 1],
        [np.uint64(fmt.man_mask), np.uint64(0)],
        np.uint64(1) << rng.integers(0, m, size=n, dtype=np.uint64))
    structured = pick < 2
    codes = np.where(structured, (codes & ~np.uint64(fmt.man_mask)) | frac, codes)
    return codes


def _corner_pairs(a_fmt: FloatFormat, b_fmt: FloatFormat, n: int, rng) -> tuple:
    """Every pair of corner codes when they fit in half of ``n``, else n/2 random ones."""
    ca, cb = corner_codes(a_fmt), corner_codes(b_fmt)
    if ca.size * cb.size <= n // 2:
        return np.repeat(ca, cb.size), np.tile(cb, ca.size)
    k = n // 2
    return ca[rng.integers(0, ca.size, k)], cb[rng.integers(0, cb.size, k)]


def _with_exponent(codes, fmt: FloatFormat, field):
    """Replace the exponent field of codes by ``field`` (clipped to valid range)."""
    m = np.uint64(fmt.man_bits)
    field = np.clip(field, 0, fmt.exp_field_max).astype(np.uint64)
    mask = np.uint64(fmt.exp_field_max) << m
    return (codes & ~mask) | (field << m)


def mul_operands(a_fmt: FloatFormat, b_fmt: FloatFormat, out_fmt: FloatFormat, n: int,
                 seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``n`` operand pairs for a multiplier: every pair of corner codes first (or n/2 of
    them when more), then half boundary-targeted pairs (product exponent near the output's overflow
    and underflow thresholds and the subnormal range), then uniform random pairs."""
    rng = np.random.default_rng(seed)
    a0, b0 = _corner_pairs(a_fmt, b_fmt, n, rng)
    rest = n - a0.size
    n_edge = rest // 2
    a1, b1 = random_codes(a_fmt, n_edge, rng), random_codes(b_fmt, n_edge, rng)
    # product exponent (unbiased) = ea + eb; aim it at the output's edges
    targets = np.array([out_fmt.emax, out_fmt.emax + 1, out_fmt.emin, out_fmt.emin - 1,
                        out_fmt.emin - out_fmt.man_bits, out_fmt.emin - out_fmt.man_bits - 1,
                        out_fmt.emin - out_fmt.man_bits // 2])
    target = rng.choice(targets, size=n_edge) + rng.integers(-2, 3, size=n_edge)
    # split the target between the operands so neither exponent leaves its format's range
    a1 = _with_exponent(a1, a_fmt, target // 2 + rng.integers(-3, 4, n_edge) + a_fmt.bias)
    ea = ((a1 >> np.uint64(a_fmt.man_bits)) & np.uint64(a_fmt.exp_field_max)).astype(np.int64)
    eb_field = target - (ea - a_fmt.bias) + b_fmt.bias
    b1 = _with_exponent(b1, b_fmt, eb_field)
    n_rand = rest - n_edge
    a2, b2 = random_codes(a_fmt, n_rand, rng), random_codes(b_fmt, n_rand, rng)
    dt = np.uint64
    return (np.concatenate([a0, a1, a2]).astype(dt), np.concatenate([b0, b1, b2]).astype(dt))


def add_operands(a_fmt: FloatFormat, b_fmt: FloatFormat, out_fmt: FloatFormat, n: int,
                 seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``n`` operand pairs for an adder: every pair of corner codes first (or n/2 of them
    when more), then a third with exponents within a few binades (carries, cancellation, ties), a
    third with gaps around the output's precision (sticky), the rest uniform random."""
    rng = np.random.default_rng(seed)
    a0, b0 = _corner_pairs(a_fmt, b_fmt, n, rng)
    rest = n - a0.size
    n_near, n_gap = rest // 3, rest // 3
    a1 = random_codes(a_fmt, n_near + n_gap, rng)
    b1 = random_codes(b_fmt, n_near + n_gap, rng)
    # a within the output's range (from its subnormals to just above max)
    a1 = _with_exponent(a1, a_fmt, rng.integers(out_fmt.emin - out_fmt.man_bits,
                                                out_fmt.emax + 2, a1.size) + a_fmt.bias)
    ea = ((a1 >> np.uint64(a_fmt.man_bits)) & np.uint64(a_fmt.exp_field_max)).astype(np.int64)
    gap = np.concatenate([rng.integers(-2, 3, n_near),
                          rng.choice([-1, 1], n_gap) * rng.integers(out_fmt.precision - 2,
                                                                    out_fmt.precision + 4,
                                                                    n_gap)])
    b1 = _with_exponent(b1, b_fmt, ea - a_fmt.bias + gap + b_fmt.bias)
    n_rand = rest - a1.size
    a2, b2 = random_codes(a_fmt, n_rand, rng), random_codes(b_fmt, n_rand, rng)
    dt = np.uint64
    return (np.concatenate([a0, a1, a2]).astype(dt), np.concatenate([b0, b1, b2]).astype(dt))


def mac_operands(a_fmt: FloatFormat, b_fmt: FloatFormat, c_fmt: FloatFormat, n: int,
                 seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` operand triples for a multiply-add: corner triples first (up to a quarter),
    then half with ``c`` near the product's exponent (cancellation, carries, ties) or a
    precision away (sticky), the rest uniform random."""
    rng = np.random.default_rng(seed)
    ca, cb, cc = corner_codes(a_fmt), corner_codes(b_fmt), corner_codes(c_fmt)
    n0 = min(n // 4, ca.size * cb.size * cc.size)
    a0, b0, c0 = ca[rng.integers(0, ca.size, n0)], cb[rng.integers(0, cb.size, n0)], \
        cc[rng.integers(0, cc.size, n0)]
    n1 = (n - n0) // 2
    a1, b1, c1 = (random_codes(f, n1, rng) for f in (a_fmt, b_fmt, c_fmt))
    def unbiased(codes, f):
        return ((codes >> np.uint64(f.man_bits)) & np.uint64(f.exp_field_max)).astype(
            np.int64) - f.bias
    gap = np.where(rng.random(n1) < 0.5, rng.integers(-2, 3, n1),
                   rng.choice([-1, 1], n1) * rng.integers(1, c_fmt.precision + 4, n1))
    c1 = _with_exponent(c1, c_fmt, unbiased(a1, a_fmt) + unbiased(b1, b_fmt) + gap + c_fmt.bias)
    n2 = n - n0 - n1
    a2, b2, c2 = (random_codes(f, n2, rng) for f in (a_fmt, b_fmt, c_fmt))
    dt = np.uint64
    return tuple(np.concatenate(x).astype(dt) for x in ((a0, a1, a2), (b0, b1, b2), (c0, c1, c2)))


def accumulation_streams(formats: dict[str, FloatFormat], n: int, seed: int = 1,
                         max_length: int = 4096) -> dict[str, np.ndarray]:
    """About ``n`` cycles of back-to-back streams for an accumulator: lengths 1, 2, 3, ...
    first, then random lengths up to ``max_length``; one array per input port (values
    N(0.5, 1) scaled per stream, with 1 in 500 a random code: specials, subnormals, huge),
    ``in_last``, and ``valid`` with 10 % gaps in the second half (gap cycles hold junk)."""
    rng = np.random.default_rng(seed)
    lengths = []
    total = 0
    while total < n:
        k = len(lengths)
        length = k + 1 if k < 8 else int(rng.integers(1, max_length + 1))
        length = min(length, max(n - total, 1))
        lengths.append(length)
        total += length
    data = {}
    for port, fmt in formats.items():
        scale = np.repeat(2.0 ** rng.integers(-6, 7, len(lengths)), lengths)
        values = (rng.standard_normal(total) + 0.5) * scale
        codes = fmt.encode(values).astype(np.uint64)
        odd = rng.random(total) < 0.002
        codes[odd] = random_codes(fmt, int(odd.sum()), rng)
        data[port] = codes
    last = np.zeros(total, dtype=np.uint64)
    last[np.cumsum(lengths) - 1] = 1
    data["in_last"] = last
    # gaps: insert invalid cycles (junk data) into the second half
    gap = np.zeros(total, dtype=bool)
    gap[total // 2:] = rng.random(total - total // 2) < 0.1
    valid = idle_valid(gap)
    slots = valid.size
    out = {"valid": valid}
    for key, arr in data.items():  # gap cycles: in_last 0, random codes on the data ports
        full = (np.zeros(slots, dtype=np.uint64) if key == "in_last"
                else random_codes(formats[key], slots, rng))
        full[valid == 1] = arr
        out[key] = full
    return out


def gemm_beats(a_fmt: FloatFormat, b_fmt: FloatFormat, rows: int, cols: int, lengths,
               seed: int = 1, odd: float = 0.02, gaps: float = 0.1) -> dict[str, np.ndarray]:
    """Beats of back-to-back GEMM tiles for a ``rows`` x ``cols`` array, one tile per entry
    of ``lengths`` (its K): ``a`` (beats, rows) = column k of A, ``b`` (beats, cols) = row k
    of B, ``in_last`` and ``valid``.  Values N(0, 1) times a per-tile power of two (so some
    tiles reach the accumulator's subnormals or overflow); a fraction ``odd`` of the codes
    are corner codes (zeros, subnormals, max, Inf, NaN) or random codes; a fraction
    ``gaps`` of the cycles after the first tile are idle (junk data, valid 0)."""
    rng = np.random.default_rng(seed)
    lengths = [int(k) for k in lengths]
    total = sum(lengths)
    data = {}
    for port, fmt, lanes in (("a", a_fmt, rows), ("b", b_fmt, cols)):
        scale = np.repeat(2.0 ** rng.integers(-10, 6, len(lengths)), lengths)[:, None]
        codes = fmt.encode(rng.standard_normal((total, lanes)) * scale).astype(np.uint64)
        pick = rng.random(codes.shape)
        corners = corner_codes(fmt)
        codes = np.where(pick < odd / 2, corners[rng.integers(0, corners.size, codes.shape)],
                         codes)
        codes = np.where((pick >= odd / 2) & (pick < odd),
                         random_codes(fmt, codes.size, rng).reshape(codes.shape), codes)
        data[port] = codes.astype(np.uint64)
    last = np.zeros(total, dtype=np.uint64)
    last[np.cumsum(lengths) - 1] = 1
    data["in_last"] = last
    gap = rng.random(total) < gaps
    gap[:lengths[0]] = False
    valid = idle_valid(gap)
    slots = valid.size
    out = {"valid": valid}
    for port, fmt, lanes in (("a", a_fmt, rows), ("b", b_fmt, cols)):
        full = random_codes(fmt, slots * lanes, rng).reshape(slots, lanes)
        full[valid == 1] = data[port]
        out[port] = full
    out["in_last"] = np.zeros(slots, dtype=np.uint64)
    out["in_last"][valid == 1] = last
    return out
