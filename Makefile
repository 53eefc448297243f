# openim developer commands. On a fresh clone:
#
#   make run     # serve every module on an embedded SQLite store under ./data (http://127.0.0.1:10002/healthz)
#   make test    # the whole suite, as CI runs it (.ci/run)
#
# Both create .venv (Python 3.11+) and install the package editable with its dev extras; the install is
# skipped while pyproject.toml is unchanged since the last one (a hash of it is kept in .venv).

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.openim-pyproject.sha256
E2E    := tests/e2e

# The interpreter that creates .venv: python3.11, else python3 if it is 3.11 or newer. `make PYTHON=...` overrides.
PYTHON ?= $(shell for p in python3.11 python3; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { command -v "$$p"; break; }; done)

# Extra arguments: `make run ARGS='-c my.yaml'`, `make test PYTEST_ARGS='-k config -x'`.
ARGS ?=
PYTEST_ARGS ?=

# $(call timed,label,command): run a step, print how long it took, keep its exit code.
define timed
	@echo "==> $(1)"; start=$$(date +%s); $(2); rc=$$?; \
	echo "<== $(1): $$(( $$(date +%s) - start ))s (exit $$rc)"; exit $$rc
endef

# $(call pytest,label,args): pytest over tests/, timed. pytest exits 5 when it collected nothing: that is a
# broken suite, never a pass, so it is said out loud (and the exit code kept).
define pytest
	@echo "==> $(1)"; start=$$(date +%s); \
	$(BIN)/python -m pytest tests $(2) $(PYTEST_ARGS); rc=$$?; \
	echo "<== $(1): $$(( $$(date +%s) - start ))s (exit $$rc)"; \
	if [ $$rc -eq 5 ]; then echo "make: ERROR: pytest collected no tests (exit 5): the suite is broken" >&2; fi; \
	exit $$rc
endef

.PHONY: help venv e2e-deps run test test-quick binary clean check-proto check-ruff check-mypy check-imports pytest-all pytest-quick

help:
	@echo "make run         serve all modules with the embedded defaults (SQLite under ./data, in-process bus)"
	@echo "make test        the whole suite: proto check, ruff, mypy, import contracts, pytest (binary, contract, e2e included)"
	@echo "make test-quick  the suite without the binary build (pytest -m 'not binary')"
	@echo "make binary      build dist/openim (PyInstaller, packaging/openim.spec)"
	@echo "make clean       remove build/ and dist/"

venv:
	@if [ ! -x $(BIN)/python ] || ! $(BIN)/python -c '' >/dev/null 2>&1; then \
	  if [ -z "$(PYTHON)" ]; then echo "make: ERROR: need Python 3.11+ as python3.11 or python3" >&2; exit 1; fi; \
	  echo "==> creating $(VENV) with $(PYTHON)"; \
	  "$(PYTHON)" -m venv --clear $(VENV) || exit 1; \
	fi
	@want=$$(sha256sum pyproject.toml | cut -d' ' -f1); \
	if [ "$$(cat $(STAMP) 2>/dev/null)" = "$$want" ] && $(BIN)/python -c 'import openim' >/dev/null 2>&1; then \
	  echo "==> $(VENV) is current (pyproject.toml unchanged since the last install)"; \
	else \
	  echo "==> pip install -e '.[dev]' into $(VENV)"; start=$$(date +%s); \
	  $(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -q -e '.[dev]' || exit 1; \
	  echo "$$want" > $(STAMP); \
	  echo "<== pip install: $$(( $$(date +%s) - start ))s"; \
	fi

# The SDK end-to-end tests need their node_modules (tests/e2e: the JS SDK under Node; tests/wasm: the Go
# core as wasm in Chromium); `npm ci` again only when a package-lock.json changed.
NODE_DIRS := $(E2E) tests/wasm

e2e-deps:
	@for dir in $(NODE_DIRS); do \
	  [ -f $$dir/package-lock.json ] || continue; \
	  command -v npm >/dev/null || { echo "make: ERROR: npm not found; the e2e tests need Node.js 20+ and npm" >&2; exit 1; }; \
	  stamp=$$dir/node_modules/.openim-lock.sha256; \
	  want=$$(sha256sum $$dir/package-lock.json | cut -d' ' -f1); \
	  if [ "$$(cat $$stamp 2>/dev/null)" = "$$want" ]; then \
	    echo "==> $$dir/node_modules is current"; \
	  else \
	    echo "==> npm ci in $$dir"; start=$$(date +%s); \
	    (cd $$dir && npm ci --no-audit --no-fund --loglevel=error) || exit 1; \
	    echo "$$want" > $$stamp; \
	    echo "<== npm ci: $$(( $$(date +%s) - start ))s"; \
	  fi; \
	done

run: venv
	exec $(BIN)/openim serve $(ARGS)

# The steps of the suite. `make test` runs them all with -k: a failing step does not hide the others' results
# (one CI run reports every problem), and the target fails if any step failed.
check-proto:
	$(call timed,gen_proto --check,$(BIN)/python scripts/gen_proto.py --check)

check-ruff:
	$(call timed,ruff check,$(BIN)/ruff check .)

check-mypy:
	$(call timed,mypy (package),$(BIN)/mypy)

check-imports:
	$(call timed,lint-imports (.importlinter),$(BIN)/lint-imports)

pytest-all:
	$(call pytest,pytest tests/ (everything))

pytest-quick:
	$(call pytest,pytest tests/ -m 'not binary',-m 'not binary')

test: venv e2e-deps
	@$(MAKE) --no-print-directory -k check-proto check-ruff check-mypy check-imports pytest-all

test-quick: venv e2e-deps
	@$(MAKE) --no-print-directory -k check-proto check-ruff check-mypy check-imports pytest-quick

binary: venv
	$(call timed,build dist/openim,PYTHON=$(CURDIR)/$(BIN)/python scripts/build_binary.sh dist)

clean:
	rm -rf build dist
