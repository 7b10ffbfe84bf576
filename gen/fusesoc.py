"""FuseSoC CAPI2 core file for a generated module (``fpforge gen ... --fusesoc``).

``core_file(gen)`` takes the :class:`~fpforge.gen.emit.Generated` of ``generate(config,
name)`` and returns the text of ``NAME.core``, to sit beside ``NAME.v`` and ``NAME.json``:

* name (VLNV) ``fpforge:<unit>:<NAME>:<version>``.  FuseSoC allows only letters, digits,
  ``.``, ``-`` and ``_`` in each part and reads a trailing ``-rN`` as a core revision, so
  any other character of the fpforge version (a PEP 440 local part ``+g1234``, an epoch
  ``1!``) becomes ``.``; a plain release such as ``0.3.0`` is kept as it is.
* fileset ``rtl``: ``NAME.v`` (verilogSource) and ``NAME.json`` (user: the manifest).
* targets ``default`` (fileset ``rtl``, toplevel ``NAME``) and ``lint``: Verilator
  ``--lint-only -Wall`` as fpforge's own tests lint, with the categories of
  ``emit.LINT_WAIVERS`` waived (the file waives them too), and ``DECLFILENAME`` when the
  file holds more than one module (the array keeps its PEs in the top module's file).
  ``lint`` uses Edalize's flow API (``flow: lint``, tool ``verilator``, which sets mode
  ``lint-only``), not the tool API (``default_tool``) that Edalize 0.6 warns is
  deprecated; it needs FuseSoC 2 and runs the ``verilator`` found on PATH.

The text is written by hand (no YAML library at run time), depends only on the module
(no dates), and every string is a double-quoted scalar (JSON string syntax), so no
name or parameter can break the YAML.
"""

from __future__ import annotations

import json
import re

from fpforge.gen.emit import LINT_WAIVERS, Generated

__all__ = ["core_file", "vlnv"]


def _version(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]", ".", str(text))


def vlnv(gen: Generated) -> str:
    """``fpforge:<unit>:<NAME>:<version>``: the core's name."""
    m = gen.manifest
    return f"fpforge:{m['unit']}:{gen.name}:{_version(m['fpforge_version'])}"


def _q(text) -> str:
    return json.dumps(str(text))


def lint_options(gen: Generated) -> list[str]:
    """Verilator options of the ``lint`` target (``--lint-only`` comes from its mode)."""
    waivers = list(LINT_WAIVERS)
    if len(re.findall(r"^module ", gen.verilog, re.M)) > 1:
        waivers.append("DECLFILENAME")
    return ["-Wall"] + [f"-Wno-{w}" for w in waivers]


def core_file(gen: Generated) -> str:
    """The text of ``NAME.core`` (FuseSoC CAPI2) for the generated module ``gen``."""
    m = gen.manifest
    params = " ".join(f"{k}={v}" for k, v in m.get("params", {}).items())
    description = (f"fpforge {m['fpforge_version']} {m['unit']} {params}; "
                   f"latency {m['latency']}")
    name = gen.name
    lines = [
        "CAPI=2:",
        f"# written by fpforge {m['fpforge_version']} (fpforge gen --fusesoc); lint with",
        f"#   fusesoc --cores-root DIR run --target lint {vlnv(gen)}",
        f"name: {_q(vlnv(gen))}",
        f"description: {_q(description)}",
        "",
        "filesets:",
        "  rtl:",
        "    files:",
        f"      - {_q(name + '.v')}: {{file_type: verilogSource}}",
        f"      - {_q(name + '.json')}: {{file_type: user}}",
        "",
        "targets:",
        "  default:",
        f"    description: {_q('the module ' + name)}",
        "    filesets: [rtl]",
        f"    toplevel: {_q(name)}",
        "",
        "  lint:",
        f"    description: {_q('Verilator lint-only, -Wall')}",
        "    flow: lint",
        "    filesets: [rtl]",
        f"    toplevel: {_q(name)}",
        "    flow_options:",
        "      tool: verilator",
        "      verilator_options: [" + ", ".join(map(_q, lint_options(gen))) + "]",
    ]
    return "\n".join(lines) + "\n"
