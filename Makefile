# fpforge: `make demo` and `make test` work from a fresh clone on a fresh machine.
# Each creates .venv, installs fpforge with its dev extras, and makes sure Icarus Verilog
# is present (apt-get install iverilog when it is missing).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.fpforge-installed
JOBS   ?= 2

.PHONY: demo test test-fast bench icarus clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

icarus:
	@command -v iverilog >/dev/null 2>&1 || { \
	  echo "Icarus Verilog not found: installing it with apt-get"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq iverilog; }

demo: $(STAMP) icarus
	$(PY) scripts/demo.py

test: $(STAMP) icarus
	$(PY) -m pytest -n $(JOBS) -q tests

# golden model and CLI only (no simulator runs)
test-fast: $(STAMP)
	$(PY) -m pytest -n $(JOBS) -q tests -m "not sim"

bench: $(STAMP) icarus
	$(PY) scripts/bench_area.py
	$(PY) scripts/bench_golden.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache out
