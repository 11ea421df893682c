"""Unit tests of ``seal_ocr.layout``: PaddleX layout pre-processing and ``DetPostProcess`` rules.

Every expected value is derived by hand from the rule it tests (PaddleX 3.7.2
``object_detection/processors.py``), on small hand-made boxes.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from seal_ocr.errors import InvalidImageError
from seal_ocr.layout import (
    LayoutBox,
    _apply_threshold,
    _filter_large_images,
    _merge,
    _nms,
    _scale_about_centre,
    _to_layout_boxes,
    postprocess_layout,
    preprocess_layout,
    select_seal_boxes,
)
from seal_ocr.params import LayoutParams

# A PP-DocLayout-like label list: has "image" (large-image filter) and "formula" (merge exception).
LABELS = ["text", "image", "table", "formula", "seal"]
TEXT, IMAGE, TABLE, FORMULA, SEAL = range(5)
CDLA_LABELS = ["text", "title", "figure", "figure_caption", "table", "table_caption", "header"]
CDLA_LABELS += ["footer", "reference", "equation"]


def rows(*boxes: tuple[float, ...]) -> np.ndarray:
    """(n, 6) float32 rows (cls, score, x1, y1, x2, y2), as the layout model emits them."""
    return np.array(boxes, dtype=np.float32).reshape(-1, 6)


def coords(boxes: np.ndarray) -> list[list[float]]:
    return boxes[:, 2:].tolist()


# --------------------------------------------------------------------------- threshold


def test_threshold_is_strict_at_exactly_the_threshold() -> None:
    boxes = rows(
        (TEXT, 0.5, 0, 0, 10, 10),  # == 0.5: dropped
        (TEXT, np.nextafter(np.float32(0.5), np.float32(1)), 0, 0, 10, 10),  # one ulp above
        (TEXT, 0.9, 0, 0, 10, 10),
    )
    kept = _apply_threshold(boxes, 0.5)
    assert kept[:, 1].tolist() == [boxes[1, 1], boxes[2, 1]]


def test_threshold_compares_in_float32() -> None:
    # float32(0.3) > 0.3 in float64, but the comparison is done in float32: equal -> dropped.
    boxes = rows((TEXT, 0.3, 0, 0, 10, 10))
    assert len(_apply_threshold(boxes, 0.3)) == 0


def test_threshold_drops_negative_class_ids() -> None:
    boxes = rows((-1, 0.9, 0, 0, 10, 10), (SEAL, 0.9, 0, 0, 10, 10))
    assert _apply_threshold(boxes, 0.5)[:, 0].tolist() == [SEAL]
    assert _apply_threshold(boxes, {SEAL: 0.1})[:, 0].tolist() == [SEAL]


def test_per_class_threshold_dict_defaults_to_half_and_groups_by_class() -> None:
    boxes = rows(
        (SEAL, 0.30, 0, 0, 10, 10),  # seal threshold 0.2: kept
        (TEXT, 0.45, 0, 0, 10, 10),  # text not in dict -> 0.5: dropped
        (TABLE, 0.95, 0, 0, 10, 10),  # table threshold 0.96: dropped
        (TEXT, 0.60, 0, 0, 10, 10),  # kept
        (SEAL, 0.25, 0, 0, 10, 10),  # kept
        (SEAL, 0.2, 0, 0, 10, 10),  # exactly the seal threshold: dropped
    )
    kept = _apply_threshold(boxes, {SEAL: 0.2, TABLE: 0.96})
    # Rows come back grouped by ascending class id, input order within a class.
    assert kept[:, 0].tolist() == [TEXT, SEAL, SEAL]
    assert kept[:, 1].tolist() == pytest.approx([0.60, 0.30, 0.25])


def test_per_class_threshold_order_survives_when_nms_is_off() -> None:
    boxes = rows((SEAL, 0.9, 0, 0, 10, 10), (TEXT, 0.8, 20, 20, 40, 40))
    params = LayoutParams(threshold={SEAL: 0.5}, nms=False, merge_bboxes_mode="union")
    out = postprocess_layout(boxes, LABELS, (100, 100), params)
    assert [b.cls_id for b in out] == [TEXT, SEAL]


# --------------------------------------------------------------------------- NMS


def test_nms_same_class_suppresses_at_iou_0_6() -> None:
    # "+1" areas: A = 10 x 10 = 100; B inside A with 10 x (y2 + 1): IoU = 10 (y2 + 1) / 100.
    a = (TEXT, 0.9, 0, 0, 9, 9)
    assert len(_nms(rows(a, (TEXT, 0.8, 0, 0, 9, 5)))) == 1  # IoU 0.6: suppressed
    assert len(_nms(rows(a, (TEXT, 0.8, 0, 0, 9, 4)))) == 2  # IoU 0.5: kept


def test_nms_other_class_suppresses_only_at_iou_0_98() -> None:
    a = (TEXT, 0.9, 0, 0, 9, 9)
    assert len(_nms(rows(a, (TABLE, 0.8, 0, 0, 9, 8.8)))) == 1  # IoU 0.98: suppressed
    assert len(_nms(rows(a, (TABLE, 0.8, 0, 0, 9, 8.7)))) == 2  # IoU 0.97: kept
    assert len(_nms(rows(a, (TEXT, 0.8, 0, 0, 9, 8.7)))) == 1  # same IoU, same class: gone


def test_nms_uses_plus_one_pixel_areas() -> None:
    # Plain IoU = 11.2 / 20.8 = 0.54 (would keep); "+1" IoU = 19 / 31 = 0.61 (suppresses).
    boxes = rows((TEXT, 0.9, 0, 0, 4, 4), (TEXT, 0.8, 1.2, 0, 5.2, 4))
    assert len(_nms(boxes)) == 1


def test_nms_output_is_score_descending_and_greedy() -> None:
    boxes = rows(
        (TEXT, 0.5, 100, 100, 150, 150),
        (TEXT, 0.7, 0, 0, 9, 9),
        (TEXT, 0.9, 0, 0, 9, 8),  # suppresses the 0.7 box (IoU 0.9)
        (SEAL, 0.8, 200, 0, 260, 60),
    )
    out = _nms(boxes)
    assert out[:, 1].tolist() == pytest.approx([0.9, 0.8, 0.5])


def _scalar_nms(boxes: np.ndarray) -> list[int]:
    """Row-by-row statement of the rule with float32 scalars, to check the vectorised code."""
    f32, order, keep = np.float32, list(np.argsort(boxes[:, 1])[::-1]), []
    while order:
        cur, order = order[0], order[1:]
        keep.append(cur)
        c = boxes[cur]
        survivors = []
        for i in order:
            o = boxes[i]
            iw = max(f32(0), f32(f32(min(c[4], o[4]) - max(c[2], o[2])) + f32(1)))
            ih = max(f32(0), f32(f32(min(c[5], o[5]) - max(c[3], o[3])) + f32(1)))
            inter = f32(iw * ih)
            a1 = f32(f32(c[4] - c[2] + f32(1)) * f32(c[5] - c[3] + f32(1)))
            a2 = f32(f32(o[4] - o[2] + f32(1)) * f32(o[5] - o[3] + f32(1)))
            iou = f32(inter / f32(f32(a1 + a2) - inter))
            if iou < f32(0.6 if c[0] == o[0] else 0.98):
                survivors.append(i)
        order = survivors
    return keep


def test_nms_matches_a_scalar_statement_of_the_rule_on_random_boxes() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = 40
        xy = rng.integers(0, 60, (n, 2)).astype(np.float32) + rng.random((n, 2), np.float32)
        wh = rng.integers(1, 40, (n, 2)).astype(np.float32)
        cls = rng.integers(0, 3, n).astype(np.float32)
        score = rng.random(n, np.float32)
        boxes = np.column_stack([cls, score, xy, xy + wh]).astype(np.float32)
        np.testing.assert_array_equal(_nms(boxes), boxes[_scalar_nms(boxes)])


def test_nms_handles_no_boxes() -> None:
    assert _nms(rows()).shape == (0, 6)


# --------------------------------------------------------------------------- large-image filter


def test_large_image_dropped_on_landscape_page_above_82_percent() -> None:
    page_hw = (800, 1000)  # landscape: limit 0.82 of 800 000
    boxes = rows((IMAGE, 0.9, 0, 0, 1000, 700), (TEXT, 0.9, 10, 10, 50, 50))  # 0.875
    assert _filter_large_images(boxes, LABELS, page_hw)[:, 0].tolist() == [TEXT]


def test_large_image_kept_on_portrait_page_below_93_percent() -> None:
    page_hw = (1000, 800)  # portrait: limit 0.93
    boxes = rows((IMAGE, 0.9, 0, 0, 800, 875), (TEXT, 0.9, 10, 10, 50, 50))  # 0.875
    assert len(_filter_large_images(boxes, LABELS, page_hw)) == 2
    boxes = rows((IMAGE, 0.9, 0, 0, 800, 950), (TEXT, 0.9, 10, 10, 50, 50))  # 0.95
    assert _filter_large_images(boxes, LABELS, page_hw)[:, 0].tolist() == [TEXT]


def test_large_image_area_is_measured_after_clamping_to_the_page() -> None:
    # Unclamped 1100 x 700 would be 0.96 of the page; clamped 1000 x 650 is 0.8125 <= 0.82.
    boxes = rows((IMAGE, 0.9, -50, -50, 1050, 650), (TEXT, 0.9, 10, 10, 50, 50))
    assert len(_filter_large_images(boxes, LABELS, (800, 1000))) == 2


def test_large_image_filter_needs_two_boxes_and_never_empties_the_page() -> None:
    page_hw = (800, 1000)
    single = rows((IMAGE, 0.9, 0, 0, 1000, 800))
    assert len(_filter_large_images(single, LABELS, page_hw)) == 1
    both_large = rows((IMAGE, 0.9, 0, 0, 1000, 800), (IMAGE, 0.8, 0, 0, 990, 790))
    assert len(_filter_large_images(both_large, LABELS, page_hw)) == 2


def test_large_image_filter_is_off_without_an_image_label() -> None:
    # CDLA has "figure", not "image": nothing is filtered.
    boxes = rows((2, 0.9, 0, 0, 1000, 800), (0, 0.9, 10, 10, 50, 50))
    assert len(_filter_large_images(boxes, CDLA_LABELS, (800, 1000))) == 2


# --------------------------------------------------------------------------- merge


def test_merge_large_drops_seal_95_percent_inside_table_union_keeps_it() -> None:
    table = (TABLE, 0.9, 1, 0, 100, 100)
    seal = (SEAL, 0.8, 0, 0, 20, 20)  # x 1..20 of 0..20 inside: 0.95 of its area
    boxes = rows(table, seal)
    assert _merge(boxes, LABELS, "large")[:, 0].tolist() == [TABLE]
    assert _merge(boxes, LABELS, "union")[:, 0].tolist() == [TABLE, SEAL]


def test_merge_containment_boundary_is_90_percent_inclusive() -> None:
    seal = (SEAL, 0.8, 0, 0, 20, 20)
    at_90 = rows((TABLE, 0.9, 2, 0, 100, 100), seal)  # 18 / 20 = 0.9: contained
    at_85 = rows((TABLE, 0.9, 3, 0, 100, 100), seal)  # 17 / 20 = 0.85: not contained
    assert _merge(at_90, LABELS, "large")[:, 0].tolist() == [TABLE]
    assert _merge(at_85, LABELS, "large")[:, 0].tolist() == [TABLE, SEAL]


def test_merge_small_drops_the_container_unless_it_is_itself_contained() -> None:
    boxes = rows(
        (TABLE, 0.9, 0, 0, 100, 100),  # contains the seal, not contained: dropped
        (SEAL, 0.8, 10, 10, 30, 30),  # contained: kept
        (TEXT, 0.7, 200, 200, 300, 300),  # unrelated: kept
    )
    assert _merge(boxes, LABELS, "small")[:, 0].tolist() == [SEAL, TEXT]
    nested = rows(
        (IMAGE, 0.9, 0, 0, 200, 200),  # outermost: contains, not contained -> dropped
        (TABLE, 0.9, 10, 10, 100, 100),  # contains the seal but is contained -> kept
        (SEAL, 0.8, 20, 20, 30, 30),
    )
    assert _merge(nested, LABELS, "small")[:, 0].tolist() == [TABLE, SEAL]


def test_merge_formula_inside_text_is_kept_in_large_mode() -> None:
    boxes = rows((TEXT, 0.9, 0, 0, 100, 100), (FORMULA, 0.8, 10, 10, 40, 20))
    assert _merge(boxes, LABELS, "large")[:, 0].tolist() == [TEXT, FORMULA]
    # The exception is one-way: a text box inside a formula is still dropped ...
    boxes = rows((FORMULA, 0.9, 0, 0, 100, 100), (TEXT, 0.8, 10, 10, 40, 20))
    assert _merge(boxes, LABELS, "large")[:, 0].tolist() == [FORMULA]
    # ... and so is a formula inside a formula.
    boxes = rows((FORMULA, 0.9, 0, 0, 100, 100), (FORMULA, 0.8, 10, 10, 40, 20))
    assert _merge(boxes, LABELS, "large")[:, 1].tolist() == pytest.approx([0.9])


def test_merge_formula_exception_needs_the_formula_label() -> None:
    # CDLA calls it "equation": no exception, the equation inside the text box goes.
    boxes = rows((0, 0.9, 0, 0, 100, 100), (9, 0.8, 10, 10, 40, 20))
    assert _merge(boxes, CDLA_LABELS, "large")[:, 0].tolist() == [0]


def test_merge_per_class_dict() -> None:
    boxes = rows(
        (TABLE, 0.9, 0, 0, 100, 100),
        (SEAL, 0.8, 10, 10, 30, 30),  # inside the table
        (IMAGE, 0.9, 200, 0, 300, 100),
        (TEXT, 0.7, 210, 10, 230, 30),  # inside the image
    )
    # "large" for tables: only boxes contained in a *table* go.
    assert _merge(boxes, LABELS, {TABLE: "large"})[:, 0].tolist() == [TABLE, IMAGE, TEXT]
    # "small" for seals: only containers of a *seal* go.
    assert _merge(boxes, LABELS, {SEAL: "small"})[:, 0].tolist() == [SEAL, IMAGE, TEXT]
    # Several entries are AND-ed; "union" entries change nothing.
    both = {TABLE: "large", IMAGE: "large", SEAL: "union"}
    assert _merge(boxes, LABELS, both)[:, 0].tolist() == [TABLE, IMAGE]


def test_merge_ignores_degenerate_boxes_as_contained() -> None:
    # A zero-area box has no containment ratio (PaddleX: 0), so it is never "contained".
    boxes = rows((TABLE, 0.9, 0, 0, 100, 100), (SEAL, 0.8, 10, 10, 10, 30))
    assert len(_merge(boxes, LABELS, "large")) == 2


# --------------------------------------------------------------------------- unclip, clamp


def test_unclip_scales_about_the_centre_with_a_w_h_tuple() -> None:
    out = _scale_about_centre(rows((SEAL, 0.9, 10, 20, 30, 60)), (2.0, 0.5))
    # w 20 -> 40, h 40 -> 20, centre (20, 40).
    assert coords(out) == [[0.0, 30.0, 40.0, 50.0]]
    assert out.dtype == np.float32


def test_unclip_one_recomputes_in_float32() -> None:
    boxes = rows((SEAL, 0.9, 0.1, 0.7, 333.3, 123.456))
    out = _scale_about_centre(boxes, 1.0)
    x1, y1, x2, y2 = (boxes[0, k] for k in range(2, 6))
    w, h, two = x2 - x1, y2 - y1, np.float32(2)
    expected = [x1 + w / two - w / two, y1 + h / two - h / two, x1 + w / two + w / two]
    expected.append(y1 + h / two + h / two)
    assert out[0, 2:].tolist() == [float(v) for v in expected]
    np.testing.assert_allclose(out[0, 2:], boxes[0, 2:], atol=1e-4)


def test_clamp_writes_ints_at_the_border_and_drops_degenerate_boxes() -> None:
    boxes = rows(
        (SEAL, 0.9, -5, -5, 50, 50),  # clamped to the 40 x 30 page -> (0, 0, 40, 30) ints
        (TEXT, 0.8, 50, 10, 60, 20),  # x1 50 >= clamped x2 40: dropped
        (TEXT, 0.7, 10, 10, 10, 20),  # zero width: dropped
        (TEXT, 0.6, 0, 5.5, 39.5, 25),  # 0 stays an int (max(0, 0.0) is 0), rest floats
    )
    out = _to_layout_boxes(boxes, LABELS, (30, 40))
    assert [b.cls_id for b in out] == [SEAL, TEXT]
    assert out[0].coordinate == (0, 0, 40, 30)
    assert all(type(v) is int for v in out[0].coordinate)
    assert [type(v) for v in out[1].coordinate] == [int, float, float, float]
    assert json.dumps(out[0].to_json()["coordinate"]) == "[0, 0, 40, 30]"


# --------------------------------------------------------------------------- whole post-process


def test_postprocess_defaults_run_every_rule_in_order() -> None:
    raw = rows(
        (TEXT, 0.95, 10, 10, 500, 300),
        (TEXT, 0.90, 12, 12, 498, 298),  # same-class duplicate: NMS
        (SEAL, 0.85, 300, 100, 400, 200),  # inside the text box: merge "large"
        (SEAL, 0.80, 600, 500, 760, 660),  # free-standing seal: kept
        (TABLE, 0.40, 600, 100, 700, 200),  # below 0.5
        (IMAGE, 0.70, -10, -10, 1010, 790),  # 100 % of a landscape page: large-image filter
    )
    out = postprocess_layout(raw, LABELS, (800, 1000), LayoutParams())
    assert [(b.label, round(b.score, 2)) for b in out] == [("text", 0.95), ("seal", 0.8)]
    assert out[1].coordinate == (600.0, 500.0, 760.0, 660.0)


def test_postprocess_empty_input() -> None:
    assert postprocess_layout(rows(), LABELS, (100, 100), LayoutParams()) == []
    params = LayoutParams(threshold={SEAL: 0.3})
    assert postprocess_layout(rows(), LABELS, (100, 100), params) == []


def test_postprocess_unclip_then_clamp() -> None:
    raw = rows((SEAL, 0.9, 10, 10, 50, 30))
    params = LayoutParams(unclip_ratio=(3.0, 1.0))
    (box,) = postprocess_layout(raw, LABELS, (100, 100), params)
    assert box.coordinate == (0, 10.0, 90.0, 30.0)  # x: centre 30, w 40 -> 120: -30 clamps to 0


def test_to_json_matches_paddlex_box_dict() -> None:
    box = LayoutBox(SEAL, "seal", 0.875, (1.5, 0, 30.25, 40))
    assert box.to_json() == {
        "cls_id": SEAL,
        "label": "seal",
        "score": 0.875,
        "coordinate": [1.5, 0, 30.25, 40],
    }
    assert list(box.to_json()) == ["cls_id", "label", "score", "coordinate"]


# --------------------------------------------------------------------------- seal selection, crop


def test_select_seal_boxes_case_insensitive_in_order() -> None:
    boxes = [
        LayoutBox(SEAL, "Seal", 0.9, (0, 0, 1, 1)),
        LayoutBox(TEXT, "text", 0.8, (0, 0, 1, 1)),
        LayoutBox(SEAL, "seal", 0.7, (0, 0, 1, 1)),
    ]
    assert select_seal_boxes(boxes, "SEAL") == [boxes[0], boxes[2]]
    assert select_seal_boxes(boxes, "figure") == []


# --------------------------------------------------------------------------- pre-processing


def test_preprocess_pure_blue_page_gives_per_channel_constants_in_rgb_order() -> None:
    page = np.zeros((1000, 700, 3), np.uint8)
    page[..., 0] = 255  # blue in BGR
    out = preprocess_layout(page)
    assert out.image.shape == (3, 800, 608) and out.image.dtype == np.float32
    assert out.image.flags.c_contiguous
    # RGB = (0, 0, 255): R = -0.485/0.229, G = -0.456/0.224, B = (1 - 0.406)/0.225.
    expected = [-0.485 / 0.229, -0.456 / 0.224, (1 - 0.406) / 0.225]
    for channel, value in enumerate(expected):
        assert np.all(out.image[channel] == out.image[channel, 0, 0])
        assert out.image[channel, 0, 0] == pytest.approx(value, abs=1e-5)
    # Exactly PaddleX's float32 arithmetic: x * float32(scale / std) + float32(-mean / std).
    blue = np.float32(255) * np.float32((1 / 255) / 0.225) + np.float32(-0.406 / 0.225)
    assert out.image[2, 0, 0] == blue
    assert out.scale_factor.dtype == np.float32
    assert out.scale_factor.tolist() == [np.float32(800 / 1000), np.float32(608 / 700)]


def test_preprocess_matches_the_op_sequence_on_a_textured_page() -> None:
    rng = np.random.default_rng(0)
    page = rng.integers(0, 256, (123, 97, 3), dtype=np.uint8)
    out = preprocess_layout(page, (80, 60))
    rgb = cv2.resize(page[..., ::-1].copy(), (60, 80), interpolation=cv2.INTER_CUBIC)
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    reference = ((rgb.astype(np.float64) / 255 - mean) / std).transpose(2, 0, 1)
    np.testing.assert_allclose(out.image, reference, atol=1e-5)
    assert out.scale_factor.tolist() == [np.float32(80 / 123), np.float32(60 / 97)]


def test_preprocess_skips_resize_at_the_input_size() -> None:
    rng = np.random.default_rng(1)
    page = rng.integers(0, 256, (80, 60, 3), dtype=np.uint8)
    out = preprocess_layout(page, (80, 60))
    np.testing.assert_array_equal(out.scale_factor, np.ones(2, np.float32))
    alpha = np.float32((1 / 255) / 0.229)
    beta = np.float32(-0.485 / 0.229)
    red = page[..., 2].astype(np.float32) * alpha + beta
    np.testing.assert_array_equal(out.image[0], red)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((10, 10), np.uint8),
        np.zeros((10, 10, 4), np.uint8),
        np.zeros((10, 10, 3), np.float32),
        np.zeros((0, 10, 3), np.uint8),
    ],
)
def test_preprocess_refuses_non_bgr_pages(bad: np.ndarray) -> None:
    with pytest.raises(InvalidImageError):
        preprocess_layout(bad)


def test_keep_nested_seals_protects_the_seal_class_only() -> None:
    # PaddleOCR#18306: "large" drops a seal stamped inside a table; keep_nested_seals keeps it
    table = (TABLE, 0.9, 0, 0, 100, 100)
    seal = (SEAL, 0.8, 10, 10, 40, 40)
    text = (0, 0.7, 50, 50, 90, 60)  # also inside the table: still dropped
    raw = rows(table, seal, text)
    paddlex = postprocess_layout(raw, LABELS, (100, 100), LayoutParams(), seal_label="seal")
    assert [box.label for box in paddlex] == ["table"]
    fixed = postprocess_layout(
        raw, LABELS, (100, 100), LayoutParams(keep_nested_seals=True), seal_label="seal"
    )
    assert [box.label for box in fixed] == ["table", "seal"]
    # without knowing the seal label the option cannot apply
    unknown = postprocess_layout(raw, LABELS, (100, 100), LayoutParams(keep_nested_seals=True))
    assert [box.label for box in unknown] == ["table"]
