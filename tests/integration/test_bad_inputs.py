"""Bad and odd inputs to the ``seal_recognition`` ensemble, sent raw over gRPC and HTTP.

A bad request is refused with INVALID_ARG (gRPC ``INVALID_ARGUMENT``, HTTP 400) and a message
naming the problem, and the next good request still gets the same answer as before. Valid but
odd images (1 x 1, a 10 x 4000 strip, grey, RGBA, 16-bit, CMYK, EXIF-rotated, multi-page TIFF)
are served as ``cv2.imdecode(..., IMREAD_COLOR)`` decodes them, which is what PaddleX does. The
same inputs through ``SealClient`` are in ``test_bad_inputs_client.py``. Every test records its
outcome for the summary table printed at the end of the run.
"""

from __future__ import annotations

import io
import json
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import jsonschema
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from PIL import Image, ImageOps
from tritonclient.utils import InferenceServerException

from seal_ocr import tensor_names as names
from seal_ocr.image_io import decode_image
from seal_ocr.result import result_schema
from tests.integration.odd_files import (
    GOOD_IMAGE,
    GOOD_TEXT,
    PIXEL_CAP,
    animated_gif,
    exif_rotated_jpeg,
    first_half,
    pdf_of,
    pil_bytes,
    png,
    png_claiming,
    random_bytes,
    seal_pil,
    tiff_of,
)

MODULES = {"grpc": grpcclient, "http": httpclient}
INVALID_ARG = {"grpc": "StatusCode.INVALID_ARGUMENT", "http": "400"}

# Regressions found by these tests (fixed): a truncated JPEG was served with uninitialised rows
# holding an earlier request's pixels; a 50000 x 50000 header was refused without naming the
# cap; a request without IMAGE stalled the ensemble ("deadlock").


# --- sending -----------------------------------------------------------------------------------


@dataclass
class Reply:
    """What one raw request came back with: ``status`` is "OK" or Triton's error status."""

    status: str
    message: str
    result: dict | None
    seconds: float


def as_tensor(value: bytes | np.ndarray) -> np.ndarray:
    return value if isinstance(value, np.ndarray) else np.array([value], dtype=object)


def send(
    client: tuple[str, object],
    image: bytes | np.ndarray | None,
    options: dict | bytes | np.ndarray | None = None,
    *,
    image_dtype: str = "BYTES",
    options_dtype: str = "BYTES",
) -> Reply:
    """One raw request to the ensemble; ``None`` leaves the input out."""
    protocol, triton = client
    module = MODULES[protocol]
    if isinstance(options, dict):
        options = json.dumps(options).encode()
    inputs = []
    for name, value, dtype in (
        (names.IMAGE, image, image_dtype),
        (names.OPTIONS, options, options_dtype),
    ):
        if value is not None:
            array = as_tensor(value)
            tensor = module.InferInput(name, list(array.shape), dtype)
            tensor.set_data_from_numpy(array)
            inputs.append(tensor)
    started = time.perf_counter()
    try:
        response = triton.infer(names.ENSEMBLE, inputs)
    except InferenceServerException as error:
        elapsed = time.perf_counter() - started
        return Reply(str(error.status()), error.message() or "", None, elapsed)
    elapsed = time.perf_counter() - started
    result = json.loads(response.as_numpy(names.RESULT_JSON)[0])
    jsonschema.validate(result, result_schema())
    return Reply("OK", summary(result), result, elapsed)


def all_texts(result: dict) -> list[str]:
    return [text for seal in result["seal_res_list"] for text in seal["rec_texts"]]


def summary(result: dict) -> str:
    seals = len(result["seal_res_list"])
    texts = [text for text in all_texts(result) if text]
    return f"{seals} seal(s), {len(result['texts'])} line(s): {' | '.join(texts)}"


def rounded(value):
    """The result with floats rounded to 4 decimals: equal pages give equal results."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list):
        return [rounded(item) for item in value]
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    return value


_BASELINE: dict[str, dict] = {}


def good_result(client, eval_dir: Path) -> dict:
    """The answer to the good request; the same answer every time it is asked."""
    reply = send(client, (eval_dir / GOOD_IMAGE).read_bytes())
    assert reply.status == "OK", reply.message
    assert GOOD_TEXT in all_texts(reply.result)
    baseline = _BASELINE.setdefault(client[0], rounded(reply.result))
    assert rounded(reply.result) == baseline
    return reply.result


def outcome_of(client, reply: Reply) -> str:
    if reply.status == "OK":
        return "OK"
    return "INVALID_ARG" if reply.status == INVALID_ARG[client[0]] else reply.status


def assert_refused(client, eval_dir, record, input_class: str, reply: Reply, *parts: str) -> None:
    """INVALID_ARG naming the problem (every one of ``parts``), then a good request succeeds."""
    record(input_class, client[0], outcome_of(client, reply), reply.message)
    assert reply.status == INVALID_ARG[client[0]], (reply.status, reply.message)
    for part in parts:
        assert part in reply.message, reply.message
    good_result(client, eval_dir)


def assert_served(client, record, input_class: str, reply: Reply) -> dict:
    record(input_class, client[0], outcome_of(client, reply), reply.message)
    assert reply.status == "OK", reply.message
    return reply.result


# --- 1. bad image bytes: INVALID_ARG naming the problem, the server keeps serving --------------

BAD_IMAGES: dict[str, tuple[Callable[[Path], bytes], tuple[str, ...]]] = {
    "empty bytes": (lambda d: b"", ("empty image", "0 bytes")),
    "random bytes": (lambda d: random_bytes(), ("not a decodable image file",)),
    "truncated PNG": (
        lambda d: first_half((d / "vignette_3_school_form.png").read_bytes()),
        ("corrupt or truncated PNG data",),
    ),
    "PNG cut inside its header": (
        lambda d: (d / "vignette_3_school_form.png").read_bytes()[:20],
        ("not a decodable image file",),
    ),
    "text file": (
        lambda d: "Invoice 2026-11-23\nTotal: 100 CNY 现金\n".encode(),
        ("not a decodable image file", "supported formats: PNG, JPEG, BMP, TIFF, WEBP"),
    ),
    "PDF sent as image": (
        lambda d: pdf_of(seal_pil(d)),
        ("this looks like a PDF: send its pages as images",),
    ),
    "animated GIF": (
        animated_gif,
        ("unsupported image format GIF", "supported: PNG, JPEG, BMP, TIFF, WEBP"),
    ),
    "header 11000 x 10000 px": (
        lambda d: png_claiming(11000, 10000),
        ("11000 x 10000 = 110000000 pixels", f"above the limit of {PIXEL_CAP} pixels"),
    ),
}


@pytest.mark.parametrize("input_class", list(BAD_IMAGES))
def test_bad_image_bytes_are_invalid_arg(client, eval_dir, record_outcome, input_class):
    build, parts = BAD_IMAGES[input_class]
    reply = send(client, build(eval_dir))
    assert_refused(client, eval_dir, record_outcome, input_class, reply, *parts)


def test_50000_x_50000_header_is_refused_fast(client, eval_dir, record_outcome):
    data = png_claiming(50000, 50000)
    assert len(data) < 100 and data[16:24] == struct.pack(">II", 50000, 50000)
    reply = send(client, data)
    assert reply.seconds < 2.0, f"took {reply.seconds:.2f} s: decoded instead of refused?"
    assert_refused(client, eval_dir, record_outcome, "header 50000 x 50000 px", reply, "pixel")


def test_50000_x_50000_message_names_the_pixel_cap(client):
    reply = send(client, png_claiming(50000, 50000))
    assert reply.status == INVALID_ARG[client[0]]
    assert f"{PIXEL_CAP} pixels" in reply.message, reply.message


def test_truncated_jpeg_is_invalid_arg(client, eval_dir, record_outcome):
    data = (eval_dir / GOOD_IMAGE).read_bytes()
    reply = send(client, first_half(data))
    assert_refused(client, eval_dir, record_outcome, "truncated JPEG", reply, "truncated JPEG")


def test_truncated_jpeg_does_not_show_the_previous_page(client, eval_dir, record_outcome):
    truncated = first_half((eval_dir / GOOD_IMAGE).read_bytes())  # 500 x 500, rows 216+ missing
    previous = cv2.resize(cv2.imread(str(eval_dir / "paddlex_seal_text_det.png")), (500, 500))
    for _ in range(2):  # both decode_page instances decode (and free) a 500 x 500 page
        assert send(client, png(previous)).status == "OK"
    reply = send(client, truncated)
    record_outcome("truncated JPEG after another page", client[0], outcome_of(client, reply),
                   reply.message)  # fmt: skip
    if reply.status == "OK":
        assert "发票专用章" not in all_texts(reply.result)  # text of the previous request
    assert reply.status == INVALID_ARG[client[0]]


# --- 1. wrong tensors --------------------------------------------------------------------------


def _good(eval_dir: Path) -> bytes:
    return (eval_dir / GOOD_IMAGE).read_bytes()


BAD_TENSORS: dict[str, tuple[Callable[[Path], dict], tuple[str, ...]]] = {
    "IMAGE as FP32": (
        lambda d: {"image": np.array([1.0], np.float32), "image_dtype": "FP32"},
        ("input 'IMAGE' data-type is 'FP32'", "expects 'BYTES'"),
    ),
    "IMAGE as INT32": (
        lambda d: {"image": np.frombuffer(_good(d)[:64], np.int32).copy(), "image_dtype": "INT32"},
        ("input 'IMAGE' data-type is 'INT32'", "expects 'BYTES'"),
    ),
    "IMAGE shape [2] (two images)": (
        lambda d: {"image": np.array([_good(d), _good(d)], dtype=object)},
        ("unexpected shape for input 'IMAGE'", "Expected [1], got [2]"),
    ),
    "IMAGE shape [1,1]": (
        lambda d: {"image": np.array([[_good(d)]], dtype=object)},
        ("unexpected shape for input 'IMAGE'", "Expected [1], got [1,1]"),
    ),
    "OPTIONS as INT32": (
        lambda d: {
            "image": _good(d),
            "options": np.array([1], np.int32),
            "options_dtype": "INT32",
        },
        ("input 'OPTIONS' data-type is 'INT32'", "expects 'BYTES'"),
    ),
    "OPTIONS shape [2]": (
        lambda d: {"image": _good(d), "options": np.array([b"{}", b"{}"], dtype=object)},
        ("unexpected shape for input 'OPTIONS'", "Expected [1], got [2]"),
    ),
}


@pytest.mark.parametrize("input_class", list(BAD_TENSORS))
def test_wrong_tensor_dtype_or_shape_is_invalid_arg(client, eval_dir, record_outcome, input_class):
    build, parts = BAD_TENSORS[input_class]
    request = build(eval_dir)
    reply = send(client, request.pop("image"), **request)
    assert_refused(client, eval_dir, record_outcome, input_class, reply, *parts)


def test_missing_image_is_invalid_arg_naming_image(client, eval_dir, record_outcome):
    reply = send(client, None, {"use_layout_detection": False})
    assert_refused(client, eval_dir, record_outcome, "no IMAGE (OPTIONS only)", reply, "IMAGE")


# --- 1. bad OPTIONS ----------------------------------------------------------------------------

BAD_OPTIONS: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "negative seal_det_thresh": (b'{"seal_det_thresh": -0.1}', ("'seal_det_thresh'", "-0.1")),
    "negative seal_det_box_thresh": (
        b'{"seal_det_box_thresh": -0.5}',
        ("'seal_det_box_thresh' must be in [0.0, 1.0]",),
    ),
    "negative layout_threshold": (
        b'{"layout_threshold": -0.2}',
        ("'layout_threshold' must be in [0.0, 1.0], got -0.2",),
    ),
    "negative seal_det_limit_side_len": (
        b'{"seal_det_limit_side_len": -736}',
        ("'seal_det_limit_side_len'", "-736"),
    ),
    "seal_rec_score_thresh 1.5": (
        b'{"seal_rec_score_thresh": 1.5}',
        ("'seal_rec_score_thresh' must be in [0.0, 1.0], got 1.5",),
    ),
    "per-class layout_threshold 1.5": (
        b'{"layout_threshold": {"2": 1.5}}',
        ("'layout_threshold[2]'", "1.5"),
    ),
    "NaN threshold": (b'{"seal_det_thresh": NaN}', ("'seal_det_thresh'", "nan")),
    "unknown seal_det_limit_type": (
        b'{"seal_det_limit_type": "longest"}',
        ("'seal_det_limit_type' must be one of ('min', 'max', 'resize_long')", "'longest'"),
    ),
    "unknown merge mode": (
        b'{"layout_merge_bboxes_mode": "biggest"}',
        ("'layout_merge_bboxes_mode' must be one of ('large', 'small', 'union')", "'biggest'"),
    ),
    "seal_det_limit_side_len 736.5": (
        b'{"seal_det_limit_side_len": 736.5}',
        ("'seal_det_limit_side_len' must be an integer",),
    ),
    "bool as string": (
        b'{"use_layout_detection": "false"}',
        ("'use_layout_detection' must be true or false, got 'false'",),
    ),
    "unknown option": (
        b'{"seal_det_threshold": 0.3}',
        ("unknown option(s) ['seal_det_threshold']",),
    ),
    "non-JSON OPTIONS": (b"{seal_det_thresh: 0.3}", ("OPTIONS is not valid JSON",)),
    "JSON list OPTIONS": (b"[0.3, 0.6]", ("options must be a JSON object, got list",)),
    "non-UTF-8 OPTIONS": (b'{"x": "\xff\xfe"}', ("OPTIONS is not UTF-8 text",)),
}


@pytest.mark.parametrize("input_class", list(BAD_OPTIONS))
def test_bad_options_are_invalid_arg(client, eval_dir, record_outcome, input_class):
    options, parts = BAD_OPTIONS[input_class]
    reply = send(client, _good(eval_dir), options)
    assert_refused(client, eval_dir, record_outcome, input_class, reply, *parts)


# --- 1. valid but odd images: served, as cv2.imdecode(IMREAD_COLOR) decodes them ---------------


def test_1x1_image(client, record_outcome):
    data = png(np.zeros((1, 1, 3), np.uint8))
    result = assert_served(client, record_outcome, "1 x 1 image", send(client, data))
    assert result["texts"] == []
    assert all(seal["dt_polys"] == [] for seal in result["seal_res_list"])
    for x1, y1, x2, y2 in result["seal_boxes"]:
        assert 0 <= x1 <= x2 <= 1 and 0 <= y1 <= y2 <= 1
    whole = send(client, data, {"use_layout_detection": False}).result
    assert whole["seal_boxes"] == [[0.0, 0.0, 1.0, 1.0]]
    assert whole["seal_res_list"][0]["dt_polys"] == [] and whole["texts"] == []


@pytest.mark.parametrize(("height", "width"), [(10, 4000), (4000, 10)], ids=["wide", "tall"])
def test_10_x_4000_strip(client, record_outcome, height, width):
    data = png(np.full((height, width, 3), 255, np.uint8))
    reply = send(client, data)
    result = assert_served(client, record_outcome, f"{width} x {height} white strip", reply)
    assert result["seal_res_list"] == [] and result["texts"] == []
    whole = send(client, data, {"use_layout_detection": False}).result
    assert whole["seal_boxes"] == [[0.0, 0.0, float(width), float(height)]]
    assert whole["seal_res_list"][0]["dt_polys"] == []


def test_grey_png_equals_its_three_channel_copy(client, eval_dir, record_outcome):
    grey = cv2.imread(str(eval_dir / GOOD_IMAGE), cv2.IMREAD_GRAYSCALE)
    result = assert_served(client, record_outcome, "grayscale PNG", send(client, png(grey)))
    assert GOOD_TEXT in all_texts(result)
    bgr = send(client, png(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))).result
    assert rounded(result) == rounded(bgr)


def test_rgba_alpha_is_dropped_not_composited(client, eval_dir, record_outcome):
    seal = cv2.imread(str(eval_dir / GOOD_IMAGE))
    alpha = np.full(seal.shape[:2], 255, np.uint8)
    alpha[:250] = 0  # the upper half fully transparent: its colours must still be read
    reply = send(client, png(np.dstack([seal, alpha])))
    result = assert_served(client, record_outcome, "RGBA, half transparent", reply)
    assert rounded(result) == rounded(good_result(client, eval_dir))


def test_16_bit_png_is_scaled_to_8_bit(client, eval_dir, record_outcome):
    seal = cv2.imread(str(eval_dir / GOOD_IMAGE))
    deep = seal.astype(np.uint16) * 257  # 8-bit v -> 16-bit v*257, whose top byte is v
    data = png(deep)
    assert data[24] == 16  # IHDR bit depth
    result = assert_served(client, record_outcome, "16-bit PNG", send(client, data))
    assert rounded(result) == rounded(good_result(client, eval_dir))


def test_cmyk_jpeg_becomes_bgr(client, eval_dir, record_outcome):
    data = pil_bytes(seal_pil(eval_dir).convert("CMYK"), "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    page = decode_image(data)  # the server's own decoder
    seal = cv2.imread(str(eval_dir / GOOD_IMAGE))
    assert page.shape == seal.shape
    assert np.abs(page.astype(int) - seal).mean() < 6  # colours right, not inverted
    result = assert_served(client, record_outcome, "CMYK JPEG", send(client, data))
    assert GOOD_TEXT in all_texts(result)
    assert rounded(result) == rounded(send(client, png(page)).result)


def test_exif_orientation_is_applied_as_cv2_imdecode_does(client, eval_dir, record_outcome):
    data = exif_rotated_jpeg(eval_dir)
    stored = Image.open(io.BytesIO(data))
    assert stored.size == (800, 500) and stored.getexif()[0x0112] == 6
    expected = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)  # PaddleX's decode
    assert expected.shape == (800, 500, 3)  # rotated: 500 wide, 800 high
    assert ImageOps.exif_transpose(stored).size == (500, 800)  # Pillow agrees
    result = assert_served(
        client, record_outcome, "JPEG with EXIF orientation 6", send(client, data)
    )
    assert rounded(result) == rounded(send(client, png(expected)).result)
    whole = send(client, data, {"use_layout_detection": False}).result
    assert whole["seal_boxes"] == [[0.0, 0.0, 500.0, 800.0]]  # the server's page is rotated


def test_multi_page_tiff_uses_the_first_page(client, eval_dir, record_outcome):
    seal, blank = seal_pil(eval_dir), Image.new("RGB", (300, 200), "white")
    data = tiff_of(seal, blank)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    reply = send(client, data)
    result = assert_served(client, record_outcome, "2-page TIFF (seal, blank)", reply)
    assert GOOD_TEXT in all_texts(result)
    assert rounded(result) == rounded(send(client, tiff_of(seal)).result)  # the first page alone
    reversed_ = send(client, tiff_of(blank, seal)).result  # first page blank: nothing to read
    assert reversed_["seal_res_list"] == [] and reversed_["texts"] == []
