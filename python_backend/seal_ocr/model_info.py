"""Facts a model entry states about itself, written by ``make models`` beside the ONNX file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


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
