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

# mypy, strict (pyproject.toml): the product, then tests, benchmarks and scripts. These import
# their neighbours by file name (pytest puts each test folder on the path), so each folder is
# checked with that MYPYPATH, and on its own: the test folders' conftest.py share one name.
lint: install
	$(VENV)/bin/ruff check syncwizard tests bench scripts
	$(VENV)/bin/ruff format --check syncwizard tests bench scripts
	$(VENV)/bin/mypy
	MYPYPATH=tests:tests/unit $(VENV)/bin/mypy tests/unit tests/support tests/conftest.py
	MYPYPATH=tests:tests/tui $(VENV)/bin/mypy tests/tui scripts
	MYPYPATH=tests:tests/integration $(VENV)/bin/mypy tests/integration
	MYPYPATH=bench $(VENV)/bin/mypy bench

test: install system-deps lint
	PY=$(PY) scripts/test-all

screenshots: install
	$(PY) scripts/screenshots.py

bench-startup: install
	$(PY) bench/startup.py

bench-poll: install system-deps
	$(PY) bench/poll_tick.py
