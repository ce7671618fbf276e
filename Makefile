# ONE platform. Quick start: `make dev` (local stack) and `make test` (the whole suite).
# Every target sets up what it needs: a virtualenv with pinned dependencies (requirements/).

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SAM_VENV := .venv-sam
SAM      := $(SAM_VENV)/bin/sam
# uv installs the pinned requirements (pip's resolver and downloads, many times faster); it is
# itself pinned, installed by pip into the project's virtualenv, and serves the other two too.
UV_VERSION := 0.13.9
UV         := $(VENV)/bin/uv
UV_INSTALL := $(UV) pip install --quiet

.PHONY: dev test check test-browser lint format bench template docs events contracts codegen validate build deploy migrate lock clean

$(UV):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): $(UV) requirements/dev.txt requirements/lock.txt layers/ontology/requirements.txt pyproject.toml
	$(UV_INSTALL) --python $(PY) -c requirements/lock.txt -r requirements/dev.txt
	$(UV_INSTALL) --python $(PY) --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# The local stack, reloading functions/ and the layer as they are saved, and Convex's _generated kept
# current as functions change (CODEGEN: where; a frontend's own folder, e.g. ../web/convex/_generated).
CODEGEN ?= convex/_generated
dev: $(STAMP)
	$(PY) -m infra.local --watch --codegen $(CODEGEN)

# Better Auth's and Convex's own clients, for the end-to-end tests of /api/auth and Convex's protocol,
# and TypeScript, which type-checks a frontend on `one codegen`'s files (npm, versions locked).
JS_STAMP := tests/js/node_modules/.installed
$(JS_STAMP): tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error
	@touch $(JS_STAMP)

# The browser test (tests/browser): a React page on Convex's and Better Auth's clients, built with
# Vite and driven by playwright-core (npm, versions locked) in Debian's Chromium, never a browser
# downloaded by Playwright.
BROWSER_STAMP := tests/browser/node_modules/.installed
$(BROWSER_STAMP): tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	@touch $(BROWSER_STAMP)

CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

test: $(STAMP) $(JS_STAMP) $(BROWSER_STAMP) $(CHROMIUM) lint validate
	$(PY) -m pytest

# The inner loop: lint, types and the fast tests, those that neither start the local stack nor are
# marked slow (within 3 minutes on two cores; `python -m bench.suite` times it and `make test`).
check: lint $(JS_STAMP)
	$(PY) -m pytest -m "not stack and not slow"

test-browser: $(STAMP) $(BROWSER_STAMP) $(CHROMIUM)
	$(PY) -m pytest tests/browser

# ruff over the whole repository; mypy --strict over the layer, functions/ and infra/ (pyproject.toml)
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) -m bench

template: $(STAMP)
	$(PY) -m infra.template

docs: $(STAMP)
	$(PY) -m infra.docs

events: $(STAMP)
	$(PY) -m infra.events

# Convex's _generated for frontends (api.js, api.d.ts, dataModel.d.ts), typed from the functions.
codegen: $(STAMP)
	$(PY) -m infra.codegen

contracts: $(STAMP)
	$(PY) -m infra.contracts.build

# The SAM CLI pins boto3 exactly: it lives in its own virtualenv.
$(SAM): $(UV) requirements/sam.txt
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(UV_INSTALL) --python $(SAM_VENV)/bin/python -r requirements/sam.txt
	@touch $(SAM)

# checkov has its own pins (boto3 among them): its own virtualenv too.
CHECKOV_VENV := .venv-checkov
CHECKOV      := $(CHECKOV_VENV)/bin/checkov
$(CHECKOV): $(UV) requirements/checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(UV_INSTALL) --python $(CHECKOV_VENV)/bin/python --no-deps -r requirements/checkov.txt
	@touch $(CHECKOV)

# Validated once for what it was generated from: `make build` and `make test` in one CI run share it.
# Three independent checks, each with its own stamp, so `make -j` runs them side by side. cfn-lint runs
# once, as `sam validate --lint` (the SAM CLI's cfn-lint, the same pinned version as requirements/).
VALIDATED := $(VENV)/.validated
TEMPLATE_SOURCES := template.yaml $(shell find infra functions layers/ontology/ontology -name '*.py' -o -name '*.json' 2>/dev/null)
$(VENV)/.template-current: $(STAMP) $(TEMPLATE_SOURCES)
	$(PY) -m infra.template --check
	@touch $@
$(VENV)/.sam-validate: $(SAM) template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM) validate --lint --region us-east-1
	@touch $@
# Skipped checks carry their reason in the template (Metadata: checkov: skip); --skip-download:
# nothing is fetched from Prisma Cloud.
$(VENV)/.checkov: $(CHECKOV) template.yaml
	$(CHECKOV) --framework cloudformation --file template.yaml --compact --quiet --skip-download
	@touch $@
$(VALIDATED): $(VENV)/.template-current $(VENV)/.sam-validate $(VENV)/.checkov
	@touch $(VALIDATED)

validate: $(VALIDATED)

build: validate
	SAM_CLI_TELEMETRY=0 $(SAM) build

# sam deploy with the reference's variables (BETTER_AUTH_SECRET, STRIPE_SECRET_KEY, …, from the
# environment or .env) as the stack's parameters: `make deploy` (dev) or `make deploy CONFIG_ENV=prod`.
CONFIG_ENV ?= default
deploy: build
	@overrides="$$($(PY) -m infra.environment --config-env $(CONFIG_ENV))"; \
	eval "SAM_CLI_TELEMETRY=0 $(SAM) deploy --config-env $(CONFIG_ENV) --parameter-overrides $$overrides"
	$(MAKE) migrate CONFIG_ENV=$(CONFIG_ENV)

# The data migrations the deployed code declares and its table has not had (docs/migrations.md), with
# the operator's AWS credentials: `make deploy` runs it after `sam deploy`.
migrate: $(STAMP)
	$(VENV)/bin/one migrate run --all --config-env $(CONFIG_ENV)

# Re-pin the transitive dependencies after changing requirements/dev.txt.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	.venv-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements/lock.txt
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .one/cache
