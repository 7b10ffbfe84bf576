# fpforge: `make demo` and `make test` work from a fresh clone on a fresh machine.
# Each creates .venv, installs fpforge with its dev extras, and makes sure Icarus Verilog
# and OpenSTA are present (apt-get install iverilog / opensta when they are missing).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.fpforge-installed
JOBS   ?= 2

.PHONY: demo test test-fast bench bench-asic icarus opensta clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# $(call apt_need,COMMAND,PACKAGE,WHAT): apt-get install PACKAGE when COMMAND is missing
apt_need = @command -v $(1) >/dev/null 2>&1 || { \
  echo "$(3) not found: installing it with apt-get"; \
  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $(2); }

icarus:
	$(call apt_need,iverilog,iverilog,Icarus Verilog)

# static timing of `fpforge area --liberty` (the sta command)
opensta:
	$(call apt_need,sta,opensta,OpenSTA)

demo: $(STAMP) icarus
	$(PY) scripts/demo.py

test: $(STAMP) icarus opensta
	$(PY) -m pytest -n $(JOBS) -q --durations=25 tests

# golden model and CLI only (no simulator runs)
test-fast: $(STAMP)
	$(PY) -m pytest -n $(JOBS) -q tests -m "not sim"

bench: $(STAMP) icarus
	$(PY) scripts/bench_area.py
	$(PY) scripts/bench_golden.py

# SKY130-class figures with your library: make bench-asic LIBERTY=path/to/cells.lib
bench-asic: $(STAMP) icarus opensta
	$(PY) scripts/bench_asic.py $(LIBERTY)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache out
