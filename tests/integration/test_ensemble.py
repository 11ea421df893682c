"""The ``seal_recognition`` ensemble in a real tritonserver, over gRPC and HTTP."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import jsonschema
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from seal_ocr import tensor_names as names
from seal_ocr.image_io import decode_image
from seal_ocr.layout import preprocess_layout
from seal_ocr.model_info import LayoutInfo
from seal_ocr.params import parse_options
from seal_ocr.pipeline import SealRecognizer
from seal_ocr.result import result_schema
from seal_triton.launcher import DEFAULT_ENGINE, ServerConfig, TritonServer
from tests.conftest import REPO_ROOT

LOG_DIR = REPO_ROOT / ".build" / "test-logs"
MODULES = {"grpc": grpcclient, "http": httpclient}
REAL_IMAGES = [
    "paddlex_seal_text_det.png",
    "nephren_10_oval.jpg",
    "nephren_2_round_digital.jpeg",
    "nephren_3_square_artistic.jpeg",
    "nephren_5_square_whiteonred.jpeg",
    "nephren_8_notext_negative.jpg",
    "vignette_1_business_license.jpg",
    "vignette_2_contract_two_seals.jpg",
    "vignette_3_school_form.png",
    "vignette_5_certificate_photo.jpg",
]


def infer(client, data: bytes, options: dict | None = None) -> dict:
    protocol, triton = client
    module = MODULES[protocol]
    inputs = [module.InferInput(names.IMAGE, [1], "BYTES")]
    inputs[0].set_data_from_numpy(np.array([data], dtype=object))
    if options is not None:
        inputs.append(module.InferInput(names.OPTIONS, [1], "BYTES"))
        inputs[1].set_data_from_numpy(np.array([json.dumps(options).encode()], dtype=object))
    response = triton.infer(names.ENSEMBLE, inputs)
    result = json.loads(response.as_numpy(names.RESULT_JSON)[0])
    jsonschema.validate(result, result_schema())
    return result


def all_texts(result: dict) -> list[str]:
    return [text for seal in result["seal_res_list"] for text in seal["rec_texts"]]


def png_bytes(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def text_lines_page(lines: int) -> np.ndarray:
    """A white page with ``lines`` printed lines "NN  20261123": many polygons in one region."""
    page = np.full((60 * lines + 80, 700, 3), 255, np.uint8)
    for i in range(lines):
        cv2.putText(page, f"{i:02d}  20261123", (40, 70 + 60 * i),
                    cv2.FONT_HERSHEY_SIMPLEX, 1.4, (0, 0, 0), 3)  # fmt: skip
    return page


@pytest.mark.parametrize(
    ("image", "expected"),
    [("paddlex_seal_text_det.png", "发票专用章"), ("nephren_10_oval.jpg", "现金收讫章")],
)
@pytest.mark.parametrize("use_layout", [True, False])
def test_known_seal_text_is_read(client, eval_dir: Path, image, expected, use_layout):
    result = infer(client, (eval_dir / image).read_bytes(), {"use_layout_detection": use_layout})
    assert result["model_settings"]["use_layout_detection"] is use_layout
    assert ("layout_det_res" in result) is use_layout
    assert len(result["seal_res_list"]) >= 1
    assert expected in all_texts(result)
    assert expected in [line["text"] for line in result["texts"]]


def test_page_without_text_has_no_seals(client):
    blank = np.full((900, 700, 3), 255, np.uint8)
    result = infer(client, png_bytes(blank))
    assert result["seal_res_list"] == []
    assert result["layout_det_res"]["boxes"] == []
    assert result["texts"] == []


def test_no_layout_treats_page_as_one_region(client):
    blank = np.full((300, 400, 3), 255, np.uint8)
    result = infer(client, png_bytes(blank), {"use_layout_detection": False})
    assert result["seal_boxes"] == [[0.0, 0.0, 400.0, 300.0]]
    assert len(result["seal_res_list"]) == 1
    assert result["seal_res_list"][0]["dt_polys"] == []


def test_more_lines_than_rec_max_batch(client):
    lines = 22  # two words a line: 44 polygons, text_rec max_batch_size 16 -> several chunks
    result = infer(client, png_bytes(text_lines_page(lines)), {"use_layout_detection": False})
    texts = all_texts(result)
    assert len(texts) >= 2 * 16
    line_numbers = {f"{i:02d}" for i in range(lines)}
    assert len(line_numbers & set(texts)) >= 15, texts


def seal_grid_page(eval_dir: Path, rows: int = 3, cols: int = 4) -> np.ndarray:
    """Real seals tiled on a page with a caption under each: many seal regions."""
    names_ = ["nephren_10_oval.jpg", "nephren_2_round_digital.jpeg", "paddlex_seal_text_det.png"]
    seals = [cv2.resize(cv2.imread(str(eval_dir / name)), (200, 200)) for name in names_]
    tile, gap = 200, 100
    page = np.full((rows * (tile + gap) + gap, cols * (tile + gap) + gap, 3), 255, np.uint8)
    for k in range(rows * cols):
        y, x = gap + (k // cols) * (tile + gap), gap + (k % cols) * (tile + gap)
        page[y : y + tile, x : x + tile] = seals[k % len(seals)]
        cv2.putText(page, f"Seal No. {k + 1}", (x, y + tile + 30),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)  # fmt: skip
    return page


def test_more_seals_than_det_max_batch(client, eval_dir: Path):
    # the stand-in layout model needs a lower threshold and no merging to see every tile
    options = {"layout_threshold": 0.3, "layout_merge_bboxes_mode": "union"}
    result = infer(client, png_bytes(seal_grid_page(eval_dir)), options)
    seals = result["seal_res_list"]
    assert len(seals) > 8, f"layout found {len(seals)} seals"  # seal_det max_batch_size is 8
    assert len(result["seal_boxes"]) == len(seals)
    assert sum("现金收讫章" in seal["rec_texts"] for seal in seals) >= 2


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "0 bytes"),
        (bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)), "not a decodable"),
        (b"Invoice 2026-11-23\nTotal: 100 CNY\n", "not a decodable"),
        (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "PDF"),
    ],
    ids=["empty", "random", "text", "pdf"],
)
def test_bad_bytes_are_invalid_arg_and_server_survives(client, eval_dir, payload, message):
    with pytest.raises(InferenceServerException) as raised:
        infer(client, payload)
    error = raised.value
    assert message in error.message()
    status = str(error.status())
    assert "INVALID_ARGUMENT" in status or status == "400", status
    assert "现金收讫章" in all_texts(infer(client, (eval_dir / "nephren_10_oval.jpg").read_bytes()))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"seal_det_thresh": -0.1}, "seal_det_thresh"),
        ({"seal_det_limit_type": "longest"}, "seal_det_limit_type"),
        ({"layout_merge_bboxes_mode": "biggest"}, "layout_merge_bboxes_mode"),
        ({"use_layout_detection": "yes"}, "use_layout_detection"),
        ({"no_such_option": 1}, "unknown option"),
    ],
)
def test_bad_options_are_invalid_arg(client, eval_dir, options, message):
    data = (eval_dir / "nephren_2_round_digital.jpeg").read_bytes()
    with pytest.raises(InferenceServerException) as raised:
        infer(client, data, options)
    assert message in raised.value.message()


def test_options_reach_the_pipeline(client, eval_dir):
    data = (eval_dir / "paddlex_seal_text_det.png").read_bytes()
    options = {"use_layout_detection": False, "seal_det_limit_side_len": 640,
               "seal_det_limit_type": "max", "seal_rec_score_thresh": 0.99}  # fmt: skip
    seal = infer(client, data, options)["seal_res_list"][0]
    assert seal["text_det_params"]["limit_side_len"] == 640
    assert seal["text_det_params"]["limit_type"] == "max"
    assert seal["text_rec_score_thresh"] == 0.99
    assert all(score >= 0.99 for score in seal["rec_scores"])
    assert len(seal["rec_texts"]) <= len(seal["dt_polys"])


@pytest.fixture(scope="module")
def reference(model_repository) -> SealRecognizer:
    # the engine the session's server runs its ONNX entries on (configs/cpu.pbtxt)
    return SealRecognizer.from_model_repository(model_repository, engine=DEFAULT_ENGINE)


def assert_same_result(served: dict, local: dict) -> None:
    assert served.keys() == local.keys()
    assert served.get("layout_det_res") == local.get("layout_det_res")
    assert served["seal_boxes"] == local["seal_boxes"]
    assert len(served["seal_res_list"]) == len(local["seal_res_list"])
    for ours, theirs in zip(served["seal_res_list"], local["seal_res_list"], strict=True):
        assert ours["dt_polys"] == theirs["dt_polys"]
        assert ours["rec_polys"] == theirs["rec_polys"]
        assert ours["rec_texts"] == theirs["rec_texts"]
        np.testing.assert_allclose(ours["rec_scores"], theirs["rec_scores"], atol=1e-5)
    assert [t["text"] for t in served["texts"]] == [t["text"] for t in local["texts"]]
    assert [t["poly"] for t in served["texts"]] == [t["poly"] for t in local["texts"]]


@pytest.mark.parametrize("image", REAL_IMAGES)
@pytest.mark.parametrize("use_layout", [True, False])
def test_ensemble_equals_in_process_reference(grpc_client, reference, eval_dir, image, use_layout):
    data = (eval_dir / image).read_bytes()
    options = {"use_layout_detection": use_layout}
    served = infer(("grpc", grpc_client), data, options)
    local = reference.predict(decode_image(data), parse_options(options))
    jsonschema.validate(local, result_schema())
    assert_same_result(served, local)


def _stats(triton, model: str) -> tuple[int, int]:
    stats = triton.get_inference_statistics(model, as_json=True)["model_stats"][0]
    return int(stats.get("inference_count", 0)), int(stats.get("execution_count", 0))


def _stats_after(triton, model: str, before: tuple[int, int], inferences: int) -> np.ndarray:
    """(inferences, executions) since ``before``, once ``inferences`` are counted or 5 s passed:
    Triton counts an execution after its responses are sent, so a read right after the last
    response can miss it."""
    deadline = time.monotonic() + 5.0
    while True:
        done = np.subtract(_stats(triton, model), before)
        if done[0] >= inferences or time.monotonic() > deadline:
            return done
        time.sleep(0.05)


@pytest.fixture(scope="module")
def uncapped_server(model_repository):
    """An own server without admission control: 8 requests really in flight at once (under the
    shipped cap of 3, whether two requests' crops meet in a batcher depends on timing)."""
    config = ServerConfig(
        model_repository=model_repository,
        http_port=0,
        grpc_port=0,
        metrics_port=0,
        max_in_flight=0,
    )
    server = TritonServer(config, log_path=LOG_DIR / "uncapped-tritonserver.log")
    server.start(timeout_s=180)
    yield server
    server.stop()


def test_onnx_entries_batch_across_concurrent_requests(uncapped_server, eval_dir):
    models = [names.LAYOUT_MODEL, names.SEAL_DET_MODEL, names.TEXT_REC_MODEL]
    grpc_client = grpcclient.InferenceServerClient(uncapped_server.grpc_url)
    before = {model: _stats(grpc_client, model) for model in models}
    data = (eval_dir / "paddlex_seal_text_det.png").read_bytes()

    def one(_):
        client = grpcclient.InferenceServerClient(uncapped_server.grpc_url)
        return infer(("grpc", client), data)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(24)))
    assert all("发票专用章" in all_texts(result) for result in results)
    for model in models:
        inferences = _stats(grpc_client, model)[0] - before[model][0]
        executions = _stats(grpc_client, model)[1] - before[model][1]
        assert inferences > executions, f"{model}: {inferences} inferences, {executions} executions"


def _layout_inputs(page_path: Path, input_hw: tuple[int, int]) -> list[grpcclient.InferInput]:
    """One page as one batch item of the layout entry, as find_seals sends it."""
    prepared = preprocess_layout(decode_image(page_path.read_bytes()), input_hw)
    arrays = {
        names.LAYOUT_IMAGE: prepared.image[None],
        names.LAYOUT_SCALE_FACTOR: prepared.scale_factor[None],
    }
    inputs = []
    for name, array in arrays.items():
        inputs.append(grpcclient.InferInput(name, list(array.shape), "FP32"))
        inputs[-1].set_data_from_numpy(array)
    return inputs


def test_layout_batches_concurrent_pages_and_each_gets_its_own_rows(
    triton_server, model_repository, eval_dir
):
    # the fixed-shape contract: the dynamic batcher merges concurrent pages into one execution
    # and the backend splits the outputs on the batch axis; every page must get back exactly
    # what it gets alone (its box_count rows, then zero rows)
    info = LayoutInfo.from_file(model_repository / names.LAYOUT_INFO_FILE)
    pages = [eval_dir / image for image in REAL_IMAGES]
    grpc_client = grpcclient.InferenceServerClient(triton_server.grpc_url)

    def layout(path: Path) -> tuple[np.ndarray, int]:
        client = grpcclient.InferenceServerClient(triton_server.grpc_url)
        response = client.infer(names.LAYOUT_MODEL, _layout_inputs(path, info.input_hw))
        boxes = response.as_numpy(names.LAYOUT_BOXES)
        count = response.as_numpy(names.LAYOUT_BOX_COUNT)
        assert boxes.shape == (1, names.LAYOUT_MAX_BOXES, 6) and count.shape == (1, 1)
        return boxes[0], int(count[0, 0])

    alone = {path: layout(path) for path in pages}
    counts = {count for _, count in alone.values()}
    assert len(counts) > 2  # pages with different numbers of rows, so a mix-up would show
    before = _stats(grpc_client, names.LAYOUT_MODEL)
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(layout, pages * 3))
    inferences, executions = _stats_after(grpc_client, names.LAYOUT_MODEL, before, len(pages) * 3)
    assert inferences == len(pages) * 3
    assert inferences > executions, f"layout: {inferences} inferences, {executions} executions"
    for path, (boxes, count) in zip(pages * 3, together, strict=True):
        alone_boxes, alone_count = alone[path]
        assert count == alone_count, path.name
        np.testing.assert_allclose(boxes, alone_boxes, rtol=0, atol=1e-3, err_msg=path.name)
        assert not boxes[count:].any(), path.name
