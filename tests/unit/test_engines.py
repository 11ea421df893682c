"""The CPU engines (seal_ocr.engines): OpenVINO settings, FP32 precision, agreement with ORT.

Real OpenVINO and ONNX Runtime on the real ``model.onnx`` files of ``make models``."""

from __future__ import annotations

import numpy as np
import pytest

from seal_ocr import engines
from seal_ocr import tensor_names as names
from seal_ocr.engines import OpenVinoSettings
from tests.conftest import MODEL_REPOSITORY, require


def model_path(entry: str):
    return require(MODEL_REPOSITORY / entry / "1" / "model.onnx")


def test_settings_default_to_fp32_latency_one_stream():
    settings = OpenVinoSettings.from_parameters({})
    assert settings == OpenVinoSettings(threads=0, streams=1, hint="LATENCY", precision="f32")
    assert settings.properties()["INFERENCE_PRECISION_HINT"] == "f32"
    assert "INFERENCE_NUM_THREADS" not in settings.properties()  # 0: OpenVINO's own choice


def test_settings_read_tritons_openvino_parameter_names():
    settings = OpenVinoSettings.from_parameters(
        {"INFERENCE_NUM_THREADS": "2", "NUM_STREAMS": "2", "PERFORMANCE_HINT": "throughput"}
    )
    assert (settings.threads, settings.streams, settings.hint) == (2, 2, "THROUGHPUT")
    assert settings.properties() == {
        "PERFORMANCE_HINT": "THROUGHPUT",
        "NUM_STREAMS": "2",
        "INFERENCE_PRECISION_HINT": "f32",
        "INFERENCE_NUM_THREADS": "2",
    }


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("INFERENCE_NUM_THREADS", "-1"),
        ("INFERENCE_NUM_THREADS", "two"),
        ("NUM_STREAMS", "0"),
        ("PERFORMANCE_HINT", "FASTEST"),
        ("INFERENCE_PRECISION_HINT", "int8"),
    ],
)
def test_a_bad_parameter_is_refused_with_its_name_and_value(key, value):
    with pytest.raises(ValueError, match=key) as caught:
        OpenVinoSettings.from_parameters({key: value})
    assert repr(value.upper() if key == "PERFORMANCE_HINT" else value) in str(caught.value)


def test_compiled_precision_is_the_hint_not_the_cpus_default():
    import openvino as ov

    path = model_path(names.TEXT_REC_MODEL)
    compiled = engines.compile_openvino(path, OpenVinoSettings())
    assert engines.compiled_precision(compiled) == "f32"
    default = ov.Core().get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name()
    if default == "bf16":  # this CPU (native bfloat16): the trap the explicit hint avoids
        reduced = engines.compile_openvino(path, OpenVinoSettings(precision="bf16"))
        assert engines.compiled_precision(reduced) == "bf16"


def test_compiled_model_reports_the_threads_streams_and_hint_asked_for():
    settings = OpenVinoSettings(threads=1, streams=1, hint="LATENCY")
    compiled = engines.compile_openvino(model_path(names.SEAL_DET_MODEL), settings)
    described = engines.describe_openvino(compiled)
    assert "INFERENCE_PRECISION_HINT=f32" in described
    assert "INFERENCE_NUM_THREADS=1" in described
    assert "NUM_STREAMS=1" in described
    assert "LATENCY" in described


@pytest.mark.parametrize(
    ("entry", "inputs", "output"),
    [
        (names.SEAL_DET_MODEL, {names.SEAL_DET_IMAGE: (2, 3, 640, 704)}, names.SEAL_DET_PROB),
        (names.TEXT_REC_MODEL, {names.TEXT_REC_IMAGE: (3, 3, 48, 480)}, names.TEXT_REC_PROB),
    ],
)
def test_openvino_fp32_equals_onnxruntime_within_1e4(entry, inputs, output):
    rng = np.random.default_rng(7)
    feeds = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in inputs.items()}
    path = model_path(entry)
    ov_session = engines.open_session(path, engines.OPENVINO, threads=1)
    ort_session = engines.open_session(path, engines.ONNXRUNTIME, threads=1)
    first = ov_session.run([output], feeds)[0]
    expected = ort_session.run([output], feeds)[0]
    assert first.shape == expected.shape
    np.testing.assert_allclose(first, expected, atol=1e-4, rtol=0)
    # a second run of another shape must not overwrite what the first returned
    kept = first.copy()
    smaller = {name: value[:1] for name, value in feeds.items()}
    ov_session.run([output], smaller)
    np.testing.assert_array_equal(first, kept)


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="engine must be one of onnxruntime, openvino"):
        engines.open_session(model_path(names.TEXT_REC_MODEL), "tensorflow")


def test_near_ties_flag_items_whose_top_two_are_closer_than_the_margin():
    probs = np.zeros((3, 2, 4), np.float32)
    probs[:, :, 0] = 0.9  # clear winner everywhere ...
    probs[1, 1, :2] = [0.40, 0.399]  # ... except item 1, step 1: a near-tie
    probs[2, 0, :2] = [0.40, 0.39]  # item 2: 0.01 apart
    assert engines.near_ties(probs, 4e-3).tolist() == [False, True, False]
    assert engines.near_ties(probs, 0.02).tolist() == [False, True, True]


@pytest.mark.parametrize(("margin", "expected_reruns"), [(1.0, 3), (1e-12, 0)])
def test_tie_guard_takes_flagged_items_from_the_reference(margin, expected_reruns):
    # fast = OpenVINO, reference = ONNX Runtime on the real text_rec model: with a margin of 1
    # every item is re-run (output exactly ORT's); with ~0 none is (output exactly OpenVINO's)
    path = model_path(names.TEXT_REC_MODEL)
    fast = engines.open_session(path, engines.OPENVINO, threads=1)
    reference = engines.open_session(path, engines.ONNXRUNTIME, threads=1)
    guarded = engines.TieGuardedSession(fast, reference, names.TEXT_REC_PROB, margin)
    feeds = {
        names.TEXT_REC_IMAGE: np.random.default_rng(5)
        .uniform(-1, 1, (3, 3, 48, 320))
        .astype(np.float32)
    }
    out = guarded.run([names.TEXT_REC_PROB], feeds)[0]
    source = reference if expected_reruns else fast
    np.testing.assert_array_equal(out, source.run([names.TEXT_REC_PROB], feeds)[0])
    assert guarded.reruns == expected_reruns


def test_openvino_profile_keeps_layout_on_onnxruntime_and_guards_text_rec():
    from seal_ocr.pipeline import SealRecognizer

    profile = engines.PROFILES[engines.OPENVINO]
    assert profile[names.LAYOUT_MODEL] == engines.ONNXRUNTIME
    assert profile[names.SEAL_DET_MODEL] == profile[names.TEXT_REC_MODEL] == engines.OPENVINO
    recognizer = SealRecognizer.from_model_repository(MODEL_REPOSITORY, engine=engines.OPENVINO)
    guard = next(
        cell.cell_contents
        for cell in recognizer.run_rec.__closure__
        if isinstance(cell.cell_contents, engines.TieGuardedSession)
    )
    assert guard.margin == engines.DEFAULT_TIE_MARGIN
