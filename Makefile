# Two commands matter: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/capital db upgrade
	$(BIN)/capital demo
	$(BIN)/capital serve --host 127.0.0.1 --port 8000

# Every test; database tests also run against PostgreSQL when TEST_DATABASE_URL is set.
# pytest exits 5 when it collected nothing: that is a failure here too.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q -p no:cacheprovider; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "no tests ran" >&2; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m benchmarks.optimiser_bench
	$(BIN)/python -m benchmarks.api_bench
	$(BIN)/python -m benchmarks.import_bench

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
