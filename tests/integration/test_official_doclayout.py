"""PaddleX 3.x's newer models on the official path, offline: tiny archives of PP-DocLayout-L
(RT-DETR form, 23 classes), PP-DocLayout_plus-L (20 classes), PP-DocLayout-S (PicoDet form) and
PP-OCRv5_mobile_rec (18383-character dictionary) go through the real paddle2onnx, are checked
and installed; the ``paddlex-3.7.2`` profile (PaddleX 3.7.2's seal_recognition model set) is
served by a real tritonserver and its layout's ``seal`` class feeds the seal OCR.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import cv2
import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.grpc as grpcclient
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from seal_ocr import tensor_names as names
from seal_ocr.model_info import LayoutInfo, read_model_records
from seal_triton.launcher import ServerConfig, TritonServer
from tests.integration.test_local_models import offline_cache
from tests.integration.test_official_path import TINY_BUILDER, copy_without_official_roles
from tests.unit.test_official_models import ArchiveServer
from tools.models import official, prepare

pytestmark = pytest.mark.official

DOCLAYOUT_SEAL_CLASS = 16  # PP-DocLayout's `seal`, as PaddleX's docs show it


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    python = official.ensure_converter_venv()
    out = tmp_path_factory.mktemp("archives")
    subprocess.run([str(python), str(TINY_BUILDER), str(out)], check=True, capture_output=True)
    return {p.name: p.read_bytes() for p in out.glob("*.tar")}


@pytest.fixture(scope="module")
def paddlex_profile(archives, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("paddlex")
    repository = copy_without_official_roles(tmp / "model_repository")
    with ArchiveServer(archives) as server:
        status = prepare.main([
            "--source", "official", "--profile", "paddlex-3.7.2", "--base-url", server.url,
            "--repository", str(repository), "--cache", str(tmp / "cache"),
        ])  # fmt: skip
    assert status == 0
    return repository


def test_the_paddlex_profile_installs_paddlex_3_7_2s_models(paddlex_profile):
    records = read_model_records(paddlex_profile)
    assert {role: records[role].model for role in official.ROLES if role in records} == {
        "layout": "PP-DocLayout-L",
        "seal_det": "PP-OCRv4_server_seal_det",
        "text_rec": "PP-OCRv4_server_rec",
        "textline_ori": "PP-LCNet_x0_25_textline_ori",
        "doc_ori": "PP-LCNet_x1_0_doc_ori",
    }
    info = LayoutInfo.from_file(paddlex_profile / names.LAYOUT_INFO_FILE)
    assert len(info.labels) == 23 and info.labels[DOCLAYOUT_SEAL_CLASS] == info.seal_label == "seal"
    recorded = json.loads((paddlex_profile / names.LAYOUT_INFO_FILE).read_text())["postprocess"]
    assert recorded == {
        "draw_threshold": 0.5, "layout_nms": True, "layout_unclip_ratio": [1.0, 1.0],
        "layout_merge_bboxes_mode": "large", "arch": "DETR",
    }  # fmt: skip


@pytest.fixture(scope="module")
def paddlex_server(paddlex_profile):
    config = ServerConfig(
        model_repository=paddlex_profile, http_port=0, grpc_port=0, metrics_port=0
    )
    server = TritonServer(config, log_path=paddlex_profile.parent / "tritonserver.log")
    server.start(timeout_s=180)
    yield grpcclient.InferenceServerClient(server.grpc_url)
    server.stop()


def test_the_doclayout_seal_class_feeds_the_seal_ocr(paddlex_server):
    page = np.full((240, 320, 3), 255, np.uint8)
    cv2.circle(page, (160, 120), 80, (0, 0, 255), 6)
    image = grpcclient.InferInput(names.IMAGE, [1], "BYTES")
    image.set_data_from_numpy(np.array([cv2.imencode(".png", page)[1].tobytes()], dtype=object))
    response = paddlex_server.infer(names.ENSEMBLE, [image])
    result = json.loads(response.as_numpy(names.RESULT_JSON)[0])
    [box] = result["layout_det_res"]["boxes"]  # the tiny model's one box: the page, class seal
    assert (box["cls_id"], box["label"]) == (DOCLAYOUT_SEAL_CLASS, "seal")
    assert box["coordinate"] == pytest.approx([0, 0, 320, 240])
    assert len(result["seal_res_list"]) == 1


@pytest.mark.parametrize(
    ("layout", "text_rec", "labels", "characters"),
    [("PP-DocLayout_plus-L", "PP-OCRv5_mobile_rec", 20, 18383), ("PP-DocLayout-S", None, 23, 6623)],
    ids=["plus-L+v5-rec", "S-picodet"],
)
def test_newer_layouts_and_the_v5_recogniser_over_the_stand_ins(
    archives, tmp_path, layout, text_rec, labels, characters
):
    repository = copy_without_official_roles(tmp_path / "model_repository")
    args = ["--source", "rapid", "--layout-model", layout]
    args += ["--text-rec", text_rec] if text_rec else []
    with ArchiveServer(archives) as server:
        status = prepare.main([
            *args, "--base-url", server.url, "--repository", str(repository),
            "--cache", str(offline_cache(tmp_path)),
        ])  # fmt: skip
    assert status == 0
    records = read_model_records(repository)
    assert (records["layout"].model, records["layout"].source) == (layout, "official")
    assert records["seal_det"].source == "stand-in"
    assert records["text_rec"].model == (text_rec or "ch_PP-OCRv4_rec_infer.onnx")
    info = LayoutInfo.from_file(repository / names.LAYOUT_INFO_FILE)
    assert len(info.labels) == labels and info.seal_label == "seal"
    dictionary = (repository / names.CHARACTERS_FILE).read_text("utf-8").splitlines()
    assert len(dictionary) == characters
    for path in (repository / names.TEXT_REC_MODEL).rglob("*.pbtxt"):  # every config variant
        config = text_format.Parse(path.read_text(), mc.ModelConfig())
        assert list(config.output[0].dims) == [-1, characters + 2]

    def session(entry):
        path = repository / entry / "1" / "model.onnx"
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    boxes, count = session(names.LAYOUT_MODEL).run(
        None,
        {
            names.LAYOUT_IMAGE: np.zeros((1, 3, *info.input_hw), np.float32),
            names.LAYOUT_SCALE_FACTOR: np.array([[0.5, 0.25]], np.float32),
        },
    )
    assert count.tolist() == [1] and info.labels[int(boxes[0, 0, 0])] == "seal"
    np.testing.assert_allclose(boxes[0, 0, 2:], [0, 0, 64 / 0.25, 64 / 0.5])  # page pixels
    [probs] = session(names.TEXT_REC_MODEL).run(
        None, {names.TEXT_REC_IMAGE: np.zeros((1, 3, 48, 320), np.float32)}
    )
    assert probs.shape == (1, 40, characters + 2)
    shutil.rmtree(repository)


def test_the_paddlex_profile_turns_the_page_with_its_orientation_model(
    paddlex_profile, paddlex_server
):
    # the tiny PP-LCNet_x1_0_doc_ori answers 180 degrees for every page
    record = read_model_records(paddlex_profile)[names.DOC_ORI_MODEL]
    assert (record.model, record.source) == ("PP-LCNet_x1_0_doc_ori", "official")
    page = np.full((240, 320, 3), 255, np.uint8)
    image = grpcclient.InferInput(names.IMAGE, [1], "BYTES")
    image.set_data_from_numpy(np.array([cv2.imencode(".png", page)[1].tobytes()], dtype=object))
    options = grpcclient.InferInput(names.OPTIONS, [1], "BYTES")
    options.set_data_from_numpy(
        np.array([json.dumps({"use_doc_orientation_classify": True}).encode()], dtype=object)
    )
    response = paddlex_server.infer(names.ENSEMBLE, [image, options])
    result = json.loads(response.as_numpy(names.RESULT_JSON)[0])
    assert result["model_settings"]["use_doc_preprocessor"] is True
    assert result["doc_preprocessor_res"]["angle"] == 180
