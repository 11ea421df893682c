"""The engine backends inside a real tritonserver: the shipped CPU configs load OpenVINO at FP32
with their configured settings, answer like ONNX Runtime, and a bad parameter is refused at load.
"""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import tritonclient.http as httpclient

from seal_ocr import engines
from seal_ocr import tensor_names as names
from seal_triton.launcher import ServerConfig, TritonServer
from tests.conftest import REPO_ROOT
from tests.integration.conftest import LOG_PATH

pytestmark = pytest.mark.triton


def loaded_lines(model: str) -> list[str]:
    return [line for line in LOG_PATH.read_text().splitlines() if f'"{model}: loaded ' in line]


def test_layout_runs_onnxruntime_in_the_default_profile(triton_server):
    lines = loaded_lines(names.LAYOUT_MODEL)
    assert lines and all("with onnxruntime " in line for line in lines)


@pytest.mark.parametrize(
    ("entry", "threads"), [(names.SEAL_DET_MODEL, 2), (names.TEXT_REC_MODEL, 1)]
)
def test_shipped_entries_run_openvino_fp32_with_their_threads(triton_server, entry, threads):
    lines = loaded_lines(entry)
    assert lines, f"{entry} did not log its engine"
    for line in lines:  # one per instance
        assert "with openvino " in line
        assert "INFERENCE_PRECISION_HINT=f32" in line
        assert f"INFERENCE_NUM_THREADS={threads}" in line
        assert "NUM_STREAMS=1" in line and "LATENCY" in line


@pytest.mark.parametrize(
    ("entry", "shapes", "output"),
    [
        (names.TEXT_REC_MODEL, {names.TEXT_REC_IMAGE: (2, 3, 48, 320)}, names.TEXT_REC_PROB),
        (names.SEAL_DET_MODEL, {names.SEAL_DET_IMAGE: (1, 3, 640, 640)}, names.SEAL_DET_PROB),
    ],
)
def test_served_openvino_equals_onnxruntime_within_1e4(
    triton_server, model_repository, entry, shapes, output
):
    rng = np.random.default_rng(3)
    feeds = {name: rng.uniform(-1, 1, shape).astype(np.float32) for name, shape in shapes.items()}
    client = httpclient.InferenceServerClient(triton_server.http_url)
    inputs = []
    for name, array in feeds.items():
        tensor = httpclient.InferInput(name, list(array.shape), "FP32")
        tensor.set_data_from_numpy(array)
        inputs.append(tensor)
    served = client.infer(entry, inputs).as_numpy(output)
    path = model_repository / entry / "1" / "model.onnx"
    expected = engines.open_session(path, engines.ONNXRUNTIME).run([output], feeds)[0]
    assert served.shape == expected.shape
    np.testing.assert_allclose(served, expected, atol=1e-4, rtol=0)


def test_a_bad_openvino_parameter_is_refused_at_load_naming_it(model_repository, tmp_path):
    repository = tmp_path / "model_repository"
    shutil.copytree(model_repository / names.TEXT_REC_MODEL, repository / names.TEXT_REC_MODEL)
    config = repository / names.TEXT_REC_MODEL / "configs" / "cpu.pbtxt"
    text = re.sub(
        r'(key: "NUM_STREAMS" value: \{ string_value: )"\d+"', r'\1"zero"', config.read_text()
    )
    assert '"zero"' in text
    config.write_text(text)
    log = REPO_ROOT / ".build" / "test-logs" / "bad-parameter-tritonserver.log"
    server = TritonServer(
        ServerConfig(model_repository=repository, http_port=0, grpc_port=0, metrics_port=0),
        log_path=log,
    )
    with pytest.raises(RuntimeError, match="exited"):
        server.start(timeout_s=120)
    server.stop()
    assert "text_rec (openvino): NUM_STREAMS must be a whole number >= 1, not 'zero'" in (
        log.read_text()
    )
