"""The gateway's response side: PaddleX's prunedResult, the seed's texts, output pictures."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from seal_api.results import (
    fit_within,
    jpeg_base64,
    page_result,
    prune_result,
    pruned_result,
    seed_texts,
)
from seal_client.inputs import Page
from seal_client.visualize import find_cjk_font


def _result(with_layout: bool = True) -> dict:
    """A result JSON of the ensemble's shape: one seal with one line, one layout box."""
    seal = {
        "input_path": None,
        "page_index": None,
        "model_settings": {"use_doc_preprocessor": False, "use_textline_orientation": False},
        "dt_polys": [[[2, 2], [30, 2], [30, 12], [2, 12]]],
        "rec_texts": ["发票专用章"],
        "rec_scores": [0.9],
        "rec_polys": [[[2, 2], [30, 2], [30, 12], [2, 12]]],
        "rec_boxes": [],
    }
    result = {
        "input_path": None,
        "page_index": None,
        "model_settings": {"use_doc_preprocessor": False, "use_layout_detection": with_layout},
        "seal_res_list": [seal],
        "seal_boxes": [[10.0, 20.0, 50.0, 40.0]],
        "texts": [
            {
                "seal_index": 0,
                "poly": [[12, 22], [40, 22], [40, 32], [12, 32]],
                "text": "发票专用章",
                "score": 0.9,
            }
        ],
    }
    if with_layout:
        box = {"cls_id": 16, "label": "seal", "score": 0.9, "coordinate": [10, 20, 50, 40]}
        result["layout_det_res"] = {"input_path": None, "page_index": None, "boxes": [box]}
    return result


def _decode(b64: str) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(base64.b64decode(b64), np.uint8), cv2.IMREAD_COLOR)


def test_prune_removes_input_path_and_page_index_at_every_depth():
    value = {
        "input_path": "a",
        "page_index": 0,
        "keep": [{"page_index": 1, "x": [{"input_path": None, "y": 2}]}],
    }
    assert prune_result(value) == {"keep": [{"x": [{"y": 2}]}]}


def test_pruned_result_is_paddlex_keys_only():
    pruned = pruned_result(_result())
    assert set(pruned) == {"model_settings", "layout_det_res", "seal_res_list"}
    assert "page_index" not in pruned["layout_det_res"]
    assert set(pruned["seal_res_list"][0]) == {
        "model_settings",
        "dt_polys",
        "rec_texts",
        "rec_scores",
        "rec_polys",
        "rec_boxes",
    }


def test_seed_texts_are_page_polys_without_our_seal_index():
    assert seed_texts(_result()) == [
        {"poly": [[12, 22], [40, 22], [40, 32], [12, 32]], "text": "发票专用章", "score": 0.9}
    ]


@pytest.mark.parametrize(
    ("shape", "expected"),
    [((100, 50), (100, 50)), ((4000, 1000), (2000, 500)), ((1000, 3000), (666, 2000))],
)
def test_fit_within_shrinks_only_and_keeps_aspect(shape, expected):
    image = np.zeros((*shape, 3), np.uint8)
    assert fit_within(image, 2000).shape[:2] == expected


def test_jpeg_base64_round_trips_and_is_capped():
    image = np.full((3000, 600, 3), 200, np.uint8)
    decoded = _decode(jpeg_base64(image, 2000))
    assert decoded.shape == (2000, 400, 3)
    assert abs(int(decoded.mean()) - 200) <= 2


def test_page_result_without_visualisation_has_no_pictures():
    page = Page(input_path=None, page_index=None, data=b"")
    entry = page_result(page, _result(), font=None, max_side=2000)
    assert set(entry) == {"texts", "prunedResult"}


@pytest.mark.parametrize("with_layout", [True, False])
def test_page_result_pictures(with_layout):
    image = np.full((60, 80, 3), 255, np.uint8)
    page = Page(input_path=None, page_index=None, data=b"", image=image)
    entry = page_result(page, _result(with_layout), font=find_cjk_font(), max_side=2000)
    expected = {"seal_res_region1", "layout_det_res"} if with_layout else {"seal_res_region1"}
    assert set(entry["outputImages"]) == expected
    assert _decode(entry["inputImage"]).shape == (60, 80, 3)
    # the seal region picture is the crop beside its text panel: twice the crop's width
    assert _decode(entry["outputImages"]["seal_res_region1"]).shape == (20, 80, 3)
    # ocrImage is the same kind of picture for the whole page
    assert _decode(entry["ocrImage"]).shape == (60, 160, 3)
    layout = entry["layoutImage"]
    if with_layout:
        assert layout == entry["outputImages"]["layout_det_res"] != entry["inputImage"]
    else:
        assert layout == entry["inputImage"]
