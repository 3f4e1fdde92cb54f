# mlgate: the two commands are `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint fmt up bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip==26.3"
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev,production]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)   ## run the real DAGs over 2013 until a candidate waits for you (fresh state in .mlgate/)
	$(BIN)/mlgate demo

test: lint      ## the whole suite (what CI runs): ruff, then pytest
	$(BIN)/python -m pytest -q

lint: $(STAMP)   ## formatting and lint (ruff, line length 100): fails on a style error
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

fmt: $(STAMP)    ## format and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

up: $(STAMP)     ## Airflow standalone + MLflow UI on the demo's state
	$(BIN)/mlgate up

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_train_score.py

clean:
	rm -rf .mlgate
