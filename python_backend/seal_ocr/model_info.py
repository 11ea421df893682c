"""Facts a model entry states about itself, written by ``make models`` beside the ONNX file."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from seal_ocr import tensor_names as names


@dataclass(frozen=True)
class LayoutInfo:
    """What the layout model entry says about itself (``layout/layout_info.json``)."""

    labels: tuple[str, ...]
    seal_label: str
    input_hw: tuple[int, int]
    source: str = ""

    @classmethod
    def from_file(cls, path: Path) -> LayoutInfo:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            labels=tuple(data["labels"]),
            seal_label=data["seal_label"],
            input_hw=tuple(data["input_hw"]),
            source=data.get("source", ""),
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "labels": list(self.labels),
                "seal_label": self.seal_label,
                "input_hw": list(self.input_hw),
                "source": self.source,
            },
            ensure_ascii=False,
            indent=2,
        )


@dataclass(frozen=True)
class ModelRecord:
    """Which model one ONNX entry holds (one value of ``models.json`` at the repository root).

    ``source`` is ``official`` (a PaddleX archive), ``local`` (the user's own inference directory
    or ONNX file, ``make models SEAL_DET=...``) or ``stand-in`` (the offline wheels); ``origin``
    is the archive URL, the local path or the wheel; ``sha256`` that of the archive or of the
    local model's files ("" for stand-ins); ``base_model`` the yml's ``Global.model_name`` of a
    local model (what it was fine-tuned from), else "".
    """

    model: str
    source: str
    origin: str
    sha256: str = ""
    base_model: str = ""

    def describe(self) -> str:
        """One line for people: ``name (source[, from base])``."""
        base = f", from {self.base_model}" if self.base_model else ""
        where = f": {self.origin}" if self.source == "local" else ""
        return f"{self.model} ({self.source}{base}{where})"


def read_model_records(repository: Path) -> dict[str, ModelRecord]:
    """Entry name -> record; empty when ``make models`` wrote none (a repository built before)."""
    path = Path(repository) / names.MODELS_FILE
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {entry: ModelRecord(**record) for entry, record in data.items()}


def write_model_records(repository: Path, records: Mapping[str, ModelRecord]) -> None:
    """Write ``models.json``, entries sorted so a rebuild gives the same bytes."""
    data = {entry: asdict(records[entry]) for entry in sorted(records)}
    (Path(repository) / names.MODELS_FILE).write_text(
        json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8"
    )


def describe_models(records: Mapping[str, ModelRecord]) -> str:
    """``entry model (source), ...`` for the server's start message; "" without records."""
    return ", ".join(f"{entry} {records[entry].describe()}" for entry in sorted(records))
