# The only entry point a developer needs. See README.md.
VENV := .venv
PY := $(VENV)/bin/python
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tally
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test proofs lint fmt bench worker migrate venv import extract reports

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e ".[dev]"
	touch $@

venv: $(VENV)/.installed

run: venv
	scripts/run

test: venv
	scripts/services-up && scripts/test-tools-up
	SECRET_KEY=test-only-secret DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(PY) -m pytest $(PYTEST_ARGS)

# Load and fault proofs against a whole stack (nginx, gunicorn, a private Redis, PostgreSQL
# through a proxy the tests cut, a worker): a few minutes. PROOF_SECONDS/PROOF_RESPONDENTS scale it.
proofs: venv
	scripts/services-up && scripts/test-tools-up
	SECRET_KEY=test-only-secret DATABASE_URL=$(TEST_DATABASE_URL) TEST_DATABASE_URL=$(TEST_DATABASE_URL) \
		$(PY) -m pytest -m proof tests/proofs -p no:cacheprovider -s $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
	SECRET_KEY=lint-only $(VENV)/bin/mypy .

fmt: venv
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

bench: venv
	scripts/services-up && DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m bench.run $(BENCH_ARGS)

worker: venv
	$(VENV)/bin/celery -A config worker --beat --loglevel INFO

migrate: venv
	$(PY) manage.py migrate

# Data commands on the development settings (as `make run` uses them), unless overridden.
DEV := TALLY_DEBUG=$${TALLY_DEBUG:-1}

import: venv  # make import FILE=path/to/kaggle_2022.zip WAVE=2022
	$(DEV) $(PY) manage.py import_kaggle "$(FILE)" --wave "$(WAVE)"

extract: venv  # make extract FILE=path/to/kaggle_2022.zip WAVE=2022
	$(DEV) $(PY) manage.py kaggle_extract "$(FILE)" data/kaggle/kaggle_$(WAVE)_extract.zip --wave "$(WAVE)"

reports: venv  # rebuild and publish every series' report now
	$(DEV) $(PY) manage.py rebuild_reports --publish
