"""Tables for the terminal and README: the preset format table, Markdown helpers, and the
README section updater used by the scripts."""

from __future__ import annotations

import re
from pathlib import Path

from fpforge.sim.formats import PRESETS

__all__ = ["format_table", "format_table_text", "markdown_table", "replace_readme_section"]

_NAN_TEXT = {"ieee": "IEEE (Inf, NaN)", "allones": "NaN = all-ones code (either sign), no Inf",
             "negzero": "one NaN (-0 code), no Inf, no -0", "none": "finite only"}


def _num(value) -> str:
    return "-" if value is None else f"{float(value):.10g}"


def format_table() -> list[dict]:
    """One row per preset: name, spec, width, fields, bias, max, smallest normal and
    subnormal, special-value convention."""
    rows = []
    for f in PRESETS.values():
        rows.append({"name": f.name, "spec": f.spec, "width": f.width, "exp_bits": f.exp_bits,
                     "man_bits": f.man_bits, "bias": f.bias, "max": _num(f.max),
                     "min_normal": _num(f.min_normal), "min_subnormal": _num(f.min_subnormal),
                     "specials": _NAN_TEXT[f.nan] + ("" if f.subnormals else ", no subnormals")})
    return rows


_COLUMNS = [("name", "format"), ("spec", "spec"), ("width", "width"), ("exp_bits", "exp"),
            ("man_bits", "man"), ("bias", "bias"), ("max", "max"),
            ("min_normal", "min normal"), ("min_subnormal", "min subnormal"),
            ("specials", "specials")]


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def format_table_text(markdown: bool = False) -> str:
    header = [title for _, title in _COLUMNS]
    rows = [[r[key] for key, _ in _COLUMNS] for r in format_table()]
    if markdown:
        return markdown_table(header, rows)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()
                     for row in [header] + rows)


def replace_readme_section(readme: Path, section: str, body: str) -> None:
    """Replace the text between ``<!-- BEGIN section -->`` and ``<!-- END section -->``."""
    text = Path(readme).read_text()
    begin, end = f"<!-- BEGIN {section} -->", f"<!-- END {section} -->"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"{readme} has no section markers for {section!r}")
    text = pattern.sub(lambda _: f"{begin}\n{body.rstrip()}\n{end}", text)
    Path(readme).write_text(text)
