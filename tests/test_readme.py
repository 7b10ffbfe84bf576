"""README stays true: the format table is the one `fpforge formats --markdown` prints, every
generated section is filled, and the VRR recommendations are the model's."""

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
                 "training", "vrr_recommend", "fig2", "vrr_montecarlo"):
        section = text.split(f"<!-- BEGIN {name} -->")[1].split(f"<!-- END {name} -->")[0]
        assert section.strip(), f"README section {name} is empty: run its script"


def _section(name: str) -> str:
    return README.read_text().split(f"<!-- BEGIN {name} -->")[1].split(f"<!-- END {name} -->")[0]


def test_recommendation_table_is_the_models():
    """Every m_acc in the ResNet-18 table is what the model gives for that length now."""
    from fpforge.sim.vrr import min_m_acc
    rows = [line.split("|")[1:-1] for line in _section("vrr_recommend").splitlines()
            if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) >= 10
    for cells in rows:
        n = int(cells[0].replace(",", ""))
        assert (int(cells[2]), int(cells[3])) == (min_m_acc(n, 5, 0), min_m_acc(n, 5, 64)), n
