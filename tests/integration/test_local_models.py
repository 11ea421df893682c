"""Local (e.g. fine-tuned) models, end to end and offline: ``make models SEAL_DET=dir
TEXT_REC=file.onnx`` over the stand-ins. The seal detector is a tiny PaddleX inference directory
(``paddle.jit.save``, as PaddleX exports a fine-tuned model), the recogniser a tiny model already
converted to ONNX with its yml beside it; both go through the real paddle2onnx path's checks,
are recorded as the entries' models (``models.json``, the ONNX metadata, the server's start
message) and are served by a real tritonserver inside the ensemble.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile

import cv2
import numpy as np
import onnx
import pytest
import tritonclient.grpc as grpcclient

from seal_ocr import tensor_names as names
from seal_ocr.model_info import describe_models, read_model_records
from seal_triton.launcher import ServerConfig, TritonServer
from tests.conftest import MODEL_REPOSITORY, REPO_ROOT
from tests.integration.test_official_path import GENERATED, TINY_BUILDER
from tools.models import official, prepare

pytestmark = pytest.mark.official

DET_BASE = "PP-OCRv4_mobile_seal_det"  # the tiny archives' names (tools/models/tiny_paddle_models)
REC_BASE = "PP-OCRv4_mobile_rec"


def _extract(archive, target):
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.isfile():
                (target / member.name.split("/")[-1]).write_bytes(tar.extractfile(member).read())
    return target


def offline_cache(tmp):
    """A cache whose stand-in wheels are the repository's (no download), the rest empty."""
    cache = tmp / "cache"
    cache.mkdir()
    for shared in ("models", "wheels"):
        (cache / shared).symlink_to(REPO_ROOT / ".cache" / shared)
    return cache


@pytest.fixture(scope="module")
def local_install(tmp_path_factory):
    """(repository, tmp) after `prepare --source rapid --seal-det DIR --text-rec FILE.onnx`."""
    python = official.ensure_converter_venv()
    tmp = tmp_path_factory.mktemp("local")
    subprocess.run(
        [str(python), str(TINY_BUILDER), str(tmp / "archives")], check=True, capture_output=True
    )
    det_dir = tmp / "my_seal_det_infer"
    det_dir.mkdir()
    _extract(tmp / "archives" / f"{DET_BASE}_infer.tar", det_dir)
    # the recogniser as a user who exported ONNX themselves has it: model + its yml
    rec_paddle = tmp / "rec_paddle"
    rec_paddle.mkdir()
    _extract(tmp / "archives" / f"{REC_BASE}_infer.tar", rec_paddle)
    rec_onnx = tmp / "mine" / "my_rec.onnx"
    official.convert(python, rec_paddle, rec_onnx)
    shutil.copyfile(rec_paddle / "inference.yml", rec_onnx.with_suffix(".yml"))

    repository = tmp / "model_repository"
    shutil.copytree(MODEL_REPOSITORY, repository, ignore=shutil.ignore_patterns(*GENERATED))
    status = prepare.main([
        "--source", "rapid", "--seal-det", str(det_dir), "--text-rec", str(rec_onnx),
        "--repository", str(repository), "--cache", str(offline_cache(tmp)),
    ])  # fmt: skip
    assert status == 0
    return repository, tmp


def test_the_repository_records_which_model_each_entry_holds(local_install):
    repository, tmp = local_install
    records = read_model_records(repository)
    assert records["seal_det"].model == "my_seal_det" and records["seal_det"].source == "local"
    assert records["seal_det"].base_model == DET_BASE
    assert records["seal_det"].origin == str((tmp / "my_seal_det_infer").resolve())
    assert records["text_rec"].model == "my_rec" and records["text_rec"].source == "local"
    assert records["layout"].source == records["textline_ori"].source == "stand-in"
    assert all(len(records[r].sha256) == 64 for r in ("seal_det", "text_rec"))
    line = describe_models(records)
    assert "seal_det my_seal_det (local, from PP-OCRv4_mobile_seal_det:" in line
    for role in ("seal_det", "text_rec"):  # the ONNX file says it too
        model = onnx.load(str(repository / role / "1" / "model.onnx"), load_external_data=False)
        props = {p.key: p.value for p in model.metadata_props}
        assert props == {"seal_model": records[role].model, "seal_model_source": "local"}
    # the recogniser's own dictionary is installed, the stand-in layout's configs untouched
    characters = (repository / names.CHARACTERS_FILE).read_text("utf-8").splitlines()
    assert len(characters) == 6623 and characters[0] == "一"
    assert "800, 608" in (repository / "layout" / "configs" / "cpu.pbtxt").read_text()


def test_a_local_path_that_is_no_model_is_refused_and_nothing_changes(local_install, capsys):
    repository, tmp = local_install
    before = {p: p.read_bytes() for p in repository.rglob("*") if p.is_file()}
    broken = tmp / "broken_infer"
    broken.mkdir()
    (broken / "inference.yml").write_text("Global: {model_name: x}\n")
    status = prepare.main([
        "--source", "official", "--text-rec", str(broken), "--base-url", "http://127.0.0.1:9",
        "--repository", str(repository), "--cache", str(tmp / "cache"),
    ])  # fmt: skip
    assert status == 1
    assert "missing inference.pdiparams" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in repository.rglob("*") if p.is_file()} == before


@pytest.fixture(scope="module")
def local_server(local_install):
    repository = local_install[0]
    config = ServerConfig(model_repository=repository, http_port=0, grpc_port=0, metrics_port=0)
    server = TritonServer(config, log_path=repository.parent / "tritonserver.log")
    server.start(timeout_s=180)
    yield grpcclient.InferenceServerClient(server.grpc_url)
    server.stop()


def test_the_local_models_are_served_in_the_ensemble(local_server):
    assert local_server.is_model_ready(names.SEAL_DET_MODEL)
    assert local_server.is_model_ready(names.TEXT_REC_MODEL)
    page = np.full((240, 320, 3), 255, np.uint8)
    cv2.circle(page, (160, 120), 80, (0, 0, 255), 6)
    image = grpcclient.InferInput(names.IMAGE, [1], "BYTES")
    image.set_data_from_numpy(np.array([cv2.imencode(".png", page)[1].tobytes()], dtype=object))
    options = grpcclient.InferInput(names.OPTIONS, [1], "BYTES")
    options.set_data_from_numpy(
        np.array([json.dumps({"use_layout_detection": False}).encode()], dtype=object)
    )
    response = local_server.infer(names.ENSEMBLE, [image, options])
    result = json.loads(response.as_numpy(names.RESULT_JSON)[0])
    [seal] = result["seal_res_list"]  # the whole page went through the local det and rec
    assert len(seal["rec_texts"]) == len(seal["dt_polys"])
    lines = grpcclient.InferInput(names.TEXT_REC_IMAGE, [2, 3, 48, 320], "FP32")
    lines.set_data_from_numpy(np.full((2, 3, 48, 320), 0.5, np.float32))
    probs = local_server.infer(names.TEXT_REC_MODEL, [lines]).as_numpy(names.TEXT_REC_PROB)
    assert probs.shape == (2, 40, 6625)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-4)  # the tiny rec's softmax
