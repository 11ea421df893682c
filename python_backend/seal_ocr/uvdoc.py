"""Page unwarping (option ``use_doc_unwarping``): UVDoc's input and output, as PaddleX runs it.

PaddleX's document preprocessor, after the orientation turn, runs ``UVDoc`` on the page
(``paddlex/inference/models/image_unwarping/predictor.py``): the page as read (BGR) times 1/255
in float32, CHW, one page per call; the network resamples the page itself (``grid_sample``) and
returns it at its own size; ``DocTrPostProcess`` multiplies by 255, reverses the channels and
casts to uint8 (truncating), and the preprocessor reverses the channels again, so the page that
layout detection sees is the network's output x 255, truncated, in BGR. The ``uvdoc`` entry
holds the converted network (docs/pipeline.md §10.4); the offline repository holds a
placeholder (``available`` false in ``uvdoc/uvdoc_info.json``) and refuses the option.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from seal_ocr.errors import InvalidOptionError

_SCALE = np.float32(1.0 / 255.0)  # PaddleX's Normalize alpha (scale / std, std 1) in float32


@dataclass(frozen=True)
class UVDocInfo:
    """What the ``uvdoc`` entry holds: ``available`` False for the offline placeholder."""

    available: bool = True
    source: str = ""

    @classmethod
    def from_file(cls, path: Path) -> UVDocInfo:
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)


def require_model(info: UVDocInfo) -> None:
    """Refuse the option (per request) when the entry holds the offline placeholder."""
    if not info.available:
        raise InvalidOptionError(
            "option 'use_doc_unwarping': this model repository has no UVDoc model (the offline "
            "stand-ins include none); `make models UVDOC=UVDoc` installs it "
            "(docs/pipeline.md §10.4)"
        )


def uvdoc_input(page: np.ndarray) -> np.ndarray:
    """(3, H, W) float32 model input of an (H, W, 3) uint8 BGR page."""
    return (page.astype(np.float32) * _SCALE).transpose(2, 0, 1).copy()


def uvdoc_output(pred: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 BGR page from the model's (3, H, W) output, as PaddleX makes it."""
    return (pred.transpose(1, 2, 0) * np.float32(255.0)).astype(np.uint8)
