# edgekit: `make demo` runs the main job, `make test` runs the gates. Both set up what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEBIAN_PACKAGES := espeak-ng flite sox libsndfile1 postgresql chromium chromium-driver

.PHONY: demo test lint typecheck pytest bench setup system-deps clean

demo: setup
	$(BIN)/edgekit demo
	$(BIN)/edgekit-fl demo

test: setup lint typecheck pytest

setup: system-deps $(STAMP)

# Debian packages, installed only when something is missing (needs root or sudo).
system-deps:
	@missing=0; \
	for tool in espeak-ng flite sox chromium chromedriver; do \
		command -v $$tool >/dev/null 2>&1 || missing=1; done; \
	ldconfig -p 2>/dev/null | grep -q 'libsndfile\.so\.1' || missing=1; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing=1; \
	if [ $$missing = 1 ]; then \
		echo "installing Debian packages: $(DEBIAN_PACKAGES)"; \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends \
			$(DEBIAN_PACKAGES); \
	fi

$(STAMP): pyproject.toml server/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]' -e ./server
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# Two workers, whole test files each (module fixtures are built once), the slow files first in
# the order tests/conftest.py gives (xdist would order files by their number of tests, leaving
# one-test end-to-end files for last); PYTEST_WORKERS=0 runs serially.
PYTEST_WORKERS ?= 2
pytest: setup
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=20

bench: setup
	$(BIN)/python bench/frontend.py --quick

clean:
	rm -rf runs .mypy_cache .ruff_cache .pytest_cache
