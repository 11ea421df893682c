"""Turn what a user passes to ``SealClient.predict`` into the pages sent to the server.

Accepted, as PaddleX's ``predict`` accepts them: a local image path, a PDF path, a directory
(recursive), an http(s) URL, raw bytes (an image or a PDF, sniffed by magic bytes), a numpy
array (BGR uint8 ``(H, W, 3)`` or grey ``(H, W)``), or a list/tuple of any of these (flattened in
order, nested lists included). :func:`expand_inputs` expands them lazily into :class:`Page`
objects, each carrying the bytes of one encoded image.

What is sent for each kind of input:

* image files, image URLs and image bytes: the original bytes, untouched; the server decodes them
  as PaddleX serving does (``cv2.imdecode``). The client only reads the header, to refuse early
  a file the server could not decode.
* PDF pages: rendered here exactly as PaddleX renders them (see :mod:`seal_client.pdf`), then
  encoded as lossless PNG, so the server decodes the very pixels PaddleX would have used.
* arrays: encoded as lossless PNG (grey expanded to 3 channels first).
"""

from __future__ import annotations

import http.client
import os
import stat
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import cv2
import numpy as np

from seal_client.errors import InputError
from seal_client.pdf import parse_pages, render_pdf
from seal_ocr.errors import InvalidImageError
from seal_ocr.image_io import IMAGE_SUFFIXES, SUPPORTED_FORMATS, read_image_header

PDF_SUFFIX = ".pdf"
URL_SCHEMES = ("http://", "https://")
USER_AGENT = "seal-client"
_PDF_MAGIC = b"%PDF-"
_PDF_HEADER_WINDOW = 1024  # PDFium looks for the header within the first 1024 bytes
_LEADING_JUNK = b" \t\r\n\f\x00"
_UTF8_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Page:
    """One page to send to the server.

    ``input_path`` is the file path (for files found in a directory: the directory as given
    joined with the file's relative path) or the URL, as a string; ``None`` for bytes and arrays.
    ``page_index`` is the 0-based PDF page, ``None`` for single images. ``data`` is the encoded
    image to send; ``image`` is the BGR page when the client already has it (PDF pages, arrays;
    read-only), else ``None``. ``input_index`` is the 0-based position of the input that produced
    this page among the flattened inputs of one :func:`expand_inputs` call (a directory counts
    as one input); it names anonymous inputs.
    """

    input_path: str | None
    page_index: int | None
    data: bytes = field(repr=False)
    image: np.ndarray | None = field(default=None, repr=False, compare=False)
    input_index: int = 0

    @property
    def stem(self) -> str:
        """PaddleX-style output base name.

        The file stem (for a URL: the stem of the last path component, percent-decoded; query
        and fragment ignored), ``image_<input_index>`` for bytes, arrays and URLs without a file
        name, then ``_<page_index>`` for PDF pages, as PaddleX names its per-page outputs.
        """
        base = None
        if self.input_path is not None:
            if _is_url(self.input_path):
                path = urllib.parse.unquote(urllib.parse.urlsplit(self.input_path).path)
                base = PurePosixPath(path).stem
            else:
                base = Path(self.input_path).stem
        if not base:
            base = f"image_{self.input_index}"
        return base if self.page_index is None else f"{base}_{self.page_index}"


def is_pdf(data: bytes) -> bool:
    """True when ``data`` starts with the ``%PDF-`` header.

    A UTF-8 byte-order mark and ASCII whitespace/NUL before the header are tolerated (within the
    first 1024 bytes, the window PDFium searches), as PDF readers accept such files; any other
    leading bytes mean "not a PDF". None of the supported image formats can start that way, so
    an image is never taken for a PDF.
    """
    head = bytes(data[:_PDF_HEADER_WINDOW])
    head = head.removeprefix(_UTF8_BOM).lstrip(_LEADING_JUNK)
    return head.startswith(_PDF_MAGIC)


def expand_inputs(
    inputs: Any,
    *,
    pages: str | Sequence[int] | None = None,
    max_pages: int | None = None,
    first_pages: int | None = None,
    max_page_pixels: int | None = None,
    url_timeout_s: float = 10.0,
    max_download_bytes: int = 100 * 2**20,
) -> Iterator[Page]:
    """Expand ``inputs`` lazily into pages, in order.

    ``pages`` selects PDF pages: a 1-based spec string (``"1-3,7"``, see
    :func:`seal_client.pdf.parse_pages`) or 0-based indices; ``max_pages`` caps the pages taken
    from one PDF (a PDF above the cap is an error, never silently truncated); ``first_pages``
    takes the first that many selected pages and ignores the rest (PaddleX serving's way). They
    apply to every PDF and to nothing else. ``max_page_pixels`` refuses a PDF page whose
    rendering would be larger, from its declared size before anything is rendered. Options are
    checked now (``ValueError``); inputs are read, downloaded and rendered only as the iterator
    advances, so a 500-page PDF renders page by page. A bad input raises :class:`InputError` (or
    its subclass ``PdfError``) when reached.
    """
    selection = parse_pages(pages) if isinstance(pages, str) else pages
    if selection is not None and not isinstance(selection, list):
        selection = list(selection)
    if max_pages is not None and (not isinstance(max_pages, int) or max_pages < 1):
        raise ValueError(f"max_pages must be a positive int or None, got {max_pages!r}")
    if first_pages is not None and (not isinstance(first_pages, int) or first_pages < 1):
        raise ValueError(f"first_pages must be a positive int or None, got {first_pages!r}")
    if max_page_pixels is not None and (
        not isinstance(max_page_pixels, int) or max_page_pixels < 1
    ):
        raise ValueError(f"max_page_pixels must be a positive int or None, got {max_page_pixels!r}")
    if not url_timeout_s > 0:
        raise ValueError(f"url_timeout_s must be > 0, got {url_timeout_s!r}")
    if not max_download_bytes > 0:
        raise ValueError(f"max_download_bytes must be > 0, got {max_download_bytes!r}")
    options = _Options(
        selection,
        max_pages,
        max_page_pixels,
        float(url_timeout_s),
        int(max_download_bytes),
        first_pages,
    )
    return _expand(inputs, options)


@dataclass(frozen=True)
class _Options:
    pages: list[int] | None
    max_pages: int | None
    max_page_pixels: int | None
    url_timeout_s: float
    max_download_bytes: int
    first_pages: int | None


def _expand(inputs: Any, options: _Options) -> Iterator[Page]:
    for index, item in enumerate(_flatten(inputs)):
        yield from _expand_one(item, index, options)


def _flatten(inputs: Any) -> Iterable[Any]:
    if isinstance(inputs, list | tuple):
        for item in inputs:
            yield from _flatten(item)
    else:
        yield inputs


def _expand_one(item: Any, index: int, options: _Options) -> Iterator[Page]:
    if isinstance(item, np.ndarray):
        yield _array_page(item, index)
    elif isinstance(item, bytes | bytearray | memoryview):
        yield from _bytes_pages(bytes(item), None, f"bytes input #{index}", index, options)
    elif isinstance(item, str) and _is_url(item):
        data = _download(item, options)
        yield from _bytes_pages(data, item, item, index, options)
    elif isinstance(item, str | os.PathLike):
        yield from _path_pages(item, index, options)
    else:
        raise InputError(
            f"input #{index} has unsupported type {type(item).__name__}; expected a path, URL, "
            "bytes, numpy array or a list of these"
        )


def _is_url(text: str) -> bool:
    return text[:8].lower().startswith(URL_SCHEMES)


# --- local files and directories ---------------------------------------------------------------


def _path_pages(item: str | os.PathLike, index: int, options: _Options) -> Iterator[Page]:
    name = os.fspath(item)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    try:
        info = os.stat(name)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file or directory") from None
    except OSError as error:
        raise InputError(f"{name}: cannot be accessed ({error.strerror or error})") from None
    if stat.S_ISDIR(info.st_mode):
        files = _list_directory(name)
        if not files:
            raise InputError(f"no images or PDFs under {name}")
        for file in files:
            yield from _file_pages(file, index, options)
    else:
        if not _has_supported_suffix(name):
            raise InputError(
                f"{name}: unsupported file type {Path(name).suffix or '(no suffix)'!r}; "
                f"expected one of {', '.join((*IMAGE_SUFFIXES, PDF_SUFFIX))}"
            )
        yield from _file_pages(name, index, options)


def _has_supported_suffix(name: str) -> bool:
    suffix = Path(name).suffix.lower()
    return suffix in IMAGE_SUFFIXES or suffix == PDF_SUFFIX


def _list_directory(root: str) -> list[str]:
    """Image and PDF files under ``root``, recursively, sorted by relative path (``/``-joined).

    Symlinked directories are followed, except one that leads back to a directory being walked
    (a loop); broken links with a supported suffix are kept so that reading them reports them.
    The order is that of PaddleX (``sorted`` over the joined paths), stable across runs.
    """
    found: list[tuple[str, str]] = []

    def walk(directory: str, relative: str, ancestors: frozenset[tuple[int, int]]) -> None:
        try:
            entries = list(os.scandir(directory))
        except OSError as error:
            raise InputError(
                f"{directory}: directory cannot be read ({error.strerror or error})"
            ) from None
        for entry in entries:
            rel = f"{relative}/{entry.name}" if relative else entry.name
            try:
                is_dir = entry.is_dir()  # follows symlinks
            except OSError:
                is_dir = False
            if is_dir:
                try:
                    info = os.stat(entry.path)
                except OSError:
                    continue
                key = (info.st_dev, info.st_ino)
                if key not in ancestors:
                    walk(entry.path, rel, ancestors | {key})
            elif _has_supported_suffix(entry.name):
                found.append((rel, entry.path))

    top = os.stat(root)
    walk(root, "", frozenset({(top.st_dev, top.st_ino)}))
    return [path for _, path in sorted(found)]


def _file_pages(name: str, index: int, options: _Options) -> Iterator[Page]:
    if Path(name).suffix.lower() == PDF_SUFFIX:
        yield from _pdf_pages(Path(name), name, name, index, options)
        return
    try:
        data = Path(name).read_bytes()
    except OSError as error:
        raise InputError(f"{name}: cannot be read ({error.strerror or error})") from None
    _check_image(data, name)
    yield Page(input_path=name, page_index=None, data=data, input_index=index)


def _check_image(data: bytes, name: str) -> None:
    try:
        image_format, _, _ = read_image_header(data)
    except InvalidImageError as error:
        raise InputError(f"{name}: {error}") from None
    if image_format not in SUPPORTED_FORMATS:
        raise InputError(
            f"{name}: unsupported image format {image_format or 'unknown'}; "
            f"supported: {', '.join(SUPPORTED_FORMATS)}"
        )


# --- PDFs, bytes, arrays -----------------------------------------------------------------------


def _pdf_pages(
    source: bytes | Path, input_path: str | None, name: str, index: int, options: _Options
) -> Iterator[Page]:
    pages = render_pdf(
        source,
        pages=options.pages,
        max_pages=options.max_pages,
        first_pages=options.first_pages,
        max_pixels=options.max_page_pixels,
        name=name,
    )
    for page_index, image in pages:
        image.setflags(write=False)
        yield Page(
            input_path=input_path,
            page_index=page_index,
            data=_encode_png(image, f"{name} page {page_index + 1}"),
            image=image,
            input_index=index,
        )


def _bytes_pages(
    data: bytes, input_path: str | None, name: str, index: int, options: _Options
) -> Iterator[Page]:
    if is_pdf(data):
        yield from _pdf_pages(data, input_path, name, index, options)
        return
    _check_image(data, name)
    yield Page(input_path=input_path, page_index=None, data=data, input_index=index)


def _array_page(array: np.ndarray, index: int) -> Page:
    name = f"array input #{index}"
    if array.dtype != np.uint8:
        raise InputError(f"{name} must be uint8, got {array.dtype}")
    if array.ndim == 2:
        image = cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_GRAY2BGR)
    elif array.ndim == 3 and array.shape[2] == 3:
        image = np.array(array, copy=True, order="C")  # the caller may reuse its array
    else:
        raise InputError(f"{name} must be BGR (H, W, 3) or grey (H, W), got shape {array.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"{name} is empty (shape {array.shape})")
    image.setflags(write=False)
    return Page(
        input_path=None,
        page_index=None,
        data=_encode_png(image, name),
        image=image,
        input_index=index,
    )


def _encode_png(image: np.ndarray, name: str) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise InputError(f"{name} cannot be encoded as PNG (shape {image.shape})")
    return encoded.tobytes()


# --- URLs --------------------------------------------------------------------------------------


def _download(url: str, options: _Options) -> bytes:
    """The body of ``url``, read in chunks up to the size cap; errors become InputError."""
    timeout = options.url_timeout_s
    cap = options.max_download_bytes
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            content_type = response.headers.get("Content-Type") or "none"
            length = response.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) > cap:
                raise InputError(
                    f"{url} is {int(length)} bytes, above the download cap of {cap} bytes"
                )
            chunks: list[bytes] = []
            total = 0
            while chunk := response.read(_CHUNK):
                total += len(chunk)
                if total > cap:
                    raise InputError(f"{url} is larger than the download cap of {cap} bytes")
                chunks.append(chunk)
    except urllib.error.HTTPError as error:
        raise InputError(f"{url} returned HTTP {error.code} ({error.reason})") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise InputError(f"{url} timed out after {timeout:g}s") from None
        raise InputError(f"{url} cannot be fetched: {error.reason}") from None
    except TimeoutError:
        raise InputError(f"{url} timed out after {timeout:g}s") from None
    except (OSError, http.client.HTTPException) as error:  # reset mid-body, IncompleteRead
        raise InputError(f"{url} cannot be fetched: {error}") from None
    data = b"".join(chunks)
    if not is_pdf(data):
        try:
            read_image_header(data)
        except InvalidImageError:
            raise InputError(
                f"{url} is not an image or PDF (Content-Type {content_type}, {len(data)} bytes)"
            ) from None
    return data
