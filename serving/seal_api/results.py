"""One page of the response: the ensemble's result JSON in PaddleX serving's shape.

PaddleX 3.x (``basic_serving/_pipeline_apps/seal_recognition.py``): ``prunedResult`` is the
result JSON without any ``input_path`` / ``page_index`` key (recursively); ``outputImages`` is
``res.img`` (``layout_det_res`` when layout ran, ``seal_res_region<N>`` per seal) and
``inputImage`` the page, all base64 JPEG no larger than 2000 x 2000; with visualisation off
both are absent (PaddleX sends null and drops nulls). The seed API (3.0.0b2) adds ``texts``
(every line, page pixels), ``layoutImage`` (the layout picture) and ``ocrImage`` (the page's
OCR picture: lines outlined on the left, texts on the right). Ours, on request only:
``details`` (:func:`page_details`).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from seal_client import visualize
from seal_client.inputs import Page
from seal_client.result import SealResult
from seal_ocr.pipeline import line_images
from seal_ocr.textline_ori import TURNED, turn_180

PRUNED_KEYS = frozenset({"input_path", "page_index"})
# our additions to PaddleX's result JSON: served as the page's ``texts``, not in prunedResult
EXTENSION_KEYS = ("seal_boxes", "texts")
LAYOUT_PICTURE = "layout_det_res"


def prune_result(value: Any) -> Any:
    """``value`` without any ``input_path`` / ``page_index`` key, at every depth."""
    if isinstance(value, dict):
        return {k: prune_result(v) for k, v in value.items() if k not in PRUNED_KEYS}
    if isinstance(value, list):
        return [prune_result(item) for item in value]
    return value


def pruned_result(result: dict[str, Any]) -> dict[str, Any]:
    """PaddleX's ``prunedResult`` of one page: its result JSON, our extension keys dropped."""
    return prune_result({k: v for k, v in result.items() if k not in EXTENSION_KEYS})


def seed_texts(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The seed's ``texts``: ``{poly, text, score}`` of every kept line, ``poly`` in page px."""
    return [
        {"poly": line["poly"], "text": line["text"], "score": line["score"]}
        for line in result["texts"]
    ]


def fit_within(image: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink (never enlarge) to fit ``max_side`` x ``max_side``, keeping the aspect ratio."""
    height, width = image.shape[:2]
    if width <= max_side and height <= max_side:
        return image
    factor = max_side / max(width, height)
    size = (max(1, int(factor * width)), max(1, int(factor * height)))
    return cv2.resize(image, size)


def jpeg_base64(image: np.ndarray, max_side: int) -> str:
    """Base64 of the JPEG of a BGR picture, shrunk to ``max_side`` first (PaddleX's output)."""
    ok, encoded = cv2.imencode(".jpg", fit_within(image, max_side))
    if not ok:
        raise ValueError(f"cannot encode a picture of shape {image.shape} as JPEG")
    return base64.b64encode(encoded.tobytes()).decode("ascii")


def png_base64(image: np.ndarray) -> str:
    """Base64 of the PNG of a BGR picture (lossless: the line exactly as the recogniser read it)."""
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"cannot encode a picture of shape {image.shape} as PNG")
    return base64.b64encode(encoded.tobytes()).decode("ascii")


def page_details(page: Page, image: np.ndarray, result: dict[str, Any]) -> dict[str, Any]:
    """The request's ``details`` of one page (schema ``PageDetails``).

    ``image``: the page (H, W, 3) uint8 BGR. The line images are remade by the server's own
    warp (:func:`seal_ocr.pipeline.line_images`) from each seal's kept polygons (``rec_polys``,
    seal-region pixels), so they follow ``texts``, which lists the seals' kept lines in order.
    """
    boxes = np.asarray(result["seal_boxes"], dtype=np.float64).reshape(-1, 4)
    kept = [
        [np.asarray(poly, dtype=np.int32) for poly in seal["rec_polys"]]
        for seal in result["seal_res_list"]
    ]
    turned = [flag for seal in result["seal_res_list"] for flag in kept_lines_turned(seal)]
    lines = line_images(image, boxes, kept)
    return {
        "pageNumber": 1 if page.page_index is None else page.page_index + 1,
        "sealBoxes": result["seal_boxes"],
        "lineImages": [
            png_base64(turn_180(line) if flip else line)
            for line, flip in zip(lines, turned, strict=True)
        ],
    }


def kept_lines_turned(seal: dict[str, Any]) -> list[bool]:
    """Per kept line of one seal result (``rec_polys``), whether ``use_textline_orientation``
    turned it by 180 degrees before it was read.

    ``textline_orientation_angles`` has one entry per detected polygon (``dt_polys``); the kept
    polygons are a subsequence of those, in order, so each takes the angle of the next equal one.
    """
    angles = seal.get("textline_orientation_angles") or []
    detected = iter(zip(seal["dt_polys"], angles, strict=False))
    flags: list[bool] = []
    for poly in seal["rec_polys"]:
        flags.append(next((angle == TURNED for d, angle in detected if d == poly), False))
    return flags


def ocr_picture(page: np.ndarray, texts: list[dict[str, Any]], font: Path) -> np.ndarray:
    """The seed's ``ocrImage``: the whole page drawn as PaddleX draws a seal region."""
    polys = [line["poly"] for line in texts]
    return visualize.draw_seal_region(page, polys, [line["text"] for line in texts], font)


def page_result(
    page: Page,
    result: dict[str, Any],
    *,
    font: Path | None,
    max_side: int,
    details: bool = False,
) -> dict[str, Any]:
    """One ``sealRecResults`` entry; ``font`` None means no pictures (visualize off);
    ``details`` adds :func:`page_details` (not PaddleX)."""
    texts = seed_texts(result)
    entry: dict[str, Any] = {"texts": texts, "prunedResult": pruned_result(result)}
    seal_result = SealResult.from_server(page, result)
    if details:
        entry["details"] = page_details(page, seal_result.image, result)
    if font is None:
        return entry
    pictures = {
        key: jpeg_base64(picture, max_side) for key, picture in seal_result.pictures(font).items()
    }
    input_image = jpeg_base64(seal_result.image, max_side)
    entry["outputImages"] = pictures
    entry["inputImage"] = input_image
    # without layout detection there is no layout picture: the seed's field gets the bare page
    entry["layoutImage"] = pictures.get(LAYOUT_PICTURE, input_image)
    entry["ocrImage"] = jpeg_base64(ocr_picture(seal_result.image, texts, font), max_side)
    return entry
