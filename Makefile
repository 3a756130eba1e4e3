# Two commands for a fresh machine: `make run` serves the API, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench mutation clean compose-tool chromium-tool console

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.run-installed

# Splink, recordlinkage and DuckDB are only for the matching benchmark's peers.
$(VENV)/.bench-installed: pyproject.toml $(VENV)/.dev-installed
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

# The steward console (console/, Node.js 20 with npm): Vite builds it into the package, which
# serves it at /console/ and GraphiQL at /graphql. npm ci when the lock file is newer than
# node_modules (npm's own record of it, node_modules/.package-lock.json, written last by
# every install, so an `npm install` by hand is not undone); a build when any source is
# newer than the last build (or there is none).
CONSOLE_STATIC := src/identity/api/console/static
CONSOLE_SOURCES := $(shell find console/src -type f 2>/dev/null) console/index.html \
  console/graphiql.html console/vite.config.ts console/tsconfig.json console/package.json \
  console/package-lock.json

CONSOLE_MODULES := console/node_modules/.package-lock.json

$(CONSOLE_MODULES): console/package-lock.json
	cd console && npm ci
	touch $@

# node_modules is order-only: npm and vitest write into it, which is no reason to rebuild.
$(CONSOLE_STATIC)/index.html: $(CONSOLE_SOURCES) | $(CONSOLE_MODULES)
	cd console && npm run build

console: $(CONSOLE_STATIC)/index.html

# Development mode (--dev): authentication off, said loudly at start and on /readyz.
run: $(VENV)/.run-installed console
	$(BIN)/identity serve --dev

# buf from the npm registry, pinned; protos/buf.yaml says which rules and why.
BUF ?= npx --yes @bufbuild/buf@1.47.2

lint: $(VENV)/.dev-installed $(CONSOLE_MODULES)
	$(BIN)/ruff check src tests load_tests devservers
	$(BIN)/mypy
	$(BIN)/lint-imports
	cd protos && $(BUF) lint
	cd console && npm run typecheck

# docker-compose (Debian's package) validates docker-compose.yml without a Docker engine.
compose-tool:
	@command -v docker-compose >/dev/null || { apt-get update -qq && \
	  apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; } || \
	  { echo "install docker-compose: apt-get install -y docker-compose"; exit 1; }

# The console's browser tests drive Debian's chromium through Playwright (no browser
# download); as root, as CI runs, it is installed when missing.
chromium-tool:
	@command -v chromium >/dev/null || { apt-get update -qq && \
	  apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
	  { echo "install Debian's chromium: apt-get install -y chromium"; exit 1; }

test: lint compose-tool chromium-tool console
	cd console && npm test
	$(BIN)/python -m pytest

bench: $(VENV)/.bench-installed
	$(BIN)/python -m load_tests.bench_ingest
	$(BIN)/python -m load_tests.peers
	$(BIN)/python -m load_tests.bench_grpc --out load_tests/results/bench_grpc.json
	$(BIN)/python -m load_tests.bench_graphql --out load_tests/results/bench_graphql.json
	$(BIN)/python -m load_tests.bench_kafka --out load_tests/results/bench_kafka.json
	$(BIN)/python -m load_tests.fuzz --examples 1000 --events-examples 10000 \
	  --graphql-examples 400 --out load_tests/results/fuzz.json
	$(BIN)/python -m load_tests.bench_auth --out load_tests/results/bench_auth.json
	$(BIN)/python -m load_tests.bench_console --out load_tests/results/bench_console.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache mutants

# Mutation testing of the domain by its unit tests ([tool.mutmut] in pyproject.toml): long,
# so outside `make test`, like a benchmark. The score: `mutmut results`.
mutation: $(VENV)/.dev-installed
	$(BIN)/pip install --quiet -e '.[dev,mutation]'
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/mutmut run
	$(BIN)/python -m load_tests.mutation_score
