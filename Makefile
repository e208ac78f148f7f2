# voucherd: one command for each routine task. `make help` lists them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian's Chromium for the page tests (Playwright's own browser download is not used).
CHROMIUM ?= /usr/bin/chromium
# Debian's HAProxy for the scale-out test (two servers behind a balancer).
HAPROXY ?= /usr/sbin/haproxy
# Debian's PgBouncer for the transaction-pooling test (tests/ops/test_pgbouncer.py).
PGBOUNCER ?= /usr/sbin/pgbouncer
# iproute2's ip, for the scale-out test's network namespaces (loopback ports without it).
IPROUTE ?= /usr/sbin/ip
export VOUCHERD_DATABASE_URL ?= sqlite+aiosqlite:///./voucherd.db
# How many pytest processes run the suite. One (JOBS=0): RELIABILITY T6 keeps pytest-xdist off
# the database tests, and CI runs it so. JOBS=2 (a test file to each process at a time) is only a
# quicker local look, whose race tests prove less (docs/decisions.md).
JOBS ?= 0
# Seconds for each fuzz target in `make fuzz` (RELIABILITY T3: 5 minutes each).
FUZZ_TIME ?= 300

.DEFAULT_GOAL := help
.PHONY: help setup run test test-fast test-pg fuzz lint fmt migrate migration bench demo clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) $(CHROMIUM) $(HAPROXY) $(PGBOUNCER) $(IPROUTE) ## Create .venv, install pinned dependencies, Debian's chromium, haproxy, pgbouncer and iproute2

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the page tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "note: $(CHROMIUM) is missing; install Debian's chromium (as root: apt-get install chromium) for the page tests"; \
	fi

$(HAPROXY):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's haproxy for the scale-out test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; \
	else \
		echo "note: $(HAPROXY) is missing; install Debian's haproxy (as root: apt-get install haproxy) for the scale-out test"; \
	fi

$(PGBOUNCER):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's pgbouncer for the PgBouncer test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null; \
	else \
		echo "note: $(PGBOUNCER) is missing; install Debian's pgbouncer (as root: apt-get install pgbouncer) for the PgBouncer test"; \
	fi

$(IPROUTE):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's iproute2 for the scale-out test's network namespaces"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; \
	else \
		echo "note: $(IPROUTE) is missing; the scale-out test runs on loopback ports (as root: apt-get install iproute2)"; \
	fi

run: $(STAMP) ## Migrate the SQLite default, add the demo client if empty, serve on :8000
	$(BIN)/voucherd migrate
	$(BIN)/voucherd demo
	$(BIN)/voucherd serve --host 127.0.0.1 --port 8000

demo: $(STAMP) ## Add the demo client (only into an empty database)
	$(BIN)/voucherd demo

test: $(STAMP) $(CHROMIUM) $(HAPROXY) $(PGBOUNCER) $(IPROUTE) ## Run the whole suite (PostgreSQL too when VOUCHERD_TEST_POSTGRES_URL is set); T=path for part
	$(BIN)/pytest -n $(JOBS) --dist loadfile $(T)

test-fast: $(STAMP) ## The inner loop: SQLite only, without the race, crash, browser and fuzz tests (about two minutes)
	$(BIN)/pytest -q -n $(JOBS) --dist loadfile -m "not concurrency and not crash and not browser and not fuzz" $(T)

test-pg: $(STAMP) $(CHROMIUM) $(HAPROXY) $(PGBOUNCER) $(IPROUTE) ## The suite on SQLite and the local PostgreSQL
	VOUCHERD_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test $(BIN)/pytest -n $(JOBS) --dist loadfile $(T)

fuzz: $(STAMP) ## Each atheris target in fuzz/ for FUZZ_TIME s (5 min), one at a time; corpora and crashes in build/fuzz/
	@for target in csv_file codes signatures money; do \
		echo "== fuzz $$target for $(FUZZ_TIME) s"; \
		$(BIN)/python -m fuzz $$target -max_total_time=$(FUZZ_TIME) -timeout=20 -print_final_stats=1 \
			build/fuzz/$$target/corpus || exit 1; \
	done

lint: $(STAMP) ## ruff, mypy and the import contracts (pyproject.toml, [tool.importlinter])
	$(BIN)/ruff check src tests bench examples fuzz
	$(BIN)/ruff format --check src tests bench examples fuzz
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP) ## Format and fix what ruff can
	$(BIN)/ruff format src tests bench examples fuzz
	$(BIN)/ruff check --fix src tests bench examples fuzz

migrate: $(STAMP) ## Upgrade the database in VOUCHERD_DATABASE_URL
	$(BIN)/voucherd migrate

migration: $(STAMP) ## New migration from model changes: make migration m="what changed"
	$(BIN)/alembic revision --autogenerate -m "$(m)"

bench: $(STAMP) ## Benchmarks on the local PostgreSQL (prints figures and ratios)
	$(BIN)/python -m bench

clean: ## Remove the virtualenv and the local SQLite database
	rm -rf $(VENV) voucherd.db voucherd.db-wal voucherd.db-shm
