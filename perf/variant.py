"""Tuning experiments: a copy of the model repository with other ONNX-entry instance counts and
ORT intra-op threads (``configs/cpu.pbtxt``) and other dynamic-batching queue delays, for
``python -m perf.bench --model-repository <copy>``; the source repository is never modified::

    .venv/bin/python -m perf.variant OUT text_rec=2x1 seal_det=1x2 [delay=2000]
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from perf.common import MODEL_REPOSITORY


def make_variant(out: Path, specs: list[str]) -> Path:
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(MODEL_REPOSITORY, out, ignore=shutil.ignore_patterns("__pycache__"))
    for spec in specs:
        key, _, value = spec.partition("=")
        if key == "delay":
            for path in out.glob("*/configs/cpu.pbtxt"):
                text = re.sub(
                    r"max_queue_delay_microseconds: \d+",
                    f"max_queue_delay_microseconds: {int(value)}",
                    path.read_text(),
                )
                path.write_text(text)
            continue
        count, threads = (int(x) for x in value.split("x"))
        path = out / key / "configs" / "cpu.pbtxt"
        text = re.sub(
            r"kind: KIND_CPU count: \d+", f"kind: KIND_CPU count: {count}", path.read_text()
        )
        text = re.sub(
            r'(intra_op_thread_count" value: \{ string_value: )"\d+"', rf'\g<1>"{threads}"', text
        )
        path.write_text(text)
    return out


if __name__ == "__main__":
    make_variant(Path(sys.argv[1]), sys.argv[2:])
