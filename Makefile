# coreylab: one command per job. `make test` is what CI (.ci/run) runs.

VENV ?= .venv
PY = $(VENV)/bin/python
STAMP = $(VENV)/.installed
# The lessons run top to bottom under nbval; only cells marked NBVAL_CHECK_OUTPUT are compared.
NBVAL_ARGS ?= --nbval-lax --nbval-current-env --nbval-cell-timeout=300 notebooks
# Only the folders that exist: git does not keep an empty benchmarks/ in a clean clone.
SRC = $(wildcard coreylab tests benchmarks tools notebooks)

.PHONY: install test lab lint format bench clean dist wheel-check wheels pyodide-check lite

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

# The sdist and the wheel (the wheel is built from the sdist, so the sdist is complete).
dist: install
	rm -rf dist
	$(PY) -m build -o dist .

# The wheel as users get it: fresh venvs, no checkout (tools/wheel_check.sh says what it checks).
wheel-check: dist
	tools/wheel_check.sh dist

# Pure-Python wheels for the browser's Python: coreylab's and its dependencies' (installed versions).
WHEELS = build/wheels
wheels: dist
	rm -rf $(WHEELS) && mkdir -p $(WHEELS) && cp dist/coreylab-*.whl $(WHEELS)/
	$(PY) -m pip download -q --no-deps -d $(WHEELS) \
		$$($(PY) -c 'import simpy, tqdm; print(f"simpy=={simpy.__version__} tqdm=={tqdm.__version__}")')

# Same rows under Pyodide (Node.js, the npm package pinned in lite/package-lock.json) as here.
pyodide-check: wheels
	cd lite && npm ci --no-audit --no-fund --loglevel=error
	$(PY) tools/pyodide_check.py $(WHEELS)

# A JupyterLite site with the lessons, and the wheels for `%pip install coreylab` in it:
# build/lite (serve it with `python -m http.server -d build/lite`). See docs/deploy.md.
LITE_VENV = build/lite-venv
lite: wheels $(LITE_VENV)/.installed
	rm -rf build/lite build/lite-src && mkdir -p build/lite-src
	$(LITE_VENV)/bin/jupyter lite build --lite-dir build/lite-src --output-dir build/lite \
		$(foreach nb,$(wildcard notebooks/*.ipynb),--contents $(CURDIR)/$(nb)) \
		$$(for w in $(WHEELS)/*.whl; do echo --piplite-wheels $(CURDIR)/$$w; done)
	test -f build/lite/files/00_tour.ipynb && ls build/lite/pypi/coreylab-*.whl > /dev/null
	@echo "JupyterLite site: build/lite ($$(du -sh build/lite | cut -f1))"

$(LITE_VENV)/.installed: pyproject.toml
	rm -rf $(LITE_VENV) && python3 -m venv --without-pip $(LITE_VENV)
	$(PY) -m pip -q --python $(LITE_VENV)/bin/python install '.[lite]'
	touch $@

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis lite/node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
