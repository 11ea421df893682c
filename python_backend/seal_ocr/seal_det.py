"""Seal text detection (DB, polygon mode): pre- and post-processing around the det model.

Reproduces PaddleX 3.x ``TextDetPredictor`` as configured by the seal OCR sub-pipeline
(``PP-OCRv4_server_seal_det``): ``DetResizeForTest`` (resize type 0), ``NormalizeImage``
(``order: hwc``), ``ToCHWImage`` and ``DBPostProcess.polygons_from_bitmap``; then the seal
sorter (``SortPolyBoxes``). See ``docs/pipeline.md`` §5. Every rounding and dtype
step follows PaddleX's source (``paddlex/inference/models/text_detection/processors.py``) so that
the same ONNX model gives the same polygons.

Coordinate frames: the det *input* frame is the resized (and maybe padded) crop fed to the model;
the probability map has the same size. Output polygons are in *seal-crop* pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import pyclipper

from seal_ocr.errors import InvalidImageError
from seal_ocr.image_io import IMAGENET_MEAN, IMAGENET_STD, check_bgr_image, normalize_to_chw
from seal_ocr.params import LIMIT_TYPES, SealDetParams

# The ImageNet RGB statistics are applied by channel *index* to a BGR image (PaddleX quirk: the
# det model was trained that way, so we must not swap them).
_SCALE = 1.0 / 255.0
# PaddleX precomputes alpha = scale/std and beta = -mean/std in float64, then applies them with
# in-place ops on float32 channel planes, i.e. both constants are rounded to float32 first.
_ALPHA = np.array([_SCALE / s for s in IMAGENET_STD], dtype=np.float32)
_BETA = np.array([-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)], np.float32)

STRIDE = 32  # the det network needs sides that are multiples of 32
MIN_SIDE = 32
_TINY_SUM = 64  # PaddleX pads a crop with h + w < 64 to at least 32 x 32
MAX_CANDIDATES = 1000
MIN_SIZE = 3  # DBPostProcess.min_size; poly mode tests the unclipped rect against min_size + 2
_APPROX_EPS_FACTOR = 0.002  # approxPolyDP epsilon = factor x closed contour length


@dataclass(frozen=True)
class DetInputMeta:
    """What PaddleX keeps per image (its ``[src_h, src_w, ratio_h, ratio_w]`` shape row).

    ``src_h``/``src_w`` are the *unpadded* crop size even when the tiny-image guard padded the crop
    (PaddleX quirk); ``ratio_*`` = resized side / (padded) side, or exactly 1.0 when no resize
    happened. Post-processing only uses ``src_*`` and the probability map size.
    """

    src_h: int
    src_w: int
    ratio_h: float
    ratio_w: float


@dataclass(frozen=True)
class DetResult:
    """DB output for one crop.

    ``polys[i]``: (n_i, 2) int32 (x, y) seal-crop pixels, n_i >= 3 (pyclipper's vertices, not
    resampled); ``scores[i]``: mean probability inside the simplified contour.
    """

    polys: list[np.ndarray]
    scores: list[float]

    def __len__(self) -> int:
        return len(self.polys)


def _padded_size(h: int, w: int) -> tuple[int, int]:
    """Size after PaddleX's tiny-image guard (zero padding at the bottom/right)."""
    if h + w < _TINY_SUM:
        return max(MIN_SIDE, h), max(MIN_SIDE, w)
    return h, w


def _round_to_stride(side: int) -> int:
    # Python round(): banker's rounding at .5 (e.g. 48 -> 1.5 -> 2 -> 64, 80 -> 2.5 -> 2 -> 64).
    return max(int(round(side / STRIDE) * STRIDE), MIN_SIDE)


def det_resize_shape(h: int, w: int, params: SealDetParams) -> tuple[int, int]:
    """Target (rh, rw) of the det input for a crop of h x w pixels (multiples of 32, >= 32).

    The tiny-image guard is applied first (crops with h + w < 64 are padded to >= 32 x 32), so the
    result is the exact spatial shape of the tensor :func:`preprocess_det` returns.
    """
    if h <= 0 or w <= 0:
        raise InvalidImageError(f"det input must be non-empty, got {h}x{w}")
    h, w = _padded_size(h, w)
    limit = params.limit_side_len
    if params.limit_type == "max":
        ratio = float(limit) / max(h, w) if max(h, w) > limit else 1.0
    elif params.limit_type == "min":
        ratio = float(limit) / min(h, w) if min(h, w) < limit else 1.0
    elif params.limit_type == "resize_long":
        ratio = float(limit) / max(h, w)
    else:
        raise ValueError(f"limit_type must be one of {LIMIT_TYPES}, got {params.limit_type!r}")
    rh, rw = int(h * ratio), int(w * ratio)  # truncation, as PaddleX
    if max(rh, rw) > params.max_side_limit:
        cap = float(params.max_side_limit) / max(rh, rw)
        rh, rw = int(rh * cap), int(rw * cap)
    return _round_to_stride(rh), _round_to_stride(rw)


def preprocess_det(crop_bgr: np.ndarray, params: SealDetParams) -> tuple[np.ndarray, DetInputMeta]:
    """Seal crop -> det model input.

    Args:
        crop_bgr: (h, w, 3) uint8 BGR seal crop; may be a view into the page (not copied).
        params: resolved det parameters (no ``None``/0 placeholders).

    Returns:
        ``(x, meta)``: x is (3, H, W) float32 CHW, still BGR, ``(v/255 - mean_c)/std_c`` with the
        ImageNet RGB statistics taken in BGR channel order; H, W = :func:`det_resize_shape`.
    """
    check_bgr_image(crop_bgr, "det crop")
    src_h, src_w = int(crop_bgr.shape[0]), int(crop_bgr.shape[1])
    # cv2.resize and normalize_to_chw read a strided view (a seal region of the page) as is.
    img = crop_bgr
    pad_h, pad_w = _padded_size(src_h, src_w)
    if (pad_h, pad_w) != (src_h, src_w):
        padded = np.zeros((pad_h, pad_w, 3), dtype=np.uint8)
        padded[:src_h, :src_w] = img
        img = padded
    rh, rw = det_resize_shape(src_h, src_w, params)
    if (rh, rw) == (pad_h, pad_w):
        # PaddleX skips cv2.resize entirely (and reports ratios of exactly 1.0).
        ratio_h = ratio_w = 1.0
    else:
        img = cv2.resize(img, (rw, rh), interpolation=cv2.INTER_LINEAR)  # cv2's default
        ratio_h, ratio_w = rh / float(pad_h), rw / float(pad_w)
    # float32 throughout: x * alpha_c then + beta_c, each step rounded to float32 like
    # PaddleX's in-place ops on float32 planes (a float64 path differs in the last ulp).
    chw = normalize_to_chw(img, _ALPHA, _BETA)
    return chw, DetInputMeta(src_h=src_h, src_w=src_w, ratio_h=ratio_h, ratio_w=ratio_w)


def _box_score_fast(prob_map: np.ndarray, points: np.ndarray) -> float:
    """Mean probability inside the filled polygon, measured in its clipped bounding rectangle."""
    h, w = prob_map.shape
    xmin = max(0, min(math.floor(points[:, 0].min()), w - 1))
    xmax = max(0, min(math.ceil(points[:, 0].max()), w - 1))
    ymin = max(0, min(math.floor(points[:, 1].min()), h - 1))
    ymax = max(0, min(math.ceil(points[:, 1].max()), h - 1))
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    shifted = (points - np.array([xmin, ymin])).astype(np.int32)
    cv2.fillPoly(mask, [shifted.reshape(-1, 2)], (1,))
    return float(cv2.mean(prob_map[ymin : ymax + 1, xmin : xmax + 1], mask)[0])


def _offset_polygon(points: np.ndarray, unclip_ratio: float) -> np.ndarray | None:
    """Offset the polygon outward by area * ratio / perimeter (round joins).

    Returns the single offset path as (m, 2) int64, or None when pyclipper gives zero or several
    paths (PaddleX drops those candidates).
    """
    area = cv2.contourArea(points)
    length = cv2.arcLength(points, True)
    distance = area * unclip_ratio / length
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(points, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    paths = offset.Execute(distance)
    if len(paths) != 1:
        return None
    return np.array(paths[0], dtype=np.int64).reshape(-1, 2)


def postprocess_db(prob_map: np.ndarray, meta: DetInputMeta, params: SealDetParams) -> DetResult:
    """DB polygon post-processing of one probability map.

    Args:
        prob_map: (H, W) float32, channel 0 of the det output for this crop (det input frame).
        meta: from :func:`preprocess_det` for the same crop.
        params: resolved ``thresh``, ``box_thresh`` and ``unclip_ratio`` are used.

    Returns:
        Polygons in seal-crop pixels, in contour order (not sorted), and their scores.
    """
    if not isinstance(prob_map, np.ndarray) or prob_map.ndim != 2:
        shape = getattr(prob_map, "shape", None)
        raise ValueError(f"prob_map must be a 2-D (H, W) array, got shape {shape}")
    if prob_map.dtype != np.float32:
        raise ValueError(f"prob_map must be float32, got {prob_map.dtype}")
    height, width = prob_map.shape
    if height == 0 or width == 0:
        raise ValueError(f"prob_map must be non-empty, got shape {prob_map.shape}")
    if meta.src_h <= 0 or meta.src_w <= 0:
        raise ValueError(f"meta source size must be positive, got {meta.src_h}x{meta.src_w}")

    prob_map = np.ascontiguousarray(prob_map)
    # numpy compares float32 with a Python float in float32 (value-based / NEP 50 weak scalar),
    # exactly as PaddleX's `pred > thresh`.
    bitmap = (prob_map > params.thresh).astype(np.uint8) * 255
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    # Map back with the *unpadded* source size over the map size (PaddleX quirk for tiny crops).
    width_scale = meta.src_w / width
    height_scale = meta.src_h / height

    polys: list[np.ndarray] = []
    scores: list[float] = []
    for contour in contours[:MAX_CANDIDATES]:
        epsilon = _APPROX_EPS_FACTOR * cv2.arcLength(contour, True)
        points = cv2.approxPolyDP(contour, epsilon, True).reshape(-1, 2)
        if points.shape[0] < 4:
            continue
        score = _box_score_fast(prob_map, points)
        if params.box_thresh > score:
            continue
        expanded = _offset_polygon(points, params.unclip_ratio)
        if expanded is None or expanded.shape[0] == 0:
            continue
        _, (rect_w, rect_h), _ = cv2.minAreaRect(expanded.reshape(-1, 1, 2).astype(np.int32))
        if min(rect_w, rect_h) < MIN_SIZE + 2:
            continue
        # float64 product then round-half-even (Python round() on each element == np.rint),
        # clipped to [0, src] inclusive as PaddleX does.
        xs = np.clip(np.rint(expanded[:, 0].astype(np.float64) * width_scale), 0, meta.src_w)
        ys = np.clip(np.rint(expanded[:, 1].astype(np.float64) * height_scale), 0, meta.src_h)
        polys.append(np.stack([xs, ys], axis=1).astype(np.int32))
        scores.append(score)
    return DetResult(polys=polys, scores=scores)


def sort_polys_by_min_y(result: DetResult) -> DetResult:
    """Seal OCR ordering: ascending minimum y, ties kept in detection order (stable).

    PaddleX's ``SortPolyBoxes`` uses ``np.argsort`` with the default (introsort) kind, which is
    stable only up to 16 items and otherwise numpy-version dependent; we pick the stable order so
    results are deterministic. Scores are permuted along with the polygons (PaddleX never reads
    the det scores after sorting).
    """
    if len(result.polys) != len(result.scores):
        raise ValueError(f"{len(result.polys)} polygons but {len(result.scores)} scores")
    if not result.polys:
        return DetResult(polys=[], scores=[])
    min_ys = np.array([int(poly[:, 1].min()) for poly in result.polys], dtype=np.int64)
    order = np.argsort(min_ys, kind="stable")
    return DetResult(
        polys=[result.polys[i] for i in order], scores=[result.scores[i] for i in order]
    )
