"""Sweep files: a TOML file -> the list of points (unit configuration x target) to measure.

A sweep file has one ``[sweep]`` table of defaults and one ``[[unit]]`` table per family of
configurations::

    [sweep]
    vectors = 20000           # verification budget per configuration (RTL vectors);
                              # exhaustive when every input combination fits in it
    netlist_sample = 2000     # of those, simulated on the gate-level netlist (0: none)
    seed = 1                  # vector seed
    targets = ["asic"]        # asic | ice40 | ecp5 | liberty
    liberty = "cells.lib"     # the standard-cell library of target "liberty" (or .lib.gz)

    [[unit]]
    unit = ["mul", "add"]     # a unit name or a list of them
    a = ["fp16", "bf16"]      # a unit field: one value or a list to sweep
    same = { b = "a", out = "a" }       # fields that take another field's value
    where = ["a.man_bits >= 7"]         # filters over the fields (formats have width,
                                        # exp_bits, man_bits, bias, precision)
    targets = ["asic", "ice40"]         # overrides of the [sweep] defaults

The fields are the unit's configuration fields (``fpforge gen UNIT --help``; ``in`` is
accepted for ``in_fmt``).  Every ``[[unit]]`` table gives the cartesian product of its lists;
filtered and duplicate configurations are dropped.  A point's cache key is a hash of the
fpforge version, the unit, its parameters, the target and the verification budget.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from fpforge import __version__
from fpforge.gen.synth import LibraryError, read_liberty
from fpforge.gen.units import UNITS, UnitConfig

__all__ = ["SweepError", "Budget", "Point", "Sweep", "load", "parse_sweep", "SWEEP_TARGETS"]

#: what a point is measured on: the standard script, an FPGA family, the user's cells
SWEEP_TARGETS = ("asic", "ice40", "ecp5", "liberty")
_DEFAULTS = {"vectors": 20_000, "netlist_sample": 2_000, "seed": 1, "targets": ["asic"]}
_SWEEP_KEYS = ("name", "liberty", *_DEFAULTS)
_BLOCK_KEYS = ("unit", "same", "where", "vectors", "netlist_sample", "seed", "targets")
_FORMAT_ATTRS = ("width", "exp_bits", "man_bits", "bias", "precision", "spec", "name")
_ALIASES = {"in": "in_fmt"}


class SweepError(ValueError):
    """A sweep file that cannot be run: the message names the problem and the choices."""


@dataclass(frozen=True)
class Budget:
    """How a configuration is verified before it is measured."""

    vectors: int
    netlist_sample: int
    seed: int


@dataclass(frozen=True)
class Point:
    """One configuration on one target."""

    config: UnitConfig
    target: str
    budget: Budget
    liberty_text: str | None = None

    @property
    def params(self) -> dict:
        return self.config.params()

    @property
    def key(self) -> str:
        """Cache key: hash of (fpforge version, unit, params, target, budget, library)."""
        ident = {"fpforge": __version__, "unit": self.config.unit, "params": self.params,
                 "target": self.target, "budget": dataclasses.asdict(self.budget)}
        if self.target == "liberty":
            ident["liberty"] = hashlib.sha256(self.liberty_text.encode()).hexdigest()
        text = json.dumps(ident, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Sweep:
    name: str
    points: list[Point]
    liberty: str | None = None  # the library's file name, for reports


def load(path: Path) -> Sweep:
    """Read and expand a sweep file."""
    path = Path(path)
    if not path.is_file():
        raise SweepError(f"no such sweep file: {path}")
    try:
        spec = tomllib.loads(_read_text(path, "sweep file"))
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{path}: not valid TOML: {exc}") from None
    return parse_sweep(spec, path.stem, base=path.parent)


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SweepError(f"{what} {path} is not UTF-8 text") from None
    except OSError as exc:
        raise SweepError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _table(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise SweepError(f"{where} must be a table, not {value!r}")
    return value


def parse_sweep(spec: dict, default_name: str, base: Path = Path(".")) -> Sweep:
    """Expand a parsed sweep file (see the module docstring); relative paths are taken
    from ``base``."""
    head = _table(spec.get("sweep", {}), "sweep")
    _check_keys(head, _SWEEP_KEYS, "[sweep]")
    unknown = sorted(set(spec) - {"sweep", "unit"})
    if unknown:
        raise SweepError(f"unknown table {unknown[0]!r}: a sweep file has [sweep] and "
                         "[[unit]] tables")
    blocks = spec.get("unit")
    if not isinstance(blocks, list) or not blocks:
        raise SweepError("a sweep file needs at least one [[unit]] table")
    for i, block in enumerate(blocks, 1):
        _table(block, f"unit #{i}")
    defaults = {k: head.get(k, v) for k, v in _DEFAULTS.items()}
    liberty_text = None
    if head.get("liberty") is not None:
        try:
            liberty_text = read_liberty(base / str(head["liberty"]))
        except LibraryError as exc:
            raise SweepError(str(exc)) from None
    points, seen = [], set()
    for i, block in enumerate(blocks, 1):
        for point in _expand_block(block, defaults, liberty_text, f"[[unit]] #{i}"):
            if point.key not in seen:
                seen.add(point.key)
                points.append(point)
    if not points:
        raise SweepError("the sweep has no points: every configuration was filtered out")
    name = str(head.get("name", default_name))
    return Sweep(name, points, Path(head["liberty"]).name if liberty_text else None)


def _check_keys(table: dict, valid, where: str) -> None:
    for key in table:
        if key not in valid:
            raise SweepError(f"{where}: unknown key {key!r}: valid keys are "
                             f"{', '.join(valid)}")


def _as_list(value) -> list:
    return list(value) if isinstance(value, list) else [value]


def _expand_block(block: dict, defaults: dict, liberty_text, where: str):
    """The points of one [[unit]] table, in the order of its lists."""
    settings = {k: block.get(k, defaults[k]) for k in defaults}
    budget = _budget(settings, where)
    targets = _as_list(settings["targets"])
    if not targets:
        raise SweepError(f"{where}: targets is empty: choose from {', '.join(SWEEP_TARGETS)}")
    for target in targets:
        if target not in SWEEP_TARGETS:
            raise SweepError(f"{where}: unknown target {target!r}: choose from "
                             f"{', '.join(SWEEP_TARGETS)}")
        if target == "liberty" and liberty_text is None:
            raise SweepError(f"{where}: target 'liberty' needs liberty = FILE in [sweep]")
    units = _as_list(block.get("unit"))
    if not units:
        raise SweepError(f"{where}: unit is empty: choose from {', '.join(UNITS)}")
    for unit in units:
        if not isinstance(unit, str) or unit not in UNITS:
            raise SweepError(f"{where}: unknown unit {unit!r}: choose from {', '.join(UNITS)}")
    same = _table(block.get("same", {}), f"{where}: same")
    wheres = _as_list(block.get("where", []))
    filters = [_compile_filter(text, where) for text in wheres]
    for unit in units:
        cls = UNITS[unit]
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        values = {}
        for key, value in block.items():
            if key in _BLOCK_KEYS:
                continue
            name = _ALIASES.get(key, key)
            if name not in fields:
                raise SweepError(f"{where}: {unit} has no field {key!r}: its fields are "
                                 f"{', '.join(sorted(fields))}")
            values[name] = _as_list(value)
            if not values[name]:
                raise SweepError(f"{where}: {key} is an empty list")
        for dst, src in same.items():
            if not isinstance(src, str):
                raise SweepError(f"{where}: same = {{{dst} = {src!r}}}: give a field name")
            dst, src = _ALIASES.get(dst, dst), _ALIASES.get(src, src)
            if dst not in fields or src not in values:
                raise SweepError(f"{where}: same = {{{dst} = {src!r}}}: both must be fields "
                                 f"of {unit}, and {src} must be given")
        names = list(values)
        for combo in itertools.product(*(values[n] for n in names)):
            kwargs = dict(zip(names, combo))
            kwargs.update({_ALIASES.get(d, d): kwargs[_ALIASES.get(s, s)]
                           for d, s in same.items()})
            try:
                config = cls(**kwargs)
            except (ValueError, TypeError, AttributeError) as exc:
                if any(not _keeps(f, kwargs, fields, where) for f in filters):
                    continue
                shown = ", ".join(f"{k}={v}" for k, v in kwargs.items())
                raise SweepError(f"{where}: {unit} {shown}: {exc} (exclude it with where)"
                                 ) from None
            if all(_keeps(f, {n: getattr(config, n) for n in fields}, fields, where)
                   for f in filters):
                for target in targets:
                    yield Point(config, target, budget,
                                liberty_text if target == "liberty" else None)


def _budget(settings: dict, where: str) -> Budget:
    for key, low in (("vectors", 1), ("netlist_sample", 0), ("seed", 1)):
        value = settings[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise SweepError(f"{where}: {key} must be an integer >= {low}, not {value!r}")
    return Budget(settings["vectors"], settings["netlist_sample"], settings["seed"])


# ---- filters: a small, safe expression language over the fields -------------------------
_ALLOWED = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub,
            ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In,
            ast.NotIn, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod,
            ast.Name, ast.Load, ast.Constant, ast.Attribute, ast.List, ast.Tuple)


def _compile_filter(text, where: str):
    if not isinstance(text, str):
        raise SweepError(f"{where}: where takes expressions as strings, not {text!r}")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise SweepError(f"{where}: where {text!r} is not an expression (acc's input "
                         "format is in_fmt there)") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise SweepError(f"{where}: where {text!r}: {type(node).__name__} is not allowed "
                             "(use fields, numbers, strings, comparisons, and/or/not, + - * "
                             "// %, and format attributes)")
        if isinstance(node, ast.Attribute) and node.attr not in _FORMAT_ATTRS:
            raise SweepError(f"{where}: where {text!r}: unknown attribute {node.attr!r}: "
                             f"formats have {', '.join(_FORMAT_ATTRS)}")
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    return text, compile(tree, "<where>", "eval"), names


def _keeps(compiled, values: dict, fields: dict, where: str) -> bool:
    """Evaluate a filter on a configuration's fields (format fields as formats)."""
    from fpforge.sim.formats import parse
    text, code, names = compiled
    env = {}
    for name in fields:
        value = values.get(name, fields[name].default)
        if isinstance(value, str) and "FloatFormat" in str(fields[name].type):
            try:
                value = parse(value)
            except ValueError as exc:
                raise SweepError(f"{where}: {name} = {value!r}: {exc}") from None
        env[name] = value
    unknown = sorted(names - set(env))
    if unknown:
        raise SweepError(f"{where}: where {text!r}: unknown name {unknown[0]!r}: the fields "
                         f"are {', '.join(sorted(env))}")
    try:
        return bool(eval(code, {"__builtins__": {}}, env))
    except Exception as exc:  # e.g. an attribute of a field that is not a format
        raise SweepError(f"{where}: where {text!r} fails: {exc}") from None
