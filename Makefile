# Two commands matter: `make run` and `make test` (see README).
# Every install comes from uv.lock (exact versions and hashes); `make lock` is the only way it
# changes. uv itself is pinned here and bootstrapped into .tools/ with pip.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

NODE_STAMP := node_modules/.installed

.PHONY: run test lint format bench bench-load bench-tools bench-national lock clean browser

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --frozen: install exactly what uv.lock says, and fail rather than re-resolve.
$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --extra dev --python $(PYTHON) --quiet
	touch $(STAMP)

# The web application's front-end packages (nhsuk-frontend, swagger-ui-dist; axe-core for the tests), as
# package-lock.json says. The app serves them itself; nothing of theirs is kept in git. No
# install scripts run: none of these packages needs one (swagger-ui-dist's only dependency
# is a telemetry hook, which must not run here).
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq nodejs npm; }
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# The browser tests drive Debian's chromium (never a browser downloaded by Playwright).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "the browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

run: $(STAMP) $(NODE_STAMP)
	$(BIN)/capital db upgrade
	$(BIN)/capital demo
	$(BIN)/capital serve --host 127.0.0.1 --port 8000

# Every test; database tests also run against PostgreSQL when TEST_DATABASE_URL is set.
# pytest exits 5 when it collected nothing: that is a failure here too.
test: $(STAMP) $(NODE_STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/pytest -q -p no:cacheprovider --durations=25; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "no tests ran" >&2; exit 1; fi; exit $$rc

# The deliberate upgrade: re-resolve every dependency to its newest allowed version.
lock: $(UV)
	$(UV) lock --upgrade
	@echo "uv.lock updated: run 'make test' before committing it."

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m benchmarks.optimiser_bench
	$(BIN)/python -m benchmarks.full_vs_bare
	$(BIN)/python -m benchmarks.api_bench
	$(BIN)/python -m benchmarks.import_bench

# The load benchmark's HTTP load tool: Debian's wrk (C, ~0.1 ms of CPU a request, so it does
# not take the server's cores on a 2-core machine the way a Python client does).
bench-tools:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk; \
	  else echo "the load benchmark needs Debian's wrk: sudo apt-get install wrk" >&2; exit 1; fi; }

# The API under load (issue 9): BENCH_DATABASE_URL names a PostgreSQL database it may empty.
bench-load: $(STAMP) bench-tools
	$(BIN)/python -m benchmarks.load_bench --database-url $(BENCH_DATABASE_URL)
	$(BIN)/python -m benchmarks.load_bench --import-rows 20000

clean:
	rm -rf $(VENV) $(TOOLS) *.egg-info .pytest_cache node_modules

# All of England: ODS + ERIC imported, schemes for every trust, one round per ICS
# (docs/benchmarks.md). BENCH_DATABASE_URL names an empty database; default a new SQLite file.
bench-national: $(STAMP)
	$(BIN)/python -m benchmarks.national_bench $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL))
