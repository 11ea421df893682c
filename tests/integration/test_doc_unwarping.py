"""Page unwarping (``use_doc_unwarping``) through the real ensemble: a tiny network with UVDoc's
operator set (``tools/models/tiny_paddle_models.py``), installed by ``make models UVDOC=UVDoc``
over the stand-ins (download, the real paddle2onnx, checks), unwarps the page in ``decode_page``;
the result reports it as PaddleX writes ``doc_preprocessor_res`` and equals the in-process
pipeline's. The default repository (no UVDoc model) refuses the option per request."""

from __future__ import annotations

import json
import subprocess

import cv2
import jsonschema
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from seal_ocr import tensor_names as names
from seal_ocr.model_info import read_model_records
from seal_ocr.params import PipelineOptions
from seal_ocr.pipeline import SealRecognizer
from seal_triton.launcher import DEFAULT_ENGINE, ServerConfig, TritonServer
from tests.conftest import EVAL_DIR, require
from tests.integration.test_ensemble import assert_same_result, result_schema
from tests.integration.test_local_models import offline_cache
from tests.integration.test_official_path import TINY_BUILDER, copy_without_official_roles
from tests.unit.test_official_models import ArchiveServer
from tools.models import official, prepare

pytestmark = pytest.mark.official


@pytest.fixture(scope="module")
def unwarping_repository(tmp_path_factory):
    python = official.ensure_converter_venv()
    tmp = tmp_path_factory.mktemp("uvdoc_entry")
    subprocess.run(
        [str(python), str(TINY_BUILDER), str(tmp / "archives"), "UVDoc"],
        check=True,
        capture_output=True,
    )
    archives = {p.name: p.read_bytes() for p in (tmp / "archives").glob("*.tar")}
    repository = copy_without_official_roles(tmp / "model_repository")
    with ArchiveServer(archives) as server:
        status = prepare.main([
            "--source", "rapid", "--uvdoc", "UVDoc", "--base-url", server.url,
            "--repository", str(repository), "--cache", str(offline_cache(tmp)),
        ])  # fmt: skip
    assert status == 0
    return repository


@pytest.fixture(scope="module")
def unwarping_server(unwarping_repository):
    config = ServerConfig(
        model_repository=unwarping_repository, http_port=0, grpc_port=0, metrics_port=0
    )
    server = TritonServer(config, log_path=unwarping_repository.parent / "tritonserver.log")
    server.start(timeout_s=180)
    yield grpcclient.InferenceServerClient(server.grpc_url)
    server.stop()


def recognise(client, page: np.ndarray, **options) -> dict:
    image = grpcclient.InferInput(names.IMAGE, [1], "BYTES")
    image.set_data_from_numpy(np.array([cv2.imencode(".png", page)[1].tobytes()], dtype=object))
    sent = grpcclient.InferInput(names.OPTIONS, [1], "BYTES")
    sent.set_data_from_numpy(np.array([json.dumps(options).encode()], dtype=object))
    return json.loads(client.infer(names.ENSEMBLE, [image, sent]).as_numpy(names.RESULT_JSON)[0])


@pytest.fixture(scope="module")
def page():
    image = cv2.imread(str(require(EVAL_DIR / "paddlex_seal_text_det.png")), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def test_the_page_is_unwarped_and_reported_as_paddlex_writes_it(
    unwarping_repository, unwarping_server, page
):
    record = read_model_records(unwarping_repository)[names.UVDOC_MODEL]
    assert (record.model, record.source) == ("UVDoc", "official")
    plain = recognise(unwarping_server, page)
    result = recognise(unwarping_server, page, use_doc_unwarping=True)
    jsonschema.validate(result, result_schema())
    assert result["model_settings"]["use_doc_preprocessor"] is True
    assert result["doc_preprocessor_res"] == {
        "input_path": None,
        "page_index": None,
        "model_settings": {"use_doc_orientation_classify": False, "use_doc_unwarping": True},
        "angle": -1,
    }
    assert "doc_preprocessor_res" not in plain
    # the tiny network resamples the page: what layout detection sees has changed
    assert result.get("layout_det_res") != plain.get("layout_det_res")
    recognizer = SealRecognizer.from_model_repository(unwarping_repository, engine=DEFAULT_ENGINE)
    local = recognizer.predict(page, PipelineOptions(use_doc_unwarping=True))
    assert local["doc_preprocessor_res"] == result["doc_preprocessor_res"]
    assert_same_result(result, local)


def test_the_stand_in_repository_refuses_unwarping_by_name(grpc_client, page):
    with pytest.raises(InferenceServerException) as error:
        recognise(grpc_client, page, use_doc_unwarping=True)
    assert "use_doc_unwarping" in str(error.value) and "UVDOC=UVDoc" in str(error.value)
