"""SHA-256 of the emitted Verilog and manifest of every unit a change must leave as it is.

A change of structure (not of hardware) must emit the same bytes.  This script generates
every configuration of ``configs/precision_grid.toml`` plus ``EXTRA`` (command lines that
reach every unit and option: flags, sr from a port or a PRNG, saturation, pipelines, the
unfused MAC, chunked and product accumulators, axpy, arrays), without synthesis, and
writes or checks the digests:

    python scripts/emission_digest.py --write docs/emission_digest.json
    python scripts/emission_digest.py --check docs/emission_digest.json   (exit 1 if any differ)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
from pathlib import Path

from fpforge.gen.cli import _build_parser
from fpforge.gen.emit import generate
from fpforge.gen.sweep import load
from fpforge.gen.units import UNITS

ROOT = Path(__file__).resolve().parent.parent

#: ``fpforge gen`` unit arguments beyond the grid's same-format, rne units
EXTRA = [
    "mul --a fp8_e4m3 --b fp8_e5m2 --out fp16 --flags --rounding rup --saturate",
    "mul --a fp16 --b fp16 --out fp16 --rounding sr --rand-source port --rand-bits 3",
    "mul --a bf16 --b bf16 --out bf16 --rounding sr --pipeline 2 --seed 7",
    "add --a fp16 --b bf16 --out fp32 --flags --pipeline 3",
    "add --a e5m10ns --b fp16 --out fp8_e4m3 --rounding rna --saturate",
    "mac --a fp8_e4m3 --b fp8_e4m3 --c fp16 --out fp16",
    "mac --a fp8_e4m3 --b fp8_e4m3 --c dlfloat16 --out dlfloat16",
    "mac --a fp8_e5m2 --b fp8_e5m2 --c fp32 --out fp32 --rounding rtz",
    "mac --a fp16 --b fp16 --c fp32 --out fp32 --flags --rounding rdn",
    "mac --a fp16 --b fp16 --c fp16 --out fp16 --rounding sr --rand-source port",
    "mac --a fp16 --b fp16 --c fp16 --out fp16 --pipeline 4 --rounding sr",
    "mac --a fp8_e4m3 --b fp8_e4m3 --c fp16 --out fp16 --no-fused --prod fp8_e5m2",
    "acc --in fp8_e4m3 --acc fp16",
    "acc --in bf16 --acc fp32 --chunk 16 --rounding sr",
    "acc --products --a fp8_e4m3 --b fp8_e5m2 --acc dlfloat16 --chunk 64",
    "axpy --alpha fp16 --x fp8_e4m3 --y fp16",
    "axpy --alpha bf16 --x bf16 --y bf16 --rounding rne --pipeline 2",
    "array --rows 2 --cols 2 --a fp8_e4m3 --b fp8_e4m3 --acc fp32",
    "array --rows 2 --cols 3 --a fp8_e4m3 --b fp8_e4m3 --acc fp16 --chunk 64",
    "array --rows 2 --cols 2 --a fp16 --b fp16 --acc fp16 --chunk 4 --rounding sr",
]


def configs() -> list:
    """Every configuration to digest, in a fixed order, duplicates dropped."""
    out, seen = [], set()
    for point in load(ROOT / "configs" / "precision_grid.toml").points:
        out.append(point.config)
    parser = _build_parser()
    for line in EXTRA:
        args = parser.parse_args(["gen", *shlex.split(line), "-o", "unused"])
        out.append(UNITS[args.unit].from_args(args))
    unique = []
    for config in out:
        key = (config.unit, json.dumps(config.params(), sort_keys=True))
        if key not in seen:
            seen.add(key)
            unique.append(config)
    return unique


def digests(log=lambda m: None) -> dict:
    """{name: {"verilog": sha256, "manifest": sha256}} of every configuration."""
    out = {}
    for i, config in enumerate(configs()):
        gen = generate(config)
        out[gen.name] = {"verilog": hashlib.sha256(gen.verilog.encode()).hexdigest(),
                         "manifest": hashlib.sha256(gen.manifest_text.encode()).hexdigest()}
        log(f"{i + 1}: {gen.name}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", type=Path, metavar="FILE", help="write the digests")
    mode.add_argument("--check", type=Path, metavar="FILE", help="compare with saved digests")
    args = ap.parse_args()
    now = digests(log=lambda m: print(m, file=sys.stderr, flush=True))
    if args.write:
        args.write.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"{len(now)} units digested into {args.write}")
        return 0
    saved = json.loads(args.check.read_text())
    differ = sorted(n for n in saved.keys() & now.keys() if saved[n] != now[n])
    missing, new = sorted(saved.keys() - now.keys()), sorted(now.keys() - saved.keys())
    for label, names in (("differ", differ), ("missing", missing), ("new", new)):
        for name in names:
            print(f"{label}: {name}")
    same = len(saved.keys() & now.keys()) - len(differ)
    print(f"{same} of {len(saved)} units byte-identical (Verilog and manifest)")
    return 0 if not (differ or missing or new) else 1


if __name__ == "__main__":
    sys.exit(main())
