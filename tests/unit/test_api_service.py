"""The shared PaddleX API (seal_api): hostile pages refused before rendering, the envelope.

The request flow is tested end to end against a real server in tests/integration
(test_hps.py, test_gateway.py); here only what must never reach a server: requests refused
from their body alone, and PDF pages refused from their declared size.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest

from seal_api import ApiError, ApiSettings, handle
from seal_api.files import FILE_TYPE_IMAGE, FILE_TYPE_PDF, load_document
from seal_client.inputs import Page
from seal_client.pdf import PdfError, render_pdf


def pdf_with_pages(*sizes_pt: tuple[float, float]) -> bytes:
    """A PDF of blank pages of the given (width, height) in points."""
    document = pdfium.PdfDocument.new()
    for width, height in sizes_pt:
        document.new_page(width, height)
    buffer = io.BytesIO()
    document.save(buffer)
    document.close()
    return buffer.getvalue()


HOSTILE = pdf_with_pages((14400, 14400))  # 28800 x 28800 px at 144 DPI: 829 Mpx


def test_hostile_pdf_page_is_refused_from_its_declared_size_in_milliseconds():
    started = time.perf_counter()
    with pytest.raises(ApiError) as caught:
        load_document(HOSTILE, FILE_TYPE_PDF, max_pdf_pages=10)
    elapsed = time.perf_counter() - started
    assert caught.value.status == 422
    assert "14400 x 14400 pt" in caught.value.message
    assert "28800 x 28800 pixels at 144 DPI" in caught.value.message
    assert elapsed < 0.1  # rendering it took 39 s and gigabytes


def test_a_hostile_later_page_is_refused_before_the_first_is_rendered():
    pages = render_pdf(pdf_with_pages((100, 100), (14400, 14400)), max_pixels=100_000_000)
    with pytest.raises(PdfError, match="page 2 of"):
        next(pages)  # nothing rendered yet: page 1 would come first


def test_the_cap_is_the_rendered_size_exactly():
    data = pdf_with_pages((100.3, 50))  # pypdfium2 renders ceil(200.6) x ceil(100) = 201 x 100
    [(_, page)] = list(render_pdf(data, max_pixels=201 * 100))
    assert page.shape == (100, 201, 3)
    with pytest.raises(PdfError, match="201 x 100 pixels"):
        list(render_pdf(data, max_pixels=201 * 100 - 1))


def test_pages_past_the_page_cap_are_not_checked_or_rendered():
    # PaddleX takes the first pages; a hostile page after them costs nothing
    data = pdf_with_pages((100, 100), (14400, 14400))
    document = load_document(data, FILE_TYPE_PDF, max_pdf_pages=1)
    assert document.data_info == {
        "numPages": 1,
        "pages": [{"width": 200, "height": 200}],
        "type": "pdf",
    }


def test_a_pdf_is_opened_once(monkeypatch):
    data = pdf_with_pages((100, 100), (50, 50), (60, 60))
    opened = []
    original = pdfium.PdfDocument.__init__

    def counting_init(self, *args, **kwargs):
        opened.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(pdfium.PdfDocument, "__init__", counting_init)
    document = load_document(data, FILE_TYPE_PDF, max_pdf_pages=2)
    assert document.data_info["numPages"] == 2
    assert len(opened) == 1


def test_an_image_above_the_cap_is_refused_from_its_header():
    ok, png = cv2.imencode(".png", np.zeros((200, 300, 3), np.uint8))
    assert ok
    with pytest.raises(ApiError, match="pixels") as caught:
        load_document(png.tobytes(), FILE_TYPE_IMAGE, max_pdf_pages=10, max_page_pixels=59_999)
    assert caught.value.status == 422
    document = load_document(png.tobytes(), FILE_TYPE_IMAGE, max_pdf_pages=10)
    assert document.data_info == {"width": 300, "height": 200, "type": "image"}


async def never_called(pages: list[Page], options: bytes | None) -> list[dict]:
    raise AssertionError("a request refused from its body reached inference")


def answer(body: bytes, settings: ApiSettings | None = None) -> dict:
    return asyncio.run(handle(body, settings or ApiSettings(), never_called, font=None))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "json_invalid"),
        (b'{"fileType": 1}', "missing"),
        (b'{"file": "aGk=", "fileType": 1, "useLayoutDetection": "yes"}', "bool"),
        (b'{"file": "aGk=", "fileType": 1, "sealDetThresh": 1.5}', "seal_det_thresh"),
        (b'{"file": "###", "fileType": 1, "visualize": false}', "base64"),
        (b'{"file": "aGk=", "fileType": 1, "visualize": false}', "not a decodable image"),
        (b'{"file": "aGk="}', "File type cannot be determined"),
        (b'{"file": "http://127.0.0.1/a.png", "visualize": false}', "non-public"),
    ],
)
def test_bad_requests_get_422_in_the_envelope(body, fragment):
    response = answer(body)
    assert set(response) == {"logId", "errorCode", "errorMsg"}
    assert response["errorCode"] == 422
    assert fragment in response["errorMsg"], response["errorMsg"]
    assert len(response["logId"]) == 36


def test_hostile_pdf_request_gets_422_in_milliseconds():
    body = json.dumps({"file": b64(HOSTILE), "fileType": 0, "visualize": False}).encode()
    started = time.perf_counter()
    response = answer(body)
    assert time.perf_counter() - started < 0.1
    assert response["errorCode"] == 422 and "refused before rendering" in response["errorMsg"]


def test_body_above_the_cap_gets_413_and_pictures_without_a_font_500():
    body = json.dumps({"file": "A" * 1000, "fileType": 1}).encode()
    response = answer(body, ApiSettings(max_request_bytes=500))
    assert response["errorCode"] == 413 and "cap of 500 bytes" in response["errorMsg"]
    _, png = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))
    body = json.dumps({"file": b64(png.tobytes()), "fileType": 1}).encode()  # visualize: default on
    response = answer(body)
    assert response["errorCode"] == 500 and "font" in response["errorMsg"]
