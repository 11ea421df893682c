# Seal recognition on Triton. `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
VPY := $(VENV)/bin/python
SETUP_STAMP := $(VENV)/.setup-done
REPO := model_repository
MODELS_STAMP := $(REPO)/layout/layout_info.json
SOURCE ?= auto
PROFILE ?= mobile
LAYOUT ?=
# your own model per role (a PaddleX inference directory, or an .onnx with its yml), any SOURCE
SEAL_DET ?=
TEXT_REC ?=
LAYOUT_MODEL ?=
TEXTLINE_ORI ?=
DOC_ORI ?=
UVDOC ?=
TARGET ?= auto
ENGINE ?=
MODELS_REQUEST := .build/models-request
PYTEST_ARGS ?=
SOAK_MINUTES ?= 30

.PHONY: help setup models serve stop test test-unit test-integration parity parity-fast rotation-eval lint format clean perf locust bench overload soak official-env serve-cpu serve-gpu test-official FORCE

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

setup: $(SETUP_STAMP) ## create .venv with the pinned dependencies (quick when done)

$(SETUP_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 needed (the Triton stub is built for it)"'
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet -e ".[server,dev]"
	bash tools/install_fonts.sh
	bash tools/install_chromium.sh
	bash tools/install_jemalloc.sh
	bash perf/install_perf_analyzer.sh
	touch $@

models: $(MODELS_STAMP) ## build the ONNX entries: SOURCE=auto|official|rapid PROFILE=mobile|server|paddlex-3.7.2 [LAYOUT=name] [SEAL_DET= TEXT_REC= LAYOUT_MODEL= TEXTLINE_ORI= DOC_ORI= UVDOC= name or path]

# rebuilt when the request (SOURCE, PROFILE, LAYOUT, local models) changes, not only when the tools do
MODELS_ARGS := --source $(SOURCE) --profile $(PROFILE) $(if $(LAYOUT),--layout $(LAYOUT)) $(if $(SEAL_DET),--seal-det $(SEAL_DET)) $(if $(TEXT_REC),--text-rec $(TEXT_REC)) $(if $(LAYOUT_MODEL),--layout-model $(LAYOUT_MODEL)) $(if $(TEXTLINE_ORI),--textline-ori $(TEXTLINE_ORI)) $(if $(DOC_ORI),--doc-ori $(DOC_ORI)) $(if $(UVDOC),--uvdoc $(UVDOC))
$(MODELS_REQUEST): FORCE
	@mkdir -p $(@D); echo "$(MODELS_ARGS)" | cmp -s - $@ || echo "$(MODELS_ARGS)" > $@

$(MODELS_STAMP): $(SETUP_STAMP) $(MODELS_REQUEST) tools/models/prepare.py tools/models/picodet_wrapper.py tools/models/layout_contract.py python_backend/seal_ocr/textline_ori.py
	$(VPY) -m tools.models.prepare $(MODELS_ARGS)

official-env: setup ## create .cache/venv-official: paddle2onnx + PaddlePaddle CPU (the `official` extra)
	$(VPY) -c 'from tools.models.official import ensure_converter_venv; print(ensure_converter_venv())'

serve: ## GPU containers when nvidia-smi and docker answer, else the embedded CPU server; TARGET=gpu|cpu forces
	@target="$(TARGET)"; \
	if [ "$$target" = auto ]; then \
	  if nvidia-smi >/dev/null 2>&1 && docker info >/dev/null 2>&1; then target=gpu; else target=cpu; fi; \
	  echo "serve: TARGET=auto -> $$target"; \
	fi; \
	case "$$target" in gpu|cpu) $(MAKE) --no-print-directory serve-$$target ;; \
	  *) echo "TARGET must be auto, gpu or cpu" >&2; exit 2 ;; esac

serve-cpu: setup models ## embedded tritonserver on 127.0.0.1 (HTTP 8000, gRPC 8001, metrics 8002) [ENGINE=openvino|onnxruntime]; Ctrl-C stops
	$(VPY) -m seal_triton $(if $(ENGINE),--engine $(ENGINE)) $(SERVE_ARGS)

serve-gpu: setup models ## docker compose: Triton 24.10 on the GPU + the gateway (docs/deploy-gpu.md)
	TRITON_ADMIN_KEY="$${TRITON_ADMIN_KEY:-$$(openssl rand -hex 16)}" docker compose -f docker/compose.yaml up --build

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

test-official: setup models official-env ## official-model path offline: tiny Paddle archives -> paddle2onnx -> Triton
	$(VPY) -m pytest -m official tests $(PYTEST_ARGS)

parity: setup models ## real PaddleX 3.7.2 vs the ensemble on real + 120 synthetic pages (installs .venv-paddlex)
	bash parity/run.sh full

parity-fast: setup models ## the same on 3 real + 6 synthetic pages (CI)
	bash parity/run.sh fast

rotation-eval: setup models ## seals turned 0-345 degrees: lines read right, PaddleX vs the options
	$(VPY) -m tools.eval.rotation $(ROTATION_ARGS)

perf: setup models ## perf_analyzer sweep (concurrency 1-16) -> perf/results/perf_analyzer.{csv,md}
	bash perf/install_perf_analyzer.sh
	$(VPY) -m perf.perf_analyzer_sweep $(PERF_ARGS)

locust: setup models ## locust headless, bounded, mixed traffic -> perf/results/locust.{html,md}, CSV
	$(VPY) -m perf.run_locust $(LOCUST_ARGS)

bench: setup models ## ensemble vs in-process vs PaddleX 3.7.2 -> perf/results/bench.{md,csv,png}
	bash perf/install_perf_analyzer.sh
	$(VPY) -m perf.bench $(BENCH_ARGS)

overload: setup models ## 4x the saturating load against an own server -> docs/robustness.md
	$(VPY) -m tools.robustness.overload $(OVERLOAD_ARGS)

soak: setup models ## mixed traffic for SOAK_MINUTES (default 30): failures, RSS -> docs/robustness.md
	$(VPY) -m tools.robustness.soak --minutes $(SOAK_MINUTES) $(SOAK_ARGS)

lint: setup ## ruff check and format check, codespell (the pre-commit hooks) and mypy (product code)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/codespell
	$(VENV)/bin/mypy

format: setup ## ruff format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: ## remove built models, caches and the build dir (keeps .venv)
	rm -rf .build .cache .venv-paddlex $(REPO)/*/1/model.onnx $(REPO)/layout/layout_info.json $(REPO)/text_rec/characters.txt $(REPO)/textline_ori/textline_ori_info.json $(REPO)/models.json
