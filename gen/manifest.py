"""The manifest's port list, read off the built component: names, directions and widths
from its Amaranth signature, ``clk`` and ``rst`` when it is clocked (it has ``in_valid``),
and each port's meaning from the unit's table (``UnitConfig.port_meanings``).

Order: clk, rst, in_valid, in_last, the other inputs as the signature lists them, rand;
then the outputs as the signature lists them, out_valid, out_last.
"""

from __future__ import annotations

from amaranth.hdl import Shape
from amaranth.lib.wiring import In

__all__ = ["manifest_ports"]

_FIRST = ("clk", "rst", "in_valid", "in_last")
_LAST_INPUT = ("rand",)
_LAST = ("out_valid", "out_last")


def _rank(name: str, direction: str, position: int) -> tuple:
    if name in _FIRST:
        return (0, _FIRST.index(name))
    if direction == "in":
        return (2, 0) if name in _LAST_INPUT else (1, position)
    return (4, _LAST.index(name)) if name in _LAST else (3, position)


def manifest_ports(component, meanings: dict[str, str]) -> list[dict]:
    """[{name, direction, width, meaning}] of every port of ``component``'s Verilog module.
    A port without an entry in ``meanings`` is an error (the manifest documents them all)."""
    ports = [(name, "in" if member.flow == In else "out", Shape.cast(member.shape).width)
             for name, member in component.signature.members.items()]
    if any(name == "in_valid" for name, _, _ in ports):
        ports += [("clk", "in", 1), ("rst", "in", 1)]
    ports = [p for _, p in sorted((_rank(p[0], p[1], i), p) for i, p in enumerate(ports))]
    missing = [name for name, _, _ in ports if name not in meanings]
    if missing:
        raise ValueError(f"{type(component).__name__} has ports without a meaning: "
                         f"{', '.join(missing)}")
    return [{"name": name, "direction": direction, "width": width, "meaning": meanings[name]}
            for name, direction, width in ports]
