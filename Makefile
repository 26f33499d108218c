# The front door. Every target sets up .venv by itself (pinned by constraints.txt)
# on a machine with only Python 3.11+, make and git.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8080
# The suite spreads over every core (pytest-xdist); PYTEST_ARGS= runs it in one process.
PYTEST_ARGS ?= -n auto

.PHONY: help venv demo test test-lowest lint lint-spec generate generate-python check-generated mock contract bench breaking clean
.PHONY: generate-mock-spec generate-polyglot polyglot polyglot-tools mock-dist-check

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt mock/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed; set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ./mock -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## create .venv with the pinned dependencies

demo: $(STAMP) ## generate a real PNG through the local mock (writes demo-output/)
	$(BIN)/python examples/demo.py

# The base dependencies as wheels, for tests/test_install.py's offline install of the
# wheel into an empty venv (only what the wheel declares; built once per .venv).
WHEELHOUSE := $(VENV)/wheelhouse
$(WHEELHOUSE)/.built: $(STAMP)
	$(BIN)/python -m pip wheel --quiet --disable-pip-version-check -c constraints.txt \
	  --wheel-dir $(WHEELHOUSE) .
	@rm -f $(WHEELHOUSE)/nebula_images-*.whl  # the test builds its own from the tree
	@touch $@

test: $(STAMP) $(WHEELHOUSE)/.built ## run the whole test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

LOWEST := $(VENV)/lowest
LOWEST_TENACITY = $(shell sed -n 's/^ *"tenacity>=\([0-9.]*\)".*/\1/p' pyproject.toml)
test-lowest: $(STAMP) ## the retry tests under the lowest tenacity pyproject.toml allows
	@test -n "$(LOWEST_TENACITY)" || { echo "no tenacity>= floor found in pyproject.toml"; exit 1; }
	rm -rf $(LOWEST) && $(BIN)/python -m pip install --quiet --disable-pip-version-check \
	  --no-deps --target $(LOWEST) tenacity==$(LOWEST_TENACITY)
	PYTHONPATH=$(LOWEST) $(BIN)/python -c 'import importlib.metadata as m; \
	  v = m.version("tenacity"); assert v == "$(LOWEST_TENACITY)", v; print("tenacity", v)'
	PYTHONPATH=$(LOWEST) $(BIN)/python -m pytest tests/test_retry_unit.py tests/test_retry_faults.py -q

# Every folder of Python code that ruff checks (wrapper, tests, tools, codegen, ...).
LINT_PATHS := wrapper mock tests bench examples tools codegen polyglot
lint: $(STAMP) ## ruff + mypy --strict on the wrapper, the mock and tools/, spec validation
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy
	$(BIN)/mypy tools/spec_breaking
	$(BIN)/openapi-spec-validator openapi.yaml

NODE_TOOLS := .node-tools
SPECTRAL := $(NODE_TOOLS)/node_modules/.bin/spectral
$(SPECTRAL):
	@command -v npm >/dev/null || { echo "make lint-spec needs Node.js and npm (make test and make demo do not)"; exit 1; }
	npm install --silent --no-audit --no-fund --prefix $(NODE_TOOLS) @stoplight/spectral-cli@6.16.3

lint-spec: $(STAMP) $(SPECTRAL) ## openapi-spec-validator + Spectral (needs Node)
	$(BIN)/openapi-spec-validator openapi.yaml
	$(SPECTRAL) lint --fail-severity=warn openapi.yaml

SPEC ?= openapi.yaml
GENERATED_DIR ?= generated/nebula_images_api
RULES_MODULE ?= generated/nebula_images_rules/__init__.py
IMAGES_MODULE ?= wrapper/nebula_images/resources/images.py
BATCH_REQUEST_MODULE ?= wrapper/nebula_images/_batch_request.py
generate: generate-python generate-mock-spec generate-polyglot ## regenerate generated/ (and the typed calls) from openapi.yaml

generate-mock-spec: ## copy openapi.yaml into the mock distribution (mock/nebula_images_mock/)
	cp openapi.yaml mock/nebula_images_mock/openapi.yaml

generate-python: $(STAMP) ## the Python parts of `make generate`
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/openapi-python-client generate --path $(SPEC) \
	  --meta none --config openapi-python-client.yaml --fail-on-warning \
	  --custom-template-path codegen/openapi-python-client \
	  --output-path $(GENERATED_DIR) --overwrite
	@rm -rf $(GENERATED_DIR)/.ruff_cache
	@touch $(GENERATED_DIR)/py.typed  # --meta none writes none; the package is typed
	$(BIN)/python codegen/python_rules.py --spec $(SPEC) --rules $(RULES_MODULE) \
	  --images $(IMAGES_MODULE) --batch-request $(BATCH_REQUEST_MODULE)
	@touch $(dir $(RULES_MODULE))py.typed
	$(BIN)/ruff format --isolated --quiet --line-length 100 $(RULES_MODULE) $(IMAGES_MODULE) \
	  $(BATCH_REQUEST_MODULE)

# Other languages (issue #12): generated/typescript, generated/java, generated/go.
# generate-polyglot skips, with a line, a language whose generator is not installed.
POLYGLOT_TOOLS := .polyglot-tools
POLYGLOT_STAMP := $(POLYGLOT_TOOLS)/.installed
generate-polyglot: $(STAMP) ## regenerate generated/typescript|java|go (where their generators are installed)
	$(BIN)/python polyglot/generate.py

$(POLYGLOT_STAMP): polyglot/requirements.txt polyglot/typescript/package-lock.json polyglot/install-tools.sh
	PYTHON=$(PYTHON) polyglot/install-tools.sh
	@touch $@

polyglot-tools: $(POLYGLOT_STAMP) ## install the TypeScript, Java and Go toolchains (npm, PyPI, apt)

polyglot: $(STAMP) $(POLYGLOT_STAMP) ## TypeScript, Java and Go clients: drift check, compile, smoke tests on the mock
	$(BIN)/python polyglot/run.py

MOCK_CHECK_VENV := .mock-dist-check
mock-dist-check: ## pip install ./mock alone into an empty venv; its console script serves a generation
	rm -rf $(MOCK_CHECK_VENV) && $(PYTHON) -m venv $(MOCK_CHECK_VENV)
	$(MOCK_CHECK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt ./mock
	$(MOCK_CHECK_VENV)/bin/python mock/check_install.py
	rm -rf $(MOCK_CHECK_VENV)

mock: $(STAMP) ## serve the mock API on 127.0.0.1:$(PORT)
	$(BIN)/nebula-images-mock --port $(PORT)

contract: $(STAMP) ## Schemathesis against the mock, or URL=... NEBULA_API_KEY=...
	$(BIN)/python -m nebula_images_mock.contract $(if $(URL),--url $(URL),)

bench: $(STAMP) ## benchmarks: print figures, write bench/results.json
	$(BIN)/python bench/run.py

# BASE: the git ref whose openapi.yaml is the old spec. Default: the merge-base of HEAD and
# main (what this branch changed), or HEAD~1 on main. See tools/spec_breaking/_git.py.
BASE ?=
breaking: $(STAMP) ## fail on a spec change that breaks existing clients [BASE=<git ref>]
	PYTHONPATH=tools $(BIN)/python -m spec_breaking --spec $(SPEC) $(if $(BASE),--base $(BASE),)

clean: ## remove the venv and caches
	rm -rf $(VENV) $(NODE_TOOLS) $(POLYGLOT_TOOLS) polyglot/typescript/node_modules polyglot/typescript/build .pytest_cache .mypy_cache .ruff_cache demo-output
