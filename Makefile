# One command per job. `make run` and `make test` are the two commands in the README.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test test-postgres lint fmt setup setup-test clean

run: setup
	$(BIN)/booking migrate
	$(BIN)/booking demo
	$(BIN)/booking serve

test: setup-test
	$(BIN)/pytest

test-postgres: setup-test
	DATABASE_URL=$(PG_URL) $(BIN)/pytest

lint: setup-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: setup-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

setup: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	npm ci --no-audit --no-fund --loglevel=error

setup-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	npm ci --no-audit --no-fund --loglevel=error
	sh scripts/ensure-chromium.sh
	sh scripts/ensure-nginx.sh

clean:
	rm -rf $(VENV) node_modules static/vendor var
