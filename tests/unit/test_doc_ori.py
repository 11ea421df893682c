"""Page orientation (``seal_ocr.doc_ori``): PaddleX's page turn, the classifier's input, the
angle decision, the offline placeholder and its refusal."""

from __future__ import annotations

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from seal_ocr import doc_ori
from seal_ocr import tensor_names as names
from seal_ocr.errors import InvalidOptionError
from seal_ocr.params import PipelineOptions
from seal_ocr.result import build_result
from tools.models.doc_ori_placeholder import PLACEHOLDER_INFO, placeholder_model


def page(height: int = 30, width: int = 40) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_180_degrees_maps_x_to_w_minus_x_as_paddlex_does():
    original = page()
    turned = doc_ori.rotate_page(original, 180)
    assert turned.shape == original.shape
    # PaddleX's rotate_image: dst(x, y) = src(w - x, h - y); row and column 0 fall outside
    np.testing.assert_array_equal(turned[1:, 1:], original[::-1, ::-1][:-1, :-1])
    assert not turned[0].any() and not turned[:, 0].any()


def test_quarter_turns_swap_the_sides_and_0_is_the_page_itself():
    original = page()
    assert doc_ori.rotate_page(original, 90).shape == (40, 30, 3)
    assert doc_ori.rotate_page(original, 270).shape == (40, 30, 3)
    assert doc_ori.rotate_page(original, 0) is original
    with pytest.raises(ValueError, match="angle must be one of"):
        doc_ori.rotate_page(original, 45)


def test_classifier_input_is_the_centre_crop_of_the_short_side_resize():
    info = doc_ori.DocOriInfo()
    original = page(300, 500)
    x = doc_ori.doc_ori_input(original, info)
    assert x.shape == (3, 224, 224) and x.dtype == np.float32
    rgb = cv2.resize(cv2.cvtColor(original, cv2.COLOR_BGR2RGB), (427, 256))  # round(500 * 256/300)
    crop = rgb[16:240, 101:325].astype(np.float32)
    expected = (crop / 255 - np.array(info.mean, np.float32)) / np.array(info.std, np.float32)
    np.testing.assert_allclose(x, expected.transpose(2, 0, 1), atol=1e-5)


def test_the_angle_is_the_top_1_label():
    info = doc_ori.DocOriInfo()
    assert doc_ori.angle_of(np.array([0.1, 0.2, 0.6, 0.1]), info) == 180
    assert doc_ori.angle_of(np.array([0.1, 0.7, 0.1, 0.1]), info) == 90
    with pytest.raises(ValueError, match="must be angles"):
        doc_ori.DocOriInfo(labels=("0", "45"))


def test_the_info_file_round_trips(tmp_path):
    path = tmp_path / "doc_ori_info.json"
    path.write_text(PLACEHOLDER_INFO.to_json())
    assert doc_ori.DocOriInfo.from_file(path) == PLACEHOLDER_INFO


def test_the_placeholder_is_refused_by_name_and_answers_nothing_useful():
    with pytest.raises(InvalidOptionError, match="make models SOURCE=official"):
        doc_ori.require_model(PLACEHOLDER_INFO)
    doc_ori.require_model(doc_ori.DocOriInfo())  # a real model: no refusal
    session = ort.InferenceSession(
        placeholder_model().SerializeToString(), providers=["CPUExecutionProvider"]
    )
    [probs] = session.run(None, {names.DOC_ORI_IMAGE: np.zeros((3, 3, 224, 224), np.float32)})
    np.testing.assert_allclose(probs, np.full((3, 4), 0.25))


def test_the_result_reports_the_angle_as_paddlex_writes_it():
    empty = np.zeros((0, 4))
    off = build_result(PipelineOptions(), None, empty, [], [])
    assert off["model_settings"]["use_doc_preprocessor"] is False
    assert "doc_preprocessor_res" not in off
    on = build_result(
        PipelineOptions(use_doc_orientation_classify=True), None, empty, [], [], None, 90
    )
    assert list(on)[:4] == ["input_path", "page_index", "model_settings", "doc_preprocessor_res"]
    assert on["model_settings"] == {"use_doc_preprocessor": True, "use_layout_detection": True}
    assert on["doc_preprocessor_res"] == {
        "input_path": None,
        "page_index": None,
        "model_settings": {"use_doc_orientation_classify": True, "use_doc_unwarping": False},
        "angle": 90,
    }
