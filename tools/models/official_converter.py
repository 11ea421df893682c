"""The real paddle2onnx, in its own venv (``.cache/venv-official``, the ``official`` extra)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from tools.models.official_catalog import OfficialModelError

REPO_ROOT = Path(__file__).resolve().parents[2]
CONVERTER_SCRIPT = Path(__file__).with_name("paddle_convert.py")
DEFAULT_CONVERTER_VENV = REPO_ROOT / ".cache" / "venv-official"
OPSET = 16


def converter_python(venv: Path = DEFAULT_CONVERTER_VENV) -> Path:
    return venv / "bin" / "python"


def official_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The ``official`` extra of pyproject.toml: the pins of the converter venv."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return list(data["project"]["optional-dependencies"]["official"])


def ensure_converter_venv(venv: Path = DEFAULT_CONVERTER_VENV) -> Path:
    """Create ``.cache/venv-official`` with the ``official`` extra's pins; quick when up to date."""
    requirements = official_requirements()
    stamp = venv / f".official-{hashlib.sha256('|'.join(requirements).encode()).hexdigest()[:12]}"
    if stamp.exists():
        return converter_python(venv)
    print(f"installing paddle2onnx + PaddlePaddle (CPU) into {venv} ...", file=sys.stderr)
    if not converter_python(venv).exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    log = venv / "pip-install.log"
    with open(log, "w") as out:
        result = subprocess.run(
            [str(converter_python(venv)), "-m", "pip", "install", *requirements],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if result.returncode != 0:
        raise OfficialModelError(f"installing {requirements} into {venv} failed; see {log}")
    for old in venv.glob(".official-*"):
        old.unlink()
    stamp.touch()
    return converter_python(venv)


def convert(python: Path, model_dir: Path, out: Path) -> dict[str, Any]:
    """Run paddle_convert.py in the converter venv; returns the parsed inference.yml."""
    out.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(python), str(CONVERTER_SCRIPT), str(model_dir.resolve()), str(out.resolve()),
         "--opset", str(OPSET)],
        capture_output=True,
        text=True,
        cwd=out.parent,  # paddle2onnx's shape inference leaves temporary files in its cwd
    )  # fmt: skip
    if result.returncode != 0:
        raise OfficialModelError(
            f"conversion of {model_dir.name} failed:\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return json.loads(Path(f"{out}.yml.json").read_text(encoding="utf-8"))
