#!/usr/bin/env bash
# What perf_analyzer (shipped by tritonclient[all]==2.51.0 as .venv/bin/perf_analyzer) needs on a
# CPU-only Debian host, plus the benchmark's plotting: Debian `libb64-0d` (apt, as root) and the
# `perf` extra of pyproject.toml (nvidia-cuda-runtime-cu12 for libcudart.so.12, matplotlib),
# installed by their exact pins. Idempotent and quick when done; prints the LD_LIBRARY_PATH that
# perf_analyzer needs on its last line when run with --print-ld-path.
#   bash perf/install_perf_analyzer.sh [--print-ld-path]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VPY="${VPY:-$ROOT/.venv/bin/python}"

if ! ldconfig -p 2>/dev/null | grep -q 'libb64\.so\.0d'; then
  if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q libb64-0d >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q libb64-0d >/dev/null; }
  else
    echo "perf_analyzer needs Debian libb64-0d: run 'apt-get install libb64-0d' as root" >&2
    exit 1
  fi
fi

# The pins live once, in pyproject.toml's `perf` extra; install only what is missing or differs.
mapfile -t missing < <("$VPY" - "$ROOT/pyproject.toml" <<'PY'
import sys, tomllib
from importlib import metadata
pins = tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]["perf"]
for pin in pins:
    name, _, version = pin.partition("==")
    try:
        if metadata.version(name.strip()) == version.strip():
            continue
    except metadata.PackageNotFoundError:
        pass
    print(pin)
PY
)
if ((${#missing[@]})); then
  "$VPY" -m pip install --quiet "${missing[@]}"
fi

if [[ "${1:-}" == "--print-ld-path" ]]; then
  "$VPY" -c 'import nvidia.cuda_runtime, os; print(os.path.join(list(nvidia.cuda_runtime.__path__)[0], "lib"))'
fi
