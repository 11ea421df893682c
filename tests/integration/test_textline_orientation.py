"""Turned stamps through a real tritonserver: ``use_textline_orientation`` (180 degrees) and
``use_seal_quarter_turns`` (90 and 270 degrees).

PaddleX's seal pipeline reads a seal turned by 180 degrees upside down (nothing right on the
demo seal); with the option the ensemble classifies every rectified line (``textline_ori``
entry), turns the upside-down ones and reads them. Off, the result is the default one. With
quarter turns too, every seal is read at 0, 90, 180 and 270 degrees and the best kept.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from seal_ocr.params import parse_options
from seal_ocr.pipeline import SealRecognizer
from seal_triton.launcher import DEFAULT_ENGINE
from tests.integration.test_ensemble import all_texts, infer, png_bytes

ON = {"use_textline_orientation": True}
# the seal-only pictures of the shared set (the others are document pages)
# a seal picture and a document page with two seals
TWO_PAGES = ["paddlex_seal_text_det.png", "vignette_2_contract_two_seals.jpg"]
SEAL_PICTURES = [
    "paddlex_seal_text_det.png",
    "nephren_10_oval.jpg",
    "nephren_2_round_digital.jpeg",
    "nephren_3_square_artistic.jpeg",
    "nephren_5_square_whiteonred.jpeg",
    "nephren_8_notext_negative.jpg",
]


def turned_180(eval_dir: Path, image: str) -> bytes:
    page = cv2.imread(str(eval_dir / image))
    return png_bytes(np.ascontiguousarray(page[::-1, ::-1]))


def angles_of(result: dict) -> list[list[int]]:
    return [seal["textline_orientation_angles"] for seal in result["seal_res_list"]]


def polys_of(result: dict) -> list:
    return [seal["dt_polys"] for seal in result["seal_res_list"]]


@pytest.mark.parametrize(
    ("image", "expected"),
    [("paddlex_seal_text_det.png", "发票专用章"), ("nephren_10_oval.jpg", "现金收讫章")],
)
@pytest.mark.parametrize("use_layout", [True, False])
def test_the_option_reads_seals_turned_by_180_degrees(
    client, eval_dir, image, expected, use_layout
):
    data = turned_180(eval_dir, image)
    layout = {"use_layout_detection": use_layout}
    off = infer(client, data, layout)
    on = infer(client, data, {**layout, **ON})
    assert expected not in all_texts(off), "PaddleX's reading of the turned seal"
    assert expected in all_texts(on), all_texts(on)
    # the same regions and polygons: the option changes only how the lines are read
    assert on["seal_boxes"] == off["seal_boxes"] and polys_of(on) == polys_of(off)
    for seal in on["seal_res_list"]:
        assert seal["model_settings"]["use_textline_orientation"] is True
        assert len(seal["textline_orientation_angles"]) == len(seal["dt_polys"])
        assert set(seal["textline_orientation_angles"]) <= {0, 1}
    assert any(1 in angles for angles in angles_of(on)), "some line was turned"
    for seal in off["seal_res_list"]:
        assert seal["model_settings"]["use_textline_orientation"] is False
        assert seal["textline_orientation_angles"] == [-1] * len(seal["dt_polys"])


@pytest.mark.parametrize("image", TWO_PAGES)
def test_the_option_off_is_the_default_result(grpc_client, eval_dir, image):
    client = ("grpc", grpc_client)
    data = (eval_dir / image).read_bytes()
    default = infer(client, data)
    assert infer(client, data, {"use_textline_orientation": False}) == default
    assert default["seal_res_list"], "the picture has seals"
    for seal in default["seal_res_list"]:
        assert seal["model_settings"] == {
            "use_doc_preprocessor": False,
            "use_textline_orientation": False,
        }
        assert seal["textline_orientation_angles"] == [-1] * len(seal["dt_polys"])


@pytest.mark.parametrize("image", SEAL_PICTURES)
def test_upright_seals_read_the_same_with_the_option(grpc_client, eval_dir, image):
    client = ("grpc", grpc_client)
    data = (eval_dir / image).read_bytes()
    off, on = infer(client, data), infer(client, data, ON)
    assert all_texts(on) == all_texts(off)
    assert polys_of(on) == polys_of(off)
    assert [len(a) for a in angles_of(on)] == [len(p) for p in polys_of(on)]


@pytest.fixture(scope="module")
def reference(model_repository) -> SealRecognizer:
    return SealRecognizer.from_model_repository(model_repository, engine=DEFAULT_ENGINE)


@pytest.mark.parametrize("image", ["paddlex_seal_text_det.png", "nephren_10_oval.jpg"])
def test_ensemble_equals_in_process_reference_with_the_option(
    grpc_client, reference, eval_dir, image
):
    """The BLS path (textline_ori batched, lines turned in read_text_lines) is the library's."""
    data = turned_180(eval_dir, image)
    got = infer(("grpc", grpc_client), data, {**ON, "use_layout_detection": False})
    page = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    want = reference.predict(page, parse_options({**ON, "use_layout_detection": False}))
    assert angles_of(got) == angles_of(want)
    assert all_texts(got) == all_texts(want)


# --- use_seal_quarter_turns: seals turned by 90 or 270 degrees ----------------------------------

BOTH = {**ON, "use_seal_quarter_turns": True, "use_layout_detection": False}


@pytest.mark.parametrize("quarter_turns", [1, 3])
@pytest.mark.parametrize("image", ["paddlex_seal_text_det.png", "nephren_10_oval.jpg"])
def test_quarter_turns_read_a_seal_turned_sideways_as_upright(
    grpc_client, eval_dir, image, quarter_turns
):
    client = ("grpc", grpc_client)
    upright = cv2.imread(str(eval_dir / image))
    turned = np.ascontiguousarray(np.rot90(upright, quarter_turns))
    want = infer(client, png_bytes(upright), {"use_layout_detection": False})
    off = infer(client, png_bytes(turned), {**ON, "use_layout_detection": False})
    got = infer(client, png_bytes(turned), BOTH)
    # the turn that undoes the stamp's is read: the picture itself, upright
    assert all_texts(got) == all_texts(want) != all_texts(off)
    height, width = turned.shape[:2]
    [seal] = got["seal_res_list"]
    for poly in seal["dt_polys"]:  # turned back into the (turned) picture's own pixels
        points = np.array(poly)
        assert (points >= 0).all() and (points[:, 0] <= width).all()
        assert (points[:, 1] <= height).all()
    assert len(seal["textline_orientation_angles"]) == len(seal["dt_polys"])


def test_ensemble_equals_in_process_reference_with_quarter_turns(grpc_client, reference, eval_dir):
    upright = cv2.imread(str(eval_dir / "nephren_10_oval.jpg"))
    data = png_bytes(np.ascontiguousarray(np.rot90(upright, 1)))
    got = infer(("grpc", grpc_client), data, BOTH)
    page = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    want = reference.predict(page, parse_options(BOTH))
    assert all_texts(got) == all_texts(want)
    assert polys_of(got) == polys_of(want) and angles_of(got) == angles_of(want)


def test_paddlexs_hps_protocol_carries_the_option_by_its_ocr_api_name(grpc_client, eval_dir):
    """``useTextlineOrientation`` (PaddleX's OCR serving field) through ``seal-recognition``."""
    from tests.integration.test_hps import b64, hps_infer, rec_texts

    body = {"file": b64(turned_180(eval_dir, "paddlex_seal_text_det.png")), "fileType": 1}
    body |= {"useLayoutDetection": False, "visualize": False}
    off = hps_infer("grpc", grpc_client, body)
    on = hps_infer("grpc", grpc_client, {**body, "useTextlineOrientation": True})
    assert off["errorCode"] == on["errorCode"] == 0
    [page_off], [page_on] = off["result"]["sealRecResults"], on["result"]["sealRecResults"]
    assert "发票专用章" in rec_texts(page_on) and "发票专用章" not in rec_texts(page_off)
    [seal] = page_on["prunedResult"]["seal_res_list"]
    assert seal["model_settings"]["use_textline_orientation"] is True
    assert 1 in seal["textline_orientation_angles"]
