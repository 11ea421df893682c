"""Copies of the model repository with other queue policies and instance counts, and the
admission settings a repository ships."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from seal_ocr import tensor_names as names

PYTHON_STEPS = names.PYTHON_STEPS
ONNX_ENTRIES = names.ONNX_MODELS
_POLICY_RE = re.compile(r"default_queue_policy\s*\{[^}]*\}")
_TIMEOUT_RE = re.compile(r"default_timeout_microseconds:\s*(\d+)")
_QUEUE_RE = re.compile(r"max_queue_size:\s*(\d+)")
_COUNT_RE = re.compile(r"(?<=KIND_CPU )count:\s*\d+")


@dataclass(frozen=True)
class QueuePolicy:
    """``default_queue_policy`` values: ``timeout_s`` None = no queue timeout, ``max_queue_size``
    0 = unlimited (Triton's meaning of 0)."""

    max_queue_size: int
    timeout_s: float | None

    def __str__(self) -> str:
        size = self.max_queue_size or "unlimited"
        timeout = "none" if self.timeout_s is None else f"{self.timeout_s:g} s"
        return f"max_queue_size {size}, queue timeout {timeout}"

    def pbtxt(self) -> str:
        timeout = ""
        if self.timeout_s is not None:
            micros = round(self.timeout_s * 1e6)
            timeout = f"timeout_action: REJECT default_timeout_microseconds: {micros} "
        return f"default_queue_policy {{ {timeout}max_queue_size: {self.max_queue_size} }}"


def read_queue_policy(repository: Path, model: str) -> QueuePolicy | None:
    """The queue policy the CPU server uses for ``model`` (configs/cpu.pbtxt, else config.pbtxt);
    None when it has none."""
    path = repository / model / "configs" / "cpu.pbtxt"
    if not path.is_file():
        path = repository / model / "config.pbtxt"
    text = "\n".join(line.split("#", 1)[0] for line in path.read_text().splitlines())
    block = _POLICY_RE.search(text)
    if block is None:
        return None
    size, timeout = _QUEUE_RE.search(block.group()), _TIMEOUT_RE.search(block.group())
    return QueuePolicy(
        int(size.group(1)) if size else 0,
        int(timeout.group(1)) / 1e6 if timeout and int(timeout.group(1)) else None,
    )


def read_max_in_flight(repository: Path) -> int:
    """decode_page's admission cap in ``repository`` (0 = none)."""
    text = (repository / names.DECODE_PAGE / "config.pbtxt").read_text()
    match = re.search(r'key: "max_in_flight" value: \{ string_value: "(\d+)" \}', text)
    return int(match.group(1)) if match else 0


def read_backlog(repository: Path) -> int:
    """Requests that wait for an admission slot in ``repository`` before any is refused:
    decode_page's queue (``max_queue_size``) + one waiting in each of its instances."""
    policy = read_queue_policy(repository, names.DECODE_PAGE)
    text = (repository / names.DECODE_PAGE / "config.pbtxt").read_text()
    counts = _COUNT_RE.findall(text.split("instance_group", 1)[-1].split("]")[0])
    instances = sum(int(c.split(":")[-1]) for c in counts) or 1
    return (policy.max_queue_size if policy else 0) + instances


def copy_repository(
    source: Path,
    destination: Path,
    steps: QueuePolicy | None = None,
    onnx: QueuePolicy | None = None,
    instances: dict[str, int] | None = None,
) -> Path:
    """Copy a model repository (~25 MB) and replace the ``default_queue_policy`` of its Python
    steps (``steps``) and/or ONNX entries (``onnx``, every config variant), and the instance
    ``count`` of the models in ``instances``. The source is never modified. Returns
    ``destination``."""
    shutil.copytree(
        source, destination, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=False
    )
    for models, policy in ((PYTHON_STEPS, steps), (ONNX_ENTRIES, onnx)):
        if policy is None:
            continue
        for model in models:
            for path in (destination / model).glob("**/*.pbtxt"):
                text = path.read_text()
                if _POLICY_RE.search(text):
                    path.write_text(_POLICY_RE.sub(policy.pbtxt(), text))
    for model, count in (instances or {}).items():
        for path in (destination / model).glob("**/*.pbtxt"):
            text = _COUNT_RE.sub(f"count: {count}", path.read_text())
            path.write_text(text)
    return destination
