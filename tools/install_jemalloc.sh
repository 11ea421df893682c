#!/usr/bin/env bash
# jemalloc for the embedded server's processes (the launcher preloads it when present): glibc's
# heap kept the freed blocks of varying page and crop sizes in long-lived stubs, so their RSS
# crept up over a 30-minute soak (docs/robustness.md). Idempotent; a warning when it cannot run.
set -euo pipefail
for dir in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib; do
  [[ -e "$dir/libjemalloc.so.2" ]] && exit 0
done
if ! command -v apt-get >/dev/null || [[ "$(id -u)" != 0 ]]; then
  echo "libjemalloc2 not found and cannot apt-get as root: the server runs on glibc malloc" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q libjemalloc2 >/dev/null 2>&1 \
  || { apt-get update -q >/dev/null && apt-get install -y -q libjemalloc2 >/dev/null; }
echo "installed libjemalloc2"
