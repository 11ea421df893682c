"""Text-line orientation (0 or 180 degrees): model input, the turn decision, the turn.

PaddleX's seal pipeline runs its OCR sub-pipeline with ``use_textline_orientation`` false, so an
upside-down arc (a stamp turned by more than about 90 degrees) is read upside down. This module
is the step PaddleX's OCR pipeline runs when that switch is on
(``paddlex/inference/pipelines/ocr/pipeline.py``): classify every rectified line image, turn the
lines of the "180 degrees" class by 180 degrees, then recognise. The option that enables it is
``use_textline_orientation`` (off by default: the result is then PaddleX's seal result).

How a line becomes a model input depends on the model and is recorded by ``make models`` in
``textline_ori/textline_ori_info.json`` (:class:`TextlineOriInfo`):

- official ``PP-LCNet_x0_25_textline_ori`` (PaddleX ``ClasPredictor`` with the model's
  ``inference.yml``): BGR -> RGB, stretched to 160 x 80 (bilinear, aspect ratio not kept),
  ``x * (1/255) / std - mean / std`` with ImageNet mean/std, labels ``0_degree``/``180_degree``,
  the top-1 class decides (no score threshold);
- stand-in ``ch_ppocr_mobile_v2.0_cls`` (``rapidocr_onnxruntime``): BGR kept, height 48 with the
  aspect ratio kept, width up to 192, right-padded with 0.0, ``(x / 255 - 0.5) / 0.5``, labels
  ``0``/``180``, turned only when the top-1 class is ``180`` with a score above 0.9 (how RapidOCR
  and PaddleOCR 2.x use that model: ``cls_thresh``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from seal_ocr.image_io import check_bgr_image

CHANNEL_ORDERS = ("BGR", "RGB")
NOT_CLASSIFIED = -1  # PaddleX's angle of a line when the step is off
UPRIGHT, TURNED = 0, 1  # PaddleX's angles when it is on: the class index, 1 = 180 degrees


def _per_channel(values: Any, name: str) -> tuple[float, float, float]:
    """Three floats, one per channel (the ``mean`` or ``std`` of ``textline_ori_info.json``)."""
    numbers = [float(value) for value in values]
    if len(numbers) != 3:
        raise ValueError(f"{name} must have 3 values, one per channel, not {numbers}")
    return numbers[0], numbers[1], numbers[2]


@dataclass(frozen=True)
class TextlineOriInfo:
    """What the ``textline_ori`` entry needs from a line image (``textline_ori_info.json``).

    input_hw: model input (h, w). keep_ratio: False stretches every line to w x h; True resizes
    to height h keeping the aspect ratio (width ``ceil(h * line_w / line_h)``, at most w) and
    right-pads with 0.0. channels: order the model reads ("BGR" as the line is, or "RGB").
    Normalisation per channel (in the order fed): ``x * (scale / std) - mean / std``.
    labels: class names; turned_class: the class meaning "turned by 180 degrees"; min_score:
    a line is turned when its top-1 class is ``turned_class`` with a score above this.
    """

    input_hw: tuple[int, int]
    keep_ratio: bool
    channels: str
    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    labels: tuple[str, ...]
    turned_class: int
    min_score: float
    source: str = ""

    def __post_init__(self) -> None:
        if self.channels not in CHANNEL_ORDERS:
            raise ValueError(f"channels must be one of {CHANNEL_ORDERS}, not {self.channels!r}")
        if not 0 <= self.turned_class < len(self.labels):
            raise ValueError(f"turned_class {self.turned_class} is not a class of {self.labels}")
        if len(self.input_hw) != 2 or min(self.input_hw) <= 0:
            raise ValueError(f"input_hw must be two positive sizes, not {self.input_hw}")

    @classmethod
    def from_file(cls, path: Path) -> TextlineOriInfo:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            input_hw=tuple(data["input_hw"]),
            keep_ratio=bool(data["keep_ratio"]),
            channels=data["channels"],
            scale=float(data["scale"]),
            mean=_per_channel(data["mean"], "mean"),
            std=_per_channel(data["std"], "std"),
            labels=tuple(str(label) for label in data["labels"]),
            turned_class=int(data["turned_class"]),
            min_score=float(data["min_score"]),
            source=data.get("source", ""),
        )

    def to_json(self) -> str:
        data = asdict(self)
        for key in ("input_hw", "mean", "std", "labels"):
            data[key] = list(data[key])
        return json.dumps(data, ensure_ascii=False, indent=2)


def _resized_width(h: int, w: int, info: TextlineOriInfo) -> int:
    height, width = info.input_hw
    if not info.keep_ratio:
        return width
    return min(math.ceil(height * w / float(h)), width)  # RapidOCR's resize_norm_img


def preprocess_textline_ori(line_bgr: np.ndarray, info: TextlineOriInfo) -> np.ndarray:
    """One rectified line image (h, w, 3) uint8 BGR -> model input (3, H, W) float32.

    (H, W) = ``info.input_hw``; see :class:`TextlineOriInfo` for the resize and normalisation.
    """
    check_bgr_image(line_bgr, "text line image")
    height, width = info.input_hw
    resized_w = _resized_width(int(line_bgr.shape[0]), int(line_bgr.shape[1]), info)
    image = np.ascontiguousarray(line_bgr)
    if image.shape[:2] != (height, resized_w):  # PaddleX skips a resize to the same size
        image = cv2.resize(image, (resized_w, height), interpolation=cv2.INTER_LINEAR)
    if info.channels == "RGB":
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    # PaddleX's Normalize: float32 channel * (scale / std) + (-mean / std)
    alpha = np.array([info.scale / s for s in info.std], np.float32)
    beta = np.array([-m / s for m, s in zip(info.mean, info.std, strict=True)], np.float32)
    norm = image.astype(np.float32) * alpha + beta
    out = np.zeros((3, height, width), np.float32)
    out[:, :, :resized_w] = norm.transpose(2, 0, 1)
    return out


def turned_lines(probs: np.ndarray, info: TextlineOriInfo) -> np.ndarray:
    """probs (N, C) float32 class scores -> (N,) bool: which lines to turn by 180 degrees.

    The top-1 class is PaddleX's ``Topk`` (last of an ``argsort``, so a tie goes to the higher
    class index); a line is turned when that class is ``info.turned_class`` and its score
    exceeds ``info.min_score``.
    """
    probs = np.asarray(probs)
    if probs.ndim != 2 or probs.shape[1] != len(info.labels):
        raise ValueError(f"probs must be (N, {len(info.labels)}), got shape {probs.shape}")
    top = probs.argsort(axis=1)[:, -1]
    score = probs[np.arange(len(probs)), top]
    return (top == info.turned_class) & (score > info.min_score)


def turn_180(line: np.ndarray) -> np.ndarray:
    """The line image turned by 180 degrees, exactly: (h, w, 3) uint8 -> (h, w, 3) uint8.

    Not PaddleX's ``rotate_image(line, 180)``: its bicubic ``warpAffine`` maps column x to
    w - x, so the turned line also moves by one pixel, row 0 and column 0 come out black and the
    line's last row and column are lost. That costs characters on short seal lines (the oval seal
    turned 180 degrees reads 现金收汽育 instead of 现金收讫章; ``python -m tools.eval.rotation
    --seals 2``: 34 synthetic lines read right instead of 43), so lines are turned exactly here;
    which lines are turned is PaddleX's decision (:func:`turned_lines`).
    """
    return cv2.rotate(line, cv2.ROTATE_180)


def orient_lines(
    lines: Sequence[np.ndarray], probs: Sequence[np.ndarray], info: TextlineOriInfo
) -> tuple[list[np.ndarray], list[int]]:
    """Turn the lines the model calls upside down; returns the lines to read and, per line,
    PaddleX's angle (``UPRIGHT`` 0 or ``TURNED`` 1 = turned by 180 degrees).

    ``probs``: one (C,) score row per line, in order.
    """
    if len(probs) != len(lines):
        raise ValueError(f"{len(probs)} orientation results for {len(lines)} lines")
    if not lines:
        return [], []
    turned = turned_lines(np.stack([np.asarray(p).reshape(-1) for p in probs]), info)
    oriented = [turn_180(line) if flip else line for line, flip in zip(lines, turned, strict=True)]
    return oriented, [TURNED if flip else UPRIGHT for flip in turned]
