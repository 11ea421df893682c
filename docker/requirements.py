"""Print the image's pip requirements from pyproject.toml, the one place pins live.

The base dependencies plus the given extras, minus the excluded projects (the GPU image has the
container's own tritonserver and ONNX Runtime backend, so it leaves out nvidia-pytriton,
onnxruntime and onnx). Used by docker/Dockerfile; stdlib only.

    python3.11 docker/requirements.py --extra server --exclude nvidia-pytriton onnxruntime onnx
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path


def requirements(pyproject: Path, extras: list[str], exclude: list[str]) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    wanted = list(project["dependencies"])
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    excluded = {name.lower() for name in exclude}
    return [r for r in wanted if re.split(r"[\[=<>~! ;]", r, maxsplit=1)[0].lower() not in excluded]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pyproject", type=Path, default=Path(__file__).parents[1] / "pyproject.toml"
    )
    parser.add_argument("--extra", nargs="*", default=[])
    parser.add_argument("--exclude", nargs="*", default=[])
    args = parser.parse_args(argv)
    print("\n".join(requirements(args.pyproject, args.extra, args.exclude)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
