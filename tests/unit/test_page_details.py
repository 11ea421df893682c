"""The API's two fields for the gateway's web page: ``pdfPages`` and ``details`` (not PaddleX).

Both are off unless asked for, so a PaddleX request gets PaddleX's answer; the browser test
(tests/integration/test_web_page.py) uses them end to end against a real server.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest

from seal_api import ApiError, ApiSettings, handle
from seal_api.files import FILE_TYPE_PDF, load_document, pdf_page_selection
from seal_api.results import kept_lines_turned, page_details, page_result
from seal_api.schemas import SealRecResult
from seal_client.inputs import Page

SEAL_BOX = [10.0, 20.0, 50.0, 40.0]  # page pixels
KEPT = [[2, 2], [30, 2], [30, 12], [2, 12]]  # seal-region pixels: page x 12..42, y 22..32
DROPPED = [[2, 14], [30, 14], [30, 18], [2, 18]]  # detected, below the rec score threshold


def pdf_with_pages(*sizes_pt: tuple[float, float]) -> bytes:
    """A PDF of blank pages of the given (width, height) in points."""
    document = pdfium.PdfDocument.new()
    for width, height in sizes_pt:
        document.new_page(width, height)
    buffer = io.BytesIO()
    document.save(buffer)
    document.close()
    return buffer.getvalue()


THREE_PAGES = pdf_with_pages((100, 50), (60, 80), (40, 40))  # 144 DPI: twice these in pixels


def ensemble_result() -> dict:
    """A result JSON of the ensemble's shape: one seal, two polygons, one of them kept."""
    seal = {
        "dt_polys": [KEPT, DROPPED],
        "rec_texts": ["发票专用章"],
        "rec_scores": [0.9],
        "rec_polys": [KEPT],
        "rec_boxes": [],
    }
    return {
        "model_settings": {"use_doc_preprocessor": False, "use_layout_detection": False},
        "seal_res_list": [seal],
        "seal_boxes": [SEAL_BOX],
        "texts": [
            {
                "seal_index": 0,
                "poly": [[12, 22], [40, 22], [40, 32], [12, 32]],
                "text": "发票专用章",
                "score": 0.9,
            }
        ],
    }


def noise_page() -> np.ndarray:
    """(60, 80, 3) uint8 BGR noise: any wrong crop or offset shows."""
    return np.random.default_rng(7).integers(0, 256, (60, 80, 3), dtype=np.uint8)


def decode_png(text: str) -> np.ndarray:
    data = base64.b64decode(text)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


# --- pdfPages --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "indices"), [(None, None), (" ", None), ("2", [1]), ("3, 1-2", [0, 1, 2])]
)
def test_pdf_pages_spec_gives_0_based_pages(spec, indices):
    assert pdf_page_selection(spec) == indices


@pytest.mark.parametrize(("spec", "fragment"), [("3-1", "reversed"), ("0", "from 1"), ("x", "x")])
def test_a_malformed_pdf_pages_spec_is_a_422_naming_the_field(spec, fragment):
    with pytest.raises(ApiError) as caught:
        pdf_page_selection(spec)
    assert caught.value.status == 422
    assert caught.value.message.startswith("pdfPages: ") and fragment in caught.value.message


def test_selected_pdf_pages_are_rendered_and_counted():
    document = load_document(THREE_PAGES, FILE_TYPE_PDF, max_pdf_pages=10, pdf_pages=[2, 1])
    assert [page.page_index for page in document.pages] == [1, 2]  # in document order
    assert document.data_info == {
        "numPages": 2,
        "pages": [{"width": 120, "height": 160}, {"width": 80, "height": 80}],
        "type": "pdf",
    }


def test_the_page_limit_takes_the_first_selected_pages():
    document = load_document(THREE_PAGES, FILE_TYPE_PDF, max_pdf_pages=1, pdf_pages=[1, 2])
    assert [page.page_index for page in document.pages] == [1]


def test_a_page_beyond_the_pdf_is_a_422_naming_the_page_count():
    with pytest.raises(ApiError) as caught:
        load_document(THREE_PAGES, FILE_TYPE_PDF, max_pdf_pages=10, pdf_pages=[3])
    assert caught.value.status == 422 and "3 page" in caught.value.message


def test_a_malformed_spec_is_refused_before_the_file_is_read():
    async def never_called(pages, options):
        raise AssertionError("a refused request reached inference")

    body = json.dumps({"file": "###", "fileType": 0, "pdfPages": "2-", "visualize": False})
    response = asyncio.run(handle(body.encode(), ApiSettings(), never_called, font=None))
    assert response["errorCode"] == 422 and response["errorMsg"].startswith("pdfPages: ")


# --- details ---------------------------------------------------------------------------------


def test_details_give_page_number_seal_boxes_and_one_line_image_per_text():
    page = noise_page()
    details = page_details(Page(None, 2, b""), page, ensemble_result())
    assert details["pageNumber"] == 3  # page_index 2 of a PDF
    assert details["sealBoxes"] == [SEAL_BOX]
    [line] = [decode_png(text) for text in details["lineImages"]]  # the kept polygon only
    # an axis-aligned polygon rectifies to the page pixels it covers, losslessly
    np.testing.assert_array_equal(line, page[22:32, 12:40])


def test_a_line_the_orientation_step_turned_is_shown_turned():
    page = noise_page()
    result = ensemble_result()
    seal = result["seal_res_list"][0]
    # both polygons classified; the kept one (first) turned by 180 degrees, the dropped not
    seal["textline_orientation_angles"] = [1, 0]
    [line] = [
        decode_png(text) for text in page_details(Page(None, None, b""), page, result)["lineImages"]
    ]
    np.testing.assert_array_equal(line, page[22:32, 12:40][::-1, ::-1])


def test_kept_lines_take_the_angle_of_their_own_detected_polygon():
    seal = {
        "dt_polys": [DROPPED, KEPT],
        "rec_polys": [KEPT],
        "textline_orientation_angles": [1, 0],  # the dropped line was turned, the kept one not
    }
    assert kept_lines_turned(seal) == [False]
    assert kept_lines_turned({**seal, "textline_orientation_angles": [-1, -1]}) == [False]
    assert kept_lines_turned({**seal, "textline_orientation_angles": [0, 1]}) == [True]


def test_an_image_is_page_1():
    assert page_details(Page(None, None, b""), noise_page(), ensemble_result())["pageNumber"] == 1


def test_details_only_when_asked_so_the_answer_stays_paddlex():
    page = Page(None, None, b"", image=noise_page())
    plain = page_result(page, ensemble_result(), font=None, max_side=2000)
    assert "details" not in plain
    detailed = page_result(page, ensemble_result(), font=None, max_side=2000, details=True)
    assert set(detailed) == {"texts", "prunedResult", "details"}
    SealRecResult.model_validate(detailed)  # the response schema holds it
    assert len(detailed["details"]["lineImages"]) == len(detailed["texts"])
