"""Degenerate but valid content gives results, not errors: no seals, seals without text,
zero-area and sub-pixel regions and polygons, seals cut by the page edge, a 3000 x 3000 seal.

Every served result is validated against the result JSON Schema and checked for its content
(number of seal regions, lines, texts, coordinates inside the page).
"""

from __future__ import annotations

import json
import time

import cv2
import jsonschema
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

from seal_ocr import pipeline
from seal_ocr import tensor_names as names
from seal_ocr.params import PipelineOptions, SealDetParams
from seal_ocr.result import result_schema

MODULES = {"grpc": grpcclient, "http": httpclient}
SEAL_LABEL = "figure"  # the stand-in layout model's seal label (model_repository/layout)


def png(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def infer(client, image: np.ndarray | bytes, options: dict | None = None) -> tuple[dict, float]:
    """(schema-valid result, wall seconds) of one request."""
    protocol, triton = client
    module = MODULES[protocol]
    data = image if isinstance(image, bytes) else png(image)
    inputs = [module.InferInput(names.IMAGE, [1], "BYTES")]
    inputs[0].set_data_from_numpy(np.array([data], dtype=object))
    if options is not None:
        inputs.append(module.InferInput(names.OPTIONS, [1], "BYTES"))
        inputs[1].set_data_from_numpy(np.array([json.dumps(options).encode()], dtype=object))
    started = time.perf_counter()
    response = triton.infer(names.ENSEMBLE, inputs)
    elapsed = time.perf_counter() - started
    result = json.loads(response.as_numpy(names.RESULT_JSON)[0])
    jsonschema.validate(result, result_schema())
    return result, elapsed


def all_texts(result: dict) -> list[str]:
    return [text for seal in result["seal_res_list"] for text in seal["rec_texts"]]


def describe(result: dict, seconds: float | None = None) -> str:
    texts = " | ".join(text for text in all_texts(result) if text)
    took = "" if seconds is None else f"{seconds:.1f} s, "
    return f"{took}{len(result['seal_res_list'])} seal(s), {len(result['texts'])} line(s): {texts}"


def assert_inside_page(result: dict, width: int, height: int) -> None:
    """Every seal box and every text polygon (page pixels) lies within the page."""
    for x1, y1, x2, y2 in result["seal_boxes"]:
        assert 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height, (x1, y1, x2, y2)
    for line in result["texts"]:
        points = np.array(line["poly"])
        assert (points >= 0).all(), line
        assert (points[:, 0] <= width).all() and (points[:, 1] <= height).all(), line


# --- pages without seals, seals without text -----------------------------------------------------


def test_blank_page_has_no_seals(client, record_outcome):
    result, _ = infer(client, np.full((1100, 850, 3), 255, np.uint8))
    record_outcome("blank page", client[0], "OK", describe(result))
    assert result["layout_det_res"]["boxes"] == []
    assert result["seal_boxes"] == [] and result["seal_res_list"] == [] and result["texts"] == []


def test_text_page_without_seal_has_no_seals(client, record_outcome):
    page = np.full((1100, 850, 3), 255, np.uint8)
    for i in range(8):
        cv2.putText(page, f"Clause {i + 1}: the parties agree, 2026-11-23", (40, 80 + 60 * i),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 0), 2)  # fmt: skip
    result, _ = infer(client, page)
    record_outcome("printed text, no seal", client[0], "OK", describe(result))
    assert all(box["label"] != SEAL_LABEL for box in result["layout_det_res"]["boxes"])
    assert result["seal_res_list"] == [] and result["texts"] == []


def red_ring(size: int = 600) -> np.ndarray:
    page = np.full((size, size, 3), 255, np.uint8)
    centre = (size // 2, size // 2)
    cv2.circle(page, centre, size * 5 // 12, (0, 0, 220), 14)
    cv2.circle(page, centre, size * 3 // 8, (0, 0, 220), 3)
    return page


def test_red_ring_without_text_is_one_seal_with_no_lines(client, record_outcome):
    result, _ = infer(client, red_ring())
    record_outcome("red ring, no text", client[0], "OK", describe(result))
    [seal] = result["seal_res_list"]
    assert seal["dt_polys"] == [] and seal["rec_texts"] == [] and result["texts"] == []
    [(x1, y1, x2, y2)] = result["seal_boxes"]
    assert x2 - x1 > 400 and y2 - y1 > 400  # the ring, not a speck
    whole, _ = infer(client, red_ring(), {"use_layout_detection": False})
    assert whole["seal_boxes"] == [[0.0, 0.0, 600.0, 600.0]]
    assert whole["seal_res_list"][0]["dt_polys"] == [] and whole["texts"] == []


def test_seal_without_text_reads_nothing_confidently(client, eval_dir, record_outcome):
    data = (eval_dir / "nephren_8_notext_negative.jpg").read_bytes()  # a pig drawing, no text
    result, _ = infer(client, data)
    record_outcome("seal without text (pig)", client[0], "OK", describe(result))
    [seal] = result["seal_res_list"]
    assert len(seal["rec_texts"]) == len(seal["dt_polys"])  # threshold 0: every polygon is read
    assert all(score < 0.5 for score in seal["rec_scores"]), seal["rec_scores"]
    strict, _ = infer(client, data, {"seal_rec_score_thresh": 0.5})
    [seal] = strict["seal_res_list"]
    assert seal["dt_polys"] == result["seal_res_list"][0]["dt_polys"]
    assert seal["rec_texts"] == [] and strict["texts"] == []


# --- zero-area and sub-pixel regions -------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "max_side"),
    [(1e-6, 0.01), ([1.0, 1e-6], 700), ([1e-6, 1.0], 700), (0.004, 3.0)],
    ids=["point", "zero-height", "zero-width", "2-pixel"],
)
def test_sub_pixel_layout_boxes_give_empty_seals(client, eval_dir, record_outcome, ratio, max_side):
    # layout_unclip_ratio shrinks each layout box around its centre: down to under a pixel
    data = (eval_dir / "paddlex_seal_text_det.png").read_bytes()
    result, _ = infer(client, data, {"layout_unclip_ratio": ratio})
    [(x1, y1, x2, y2)] = result["seal_boxes"]
    record_outcome(
        f"layout box {x2 - x1:.4g} x {y2 - y1:.4g} px", client[0], "OK", describe(result)
    )
    assert min(x2 - x1, y2 - y1) < 3 and max(x2 - x1, y2 - y1) <= max_side
    [seal] = result["seal_res_list"]
    assert seal["dt_polys"] == [] and seal["rec_texts"] == [] and result["texts"] == []


def test_seal_det_inputs_skip_empty_crops():
    page = np.full((500, 500, 3), 255, np.uint8)
    boxes = np.array(
        [
            [10.0, 10.0, 10.6, 200.0],  # thinner than a pixel: empty crop
            [20.2, 30.7, 300.0, 30.9],  # sub-pixel height: empty crop
            [5.5, 5.5, 5.9, 5.9],  # a sub-pixel speck
            [400.0, 400.0, 400.0, 400.0],  # zero area
            [0.0, 0.0, 1.0, 1.0],  # one pixel: a real crop
            [20.2, 30.7, 300.0, 31.4],  # 280 x 1 pixels
            [100.0, 100.0, 400.0, 400.0],
        ]
    )
    params = SealDetParams()
    inputs, metas = pipeline.seal_det_inputs(page, boxes, params)
    assert [meta is None for meta in metas] == [True, True, True, True, False, False, False]
    assert len(inputs) == 3
    for tensor in inputs:
        assert tensor.dtype == np.float32 and tensor.shape[0] == 3
        assert tensor.shape[1] % 32 == 0 and tensor.shape[2] % 32 == 0 and min(tensor.shape) > 0
    # empty prob maps and one with a single hot pixel (below DB's min size): no polygons
    maps = [np.zeros((1, 1, *tensor.shape[1:]), np.float32) for tensor in inputs]
    maps[2][0, 0, 50, 50] = 1.0
    polys = pipeline.polys_from_seal_det(maps, metas, params)
    assert polys == [[]] * len(boxes)
    assert pipeline.line_images(page, boxes, polys) == []


DEGENERATE_POLYS = {
    "1 point": [[50, 50]],
    "2 points": [[10, 10], [200, 40]],
    "3 points": [[10, 10], [200, 40], [100, 150]],
    "3 collinear points": [[10, 10], [20, 20], [30, 30]],
    "4 equal points": [[50, 50]] * 4,
    "4 points on a line": [[10, 50], [100, 50], [200, 50], [150, 50]],
    "vertical segment": [[60, 10], [60, 10], [60, 200], [60, 200]],
    "8 equal points": [[70, 70]] * 8,
    "self-intersecting": [[0, 0], [100, 100], [100, 0], [0, 100]],
    "sub-pixel square": [[10.2, 10.2], [10.9, 10.2], [10.9, 10.8], [10.2, 10.8]],
    "outside the crop": [[-50, -50], [600, -50], [600, -40], [-50, -40]],
    "20-point flat ring": [[10 * i, 50] for i in range(20)]
    + [[10 * i, 50] for i in range(19, -1, -1)],
}


def test_degenerate_polygons_give_line_images_and_a_valid_result(eval_dir):
    page = cv2.imread(str(eval_dir / "nephren_10_oval.jpg"))
    box = np.array([[100.0, 100.0, 400.0, 400.0]])
    polys = [np.array(points, np.float32) for points in DEGENERATE_POLYS.values()]
    lines = pipeline.line_images(page, box, [polys])
    assert len(lines) == len(polys)
    for name, line in zip(DEGENERATE_POLYS, lines, strict=True):
        assert line.dtype == np.uint8 and line.ndim == 3 and line.shape[2] == 3, name
        assert line.shape[0] >= 1 and line.shape[1] >= 1, name
        assert line.flags.c_contiguous, name
    for tensor in pipeline.rec_inputs(lines):
        assert tensor.shape[:2] == (3, 48) and tensor.shape[2] > 0
    options = PipelineOptions(use_layout_detection=False, seal_rec_score_thresh=0.5)
    scores = [0.9 if i % 2 else 0.1 for i in range(len(polys))]
    result = pipeline.assemble(options, None, box, [polys], ["x"] * len(polys), scores)
    jsonschema.validate(result, result_schema())
    [seal] = result["seal_res_list"]
    assert len(seal["dt_polys"]) == len(polys)
    assert len(seal["rec_texts"]) == len(result["texts"]) == sum(s >= 0.5 for s in scores)
    assert result["texts"][0]["poly"] == [[110, 110], [300, 140]]  # crop -> page pixels


# --- seals cut by the page edge, a very large seal -----------------------------------------------


@pytest.mark.parametrize("corner", ["top-left", "bottom-right"])
def test_seal_cut_by_two_page_edges(client, eval_dir, record_outcome, corner):
    seal = cv2.imread(str(eval_dir / "paddlex_seal_text_det.png"))  # 640 x 640
    cut, (height, width) = 80, (1100, 850)
    page = np.full((height, width, 3), 255, np.uint8)
    size = seal.shape[0] - cut
    if corner == "top-left":  # the seal's left and top 80 px are off the page
        page[:size, :size] = seal[cut:, cut:]
    else:  # its right and bottom 80 px are off the page
        page[height - size :, width - size :] = seal[:size, :size]
    result, _ = infer(client, page)
    record_outcome(f"seal cut at the {corner} corner", client[0], "OK", describe(result))
    assert_inside_page(result, width, height)
    [seal_box] = result["seal_boxes"]
    if corner == "top-left":
        assert seal_box[0] <= 2 and seal_box[1] <= 2
    else:
        assert seal_box[2] >= width - 2 and seal_box[3] >= height - 2
    assert "发票专用章" in all_texts(result)
    assert len(result["texts"]) >= 4
    whole, _ = infer(client, page, {"use_layout_detection": False})
    assert_inside_page(whole, width, height)
    assert len(whole["texts"]) >= 4
    assert any("票专用章" in text for text in all_texts(whole))  # the stand-in misreads 发 at times


def test_3000_x_3000_seal(grpc_client, eval_dir, record_outcome):
    seal = cv2.imread(str(eval_dir / "nephren_10_oval.jpg"))
    big = cv2.resize(seal, (3000, 3000), interpolation=cv2.INTER_CUBIC)
    result, seconds = infer(("grpc", grpc_client), big)
    record_outcome("3000 x 3000 seal", "grpc", "OK", describe(result, seconds))
    print(f"3000 x 3000 seal: {seconds:.1f} s wall, {len(result['texts'])} lines")
    assert_inside_page(result, 3000, 3000)
    assert len(result["seal_res_list"]) >= 1
    assert "现金收讫章" in all_texts(result)
    assert len(result["texts"]) >= 5
    widest = max(x2 - x1 for x1, _, x2, _ in result["seal_boxes"])
    assert widest > 2000  # found at full scale, not as a small speck
    assert any(seal["text_det_params"]["limit_side_len"] == 736 for seal in result["seal_res_list"])
