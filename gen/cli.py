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

from fpforge.gen.sweep_run import EXECUTORS
from fpforge.gen.synth import SynthesisError
from fpforge.gen.units import UNITS, format_option, nonneg_int_option
from fpforge.sim.rounding import ALL_ROUNDING_MODES

__all__ = ["main"]

#: ``fpforge area --target``: the standard ASIC-proxy script, or an FPGA family's flow
TARGETS = ("asic", "ice40", "ecp5")


class UsageError(Exception):
    """Bad input: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def _pos_int(text: str) -> int:
    value = nonneg_int_option(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, not {text!r}")
    return value


def _build_parser() -> argparse.ArgumentParser:
    top = _Parser(prog="fpforge", allow_abbrev=False,
                  description="Reduced-precision floating-point hardware generator.")
    top.add_argument("--version", action="store_true", help="print the version")
    sub = top.add_subparsers(dest="command", parser_class=_Parser)

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
        units = p.add_subparsers(dest="unit", parser_class=_Parser, required=command != "area")
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
                n.add_argument("--vectors", type=_pos_int, metavar="N",
                               help="corner + random vectors (default: exhaustive up to "
                                    "16 input bits, else 100000)")
                n.add_argument("--exhaustive", action="store_true", help="every input combination")
                u.add_argument("--sim", choices=("icarus", "verilator"), default="icarus",
                               help="icarus (cocotb, default) or verilator (long runs)")
                u.add_argument("--vector-seed", type=_pos_int, default=1, help="vector seed")
                u.add_argument("--netlist", action="store_true",
                               help="also simulate the synthesized netlist on a sample")
                config_class.add_verify_arguments(u)

    p = sub.add_parser("sweep", allow_abbrev=False,
                       help="verify and measure every point of a sweep file")
    p.add_argument("file", type=Path, metavar="SWEEP.toml", help="the sweep file")
    p.add_argument("-j", "--jobs", type=_pos_int, default=1, metavar="N",
                   help="configurations at a time (local processes or LocalCluster workers)")
    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local process pool (default) or Dask distributed")
    p.add_argument("--scheduler", metavar="ADDR",
                   help="dask: scheduler address, e.g. tcp://host:8786 (default: a "
                        "LocalCluster of -j N workers)")
    p.add_argument("-o", "--output", type=Path, metavar="DIR",
                   help="results and cache directory (default out/<sweep name>)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("vrr", allow_abbrev=False,
                       help="predicted variance retention of an accumulation (swamping model)")
    _add_vrr_arguments(p)
    p.add_argument("--m-acc", type=_pos_int, required=True, metavar="M",
                   help="accumulator mantissa (fraction) bits")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("recommend", allow_abbrev=False,
                       help="the fewest accumulator bits for a length, and the MAC's area")
    _add_vrr_arguments(p)
    p.add_argument("--cutoff", type=float, default=1e-3, metavar="F",
                   help="largest fraction of the sum's variance that may be lost, "
                        "n (1 - VRR) <= F n (default 0.001)")
    p.add_argument("--operand", type=format_option, metavar="FMT",
                   help="multiplier operand format of the MAC (default fp8_e5m2); its "
                        "exact product sets the default --m-p")
    p.add_argument("--acc-exp", type=_pos_int, default=6, metavar="E",
                   help="exponent bits of the suggested accumulator (default 6)")
    p.add_argument("--no-area", action="store_true", help="skip the MAC's synthesis")
    p.add_argument("--no-check", action="store_true",
                   help="skip the Monte Carlo check of the model's answer (model only)")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("gemm", allow_abbrev=False,
                       help="emulated low-precision GEMM of two .npy matrices, bit-exact "
                            "with the array's PEs, and its error against float64")
    p.add_argument("a_file", type=Path, metavar="A.npy", help="M x K matrix")
    p.add_argument("b_file", type=Path, metavar="B.npy", help="K x N matrix")
    for name, what in (("a", "A's"), ("b", "B's"), ("acc", "the accumulator's (and C's)")):
        p.add_argument(f"--{name}", type=format_option, required=True, metavar="FMT",
                       help=f"{what} format")
    p.add_argument("--chunk", type=nonneg_int_option, default=0, metavar="C",
                   help="chunk size of chunk-based accumulation (0: none, default)")
    p.add_argument("--rounding", choices=ALL_ROUNDING_MODES, default="rne",
                   help="rounding of every accumulation step (default rne)")
    p.add_argument("--seed", type=int, default=1, metavar="S", help="sr: PRNG seed")
    p.add_argument("--rand-bits", type=int, default=16, metavar="R",
                   help="sr: random bits per rounding (default 16)")
    p.add_argument("--saturate", action="store_true",
                   help="overflow to +-max, in the accumulator and when rounding inputs")
    p.add_argument("--codes", action="store_true",
                   help="A, B (and -o C) are integer codes of their formats, not values")
    p.add_argument("-o", "--output", type=Path, metavar="C.npy",
                   help="write C: float64 values, or acc codes with --codes")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return top


def _add_vrr_arguments(p) -> None:
    p.add_argument("--length", type=_pos_int, required=True, metavar="N",
                   help="accumulation length (products per sum)")
    p.add_argument("--m-p", type=_pos_int, metavar="P",
                   help="product mantissa bits (vrr default 5: fp8_e5m2 x fp8_e5m2)")
    p.add_argument("--chunk", type=nonneg_int_option, default=0, metavar="C",
                   help="chunk size of chunk-based accumulation (0: none, default)")


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


def _cmd_vrr(args) -> int:
    from fpforge.sim.vrr import vrr
    m_p = 5 if args.m_p is None else args.m_p
    ratio = vrr(args.length, args.m_acc, m_p, args.chunk)
    lost = args.length * (1 - ratio)  # the variance lost, without a second model run
    if args.json:
        print(json.dumps({"length": args.length, "m_acc": args.m_acc, "m_p": m_p,
                          "chunk": args.chunk, "vrr": ratio, "variance_lost": lost},
                         sort_keys=True))
    else:
        how = f"chunks of {args.chunk}" if args.chunk else "no chunking"
        print(f"n={args.length}, m_acc={args.m_acc}, m_p={m_p}, {how}: VRR {ratio:.6f}, "
              f"variance lost {lost:.4g} (in product variances)")
    return 0


def _check_text(check) -> str:
    """How the Monte Carlo check settled on its width, in words."""
    m, trials, ratio, err = check.tried[-1]
    text = f"Monte Carlo check: measured VRR {ratio:.5f} ± {err:.5f} over {trials:,} trials"
    for m_low, t_low, r_low, e_low in check.tried[:-1]:
        text += (f"; m_acc {m_low} measured {r_low:.5f} ± {e_low:.5f} ({t_low:,} trials), "
                 "below the cutoff")
    return text


def _measured_text(measured, m_acc: int, cutoff: float) -> str:
    """The stored measurement behind an answer of ``m_acc`` bits, in words."""
    parts = [f"m_acc {m}: {r:.5f} ± {e:.5f} ({t:,} streams)"
             for m, t, r, e in measured.rows if abs(m - m_acc) <= 1]
    return (f"stored Monte Carlo measurement at n = {measured.n:,} (scripts/vrr_montecarlo.py,"
            f" 8 exponent bits): the fewest bits not below {1 - cutoff:g} by more than 3 "
            f"standard errors, {measured.m_acc}; " + "; ".join(parts))


def _cmd_recommend(args) -> int:
    from fpforge.sim.formats import FloatFormat, parse
    from fpforge.sim.vrr import min_m_acc, product_bits, variance_lost
    from fpforge.sim.vrr_measure import MAX_M_P, check_m_acc
    from fpforge.sim.vrr_measured import measured_m_acc
    operand = args.operand or parse("fp8_e5m2")
    exact_bits = product_bits(operand)
    if args.m_p is not None and args.m_p != exact_bits and (args.operand or not args.no_area):
        raise ValueError(f"--m-p {args.m_p} does not match the MAC's --operand {operand}, "
                         f"whose exact product has {exact_bits} mantissa bits; give an "
                         f"--operand with {args.m_p} bits of product, or --no-area")
    m_p = exact_bits if args.m_p is None else args.m_p
    FloatFormat(args.acc_exp, 1)  # a bad exponent fails before the model runs
    model = min_m_acc(args.length, m_p, args.chunk, args.cutoff)
    check, m_acc, measured = None, model, None
    if not args.no_check:
        measured = measured_m_acc(args.length, m_p, args.chunk, args.cutoff, args.acc_exp)
    if args.no_check:
        source = "model (Monte Carlo check skipped: --no-check)"
    elif measured is not None:
        m_acc = max(model, measured.m_acc)
        source = ("model, raised to the stored Monte Carlo measurement" if m_acc > model
                  else "model, confirmed by the stored Monte Carlo measurement")
    elif m_p > MAX_M_P:
        source = f"model (no Monte Carlo check for products wider than {MAX_M_P} bits)"
    else:
        check = check_m_acc(args.length, model, m_p, args.chunk, args.cutoff, args.acc_exp)
        m_acc = check.m_acc
        source = ("model, raised by the Monte Carlo check" if check.raised
                  else "model, confirmed by the Monte Carlo check")
    acc = FloatFormat(args.acc_exp, m_acc)
    out = {"length": args.length, "m_p": m_p, "chunk": args.chunk,
           "cutoff": args.cutoff, "m_acc": m_acc, "model_m_acc": model, "source": source,
           "check": None if check is None else
           [{"m_acc": m, "trials": t, "vrr": r, "stderr": e} for m, t, r, e in check.tried],
           "measured": None if measured is None else
           {"n": measured.n, "m_acc": measured.m_acc,
            "widths": [{"m_acc": m, "trials": t, "vrr": r, "stderr": e}
                       for m, t, r, e in measured.rows]},
           "variance_lost": float(variance_lost(args.length, m_acc, m_p, args.chunk)),
           "accumulator": acc.spec, "operand": str(operand), "mac_area": None}
    if not args.no_area:
        from fpforge.gen.emit import generate
        from fpforge.gen.synth import synthesize
        from fpforge.gen.units import MacConfig
        gen = generate(MacConfig(a=operand, b=operand, c=acc, out=acc))
        report = synthesize(gen.verilog, gen.name)
        out["mac_area"] = {"module": gen.name, "transistors": report.transistors,
                           "cells": report.cells, "depth": report.depth}
    if args.json:
        print(json.dumps(out, sort_keys=True))
        return 0
    how = f"chunks of {args.chunk}" if args.chunk else "no chunking"
    print(f"n={args.length}, m_p={m_p}, {how}: m_acc = {m_acc} from the {source} (model: "
          f"{model}, variance lost {float(variance_lost(args.length, model, m_p, args.chunk)):.3g}"
          f" <= {args.cutoff:g} n); accumulator {acc.spec}")
    if check is not None:
        print(f"{_check_text(check)} (e{args.acc_exp}m{m_acc} accumulator, cutoff "
              f"{1 - args.cutoff:g}: a width passes unless measured below it by more than "
              "3 standard errors)")
    if measured is not None:
        print(_measured_text(measured, m_acc, args.cutoff))
    if out["mac_area"]:
        a = out["mac_area"]
        print(f"fused MAC {operand} x {operand} + {acc.spec}: {a['transistors']} "
              f"transistors, {a['cells']} cells, depth {a['depth']} ({a['module']}, "
              f"standard script)")
    return 0


#: ``fpforge gemm`` shows a progress bar from this many multiply-adds on
GEMM_PROGRESS_MACS = 1 << 28


def _error_line(label: str, rep) -> str:
    return (f"{label}: max abs {rep.max_abs:.6g}, mean abs {rep.mean_abs:.6g}, relative "
            f"Frobenius {rep.rel_fro:.6g}, non-finite {rep.nonfinite}")


def _cmd_gemm(args) -> int:
    from fpforge.gen.emit import write_files
    from fpforge.gen.emulate import InputError, load_operand, npy_bytes, run
    from fpforge.sim.gemm import ArrayConfig
    try:
        # every option checked as an array's arithmetic, before the matrices are read
        ArrayConfig(1, 1, args.a, args.b, args.acc, args.chunk, args.rounding, args.seed,
                    args.saturate, args.rand_bits)
        a = load_operand(args.a_file, args.a, args.codes, args.saturate, "A")
        b = load_operand(args.b_file, args.b, args.codes, args.saturate, "B")
    except (InputError, ValueError) as exc:
        raise UsageError(f"fpforge gemm: {exc}") from None
    if args.output is not None and args.output.is_dir():
        raise UsageError(f"fpforge gemm: -o {args.output} is a directory; give a file name")
    (m, k), n = a.codes.shape, b.codes.shape[1]
    bar = None
    if not args.no_progress and m * k * n >= GEMM_PROGRESS_MACS:
        from tqdm import tqdm
        bar = tqdm(total=m, unit="row", desc="fpforge gemm", file=sys.stderr)
    try:
        result = run(a, b, args.acc, args.chunk, args.rounding, args.saturate, args.seed,
                     args.rand_bits, progress=None if bar is None else
                     (lambda done: bar.update(done - bar.n)))
    except InputError as exc:
        raise UsageError(f"fpforge gemm: {exc}") from None
    finally:
        if bar is not None:
            bar.close()
    if args.output is not None:
        out = result.codes if args.codes else args.acc.decode(result.codes)
        try:
            write_files(args.output.parent, {args.output.name: npy_bytes(out)})
        except OSError as exc:
            raise UsageError(f"fpforge gemm: cannot write {args.output}: "
                             f"{exc.strerror or exc}") from None
    report = {"m": m, "k": k, "n": n, "a": args.a.spec, "b": args.b.spec,
              "acc": args.acc.spec, "chunk": args.chunk, "rounding": args.rounding,
              "seed": args.seed, "saturate": args.saturate, "seconds": result.seconds,
              "macs_per_s": m * k * n / result.seconds if result.seconds else None,
              "error": result.error.as_dict(),
              "error_vs_inputs": (result.error_vs_inputs.as_dict()
                                  if result.error_vs_inputs else None),
              "output": None if args.output is None else str(args.output)}
    if args.json:
        print(json.dumps(report, sort_keys=True))
        return 0
    how = f"chunks of {args.chunk}" if args.chunk else "no chunking"
    print(f"C = A x B: ({m} x {k}) x ({k} x {n}), {args.a} x {args.b} -> {args.acc}, {how}, "
          f"{args.rounding}: {m * k * n:,} MACs in {result.seconds:.3f} s")
    print(_error_line("against float64 on the rounded operands", result.error))
    if result.error_vs_inputs is not None:
        print(_error_line("against float64 on the inputs as given", result.error_vs_inputs))
    if args.output is not None:
        print(f"wrote {args.output} ({'codes' if args.codes else 'float64 values'})")
    return 0


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
            return _cmd_gemm(args)
        if args.command in ("vrr", "recommend"):
            try:
                return (_cmd_vrr if args.command == "vrr" else _cmd_recommend)(args)
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
