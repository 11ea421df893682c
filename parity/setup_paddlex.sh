#!/usr/bin/env bash
# Create .venv-paddlex (the REAL PaddleX 3.7.2, separate from .venv: paddlex pulls
# opencv-contrib-python, which fights with .venv's opencv-python-headless over `cv2`) and seed
# PaddleX's font cache so save_to_img never tries to download fonts. Idempotent and quick when
# done: the install is skipped while a stamp keyed on requirements-paddlex.txt's hash exists.
#   bash parity/setup_paddlex.sh            # PYTHON=python3.11 by default
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
PYTHON="${PYTHON:-python3.11}"
VENV="${PADDLEX_VENV:-$ROOT/.venv-paddlex}"
REQS="$HERE/requirements-paddlex.txt"
CACHE="${PADDLE_PDX_CACHE_HOME:-$ROOT/.cache/paddlex}"
FONT_SRC="${PARITY_FONT_SRC:-/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc}"

hash="$(sha256sum "$REQS" | cut -c1-16)"
stamp="$VENV/.parity-setup-$hash"
if [[ ! -f "$stamp" ]]; then
  "$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 needed"'
  start=$SECONDS
  test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
  log="$VENV/pip-install.log"
  echo "installing PaddleX into $VENV (log: $log) ..."
  if ! { "$VENV/bin/python" -m pip install --upgrade pip \
        && "$VENV/bin/python" -m pip install -r "$REQS"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "pip install failed; see $log" >&2
    exit 1
  fi
  "$VENV/bin/python" -m pip check >>"$log" 2>&1 || echo "warning: pip check reported problems (see $log)" >&2
  rm -f "$VENV"/.parity-setup-*
  touch "$stamp"
  echo "installed in $((SECONDS - start)) s; venv size $(du -sh "$VENV" | cut -f1)"
fi

# Fonts: PaddleX looks for $PADDLE_PDX_CACHE_HOME/fonts/{simfang,PingFang-SC-Regular}.ttf and
# downloads them when absent (no network here). Any CJK font renamed will do.
if [[ ! -f "$FONT_SRC" ]]; then
  if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q fonts-wqy-zenhei >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q fonts-wqy-zenhei >/dev/null; }
  fi
fi
mkdir -p "$CACHE/fonts"
for name in simfang.ttf PingFang-SC-Regular.ttf; do
  if [[ ! -s "$CACHE/fonts/$name" ]]; then
    if [[ -f "$FONT_SRC" ]]; then
      cp "$FONT_SRC" "$CACHE/fonts/$name"
    else
      echo "warning: no CJK font at $FONT_SRC; save_to_img will try to download $name" >&2
    fi
  fi
done
echo "PaddleX venv ready: $VENV (cache: $CACHE)"
