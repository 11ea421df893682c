"""Layout detection pre- and post-processing, as PaddleX 3.x object detection does it.

Pre-processing reproduces the PaddleDetection-export ``inference.yml`` ops PaddleX builds for the
layout model (``Resize`` keep_ratio False interp 2, ``NormalizeImage`` ImageNet mean/std with
``is_scale``, ``Permute``), after PaddleX's forced BGR -> RGB conversion.

Post-processing reproduces ``DetPostProcess.apply`` of
``paddlex/inference/models/object_detection/processors.py`` (PaddleX 3.7.2), rule by rule, on the
model's ``bbox`` rows of one image:

1. score threshold (strictly greater; float or ``{cls_id: thr}`` with 0.5 for other classes);
2. optional NMS: greedy by score, "+1" pixel IoU, suppress at IoU >= 0.6 (same class) or >= 0.98
   (different classes);
3. large-image filter: drop ``image``-class boxes covering > 82 % (landscape page) or > 93 %
   (otherwise) of the page, unless that would drop every box;
4. merge ("large" / "small" / "union", or per class), with the ``formula`` exception;
5. unclip about the box centre;
6. clamp to the page and drop degenerate boxes.

PaddleX (in its reference environment, NumPy 2) does this arithmetic on float32 NumPy scalars and
compares them with Python floats cast to float32. NumPy 1.x would promote those scalar operations
to float64, so every step below spells the float32 arithmetic out explicitly: the results are
then bit-identical to PaddleX's whatever NumPy version runs here.

Coordinates are page pixels ``(x1, y1, x2, y2)`` throughout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from seal_ocr.errors import InvalidImageError
from seal_ocr.image_io import IMAGENET_MEAN, IMAGENET_STD, normalize_to_chw
from seal_ocr.params import MERGE_MODES, LayoutParams

LAYOUT_INPUT_HW = (800, 608)  # PicoDet layout network input (height, width)
# Per RGB plane, folded in float64 and rounded to float32 as PaddleX's Normalize does.
_LAYOUT_ALPHA = np.array([(1.0 / 255.0) / s for s in IMAGENET_STD], dtype=np.float32)
_LAYOUT_BETA = np.array(
    [-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)], dtype=np.float32
)
_BGR_TO_RGB = (2, 1, 0)  # RGB plane c comes from BGR channel _BGR_TO_RGB[c]

_DEFAULT_CLASS_THRESHOLD = 0.5  # classes missing from a threshold dict
_NMS_IOU_SAME_CLASS = 0.6
_NMS_IOU_OTHER_CLASS = 0.98
_CONTAINED_RATIO = 0.9  # share of a box's own area inside another box to count as contained
_LARGE_IMAGE_LABEL = "image"  # exact label name PaddleX looks up (PP-DocLayout class 1)
_LARGE_IMAGE_RATIO_LANDSCAPE = 0.82  # page wider than high
_LARGE_IMAGE_RATIO_OTHER = 0.93
_FORMULA_LABEL = "formula"

_F32 = np.float32


@dataclass(frozen=True)
class LayoutBox:
    """One post-processed layout box.

    ``coordinate`` is ``(x1, y1, x2, y2)`` in page pixels. Like PaddleX, an edge that the final
    clamp moved onto the page border is the Python ``int`` 0 / width / height and every other
    value a float32 value as a Python float, so :meth:`to_json` writes ``0`` where PaddleX does.
    """

    cls_id: int
    label: str
    score: float
    coordinate: tuple[float, float, float, float]

    def to_json(self) -> dict[str, Any]:
        """The PaddleX ``layout_det_res.boxes`` entry: ``{cls_id, label, score, coordinate}``."""
        return {
            "cls_id": self.cls_id,
            "label": self.label,
            "score": self.score,
            "coordinate": list(self.coordinate),
        }


@dataclass(frozen=True)
class LayoutInput:
    """Model inputs for one page.

    ``image``: (3, H_in, W_in) float32, CHW, RGB, ImageNet-normalised.
    ``scale_factor``: (2,) float32 ``(H_in / page_h, W_in / page_w)``.
    """

    image: np.ndarray
    scale_factor: np.ndarray


def preprocess_layout(
    page_bgr: np.ndarray, input_hw: tuple[int, int] = LAYOUT_INPUT_HW
) -> LayoutInput:
    """Resize and normalise a BGR page for the layout model, exactly as PaddleX does.

    ``page_bgr``: (H, W, 3) uint8 BGR. Order of operations (PaddleX ``ReadImage(format="RGB")``,
    ``Resize``, ``Normalize``, ``ToCHWImage``, ``ToBatch``): BGR -> RGB on uint8; bicubic resize
    to (w, h) without keeping the aspect ratio (skipped when the size already matches); per channel
    ``x.astype(float32) * float32((1/255) / std) + float32(-mean / std)``, two float32 roundings;
    HWC -> CHW. We resize first and swap the channels while normalising: same values, fewer
    passes. ``scale_factor`` is computed in float64 and stored as float32, as ``ToBatch``
    does.
    """
    if not isinstance(page_bgr, np.ndarray) or page_bgr.dtype != np.uint8:
        raise InvalidImageError("layout input must be a uint8 numpy array")
    if page_bgr.ndim != 3 or page_bgr.shape[2] != 3 or min(page_bgr.shape[:2]) < 1:
        raise InvalidImageError(f"layout input must be (H, W, 3) BGR, got {page_bgr.shape}")
    height, width = input_hw
    page_h, page_w = page_bgr.shape[:2]
    resized = page_bgr
    if (page_h, page_w) != (height, width):
        # Resizing BGR and reading the planes in RGB order gives the same values as PaddleX's
        # cvtColor-then-resize (cv2.resize treats channels independently), minus a colour
        # conversion pass over the full-size page.
        resized = cv2.resize(page_bgr, (width, height), interpolation=cv2.INTER_CUBIC)
    # PaddleX folds scale, mean and std into alpha/beta in float64, then applies them to the
    # float32 image: the scalars are rounded to float32 and there are exactly two roundings.
    image = normalize_to_chw(resized, _LAYOUT_ALPHA, _LAYOUT_BETA, channels=_BGR_TO_RGB)
    scale_factor = np.array([height / page_h, width / page_w], dtype=np.float32)
    return LayoutInput(image=image, scale_factor=scale_factor)


# --------------------------------------------------------------------------- post-processing
# ``boxes`` below is always an (n, 6) float32 array of rows (cls, score, x1, y1, x2, y2).


def _apply_threshold(boxes: np.ndarray, threshold: float | Mapping[int, float]) -> np.ndarray:
    """Keep rows with ``score > threshold`` (strict, in float32) and ``cls_id > -1``.

    A dict threshold regroups the rows by ascending class id (PaddleX iterates ``np.unique``),
    keeping their order within a class; that order survives when NMS is off.
    """
    if isinstance(threshold, Mapping):
        parts = []
        for cls in np.unique(boxes[:, 0]):
            group = boxes[boxes[:, 0] == cls]
            thr = _F32(threshold.get(int(cls), _DEFAULT_CLASS_THRESHOLD))
            parts.append(group[(group[:, 1] > thr) & (group[:, 0] > -1)])
        # PaddleX returns a 1-D empty array here when there are no rows at all, which then fails
        # in its NMS; an empty (0, 6) array is the evident intent.
        return np.vstack(parts) if parts else boxes[:0]
    return boxes[(boxes[:, 1] > _F32(threshold)) & (boxes[:, 0] > -1)]


def _nms(boxes: np.ndarray) -> np.ndarray:
    """Greedy NMS over all classes; rows come back in selection (score-descending) order.

    ``boxes``: (n, 6) float32 rows (cls, score, x1, y1, x2, y2). The current best box suppresses
    a later one when their IoU is >= 0.6 (same class) or >= 0.98 (different classes); IoU uses
    "+1" pixel areas, all in float32. The visiting order is ``np.argsort(score)[::-1]`` as in
    PaddleX, so equal scores are visited in the same order for the same NumPy sort.
    """
    if len(boxes) <= 1:
        return boxes.copy()  # nothing to suppress (most pages keep one box past the threshold)
    remaining = np.argsort(boxes[:, 1])[::-1]
    keep: list[int] = []
    same_thr, other_thr = _F32(_NMS_IOU_SAME_CLASS), _F32(_NMS_IOU_OTHER_CLASS)
    one, zero = _F32(1), _F32(0)
    cls, x1, y1, x2, y2 = (boxes[:, k] for k in (0, 2, 3, 4, 5))
    # Each box's area is the same float32 expression PaddleX evaluates per pair, so computing it
    # once per box gives identical values; likewise one errstate for the loop, not one per box.
    areas = (x2 - x1 + one) * (y2 - y1 + one)
    with np.errstate(divide="ignore", invalid="ignore"):
        while remaining.size:
            current, rest = int(remaining[0]), remaining[1:]
            keep.append(current)
            inter_w = np.maximum(
                np.minimum(x2[current], x2[rest]) - np.maximum(x1[current], x1[rest]) + one, zero
            )
            inter_h = np.maximum(
                np.minimum(y2[current], y2[rest]) - np.maximum(y1[current], y1[rest]) + one, zero
            )
            inter = inter_w * inter_h
            iou = inter / (areas[current] + areas[rest] - inter)
            limit = np.where(cls[rest] == cls[current], same_thr, other_thr)
            remaining = rest[iou < limit]
    return boxes[keep]


def _large_image_area(xmin: Any, ymin: Any, xmax: Any, ymax: Any) -> Any:
    """PaddleX's area arithmetic: Python ints stay exact, anything touching float32 is float32."""
    width = (
        xmax - xmin if isinstance(xmin, int) and isinstance(xmax, int) else _F32(xmax) - _F32(xmin)
    )
    height = (
        ymax - ymin if isinstance(ymin, int) and isinstance(ymax, int) else _F32(ymax) - _F32(ymin)
    )
    if isinstance(width, int) and isinstance(height, int):
        return width * height
    return _F32(width) * _F32(height)


def _filter_large_images(
    boxes: np.ndarray, labels: Sequence[str], page_hw: tuple[int, int]
) -> np.ndarray:
    """Drop ``image``-class boxes covering most of the page (only when there are >= 2 boxes).

    The box is clamped to the page first; the limit is 0.82 of the page area for a landscape page
    (width > height), else 0.93. If every box would go, all are kept.
    """
    if len(boxes) <= 1 or _LARGE_IMAGE_LABEL not in labels:
        return boxes
    image_cls = labels.index(_LARGE_IMAGE_LABEL)
    page_h, page_w = page_hw
    ratio = _LARGE_IMAGE_RATIO_LANDSCAPE if page_w > page_h else _LARGE_IMAGE_RATIO_OTHER
    limit = ratio * (page_w * page_h)  # a Python float, as in PaddleX
    keep = np.ones(len(boxes), dtype=bool)
    for i, row in enumerate(boxes):
        if row[0] != image_cls:
            continue
        xmin, ymin = _clamp_low(row[2]), _clamp_low(row[3])
        xmax, ymax = _clamp_high(row[4], page_w), _clamp_high(row[5], page_h)
        area = _large_image_area(xmin, ymin, xmax, ymax)
        # A float32 area meets the Python float limit as float32 (NumPy 2 weak-scalar rule).
        keep[i] = area <= limit if isinstance(area, int) else area <= _F32(limit)
    return boxes[keep] if keep.any() else boxes


def _containment(boxes: np.ndarray) -> np.ndarray:
    """(n, n) bool: ``[i, j]`` is True when >= 90 % of box i's own area lies inside box j.

    Plain areas here (no "+1"), float32; a box with zero or negative area is never contained.
    The diagonal is False.
    """
    x1, y1, x2, y2 = (boxes[:, k] for k in range(2, 6))
    area = (x2 - x1) * (y2 - y1)
    inter_w = np.maximum(
        np.minimum(x2[:, None], x2[None, :]) - np.maximum(x1[:, None], x1[None, :]), _F32(0)
    )
    inter_h = np.maximum(
        np.minimum(y2[:, None], y2[None, :]) - np.maximum(y1[:, None], y1[None, :]), _F32(0)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (inter_w * inter_h) / area[:, None]
    contained = (area[:, None] > 0) & (ratio >= _F32(_CONTAINED_RATIO))
    np.fill_diagonal(contained, False)
    return contained


def _merge(
    boxes: np.ndarray,
    labels: Sequence[str],
    mode: str | Mapping[int, str],
    protected_cls: int | None = None,
) -> np.ndarray:
    """Apply ``layout_merge_bboxes_mode``.

    "union" keeps everything; "large" drops every box contained (>= 90 %) in another box of any
    class; "small" drops boxes that contain another box unless they are themselves contained.
    Formula exception: a ``formula`` box is never tested against a non-formula box (so a formula
    inside a text box survives "large"). Dict form ``{cls_id: mode}``, applied to the same boxes
    and AND-ed: "large" for class c drops boxes contained in a class-c box; "small" for class c
    considers only class-c boxes as the contained ones.

    ``protected_cls`` (not PaddleX; the ``keep_nested_seals`` option): boxes of this class are
    never dropped for lying inside another box, the fix for PaddleOCR#18306 where "large" drops a
    seal stamped over a text or image block.
    """
    if len(boxes) == 0:
        return boxes
    if len(boxes) == 1:
        # One box lies in no other box and every mode keeps it; still refuse a bad mode name.
        for mode_name in [mode] if isinstance(mode, str) else mode.values():
            if mode_name not in MERGE_MODES:
                raise ValueError(f"merge mode must be one of {MERGE_MODES}, got {mode_name!r}")
        return boxes.copy()
    contained = _containment(boxes)
    cls = boxes[:, 0]
    if protected_cls is not None:
        contained[cls == protected_cls, :] = False
    if _FORMULA_LABEL in labels:
        formula = labels.index(_FORMULA_LABEL)
        contained &= ~((cls == formula)[:, None] & (cls != formula)[None, :])

    def keep_for(mode_name: str, pairs: np.ndarray) -> np.ndarray:
        if mode_name not in MERGE_MODES:
            raise ValueError(f"merge mode must be one of {MERGE_MODES}, got {mode_name!r}")
        if mode_name == "large":
            return ~pairs.any(axis=1)
        if mode_name == "small":
            return ~pairs.any(axis=0) | pairs.any(axis=1)
        return np.ones(len(boxes), dtype=bool)

    if isinstance(mode, str):
        return boxes[keep_for(mode, contained)]
    keep = np.ones(len(boxes), dtype=bool)
    for cls_id, mode_name in mode.items():
        if mode_name == "large":
            pairs = contained & (cls == cls_id)[None, :]  # the container j has class cls_id
        else:
            pairs = contained & (cls == cls_id)[:, None]  # the contained i has class cls_id
        keep &= keep_for(mode_name, pairs)
    return boxes[keep]


def _scale_about_centre(boxes: np.ndarray, ratio: float | tuple[float, float]) -> np.ndarray:
    """Scale each box about its centre by (rw, rh), in float32 with PaddleX's operation order.

    Even ratio 1.0 is applied: ``cx = x1 + w / 2`` then ``cx - w / 2`` can differ from x1 in the
    last float32 bit, and PaddleX reports that value.
    """
    rw, rh = (ratio, ratio) if isinstance(ratio, int | float) else ratio
    widths = boxes[:, 4] - boxes[:, 2]
    heights = boxes[:, 5] - boxes[:, 3]
    new_w = widths * _F32(rw)
    new_h = heights * _F32(rh)
    two = _F32(2)
    cx = boxes[:, 2] + widths / two
    cy = boxes[:, 3] + heights / two
    return np.column_stack(
        (
            boxes[:, 0],
            boxes[:, 1],
            cx - new_w / two,
            cy - new_h / two,
            cx + new_w / two,
            cy + new_h / two,
        )
    ).astype(np.float32, copy=False)


def _clamp_low(value: np.float32) -> float:
    """``max(0, v)`` as PaddleX writes it: the int 0 unless v is positive."""
    return float(value) if value > 0 else 0


def _clamp_high(value: np.float32, limit: int) -> float:
    """``min(limit, v)`` as PaddleX writes it: the int limit unless v is below it."""
    return float(value) if value < limit else limit


def _to_layout_boxes(
    boxes: np.ndarray, labels: Sequence[str], page_hw: tuple[int, int]
) -> list[LayoutBox]:
    """Clamp to the page, drop boxes with x2 <= x1 or y2 <= y1, build :class:`LayoutBox`."""
    page_h, page_w = page_hw
    out = []
    for row in boxes:
        x1, y1 = _clamp_low(row[2]), _clamp_low(row[3])
        x2, y2 = _clamp_high(row[4], page_w), _clamp_high(row[5], page_h)
        if x2 <= x1 or y2 <= y1:
            continue
        cls_id = int(row[0])
        out.append(LayoutBox(cls_id, labels[cls_id], float(row[1]), (x1, y1, x2, y2)))
    return out


def postprocess_layout(
    raw_boxes: np.ndarray,
    labels: Sequence[str],
    page_hw: tuple[int, int],
    params: LayoutParams,
    seal_label: str | None = None,
) -> list[LayoutBox]:
    """PaddleX ``DetPostProcess.apply`` for one page.

    ``raw_boxes``: (K, 6) float32 ``bbox`` rows ``(cls, score, x1, y1, x2, y2)`` of this page in
    page pixels; ``labels``: class names by id; ``page_hw``: (height, width) of the page.
    ``seal_label`` names the seal class for ``params.keep_nested_seals``.
    Returns the boxes in PaddleX's output order (score-descending when NMS ran).
    """
    boxes = np.asarray(raw_boxes, dtype=np.float32).reshape(-1, 6)
    boxes = _apply_threshold(boxes, params.threshold)
    if params.nms:
        boxes = _nms(boxes)
    boxes = _filter_large_images(boxes, labels, page_hw)
    if params.merge_bboxes_mode:
        protected = None
        if params.keep_nested_seals and seal_label is not None:
            lowered = [label.lower() for label in labels]
            if seal_label.lower() in lowered:
                protected = lowered.index(seal_label.lower())
        boxes = _merge(boxes, labels, params.merge_bboxes_mode, protected)
    if len(boxes) == 0:
        return []
    if params.unclip_ratio:
        boxes = _scale_about_centre(boxes, params.unclip_ratio)
    return _to_layout_boxes(boxes, labels, page_hw)


def select_seal_boxes(boxes: Sequence[LayoutBox], seal_label: str) -> list[LayoutBox]:
    """The boxes whose label equals ``seal_label`` case-insensitively, in layout order."""
    wanted = seal_label.lower()
    return [box for box in boxes if box.label.lower() == wanted]
