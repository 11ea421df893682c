"""The shipped Python steps (``model_repository/*/1/model.py``) and the HPS model, in process.

Each runs with its shipped config.pbtxt and the fake ``triton_python_backend_utils``; its BLS
calls go to the real engine backends (``serving/backends/onnxruntime``) over the real ONNX
entries, and what comes back is compared with the library run directly on the same models.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest

from seal_ocr import engines, layout, pipeline
from seal_ocr import tensor_names as names
from seal_ocr.model_info import LayoutInfo
from seal_ocr.packing import pack_polys
from seal_ocr.params import PipelineOptions, parse_options_json
from seal_triton.admission import MAX_IN_FLIGHT_ENV, AdmissionGate
from tests.conftest import MODEL_REPOSITORY
from tests.unit.adapters.conftest import (
    execute_step,
    leases_held,
    model_config,
    outputs,
    request,
    strings,
)

OVAL = "nephren_10_oval.jpg"
LICENSE = "vignette_1_business_license.jpg"  # a page whose layout holds a seal


def png(height: int = 60, width: int = 80) -> bytes:
    ok, data = cv2.imencode(".png", np.full((height, width, 3), 200, np.uint8))
    assert ok
    return data.tobytes()


def options(**values: Any) -> np.ndarray:
    """A PIPELINE_OPTIONS tensor as decode_page makes it."""
    return strings(parse_options_json(json.dumps(values)).to_json())


def through(pb, backend) -> Any:
    """A BLS handler that runs the request on an initialised engine backend."""
    return lambda inputs: backend.execute([request(pb, **inputs)])[0]


def ort_session(model: str) -> engines.EngineSession:
    return engines.open_session(MODEL_REPOSITORY / model / "1" / "model.onnx", "onnxruntime", 2)


# --- decode_page: the first step --------------------------------------------------------------


def test_decode_page_admits_decodes_and_passes_its_lease_on(pb, make_step, lease_file):
    step = make_step(names.DECODE_PAGE, max_in_flight="2", admission_wait_s="0")
    [response] = execute_step(step, request(pb, IMAGE=strings(png(60, 80))))
    out = outputs(pb, response)
    assert out[names.PAGE].shape == (60, 80, 3) and out[names.PAGE].dtype == np.uint8
    assert (out[names.PAGE] == 200).all()
    assert out[names.PIPELINE_OPTIONS][0].decode() == PipelineOptions().to_json()
    [ticket] = out[names.ADMISSION_TICKET]
    assert ticket and leases_held(lease_file) == 1  # held until a later step ends the request


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({}, "the request has no IMAGE input"),
        ({"IMAGE": strings(b"not an image")}, "not a decodable image file"),
        (
            {"IMAGE": strings(png()), "OPTIONS": strings("{not json")},
            "OPTIONS is not valid JSON",
        ),
        (
            {"IMAGE": strings(png()), "OPTIONS": strings('{"seal_det_thresh": 2}')},
            "seal_det_thresh",
        ),
    ],
    ids=["no-image", "not-an-image", "bad-json", "bad-option"],
)
def test_decode_page_refuses_bad_input_with_invalid_arg_and_gives_the_lease_back(
    pb, make_step, lease_file, inputs, message
):
    step = make_step(names.DECODE_PAGE, max_in_flight="2", admission_wait_s="0")
    [response] = execute_step(step, request(pb, **inputs))
    assert response.error().code() == pb.TritonError.INVALID_ARG
    assert message in response.error().message()
    assert leases_held(lease_file) == 0


def test_decode_page_past_max_in_flight_waits_then_answers_unavailable(pb, make_step, lease_file):
    step = make_step(names.DECODE_PAGE, max_in_flight="1", admission_wait_s="0.05")
    held = AdmissionGate(lease_file, capacity=1).admit()
    [response] = execute_step(step, request(pb, IMAGE=strings(png())))
    assert response.error().code() == pb.TritonError.UNAVAILABLE
    assert "server busy" in response.error().message() and "max_in_flight 1" in (
        response.error().message()
    )
    AdmissionGate(lease_file).release(held)
    [response] = execute_step(step, request(pb, IMAGE=strings(png())))
    assert not response.has_error()


def test_the_environment_turns_admission_off(pb, make_step, lease_file, monkeypatch):
    monkeypatch.setenv(MAX_IN_FLIGHT_ENV, "0")
    step = make_step(names.DECODE_PAGE, max_in_flight="1")
    responses = execute_step(step, *(request(pb, IMAGE=strings(png())) for _ in range(3)))
    assert [outputs(pb, r)[names.ADMISSION_TICKET][0] for r in responses] == [b""] * 3
    assert not lease_file.exists()


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"admission_wait_s": "-1"}, "admission_wait_s must be >= 0"),
        ({"max_in_flight": "three"}, "max_in_flight must be an integer"),
    ],
)
def test_decode_page_refuses_a_bad_parameter_at_load(pb, make_step, parameters, message):
    with pytest.raises(ValueError, match=message):
        make_step(names.DECODE_PAGE, **parameters)


# --- find_seals, detect_text_lines: BLS to the real ONNX entries ----------------------------


def test_find_seals_without_layout_takes_the_page_and_calls_no_model(pb, make_step):
    step = make_step(names.FIND_SEALS)
    page = np.zeros((50, 70, 3), np.uint8)
    inputs = {names.PAGE: page, names.PIPELINE_OPTIONS: options(use_layout_detection=False)}
    [response] = execute_step(step, request(pb, **inputs))
    out = outputs(pb, response)
    assert out[names.SEAL_BOXES].tolist() == [[0.0, 0.0, 70.0, 50.0]]
    assert json.loads(out[names.LAYOUT_JSON][0]) is None
    assert pb.calls == []


def test_find_seals_reads_the_layout_entry_as_the_library_does(
    pb, make_step, load_backend, eval_dir
):
    config = model_config(names.LAYOUT_MODEL, "configs/cpu_onnxruntime.pbtxt")
    pb.serve(names.LAYOUT_MODEL, through(pb, load_backend("onnxruntime", "layout", config)))
    page = cv2.imread(str(eval_dir / LICENSE))
    step = make_step(names.FIND_SEALS)
    inputs = {names.PAGE: page, names.PIPELINE_OPTIONS: options()}
    out = outputs(pb, execute_step(step, request(pb, **inputs))[0])

    [(model, call)] = pb.calls
    assert model == names.LAYOUT_MODEL and call[names.LAYOUT_IMAGE].shape == (1, 3, 800, 608)
    info = LayoutInfo.from_file(MODEL_REPOSITORY / names.LAYOUT_INFO_FILE)
    prepared = layout.preprocess_layout(page, info.input_hw)
    feeds = {
        names.LAYOUT_IMAGE: prepared.image[None],
        names.LAYOUT_SCALE_FACTOR: prepared.scale_factor[None],
    }
    boxes, count = ort_session(names.LAYOUT_MODEL).run(
        [names.LAYOUT_BOXES, names.LAYOUT_BOX_COUNT], feeds
    )
    expected = pipeline.layout_boxes_from_model(
        page.shape[:2], boxes[0, : int(count[0])], info, PipelineOptions()
    )
    seals = pipeline.seal_boxes_from_layout(page.shape[:2], expected, info.seal_label)
    assert len(seals) >= 1, "the licence page has a seal"
    np.testing.assert_array_equal(out[names.SEAL_BOXES], seals)
    assert json.loads(out[names.LAYOUT_JSON][0]) == [box.to_json() for box in expected]


def test_detect_text_lines_with_no_seal_calls_no_model(pb, make_step):
    step = make_step(names.DETECT_TEXT_LINES)
    inputs = {
        names.PAGE: np.zeros((40, 40, 3), np.uint8),
        names.SEAL_BOXES: np.zeros((0, 4)),
        names.PIPELINE_OPTIONS: options(),
    }
    out = outputs(pb, execute_step(step, request(pb, **inputs))[0])
    assert out[names.POLY_POINTS].shape == (0, 2) and out[names.POLY_LENGTHS].shape == (0,)
    assert out[names.POLY_SEAL_INDEX].shape == (0,)
    assert pb.calls == []


def test_detect_text_lines_chunks_seals_by_shape_and_batch_limit(
    pb, make_step, load_backend, eval_dir
):
    config = model_config(names.SEAL_DET_MODEL, "configs/cpu_onnxruntime.pbtxt")
    pb.serve(names.SEAL_DET_MODEL, through(pb, load_backend("onnxruntime", "seal_det", config)))
    page = cv2.imread(str(eval_dir / OVAL))  # 500 x 500
    # three 240 x 240 regions (one shape) and the whole page (another)
    boxes = np.array(
        [[0, 0, 240, 240], [0, 0, 500, 500], [260, 0, 500, 240], [0, 260, 240, 500]], np.float64
    )
    step = make_step(names.DETECT_TEXT_LINES, seal_det_max_batch_size="2")
    det_options = {"seal_det_limit_side_len": 256}
    inputs = {
        names.PAGE: page,
        names.SEAL_BOXES: boxes,
        names.PIPELINE_OPTIONS: options(**det_options),
    }
    out = outputs(pb, execute_step(step, request(pb, **inputs))[0])

    shapes = sorted(tuple(call[names.SEAL_DET_IMAGE].shape) for _, call in pb.calls)
    assert shapes == [(1, 3, 256, 256), (1, 3, 512, 512), (2, 3, 256, 256)]
    params = parse_options_json(json.dumps(det_options)).seal_det
    det_inputs, metas = pipeline.seal_det_inputs(page, boxes, params)
    session = ort_session(names.SEAL_DET_MODEL)
    maps = [
        session.run([names.SEAL_DET_PROB], {names.SEAL_DET_IMAGE: item[None]})[0][0]
        for item in det_inputs
    ]
    expected = pack_polys(pipeline.polys_from_seal_det(maps, metas, params))
    assert len(expected[1]) > 0, "the oval seal has text lines"
    got = (out[names.POLY_POINTS], out[names.POLY_LENGTHS], out[names.POLY_SEAL_INDEX])
    for mine, theirs in zip(got, expected, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert set(out[names.POLY_SEAL_INDEX].tolist()) <= {0, 1, 2, 3}


def test_a_step_whose_model_is_overloaded_answers_unavailable(pb, make_step, lease_file):
    busy = pb.TritonError("exceeds maximum queue size", pb.TritonError.UNAVAILABLE)
    pb.serve(names.SEAL_DET_MODEL, lambda inputs: pb.InferenceResponse(error=busy))
    ticket = AdmissionGate(lease_file, capacity=2).admit()
    inputs = {
        names.PAGE: np.full((64, 64, 3), 255, np.uint8),
        names.SEAL_BOXES: np.array([[0.0, 0.0, 64.0, 64.0]]),
        names.PIPELINE_OPTIONS: options(),
        names.ADMISSION_TICKET: strings(ticket),
    }
    step = make_step(names.DETECT_TEXT_LINES)
    [response] = execute_step(step, request(pb, **inputs))
    assert response.error().code() == pb.TritonError.UNAVAILABLE
    assert response.error().message() == (
        f"{names.DETECT_TEXT_LINES}: {names.SEAL_DET_MODEL}: exceeds maximum queue size"
    )
    assert leases_held(lease_file) == 0


# --- build_result: the last step ---------------------------------------------------------------


def build_result_inputs(ticket: str, config: dict[str, Any]) -> dict[str, np.ndarray]:
    """One seal with one polygon read as "ABC" (0.9), for the inputs ``config`` declares."""
    available = {
        names.PIPELINE_OPTIONS: options(),
        names.LAYOUT_JSON: strings("null"),
        names.SEAL_BOXES: np.array([[0.0, 0.0, 40.0, 30.0]]),
        names.POLY_POINTS: np.array([[1, 1], [20, 1], [20, 9], [1, 9]], np.int32),
        names.POLY_LENGTHS: np.array([4], np.int32),
        names.POLY_SEAL_INDEX: np.array([0], np.int32),
        names.LINE_TEXTS: strings("ABC"),
        names.LINE_SCORES: np.array([0.9], np.float32),
        names.LINE_ANGLES: np.array([-1], np.int32),
        names.DOC_ANGLE: np.array([-1], np.int32),
        names.ADMISSION_TICKET: strings(ticket),
    }
    declared = {spec["name"]: spec for spec in config["input"]}
    unknown = {n for n, spec in declared.items() if n not in available and not spec.get("optional")}
    assert not unknown, f"build_result inputs this test does not know: {unknown}"
    return {name: array for name, array in available.items() if name in declared}


def test_build_result_ends_the_request_and_gives_the_lease_back(pb, make_step, lease_file):
    ticket = AdmissionGate(lease_file, capacity=2).admit()
    config = model_config(names.BUILD_RESULT)
    step = make_step(names.BUILD_RESULT)
    [response] = execute_step(step, request(pb, **build_result_inputs(ticket, config)))
    result = json.loads(outputs(pb, response)[names.RESULT_JSON][0])
    [seal] = result["seal_res_list"]
    assert seal["rec_texts"] == ["ABC"]
    assert leases_held(lease_file) == 0


def test_build_result_refusing_inconsistent_polygons_gives_the_lease_back(
    pb, make_step, lease_file
):
    ticket = AdmissionGate(lease_file, capacity=2).admit()
    inputs = build_result_inputs(ticket, model_config(names.BUILD_RESULT))
    inputs[names.POLY_LENGTHS] = np.array([5], np.int32)  # 4 points, 5 claimed
    [response] = execute_step(make_step(names.BUILD_RESULT), request(pb, **inputs))
    assert response.error().code() == pb.TritonError.INTERNAL
    assert "polygon tensors disagree" in response.error().message()
    assert leases_held(lease_file) == 0


# --- seal-recognition: PaddleX's HPS protocol over the ensemble ---------------------------------


def pdf_pages(count: int) -> bytes:
    document = pdfium.PdfDocument.new()
    for _ in range(count):
        document.new_page(60, 40)
    buffer = io.BytesIO()
    document.save(buffer)
    document.close()
    return buffer.getvalue()


def hps(pb, step, body: dict[str, Any]) -> dict[str, Any]:
    encoded = json.dumps(body).encode()
    [response] = execute_step(step, request(pb, input=np.array([[encoded]], dtype=object)))
    output = outputs(pb, response)[names.HPS_OUTPUT]
    assert output.shape == (1, 1)
    return json.loads(output[0, 0])


@pytest.mark.parametrize(
    ("code", "message", "status", "error_message"),
    [
        (
            "INVALID_ARG",
            f"in ensemble '{names.ENSEMBLE}', decode_page: image is 9 x 9 pixels, too large",
            422,
            "decode_page: image is 9 x 9 pixels, too large",
        ),
        ("UNAVAILABLE", "exceeds maximum queue size", 503, "Service unavailable"),
        ("INTERNAL", "find_seals: RuntimeError: boom", 500, "Internal server error"),
    ],
)
def test_hps_answers_an_ensemble_failure_in_paddlex_envelope(
    pb, make_step, code, message, status, error_message
):
    error = pb.TritonError(message, getattr(pb.TritonError, code))
    pb.serve(names.ENSEMBLE, lambda inputs: pb.InferenceResponse(error=error))
    step = make_step(names.HPS_MODEL)
    body = {"file": base64.b64encode(pdf_pages(3)).decode(), "fileType": 0, "visualize": False}
    answer = hps(pb, step, body)
    assert answer["errorCode"] == status
    assert answer["errorMsg"].startswith(error_message)
    assert [model for model, _ in pb.calls] == [names.ENSEMBLE] * 3  # every page was sent
    assert all(call[names.IMAGE].shape == (1,) for _, call in pb.calls)


def test_hps_refuses_a_bad_request_before_the_ensemble(pb, make_step):
    step = make_step(names.HPS_MODEL)
    answer = hps(pb, step, {"file": "aGk=", "fileType": 0, "visualize": False})
    assert answer["errorCode"] == 422 and "not a PDF" in answer["errorMsg"]
    assert pb.calls == []


def test_hps_refuses_a_bad_parameter_at_load(pb, make_step):
    with pytest.raises(ValueError, match="max_pdf_pages"):
        make_step(names.HPS_MODEL, max_pdf_pages="ten")
