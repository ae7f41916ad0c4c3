# corpusforge: `make demo` runs the pipeline on the bundled sample site with a local Label Studio, `make test` runs the tests.
# Both set everything up first (virtual environment, packages, system packages, Label Studio).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# Label Studio pins its own Django and SDK, so it lives in a venv of its own, cached per machine.
LS_VENV ?= $(HOME)/.cache/corpusforge/label-studio-venv
SYSTEM_PACKAGES := python3.11-doc manpages-de manpages-fr manpages-es debian-reference-zh-cn debian-reference-ja chromium chromium-driver
PYTEST_ARGS ?=
# Two test processes: most tests wait on servers and subprocesses, so two halve the wall time
# even on 2 cores. Each process starts its own Prefect and Label Studio servers; a file's tests
# stay together in one process (--dist loadfile) so module fixtures start once.
TEST_WORKERS ?= 2

.PHONY: demo test setup system-deps label-studio lint clean

demo: setup label-studio
	$(BIN)/corpusforge demo

test: setup label-studio
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

setup: system-deps $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch pinned: this version installs as a CPU build; an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

system-deps:
	@if ! dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then \
	  echo "installing system packages: $(SYSTEM_PACKAGES)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	fi

label-studio: $(LS_VENV)/.installed

$(LS_VENV)/.installed:
	test -x $(LS_VENV)/bin/python || $(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install -q --upgrade pip
	$(LS_VENV)/bin/python -m pip install -q "label-studio>=1.23,<1.24"
	touch $@

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) data exports demo .pytest_cache
