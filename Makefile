# ONE platform. Quick start: `make dev` (local stack) and `make test` (the whole suite).
# Every target sets up what it needs: a virtualenv with pinned dependencies (requirements/).

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SAM_VENV := .venv-sam
SAM      := $(SAM_VENV)/bin/sam

.PHONY: dev test lint format bench template docs events contracts validate build lock clean

$(STAMP): requirements/dev.txt requirements/lock.txt layers/ontology/requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements/lock.txt -r requirements/dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

dev: $(STAMP)
	$(PY) -m infra.local

# Better Auth's own client, for the end-to-end test of /api/auth (npm, versions locked).
JS_STAMP := tests/js/node_modules/.installed
$(JS_STAMP): tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error
	@touch $(JS_STAMP)

test: $(STAMP) $(JS_STAMP) lint validate
	$(PY) -m pytest

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

contracts: $(STAMP)
	$(PY) -m infra.contracts.build

# The SAM CLI pins boto3 exactly: it lives in its own virtualenv.
$(SAM): requirements/sam.txt
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/sam.txt
	@touch $(SAM)

validate: $(STAMP) $(SAM)
	$(PY) -m infra.template --check
	$(VENV)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM) validate --lint --region us-east-1

build: validate
	SAM_CLI_TELEMETRY=0 $(SAM) build

# Re-pin the transitive dependencies after changing requirements/dev.txt.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	.venv-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements/lock.txt
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
