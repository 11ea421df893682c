"""The gateway's request side: camelCase options onto params.py, file types, base64."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import ValidationError

from seal_api.errors import ApiError, validation_message
from seal_api.files import (
    FILE_TYPE_IMAGE,
    FILE_TYPE_PDF,
    decode_base64,
    infer_file_type,
    is_url,
    resolve_file_type,
)
from seal_api.options import REQUEST_OPTION_FIELDS, options_json, pipeline_options
from seal_api.schemas import InferRequest
from seal_ocr.errors import InvalidOptionError
from seal_ocr.params import OPTION_NAMES, parse_options, to_camel

NON_OPTION_FIELDS = {"file", "fileType", "visualize", "pdfPages", "details"}


def test_every_params_option_is_a_request_field_and_back():
    fields = set(InferRequest.model_fields) - NON_OPTION_FIELDS
    assert fields == set(REQUEST_OPTION_FIELDS)
    assert set(REQUEST_OPTION_FIELDS.values()) == set(OPTION_NAMES)


@pytest.mark.parametrize(
    ("name", "camel"),
    [
        ("seal_det_limit_side_len", "sealDetLimitSideLen"),
        ("use_doc_orientation_classify", "useDocOrientationClassify"),
        ("layout_nms", "layoutNms"),
        ("keep_nested_seals", "keepNestedSeals"),
    ],
)
def test_to_camel_gives_paddlex_field_names(name, camel):
    assert to_camel(name) == camel


def test_set_options_are_forwarded_under_paddlex_names_and_unset_ones_dropped():
    request = InferRequest.model_validate(
        {
            "file": "x",
            "useLayoutDetection": False,
            "layoutThreshold": {"2": 0.3},
            "layoutUnclipRatio": [1.0, 1.5],
            "sealDetLimitSideLen": 0,
            "sealRecScoreThresh": None,
            "visualize": False,
        }
    )
    options = pipeline_options(request.model_dump())
    assert options == {
        "use_layout_detection": False,
        "layout_threshold": {"2": 0.3},
        "layout_unclip_ratio": [1.0, 1.5],
        "seal_det_limit_side_len": 0,  # 0 is set (PaddleX: "the default"), not dropped
    }
    parsed = parse_options(json.loads(options_json(options)))
    assert parsed.use_layout_detection is False
    assert parsed.layout.threshold == {2: 0.3}
    assert parsed.seal_det.limit_side_len == 736


def test_no_options_send_no_options_tensor():
    assert options_json(pipeline_options(InferRequest(file="x").model_dump())) is None


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"sealDetThresh": 1.5}, "seal_det_thresh"),
        ({"sealDetUnclipRatio": -1}, "seal_det_unclip_ratio"),
        ({"layoutThreshold": {"x": 0.5}}, "layout_threshold"),
        ({"sealRecScoreThresh": 2}, "seal_rec_score_thresh"),
    ],
)
def test_out_of_range_options_are_refused_by_params(fields, match):
    options = pipeline_options(InferRequest.model_validate({"file": "x", **fields}).model_dump())
    with pytest.raises(InvalidOptionError, match=match):
        options_json(options)


@pytest.mark.parametrize(
    "fields",
    [
        {"useLayoutDetection": "true"},  # lax pydantic would take it; the schema says bool
        {"sealDetThresh": "0.3"},
        {"sealDetThresh": True},
        {"sealDetLimitSideLen": 736.5},
        {"sealDetLimitType": "diagonal"},
        {"layoutMergeBboxesMode": {"1": "biggest"}},
        {"layoutUnclipRatio": [1.0, 2.0, 3.0]},
        {"fileType": 2},
        {"file": 7},
    ],
)
def test_ill_typed_fields_fail_validation(fields):
    with pytest.raises(ValidationError):
        InferRequest.model_validate({"file": "x", **fields})


def test_unknown_fields_are_ignored_as_in_paddlex():
    request = InferRequest.model_validate({"file": "x", "inferenceParams": {"a": 1}})
    assert "inferenceParams" not in request.model_dump()


def test_validation_message_is_json_without_the_echoed_input():
    with pytest.raises(ValidationError) as caught:
        InferRequest.model_validate({"file": "x" * 1000, "sealDetThresh": "high"})
    message = validation_message(caught.value.errors())
    entries = json.loads(message)
    assert entries and all("input" not in entry for entry in entries)
    assert "x" * 100 not in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a/scan.PDF", FILE_TYPE_PDF),
        ("http://example.com/seal.png?x=1", FILE_TYPE_IMAGE),
        ("http://example.com/seal.jpeg", FILE_TYPE_IMAGE),
        ("http://example.com/page.tiff", FILE_TYPE_IMAGE),
        ("http://example.com/notes.txt", None),
        ("http://example.com/download", None),
        (
            "https://bucket.bcebos.com/obj?responseContentDisposition=attachment;filename=a.pdf",
            FILE_TYPE_PDF,
        ),
    ],
)
def test_infer_file_type_from_url(url, expected):
    assert infer_file_type(url) == expected


def test_resolve_file_type_follows_paddlex():
    assert resolve_file_type("anything", FILE_TYPE_PDF) == FILE_TYPE_PDF
    assert resolve_file_type("http://h/x.jpg", None) == FILE_TYPE_IMAGE
    with pytest.raises(ApiError, match="File type cannot be determined") as caught:
        resolve_file_type(base64.b64encode(b"png").decode(), None)
    assert caught.value.status == 422
    with pytest.raises(ApiError, match="Unsupported file type"):
        resolve_file_type("http://h/x.docx", None)


def test_is_url_needs_scheme_and_host():
    assert is_url("https://example.com/x.png")
    assert not is_url("http://")
    assert not is_url("ftp://example.com/x.png")
    assert not is_url(base64.b64encode(b"http://x").decode())


def test_decode_base64_tolerates_line_breaks_and_refuses_garbage():
    data = bytes(range(256)) * 4
    wrapped = base64.encodebytes(data).decode()  # MIME style, a newline every 76 characters
    assert "\n" in wrapped
    assert decode_base64(wrapped) == data
    for garbage in ("abc", "aGk=#", "<html>"):
        with pytest.raises(ApiError, match="base64") as caught:
            decode_base64(garbage)
        assert caught.value.status == 422
