"""One page's result, with the methods PaddleX results have.

``json`` is PaddleX 3.x's result dict (``res``), with ``input_path`` and ``page_index`` filled in
by the client (the server never sees file names). ``save_to_json``/``save_to_img`` write the
files PaddleX writes (``<stem>_res.json``, ``<stem>_layout_det_res.png``,
``<stem>_seal_res_region<N>.png``; ``<stem>`` carries ``_<page>`` for PDF pages).
``save_crops`` writes the rectified line images the recogniser read, made by the server's own
warp (``seal_ocr.pipeline.line_images``) from the same decoded page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from seal_client.inputs import Page
from seal_ocr.image_io import decode_image
from seal_ocr.pipeline import crop_seal, line_images


def _target(save_path: str | Path, filename: str) -> Path:
    """PaddleX semantics: a path with a suffix is the file itself, otherwise a directory."""
    path = Path(save_path)
    if path.suffix:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
    path.mkdir(parents=True, exist_ok=True)
    return path / filename


def _write_image(path: Path, image: np.ndarray) -> Path:
    ok, encoded = cv2.imencode(path.suffix or ".png", image)
    if not ok:
        raise OSError(f"cannot encode {path}")
    path.write_bytes(encoded.tobytes())
    return path


@dataclass
class SealResult:
    """The result of one page; ``error`` is set (and ``json`` empty) when the page failed."""

    page: Page
    json: dict[str, Any]
    error: str | None = None
    _image: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_server(cls, page: Page, result: dict[str, Any]) -> SealResult:
        result = dict(result)
        result["input_path"] = page.input_path
        result["page_index"] = page.page_index
        return cls(page=page, json=result)

    @classmethod
    def failed(cls, page: Page, message: str) -> SealResult:
        return cls(page=page, json={}, error=message)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def texts(self) -> list[str]:
        """Every kept text of the page, seals in order."""
        return [line["text"] for line in self.json.get("texts", [])]

    @property
    def image(self) -> np.ndarray:
        """The page as the server saw it: (H, W, 3) uint8 BGR."""
        if self._image is None:
            self._image = (
                self.page.image if self.page.image is not None else decode_image(self.page.data)
            )
        return self._image

    def _require_ok(self) -> None:
        if self.error is not None:
            raise RuntimeError(f"no result for this page: {self.error}")

    def print(self) -> None:
        """Print the result as PaddleX does: ``{"res": ...}``, indented, CJK as characters."""
        body = {"res": self.json} if self.ok else {"error": self.error}
        print(json.dumps(body, ensure_ascii=False, indent=4))

    def save_to_json(self, save_path: str | Path) -> Path:
        """Write ``{"res": ...}`` to ``<save_path>/<stem>_res.json`` (or to save_path itself)."""
        self._require_ok()
        path = _target(save_path, f"{self.page.stem}_res.json")
        path.write_text(json.dumps({"res": self.json}, ensure_ascii=False, indent=4), "utf-8")
        return path

    def seal_crops(self) -> list[np.ndarray]:
        """The seal region crops (BGR), one per ``seal_res_list`` entry."""
        self._require_ok()
        return [crop_seal(self.image, box) for box in self.json["seal_boxes"]]

    def line_crops(self) -> list[list[np.ndarray]]:
        """Per seal, the rectified image of every detected polygon, as the recogniser saw it."""
        self._require_ok()
        boxes = np.asarray(self.json["seal_boxes"], dtype=np.float64).reshape(-1, 4)
        crops: list[list[np.ndarray]] = []
        for box, seal in zip(boxes, self.json["seal_res_list"], strict=True):
            polys = [np.asarray(poly, np.int32) for poly in seal["dt_polys"]]
            crops.append(line_images(self.image, box[None], [polys]))
        return crops

    def pictures(self, font_path: str | Path | None = None) -> dict[str, np.ndarray]:
        """PaddleX's ``res.img``: ``layout_det_res`` (when layout ran), ``seal_res_region<N>``.

        Each value is a BGR uint8 picture; keys are in PaddleX's order.
        """
        from seal_client import visualize

        self._require_ok()
        font = visualize.find_cjk_font(font_path)
        pictures: dict[str, np.ndarray] = {}
        if "layout_det_res" in self.json:
            boxes = self.json["layout_det_res"]["boxes"]
            pictures["layout_det_res"] = visualize.draw_layout(self.image, boxes, font)
        for number, (crop, seal) in enumerate(
            zip(self.seal_crops(), self.json["seal_res_list"], strict=True), start=1
        ):
            pictures[f"seal_res_region{number}"] = visualize.draw_seal_region(
                crop, seal["rec_polys"], seal["rec_texts"], font
            )
        return pictures

    def save_to_img(self, save_path: str | Path, font_path: str | Path | None = None) -> list[Path]:
        """Write the layout picture (when layout ran) and one picture per seal region."""
        directory = Path(save_path)
        return [
            _write_image(_target(directory, f"{self.page.stem}_{key}.png"), picture)
            for key, picture in self.pictures(font_path).items()
        ]

    def save_crops(self, save_path: str | Path) -> list[Path]:
        """Write ``<stem>_seal_res_region<N>_line<M>.png`` for every detected polygon."""
        directory = Path(save_path)
        written = []
        for number, lines in enumerate(self.line_crops(), start=1):
            for index, line in enumerate(lines, start=1):
                name = f"{self.page.stem}_seal_res_region{number}_line{index}.png"
                written.append(_write_image(_target(directory, name), line))
        return written
