# Collapse Lab: `make run` opens the app, `make test` runs every check.
# Both create .venv and install the pinned dependencies when it is missing or older than pyproject.toml.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Collapse Lab needs Python 3.11 (python3.11 on PATH, or PYTHON=...)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "Collapse Lab needs Python 3.11; $(PYTHON) is $$($(PYTHON) --version)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	@bash .ci/qt-libs.sh $(if $(DISPLAY)$(WAYLAND_DISPLAY),window,offscreen)
	$(PY) main.py $(ARGS)

test: $(STAMP)
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=$${QT_QPA_PLATFORM:-offscreen} $(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/engine_vs_baseline.py
	$(PY) benchmarks/sweep_vs_baseline.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
