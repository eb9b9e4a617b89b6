# Credit scoring platform. Set-up on a fresh machine: `make demo`, then `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
B ?=

.PHONY: install test lint demo bench services up clean

install: $(VENV)/.installed

# Re-runs only when the dependency pins change; pip itself is idempotent too.
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	bash scripts/install-system-deps.sh
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev,spark]"
	touch $@

services:
	bash scripts/ensure-services.sh

test: install services
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --dist loadgroup --no-loadscope-reorder -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

demo: install services
	bash scripts/demo.sh

bench: install services
	$(BIN)/python -m bench $(B)

up:
	docker compose up -d --build

clean:
	rm -rf .run bench/results
