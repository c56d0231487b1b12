# The two commands of the README:
#   make practice   install, bring up the practice lab, open the wizard on its dashboard
#   make test       install, then lint and run every test (.ci/run calls this)
VENV ?= .venv
PY := $(VENV)/bin/python
SW := $(VENV)/bin/syncwizard

.PHONY: install system-deps practice test lint screenshots bench-startup bench-poll

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

system-deps:
	@scripts/system-deps

practice: install system-deps
	$(SW) lab up
	$(PY) -m syncwizard.tui --profile lab

lint: install
	$(VENV)/bin/ruff check syncwizard tests bench scripts
	$(VENV)/bin/ruff format --check syncwizard tests bench scripts
	$(VENV)/bin/mypy

test: install system-deps lint
	PY=$(PY) scripts/test-all

screenshots: install
	$(PY) scripts/screenshots.py

bench-startup: install
	$(PY) bench/startup.py

bench-poll: install system-deps
	$(PY) bench/poll_tick.py
