"""The official-model path's parts without PaddlePaddle: download, verify, yml facts, graph
adapters, config rewriting and the SOURCE=auto decision (``tools/models/official.py``)."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from google.protobuf import text_format
from onnx import TensorProto, helper
from tritonclient.grpc import model_config_pb2 as mc

from seal_ocr import tensor_names as names
from seal_ocr.layout import IMAGENET_MEAN, IMAGENET_STD
from tests.conftest import MODEL_REPOSITORY
from tools.models import official, prepare


class ArchiveServer:
    """Files over HTTP on 127.0.0.1 with HEAD and ``Range: bytes=N-``; ``cut_once`` paths send
    half their body on the first GET and drop the connection (to test resuming)."""

    def __init__(self, files: dict[str, bytes], cut_once: tuple[str, ...] = ()) -> None:
        self.files, self.cut_once, self.requests = dict(files), set(cut_once), []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, body_wanted: bool) -> None:
                path = self.path.lstrip("/")
                server.requests.append((self.command, path, self.headers.get("Range")))
                if path not in server.files:
                    self.send_error(404)
                    return
                data, start = server.files[path], 0
                ranged = self.headers.get("Range")
                if ranged and ranged.startswith("bytes="):
                    start = int(ranged[6:].split("-")[0])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if not body_wanted:
                    return
                body = data[start:]
                if path in server.cut_once:
                    server.cut_once.discard(path)
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def do_GET(self):
                self._send(True)

            def do_HEAD(self):
                self._send(False)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ArchiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def make_tar(members: dict[str, bytes], truncate: bool = False) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    data = buffer.getvalue()
    return data[: len(data) // 2] if truncate else data


MODEL_FILES = {
    "m_infer/inference.json": b"{}" * 5000,
    "m_infer/inference.pdiparams": bytes(range(256)) * 40,
    "m_infer/inference.yml": b"Global: {model_name: m}\n",
}


def spec(**kw) -> official.ModelSpec:
    return official.ModelSpec(name="m", role="seal_det", url="http://x/m_infer.tar", **kw)


# --------------------------------------------------------------------------- manifest
def test_profiles_and_layout_choices_follow_the_paddlex_tables():
    mobile = official.select_models("mobile")
    assert {r: s.name for r, s in mobile.items()} == {
        "layout": "PicoDet-S_layout_3cls",
        "seal_det": "PP-OCRv4_mobile_seal_det",
        "text_rec": "PP-OCRv4_mobile_rec",
        "textline_ori": "PP-LCNet_x0_25_textline_ori",
        "doc_ori": "PP-LCNet_x1_0_doc_ori",
    }
    server = official.select_models("server")
    assert server["seal_det"].name == "PP-OCRv4_server_seal_det"
    assert server["text_rec"].name == "PP-OCRv4_server_rec"
    base = "https://paddle-model-ecology.bj.bcebos.com/paddlex/official_inference_model/paddle3.0.0"
    assert mobile["seal_det"].url == f"{base}/PP-OCRv4_mobile_seal_det_infer.tar"
    assert set(official.layout_choices()) == {
        "PicoDet-S_layout_3cls", "PicoDet-L_layout_3cls", "RT-DETR-H_layout_3cls",
        "PicoDet-S_layout_17cls", "PicoDet-L_layout_17cls", "RT-DETR-H_layout_17cls",
        "PP-DocLayout-L", "PP-DocLayout-M", "PP-DocLayout-S", "PP-DocLayout_plus-L",
    }  # fmt: skip
    assert official.model_choices("text_rec") == [
        "PP-OCRv4_mobile_rec", "PP-OCRv4_server_rec", "PP-OCRv5_mobile_rec", "PP-OCRv5_server_rec"
    ]  # fmt: skip
    chosen = official.select_models("mobile", "PicoDet-L_layout_17cls", "http://mirror/x/")
    assert chosen["layout"].url == "http://mirror/x/PicoDet-L_layout_17cls_infer.tar"
    # PaddleX 3.7.2's seal_recognition.yaml: PP-DocLayout-L, server seal det, server rec
    paddlex = official.select_models("paddlex-3.7.2")
    assert {r: s.name for r, s in paddlex.items()} == {
        "layout": "PP-DocLayout-L",
        "seal_det": "PP-OCRv4_server_seal_det",
        "text_rec": "PP-OCRv4_server_rec",
        "textline_ori": "PP-LCNet_x0_25_textline_ori",
        "doc_ori": "PP-LCNet_x1_0_doc_ori",
    }
    assert official.model_choices("textline_ori") == ["PP-LCNet_x0_25_textline_ori"]
    v5 = official.select_models("mobile", models={"text_rec": "PP-OCRv5_server_rec"})
    assert v5["text_rec"].url.endswith("/PP-OCRv5_server_rec_infer.tar")
    with pytest.raises(official.OfficialModelError, match="choose one of"):
        official.select_models("mobile", "PP-DocLayout-XL")
    with pytest.raises(official.OfficialModelError, match="unknown text_rec"):
        official.select_models("mobile", models={"text_rec": "PP-OCRv4_server_seal_det"})
    with pytest.raises(official.OfficialModelError, match="unknown PROFILE"):
        official.select_models("tiny")


def test_official_extra_is_fully_pinned():
    requirements = official.official_requirements()
    assert "paddle2onnx==2.1.0" in requirements and "paddlepaddle==3.3.1" in requirements
    assert all("==" in r for r in requirements)


# --------------------------------------------------------------------------- download
def test_download_resumes_with_range_after_a_dropped_connection(tmp_path):
    data = bytes(range(256)) * 4096  # 1 MiB
    with ArchiveServer({"a.tar": data}, cut_once=("a.tar",)) as server:
        path = official.download(f"{server.url}/a.tar", tmp_path / "a.tar")
    assert path.read_bytes() == data
    ranges = [r for method, _, r in server.requests if method == "GET"]
    assert ranges[0] is None and ranges[1] == f"bytes={len(data) // 2}-"
    assert not (tmp_path / "a.tar.part").exists()


def test_download_of_a_missing_archive_says_what_to_do(tmp_path):
    with ArchiveServer({}) as server, pytest.raises(official.OfficialModelError) as error:
        official.download(f"{server.url}/nope.tar", tmp_path / "nope.tar")
    assert "HTTP 404" in str(error.value) and "SOURCE=rapid" in str(error.value)
    assert len(server.requests) == 1  # a 404 is not retried


def test_probe_answers_quickly_either_way():
    with ArchiveServer({"a.tar": b"x"}) as server:
        assert official.probe(f"{server.url}/a.tar")[0]
        assert not official.probe(f"{server.url}/b.tar")[0]
    start = time.monotonic()
    answered, what = official.probe(f"{server.url}/a.tar", timeout_s=2)  # server is gone
    assert not answered and "no answer" in what and time.monotonic() - start < 5


def test_auto_falls_back_to_the_stand_ins_loudly(monkeypatch, capsys):
    monkeypatch.setattr(official, "probe", lambda url: (False, f"no answer from {url}"))
    assert prepare.resolve_source("auto", "mobile", None, None) == "rapid"
    out = capsys.readouterr().out
    assert "OFFLINE STAND-INS" in out and "PP-OCRv4_mobile_seal_det_infer.tar" in out
    monkeypatch.setattr(official, "probe", lambda url: (True, "HTTP 200"))
    assert prepare.resolve_source("auto", "server", None, None) == "official"
    assert prepare.resolve_source("rapid", "mobile", None, None) == "rapid"


# --------------------------------------------------------------------------- verify
def test_a_complete_archive_verifies_and_its_digest_is_pinned(tmp_path):
    archive = tmp_path / "m_infer.tar"
    archive.write_bytes(make_tar(MODEL_FILES))
    ledger = tmp_path / "downloads.json"
    digest = official.verify_archive(spec(), archive, ledger)
    assert json.loads(ledger.read_text())["m"]["sha256"] == digest
    extracted = official.extract(archive, tmp_path / "out")
    assert sorted(p.name for p in extracted.iterdir()) == [
        "inference.json", "inference.pdiparams", "inference.yml"
    ]  # fmt: skip
    archive.write_bytes(make_tar({**MODEL_FILES, "m_infer/extra": b"1"}))  # changed upstream
    with pytest.raises(official.OfficialModelError, match="differs from the first download"):
        official.verify_archive(spec(), archive, ledger)
    assert (tmp_path / "m_infer.tar.bad").exists() and not archive.exists()


@pytest.mark.parametrize(
    ("members", "truncate", "pinned", "message"),
    [
        (MODEL_FILES, True, {}, "not a complete tar"),
        ({k: v for k, v in MODEL_FILES.items() if "pdiparams" not in k}, False, {}, "missing"),
        ({"m/inference.yml": b"x", "m/inference.pdiparams": b"y"}, False, {}, "inference.json"),
        ({"../evil/inference.yml": b"x"}, False, {}, "unsafe member"),
        (MODEL_FILES, False, {"sha256": "0" * 64}, "pinned"),
        (MODEL_FILES, False, {"size": 1}, "pinned"),
    ],
    ids=["truncated", "no-params", "no-program", "path-escape", "sha256", "size"],
)
def test_bad_archives_are_refused_with_the_reason(tmp_path, members, truncate, pinned, message):
    archive = tmp_path / "m_infer.tar"
    archive.write_bytes(make_tar(members, truncate))
    with pytest.raises(official.OfficialModelError, match=message):
        official.verify_archive(spec(**pinned), archive, tmp_path / "downloads.json")
    assert not archive.exists() and archive.with_name("m_infer.tar.bad").exists()  # re-fetched


# --------------------------------------------------------------------------- yml facts
LAYOUT_YML = {
    "Preprocess": [
        {"type": "Resize", "target_size": [800, 608], "keep_ratio": False, "interp": 2},
        {"type": "NormalizeImage", "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD),
         "is_scale": True},
        {"type": "Permute"},
    ],
    "label_list": ["image", "table", "seal"],
}  # fmt: skip


def test_layout_facts_read_labels_size_and_normalisation():
    facts = official.layout_facts(LAYOUT_YML)
    assert facts["labels"] == ["image", "table", "seal"] and facts["input_hw"] == (800, 608)
    assert facts["normalisation"] == official.Normalisation(1 / 255, IMAGENET_MEAN, IMAGENET_STD)
    keep_ratio = json.loads(json.dumps(LAYOUT_YML))
    keep_ratio["Preprocess"][0]["keep_ratio"] = True
    with pytest.raises(official.OfficialModelError, match="keep_ratio"):
        official.layout_facts(keep_ratio)
    with pytest.raises(official.OfficialModelError, match="no 'seal'"):
        official.layout_facts({**LAYOUT_YML, "label_list": ["text", "figure"]})


def test_layout_postprocess_of_the_yml_is_recorded_or_refused():
    doclayout = {
        **LAYOUT_YML, "arch": "DETR", "draw_threshold": 0.5, "layout_nms": True,
        "layout_unclip_ratio": [1.0, 1.0], "layout_merge_bboxes_mode": "large",
    }  # fmt: skip
    assert official.layout_facts(doclayout)["postprocess"] == {
        "draw_threshold": 0.5, "layout_nms": True, "layout_unclip_ratio": [1.0, 1.0],
        "layout_merge_bboxes_mode": "large", "arch": "DETR",
    }  # fmt: skip
    refused = [
        ({"layout_merge_bboxes_mode": "overlap"}, "layout_merge_bboxes_mode 'overlap'"),
        ({"layout_nms": "yes"}, "layout_nms 'yes'"),
        ({"draw_threshold": "high"}, "draw_threshold 'high'"),
        ({"arch": "YOLO"}, "arch 'YOLO'"),
    ]
    for change, message in refused:
        with pytest.raises(official.OfficialModelError, match=message):
            official.layout_facts({**doclayout, **change})


def test_det_and_rec_facts():
    det = {
        "PreProcess": {"transform_ops": [
            {"DecodeImage": {"img_mode": "BGR"}},
            {"NormalizeImage": {"scale": "1./255.", "mean": list(IMAGENET_MEAN),
                                "std": list(IMAGENET_STD), "order": "hwc"}},
        ]},
        "PostProcess": {"name": "DBPostProcess", "thresh": 0.2, "box_type": "poly"},
    }  # fmt: skip
    facts = official.det_facts(det)
    assert facts["normalisation"].scale == pytest.approx(1 / 255)
    assert facts["postprocess"] == {"thresh": 0.2, "box_type": "poly"}
    det["PreProcess"]["transform_ops"][0]["DecodeImage"]["img_mode"] = "RGB"
    with pytest.raises(official.OfficialModelError, match="BGR"):
        official.det_facts(det)
    rec = {
        "PreProcess": {"transform_ops": [{"RecResizeImg": {"image_shape": [3, 48, 320]}}]},
        "PostProcess": {"name": "CTCLabelDecode", "character_dict": ["a", "b"]},
    }
    assert official.rec_facts(rec)["characters"] == ["a", "b"]
    rec["PreProcess"]["transform_ops"][0]["RecResizeImg"]["image_shape"] = [3, 32, 320]
    with pytest.raises(official.OfficialModelError, match="height 48"):
        official.rec_facts(rec)


# --------------------------------------------------------------------------- graph adapters
def identity_model(inputs: dict[str, list], output_from: str) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Identity", [output_from], ["out"])],
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 16)])


def run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


def test_folded_normalisation_turns_our_input_into_the_models():
    model = identity_model({"image": [1, 3, 2, 2]}, "image")
    ours = official.Normalisation(1 / 255, IMAGENET_MEAN, IMAGENET_STD)
    theirs = official.Normalisation(1 / 255, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))  # RT-DETR: /255
    assert official.fold_normalisation(model.graph, "image", ours, theirs)
    pixels = np.random.default_rng(0).integers(0, 256, (1, 3, 2, 2)).astype(np.float32)
    mean, std = (np.array(v, np.float32).reshape(1, 3, 1, 1) for v in (IMAGENET_MEAN, IMAGENET_STD))
    np.testing.assert_allclose(run(model, {"image": (pixels / 255 - mean) / std}), pixels / 255,
                               atol=1e-5)  # fmt: skip
    same = identity_model({"image": [1, 3, 2, 2]}, "image")
    assert not official.fold_normalisation(same.graph, "image", ours, ours)  # nothing to do


def test_im_shape_is_computed_from_the_fixed_input_size():
    model = identity_model(
        {"im_shape": [None, 2], "image": [None, 3, 8, 6], "scale_factor": [None, 2]}, "im_shape"
    )
    assert official.compute_im_shape(model.graph, (8, 6))
    official.order_inputs(model.graph, ["image", "scale_factor"])
    out = run(model, {"image": np.zeros((2, 3, 8, 6), np.float32),
                      "scale_factor": np.ones((2, 2), np.float32)})  # fmt: skip
    np.testing.assert_array_equal(out, [[8, 6], [8, 6]])


def test_layout_input_size_is_written_into_every_config_and_back(tmp_path):
    entry = tmp_path / names.LAYOUT_MODEL
    shutil.copytree(
        MODEL_REPOSITORY / names.LAYOUT_MODEL, entry, ignore=shutil.ignore_patterns("1")
    )
    originals = {p: p.read_bytes() for p in entry.rglob("*.pbtxt")}
    # config.pbtxt (GPU) and both CPU variants (OpenVINO, ONNX Runtime)
    assert len(official.set_layout_input_hw(entry, (640, 640))) == len(originals) == 3
    for path in originals:
        config = text_format.Parse(path.read_text(), mc.ModelConfig())
        assert list(config.input[0].dims)[-2:] == [640, 640]
    official.set_layout_input_hw(entry, (800, 608))
    assert {p: p.read_bytes() for p in originals} == originals


def test_layout_export_is_padded_per_image_and_fits_both_configs(tmp_path):
    # an RT-DETR-shaped export: im_shape, image, scale_factor -> 3 rows per image (taken from the
    # image) + counts, under paddle2onnx-style output names
    constants = {
        "starts": np.array([0, 0]), "ends": np.array([1, 3]), "axes": np.array([1, 2]),
        "six": np.array([-1, 6]), "h": np.array(0), "zero": np.float32(0), "three": np.float32(3),
    }  # fmt: skip
    nodes = [
        helper.make_node("Slice", ["image", "starts", "ends", "axes"], ["first_rows"]),
        helper.make_node("Reshape", ["first_rows", "six"], ["fetch_0"]),  # [3N, 6]
        helper.make_node("Gather", ["im_shape", "h"], ["im_h"], axis=1),  # [N]
        helper.make_node("Mul", ["im_h", "zero"], ["nothing"]),
        helper.make_node("Add", ["nothing", "three"], ["three_each"]),
        helper.make_node("Cast", ["three_each"], ["fetch_1"], to=TensorProto.INT32),  # [N]
    ]
    graph = helper.make_graph(
        nodes,
        "export",
        [
            helper.make_tensor_value_info("im_shape", TensorProto.FLOAT, ["N", 2]),
            helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 8, 6]),
            helper.make_tensor_value_info("scale_factor", TensorProto.FLOAT, ["N", 2]),
        ],
        [
            helper.make_tensor_value_info("fetch_0", TensorProto.FLOAT, [None, 6]),
            helper.make_tensor_value_info("fetch_1", TensorProto.INT32, [None]),
        ],
        [onnx.numpy_helper.from_array(np.asarray(v), n) for n, v in constants.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 16)])
    ours = official.Normalisation(1 / 255, IMAGENET_MEAN, IMAGENET_STD)  # nothing to fold
    notes = official._adapt_layout(model, {"normalisation": ours, "input_hw": (8, 6)})
    assert any("padded per image" in note for note in notes)
    assert [o.name for o in model.graph.output] == [names.LAYOUT_BOXES, names.LAYOUT_BOX_COUNT]

    entry = tmp_path / names.LAYOUT_MODEL
    (entry / "configs").mkdir(parents=True)
    for variant in ("config.pbtxt", "configs/cpu.pbtxt"):  # the tracked contract, nothing else
        shutil.copy(MODEL_REPOSITORY / names.LAYOUT_MODEL / variant, entry / variant)
    official.set_layout_input_hw(entry, (8, 6))
    official.check_against_configs(model, entry)

    image = np.random.default_rng(0).uniform(1, 2, (2, 3, 8, 6)).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    boxes, box_count = session.run(
        None, {"image": image, "scale_factor": np.ones((2, 2), np.float32)}
    )
    assert boxes.shape == (2, names.LAYOUT_MAX_BOXES, 6)
    np.testing.assert_array_equal(box_count, [3, 3])
    np.testing.assert_array_equal(boxes[:, :3], image[:, 0, :3, :])
    assert not boxes[:, 3:].any()


# --------------------------------------------------------------------------- local models
def write_files(directory, members: dict[str, bytes]):
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in members.items():
        (directory / name).write_bytes(data)
    return directory


def test_a_local_inference_directory_is_staged_like_an_archive(tmp_path):
    source = write_files(
        tmp_path / "my_seal_det_infer",
        {name.split("/")[-1]: data for name, data in MODEL_FILES.items()} | {"README": b"x"},
    )
    staged = official.stage_local(source, tmp_path / "work")
    assert staged.name == "my_seal_det"  # the directory's name, _infer dropped
    assert sorted(p.name for p in staged.model_dir.iterdir()) == [
        "inference.json", "inference.pdiparams", "inference.yml"
    ]  # fmt: skip
    again = official.stage_local(source, tmp_path / "work")
    assert again.sha256 == staged.sha256 and len(staged.sha256) == 64
    (source / "inference.pdiparams").write_bytes(b"fine-tuned further")
    assert official.stage_local(source, tmp_path / "work").sha256 != staged.sha256


def test_a_local_onnx_file_is_staged_with_its_yml(tmp_path):
    write_files(tmp_path / "m", {"my_rec.onnx": b"onnx", "my_rec.yml": b"Global: {}\n"})
    staged = official.stage_local(tmp_path / "m" / "my_rec.onnx", tmp_path / "work")
    assert staged.name == "my_rec"
    assert (staged.model_dir / "inference.onnx").read_bytes() == b"onnx"
    assert (staged.model_dir / "inference.yml").read_bytes() == b"Global: {}\n"
    write_files(tmp_path / "n", {"rec.onnx": b"onnx", "inference.yml": b"a: 1\n"})
    staged = official.stage_local(tmp_path / "n" / "rec.onnx", tmp_path / "work")
    assert (staged.model_dir / "inference.yml").read_bytes() == b"a: 1\n"


@pytest.mark.parametrize(
    ("files", "given", "message"),
    [
        ({"inference.yml": b"x", "inference.json": b"{}"}, "dir", "missing inference.pdiparams"),
        ({"inference.yml": b"x", "inference.pdiparams": b"p"}, "dir", "inference.json"),
        ({"m.onnx": b"onnx"}, "m.onnx", "no yml beside it"),
        ({"m.txt": b"x"}, "m.txt", "give a PaddleX inference directory"),
        ({}, "absent", "give a PaddleX inference directory"),
    ],
    ids=["no-params", "no-program", "onnx-without-yml", "other-file", "absent"],
)
def test_a_local_model_that_is_not_one_is_refused(tmp_path, files, given, message):
    source = write_files(tmp_path / "local", files)
    path = source if given == "dir" else source / given
    with pytest.raises(official.OfficialModelError, match=message):
        official.stage_local(path, tmp_path / "work")


def test_model_records_round_trip_and_read_for_people(tmp_path):
    from seal_ocr.model_info import (
        ModelRecord,
        describe_models,
        read_model_records,
        write_model_records,
    )

    assert read_model_records(tmp_path) == {}
    records = {
        "text_rec": ModelRecord("PP-OCRv4_server_rec", "official", "http://x/r.tar", "ab"),
        "seal_det": ModelRecord(
            "my_det", "local", "/data/my_det", "cd", "PP-OCRv4_server_seal_det"
        ),
    }
    write_model_records(tmp_path, records)
    assert read_model_records(tmp_path) == records
    assert describe_models(records) == (
        "seal_det my_det (local, from PP-OCRv4_server_seal_det: /data/my_det), "
        "text_rec PP-OCRv4_server_rec (official)"
    )


def test_the_stand_ins_record_every_onnx_entry():
    assert set(prepare.STAND_IN_RECORDS) == {*names.ONNX_MODELS, *names.OPTION_ONNX_MODELS}
    assert {r.source for r in prepare.STAND_IN_RECORDS.values()} == {"stand-in"}
    assert set(prepare.LOCAL_MODEL_FLAGS) == set(official.ROLES)


def test_rec_class_count_is_written_into_every_config_and_back(tmp_path):
    entry = tmp_path / names.TEXT_REC_MODEL
    shutil.copytree(
        MODEL_REPOSITORY / names.TEXT_REC_MODEL, entry, ignore=shutil.ignore_patterns("1", "*.txt")
    )
    originals = {p: p.read_bytes() for p in entry.rglob("*.pbtxt")}
    assert len(official.set_rec_classes(entry, 18385)) == len(originals) == 3
    for path in originals:
        config = text_format.Parse(path.read_text(), mc.ModelConfig())
        assert list(config.output[0].dims) == [-1, 18385]
    assert official.set_rec_classes(entry, 6625)
    assert {p: p.read_bytes() for p in originals} == originals


def test_the_document_preprocessor_refusals_say_why():
    from seal_ocr import doc_ori, uvdoc
    from seal_ocr.params import InvalidOptionError
    from tools.models.doc_ori_placeholder import PLACEHOLDER_INFO, UVDOC_PLACEHOLDER_INFO

    with pytest.raises(InvalidOptionError) as unwarping:  # only without the model
        uvdoc.require_model(UVDOC_PLACEHOLDER_INFO)
    with pytest.raises(InvalidOptionError) as orientation:
        doc_ori.require_model(PLACEHOLDER_INFO)
    for error, command in (
        (unwarping, "UVDOC=UVDoc"),
        (orientation, "DOC_ORI=PP-LCNet_x1_0_doc_ori"),
    ):
        assert command in str(error.value) and "docs/pipeline.md §10.4" in str(error.value)


def test_doc_ori_facts_read_the_classifier_recipe_or_refuse_it():
    yml = {
        "PreProcess": {"transform_ops": [
            {"ResizeImage": {"resize_short": 256}},
            {"CropImage": {"size": 224}},
            {"NormalizeImage": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD),
                                "scale": 0.00392156862745098, "order": ""}},
            {"ToCHWImage": None},
        ]},
        "PostProcess": {"Topk": {"topk": 1, "label_list": ["0", "90", "180", "270"]}},
    }  # fmt: skip
    info = official.doc_ori_facts(yml, "official: m")
    assert (info.resize_short, info.crop, info.labels) == (256, 224, ("0", "90", "180", "270"))
    assert info.available and info.source == "official: m"
    bad_labels = {**yml, "PostProcess": {"Topk": {"label_list": ["up", "down"]}}}
    with pytest.raises(official.OfficialModelError, match="angles among"):
        official.doc_ori_facts(bad_labels)
    no_crop = json.loads(json.dumps(yml))
    del no_crop["PreProcess"]["transform_ops"][1]
    with pytest.raises(official.OfficialModelError, match="CropImage"):
        official.doc_ori_facts(no_crop)
