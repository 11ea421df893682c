"""Benchmark leg (c): the real PaddleX 3.7.2 ``seal_recognition`` pipeline, one image at a time.

Runs inside ``.venv-paddlex`` (``parity/setup_paddlex.sh``) on the model folders of
``parity/build_paddlex_models.py``, which link the very ONNX files the Triton repository
serves (layout: the served file with its per-image padding removed, the same nodes and weights
up to the export's own outputs), with ``engine="onnxruntime"`` and the doc preprocessor off;
images are given as file paths (PaddleX reads and decodes them itself, as a user would).
Nothing is captured or written per image: this is the plain ``predict`` loop. One warm-up image
first (not timed). Writes JSON:
``{"per_image_seconds": {name: s}, "total_seconds", "create_seconds", "versions"}``::

    .venv-paddlex/bin/python perf/bench_paddlex.py --out OUT.json [--no-layout] IMAGE...
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ["PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK"] = "True"
os.environ.setdefault("PADDLE_PDX_CACHE_HOME", str(ROOT / ".cache" / "paddlex"))
sys.path.insert(0, str(ROOT / "parity"))
from build_paddlex_models import DEFAULT_OUT, create_seal_pipeline, predict_image  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--models", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-layout", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="passes over the images")
    args = parser.parse_args(argv)

    import onnxruntime
    import paddlex

    use_layout = not args.no_layout
    t0 = time.perf_counter()
    pipeline = create_seal_pipeline(args.models.resolve(), use_layout)
    create_s = time.perf_counter() - t0

    def predict(path: Path) -> int:
        results = predict_image(pipeline, path, use_layout)
        return sum(len(r["seal_res_list"]) for r in results)

    predict(args.images[0])  # warm-up: first-call allocations of each ONNX session
    per_image: dict[str, list[float]] = {}
    started = time.perf_counter()
    for _ in range(args.repeat):
        for path in args.images:
            t1 = time.perf_counter()
            predict(path)
            per_image.setdefault(path.name, []).append(time.perf_counter() - t1)
            print(f"paddlex {path.name}: {per_image[path.name][-1]:.2f} s", flush=True)
    total = time.perf_counter() - started
    args.out.write_text(
        json.dumps(
            {
                "per_image_seconds": per_image,
                "total_seconds": total,
                "create_seconds": create_s,
                "layout": use_layout,
                "versions": {
                    "paddlex": paddlex.__version__,
                    "onnxruntime": onnxruntime.__version__,
                },
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
