"""Convert one extracted PaddleX inference model to ONNX; runs in ``.cache/venv-official``.

Standalone on purpose (no project imports): ``tools.models.official`` runs it with the converter
venv's interpreter, because ``paddle2onnx`` pins ``onnx<=1.17`` and needs PaddlePaddle, neither of
which may enter ``.venv``. It

1. reads ``inference.yml`` (PyYAML) and writes it as ``<out>.yml.json`` for the caller;
2. runs the real ``paddle2onnx`` command line of this venv on ``inference.json`` (PaddlePaddle 3
   PIR program) or ``inference.pdmodel`` (older programs) with ``inference.pdiparams``; a
   directory holding ``inference.onnx`` instead (a local model given as an ONNX file,
   ``tools.models.official_local``) is already converted and is copied as it is.

    .cache/venv-official/bin/python tools/models/paddle_convert.py MODEL_DIR OUT.onnx [--opset 16]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

PROGRAM_FILES = ("inference.json", "inference.pdmodel")  # PIR (Paddle 3) first, then legacy
PARAMS_FILE = "inference.pdiparams"
ONNX_FILE = "inference.onnx"  # a model that is ONNX already (exported by the user)
CONFIG_FILE = "inference.yml"


def convert(model_dir: Path, out: Path, opset: int) -> None:
    import yaml

    config = yaml.safe_load((model_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    out.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{out}.yml.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")

    program = next((name for name in PROGRAM_FILES if (model_dir / name).exists()), None)
    if program is None and (model_dir / ONNX_FILE).exists():
        shutil.copyfile(model_dir / ONNX_FILE, out)
        return
    if program is None:
        raise SystemExit(f"{model_dir}: none of {PROGRAM_FILES} or {ONNX_FILE} found")
    command = [
        str(Path(sys.executable).parent / "paddle2onnx"),
        "--model_dir", str(model_dir),
        "--model_filename", program,
        "--params_filename", PARAMS_FILE,
        "--save_file", str(out),
        "--opset_version", str(opset),
        "--enable_onnx_checker", "True",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not out.exists():
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"paddle2onnx failed on {model_dir} (exit {result.returncode})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--opset", type=int, default=16)
    args = parser.parse_args(argv)
    convert(args.model_dir, args.out, args.opset)
    return 0


if __name__ == "__main__":
    sys.exit(main())
