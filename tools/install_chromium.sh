#!/usr/bin/env bash
# Debian's chromium for the browser test of the gateway's page (tests/integration/test_web_page.py
# drives it with Playwright; Playwright's own browser download is never used: no host but the
# package registries is reachable). Idempotent: a no-op when /usr/bin/chromium is there.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then exit 0; fi
if ! command -v apt-get >/dev/null || [[ "$(id -u)" != 0 ]]; then
  echo "chromium not found and cannot apt-get as root: the browser test will fail; install chromium" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 \
  || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium >/dev/null; }
echo "installed chromium ($(/usr/bin/chromium --version 2>/dev/null || echo '?'))"
