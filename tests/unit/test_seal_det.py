"""Unit tests of ``seal_ocr.seal_det``: DB pre-processing, polygon post-processing, sorting.

Expected values are worked out by hand from PaddleX's rules (``docs/pipeline.md`` §5
and PaddleX's ``text_detection/processors.py``), not taken from this implementation's output.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
from shapely.geometry import Polygon, box
from shapely.ops import unary_union

from seal_ocr.errors import InvalidImageError
from seal_ocr.params import SealDetParams
from seal_ocr.seal_det import (
    DetInputMeta,
    DetResult,
    det_resize_shape,
    postprocess_db,
    preprocess_det,
    sort_polys_by_min_y,
)
from tests.conftest import raw_model

DEFAULT = SealDetParams()
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def _params(**changes: object) -> SealDetParams:
    return replace(DEFAULT, **changes)


# ---------------------------------------------------------------------------------------------
# Resize rules
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("h", "w", "changes", "expected"),
    [
        # min: ratio 736/368 = 2 -> 736 x 1000; 1000/32 = 31.25 -> 992
        (368, 500, {}, (736, 992)),
        # min: short side already >= 736 -> ratio 1; 1200/32 = 37.5 -> round-half-even 38 -> 1216
        (800, 1200, {}, (800, 1216)),
        # max: ratio 1000/2000 = 0.5 -> 500 x 1000 -> 15.625 -> 512, 31.25 -> 992
        (1000, 2000, {"limit_type": "max", "limit_side_len": 1000}, (512, 992)),
        # resize_long: ratio 960/480 = 2 -> 480 x 960
        (240, 480, {"limit_type": "resize_long", "limit_side_len": 960}, (480, 960)),
        # resize_long: ratio 0.479 -> h = int(47.9) = 47 (truncated, not 48) -> 1.47 -> 32
        (100, 1000, {"limit_type": "resize_long", "limit_side_len": 479}, (32, 480)),
    ],
)
def test_resize_limit_types(h: int, w: int, changes: dict, expected: tuple[int, int]) -> None:
    assert det_resize_shape(h, w, _params(**changes)) == expected


@pytest.mark.parametrize(
    ("h", "w", "expected"),
    [
        (112, 144, (128, 128)),  # 3.5 -> 4, 4.5 -> 4 (half-up would give 160 wide)
        (80, 48, (64, 64)),  # 2.5 -> 2, 1.5 -> 2
        (10, 300, (32, 288)),  # 0.3125 -> 0 -> minimum 32; 9.375 -> 9
        (16, 300, (32, 288)),  # 0.5 -> 0 (even) -> minimum 32
    ],
)
def test_resize_rounds_to_32_with_bankers_rounding(h: int, w: int, expected: tuple) -> None:
    # limit_type max with a large limit keeps ratio 1, so only the rounding acts.
    assert det_resize_shape(h, w, _params(limit_type="max")) == expected


def test_resize_caps_the_long_side_at_max_side_limit() -> None:
    # min 800 on 100 x 1000: ratio 8 -> 800 x 8000 > 4000 -> x0.5 -> 400 x 4000 -> 12.5 -> 12
    assert DEFAULT.max_side_limit == 4000
    assert det_resize_shape(100, 1000, _params(limit_side_len=800)) == (384, 4000)
    # the cap is the parameter: 2000 -> 200 x 2000 -> 6.25 -> 192, 62.5 -> 62 -> 1984
    capped = _params(limit_side_len=800, max_side_limit=2000)
    assert det_resize_shape(100, 1000, capped) == (192, 1984)


@pytest.mark.parametrize(
    ("h", "w", "expected"),
    [
        (10, 20, (736, 736)),  # h + w < 64: padded to 32 x 32, ratio 736/32 = 23
        (16, 47, (736, 1088)),  # padded to 32 x 47: 47 * 23 = 1081 -> 33.78 -> 1088
        (16, 48, (736, 2208)),  # h + w == 64: no padding, ratio 736/16 = 46
    ],
)
def test_resize_tiny_image_padding(h: int, w: int, expected: tuple[int, int]) -> None:
    assert det_resize_shape(h, w, DEFAULT) == expected


def test_resize_rejects_unknown_limit_type_and_empty_sizes() -> None:
    with pytest.raises(ValueError, match="limit_type"):
        det_resize_shape(100, 100, _params(limit_type="long"))
    with pytest.raises(InvalidImageError):
        det_resize_shape(0, 100, DEFAULT)


# ---------------------------------------------------------------------------------------------
# preprocess_det
# ---------------------------------------------------------------------------------------------


def test_preprocess_constant_image_uses_imagenet_rgb_stats_in_bgr_order() -> None:
    crop = np.full((736, 736, 3), 255, dtype=np.uint8)
    crop[368:, :] = (0, 255, 51)  # B, G, R
    x, meta = preprocess_det(crop, DEFAULT)
    assert x.dtype == np.float32 and x.shape == (3, 736, 736)
    # channel 0 (blue) is normalised with the *red* statistics 0.485 / 0.229
    np.testing.assert_allclose(x[:, 0, 0], [2.2489083, 2.4285714, 2.64], atol=1e-5)
    np.testing.assert_allclose(x[:, 700, 0], [-2.1179039, 2.4285714, -0.9155556], atol=1e-5)
    assert meta == DetInputMeta(src_h=736, src_w=736, ratio_h=1.0, ratio_w=1.0)


def test_preprocess_normalises_in_float32_steps() -> None:
    # PaddleX: plane.astype(float32); plane *= scale/std; plane += -mean/std (float32 in-place).
    values = np.arange(256, dtype=np.uint8)
    crop = np.ascontiguousarray(np.repeat(values[None, :, None], 736, axis=0).repeat(3, axis=2))
    x, meta = preprocess_det(crop, _params(limit_type="max", limit_side_len=4000))
    assert (meta.ratio_h, meta.ratio_w) == (1.0, 1.0)  # 736 x 256: no resize
    for c in range(3):
        alpha = np.float32((1.0 / 255.0) / STD[c])
        beta = np.float32(-MEAN[c] / STD[c])
        expected = values.astype(np.float32) * alpha + beta
        np.testing.assert_array_equal(x[c, 0, :], expected)


def test_preprocess_without_resize_keeps_pixels() -> None:
    rng = np.random.default_rng(7)
    crop = rng.integers(0, 256, size=(736, 1024, 3), dtype=np.uint8)
    x, meta = preprocess_det(crop, DEFAULT)
    assert x.shape == (3, 736, 1024)
    assert meta == DetInputMeta(736, 1024, 1.0, 1.0)
    back = (x.transpose(1, 2, 0) * np.array(STD) + np.array(MEAN)) * 255.0
    np.testing.assert_allclose(back, crop, atol=1e-3)


def test_preprocess_resize_ratios() -> None:
    crop = np.zeros((368, 500, 3), dtype=np.uint8)
    x, meta = preprocess_det(crop, DEFAULT)
    assert x.shape == (3, 736, 992)
    assert meta == DetInputMeta(src_h=368, src_w=500, ratio_h=2.0, ratio_w=992 / 500)


def test_preprocess_tiny_crop_is_padded_but_keeps_unpadded_source_size() -> None:
    crop = np.full((10, 20, 3), 255, dtype=np.uint8)
    x, meta = preprocess_det(crop, DEFAULT)
    assert x.shape == (3, 736, 736)
    assert (meta.src_h, meta.src_w) == (10, 20)
    assert (meta.ratio_h, meta.ratio_w) == (23.0, 23.0)
    white = [(1 - m) / s for m, s in zip(MEAN, STD, strict=True)]
    black = [-m / s for m, s in zip(MEAN, STD, strict=True)]
    np.testing.assert_allclose(x[:, 0, 0], white, atol=1e-5)  # the crop (top-left)
    np.testing.assert_allclose(x[:, 730, 730], black, atol=1e-5)  # the zero padding


@pytest.mark.parametrize(
    "crop",
    [
        np.zeros((40, 40, 3), dtype=np.float32),
        np.zeros((40, 40), dtype=np.uint8),
        np.zeros((40, 40, 4), dtype=np.uint8),
        np.zeros((0, 40, 3), dtype=np.uint8),
    ],
)
def test_preprocess_rejects_bad_crops(crop: np.ndarray) -> None:
    with pytest.raises(InvalidImageError):
        preprocess_det(crop, DEFAULT)


# ---------------------------------------------------------------------------------------------
# postprocess_db on synthetic probability maps
# ---------------------------------------------------------------------------------------------

# A 320 x 320 map for a 160 x 160 crop: map pixel / 2 = crop pixel.
HALF = DetInputMeta(src_h=160, src_w=160, ratio_h=2.0, ratio_w=2.0)


def _map(size: int = 320) -> np.ndarray:
    return np.zeros((size, size), dtype=np.float32)


def _bbox(poly: np.ndarray) -> tuple[int, int, int, int]:
    return (
        int(poly[:, 0].min()),
        int(poly[:, 1].min()),
        int(poly[:, 0].max()),
        int(poly[:, 1].max()),
    )


def test_two_rectangles_give_two_polygons_mapped_to_the_crop() -> None:
    prob = _map()
    prob[200:240, 40:282] = 0.9  # map contour x 40..281, y 200..239
    prob[40:80, 60:260] = 0.9  # map contour x 60..259, y 40..79
    result = sort_polys_by_min_y(postprocess_db(prob, HALF, DEFAULT))
    assert len(result.polys) == 2
    # Unclip distance = area * 0.5 / perimeter of the 4-point contour:
    #   top:    199 x 39 -> 7761 * 0.5 / 476 = 8.152 -> x 51.85..267.15, y 31.85..87.15
    #   bottom: 241 x 39 -> 9399 * 0.5 / 560 = 8.392 -> x 31.61..289.39, y 191.61..247.39
    # pyclipper rounds to integers (52, 267, 32, 87 / 32, 289, 192, 247), then x0.5 and
    # round-half-even: 133.5 -> 134 and 43.5 -> 44 (not floor), 144.5 -> 144 (not half-up).
    expected = [(26, 16, 134, 44), (16, 96, 144, 124)]  # sorted: top rectangle first
    for poly, score, bbox in zip(result.polys, result.scores, expected, strict=True):
        assert poly.dtype == np.int32 and poly.ndim == 2 and poly.shape[1] == 2
        assert _bbox(poly) == bbox
        assert len(poly) > 4  # pyclipper round joins turn each corner into an arc
        assert score == pytest.approx(0.9, abs=1e-5)


def test_blob_under_box_thresh_is_dropped() -> None:
    prob = _map()
    prob[40:80, 60:260] = 0.9
    prob[200:240, 40:280] = 0.5  # above thresh 0.2, below box_thresh 0.6
    result = postprocess_db(prob, HALF, DEFAULT)
    assert len(result.polys) == 1
    assert _bbox(result.polys[0])[1] < 30  # the surviving one is the top (0.9) rectangle
    # the drop comes from box_thresh: lowering it keeps both
    assert len(postprocess_db(prob, HALF, _params(box_thresh=0.4)).polys) == 2


def test_blob_under_min_size_is_dropped() -> None:
    prob = _map()
    # 4 x 4 pixels: contour side 3, unclip 9 * 0.5 / 12 = 0.375 -> rect side 3: >= min_size
    # but < min_size + 2 = 5, dropped
    prob[100:104, 100:104] = 0.9
    assert postprocess_db(prob, HALF, DEFAULT).polys == []
    prob = _map()
    prob[100:105, 100:105] = 0.9  # 5 x 5: side 4 + 2 x 0.5 -> >= 5, kept
    assert len(postprocess_db(prob, HALF, DEFAULT).polys) == 1


def test_contour_simplified_below_four_points_is_dropped() -> None:
    # A right isosceles triangle: CHAIN_APPROX_SIMPLE compresses the 45-degree staircase, so the
    # contour has 3 points and PaddleX skips it, however large and confident it is.
    prob = _map()
    triangle = np.array([[40, 40], [240, 40], [40, 240]], dtype=np.int32)
    cv2.fillPoly(prob, [triangle], 0.9)
    assert postprocess_db(prob, HALF, DEFAULT).polys == []


def test_arc_blob_gives_one_round_polygon_covering_it() -> None:
    prob = _map(400)
    cv2.ellipse(prob, (200, 230), (150, 150), 0, 200, 340, 0.9, thickness=24)
    meta = DetInputMeta(src_h=200, src_w=200, ratio_h=2.0, ratio_w=2.0)
    result = postprocess_db(prob, meta, DEFAULT)
    assert len(result.polys) == 1
    poly = result.polys[0]
    assert len(poly) > 4  # a curved polygon with pyclipper's round joins, not a quad
    assert 0.8 < result.scores[0] <= 0.9 + 1e-6

    contours, _ = cv2.findContours(
        (prob > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE
    )
    assert len(contours) == 1
    blob = Polygon(contours[0].reshape(-1, 2) * 0.5).buffer(0)
    detected = Polygon(poly).buffer(0)
    assert blob.intersection(detected).area / blob.area > 0.97
    assert detected.area < 1.6 * blob.area  # hugs the arc instead of boxing it


def test_coordinates_are_clipped_to_the_source_size() -> None:
    prob = _map()
    prob[0:40, 0:100] = 0.9  # touches the top-left corner
    prob[280:320, 220:320] = 0.9  # touches the bottom-right corner
    result = sort_polys_by_min_y(postprocess_db(prob, HALF, DEFAULT))
    assert len(result.polys) == 2
    top, bottom = result.polys
    assert _bbox(top)[:2] == (0, 0)  # unclip went negative, clipped to 0
    assert _bbox(bottom)[2:] == (160, 160)  # clipped to src_w / src_h (inclusive)
    for poly in result.polys:
        assert poly.min() >= 0 and poly.max() <= 160


def test_tiny_crop_maps_with_unpadded_size_over_padded_map() -> None:
    # A 10 x 20 crop is padded to 32 x 32 and resized x23: the crop fills map rows 0..230 and
    # columns 0..460 of the 736 x 736 map. PaddleX still scales by 20/736 and 10/736.
    prob = _map(736)
    prob[0:230, 0:460] = 0.9
    meta = DetInputMeta(src_h=10, src_w=20, ratio_h=23.0, ratio_w=23.0)
    result = postprocess_db(prob, meta, DEFAULT)
    assert len(result.polys) == 1
    x0, y0, x1, y1 = _bbox(result.polys[0])
    assert (x0, y0) == (0, 0)
    assert 12 <= x1 <= 14  # ~ (459 + unclip) * 20/736, well short of 20
    assert 3 <= y1 <= 4  # ~ (229 + unclip) * 10/736


def test_postprocess_rejects_bad_maps() -> None:
    with pytest.raises(ValueError, match="2-D"):
        postprocess_db(np.zeros((1, 32, 32), np.float32), HALF, DEFAULT)
    with pytest.raises(ValueError, match="float32"):
        postprocess_db(np.zeros((32, 32), np.float64), HALF, DEFAULT)


def test_empty_map_gives_no_polygons() -> None:
    result = postprocess_db(_map(), HALF, DEFAULT)
    assert result.polys == [] and result.scores == []


# ---------------------------------------------------------------------------------------------
# Sorting
# ---------------------------------------------------------------------------------------------


def _poly_at(y: int, x: int = 0) -> np.ndarray:
    return np.array([[x, y], [x + 10, y], [x + 10, y + 5], [x, y + 5]], dtype=np.int32)


def test_sort_by_min_y_is_ascending_and_stable() -> None:
    polys = [_poly_at(5, 0), _poly_at(1), _poly_at(5, 50), _poly_at(0)]
    result = sort_polys_by_min_y(DetResult(polys=polys, scores=[0.1, 0.2, 0.3, 0.4]))
    assert [int(p[:, 1].min()) for p in result.polys] == [0, 1, 5, 5]
    assert result.scores == [0.4, 0.2, 0.1, 0.3]  # scores follow their polygons; ties keep order
    assert result.polys[2] is polys[0] and result.polys[3] is polys[2]


def test_sort_is_stable_beyond_sixteen_items() -> None:
    ys = [i % 3 for i in range(20)]
    polys = [_poly_at(y, x=i) for i, y in enumerate(ys)]
    result = sort_polys_by_min_y(DetResult(polys=polys, scores=[float(i) for i in range(20)]))
    expected = [i for y in range(3) for i in range(20) if ys[i] == y]
    assert result.scores == [float(i) for i in expected]


def test_sort_empty_result() -> None:
    assert sort_polys_by_min_y(DetResult(polys=[], scores=[])) == DetResult([], [])


# ---------------------------------------------------------------------------------------------
# Real det model (stand-in PP-OCRv4 det ONNX)
# ---------------------------------------------------------------------------------------------


def test_real_det_model_finds_text_lines() -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(
        str(raw_model("ch_PP-OCRv4_det_infer.onnx")), providers=["CPUExecutionProvider"]
    )
    image = np.full((320, 760, 3), 255, dtype=np.uint8)
    bands = []  # (x0, y_top, x1, y_baseline) of each line's glyphs (caps/digits: no descenders)
    for text, (ox, oy) in (("SEAL TEXT 2026", (30, 110)), ("INVOICE 12345", (30, 240))):
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 2.0, 4)
        cv2.putText(image, text, (ox, oy), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (0, 0, 0), 4)
        bands.append((ox, oy - th, ox + tw, oy))

    x, meta = preprocess_det(image, DEFAULT)
    (prob,) = session.run(None, {"x": x[None]})
    assert prob.shape == (1, 1, *x.shape[1:])
    result = sort_polys_by_min_y(postprocess_db(prob[0, 0], meta, DEFAULT))

    assert len(result.polys) >= 2
    assert all(s >= DEFAULT.box_thresh for s in result.scores)
    per_line: list[list[np.ndarray]] = [[] for _ in bands]
    for poly in result.polys:
        x0, y0, x1, y1 = _bbox(poly)
        homes = [
            i
            for i, (bx0, by0, bx1, by1) in enumerate(bands)
            if by0 <= (y0 + y1) / 2 <= by1 and bx0 - 10 <= x0 and x1 <= bx1 + 10
        ]
        assert len(homes) == 1, f"polygon {x0, y0, x1, y1} is not over exactly one text line"
        per_line[homes[0]].append(poly)
    for (bx0, _, bx1, _), polys in zip(bands, per_line, strict=True):
        covered = unary_union([box(_bbox(p)[0], 0, _bbox(p)[2], 1) for p in polys])
        assert covered.intersection(box(bx0, 0, bx1, 1)).area / (bx1 - bx0) > 0.7
    # the seal sorter puts all of the upper line's polygons first
    n_top = len(per_line[0])
    assert all(any(p is q for q in per_line[0]) for p in result.polys[:n_top])
