"""The architect's commands of ``fpforge``, answered by the golden model: ``vrr`` (the
variance-retention model), ``recommend`` (the fewest accumulator bits for a length, and the
MAC's area) and ``gemm`` (an emulated GEMM of two .npy matrices and its error).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fpforge.gen.cli_errors import UsageError
from fpforge.gen.units import format_option, nonneg_int_option, pos_int_option
from fpforge.sim.rounding import ALL_ROUNDING_MODES

__all__ = ["add_model_commands", "cmd_vrr", "cmd_recommend", "cmd_gemm"]


def add_model_commands(sub) -> None:
    """The parsers of vrr, recommend and gemm on the ``fpforge`` subcommands ``sub``."""
    p = sub.add_parser("vrr", allow_abbrev=False,
                       help="predicted variance retention of an accumulation (swamping model)")
    _add_vrr_arguments(p)
    p.add_argument("--m-acc", type=pos_int_option, required=True, metavar="M",
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
    p.add_argument("--acc-exp", type=pos_int_option, default=6, metavar="E",
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


def _add_vrr_arguments(p) -> None:
    p.add_argument("--length", type=pos_int_option, required=True, metavar="N",
                   help="accumulation length (products per sum)")
    p.add_argument("--m-p", type=pos_int_option, metavar="P",
                   help="product mantissa bits (vrr default 5: fp8_e5m2 x fp8_e5m2)")
    p.add_argument("--chunk", type=nonneg_int_option, default=0, metavar="C",
                   help="chunk size of chunk-based accumulation (0: none, default)")


def cmd_vrr(args) -> int:
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
            f" 8 exponent bits): the fewest bits measured at {1 - cutoff:g} or above, "
            f"{measured.m_acc}; " + "; ".join(parts))


def cmd_recommend(args) -> int:
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


def cmd_gemm(args) -> int:
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
