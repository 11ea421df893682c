#!/usr/bin/env bash
# Make sure a CJK font exists for the client's pictures (save_to_img); PaddleX ships its own
# SimFang, we use Debian's fonts-wqy-zenhei. Idempotent; a no-op when a CJK font is present or
# SEAL_FONT_PATH points at one.
set -euo pipefail
if [[ -n "${SEAL_FONT_PATH:-}" && -f "${SEAL_FONT_PATH}" ]]; then exit 0; fi
if command -v fc-list >/dev/null && [[ -n "$(fc-list :lang=zh file 2>/dev/null)" ]]; then exit 0; fi
if ! command -v apt-get >/dev/null || [[ "$(id -u)" != 0 ]]; then
  echo "no CJK font found and cannot apt-get as root: install fonts-wqy-zenhei or set SEAL_FONT_PATH" >&2
  exit 0  # only the pictures need it; they fail later with the same hint
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q fonts-wqy-zenhei >/dev/null 2>&1 \
  || { apt-get update -q >/dev/null && apt-get install -y -q fonts-wqy-zenhei >/dev/null; }
echo "installed fonts-wqy-zenhei"
