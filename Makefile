# One command per job. `make run` and `make test` are the two commands in the README.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test test-postgres soak twin lint fmt setup setup-test clean

run: setup
	$(BIN)/booking migrate
	$(BIN)/booking demo
	$(BIN)/booking serve

test: setup-test
	$(BIN)/pytest

test-postgres: setup-test
	DATABASE_URL=$(PG_URL) $(BIN)/pytest

# The order-life machine (tests/model/) for much longer, on SQLite then PostgreSQL. It prints
# its seed; `make soak SEED=n` replays that run. EXAMPLES and STEPS set the budget.
EXAMPLES ?= 400
STEPS ?= 60
soak: setup-test
	@seed=$${SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "order-life soak: seed $$seed, $(EXAMPLES) examples of up to $(STEPS) steps"; \
	for url in "" "$(PG_URL)"; do \
		DATABASE_URL=$$url ORDER_LIFE_SEED=$$seed ORDER_LIFE_EXAMPLES=$(EXAMPLES) \
		ORDER_LIFE_STEPS=$(STEPS) $(BIN)/pytest tests/model/test_order_life.py \
		-k keeps_its_promises -s -p no:logging || { echo "replay: make soak SEED=$$seed EXAMPLES=$(EXAMPLES) STEPS=$(STEPS)"; exit 1; }; \
	done

# The order-life twin alone (it is part of `make test` too): one rule broken, and the
# machine must find the oversold room; prints how many examples and steps it took.
twin: setup-test
	$(BIN)/pytest tests/model/test_order_life.py -k rule_broken -s -p no:logging
	DATABASE_URL=$(PG_URL) $(BIN)/pytest tests/model/test_order_life.py -k rule_broken -s -p no:logging

lint: setup-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict booking

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
