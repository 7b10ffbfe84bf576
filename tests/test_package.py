"""The package's shape: its public names, lazy loading, and the import rules between layers
(docs/architecture.md): spec depends only on the formats, the golden model (sim) never on the
hardware or the tools, the hardware (rtl) never on the tools (tb, gen), the benches (tb) never
on the generator (gen)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import fpforge

ROOT = Path(__file__).resolve().parents[1]


def fpforge_imports(folder: str) -> set[tuple[str, str]]:
    """(file, module) for every ``fpforge.*`` module that a file of ``folder`` imports."""
    found = set()
    for path in sorted((ROOT / folder).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found |= {(path.name, n) for n in names if n.startswith("fpforge")}
    return found


#: imports docs/architecture.md names as exceptions still to be removed
KNOWN_EXCEPTIONS = {("systolic.py", "fpforge.sim.gemm")}


@pytest.mark.parametrize("folder, allowed", [
    ("spec", ("fpforge.sim.formats", "fpforge.spec")),
    ("sim", ("fpforge.sim", "fpforge.spec")),
    ("rtl", ("fpforge.rtl", "fpforge.sim.formats", "fpforge.sim.prng", "fpforge.spec")),
    ("tb", ("fpforge.tb", "fpforge.sim", "fpforge.spec")),
])
def test_layers_import_only_below(folder, allowed):
    wrong = {(f, m) for f, m in fpforge_imports(folder)
             if not any(m == a or m.startswith(a + ".") for a in allowed)} - KNOWN_EXCEPTIONS
    assert not wrong, f"{folder} imports above its layer: {sorted(wrong)}"


def test_public_names_are_the_golden_model():
    from fpforge.sim.arith import fma
    from fpforge.sim.formats import PRESETS
    assert fpforge.fma is fma
    assert fpforge.PRESETS is PRESETS
    assert set(fpforge.__all__) <= set(dir(fpforge))
    with pytest.raises(AttributeError, match="no attribute 'mull'"):
        fpforge.mull


def test_hardware_import_does_not_load_the_compiled_kernel():
    code = ("import sys, fpforge, fpforge.spec.checks, fpforge.rtl.mac; "
            "print(sorted(m for m in ('numba', 'fpforge.sim.kernel') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
