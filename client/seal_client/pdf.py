"""Render PDF pages into the BGR images PaddleX works on.

PaddleX reads a PDF with ``PDFReaderBackend`` (``paddlex/inference/utils/io/readers.py``)::

    for page in pypdfium2.PdfDocument(path):
        image = page.render(scale=2.0, rotation=0).to_pil().convert("RGB")
        yield cv2.cvtColor(np.array(image), cv2.COLOR_RGB2BGR)

:func:`render_pdf` makes exactly the same calls (scale 2.0 = 144 DPI), so a page rendered here is
pixel-identical to the page PaddleX would feed its pipeline. On top of that it selects pages,
caps their number, closes every PDFium object it opens, and turns PDFium's failures into a
:class:`PdfError` that says what is wrong with which document.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from seal_client.errors import PdfError

PAGE_SPEC_LIMIT = 1_000_000  # page numbers above this in a spec are a typo, not a real document

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
# Used only after PDFium refused a document, to tell "has no pages" from "corrupt": PDFium will
# not load a document whose page tree is empty, and reports that as a format error.
_PAGES_NODE = re.compile(rb"/Type\s*/Pages(?![A-Za-z0-9_.#-])")
_PAGE_LEAF = re.compile(rb"/Type\s*/Page(?![A-Za-z0-9_.#-])")
_COUNT_ZERO = re.compile(rb"/Count\s+0(?![0-9.])")


def parse_pages(spec: str | None) -> list[int] | None:
    """Parse a 1-based page spec such as ``"1-3, 7"`` into sorted unique 0-based indices.

    ``None`` or a blank spec means all pages and gives ``None``. Ranges are inclusive; spaces
    around numbers, dashes and commas are allowed. ``"0"``, reversed ranges (``"3-1"``), open
    ranges (``"1-"``), empty items (``"1,,2"``) and non-numbers raise :class:`ValueError` quoting
    the spec.
    """
    if spec is None or not spec.strip():
        return None
    selected: set[int] = set()
    for item in spec.split(","):
        match = _RANGE.match(item)
        if match is None:
            raise ValueError(
                f"invalid page spec {spec!r}: {item.strip()!r} is not a page number or a range "
                "like '2-5' (pages are 1-based, e.g. '1-3,7')"
            )
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if first < 1:
            raise ValueError(f"invalid page spec {spec!r}: pages are numbered from 1")
        if last < first:
            raise ValueError(f"invalid page spec {spec!r}: range {first}-{last} is reversed")
        if last > PAGE_SPEC_LIMIT:
            raise ValueError(
                f"invalid page spec {spec!r}: page {last} is above the limit of {PAGE_SPEC_LIMIT}"
            )
        selected.update(range(first - 1, last))
    return sorted(selected)


def render_pdf(
    source: bytes | Path,
    *,
    pages: Sequence[int] | None = None,
    max_pages: int | None = None,
    first_pages: int | None = None,
    max_pixels: int | None = None,
    scale: float = 2.0,
    name: str = "<bytes>",
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(0-based page index, BGR uint8 page)`` for the selected pages, one at a time.

    ``source`` is the PDF's bytes or its path (a path names the document in errors unless
    ``name`` is given). ``pages`` are 0-based indices (sorted and de-duplicated before rendering;
    an index outside the document raises :class:`PdfError` naming the page count); ``None``
    renders every page. ``max_pages`` caps the number of pages after selection: a selection
    above the cap raises :class:`PdfError` before any page is rendered instead of being silently
    truncated, so that a result never quietly misses pages of a document. ``first_pages`` keeps
    the first that many selected pages and ignores the rest, unchecked and unrendered (PaddleX
    serving's ``max_num_input_imgs``; the cap then counts the kept pages). ``max_pixels`` caps
    the size of a rendered page (width x height at ``scale``): every selected page's declared
    size is checked before any page is rendered, so a hostile PDF (one 14400 x 14400 pt page
    is 829 Mpx at 144 DPI, seconds and gigabytes to render) is refused in milliseconds.

    Rendering is exactly PaddleX's (``scale=2.0``, ``rotation=0``, PIL RGB, then BGR). This is a
    generator: nothing is opened until the first ``next()``, each page is rendered when asked
    for, and the document is closed when the generator is exhausted, closed or collected.
    Encrypted (user password), corrupt or truncated, and page-less PDFs raise :class:`PdfError`
    saying which; a PDF with only an owner password (no password needed to open it) renders, as
    it does in PaddleX.
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
    if max_pages is not None and max_pages < 1:
        raise ValueError(f"max_pages must be >= 1 or None, got {max_pages!r}")
    if first_pages is not None and first_pages < 1:
        raise ValueError(f"first_pages must be >= 1 or None, got {first_pages!r}")
    if max_pixels is not None and max_pixels < 1:
        raise ValueError(f"max_pixels must be >= 1 or None, got {max_pixels!r}")
    name = _default_name(source, None if name == "<bytes>" else name)
    document = _open(source, name)
    try:
        indices = _select(len(document), pages, max_pages, first_pages, name)
        if max_pixels is not None:  # all pages before the first render: no work is wasted
            for index in indices:
                check_page_size(document, index, scale, max_pixels, name)
        for index in indices:
            yield index, _render_page(document, index, scale, name)
    finally:
        document.close()


def _default_name(source: bytes | Path, name: str | None) -> str:
    if name is not None:
        return name
    return str(source) if isinstance(source, str | Path) else "<bytes>"


def _open(source: bytes | Path, name: str) -> pdfium.PdfDocument:
    if isinstance(source, bytearray | memoryview):
        source = bytes(source)
    try:
        document = pdfium.PdfDocument(source)
    except OSError as error:
        raise PdfError(f"{name} cannot be read: {error.strerror or error}") from None
    except pdfium.PdfiumError as error:
        raise PdfError(_load_failure(source, name, error)) from None
    if len(document) == 0:
        document.close()
        raise PdfError(f"{name} has no pages (0-page PDF)")
    return document


def _load_failure(source: bytes | Path, name: str, error: pdfium.PdfiumError) -> str:
    # first: PDFium reports a 0-page document with a stale error code from an earlier failure
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError:
        data = b""
    if _looks_pageless(data):
        return f"{name} has no pages (0-page PDF)"
    code = error.err_code
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return f"{name} is encrypted (password-protected); decrypt it before sending it"
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return f"{name} is encrypted with an unsupported security handler; decrypt it first"
    if code == pdfium_c.FPDF_ERR_FILE:
        return f"{name} cannot be opened by PDFium (file error)"
    return f"{name} is corrupt or truncated (PDFium: {error})"


def _looks_pageless(data: bytes) -> bool:
    """A complete PDF (``%%EOF`` at its end) whose page tree says ``/Count 0`` and has no page."""
    return (
        b"%%EOF" in data[-1024:]
        and _PAGES_NODE.search(data) is not None
        and _COUNT_ZERO.search(data) is not None
        and _PAGE_LEAF.search(data) is None
    )


def _select(
    count: int,
    pages: Sequence[int] | None,
    max_pages: int | None,
    first_pages: int | None,
    name: str,
) -> list[int]:
    if pages is None:
        indices = list(range(count))
    else:
        indices = sorted({operator.index(page) for page in pages})
        for index in indices:
            if not 0 <= index < count:
                raise PdfError(
                    f"page {index + 1} (index {index}) is not in {name}, which has {count} "
                    f"page{'s' if count != 1 else ''}"
                )
        if not indices:
            raise PdfError(f"no pages of {name} selected (empty page list)")
    indices = indices[:first_pages]
    if max_pages is not None and len(indices) > max_pages:
        raise PdfError(
            f"{name} has {len(indices)} pages selected, above the page cap of {max_pages}; "
            f"pass pages=... (e.g. pages='1-{max_pages}') or raise max_pages"
        )
    return indices


def rendered_size(width_pt: float, height_pt: float, scale: float) -> tuple[int, int]:
    """(width, height) in pixels of a page of that size in points, as pypdfium2 renders it."""
    return math.ceil(width_pt * scale), math.ceil(height_pt * scale)


def check_page_size(
    document: pdfium.PdfDocument, index: int, scale: float, max_pixels: int, name: str
) -> None:
    """Refuse a page whose rendering would exceed ``max_pixels``, from its declared size alone.

    PDFium reads the size from the page dictionary (MediaBox/CropBox, /Rotate) without
    parsing the page's content, so this costs microseconds whatever the page holds.
    """
    try:
        width_pt, height_pt = document.get_page_size(index)
    except pdfium.PdfiumError as error:
        raise PdfError(f"page {index + 1} of {name} is corrupt ({error})") from None
    if not (math.isfinite(width_pt) and math.isfinite(height_pt)):
        raise PdfError(f"page {index + 1} of {name} has no valid size ({width_pt} x {height_pt})")
    width, height = rendered_size(width_pt, height_pt, scale)
    if width < 1 or height < 1:
        raise PdfError(
            f"page {index + 1} of {name} is empty ({width_pt:g} x {height_pt:g} pt); "
            "nothing to render"
        )
    if width * height > max_pixels:
        raise PdfError(
            f"page {index + 1} of {name} is {width_pt:g} x {height_pt:g} pt, {width} x {height} "
            f"pixels at {72 * scale:g} DPI, above the cap of {max_pixels} pixels per page; "
            "refused before rendering"
        )


def _render_page(document: pdfium.PdfDocument, index: int, scale: float, name: str) -> np.ndarray:
    try:
        page = document[index]
    except pdfium.PdfiumError as error:
        raise PdfError(f"page {index + 1} of {name} is corrupt ({error})") from None
    try:
        bitmap = page.render(scale=scale, rotation=0)
        try:
            # Same steps as PaddleX; convert() and np.array() copy out of PDFium's buffer.
            rgb = np.array(bitmap.to_pil().convert("RGB"))
        finally:
            bitmap.close()
    except pdfium.PdfiumError as error:
        raise PdfError(f"page {index + 1} of {name} cannot be rendered ({error})") from None
    finally:
        page.close()
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
