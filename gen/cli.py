"""The ``fpforge`` command.

    fpforge formats [--markdown | --json]
    fpforge gen UNIT <unit options> [--name NAME] -o DIR [--fusesoc]
    fpforge area UNIT <unit options> [--target asic|ice40|ecp5 | --liberty FILE] [--json]
    fpforge area --verilog FILE --top NAME [--target asic|ice40|ecp5 | --liberty FILE] [--json]
    fpforge verify UNIT <unit options> [--vectors N | --exhaustive] [--sim icarus|verilator]
                        [--vector-seed S] [--netlist]
    fpforge sweep SWEEP.toml [-j N] [--executor local|dask] [--scheduler ADDR] [-o DIR]
    fpforge vrr --length N --m-acc M [--m-p P] [--chunk C] [--json]
    fpforge recommend --length N [--m-p P] [--chunk C] [--cutoff F]
                      [--operand FMT] [--acc-exp E] [--no-area] [--no-check] [--json]
    fpforge gemm A.npy B.npy --a FMT --b FMT --acc FMT [--chunk C] [--rounding M]
                 [--seed S] [--rand-bits R] [--saturate] [--codes] [-o C.npy] [--json]
                 [--no-progress]

UNIT is one of the registry's units (``fpforge gen --help``); e.g. ``mul`` and ``add``
take ``--a FMT --b FMT --out FMT [--rounding M] [--saturate] [--flags] [--pipeline N]``
and, for ``sr``, ``[--rand-bits R] [--seed S] [--rand-source prng|port]``.

Exit status: 0 success, 1 verification mismatch or tool failure, 2 bad input (one line on
stderr naming the problem and the valid choices; nothing written).  No command prints a
traceback (``FPFORGE_DEBUG=1`` does, for an internal error).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from fpforge.gen.cli_errors import Parser, UsageError
from fpforge.gen.cli_model import add_model_commands, cmd_gemm, cmd_recommend, cmd_vrr
from fpforge.gen.sweep_run import EXECUTORS
from fpforge.gen.synth import SynthesisError
from fpforge.gen.units import UNITS, pos_int_option

__all__ = ["main"]

#: ``fpforge area --target``: the standard ASIC-proxy script, or an FPGA family's flow
TARGETS = ("asic", "ice40", "ecp5")


def _build_parser() -> argparse.ArgumentParser:
    top = Parser(prog="fpforge", allow_abbrev=False,
                  description="Reduced-precision floating-point hardware generator.")
    top.add_argument("--version", action="store_true", help="print the version")
    sub = top.add_subparsers(dest="command", parser_class=Parser)

    p = sub.add_parser("formats", help="print the preset format table", allow_abbrev=False)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--markdown", action="store_true", help="as a Markdown table")
    out.add_argument("--json", action="store_true", help="as JSON")

    for command, help_text in (("gen", "write NAME.v and NAME.json"),
                               ("area", "synthesize with the standard script and report area"),
                               ("verify", "simulate the emitted Verilog against the golden model")):
        p = sub.add_parser(command, help=help_text, allow_abbrev=False)
        if command == "area":
            p.add_argument("--verilog", type=Path, metavar="FILE", help="synthesize this file")
            p.add_argument("--top", help="top module of --verilog")
            p.add_argument("--json", action="store_true", help="print JSON")
            p.add_argument("--target", choices=TARGETS, default="asic",
                           help="asic (standard script, default), ice40 or ecp5 (cell counts)")
            p.add_argument("--liberty", type=Path, metavar="FILE",
                           help="asic: map to this standard-cell library (.lib or .lib.gz), "
                                "report its area and OpenSTA's delay")
        units = p.add_subparsers(dest="unit", parser_class=Parser, required=command != "area")
        for unit, config_class in UNITS.items():
            u = units.add_parser(unit, allow_abbrev=False, help=config_class.__doc__)
            config_class.add_arguments(u)
            u.add_argument("--name", default=None, help="Verilog module / file name")
            if command == "gen":
                u.add_argument("-o", "--output", required=True, type=Path, metavar="DIR",
                               help="output directory")
                u.add_argument("--fusesoc", action="store_true",
                               help="also write NAME.core, a FuseSoC CAPI2 core for the module")
            elif command == "area":
                u.add_argument("--json", action="store_true", dest="unit_json", help="print JSON")
                u.add_argument("--target", choices=TARGETS, dest="unit_target",
                               help="asic (standard script, default), ice40 or ecp5")
                u.add_argument("--liberty", type=Path, metavar="FILE", dest="unit_liberty",
                               help="asic: map to this standard-cell library (.lib or "
                                    ".lib.gz), report its area and OpenSTA's delay")
            else:
                n = u.add_mutually_exclusive_group()
                n.add_argument("--vectors", type=pos_int_option, metavar="N",
                               help="corner + random vectors (default: exhaustive up to "
                                    "16 input bits, else 100000)")
                n.add_argument("--exhaustive", action="store_true", help="every input combination")
                u.add_argument("--sim", choices=("icarus", "verilator"), default="icarus",
                               help="icarus (cocotb, default) or verilator (long runs)")
                u.add_argument("--vector-seed", type=pos_int_option, default=1, help="vector seed")
                u.add_argument("--netlist", action="store_true",
                               help="also simulate the synthesized netlist on a sample")
                config_class.add_verify_arguments(u)

    p = sub.add_parser("sweep", allow_abbrev=False,
                       help="verify and measure every point of a sweep file")
    p.add_argument("file", type=Path, metavar="SWEEP.toml", help="the sweep file")
    p.add_argument("-j", "--jobs", type=pos_int_option, default=1, metavar="N",
                   help="configurations at a time (local processes or LocalCluster workers)")
    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local process pool (default) or Dask distributed")
    p.add_argument("--scheduler", metavar="ADDR",
                   help="dask: scheduler address, e.g. tcp://host:8786 (default: a "
                        "LocalCluster of -j N workers)")
    p.add_argument("-o", "--output", type=Path, metavar="DIR",
                   help="results and cache directory (default out/<sweep name>)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    add_model_commands(sub)
    return top


def _cmd_formats(args) -> int:
    from fpforge.gen.report import format_table, format_table_text
    if args.json:
        print(json.dumps(format_table(), indent=2))
    else:
        print(format_table_text(markdown=args.markdown))
    return 0


def _cmd_gen(args, config) -> int:
    from fpforge.gen.emit import generate, write_files
    gen = generate(config, args.name)
    files = {f"{gen.name}.v": gen.verilog, f"{gen.name}.json": gen.manifest_text}
    if args.fusesoc:
        from fpforge.gen.fusesoc import core_file
        files[f"{gen.name}.core"] = core_file(gen)
    try:
        paths = write_files(args.output, files)
    except OSError as exc:
        raise UsageError(f"fpforge gen: cannot write to {args.output}: "
                         f"{exc.strerror or exc}") from None
    for path in paths:
        print(path)
    return 0


def _print_area(report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.as_dict(), sort_keys=True))
    elif hasattr(report, "line"):
        print(report.line())
    else:
        print(f"{report.top}: {report.transistors} transistors, {report.cells} cells, "
              f"depth {report.depth}, {report.dffs} flip-flops "
              f"(yosys {report.yosys}, standard script)")


def _synthesize(verilog, top: str, target: str, liberty: tuple[str, str] | None):
    """``liberty``: (library text, file name) to map to standard cells and time."""
    from fpforge.gen.synth import map_to_liberty, synthesize, synthesize_fpga
    if liberty is not None:
        return map_to_liberty(verilog, top, *liberty)
    return synthesize(verilog, top) if target == "asic" else synthesize_fpga(verilog, top, target)


def _cmd_area(args, config) -> int:
    target = getattr(args, "unit_target", None) or args.target
    liberty = getattr(args, "unit_liberty", None) or args.liberty
    library = None
    if liberty is not None:
        if target != "asic":
            raise UsageError(f"fpforge area: --liberty maps to standard cells; it does not "
                             f"combine with --target {target}")
        from fpforge.gen.synth import read_liberty
        library = (read_liberty(liberty), liberty.name)  # LibraryError: exit 2
    if config is None:
        if args.verilog is None or not args.top:
            raise UsageError("fpforge area: give a unit (mul) or --verilog FILE --top NAME")
        if not args.verilog.is_file():
            raise UsageError(f"fpforge area: no such file: {args.verilog}")
        _print_area(_synthesize(_read_text(args.verilog, "area"), args.top, target, library),
                    args.json)
        return 0
    from fpforge.gen.emit import generate
    gen = generate(config, args.name)
    _print_area(_synthesize(gen.verilog, gen.name, target, library),
                args.json or args.unit_json)
    return 0


def _read_text(path: Path, command: str) -> str:
    """A user's text file, or a UsageError naming why it cannot be read."""
    try:
        return path.read_text()
    except UnicodeDecodeError:
        raise UsageError(f"fpforge {command}: cannot read {path}: not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"fpforge {command}: cannot read {path}: "
                         f"{exc.strerror or exc}") from None


def _cmd_verify(args, config) -> int:
    if args.sim == "verilator":
        from fpforge.gen.verify import verify_verilator
        report = verify_verilator(config, vectors=args.vectors, exhaustive=args.exhaustive,
                                  seed=args.vector_seed, name=args.name)
    else:
        from fpforge.gen.verify import verify
        report = verify(config, vectors=args.vectors, exhaustive=args.exhaustive,
                        seed=args.vector_seed, netlist=args.netlist, name=args.name,
                        options=UNITS[args.unit].stimulus_options(args))
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def _cmd_sweep(args) -> int:
    from fpforge.gen.sweep import SweepError, load
    from fpforge.gen.sweep_run import run_sweep
    if args.scheduler and args.executor != "dask":
        raise UsageError("fpforge sweep: --scheduler needs --executor dask")
    try:
        sweep = load(args.file)
    except SweepError as exc:
        raise UsageError(f"fpforge sweep: {exc}") from None
    out = args.output or Path("out") / sweep.name
    try:
        summary = run_sweep(sweep, out, args.jobs, args.executor, args.scheduler,
                            progress=not args.no_progress)
    except SweepError as exc:
        raise UsageError(f"fpforge sweep: {exc}") from None
    except KeyboardInterrupt:
        print(f"error: interrupted; finished points are cached in {out / 'cache'}: run the "
              "same command again to resume", file=sys.stderr)
        return 130
    print(summary.line())
    for path in summary.outputs:
        print(path)
    return 0 if summary.ok else 1


def main(argv: list[str] | None = None) -> int:
    try:
        args = _build_parser().parse_args(argv)
        if args.version:
            from fpforge import __version__
            print(f"fpforge {__version__}")
            return 0
        if args.command is None:
            raise UsageError("fpforge: give a command: formats, gen, area, verify, sweep, vrr, "
                             "recommend or gemm (fpforge --help)")
        if args.command == "formats":
            return _cmd_formats(args)
        if args.command == "sweep":
            return _cmd_sweep(args)
        if args.command == "gemm":
            return cmd_gemm(args)
        if args.command in ("vrr", "recommend"):
            try:
                return (cmd_vrr if args.command == "vrr" else cmd_recommend)(args)
            except ValueError as exc:
                raise UsageError(f"fpforge {args.command}: {exc}") from None
        config = None
        if getattr(args, "unit", None):
            try:
                config = UNITS[args.unit].from_args(args)
            except (ValueError, TypeError) as exc:
                raise UsageError(f"fpforge {args.command} {args.unit}: {exc}") from None
            if getattr(args, "name", None):
                from fpforge.gen.emit import check_name
                try:
                    check_name(args.name)
                except ValueError as exc:
                    raise UsageError(f"fpforge {args.command}: {exc}") from None
        command = {"gen": _cmd_gen, "area": _cmd_area, "verify": _cmd_verify}[args.command]
        try:
            return command(args, config)
        except ValueError as exc:  # a configuration the command cannot take
            raise UsageError(f"fpforge {args.command}: {exc}") from None
    except UsageError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except SynthesisError as exc:  # a tool failed (Yosys, OpenSTA): its first line
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except (RuntimeError, OSError) as exc:  # a tool (Yosys, a simulator) or the system failed
        print(f"error: {_where(argv)}: {_one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line, the traceback only on request
        if os.environ.get("FPFORGE_DEBUG"):
            raise
        print(f"error: {_where(argv)}: internal error ({type(exc).__name__}: "
              f"{_one_line(exc)}); FPFORGE_DEBUG=1 shows the traceback", file=sys.stderr)
        return 1


def _where(argv) -> str:
    """``fpforge COMMAND [UNIT]`` of the command line, for error messages."""
    words = [w for w in (sys.argv[1:] if argv is None else argv)[:2] if not w.startswith("-")]
    return " ".join(["fpforge", *words[:2]])


def _one_line(exc: BaseException) -> str:
    """An exception's message in one line: its first line, and the last line that names
    an error when the message goes on (a tool's log tail)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if not lines:
        return type(exc).__name__
    errors = [ln for ln in lines[1:] if "error" in ln.lower()]
    return lines[0].rstrip(":") + (f": {errors[-1]}" if errors else "")


if __name__ == "__main__":
    sys.exit(main())
