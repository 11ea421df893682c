"""Page orientation (``use_doc_orientation_classify``) through the real ensemble.

The ``doc_ori`` entry of a copy of the repository is replaced by a tiny classifier whose output
is fixed (180 degrees, or 0): an upside-down copy of ``paddlex_seal_text_det.png`` then reads as
the upright page does, with the angle in ``doc_preprocessor_res`` as PaddleX writes it, and at 0
degrees nothing but the report changes. The default repository (the offline stand-ins, no
orientation model) refuses the option per request, naming the command that installs it.
"""

from __future__ import annotations

import json
import shutil
from difflib import SequenceMatcher

import cv2
import jsonschema
import numpy as np
import onnx
import pytest
import tritonclient.grpc as grpcclient
from onnx import TensorProto, helper, numpy_helper
from tritonclient.utils import InferenceServerException

from seal_ocr import tensor_names as names
from seal_ocr.doc_ori import DocOriInfo, rotate_page
from seal_ocr.params import PipelineOptions
from seal_ocr.pipeline import SealRecognizer
from seal_triton.launcher import DEFAULT_ENGINE, ServerConfig, TritonServer
from tests.conftest import EVAL_DIR, MODEL_REPOSITORY, require
from tests.integration.test_ensemble import assert_same_result, result_schema

LABELS = ("0", "90", "180", "270")


def fixed_classifier(angle: str) -> onnx.ModelProto:
    """[N, 3, 224, 224] -> [N, 4] scores with all weight on ``angle``, whatever the page."""
    scores = np.array([[1.0 if label == angle else 0.0 for label in LABELS]], np.float32)
    nodes = [
        helper.make_node("ReduceMean", [names.DOC_ORI_IMAGE], ["mean"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Unsqueeze", ["mean", "axis"], ["column"]),
        helper.make_node("Mul", ["column", "zeros"], ["zero_rows"]),
        helper.make_node("Add", ["zero_rows", "scores"], [names.DOC_ORI_PROB]),
    ]
    graph = helper.make_graph(
        nodes,
        "fixed_doc_ori",
        [helper.make_tensor_value_info(names.DOC_ORI_IMAGE, TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info(names.DOC_ORI_PROB, TensorProto.FLOAT, ["N", 4])],
        [
            numpy_helper.from_array(np.array([1], np.int64), "axis"),
            numpy_helper.from_array(np.zeros((1, 4), np.float32), "zeros"),
            numpy_helper.from_array(scores, "scores"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


@pytest.fixture(scope="module", params=["180", "0"])
def fixed_server(request, tmp_path_factory):
    """(gRPC client, fixed angle) of a server whose doc_ori always answers that angle."""
    repository = tmp_path_factory.mktemp(f"doc_ori_{request.param}") / "model_repository"
    shutil.copytree(MODEL_REPOSITORY, repository, ignore=shutil.ignore_patterns("__pycache__"))
    onnx.save(
        fixed_classifier(request.param), repository / names.DOC_ORI_MODEL / "1" / "model.onnx"
    )
    info = DocOriInfo(source=f"test: fixed at {request.param} degrees")
    (repository / names.DOC_ORI_INFO_FILE).write_text(info.to_json() + "\n", "utf-8")
    config = ServerConfig(model_repository=repository, http_port=0, grpc_port=0, metrics_port=0)
    server = TritonServer(config, log_path=repository.parent / "tritonserver.log")
    server.start(timeout_s=180)
    yield grpcclient.InferenceServerClient(server.grpc_url), request.param, repository
    server.stop()


def recognise(client, page: np.ndarray, **options) -> dict:
    image = grpcclient.InferInput(names.IMAGE, [1], "BYTES")
    image.set_data_from_numpy(np.array([cv2.imencode(".png", page)[1].tobytes()], dtype=object))
    sent = grpcclient.InferInput(names.OPTIONS, [1], "BYTES")
    sent.set_data_from_numpy(np.array([json.dumps(options).encode()], dtype=object))
    response = client.infer(names.ENSEMBLE, [image, sent])
    return json.loads(response.as_numpy(names.RESULT_JSON)[0])


def texts(result: dict) -> list[list[str]]:
    return [seal["rec_texts"] for seal in result["seal_res_list"]]


def joined(result: dict) -> str:
    return "".join(text for seal in texts(result) for text in seal)


@pytest.fixture(scope="module")
def upright():
    page = cv2.imread(str(require(EVAL_DIR / "paddlex_seal_text_det.png")), cv2.IMREAD_COLOR)
    assert page is not None
    return page


def test_the_page_is_turned_upright_as_paddlex_turns_it(fixed_server, upright):
    client, angle, _ = fixed_server
    reference = recognise(client, upright)  # option off: PaddleX's result without the step
    assert "doc_preprocessor_res" not in reference
    assert any(texts(reference)), "the upright page reads some text"
    page = np.rot90(upright, 2).copy() if angle == "180" else upright
    result = recognise(client, page, use_doc_orientation_classify=True)
    jsonschema.validate(result, result_schema())
    assert result["model_settings"]["use_doc_preprocessor"] is True
    assert list(result)[:4] == [
        "input_path",
        "page_index",
        "model_settings",
        "doc_preprocessor_res",
    ]
    assert result["doc_preprocessor_res"] == {
        "input_path": None,
        "page_index": None,
        "model_settings": {"use_doc_orientation_classify": True, "use_doc_unwarping": False},
        "angle": int(angle),
    }
    if angle == "0":  # nothing but the report changes
        for key in ("layout_det_res", "seal_res_list", "seal_boxes", "texts"):
            assert result[key] == reference[key], key
        return
    # exactly what the pipeline gives for the page PaddleX's rotate_image turned, boxes and
    # polygons in that turned page's pixels
    turned = recognise(client, rotate_page(page, 180))
    for key in ("layout_det_res", "seal_res_list", "seal_boxes", "texts"):
        assert result[key] == turned[key], key
    # and that is the upright page's reading: PaddleX's turn maps x to w - x (one pixel off an
    # exact flip, a zero row and column on the top and left), which moves the boxes by a pixel
    # and, with the stand-ins' general-text weights, changes a few characters
    np.testing.assert_allclose(result["seal_boxes"], reference["seal_boxes"], atol=2)
    upside_down = recognise(client, page)
    read, want = joined(result), joined(reference)
    assert SequenceMatcher(None, read, want).ratio() >= 0.8, (texts(result), texts(reference))
    unturned = joined(upside_down)
    assert SequenceMatcher(None, unturned, want).ratio() < 0.5, texts(upside_down)


def test_a_page_stamped_upside_down_reads_as_the_upright_page(fixed_server, upright):
    # an upside-down copy that PaddleX's turn (x -> w - x) maps back onto the upright page pixel
    # for pixel: the exact flip moved by one pixel. Only the turned page's top row and left
    # column (zero, as in PaddleX) differ from the upright page, and with them the reading is
    # the upright page's exactly. The zero border alone moves the layout box by a pixel, which
    # changes a few characters of the stand-ins' weakest lines, so the whole-text comparison is
    # with the upright page carrying the same border; its seal name reads the same either way.
    client, angle, _ = fixed_server
    upside_down = np.roll(np.rot90(upright, 2), 1, axis=(0, 1)).copy()
    result = recognise(client, upside_down, use_doc_orientation_classify=True)
    plain = recognise(client, upside_down)
    assert "发票专用章" not in joined(plain)
    if angle == "0":  # a classifier that says upright: the page is read as sent
        assert result["doc_preprocessor_res"]["angle"] == 0
        assert texts(result) == texts(plain)
        return
    turned_back = rotate_page(upside_down, 180)
    np.testing.assert_array_equal(turned_back[1:, 1:], upright[1:, 1:])
    bordered = upright.copy()
    bordered[0, :] = 0
    bordered[:, 0] = 0
    assert result["doc_preprocessor_res"]["angle"] == 180
    assert texts(result) == texts(recognise(client, bordered))
    upright_lines = {text for seal in texts(recognise(client, upright)) for text in seal}
    assert {"发票专用章", "26364736817"} <= upright_lines
    assert {"发票专用章", "26364736817"} <= {text for seal in texts(result) for text in seal}


def test_the_stand_in_repository_refuses_the_option_by_name(grpc_client, upright):
    with pytest.raises(InferenceServerException) as error:
        recognise(grpc_client, upright, use_doc_orientation_classify=True)
    message = str(error.value)
    assert "use_doc_orientation_classify" in message and "DOC_ORI=PP-LCNet_x1_0_doc_ori" in message
    assert "INVALID_ARG" in message or "InvalidArgument" in message or "invalid" in message.lower()


def test_the_in_process_pipeline_turns_the_page_the_same_way(fixed_server, upright):
    client, angle, repository = fixed_server
    page = np.rot90(upright, 2).copy() if angle == "180" else upright
    recognizer = SealRecognizer.from_model_repository(repository, engine=DEFAULT_ENGINE)
    local = recognizer.predict(page, PipelineOptions(use_doc_orientation_classify=True))
    served = recognise(client, page, use_doc_orientation_classify=True)
    assert local["doc_preprocessor_res"] == served["doc_preprocessor_res"]
    assert_same_result(served, local)
