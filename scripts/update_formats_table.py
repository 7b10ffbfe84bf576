"""Write the preset table (`fpforge formats --markdown`) into README.md."""

from pathlib import Path

from fpforge.gen.report import format_table_text, replace_readme_section

if __name__ == "__main__":
    replace_readme_section(Path(__file__).resolve().parent.parent / "README.md", "formats",
                           format_table_text(markdown=True))
