# PHI Warden. `make run` and `make test` are the two commands a newcomer needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
UV          := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
VAR         := var
PG_URL      ?= postgres://postgres@127.0.0.1:5432/phiwarden
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help install run keys migrate demo test test-sqlite test-postgres lint typecheck bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(UV):
	python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	"$$(command -v uv || echo $(UV))" sync --frozen --python python3.11
	touch $@

install: $(VENV)/.installed  ## virtualenv under .venv with the locked dependencies

# Keys are made once, readable by this user only, and never committed (var/ is ignored).
keys: install  ## make the keys under var/ (once; mode 600)
	@mkdir -p -m 700 $(VAR)
	@chmod 700 $(VAR)
	@umask 077; [ -s $(VAR)/secret_key ] || $(PY) -c "import secrets; print(secrets.token_urlsafe(64))" > $(VAR)/secret_key
	@umask 077; [ -s $(VAR)/phi_master_key ] || $(PY) -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())" > $(VAR)/phi_master_key
	@umask 077; [ -s $(VAR)/audit_signing_key ] || $(PY) -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())" > $(VAR)/audit_signing_key
	@chmod 600 $(VAR)/secret_key $(VAR)/phi_master_key $(VAR)/audit_signing_key

RUN_ENV := DEBUG=1 SECRET_KEY_FILE=$(VAR)/secret_key PHI_MASTER_KEY_FILE=$(VAR)/phi_master_key \
	AUDIT_SIGNING_KEY_FILE=$(VAR)/audit_signing_key AUDIT_TREE_HEAD_SINKS=file:$(VAR)/audit-tree-heads.jsonl

# umask 077: the SQLite database (and its WAL files) under var/ is this user's only.
migrate: install keys
	umask 077; $(RUN_ENV) $(PY) manage.py migrate --no-input
	umask 077; $(RUN_ENV) $(PY) manage.py createcachetable

demo: migrate
	umask 077; $(RUN_ENV) $(PY) manage.py seed_demo

run: demo  ## set up everything, then serve on 127.0.0.1:8000 with a task worker and the sealer
	@echo "Serving on http://127.0.0.1:8000/ (Ctrl-C stops the server, the worker and the sealer)"
	@umask 077; $(RUN_ENV) $(PY) manage.py db_worker & worker=$$!; \
	$(RUN_ENV) $(PY) manage.py audit_seal --loop 5 & sealer=$$!; \
	trap 'kill $$worker $$sealer 2>/dev/null' EXIT INT TERM; \
	$(RUN_ENV) $(PY) manage.py runserver 127.0.0.1:8000

lint: install  ## ruff (lint and format check)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install  ## mypy (strict)
	$(VENV)/bin/mypy .

test: lint typecheck  ## lint, type check, migration check, tests on SQLite then PostgreSQL
	DJANGO_SETTINGS_MODULE=config.test_settings $(PY) manage.py makemigrations --check --dry-run
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$${DATABASE_URL:-}" ] || pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
		$(MAKE) --no-print-directory test-postgres; \
	elif [ -n "$${PHIWARDEN_REQUIRE_POSTGRES:-}" ]; then \
		echo "PostgreSQL is required but not reachable" >&2; exit 1; \
	else \
		echo "PostgreSQL not reachable: skipped the PostgreSQL pass (set DATABASE_URL to run it)"; \
	fi

test-sqlite: install  ## the tests on SQLite only
	@echo "== tests on SQLite =="
	env -u DATABASE_URL $(VENV)/bin/pytest

test-postgres: install  ## the tests on PostgreSQL only (DATABASE_URL, else the local server)
	@echo "== tests on PostgreSQL =="
	DATABASE_URL="$${DATABASE_URL:-$(PG_URL)}" $(VENV)/bin/pytest

bench: install  ## benchmarks against their peers; figures go to docs/benchmarks.md
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) $(VAR)/static .mypy_cache .ruff_cache
