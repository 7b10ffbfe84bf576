"""Run the cocotb testbench on a generated unit's Verilog (RTL or gate-level netlist).

Vectors are computed outside the simulator by the golden model and handed over as a .npz
file; results come back as JSON.  Icarus is the simulator (cocotb's runner builds once per
Verilog file).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["RunResult", "run_cocotb", "ensure_icarus"]


@dataclass
class RunResult:
    tried: int
    passed: int
    mismatches: list = field(default_factory=list)
    #: arrays: clock cycles from the first beat to the last result row, and the wall
    #: time the simulator took for them
    cycles: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.tried > 0 and self.tried == self.passed


def ensure_icarus() -> None:
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        raise RuntimeError("Icarus Verilog (iverilog, vvp) not found: install it, e.g. "
                           "`apt-get install -y iverilog` (make test does this)")


def run_cocotb(verilog: Path, top: str, manifest: dict, vectors: dict[str, np.ndarray],
               build_dir: Path, reset_edges: int | None = None) -> RunResult:
    """Simulate ``verilog`` (module ``top``) on ``vectors`` (input arrays + expected ``y``)
    with Icarus and return the pass count.  ``reset_edges``: reset a clocked unit as a
    user's bench does, ``rst`` high from time 0 for that many edges with the other inputs
    undriven (``tb/cocotb_unit.py``)."""
    from cocotb_tools.runner import get_runner

    ensure_icarus()
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    vec_file = build_dir / "vectors.npz"
    np.savez(vec_file, **{k: np.asarray(v, dtype=np.uint64) for k, v in vectors.items()})
    man_file = build_dir / "manifest.json"
    man_file.write_text(json.dumps(manifest))
    result_file = build_dir / "result.json"
    result_file.unlink(missing_ok=True)

    runner = get_runner("icarus")
    runner.build(sources=[Path(verilog).resolve()], hdl_toplevel=top, build_dir=build_dir,
                 timescale=("1ns", "1ps"), always=True, log_file=build_dir / "build.log")
    env = {"FPFORGE_MANIFEST": str(man_file), "FPFORGE_VECTORS": str(vec_file),
           "FPFORGE_RESULT": str(result_file), "COCOTB_REDUCED_LOG_FMT": "1"}
    if reset_edges is not None:
        env["FPFORGE_RESET_EDGES"] = str(reset_edges)
    try:
        runner.test(test_module="fpforge.tb.cocotb_unit", hdl_toplevel=top,
                    build_dir=build_dir, test_dir=build_dir, extra_env=env,
                    log_file=build_dir / "sim.log")
    except SystemExit:  # the runner exits on a failed test; the result file says why
        pass
    if not result_file.exists():
        log = (build_dir / "sim.log")
        tail = log.read_text()[-2000:] if log.exists() else "(no log)"
        raise RuntimeError(f"simulation of {top} produced no result; log tail:\n{tail}")
    data = json.loads(result_file.read_text())
    return RunResult(data["tried"], data["passed"], data["mismatches"], data.get("cycles", 0),
                     data.get("seconds", 0.0))


