# The two commands: `make run` and `make test`. Everything else is a step they call.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export ZHIHUI_HOME ?= ./var

.PHONY: run test install assets init lint bench clean

$(BIN)/zhihui: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/zhihui assets

# htmx from the npm registry (never pasted into the repo).
assets: node_modules/htmx.org/dist/htmx.min.js
node_modules/htmx.org/dist/htmx.min.js: package.json
	npm install --no-audit --no-fund --silent
	touch $@

init: install
	$(BIN)/zhihui init
	$(BIN)/zhihui demo --if-empty

run: init
	$(BIN)/zhihui serve --host 127.0.0.1 --port 8000

test: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) node_modules var
