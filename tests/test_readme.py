"""README stays true: the format table is the one `fpforge formats --markdown` prints."""

from pathlib import Path

from fpforge.gen.report import format_table_text

README = Path(__file__).resolve().parent.parent / "README.md"


def test_format_table_is_current():
    text = README.read_text()
    section = text.split("<!-- BEGIN formats -->")[1].split("<!-- END formats -->")[0]
    assert section.strip() == format_table_text(markdown=True).strip()


def test_generated_sections_are_filled():
    text = README.read_text()
    for name in ("formats", "area", "area_add", "golden", "exhaustive", "fig1b", "accumulation",
                 "array", "sweep_precision_grid", "sweep_bench", "emulation",
                 "training"):
        section = text.split(f"<!-- BEGIN {name} -->")[1].split(f"<!-- END {name} -->")[0]
        assert section.strip(), f"README section {name} is empty: run its script"
