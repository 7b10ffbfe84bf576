"""The manifest documents the ports the emitted Verilog really has: for a unit of every kind
and every option that adds or removes a port (clock and valid, sr's rand port, flags, stream
and tile controls), its ``ports`` list names exactly the top module's ports, with their
direction and width, and its latency is the cycles the RTL takes."""

import re
import shlex

import pytest
from amaranth.hdl import Fragment

from fpforge.gen.cli import _build_parser
from fpforge.gen.emit import generate
from fpforge.gen.units import UNITS

COMMAND_LINES = [
    "mul --a fp8_e4m3 --b fp8_e5m2 --out fp16",
    "mul --a fp8_e4m3 --b fp8_e4m3 --out fp8_e4m3 --flags --rounding sr --rand-source port "
    "--pipeline 1",
    "mul --a bf16 --b bf16 --out bf16 --rounding sr --pipeline 2",
    "add --a fp8_e5m2 --b fp8_e5m2 --out fp8_e5m2 --flags --pipeline 3",
    "add --a fp8_e4m3 --b fp8_e4m3 --out fp8_e4m3 --rounding sr --rand-source port --rand-bits 3",
    "mac --a fp8_e4m3 --b fp8_e4m3 --c fp16 --out fp16 --flags",
    "mac --a fp8_e4m3 --b fp8_e4m3 --c fp16 --out fp16 --rounding sr --rand-source port "
    "--pipeline 2",
    "acc --in fp8_e4m3 --acc fp16 --chunk 4",
    "acc --products --a fp8_e4m3 --b fp8_e5m2 --acc dlfloat16 --rounding sr",
    "axpy --alpha fp8_e4m3 --x fp8_e4m3 --y fp16 --pipeline 2",
    "array --rows 2 --cols 3 --a fp8_e4m3 --b fp8_e5m2 --acc fp16 --chunk 4",
]

_DECLARATION = re.compile(r"^\s*(input|output)\s+(?:\[(\d+):0\]\s+)?\\?(\w+)\s*;", re.M)


def verilog_ports(verilog: str, top: str) -> dict[str, tuple[str, int]]:
    """{name: (direction, width)} declared by module ``top`` of ``verilog``."""
    start = verilog.index(f"module {top}(")
    body = verilog[start:verilog.index("\nendmodule", start)]
    return {name: ("in" if d == "input" else "out", int(msb or 0) + 1)
            for d, msb, name in _DECLARATION.findall(body)}


@pytest.mark.parametrize("line", COMMAND_LINES, ids=lambda s: s.split(" --")[0] + str(
    COMMAND_LINES.index(s)))
def test_manifest_ports_are_the_verilog_ports(line):
    args = _build_parser().parse_args(["gen", *shlex.split(line), "-o", "unused"])
    config = UNITS[args.unit].from_args(args)
    gen = generate(config)
    documented = {p["name"]: (p["direction"], p["width"]) for p in gen.manifest["ports"]}
    assert len(documented) == len(gen.manifest["ports"]), "a port documented twice"
    assert documented == verilog_ports(gen.verilog, gen.name)
    assert all(p["meaning"] for p in gen.manifest["ports"])
    component = config.build()
    Fragment.get(component, None)
    assert gen.manifest["latency"] == component.latency


def test_a_port_without_a_meaning_is_an_error():
    from fpforge.gen.manifest import manifest_ports
    from fpforge.gen.units import MulConfig
    config = MulConfig(a="fp8_e4m3", b="fp8_e4m3", out="fp8_e4m3", pipeline=1)
    unit = config.build()
    Fragment.get(unit, None)
    meanings = config.port_meanings(unit)
    assert [p["name"] for p in manifest_ports(unit, meanings)] == [
        "clk", "rst", "in_valid", "a", "b", "y", "out_valid"]
    del meanings["in_valid"]
    with pytest.raises(ValueError, match="FPMultiplier has ports without a meaning: in_valid"):
        manifest_ports(unit, meanings)
