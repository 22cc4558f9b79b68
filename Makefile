# The only entry point a developer needs. See README.md.
VENV := .venv
PY := $(VENV)/bin/python
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tally
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test lint fmt bench worker migrate venv

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

lint: venv
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

fmt: venv
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

bench: venv
	scripts/services-up && DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m bench.run $(BENCH_ARGS)

worker: venv
	$(VENV)/bin/celery -A config worker --beat --loglevel INFO

migrate: venv
	$(PY) manage.py migrate
