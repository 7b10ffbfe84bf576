"""SHA-256 of everything a change of structure (not of behaviour) must leave as it is.

Two categories, each a name -> digest map:

- ``emission``: the emitted Verilog and manifest of every configuration of
  ``configs/precision_grid.toml`` plus ``EXTRA`` (command lines that reach every unit and
  option: flags, sr from a port or a PRNG, saturation, pipelines, the unfused MAC, chunked
  and product accumulators, axpy, arrays), generated without synthesis;
- ``behaviour``: per configuration its parameters and default name and ``fpforge verify``'s
  stimulus with the expected outputs (2,000 vectors, seed 1); the sweep keys of
  ``configs/*.toml``; the ``--help`` text of every command and unit (80 columns); the exit
  status and error line of ``BAD_COMMANDS``.

    python scripts/emission_digest.py --write docs/emission_digest.json
    python scripts/emission_digest.py --check docs/emission_digest.json   (exit 1 if any differ)
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import shlex
import sys
from pathlib import Path

import numpy as np

from fpforge.gen.cli import _build_parser, main as cli_main
from fpforge.gen.emit import generate
from fpforge.gen.sweep import load
from fpforge.gen.units import UNITS
from fpforge.tb.stimulus import stimulus

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


#: ``fpforge`` command lines that must fail: their exit status and error line are digested
BAD_COMMANDS = [
    "gen mul --a fp99 --b fp16 --out fp16 -o out",
    "gen mul --a fp16 --b fp16 --out fp16 --rounding rnd -o out",
    "gen mul --a fp16 --b fp16 --out fp16 --rounding sr -o out",
    "gen mul --a fp16 --b fp16 --out fp16 --rounding sr --rand-bits 0 --pipeline 1 -o out",
    "gen mul --a fp16 --b fp16 --out fp16 --rounding sr --rand-bits 40 --pipeline 1 -o out",
    "gen mul --a fp16 --b fp16 --out fp16 --rounding sr --seed 0 --pipeline 1 -o out",
    "gen mul --a fp16 --b fp16 --out fp16 --rounding sr --seed 0 --rand-bits 0 -o out",
    "gen mul --a fp16 --b fp16 --out fp16 --pipeline -1 -o out",
    "gen mul --a fp16 --b fp16 --out e4m3fn -o out",
    "gen mul --a fp64 --b fp64 --out fp64 --rounding sr --pipeline 1 -o out",
    "gen mul --a fp16 --b fp16 --out fp16 --name 9bad -o out",
    "gen mac --a fp16 --b fp16 --c fp16 --out fp16 --no-fused -o out",
    "gen mac --a fp16 --b fp16 --c fp16 --out fp16 --prod fp16 -o out",
    "gen mac --a fp16 --b fp16 --c fp16 --out fp16 --no-fused --prod fp16 --rounding sr -o out",
    "gen acc --acc fp16 -o out",
    "gen acc --in fp16 --acc fp16 --products -o out",
    "gen acc --in fp16 --acc fp16 --a fp16 -o out",
    "gen acc --in fp16 --acc fp16 --chunk -1 -o out",
    "gen acc --in fp16 --acc fp16 --flags -o out",
    "gen acc --in fp16 --acc fp16 --rand-source port -o out",
    "gen acc --products --a fp64 --b fp64 --acc fp64 -o out",
    "gen axpy --alpha fp16 --x fp16 --y fp16 --pipeline 0 -o out",
    "gen array --rows 0 --cols 2 --a fp16 --b fp16 --acc fp16 -o out",
    "gen array --rows 2 --cols 99 --a fp16 --b fp16 --acc fp16 -o out",
    "gen array --rows 2 --cols 2 --a fp16 --b fp16 --acc fp16 --flags -o out",
    "gen array --rows 2 --cols 2 --a fp16 --b fp16 --acc e4m3fn -o out",
    "verify mul --a fp16 --b fp16 --out fp16 --vectors 0",
    "verify acc --in fp16 --acc fp16 --exhaustive",
    "area mul --a fp16 --b fp16 --out fp16 --target xilinx",
    "vrr --length 0 --m-acc 8",
    "vrr --length 4096 --m-acc 7 --chunk 1",
    "recommend --length 64 --operand nope",
    "recommend --length 4096 --m-p 7",
    "formats --bogus",
    "nonsense",
    "",
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


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``fpforge argv`` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli_main(argv)
        except SystemExit as exc:  # argparse: --help, usage errors
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def behaviour(log=lambda m: None) -> dict:
    """Digests of what the command line, the sweeps and verify's stimulus do."""
    os.environ["COLUMNS"] = "80"  # argparse wraps help to the terminal
    out = {}
    for config in configs():
        name = config.default_name()
        out[f"params:{name}"] = _sha(json.dumps([config.unit, config.params()], sort_keys=True))
        data = stimulus(config, 2000, False, 1)
        out[f"stimulus:{name}"] = _sha(b"".join(
            key.encode() + np.ascontiguousarray(value).tobytes()
            for key, value in sorted(data.items())))
        log(f"behaviour: {name}")
    for path in sorted((ROOT / "configs").glob("*.toml")):
        keys = [(point.key, point.target) for point in load(path).points]
        out[f"sweep:{path.name}"] = _sha(json.dumps(keys))
    commands = [[], ["gen"], ["area"], ["verify"], ["sweep"], ["vrr"], ["recommend"],
                ["gemm"], ["formats"]]
    commands += [[c, unit] for c in ("gen", "area", "verify") for unit in UNITS]
    for words in commands:
        code, text, err = _run_cli([*words, "--help"])
        out[f"help:{' '.join(words) or 'fpforge'}"] = _sha(f"{code}\n{text}{err}")
    for line in BAD_COMMANDS:
        code, _, err = _run_cli(shlex.split(line))
        out[f"error:{line}"] = _sha(f"{code}\n{err}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", type=Path, metavar="FILE", help="write the digests")
    mode.add_argument("--check", type=Path, metavar="FILE", help="compare with saved digests")
    args = ap.parse_args()
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    now = {"emission": digests(log), "behaviour": behaviour(log)}
    if args.write:
        args.write.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"{len(now['emission'])} units and {len(now['behaviour'])} behaviours digested "
              f"into {args.write}")
        return 0
    saved = json.loads(args.check.read_text())
    failed = False
    for category, label in (("emission", "units byte-identical (Verilog and manifest)"),
                            ("behaviour", "behaviours unchanged")):
        old, new = saved.get(category, {}), now[category]
        differ = sorted(n for n in old.keys() & new.keys() if old[n] != new[n])
        missing, added = sorted(old.keys() - new.keys()), sorted(new.keys() - old.keys())
        for kind, names in (("differ", differ), ("missing", missing), ("new", added)):
            for name in names:
                print(f"{category} {kind}: {name}")
        print(f"{len(old.keys() & new.keys()) - len(differ)} of {len(old)} {label}")
        failed = failed or bool(differ or missing or added)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
