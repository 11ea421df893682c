"""The result JSON: PaddleX keys and order, score filter, page-frame extras, the schema."""

import json

import jsonschema
import numpy as np
import pytest

from seal_ocr.params import parse_options
from seal_ocr.pipeline import assemble
from seal_ocr.result import dumps, result_schema

POLY_A = np.array([[10, 5], [60, 5], [60, 20], [10, 20]], np.int32)
POLY_B = np.array([[12, 40], [70, 38], [71, 55], [11, 56], [5, 48]], np.int32)
LAYOUT = [
    {"cls_id": 2, "label": "figure", "score": 0.91, "coordinate": [100.7, 50.2, 300.0, 260.9]},
    {"cls_id": 0, "label": "text", "score": 0.8, "coordinate": [10.0, 10.0, 90.0, 30.0]},
]


def make(options=None, texts=("发票专用章", "12345"), scores=(0.99, 0.3)):
    options = parse_options(options or {})
    seal_boxes = np.array([[100.7, 50.2, 300.0, 260.9]])
    return assemble(options, LAYOUT, seal_boxes, [[POLY_A, POLY_B]], list(texts), list(scores))


def test_paddlex_keys_in_paddlex_order():
    result = make()
    assert list(result) == [
        "input_path", "page_index", "model_settings", "layout_det_res", "seal_res_list",
        "seal_boxes", "texts",
    ]  # fmt: skip
    seal = result["seal_res_list"][0]
    assert list(seal) == [
        "input_path", "page_index", "model_settings", "dt_polys", "text_det_params", "text_type",
        "textline_orientation_angles", "text_rec_score_thresh", "rec_texts", "rec_scores",
        "rec_polys", "rec_boxes",
    ]  # fmt: skip
    assert result["model_settings"] == {"use_doc_preprocessor": False, "use_layout_detection": True}
    assert result["layout_det_res"]["boxes"] == LAYOUT
    assert seal["text_type"] == "seal" and seal["rec_boxes"] == []
    assert seal["textline_orientation_angles"] == [-1, -1]
    jsonschema.validate(result, result_schema())


def test_score_filter_keeps_dt_polys():
    seal = make({"seal_rec_score_thresh": 0.5})["seal_res_list"][0]
    assert seal["dt_polys"] == [POLY_A.tolist(), POLY_B.tolist()]
    assert seal["rec_texts"] == ["发票专用章"]
    assert seal["rec_polys"] == [POLY_A.tolist()]
    assert seal["text_rec_score_thresh"] == 0.5


def test_threshold_is_inclusive():
    seal = make({"seal_rec_score_thresh": 0.3})["seal_res_list"][0]
    assert seal["rec_texts"] == ["发票专用章", "12345"]


def test_page_coordinates_add_the_truncated_seal_origin():
    texts = make()["texts"]
    assert [t["text"] for t in texts] == ["发票专用章", "12345"]
    assert texts[0]["poly"] == (POLY_A + np.array([100, 50])).tolist()
    assert texts[1]["seal_index"] == 0


def test_no_layout_omits_layout_det_res():
    options = parse_options({"use_layout_detection": False})
    result = assemble(options, None, np.array([[0.0, 0.0, 50.0, 40.0]]), [[]], [], [])
    assert "layout_det_res" not in result
    assert result["seal_res_list"][0]["dt_polys"] == []
    jsonschema.validate(result, result_schema())


def test_mismatched_text_count_is_an_error():
    with pytest.raises(ValueError):
        make(texts=("only one",), scores=(0.9,))


def test_dumps_is_utf8_without_escapes():
    data = dumps(make())
    assert "发票专用章".encode() in data
    assert json.loads(data) == json.loads(json.dumps(make()))


def test_schema_rejects_a_broken_result():
    result = make()
    result["seal_res_list"][0]["text_type"] = "general"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(result, result_schema())


def test_empty_seal_crop_gets_no_model_call_and_no_lines():
    from seal_ocr.pipeline import seal_det_inputs

    page = np.full((100, 100, 3), 255, np.uint8)
    boxes = np.array([[10.2, 10.0, 10.9, 50.0], [0.0, 0.0, 64.0, 64.0]])  # first: < 1 px wide
    inputs, metas = seal_det_inputs(page, boxes, parse_options({}).seal_det)
    assert metas[0] is None and metas[1] is not None
    assert len(inputs) == 1
