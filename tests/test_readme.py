"""README stays true: the format table is the one `fpforge formats --markdown` prints, every
generated section is filled, and the VRR recommendations are the model's."""

import argparse
import json
from pathlib import Path

import pytest

from fpforge.gen.report import format_table_text, publish, readme_options

README = Path(__file__).resolve().parent.parent / "README.md"


def test_format_table_is_current():
    text = README.read_text()
    section = text.split("<!-- BEGIN formats -->")[1].split("<!-- END formats -->")[0]
    assert section.strip() == format_table_text(markdown=True).strip()


def test_generated_sections_are_filled():
    text = README.read_text()
    for name in ("formats", "area", "area_add", "asic", "golden", "exhaustive", "fig1b",
                 "accumulation", "array", "sweep_precision_grid", "sweep_bench", "emulation",
                 "training", "vrr_recommend", "fig2", "vrr_montecarlo"):
        section = text.split(f"<!-- BEGIN {name} -->")[1].split(f"<!-- END {name} -->")[0]
        assert section.strip(), f"README section {name} is empty: run its script"


@pytest.mark.parametrize("argv", [[], ["--no-readme"], ["--json", "rows.json"]])
def test_script_publish_writes_what_was_asked(tmp_path, capsys, argv, monkeypatch):
    monkeypatch.chdir(tmp_path)
    readme = tmp_path / "README.md"
    before = ("top\n<!-- BEGIN a -->\nold a\n<!-- END a -->\nmid\n"
              "<!-- BEGIN b -->\nold b\n<!-- END b -->\n")
    readme.write_text(before)
    ap = argparse.ArgumentParser()
    readme_options(ap, json_file=True)
    args = ap.parse_args(argv)
    publish(readme, {"a": "new a", "b": "new b"}, args, data=[{"x": 1}])
    assert capsys.readouterr().out == "new a\n\nnew b\n"
    expected = ("top\n<!-- BEGIN a -->\nnew a\n<!-- END a -->\nmid\n"
                "<!-- BEGIN b -->\nnew b\n<!-- END b -->\n")
    assert readme.read_text() == (before if "--no-readme" in argv else expected)
    assert (tmp_path / "rows.json").exists() == ("--json" in argv)
    if "--json" in argv:
        assert json.loads((tmp_path / "rows.json").read_text()) == [{"x": 1}]


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


def test_asic_table_has_verified_figures_beside_hardfloat():
    """The SKY130 section: HardFloat's published fp16 figures (issue 14: mul 6,894 um2 /
    11.62 ns, add 5,339 / 12.32, FMA 12,776 / 23.84) beside a figure for every unit of
    every preset and the three fp8 MACs, none of them an unverified design."""
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in _section("asic").splitlines() if line.startswith("| ")}
    assert rows["HardFloat fp16"] == ["6,894", "11.62", "5,339", "12.32", "12,776", "23.84"]
    for name in ("fp32 (e8m23)", "fp16 (e5m10)", "bf16 (e8m7)", "fp8_e4m3 (e4m3fn)",
                 "fp8_e5m2 (e5m2)"):
        area_mul, ns_mul, area_add, ns_add, area_mac, ns_mac = rows[name]
        for area, ns in ((area_mul, ns_mul), (area_add, ns_add), (area_mac, ns_mac)):
            assert float(area.replace(",", "")) > 0 and float(ns) > 0, (name, rows[name])
    macs = [k for k in rows if k.startswith("fp8_e4m3 x fp8_e4m3 + ")]
    assert len(macs) == 3 and all(float(rows[k][1]) > 0 for k in macs), macs
