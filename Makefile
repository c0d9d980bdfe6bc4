# coreylab: one command per job. `make test` is what CI (.ci/run) runs.

VENV ?= .venv
PY = $(VENV)/bin/python
STAMP = $(VENV)/.installed
# The lessons run top to bottom under nbval; only cells marked NBVAL_CHECK_OUTPUT are compared.
NBVAL_ARGS ?= --nbval-lax --nbval-current-env --nbval-cell-timeout=300 notebooks
# Only the folders that exist: git does not keep an empty benchmarks/ in a clean clone.
SRC = $(wildcard coreylab tests benchmarks tools notebooks)

.PHONY: install test lab lint format bench clean

install: $(STAMP)

# Reinstall only when pyproject.toml changes (the package itself is installed editable).
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

test: install
	BOKEH_RESOURCES=inline $(PY) -m pytest tests $(NBVAL_ARGS)

# As root (a container, a CI box) JupyterLab wants --allow-root; nobody else needs it.
lab: install
	BOKEH_RESOURCES=inline $(VENV)/bin/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

lint: install
	$(PY) -m ruff check $(SRC)
	$(PY) -m ruff format --check $(SRC)

format: install
	$(PY) -m ruff format $(SRC)
	$(PY) -m ruff check --fix $(SRC)

bench: install
	@set -e; for f in benchmarks/bench_*.py; do \
		[ -e "$$f" ] || { echo "no benchmarks/bench_*.py yet"; break; }; \
		echo "== $$f"; $(PY) "$$f"; \
	done

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
