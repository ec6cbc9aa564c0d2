# haoka — `make demo` runs the whole platform on http://127.0.0.1:8000; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
HAOKA_PORT ?= 8000
export HAOKA_HOME := $(CURDIR)

.PHONY: demo test test-fast lint format bench fuzz install browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

install: $(STAMP) $(NPM_STAMP)

.env:
	$(BIN)/python scripts/make_env.py > .env

# Debian's Chromium and a Chinese font for browser tests (installed once; needs root, as on our
# machines and CI; without the font, screenshots show boxes instead of Chinese).
browser:
	@{ command -v chromium >/dev/null && fc-list :lang=zh | grep -q .; } || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

demo: install .env
	HAOKA_SANDBOX=1 HAOKA_PORT=$(HAOKA_PORT) $(BIN)/haoka demo

test: install browser
	HAOKA_TESTING=1 $(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/import_cycles.py

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench scripts
	$(BIN)/ruff format src tests bench scripts

bench: install
	HAOKA_TESTING=1 $(BIN)/python bench/numbers.py
	$(BIN)/python bench/checkout.py
	$(BIN)/python bench/charging.py
	$(BIN)/python bench/commission.py

# schemathesis against a running haoka (throwaway SQLite under var/fuzz/, or DATABASE_URL), as a
# consumer, an agent and staff; fails on any 5xx or response not matching the OpenAPI document.
fuzz: $(STAMP)
	scripts/fuzz.sh

clean:
	rm -rf $(VENV) node_modules var haoka.sqlite3*
