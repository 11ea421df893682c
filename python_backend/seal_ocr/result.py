"""The result JSON: PaddleX 3.x ``SealRecognitionResult.json["res"]`` plus page-frame extras.

PaddleX keys and their order follow ``docs/pipeline.md`` §8. Two additions make the
result usable without re-deriving page coordinates (PaddleX keeps seal polygons in crop pixels):

- ``seal_boxes``: [x1, y1, x2, y2] of each seal region in page pixels (the crop rectangle is
  ``int()`` of these), one per ``seal_res_list`` entry;
- ``texts``: every kept text line, flat over the page, ``{seal_index, poly, text, score}`` with
  ``poly`` in page pixels (crop polygon + ``(int(x1), int(y1))``), like PaddleX 3.0.0b2's
  ``texts``.

With the option ``use_textline_orientation`` (ours; PaddleX's seal pipeline keeps the step off)
each seal's ``model_settings.use_textline_orientation`` is true and its
``textline_orientation_angles`` holds, per detected polygon, what PaddleX's OCR pipeline reports
with the step on: 0 (read as it came out of the warp) or 1 (turned by 180 degrees first). Off
(the default) both stay PaddleX's seal values: false and -1 per polygon.

The schema is ``schemas/result.schema.json`` (loaded by :func:`result_schema`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from seal_ocr import doc_ori
from seal_ocr.params import PipelineOptions
from seal_ocr.textline_ori import NOT_CLASSIFIED

SCHEMA_PATH = Path(__file__).with_name("schemas") / "result.schema.json"


@dataclass(frozen=True)
class SealText:
    """One recognised line of one seal, crop pixels (as PaddleX reports it)."""

    poly: np.ndarray  # (n, 2) int32, seal-crop pixels
    text: str
    score: float


def _poly_json(poly: np.ndarray, offset: tuple[int, int] = (0, 0)) -> list[list[int]]:
    return (np.asarray(poly, np.int64) + np.asarray(offset, np.int64)).tolist()


def seal_result_json(
    options: PipelineOptions,
    dt_polys: Sequence[np.ndarray],
    lines: Sequence[SealText],
    angles: Sequence[int] | None = None,
) -> dict[str, Any]:
    """One ``seal_res_list`` entry (PaddleX OCRResult JSON for ``text_type == "seal"``).

    ``dt_polys`` are all detected polygons; ``lines`` the recognised ones kept by the score
    filter, in detection order; ``angles`` the orientation of each polygon (0 or 1), None when
    the step did not run (then -1 each, as PaddleX).
    """
    if angles is None:
        angles = [NOT_CLASSIFIED] * len(dt_polys)
    elif len(angles) != len(dt_polys):
        raise ValueError(f"{len(angles)} angles for {len(dt_polys)} polygons")
    return {
        "input_path": None,
        "page_index": None,
        "model_settings": {
            "use_doc_preprocessor": False,
            "use_textline_orientation": options.use_textline_orientation,
        },
        "dt_polys": [_poly_json(poly) for poly in dt_polys],
        "text_det_params": options.seal_det.as_text_det_params(),
        "text_type": "seal",
        "textline_orientation_angles": [int(angle) for angle in angles],
        "text_rec_score_thresh": options.seal_rec_score_thresh,
        "rec_texts": [line.text for line in lines],
        "rec_scores": [float(line.score) for line in lines],
        "rec_polys": [_poly_json(line.poly) for line in lines],
        "rec_boxes": [],
    }


def build_result(
    options: PipelineOptions,
    layout_boxes: list[dict[str, Any]] | None,
    seal_boxes: np.ndarray,
    dt_polys_per_seal: Sequence[Sequence[np.ndarray]],
    lines_per_seal: Sequence[Sequence[SealText]],
    angles_per_seal: Sequence[Sequence[int]] | None = None,
    doc_angle: int = doc_ori.NOT_CLASSIFIED,
) -> dict[str, Any]:
    """Assemble the page result.

    layout_boxes: PaddleX box dicts of every class, or None when layout detection was off;
    seal_boxes: (S, 4) float page pixels; the per-seal sequences have S entries;
    angles_per_seal: each polygon's orientation (0 or 1), None when the step did not run;
    doc_angle: the page's angle when ``use_doc_orientation_classify`` turned it (with either
    preprocessor option ``doc_preprocessor_res`` follows ``model_settings``, as PaddleX writes
    it).
    """
    if not (len(seal_boxes) == len(dt_polys_per_seal) == len(lines_per_seal)):
        raise ValueError("one seal box, polygon list and line list per seal expected")
    per_seal_angles: Sequence[Sequence[int] | None] = (
        [None] * len(seal_boxes) if angles_per_seal is None else angles_per_seal
    )
    if len(per_seal_angles) != len(seal_boxes):
        raise ValueError("one angle list per seal expected")
    preprocessed = options.use_doc_orientation_classify or options.use_doc_unwarping
    result: dict[str, Any] = {
        "input_path": None,
        "page_index": None,
        "model_settings": {
            "use_doc_preprocessor": preprocessed,
            "use_layout_detection": options.use_layout_detection,
        },
    }
    if preprocessed:
        result["doc_preprocessor_res"] = doc_ori.doc_preprocessor_json(
            doc_angle, options.use_doc_orientation_classify, options.use_doc_unwarping
        )
    if layout_boxes is not None:
        result["layout_det_res"] = {"input_path": None, "page_index": None, "boxes": layout_boxes}
    result["seal_res_list"] = [
        seal_result_json(options, polys, lines, angles)
        for polys, lines, angles in zip(
            dt_polys_per_seal, lines_per_seal, per_seal_angles, strict=True
        )
    ]
    result["seal_boxes"] = [[float(v) for v in box] for box in np.asarray(seal_boxes).tolist()]
    result["texts"] = [
        {
            "seal_index": seal_index,
            "poly": _poly_json(line.poly, (int(box[0]), int(box[1]))),
            "text": line.text,
            "score": float(line.score),
        }
        for seal_index, (box, lines) in enumerate(zip(seal_boxes, lines_per_seal, strict=True))
        for line in lines
    ]
    return result


def dumps(result: dict[str, Any]) -> bytes:
    """UTF-8 JSON bytes (CJK kept as characters, not ``\\u`` escapes)."""
    return json.dumps(result, ensure_ascii=False).encode("utf-8")


@cache
def result_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :func:`build_result`'s output."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
