# Two commands for a fresh machine: `make run` serves the API, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench mutation clean compose-tool

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

# Development mode (--dev): authentication off, said loudly at start and on /readyz.
run: $(VENV)/.run-installed
	$(BIN)/identity serve --dev

# buf from the npm registry, pinned; protos/buf.yaml says which rules and why.
BUF ?= npx --yes @bufbuild/buf@1.47.2

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests load_tests devservers
	$(BIN)/mypy
	$(BIN)/lint-imports
	cd protos && $(BUF) lint

# docker-compose (Debian's package) validates docker-compose.yml without a Docker engine.
compose-tool:
	@command -v docker-compose >/dev/null || { apt-get update -qq && \
	  apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; } || \
	  { echo "install docker-compose: apt-get install -y docker-compose"; exit 1; }

test: lint compose-tool
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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache mutants

# Mutation testing of the domain by its unit tests ([tool.mutmut] in pyproject.toml): long,
# so outside `make test`, like a benchmark. The score: `mutmut results`.
mutation: $(VENV)/.dev-installed
	$(BIN)/pip install --quiet -e '.[dev,mutation]'
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/mutmut run
	$(BIN)/python -m load_tests.mutation_score
