"""Bad and odd inputs to the ``seal_recognition`` ensemble: raw over gRPC and HTTP, and through
``SealClient``.

A bad request is refused with INVALID_ARG (gRPC ``INVALID_ARGUMENT``, HTTP 400) and a message
naming the problem, and the next good request still gets the same answer as before. Valid but
odd images (1 x 1, a 10 x 4000 strip, grey, RGBA, 16-bit, CMYK, EXIF-rotated, multi-page TIFF)
are served as ``cv2.imdecode(..., IMREAD_COLOR)`` decodes them, which is what PaddleX does. The
client refuses what it can before sending anything, with an ``InputError`` naming the input.
Every test records its outcome for the summary table printed at the end of the run.
"""

from __future__ import annotations

import http.server
import io
import json
import struct
import threading
import time
import zlib
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
from pypdf import PdfReader, PdfWriter
from tritonclient.utils import InferenceServerException

import seal_client.pdf
from seal_client import InputError, PageError, SealClient
from seal_client.pdf import PdfError
from seal_ocr import tensor_names as names
from seal_ocr.errors import InvalidOptionError
from seal_ocr.image_io import decode_image
from seal_ocr.result import result_schema
from tests.local_http import serve

MODULES = {"grpc": grpcclient, "http": httpclient}
INVALID_ARG = {"grpc": "StatusCode.INVALID_ARGUMENT", "http": "400"}
GOOD_IMAGE, GOOD_TEXT = "nephren_10_oval.jpg", "现金收讫章"
PIXEL_CAP = 100_000_000  # decode_page's max_image_pixels (model_repository/decode_page)
UNREACHABLE = "127.0.0.1:1"  # a client pointed here proves a refusal happened before sending

# Regressions found by these tests (fixed): a truncated JPEG was served with uninitialised rows
# holding an earlier request's pixels; a 50000 x 50000 header was refused without naming the
# cap; a request without IMAGE stalled the ensemble ("deadlock"); a 0-page PDF read after an
# encrypted one was called "encrypted" (PDFium's stale error code).


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


def short(error: Exception, tmp_path: Path) -> str:
    """The error message with the test's temporary directory shortened, for the table."""
    return str(error).replace(str(tmp_path), "<tmp>")


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


# --- building odd files ------------------------------------------------------------------------


def png(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG (valid CRCs) whose IHDR claims ``width`` x ``height`` RGB pixels;
    its IDAT holds one row of one pixel."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00"))
        + _png_chunk(b"IEND", b"")
    )


def pil_bytes(image: Image.Image, image_format: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **kwargs)
    return buffer.getvalue()


def seal_pil(eval_dir: Path) -> Image.Image:
    return Image.open(eval_dir / GOOD_IMAGE).convert("RGB")


def animated_gif(eval_dir: Path) -> bytes:
    frames = [seal_pil(eval_dir), Image.new("RGB", (500, 500), "white")]
    return pil_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


def pdf_of(*images: Image.Image) -> bytes:
    return pil_bytes(images[0], "PDF", save_all=True, append_images=list(images[1:]))


def random_bytes() -> bytes:
    return np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes()


def first_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


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


def exif_rotated_jpeg(eval_dir: Path) -> bytes:
    """The oval seal on a 500 x 800 (h x w) canvas, stored unrotated with EXIF orientation 6."""
    canvas = Image.new("RGB", (800, 500), "white")
    canvas.paste(seal_pil(eval_dir), (0, 0))
    exif = canvas.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    return pil_bytes(canvas, "JPEG", exif=exif.tobytes(), quality=95)


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


def tiff_of(*pages: Image.Image) -> bytes:
    return pil_bytes(pages[0], "TIFF", save_all=True, append_images=list(pages[1:]))


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


# --- 1. through the client ---------------------------------------------------------------------


@pytest.fixture(params=["grpc", "http"])
def seal_client_(request, triton_server) -> SealClient:
    url = triton_server.grpc_url if request.param == "grpc" else triton_server.http_url
    return SealClient(url, request.param, max_in_flight=2)


def test_client_exif_page_is_rotated(seal_client_, eval_dir, record_outcome):
    data = exif_rotated_jpeg(eval_dir)
    [result] = seal_client_.predict(data, use_layout_detection=False)
    record_outcome(
        "client: JPEG with EXIF orientation 6",
        seal_client_.protocol,
        "OK" if result.ok else "error",
        f"page {result.image.shape}, seal_boxes {result.json['seal_boxes']}",
    )
    assert result.image.shape == (800, 500, 3)
    assert result.json["seal_boxes"] == [[0.0, 0.0, 500.0, 800.0]]


def test_client_multi_page_tiff_is_one_page(seal_client_, eval_dir, tmp_path, record_outcome):
    path = tmp_path / "scan.tiff"
    seal = seal_pil(eval_dir)
    path.write_bytes(tiff_of(seal, Image.new("RGB", (300, 200), "white")))
    results = list(seal_client_.predict(path))
    record_outcome(
        "client: 2-page TIFF", seal_client_.protocol, f"{len(results)} result(s)", results[0].texts
    )
    assert len(results) == 1 and results[0].json["page_index"] is None
    [first_page] = seal_client_.predict(tiff_of(seal))
    assert results[0].texts == first_page.texts and GOOD_TEXT in first_page.texts


@pytest.mark.parametrize(
    ("input_class", "build", "error", "parts"),
    [
        ("empty bytes", lambda d: b"", InputError, ("bytes input #0", "0 bytes")),
        ("random bytes", lambda d: random_bytes(), InputError, ("not a decodable image",)),
        ("text file", lambda d: b"Total: 100 CNY\n", InputError, ("not a decodable image",)),
        ("animated GIF", animated_gif, InputError, ("unsupported image format GIF",)),
        ("header 50000 x 50000 px", lambda d: png_claiming(50000, 50000), InputError, ("pixel",)),
        (
            "corrupt PDF bytes",
            lambda d: b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
            PdfError,
            ("is corrupt or truncated",),
        ),
    ],
)
def test_client_refuses_unreadable_bytes_before_sending(
    eval_dir, record_outcome, input_class, build, error, parts
):
    # the client points at a closed port: reaching the server would raise ServerError instead
    with pytest.raises(InputError) as raised:
        list(SealClient(UNREACHABLE).predict(build(eval_dir)))
    record_outcome(f"client: {input_class}", "local", type(raised.value).__name__, raised.value)
    assert isinstance(raised.value, error)
    for part in parts:
        assert part in str(raised.value)


@pytest.mark.parametrize(
    ("input_class", "build", "parts"),
    [
        (
            "truncated PNG",
            lambda d: first_half((d / "vignette_3_school_form.png").read_bytes()),
            ("corrupt or truncated PNG data",),
        ),
        (
            "header 11000 x 10000 px",
            lambda d: png_claiming(11000, 10000),
            (f"above the limit of {PIXEL_CAP} pixels",),
        ),
    ],
)
def test_client_page_refused_by_the_server(
    seal_client_, eval_dir, record_outcome, input_class, build, parts
):
    with pytest.raises(PageError) as raised:
        list(seal_client_.predict(build(eval_dir)))
    record_outcome(f"client: {input_class}", seal_client_.protocol, "PageError", raised.value)
    for part in parts:
        assert part in str(raised.value)
    assert "in ensemble" not in str(raised.value)
    [good] = seal_client_.predict(eval_dir / GOOD_IMAGE)
    assert GOOD_TEXT in good.texts


@pytest.mark.parametrize(
    ("options", "part"),
    [
        ({"seal_det_thresh": -0.1}, "'seal_det_thresh'"),
        ({"seal_det_limit_type": "longest"}, "'seal_det_limit_type'"),
        ({"layout_merge_bboxes_mode": "biggest"}, "'layout_merge_bboxes_mode'"),
        ({"use_layout_detection": "true"}, "'use_layout_detection' must be true or false"),
    ],
    ids=["negative-thresh", "limit-type", "merge-mode", "bool-as-string"],
)
def test_client_checks_options_before_sending(eval_dir, record_outcome, options, part):
    with pytest.raises(InvalidOptionError) as raised:
        list(SealClient(UNREACHABLE).predict(eval_dir / GOOD_IMAGE, **options))
    record_outcome(f"client: option {options}", "local", "InvalidOptionError", raised.value)
    assert part in str(raised.value)


# --- 1. client: PDFs, URLs, directories --------------------------------------------------------


def encrypted(pdf: bytes, password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def blank_pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("input_class", "build", "part"),
    [
        (
            "corrupt PDF (first half)",
            lambda d: first_half(pdf_of(seal_pil(d))),
            "doc.pdf is corrupt or truncated",
        ),
        (
            "encrypted PDF",
            lambda d: encrypted(pdf_of(seal_pil(d)), "secret"),
            "doc.pdf is encrypted (password-protected)",
        ),
    ],
)
def test_client_bad_pdf_file(
    triton_server, eval_dir, tmp_path, record_outcome, input_class, build, part
):
    path = tmp_path / "doc.pdf"
    path.write_bytes(build(eval_dir))
    with pytest.raises(PdfError) as raised:
        list(SealClient(triton_server.grpc_url).predict(path))
    record_outcome(f"client: {input_class}", "local", "PdfError", short(raised.value, tmp_path))
    assert part in str(raised.value)


def test_client_zero_page_pdf(triton_server, eval_dir, tmp_path, record_outcome):
    client = SealClient(triton_server.grpc_url)
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(encrypted(pdf_of(seal_pil(eval_dir)), "secret"))
    with pytest.raises(PdfError, match="is encrypted"):
        list(client.predict(locked))  # any earlier encrypted PDF in the same process
    path = tmp_path / "empty.pdf"
    path.write_bytes(blank_pdf(0))
    assert len(PdfReader(path).pages) == 0
    with pytest.raises(PdfError) as raised:
        list(client.predict(path))
    record_outcome("client: PDF with 0 pages", "local", "PdfError", short(raised.value, tmp_path))
    assert "empty.pdf has no pages (0-page PDF)" in str(raised.value)


def test_client_500_page_pdf_above_max_pages_fails_before_rendering(
    triton_server, tmp_path, record_outcome, monkeypatch
):
    path = tmp_path / "long.pdf"
    path.write_bytes(blank_pdf(500))
    rendered = []
    render = seal_client.pdf._render_page
    monkeypatch.setattr(
        seal_client.pdf, "_render_page", lambda *args: rendered.append(args[1]) or render(*args)
    )
    started = time.perf_counter()
    with pytest.raises(PdfError) as raised:
        list(SealClient(triton_server.grpc_url).predict(path, max_pages=10))
    elapsed = time.perf_counter() - started
    outcome = f"PdfError {elapsed:.2f} s"
    record_outcome(
        "client: 500-page PDF, max_pages=10", "local", outcome, short(raised.value, tmp_path)
    )
    assert "long.pdf has 500 pages selected, above the page cap of 10" in str(raised.value)
    assert "pages='1-10'" in str(raised.value)
    assert rendered == []
    assert elapsed < 3.0


class _Handler(http.server.BaseHTTPRequestHandler):
    release = threading.Event()

    def do_GET(self):
        if self.path == "/slow.png":  # never answers within the client's 10 s URL timeout
            self.release.wait(20)
            return
        if self.path == "/notes.txt":
            body, kind = b"just some text, not a seal", "text/plain"
        else:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def web():
    with serve(_Handler) as url:
        yield url
        _Handler.release.set()


@pytest.mark.parametrize(
    ("input_class", "path", "part"),
    [
        ("URL returning 404", "/missing.png", "/missing.png returned HTTP 404"),
        (
            "URL returning text",
            "/notes.txt",
            "/notes.txt is not an image or PDF (Content-Type text/plain, 26 bytes)",
        ),
        ("URL timing out", "/slow.png", "/slow.png timed out after 10s"),
    ],
)
def test_client_bad_url(triton_server, web, record_outcome, input_class, path, part):
    started = time.perf_counter()
    with pytest.raises(InputError) as raised:
        list(SealClient(triton_server.grpc_url).predict(web + path))
    elapsed = time.perf_counter() - started
    record_outcome(f"client: {input_class}", "local", f"InputError {elapsed:.1f} s", raised.value)
    assert part in str(raised.value)
    assert elapsed < 15.0


def test_client_directory_without_images(triton_server, tmp_path, record_outcome):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("no seals here")
    (tmp_path / "scan.gif").write_bytes(b"GIF89a")
    with pytest.raises(InputError) as raised:
        list(SealClient(triton_server.grpc_url).predict(tmp_path))
    record_outcome(
        "client: directory without images", "local", "InputError", short(raised.value, tmp_path)
    )
    assert f"no images or PDFs under {tmp_path}" in str(raised.value)
