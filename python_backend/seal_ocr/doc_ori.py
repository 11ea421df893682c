"""Page orientation (option ``use_doc_orientation_classify``): model input, angle, rotation.

PaddleX's document preprocessor (``paddlex/inference/pipelines/doc_preprocessor/pipeline.py``)
classifies the whole page with ``PP-LCNet_x1_0_doc_ori`` (0/90/180/270 degrees), takes the
top-1 label as the angle and turns the page with ``rotate_image``; layout detection and every
later coordinate are in the turned page's frame, and the result reports the angle in
``doc_preprocessor_res``. The classifier runs as PaddleX's ``ClasPredictor`` with the model's
``inference.yml``, recorded by ``make models`` in ``doc_ori/doc_ori_info.json``
(:class:`DocOriInfo`): the page read as RGB, its short side resized to ``resize_short``
(bilinear, sides rounded), the centre ``crop`` x ``crop`` cut out, ``(x * scale - mean) / std``
per channel, CHW.

The offline repository holds no orientation model: its ``doc_ori`` entry is a placeholder
(``available`` false) and a request that asks for the option is refused, naming the command that
installs the model.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from seal_ocr.errors import InvalidOptionError

NOT_CLASSIFIED = -1  # PaddleX's angle when the option is off
ANGLES = (0, 90, 180, 270)  # what PaddleX's rotate_image accepts from the classifier


@dataclass(frozen=True)
class DocOriInfo:
    """What the ``doc_ori`` entry needs from a page and what its classes mean.

    resize_short: the page's short side after resizing; crop: side of the centre square fed
    (model input 3 x crop x crop, RGB). Normalisation per RGB channel: ``(x * scale - mean) /
    std``. labels: class names, each an angle in degrees (PaddleX's ``int(label)``).
    available: False for the offline placeholder (no orientation model installed).
    """

    resize_short: int = 256
    crop: int = 224
    scale: float = 1 / 255
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    labels: tuple[str, ...] = ("0", "90", "180", "270")
    available: bool = True
    source: str = ""

    def __post_init__(self) -> None:
        if any(int(label) not in ANGLES for label in self.labels):
            raise ValueError(f"doc_ori labels {self.labels} must be angles among {ANGLES}")

    @classmethod
    def from_file(cls, path: Path) -> DocOriInfo:
        data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        for key in ("mean", "std", "labels"):
            data[key] = tuple(data[key])
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)


def require_model(info: DocOriInfo) -> None:
    """Refuse the option (per request) when the entry holds the offline placeholder."""
    if not info.available:
        raise InvalidOptionError(
            "option 'use_doc_orientation_classify': this model repository has no page "
            "orientation model (the offline stand-ins include none); `make models "
            "SOURCE=official` or `make models DOC_ORI=PP-LCNet_x1_0_doc_ori` installs it "
            "(docs/pipeline.md §10.4)"
        )


def doc_ori_input(page: np.ndarray, info: DocOriInfo) -> np.ndarray:
    """(3, crop, crop) float32 model input of an (H, W, 3) uint8 BGR page, as PaddleX's
    ``ClasPredictor`` makes it (module doc)."""
    rgb = cv2.cvtColor(page, cv2.COLOR_BGR2RGB)
    height, width = rgb.shape[:2]
    ratio = info.resize_short / min(height, width)
    size = (round(width * ratio), round(height * ratio))  # (w, h), Python rounding as PaddleX
    if size != (width, height):
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)
    height, width = rgb.shape[:2]
    if height < info.crop or width < info.crop:
        raise ValueError(f"page resized to {width} x {height} is smaller than {info.crop}")
    x1, y1 = (width - info.crop) // 2, (height - info.crop) // 2
    crop = rgb[y1 : y1 + info.crop, x1 : x1 + info.crop].astype(np.float32)
    mean = np.array(info.mean, np.float32)
    std = np.array(info.std, np.float32)
    return ((crop * np.float32(info.scale) - mean) / std).transpose(2, 0, 1).copy()


def angle_of(probs: np.ndarray, info: DocOriInfo) -> int:
    """The page's angle in degrees from one (C,) score vector: PaddleX's top-1 label."""
    return int(info.labels[int(np.argmax(probs))])


def rotate_page(page: np.ndarray, angle: int) -> np.ndarray:
    """PaddleX's ``rotate_image``: the page turned counter-clockwise by ``angle`` degrees on a
    canvas that holds it (bicubic ``warpAffine`` about the centre). For 180 degrees this maps
    pixel x to ``w - x``, not ``w - 1 - x``: the page moves by one pixel and a zero row and
    column appear on the top and left, as in PaddleX."""
    if angle not in ANGLES:
        raise ValueError(f"angle must be one of {ANGLES}, not {angle}")
    if angle == 0:
        return page
    height, width = page.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[0, 2] += (new_w - width) / 2
    matrix[1, 2] += (new_h - height) / 2
    return cv2.warpAffine(page, matrix, (new_w, new_h), flags=cv2.INTER_CUBIC)


def doc_preprocessor_json(angle: int, classified: bool, unwarped: bool) -> dict[str, Any]:
    """PaddleX 3.x's ``doc_preprocessor_res`` of a preprocessed page; ``angle`` is -1 when the
    orientation was not ``classified``."""
    return {
        "input_path": None,
        "page_index": None,
        "model_settings": {
            "use_doc_orientation_classify": classified,
            "use_doc_unwarping": unwarped,
        },
        "angle": int(angle) if classified else NOT_CLASSIFIED,
    }
