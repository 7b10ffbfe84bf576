"""Carry-save arithmetic: partial products, a Dadda reduction tree, carry-select adders.

Yosys maps ``a * b`` to an array of ripple adders and ``a + b`` to a ripple-carry adder,
and the standard script keeps both as they are.  A multiply-add written with these pieces
instead sums every partial product and the addend in carry-save form and propagates a
carry once, through carry-select blocks:

- :func:`product_columns`: the partial-product bits of an unsigned ``x * y``, by weight;
- :func:`reduce_columns`: full and half adders (Dadda's schedule) until every weight holds
  at most two bits, returned as two rows whose sum is the columns' sum;
- :func:`carry_select_add`: ``x + y + carry_in`` through carry-select blocks;
- :func:`magnitude_add`: the magnitude of a two's complement sum, from the same blocks.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, Value

__all__ = ["product_columns", "reduce_columns", "carry_select_add", "magnitude_add",
           "CARRY_SELECT_BLOCK"]

#: bits per carry-select block: on a 39-bit adder alone 6 and 8 give the least depth
#: (28 levels against 73 for ripple carry) at 4 % more area than ripple; in the fused MACs
#: 8 measured smallest (fp16: 15,982 T against 16,426 with 4, 16,608 with 6)
CARRY_SELECT_BLOCK = 8


def product_columns(x: Value, y: Value) -> list[list[Value]]:
    """The partial products ``x[i] & y[j]`` of the unsigned ``x * y``, column ``k``
    holding those of weight ``2**k``."""
    columns = [[] for _ in range(len(x) + len(y))]
    for i in range(len(x)):
        for j in range(len(y)):
            columns[i + j].append(x[i] & y[j])
    return columns


def _dadda_heights(tallest: int) -> list[int]:
    """Dadda's column-height targets below ``tallest``, largest first (..., 6, 4, 3, 2)."""
    heights = [2]
    while heights[-1] * 3 // 2 < tallest:
        heights.append(heights[-1] * 3 // 2)
    return heights[::-1]


def reduce_columns(m: Module, columns: list[list[Value]], name: str) -> tuple[Value, Value]:
    """Two rows of ``len(columns)`` bits whose sum equals the sum of every bit of
    ``columns`` (bit weight ``2**k`` in column ``k``), modulo ``2**len(columns)``.  Each
    stage reduces every column to the next Dadda height with full adders (3 bits -> sum
    here, carry one column up) and, where one bit too many remains, a half adder."""
    width = len(columns)
    cols = [list(c) for c in columns]
    for stage, target in enumerate(_dadda_heights(max(map(len, cols), default=0))):
        nxt = [[] for _ in range(width)]
        for k in range(width):
            bits = cols[k]
            carried = len(nxt[k])  # carries already sent up from column k - 1
            while len(bits) + carried > target:
                if len(bits) + carried - target >= 2 and len(bits) >= 3:
                    p, q, r = bits.pop(0), bits.pop(0), bits.pop(0)
                    bits.append(p ^ q ^ r)
                    carry = (p & q) | (r & (p ^ q))
                elif len(bits) >= 2:
                    p, q = bits.pop(0), bits.pop(0)
                    bits.append(p ^ q)
                    carry = p & q
                else:
                    break
                if k + 1 < width:
                    nxt[k + 1].append(carry)
            nxt[k] = bits + nxt[k]
        cols = nxt
        # name each stage's rows, so the netlist and a depth profile can be read by stage
        for k in range(width):
            if len(cols[k]) > 1:
                s = Signal(len(cols[k]), name=f"{name}_t{stage}_c{k}")
                m.d.comb += s.eq(Cat(*cols[k]))
                cols[k] = [s[i] for i in range(len(cols[k]))]
    rows = []
    for r in range(2):
        row = Signal(width, name=f"{name}_row{r}")
        m.d.comb += row.eq(Cat(*[(c[r] if len(c) > r else Const(0)) for c in cols]))
        rows.append(row)
    return rows[0], rows[1]


def carry_select_add(m: Module, x: Value, y: Value, name: str, carry_in: Value = Const(0),
                     block: int = CARRY_SELECT_BLOCK) -> Signal:
    """``x + y + carry_in`` modulo ``2**n`` (``n`` = the wider operand's width) from
    carry-select blocks: each block above the lowest adds its slice both ways (carry in 0
    and 1) and the carry out of the block below picks one."""
    n = max(len(x), len(y))
    x, y = x.as_unsigned(), y.as_unsigned()
    out, carry = [], None
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        w = hi - lo
        xs = x[lo:hi] if lo < len(x) else Const(0, w)
        ys = y[lo:hi] if lo < len(y) else Const(0, w)
        if carry is None:  # the lowest block takes the carry in itself
            picked = Signal(w + 1, name=f"{name}_b{lo}")
            m.d.comb += picked.eq(xs + ys + carry_in)
        else:
            plain = Signal(w + 1, name=f"{name}_b{lo}_0")
            plus = Signal(w + 1, name=f"{name}_b{lo}_1")
            m.d.comb += [plain.eq(xs + ys), plus.eq(xs + ys + 1)]
            picked = Mux(carry, plus, plain)
        out.append(picked[:w])
        carry = picked[w]
    total = Signal(n, name=name)
    m.d.comb += total.eq(Cat(*out))
    return total


def magnitude_add(m: Module, x: Value, y: Value, subtract: Value, name: str,
                  block: int = CARRY_SELECT_BLOCK) -> tuple[Signal, Signal]:
    """``(|v|, negative)`` for the ``n``-bit two's complement ``v = x + y + subtract``
    (``n`` = the wider operand's width; ``v`` must not overflow), where ``y`` holds an
    operand complemented when ``subtract``: with ``t = x + y``, ``|v|`` is ``~t`` when
    ``t`` is negative and ``t + subtract`` otherwise.  Carry-select blocks add each slice
    both ways; two chains of block carries (global carry in 0 and ``subtract``) and the
    sign pick one slice per block, and the sign complements it."""
    n = max(len(x), len(y))
    x, y = x.as_unsigned(), y.as_unsigned()
    blocks, carries = [], None
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        w = hi - lo
        xs = x[lo:hi] if lo < len(x) else Const(0, w)
        ys = y[lo:hi] if lo < len(y) else Const(0, w)
        plain = Signal(w + 1, name=f"{name}_b{lo}_0")
        plus = Signal(w + 1, name=f"{name}_b{lo}_1")
        m.d.comb += [plain.eq(xs + ys), plus.eq(xs + ys + 1)]
        selects = (Const(0), subtract) if carries is None else carries
        blocks.append((plain, plus, selects))
        carries = tuple(Mux(s, plus, plain)[w] for s in selects)
    plain, plus, (c0, _) = blocks[-1]
    negative = Signal(name=f"{name}_negative")
    m.d.comb += negative.eq(subtract & Mux(c0, plus, plain)[len(plain) - 2])
    out = []
    for plain, plus, (c0, c1) in blocks:
        out.append(Mux(Mux(negative, c0, c1), plus, plain)[:len(plain) - 1])
    magnitude = Signal(n, name=name)
    m.d.comb += magnitude.eq(Cat(*out) ^ negative.replicate(n))
    return magnitude, negative
