# edgekit: `make demo` runs the main job, `make test` runs the gates. Both set up what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEBIAN_PACKAGES := espeak-ng flite sox libsndfile1 postgresql chromium chromium-driver \
	openjdk-17-jdk-headless junit4 libbcprov-java
# The Android app's check: JetBrains' Kotlin compiler from npm, at the version the app's Gradle
# build pins (android-demo/gradle/libs.versions.toml), installed under .tools/ (git-ignored).
KOTLIN_VERSION := $(shell sed -n 's/^kotlin *= *"\([^"]*\)".*/\1/p' android-demo/gradle/libs.versions.toml)
KOTLIN_HOME := .tools/kotlin-compiler-$(KOTLIN_VERSION)/node_modules/kotlin-compiler

.PHONY: demo test lint typecheck pytest android-check bench setup system-deps clean

demo: setup
	$(BIN)/edgekit demo
	$(BIN)/edgekit-fl demo

test: setup lint typecheck android-check pytest

setup: system-deps $(STAMP)

# Debian packages, installed only when something is missing (needs root or sudo).
system-deps:
	@missing=0; \
	for tool in espeak-ng flite sox chromium chromedriver javac; do \
		command -v $$tool >/dev/null 2>&1 || missing=1; done; \
	ldconfig -p 2>/dev/null | grep -q 'libsndfile\.so\.1' || missing=1; \
	for jar in junit4 hamcrest-core bcprov; do \
		test -f /usr/share/java/$$jar.jar || missing=1; done; \
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

# The Android app (android-demo/) without an Android SDK: every Kotlin source compiled against
# compile-only stubs of the APIs it calls, then the JVM tests of its plain-Kotlin core on real
# data from the Python SDK (tests/android drives both; `pytest` below leaves that folder to it).
android-check: setup $(KOTLIN_HOME)/build.txt
	$(BIN)/python -m pytest tests/android --durations=5

$(KOTLIN_HOME)/build.txt:
	@command -v npm >/dev/null 2>&1 || { \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends npm; }
	npm install --no-save --no-package-lock --no-audit --no-fund \
		--prefix .tools/kotlin-compiler-$(KOTLIN_VERSION) kotlin-compiler@$(KOTLIN_VERSION)
	test "$$(cat $@)" = "$(KOTLIN_VERSION)"

# Two workers, whole test files each (module fixtures are built once), the slow files first in
# the order tests/conftest.py gives (xdist would order files by their number of tests, leaving
# one-test end-to-end files for last); PYTEST_WORKERS=0 runs serially.
PYTEST_WORKERS ?= 2
pytest: setup
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=20 \
		--ignore=tests/android

bench: setup
	$(BIN)/python bench/frontend.py --quick

clean:
	rm -rf runs .mypy_cache .ruff_cache .pytest_cache android-demo/build
