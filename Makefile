# The same steps as .ci/run, one at a time.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install lint test bench check chat web

install:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -c constraints.txt -e ".[test]"

lint:
	$(VENV)/bin/ruff check bot tests benchmarks
	$(VENV)/bin/ruff format --check bot tests benchmarks
	$(VENV)/bin/hadolint Dockerfile
	$(VENV)/bin/mypy bot tests benchmarks

check:
	$(PY) -m bot faq check

test:
	$(PY) -m pytest

bench:
	$(PY) benchmarks/match.py
	$(PY) benchmarks/load.py
	$(PY) benchmarks/web.py
	$(PY) -m bot faq eval

chat:
	$(PY) -m bot chat

web:
	$(PY) -m bot web
