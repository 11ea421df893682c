"""The request's ``file``: URL or base64, image or PDF, turned into the client's pages.

File-type rules are PaddleX serving's (``_common/ocr.py`` ``get_file_type``, ``infra/utils.py``
``infer_file_type``). Pages are made by the client package (:func:`seal_client.inputs.
expand_inputs`, PDFs rendered as PaddleX renders them), images are decoded by the library the
ensemble decodes with, so a bad file is refused here, with the server's message, before Triton.

Pages are rendered in the server, so their size is capped before any work: an image from its
header, a PDF page from its declared size (``max_page_pixels``, the ensemble's own
``max_image_pixels`` by default), so a hostile file costs milliseconds, not gigabytes.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np

from seal_api.errors import ApiError
from seal_client.errors import InputError
from seal_client.inputs import Page, expand_inputs, is_pdf
from seal_client.pdf import parse_pages
from seal_ocr.errors import InvalidImageError
from seal_ocr.image_io import DEFAULT_MAX_PIXELS, decode_image

FILE_TYPE_PDF = 0
FILE_TYPE_IMAGE = 1
_BOS_HOST = re.compile(r"\w+\.bcebos\.com")
_BOS_FILENAME = re.compile(r"attachment;filename=(.*)")
# PDFium is not thread-safe, and requests render in worker threads: one document at a time
# (PaddleX serving holds a lock the same way, ``pdfium_lock``).
_PDFIUM_LOCK = threading.Lock()


def is_url(text: str) -> bool:
    """An http(s) URL with a host, as PaddleX tells a URL from base64."""
    if not text.startswith(("http://", "https://")):
        return False
    parts = urlparse(text)
    return bool(parts.scheme and parts.netloc)


def infer_file_type(url: str) -> int | None:
    """PDF or image from the URL's file name (or a BOS download name), None when unknown."""
    parts = urlparse(url)
    mime = mimetypes.guess_type(parts.path.split("/")[-1])[0]
    if mime is None and _BOS_HOST.fullmatch(parts.netloc) and parts.query:
        names = parse_qs(parts.query).get("responseContentDisposition", [])
        match = _BOS_FILENAME.match(names[0]) if len(names) == 1 else None
        if match:
            mime = mimetypes.guess_type(match.group(1))[0]
    if mime == "application/pdf":
        return FILE_TYPE_PDF
    if mime is not None and mime.startswith("image/"):
        return FILE_TYPE_IMAGE
    return None


def resolve_file_type(file: str, file_type: int | None) -> int:
    """``fileType`` as given, else inferred from a URL; 422 with PaddleX's messages otherwise."""
    if file_type is not None:
        return file_type
    if not is_url(file):
        raise ApiError(422, "File type cannot be determined")
    inferred = infer_file_type(file)
    if inferred is None:
        raise ApiError(422, "Unsupported file type")
    return inferred


def decode_base64(text: str) -> bytes:
    """The bytes of a base64 ``file``; whitespace and line breaks (MIME style) are ignored.

    Other characters are refused (PaddleX drops them silently and decodes what is left).
    """
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(
            422, "file is neither an http(s) URL nor valid base64 (bad padding or characters)"
        ) from None


@dataclass(frozen=True)
class Document:
    """The pages of one request's file and PaddleX's ``dataInfo`` for it."""

    pages: list[Page]
    data_info: dict[str, Any]


def pdf_page_selection(spec: str | None) -> list[int] | None:
    """0-based indices of the request's ``pdfPages`` (``"1-3,7"``, the client's ``--pages``
    spec); None (all pages) for null or blank; 422 naming the fault when malformed."""
    try:
        return parse_pages(spec)
    except ValueError as error:
        raise ApiError(422, f"pdfPages: {error}") from None


def load_document(
    data: bytes,
    file_type: int,
    max_pdf_pages: int | None,
    max_page_pixels: int = DEFAULT_MAX_PIXELS,
    pdf_pages: list[int] | None = None,
) -> Document:
    """Decode an image or render the first ``max_pdf_pages`` pages of a PDF (blocking).

    ``pdf_pages``: 0-based pages of a PDF to take (of which the first ``max_pdf_pages``), None
    for all; images ignore it. Raises :class:`ApiError` 422 when the file is not what
    ``file_type`` says, cannot be read, lacks a selected page, or has a page above
    ``max_page_pixels`` (checked before decoding or rendering anything).
    ``dataInfo.numPages`` counts the pages processed, as PaddleX's does.
    """
    try:
        if file_type == FILE_TYPE_PDF:
            return _pdf_document(data, max_pdf_pages, max_page_pixels, pdf_pages)
        return _image_document(data, max_page_pixels)
    except (InputError, InvalidImageError) as error:
        raise ApiError(422, str(error)) from None


def _image_document(data: bytes, max_pixels: int) -> Document:
    if is_pdf(data):
        raise ApiError(422, "fileType is 1 (image) but the file is a PDF; send fileType 0")
    image = decode_image(data, max_pixels=max_pixels)
    image.setflags(write=False)
    page = Page(input_path=None, page_index=None, data=data, image=image)
    height, width = image.shape[:2]
    return Document([page], {"width": width, "height": height, "type": "image"})


def _rendered(page: Page) -> np.ndarray:
    """A PDF page's pixels (``expand_inputs`` renders every PDF page it yields)."""
    if page.image is None:
        raise RuntimeError(f"PDF page {page.page_index} came without its pixels")
    return page.image


def _pdf_document(
    data: bytes, max_pdf_pages: int | None, max_pixels: int, selection: list[int] | None
) -> Document:
    if not is_pdf(data):
        raise ApiError(422, "fileType is 0 (PDF) but the file is not a PDF")
    with _PDFIUM_LOCK:  # one open of the document: the first pages are taken as it renders
        # PaddleX serving takes the first pages silently (the client's max_pages would refuse)
        pages = list(
            expand_inputs(
                data, pages=selection, first_pages=max_pdf_pages, max_page_pixels=max_pixels
            )
        )
    shapes = [_rendered(page).shape for page in pages]
    sizes = [{"width": shape[1], "height": shape[0]} for shape in shapes]
    return Document(pages, {"numPages": len(pages), "pages": sizes, "type": "pdf"})
