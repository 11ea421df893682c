"""The official-model path end to end, offline: tiny PaddleX-shaped inference archives (made here
with ``paddle.jit.save``) served from 127.0.0.1 -> download (one archive cut mid-way, resumed)
-> verify -> the real paddle2onnx -> adapt, rename, install -> a real tritonserver loads the
result and serves the three ONNX entries and the whole ensemble.

Needs ``.cache/venv-official`` (PaddlePaddle + paddle2onnx, the ``official`` extra), which
``ensure_converter_venv`` creates when missing; ``make test-official`` runs this file alone.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import time

import cv2
import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from seal_ocr import tensor_names as names
from seal_ocr.model_info import LayoutInfo
from seal_ocr.textline_ori import TextlineOriInfo
from seal_triton.launcher import ServerConfig, TritonServer
from tests.conftest import MODEL_REPOSITORY, REPO_ROOT
from tests.unit.test_official_models import ArchiveServer
from tools.models import official, prepare

pytestmark = pytest.mark.official

TINY_BUILDER = REPO_ROOT / "tools" / "models" / "tiny_paddle_models.py"
LAYOUT = "RT-DETR-H_layout_3cls"  # the tiny layout has RT-DETR's im_shape input and /255 norm
GENERATED = ("model.onnx", "*_info.json", "characters.txt", "models.json", "__pycache__")


def copy_without_official_roles(repository):
    """The tracked repository without the roles' generated files; the entry no profile installs
    (uvdoc) keeps its offline placeholder, as after `make models`."""
    shutil.copytree(MODEL_REPOSITORY, repository, ignore=shutil.ignore_patterns(*GENERATED))
    for kept in (f"{names.UVDOC_MODEL}/1/model.onnx", names.UVDOC_INFO_FILE):
        shutil.copyfile(MODEL_REPOSITORY / kept, repository / kept)
    return repository


@pytest.fixture(scope="module")
def official_install(tmp_path_factory):
    """(repository, server log of requests, summary, timings) after `prepare --source official`."""
    timings = {}
    start = time.monotonic()
    python = official.ensure_converter_venv()
    timings["converter venv"] = time.monotonic() - start

    tmp = tmp_path_factory.mktemp("official")
    start = time.monotonic()
    subprocess.run(
        [str(python), str(TINY_BUILDER), str(tmp / "archives")], check=True, capture_output=True
    )
    timings["tiny archives"] = time.monotonic() - start
    files = {p.name: p.read_bytes() for p in (tmp / "archives").glob("*.tar")}
    repository = copy_without_official_roles(tmp / "model_repository")

    rec_archive = "PP-OCRv4_mobile_rec_infer.tar"
    with ArchiveServer(files, cut_once=(rec_archive,)) as server:
        start = time.monotonic()
        status = prepare.main([
            "--source", "auto", "--profile", "mobile", "--layout", LAYOUT,
            "--base-url", server.url, "--repository", str(repository),
            "--cache", str(tmp / "cache"),
        ])  # fmt: skip
        timings["download + verify + paddle2onnx + install"] = time.monotonic() - start
    assert status == 0
    summary = json.loads((tmp / "cache" / "official" / "installed.json").read_text())
    yield repository, server.requests, summary, timings, files
    print("\nofficial path timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))


def test_auto_chose_official_and_resumed_the_cut_download(official_install):
    _, requests, summary, _, _ = official_install
    assert requests[0][0] == "HEAD"  # the SOURCE=auto probe
    rec_gets = [r for m, p, r in requests if m == "GET" and p.endswith("_rec_infer.tar")]
    assert rec_gets[0] is None and rec_gets[1].startswith("bytes=")  # resumed, not restarted
    assert {role: m["model"] for role, m in summary["models"].items()} == {
        "layout": LAYOUT,
        "seal_det": "PP-OCRv4_mobile_seal_det",
        "text_rec": "PP-OCRv4_mobile_rec",
        "textline_ori": "PP-LCNet_x0_25_textline_ori",
        "doc_ori": "PP-LCNet_x1_0_doc_ori",
    }
    assert all(len(m["sha256"]) == 64 for m in summary["models"].values())


def test_installed_files_carry_the_yml_facts(official_install):
    repository, _, summary, _, _ = official_install
    info = LayoutInfo.from_file(repository / names.LAYOUT_INFO_FILE)
    assert info.labels == ("image", "table", "seal") and info.seal_label == "seal"
    assert info.input_hw == (64, 64)
    characters = (repository / names.CHARACTERS_FILE).read_text("utf-8").splitlines()
    assert len(characters) == 6623 and characters[0] == "一"
    # PaddleX's ClasPredictor recipe from the yml: RGB, stretched to 160 x 80, top-1 decides
    ori = TextlineOriInfo.from_file(repository / names.TEXTLINE_ORI_INFO_FILE)
    assert (ori.input_hw, ori.keep_ratio, ori.channels) == ((80, 160), False, "RGB")
    assert ori.labels == ("0_degree", "180_degree") and ori.turned_class == 1
    assert ori.min_score == 0.0 and "PP-LCNet_x0_25_textline_ori" in ori.source
    notes = " ".join(summary["models"]["layout"]["notes"])
    assert "im_shape computed" in notes and "normalisation" in notes
    # the tracked configs were not touched; the temp repository's got the model's input size
    assert "800, 608" in (MODEL_REPOSITORY / "layout" / "configs" / "cpu.pbtxt").read_text()
    assert "[ 3, 64, 64 ]" in (repository / "layout" / "configs" / "cpu.pbtxt").read_text()


def with_rec_height(archive: bytes, height: int) -> bytes:
    """The rec archive with its yml asking for another line height."""
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(archive)) as source,
        tarfile.open(fileobj=out, mode="w") as target,
    ):
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name.endswith("inference.yml"):
                data = data.replace(b"- 48\n", f"- {height}\n".encode())
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    return out.getvalue()


def test_a_model_the_library_cannot_serve_is_refused_and_nothing_is_installed(
    official_install, tmp_path, capsys
):
    repository, _, _, _, files = official_install
    before = {p: p.read_bytes() for p in repository.rglob("*") if p.is_file()}
    rec_archive = "PP-OCRv4_mobile_rec_infer.tar"
    files = {**files, rec_archive: with_rec_height(files[rec_archive], 32)}
    with ArchiveServer(files) as server:
        status = prepare.main([
            "--source", "official", "--layout", LAYOUT, "--base-url", server.url,
            "--repository", str(repository), "--cache", str(tmp_path / "cache"),
        ])  # fmt: skip
    assert status == 1
    assert (
        "rec image_shape [3, 32, 320]: seal_ocr.rec resizes to height 48" in capsys.readouterr().err
    )
    assert {p: p.read_bytes() for p in repository.rglob("*") if p.is_file()} == before


@pytest.fixture(scope="module")
def official_server(official_install):
    repository = official_install[0]
    config = ServerConfig(model_repository=repository, http_port=0, grpc_port=0, metrics_port=0)
    server = TritonServer(config, log_path=repository.parent / "tritonserver.log")
    server.start(timeout_s=180)
    yield grpcclient.InferenceServerClient(server.grpc_url)
    server.stop()


@pytest.mark.parametrize(
    ("model", "feeds", "expected"),
    [
        (names.LAYOUT_MODEL,  # box_count: the model's [N], dims [1] in the configs
         {names.LAYOUT_IMAGE: (2, 3, 64, 64), names.LAYOUT_SCALE_FACTOR: (2, 2)},
         {names.LAYOUT_BOXES: (2, names.LAYOUT_MAX_BOXES, 6), names.LAYOUT_BOX_COUNT: (2, 1)}),
        (names.SEAL_DET_MODEL, {names.SEAL_DET_IMAGE: (2, 3, 64, 96)},
         {names.SEAL_DET_PROB: (2, 1, 64, 96)}),
        (names.TEXT_REC_MODEL, {names.TEXT_REC_IMAGE: (3, 3, 48, 320)},
         {names.TEXT_REC_PROB: (3, 40, 6625)}),
        (names.TEXTLINE_ORI_MODEL, {names.TEXTLINE_ORI_IMAGE: (5, 3, 80, 160)},
         {names.TEXTLINE_ORI_PROB: (5, 2)}),
    ],
)  # fmt: skip
def test_triton_loads_and_serves_each_converted_model(official_server, model, feeds, expected):
    assert official_server.is_model_ready(model)
    inputs = []
    for name, shape in feeds.items():
        tensor = grpcclient.InferInput(name, list(shape), "FP32")
        tensor.set_data_from_numpy(np.full(shape, 0.5, np.float32))
        inputs.append(tensor)
    response = official_server.infer(model, inputs)
    for name, shape in expected.items():
        assert response.as_numpy(name).shape == shape


def test_converted_layout_rows_are_padded_per_image(official_server):
    # the tiny RT-DETR-shaped export gives one `seal` row per image covering the page
    # (im_shape / scale_factor); converted, each image gets its row, then zero rows
    scale = np.array([[0.5, 0.5], [1.0, 0.25]], np.float32)
    inputs = [grpcclient.InferInput(names.LAYOUT_IMAGE, [2, 3, 64, 64], "FP32"),
              grpcclient.InferInput(names.LAYOUT_SCALE_FACTOR, [2, 2], "FP32")]  # fmt: skip
    inputs[0].set_data_from_numpy(np.full((2, 3, 64, 64), 0.5, np.float32))
    inputs[1].set_data_from_numpy(scale)
    response = official_server.infer(names.LAYOUT_MODEL, inputs)
    boxes = response.as_numpy(names.LAYOUT_BOXES)
    np.testing.assert_array_equal(response.as_numpy(names.LAYOUT_BOX_COUNT), [[1], [1]])
    np.testing.assert_array_equal(boxes[:, 0, 0], [2, 2])  # class id of `seal`
    np.testing.assert_allclose(boxes[:, 0, 2:], [[0, 0, 128, 128], [0, 0, 256, 64]])
    assert not boxes[:, 1:].any()


def test_embedded_server_is_the_release_of_the_gpu_image(official_server):
    from tests.unit.test_docker import CONTAINER_TO_SERVER, DOCKER, instructions

    [base] = [args for keyword, args in instructions(DOCKER / "Dockerfile") if keyword == "FROM"]
    release = base.split(":")[1].removesuffix("-py3")
    assert official_server.get_server_metadata().version == CONTAINER_TO_SERVER[release]


def test_the_ensemble_runs_on_the_official_layout_labels(official_server):
    page = np.full((240, 320, 3), 255, np.uint8)
    cv2.circle(page, (160, 120), 80, (0, 0, 255), 6)
    image = grpcclient.InferInput(names.IMAGE, [1], "BYTES")
    image.set_data_from_numpy(np.array([cv2.imencode(".png", page)[1].tobytes()], dtype=object))
    response = official_server.infer(names.ENSEMBLE, [image])
    result = json.loads(response.as_numpy(names.RESULT_JSON)[0])
    [box] = result["layout_det_res"]["boxes"]
    assert box["label"] == "seal" and box["coordinate"] == pytest.approx([0, 0, 320, 240])
    assert len(result["seal_res_list"]) == 1  # the seal crop went through det and rec
