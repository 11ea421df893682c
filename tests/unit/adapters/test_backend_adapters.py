"""The Python-based engine backends (``serving/backends/{onnxruntime,openvino}/model.py``) and
what they share (``seal_triton.entry_backend``), over the real ONNX entries, without a server:
the dynamic batcher's requests stacked and split back on axis 0, per-request errors, and every
bad parameter refused at load with its name.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from seal_ocr import engines
from seal_ocr import tensor_names as names
from seal_triton.entry_backend import (
    PeriodicRelease,
    config_parameters,
    flag,
    release_interval_s,
    split_batch,
    whole_number,
)
from tests.conftest import MODEL_REPOSITORY
from tests.unit.adapters.conftest import model_config, outputs, request, with_parameters

CPU_ORT = "configs/cpu_onnxruntime.pbtxt"
CPU_OPENVINO = "configs/cpu.pbtxt"


def det_input(batch: int, side: int, seed: int) -> np.ndarray:
    """A seal_det input (batch, 3, side, side) float32: noise with a bright square (text-like)."""
    rng = np.random.default_rng(seed)
    image = rng.normal(0, 0.3, (batch, 3, side, side)).astype(np.float32)
    image[:, :, side // 4 : side // 2, side // 8 : -side // 8] += 2.0
    return image


def reference(model: str, engine: str, image: np.ndarray) -> np.ndarray:
    """The entry's output for one item, run by the library (batch 1)."""
    session = engines.open_session(MODEL_REPOSITORY / model / "1" / "model.onnx", engine, 2)
    return session.run([names.SEAL_DET_PROB], {names.SEAL_DET_IMAGE: image})[0]


def refused(pb, load_backend, engine: str, model: str, config: dict) -> str:
    """The message of the load refusal of ``config`` (fails the test if it loads)."""
    with pytest.raises(pb.TritonModelException) as caught:
        load_backend(engine, model, config)
    message = str(caught.value)
    assert message.startswith(f"{model} ({engine}): "), message
    return message


# --- what the two backends share -------------------------------------------------------------


def test_split_batch_gives_each_request_its_rows_of_every_output():
    boxes = np.arange(6 * 4 * 2, dtype=np.float32).reshape(6, 4, 2)
    counts = np.array([10, 11, 12, 13, 14, 15], np.int32)
    parts = split_batch({"boxes": boxes, "count": counts}, [1, 3, 2])
    assert [sorted(part) for part in parts] == [["boxes", "count"]] * 3
    assert [part["count"].tolist() for part in parts] == [[10], [11, 12, 13], [14, 15]]
    np.testing.assert_array_equal(parts[1]["boxes"], boxes[1:4])
    [whole] = split_batch({"count": counts}, [6])
    np.testing.assert_array_equal(whole["count"], counts)


def test_config_parameters_drop_unset_placeholders():
    config = {
        "parameters": {
            "a": {"string_value": "1"},
            "b": {"string_value": ""},
            "c": {"string_value": "${THREADS}"},
        }
    }
    assert config_parameters(config) == {"a": "1"}
    assert config_parameters({}) == {}


@pytest.mark.parametrize("text", ["two", "-1", "1.5", ""])
def test_whole_number_names_the_parameter(text):
    with pytest.raises(ValueError, match=f"threads must be a whole number >= 0, not '{text}'"):
        whole_number({"threads": text}, "threads", 1)
    assert whole_number({}, "threads", 3) == 3 and whole_number({"threads": " 4 "}, "threads", 1)


def test_flag_and_release_interval_name_the_parameter():
    assert flag({"arena": "0"}, "arena", True) is False and flag({}, "arena", True) is True
    with pytest.raises(ValueError, match="arena must be 0 or 1, not 'yes'"):
        flag({"arena": "yes"}, "arena", False)
    assert release_interval_s({"every_ms": "2000"}, "every_ms") == 2.0
    assert release_interval_s({}, "every_ms") == 0
    with pytest.raises(ValueError, match="every_ms must be a whole number"):
        release_interval_s({"every_ms": "2 s"}, "every_ms")


def test_periodic_release_runs_only_after_use_and_stops():
    released = []
    periodic = PeriodicRelease(0.02, lambda: released.append(time.monotonic()))
    try:
        time.sleep(0.1)
        assert released == []  # nothing ran: nothing to give back
        periodic.mark_used()
        deadline = time.monotonic() + 5
        while not released and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(released) == 1 and not periodic.used
        time.sleep(0.1)
        assert len(released) == 1  # once per use, not once per interval
    finally:
        periodic.stop()


def test_no_interval_starts_no_release_thread():
    periodic = PeriodicRelease(0, lambda: None)
    periodic.mark_used()
    assert periodic.interval_s == 0 and not periodic.stopping.is_set()


# --- onnxruntime ---------------------------------------------------------------------------


@pytest.fixture
def ort_seal_det(load_backend):
    return load_backend("onnxruntime", "seal_det", model_config("seal_det", CPU_ORT))


def det_request(pb, image: np.ndarray):
    return request(pb, **{names.SEAL_DET_IMAGE: image})


def prob(pb, response) -> np.ndarray:
    return outputs(pb, response)[names.SEAL_DET_PROB]


def test_onnxruntime_answers_one_request_as_the_library_does(pb, ort_seal_det):
    image = det_input(1, 64, seed=1)
    [response] = ort_seal_det.execute([det_request(pb, image)])
    np.testing.assert_array_equal(prob(pb, response), reference("seal_det", "onnxruntime", image))


def test_requests_batched_together_get_their_own_rows_back(pb, ort_seal_det):
    images = [det_input(2, 64, seed=2), det_input(1, 64, seed=3), det_input(1, 64, seed=4)]
    responses = ort_seal_det.execute([det_request(pb, image) for image in images])
    shapes = [prob(pb, r).shape for r in responses]
    assert shapes == [(2, 1, 64, 64), (1, 1, 64, 64), (1, 1, 64, 64)]
    for image, response in zip(images, responses, strict=True):
        expected = np.concatenate(
            [reference("seal_det", "onnxruntime", row[None]) for row in image]
        )
        np.testing.assert_allclose(prob(pb, response), expected, rtol=0, atol=1e-5)
    assert not any(level == "warn" for level, _ in pb.Logger.records)  # one stacked run


def test_requests_that_cannot_be_stacked_are_run_one_by_one(pb, ort_seal_det):
    small, large = det_input(1, 32, seed=5), det_input(1, 64, seed=6)
    responses = ort_seal_det.execute([det_request(pb, small), det_request(pb, large)])
    np.testing.assert_array_equal(
        prob(pb, responses[0]), reference("seal_det", "onnxruntime", small)
    )
    np.testing.assert_array_equal(
        prob(pb, responses[1]), reference("seal_det", "onnxruntime", large)
    )
    assert any("batched run failed" in message for level, message in pb.Logger.records)


def test_a_bad_request_fails_alone_even_inside_a_batch(pb, ort_seal_det):
    good = det_input(1, 32, seed=7)
    bad = np.zeros((1, 4, 32, 32), np.float32)  # 4 channels: the model takes 3
    [alone] = ort_seal_det.execute([det_request(pb, bad)])
    assert alone.error().code() == pb.TritonError.INTERNAL
    assert alone.error().message().startswith("seal_det: ")
    responses = ort_seal_det.execute([det_request(pb, bad), det_request(pb, good)])
    assert responses[0].has_error()
    np.testing.assert_array_equal(
        prob(pb, responses[1]), reference("seal_det", "onnxruntime", good)
    )


def test_the_arena_is_given_back_from_the_release_thread_after_use(pb, load_backend):
    config = with_parameters(model_config("seal_det", CPU_ORT), arena_release_interval_ms="20")
    model = load_backend("onnxruntime", "seal_det", config)
    assert model.release_input[names.SEAL_DET_IMAGE].shape == (1, 3, 32, 32)
    model.execute([det_request(pb, det_input(1, 32, seed=8))])
    deadline = time.monotonic() + 5
    while model.periodic.used and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not model.periodic.used, "the release thread did not run after a real run"


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"intra_op_thread_count": "two"}, "intra_op_thread_count must be a whole number"),
        ({"inter_op_thread_count": "-1"}, "inter_op_thread_count must be a whole number"),
        ({"enable_cpu_mem_arena": "yes"}, "enable_cpu_mem_arena must be 0 or 1"),
        ({"arena_shrinkage": "true"}, "arena_shrinkage must be 0 or 1"),
        ({"arena_release_interval_ms": "1.5"}, "arena_release_interval_ms must be a whole number"),
        ({"arena_release_shape": "1,3,x,32"}, "arena_release_shape must be sizes > 0"),
        ({"arena_release_shape": "1,3,0,32"}, "arena_release_shape must be sizes > 0"),
        ({"arena_shrinkage": "0"}, "arena_release_shape needs arena_shrinkage"),
    ],
)
def test_onnxruntime_refuses_a_bad_parameter_at_load_naming_it(
    pb, load_backend, parameters, message
):
    config = with_parameters(model_config("seal_det", CPU_ORT), **parameters)
    assert message in refused(pb, load_backend, "onnxruntime", "seal_det", config)


def test_config_names_missing_from_the_model_are_refused_at_load(pb, load_backend):
    config = model_config("seal_det", CPU_ORT)
    config["output"][0]["name"] = "probabilities"
    message = refused(pb, load_backend, "onnxruntime", "seal_det", config)
    assert "config names ['probabilities'] are not in model.onnx" in message
    assert "outputs ['text_probs']" in message


# --- openvino ------------------------------------------------------------------------------


def test_openvino_answers_as_the_library_does_on_the_same_engine(pb, load_backend):
    model = load_backend("openvino", "seal_det", model_config("seal_det", CPU_OPENVINO))
    images = [det_input(1, 64, seed=9), det_input(1, 64, seed=10)]
    responses = model.execute([det_request(pb, image) for image in images])
    for image, response in zip(images, responses, strict=True):
        mine = prob(pb, response)
        np.testing.assert_allclose(mine, reference("seal_det", "openvino", image), atol=1e-5)
        # and the two FP32 engines agree (seal_ocr.engines)
        np.testing.assert_allclose(mine, reference("seal_det", "onnxruntime", image), atol=1e-4)


def test_openvino_text_rec_reruns_near_ties_on_onnxruntime(pb, load_backend):
    # a margin near 1 makes every line a near-tie: all are re-run, so ONNX Runtime answers
    config = with_parameters(
        model_config("text_rec", CPU_OPENVINO), reference_tie_margin="0.999999"
    )
    model = load_backend("openvino", "text_rec", config)
    assert isinstance(model.runner, engines.TieGuardedSession)
    assert (model.runner.guarded_output, model.runner.margin) == (names.TEXT_REC_PROB, 0.999999)
    lines = np.random.default_rng(11).uniform(-1, 1, (2, 3, 48, 80)).astype(np.float32)
    [response] = model.execute([request(pb, **{names.TEXT_REC_IMAGE: lines})])
    path = MODEL_REPOSITORY / "text_rec" / "1" / "model.onnx"
    ort = engines.open_session(path, "onnxruntime", 1, memory_arena=False)
    expected = ort.run([names.TEXT_REC_PROB], {names.TEXT_REC_IMAGE: lines})[0]
    np.testing.assert_array_equal(outputs(pb, response)[names.TEXT_REC_PROB], expected)
    assert model.runner.reruns == 2


@pytest.mark.parametrize(
    ("model", "parameters", "message"),
    [
        ("seal_det", {"INFERENCE_NUM_THREADS": "many"}, "INFERENCE_NUM_THREADS must be a whole"),
        ("seal_det", {"INFERENCE_NUM_THREADS": "-2"}, "INFERENCE_NUM_THREADS must be a whole"),
        ("seal_det", {"NUM_STREAMS": "0"}, "NUM_STREAMS must be a whole number >= 1"),
        ("seal_det", {"PERFORMANCE_HINT": "FAST"}, "PERFORMANCE_HINT must be one of"),
        ("seal_det", {"INFERENCE_PRECISION_HINT": "f64"}, "INFERENCE_PRECISION_HINT must be"),
        ("seal_det", {"memory_release_interval_ms": "soon"}, "memory_release_interval_ms must"),
        ("text_rec", {"reference_tie_margin": "abc"}, "reference_tie_margin must be in (0, 1)"),
        ("text_rec", {"reference_tie_margin": "1.5"}, "reference_tie_margin must be in (0, 1)"),
        ("text_rec", {"reference_tie_output": "logits"}, "reference_tie_output 'logits' is not"),
    ],
)
def test_openvino_refuses_a_bad_parameter_at_load_naming_it(
    pb, load_backend, model, parameters, message
):
    config = with_parameters(model_config(model, CPU_OPENVINO), **parameters)
    assert message in refused(pb, load_backend, "openvino", model, config)
