# The two commands of the README, and what they need. Everything installs into .venv.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## the bot on its embedded default: SQLite and the shell
	$(VENV)/bin/mlpulse shell --demo $(ARGS)

test: $(STAMP)  ## the whole test suite (PostgreSQL too when MLPULSE_TEST_DATABASE_URL is set)
	$(VENV)/bin/pytest $(ARGS)

lint: $(STAMP)  ## ruff's checks and its formatting over the whole tree, and mypy on storage/ and handlers/
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy storage handlers

bench: $(STAMP)  ## the benchmarks of BENCHMARKS.md
	$(VENV)/bin/python -m bench.run $(ARGS)

clean:
	rm -rf $(VENV) *.egg-info mlpulse-demo.db* .mypy_cache
