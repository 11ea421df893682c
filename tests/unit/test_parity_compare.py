"""The parity comparison logic on hand-made results (the real run is `make parity`)."""

import copy

import numpy as np

from parity.compare import compare_page, poly_iou, summarise

SQUARE = [[0, 0], [10, 0], [10, 10], [0, 10]]
SHIFTED = [[1, 0], [11, 0], [11, 10], [1, 10]]


def result(texts=("发票专用章",), scores=(0.9,), polys=(SQUARE,), label="seal", score=0.91):
    seal = {
        "dt_polys": [list(p) for p in polys],
        "rec_polys": [list(p) for p in polys][: len(texts)],
        "rec_texts": list(texts),
        "rec_scores": list(scores),
    }
    return {
        "model_settings": {"use_doc_preprocessor": False, "use_layout_detection": True},
        "layout_det_res": {
            "boxes": [
                {"cls_id": 2, "label": label, "score": score, "coordinate": [5.5, 6.2, 80.9, 90.1]}
            ]
        },
        "seal_res_list": [seal],
    }


def compare(ours, theirs, synthetic=False, ours_crops=None, theirs_crops=None):
    crop = np.zeros((4, 8, 3), np.uint8)
    return compare_page(
        __import__("pathlib").Path("x.png"),
        "layout",
        ours,
        theirs,
        ours_crops or [[crop]],
        theirs_crops or [[crop]],
        (100, 100),
        synthetic,
    )


def test_identical_results_pass():
    page = compare(result(label="figure"), result(label="seal"))  # stand-in label alias
    assert page.problems == [] and page.layout_identical and page.seal_boxes_identical
    [line] = page.lines
    assert line.text_identical and line.poly_identical and line.score_diff == 0
    assert line.crop_max_diff == 0
    summary = summarise([page])
    assert summary.passed and summary.texts_real == (1, 1)
    assert summary.line().startswith("parity: texts 1/1 identical")


def test_text_and_score_differences_fail():
    page = compare(result(texts=("发票专用章",), scores=(0.9,)), result(texts=("发票专用育",)))
    assert not page.lines[0].text_identical
    assert not summarise([page]).passed
    page = compare(result(scores=(0.9,)), result(scores=(0.902,)))
    summary = summarise([page])
    assert summary.scores_ok == (0, 1) and not summary.passed


def test_synthetic_texts_allow_one_percent():
    good = [compare(result(), result(), synthetic=True) for _ in range(99)]
    bad = compare(result(texts=("a",)), result(texts=("b",)), synthetic=True)
    assert summarise([*good, bad]).passed  # 99/100
    assert not summarise([*good[:50], bad]).passed  # 50/51


def test_layout_and_seal_box_differences():
    theirs = result()
    moved = copy.deepcopy(theirs)
    moved["layout_det_res"]["boxes"][0]["coordinate"][0] = 6.1  # int() crop changes 5 -> 6
    page = compare(moved, theirs)
    assert not page.layout_identical and not page.seal_boxes_identical
    assert not summarise([page]).passed


def test_polygon_iou_and_matching():
    assert poly_iou(SQUARE, SQUARE) == 1.0
    assert abs(poly_iou(SQUARE, SHIFTED) - 90 / 110) < 1e-9
    page = compare(result(polys=(SQUARE,)), result(polys=(SHIFTED,)))
    assert not page.lines[0].poly_identical and page.lines[0].iou < 0.98
    assert not summarise([page]).passed


def test_crop_pixel_difference_is_reported():
    a = np.zeros((4, 8, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 3
    page = compare(result(), result(), ours_crops=[[a]], theirs_crops=[[b]])
    assert page.lines[0].crop_max_diff == 3
    page = compare(result(), result(), ours_crops=[[a]], theirs_crops=[[a[:, :4]]])
    assert page.lines[0].crop_max_diff is None and not page.lines[0].crop_same_shape


def test_unmatched_lines_count_as_different():
    extra = [[50, 50], [60, 50], [60, 60]]
    theirs = result(texts=("发票专用章", "123"), scores=(0.9, 0.8), polys=(SQUARE, extra))
    page = compare(result(polys=(SQUARE,)), theirs)
    assert len(page.lines) == 2
    summary = summarise([page])
    assert summary.texts_real == (1, 2) and not summary.passed
