"""A standard-cell library the tests write themselves, laid out like a real one (SKY130 HD
is the model) and carrying everything of a real library that broke or could break
``fpforge area --liberty``:

- fractional cell areas: Yosys's ``stat`` text prints a large fractional area as
  ``5.73E+03``, which the old text parser did not read (the SKY130 traceback);
- quoted names, ``define`` statements, units, thresholds, operating conditions, wire-load
  tables, ``lu_table_template`` tables and ``pg_pin`` power pins;
- cells with several outputs: a half and a full adder, a tie cell (``HI`` and ``LO``), and
  a flip-flop with ``Q`` and ``Q_N`` as the only usable flip-flop;
- cells no plain design may use: a cheaper NAND2 and flip-flop marked ``dont_use``, a
  cheaper scan flip-flop, a latch;
- timing arcs with constant delays (every table entry the same value), so a path's delay
  is the sum of the :data:`DELAY` entries of its cells, whatever the slews and loads;
  ``time_unit`` "1ps" writes the same delays in picoseconds.

The figures a test expects are computed from :data:`AREA`, :data:`DELAY`, :data:`SETUP`
and :data:`CLK_TO_Q` by hand, independently of fpforge.
"""

from __future__ import annotations

#: cell name: area (um2)
AREA = {"fx__inv_1": 3.7536, "fx__buf_1": 3.7536, "fx__nand2_1": 3.7536, "fx__nor2_1": 3.7536,
        "fx__xor2_1": 8.7584, "fx__ha_1": 12.512, "fx__fa_1": 20.0192, "fx__conb_1": 3.7536,
        "fx__dfxbp_1": 23.7728, "fx__nand2_0": 0.5, "fx__dfxtp_0": 1.0, "fx__sdfxtp_1": 2.0,
        "fx__dlxtp_1": 1.5}
#: cells marked dont_use, and the scan flip-flop and latch: none may appear in a mapping
#: of a design without latches
NEVER_USED = ("fx__nand2_0", "fx__dfxtp_0", "fx__sdfxtp_1", "fx__dlxtp_1")
#: ns, from every input to every output of the cell (the flip-flop's: CLK_TO_Q)
DELAY = {"fx__inv_1": 0.1, "fx__buf_1": 0.15, "fx__nand2_1": 0.2, "fx__nor2_1": 0.25,
         "fx__xor2_1": 0.3, "fx__ha_1": 0.3, "fx__fa_1": 0.4, "fx__nand2_0": 0.01}
#: ns: the flip-flop's setup time, and its clock-to-Q and clock-to-Q_N delays
SETUP, CLK_TO_Q, CLK_TO_QN = 0.12, 0.35, 0.4
FLIP_FLOP = "fx__dfxbp_1"

_HEAD = """library ("fpforge_fixture_{unit}") {{
  define (def_sim_opt, library, string);
  technology ("cmos");
  delay_model : "table_lookup";
  bus_naming_style : "%s[%d]";
  time_unit : "1{unit}";
  voltage_unit : "1V";
  current_unit : "1mA";
  leakage_power_unit : "1nW";
  pulling_resistance_unit : "1kohm";
  capacitive_load_unit (1.0, "pf");
  input_threshold_pct_rise : 50.0;
  input_threshold_pct_fall : 50.0;
  output_threshold_pct_rise : 50.0;
  output_threshold_pct_fall : 50.0;
  slew_lower_threshold_pct_rise : 20.0;
  slew_lower_threshold_pct_fall : 20.0;
  slew_upper_threshold_pct_rise : 80.0;
  slew_upper_threshold_pct_fall : 80.0;
  default_max_transition : 1.5;
  operating_conditions ("tt_025C_1v80") {{
    voltage : 1.8; process : 1.0; temperature : 25.0; tree_type : "balanced_tree";
  }}
  default_operating_conditions : "tt_025C_1v80";
  wire_load ("Small") {{
    capacitance : 1.42e-05; resistance : 0.0; slope : 8.3631;
    fanout_length (1, 23.2746); fanout_length (2, 32.1136);
  }}
  default_wire_load : "Small";
  default_wire_load_mode : top;
  lu_table_template ("del_2_2") {{
    variable_1 : "input_net_transition"; variable_2 : "total_output_net_capacitance";
    index_1 ("0.01, 1.5"); index_2 ("0.0005, 0.2");
  }}
  lu_table_template ("vio_2_2") {{
    variable_1 : "related_pin_transition"; variable_2 : "constrained_pin_transition";
    index_1 ("0.01, 1.5"); index_2 ("0.01, 1.5");
  }}
"""

_PG = """    pg_pin ("VGND") { pg_type : "primary_ground"; voltage_name : "VGND"; }
    pg_pin ("VPWR") { pg_type : "primary_power"; voltage_name : "VPWR"; }
"""


def _table(kind: str, value: str, template: str = "del_2_2") -> str:
    return f'{kind} ("{template}") {{ values ("{value}, {value}", "{value}, {value}"); }} '


def _arc(pin: str, sense: str, delay: str, kind: str = "") -> str:
    how = f'timing_type : "{kind}"; ' if kind else ""
    return (f'      timing () {{ related_pin : "{pin}"; timing_sense : "{sense}"; {how}'
            + _table("cell_rise", delay) + _table("cell_fall", delay)
            + _table("rise_transition", "0.05") + _table("fall_transition", "0.05") + "}\n")


def _inputs(pins) -> str:
    return "".join(f'    pin ("{p}") {{ direction : "input"; capacitance : 0.0017; '
                   'related_power_pin : "VPWR"; related_ground_pin : "VGND"; }\n' for p in pins)


def _cell(name: str, scale: float, extra: str = "") -> str:
    return f'  cell ("{name}") {{\n    area : {AREA[name] * scale:g};\n{extra}'


def _gate(name: str, ins: str, outs: dict, k: float, s: float, extra: str = "") -> str:
    """``outs``: output pin -> (function, timing sense); delays times ``k``, area ``s``."""
    text = _cell(name, s, extra) + _PG + _inputs(ins)
    for pin, (function, sense) in outs.items():
        text += (f'    pin ("{pin}") {{ direction : "output"; function : "{function}"; '
                 'max_capacitance : 0.2;\n'
                 + "".join(_arc(p, sense, f"{DELAY[name] * k:g}") for p in ins) + "    }\n")
    return text + "  }\n"


def _flop(name: str, next_state: str, ins, outs: dict, k: float, s: float,
          extra: str = "") -> str:
    """``outs``: output pin -> (ff variable, clock-to-output delay)."""
    text = (_cell(name, s, extra)
            + f'    ff ("IQ", "IQ_N") {{ clocked_on : "CLK"; next_state : "{next_state}"; }}\n'
            + _PG + '    pin ("CLK") { direction : "input"; clock : "true"; '
            'capacitance : 0.0018; }\n')
    for pin in ins:
        text += (f'    pin ("{pin}") {{ direction : "input"; capacitance : 0.0017;\n'
                 + "".join(f'      timing () {{ related_pin : "CLK"; timing_type : "{kind}"; '
                           + _table("rise_constraint", value, "vio_2_2")
                           + _table("fall_constraint", value, "vio_2_2")
                           + "}\n" for kind, value in (("setup_rising", f"{SETUP * k:g}"),
                                                       ("hold_rising", "0")))
                 + "    }\n")
    for pin, (var, delay) in outs.items():
        arc = _arc("CLK", "non_unate", f"{delay * k:g}", "rising_edge")
        text += f'    pin ("{pin}") {{ direction : "output"; function : "{var}";\n{arc}    }}\n'
    return text + "  }\n"


def liberty(time_unit: str = "ns", scale: float = 1.0, flip_flop: bool = True,
            arcs: bool = True) -> str:
    """The library's text, with delays in ``time_unit`` ("ns" or "ps") and every area
    times ``scale``; without :data:`FLIP_FLOP` (only unusable flip-flops left), or without
    any timing arc (each is one line starting with ``timing ()``)."""
    k = {"ns": 1.0, "ps": 1000.0}[time_unit]
    dont_use = "    dont_use : true;\n"
    cells = [
        _gate("fx__inv_1", "A", {"Y": ("!A", "negative_unate")}, k, scale),
        _gate("fx__buf_1", "A", {"X": ("A", "positive_unate")}, k, scale),
        _gate("fx__nand2_1", "AB", {"Y": ("!(A&B)", "negative_unate")}, k, scale),
        _gate("fx__nor2_1", "AB", {"Y": ("!(A|B)", "negative_unate")}, k, scale),
        _gate("fx__xor2_1", "AB", {"X": ("(A&!B)|(!A&B)", "non_unate")}, k, scale),
        _gate("fx__ha_1", "AB", {"COUT": ("(A&B)", "positive_unate"),
                                 "SUM": ("(A&!B)|(!A&B)", "non_unate")}, k, scale),
        _gate("fx__fa_1", "ABC", {"COUT": ("(A&B)|(A&C)|(B&C)", "positive_unate"),
                                  "SUM": ("(A^B^C)", "non_unate")}, k, scale),
        _gate("fx__nand2_0", "AB", {"Y": ("!(A&B)", "negative_unate")}, k, scale, dont_use),
        _cell("fx__conb_1", scale) + _PG
        + '    pin ("HI") { direction : "output"; function : "1"; }\n'
        + '    pin ("LO") { direction : "output"; function : "0"; }\n  }\n',
        _flop(FLIP_FLOP, "D", "D", {"Q": ("IQ", CLK_TO_Q), "Q_N": ("IQ_N", CLK_TO_QN)},
              k, scale) if flip_flop else "",
        _flop("fx__dfxtp_0", "D", "D", {"Q": ("IQ", CLK_TO_Q)}, k, scale, dont_use),
        _flop("fx__sdfxtp_1", "(D&!SCE) | (SCD&SCE)", ["D", "SCD", "SCE"],
              {"Q": ("IQ", CLK_TO_Q)}, k, scale),
        _cell("fx__dlxtp_1", scale)
        + '    latch ("IQ", "IQ_N") { enable : "GATE"; data_in : "D"; }\n' + _PG
        + _inputs(["GATE", "D"]) + '    pin ("Q") { direction : "output"; function : "IQ"; }\n'
        + "  }\n",
    ]
    text = _HEAD.format(unit=time_unit) + "".join(cells) + "}\n"
    if not arcs:
        text = "".join(ln for ln in text.splitlines(keepends=True)
                       if not ln.lstrip().startswith("timing ()"))
    return text


def area_of(cell_types: dict, scale: float = 1.0) -> float:
    """The area of a mapping by hand: cells times their :data:`AREA`."""
    return sum(AREA[cell] * scale * n for cell, n in cell_types.items())
