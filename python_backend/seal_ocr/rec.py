"""Text recognition (CTC): line-image preprocessing and greedy CTC decoding.

Reproduces PaddleX 3.x ``TextRecPredictor`` for ``PP-OCRv4_server_rec`` as the seal pipeline runs
it (batch size 1): ``OCRReisizeNormImg`` with ``rec_image_shape [3, 48, 320]``, ``ToBatch`` zero
padding and ``CTCLabelDecode``. See ``docs/pipeline.md`` §7 and PaddleX's
``paddlex/inference/models/text_recognition/processors.py``.

Line images stay BGR. The model output is a softmax (N, T, C) with C = blank + dictionary + space.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from seal_ocr.errors import InvalidImageError
from seal_ocr.image_io import check_bgr_image

REC_IMAGE_HEIGHT = 48
REC_BASE_WIDTH = 320
REC_MAX_WIDTH = 3200
CTC_BLANK = "blank"  # placeholder name of class 0; never emitted


def _natural_width(h: int, w: int) -> int:
    """PaddleX's imgW before the 3200 cap: int(48 * max(320/48, w/h))."""
    max_wh_ratio = max(REC_BASE_WIDTH / REC_IMAGE_HEIGHT, w * 1.0 / h)
    return int(REC_IMAGE_HEIGHT * max_wh_ratio)


def rec_input_width(h: int, w: int) -> int:
    """Padded input width W for one h x w line image (batch of one, as the seal pipeline runs).

    320 for lines narrower than 320/48, int(48 * w / h) for wider ones, 3200 beyond 3200 (the
    line is then squashed to 3200 x 48).
    """
    if h <= 0 or w <= 0:
        raise InvalidImageError(f"rec line image must be non-empty, got {h}x{w}")
    return min(_natural_width(h, w), REC_MAX_WIDTH)


def preprocess_rec(line_bgr: np.ndarray, target_width: int | None = None) -> np.ndarray:
    """Line image -> rec model input.

    Args:
        line_bgr: (h, w, 3) uint8 BGR line image (a rectified text crop).
        target_width: pad to this width (>= :func:`rec_input_width`), e.g. the widest line of a
            batch, as PaddleX's ``ToBatch`` does; None -> the line's own width.

    Returns:
        (3, 48, W) float32, ``(v/255 - 0.5)/0.5`` in [-1, 1] over the resized line (width
        min(ceil(48 * w / h), W), or squashed to 3200), right-padded with 0.0.
    """
    check_bgr_image(line_bgr, "rec line image")
    h, w = int(line_bgr.shape[0]), int(line_bgr.shape[1])
    width = rec_input_width(h, w)
    if target_width is None:
        target_width = width
    elif target_width < width:
        raise ValueError(f"target_width {target_width} is below this line's own width {width}")

    img = np.ascontiguousarray(line_bgr)
    if _natural_width(h, w) > REC_MAX_WIDTH:
        resized_w = REC_MAX_WIDTH  # aspect ratio is not kept beyond the cap
    else:
        # ceil(48 * ratio) exceeds int(48 * ratio) for any non-integral product: clamp to W.
        resized_w = min(math.ceil(REC_IMAGE_HEIGHT * (w / float(h))), width)
    resized = cv2.resize(img, (resized_w, REC_IMAGE_HEIGHT), interpolation=cv2.INTER_LINEAR)
    # PaddleX: float32 array / 255 (a float32 division, not a multiply by 1/255), then -= 0.5
    # and /= 0.5, all in float32.
    norm = resized.astype(np.float32).transpose(2, 0, 1) / np.float32(255.0)
    norm -= np.float32(0.5)
    norm /= np.float32(0.5)
    out = np.zeros((3, REC_IMAGE_HEIGHT, target_width), dtype=np.float32)
    out[:, :, :resized_w] = norm
    return out


class CTCDecoder:
    """Greedy CTC decoding as PaddleX's ``CTCLabelDecode``.

    Classes: index 0 = blank, 1..len(characters) = the dictionary in order, then " " when
    ``use_space_char`` (PaddleX's default).
    """

    def __init__(self, characters: Sequence[str], use_space_char: bool = True) -> None:
        if isinstance(characters, str):
            raise TypeError("characters must be a sequence of strings, not one string")
        chars = list(characters)
        for i, char in enumerate(chars):
            if not isinstance(char, str):
                raise TypeError(f"characters[{i}] is {type(char).__name__}, expected str")
        classes = [CTC_BLANK, *chars]
        if use_space_char:
            classes.append(" ")
        self._classes: tuple[str, ...] = tuple(classes)
        self.num_classes: int = len(classes)

    @property
    def classes(self) -> tuple[str, ...]:
        """Class index -> text (index 0 is the blank placeholder)."""
        return self._classes

    def _check(self, probs: np.ndarray, ndim: int, layout: str) -> None:
        if not isinstance(probs, np.ndarray):
            raise ValueError(f"probs must be a numpy array, got {type(probs).__name__}")
        if probs.ndim != ndim:
            raise ValueError(f"probs must be {layout}, got shape {probs.shape}")
        if probs.dtype != np.float32:
            raise ValueError(f"probs must be float32, got {probs.dtype}")
        if probs.shape[-1] != self.num_classes:
            raise ValueError(
                f"probs has {probs.shape[-1]} classes but the dictionary gives "
                f"{self.num_classes}: model and dictionary do not match"
            )

    def _decode_one(self, probs: np.ndarray) -> tuple[str, float]:
        if probs.shape[0] == 0:
            return "", 0.0
        indices = probs.argmax(axis=-1)  # first maximum on ties, as numpy/PaddleX
        maxima = probs.max(axis=-1)
        keep = np.ones(indices.shape[0], dtype=bool)
        keep[1:] = indices[1:] != indices[:-1]  # collapse repeats first ...
        keep &= indices != 0  # ... then drop blanks, so "l, blank, l" gives "ll"
        if not keep.any():
            return "", 0.0
        text = "".join(self._classes[i] for i in indices[keep])
        # np.mean of the float32 maxima (float32 pairwise sum), as PaddleX; then a Python float.
        return text, float(np.mean(maxima[keep]))

    def decode(self, probs: np.ndarray) -> tuple[str, float]:
        """Decode one line: probs (T, C) float32 softmax -> (text, mean kept probability or 0.0)."""
        self._check(probs, 2, "(T, C)")
        return self._decode_one(probs)

    def decode_batch(self, probs: np.ndarray) -> list[tuple[str, float]]:
        """Decode a batch: probs (N, T, C) float32 -> one (text, score) per line."""
        self._check(probs, 3, "(N, T, C)")
        return [self._decode_one(row) for row in probs]


def load_characters(path: Path) -> list[str]:
    """Read a PaddleOCR character dictionary: one entry per line, UTF-8.

    Same reading as PaddleOCR's ``character_dict_path`` loader: the file is split on b"\\n" only
    (binary ``readlines``), each line is decoded and stripped of leading/trailing "\\r"/"\\n"
    (``strip("\\n").strip("\\r\\n")``). Nothing else is stripped: a line holding a single space
    stays " ", and an empty line stays "" (it still takes a class index).
    """
    data = Path(path).read_bytes()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # text after the last "\n" is empty: readlines() yields no line for it
    return [line.decode("utf-8").strip("\r\n") for line in lines]
