"""One PaddleX ``seal_recognition`` serving request, from its body to PaddleX's response body.

Shared by the two front ends of the ensemble, which differ only in how a page reaches Triton:
the HTTP gateway (``seal_gateway``: tritonclient from a thread pool) and the Triton model
``seal-recognition`` (PaddleX's HPS protocol: BLS from inside the server). Each passes its
:data:`InferPages`; everything else (parsing, options, the file, pages, the per-page result
and the envelope) happens here, once.

Nothing blocking runs on the event loop: base64, decoding, PDF rendering and pictures go to
worker threads, URL inputs through aiohttp.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import ValidationError

from seal_api.errors import (
    INTERNAL_ERROR,
    LOG,
    ApiError,
    error_body,
    new_log_id,
    success_body,
    validation_message,
)
from seal_api.fetch import FetchPolicy, fetch_url, make_session
from seal_api.files import (
    decode_base64,
    is_url,
    load_document,
    pdf_page_selection,
    resolve_file_type,
)
from seal_api.options import options_json, pipeline_options
from seal_api.results import page_result
from seal_api.schemas import InferRequest
from seal_client.inputs import Page
from seal_ocr.errors import InvalidOptionError
from seal_ocr.image_io import DEFAULT_MAX_PIXELS

MIB = 2**20
PADDLEX_MAX_PDF_PAGES = 10  # PaddleX serving's ``max_num_input_imgs`` default
PADDLEX_MAX_OUTPUT_IMAGE_SIDE = 2000  # PaddleX serving's ``max_output_img_size`` (2000 x 2000)
NO_FONT = (
    "Internal server error: no CJK font on the server for the result pictures "
    "(install fonts-wqy-zenhei or set SEAL_FONT_PATH), or send visualize=false"
)

# (pages, OPTIONS tensor or None) -> the ensemble's result JSON of each page, in order; raises
# ApiError (422 refused, 503 overloaded or unreachable, 500 otherwise)
InferPages = Callable[[list[Page], bytes | None], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class ApiSettings:
    """What a front end is configured with; the defaults are PaddleX serving's where it has one.

    ``max_pdf_pages``: pages taken from the start of a PDF (``None``: all), as PaddleX's
    ``max_num_input_imgs``. ``max_page_pixels``: the largest page (image or rendered PDF page,
    width x height) accepted, checked before decoding or rendering; the ensemble's own
    ``max_image_pixels`` by default. ``max_request_bytes``: the largest request body.
    ``max_download_bytes`` / ``url_timeout_s`` / ``max_redirects``: limits of URL inputs, which
    may not reach loopback, private, link-local or other non-public addresses unless
    ``allow_private_urls``. ``visualize``: default of the request's ``visualize`` (PaddleX
    ``Serving.visualize``). ``max_output_image_side``: pictures are shrunk to fit this square.
    """

    max_pdf_pages: int | None = PADDLEX_MAX_PDF_PAGES
    max_page_pixels: int = DEFAULT_MAX_PIXELS
    max_request_bytes: int = 64 * MIB
    max_download_bytes: int = 48 * MIB  # the file a 64 MiB base64 body can carry
    url_timeout_s: float = 10.0
    max_redirects: int = 5
    allow_private_urls: bool = False
    visualize: bool = True
    max_output_image_side: int = PADDLEX_MAX_OUTPUT_IMAGE_SIDE

    def __post_init__(self) -> None:
        if self.max_pdf_pages is not None and self.max_pdf_pages < 1:
            raise ValueError(f"max_pdf_pages must be >= 1 or None, got {self.max_pdf_pages}")
        for name in (
            "max_page_pixels",
            "max_request_bytes",
            "max_download_bytes",
            "max_output_image_side",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_redirects < 0:
            raise ValueError(f"max_redirects must be >= 0, got {self.max_redirects}")
        if not self.url_timeout_s > 0:
            raise ValueError(f"url_timeout_s must be > 0, got {self.url_timeout_s}")

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, str]) -> ApiSettings:
        """Settings from string values (a Triton config's ``parameters``), defaults for the rest.

        Keys are the field names; ``""`` or an unfilled ``"${...}"`` means unset, and
        ``max_pdf_pages`` ``"0"`` means all pages. Unknown keys and bad values raise
        ``ValueError`` naming them, so a typo in a config fails the model's load.
        """
        values: dict[str, Any] = {}
        for key, text in parameters.items():
            if key not in _PARAMETER_TYPES:
                raise ValueError(f"unknown parameter {key!r}; known: {sorted(_PARAMETER_TYPES)}")
            if text == "" or text.startswith("${"):
                continue
            try:
                values[key] = _PARAMETER_TYPES[key](text)
            except ValueError:
                raise ValueError(f"parameter {key}: bad value {text!r}") from None
        if values.get("max_pdf_pages") == 0:
            values["max_pdf_pages"] = None
        return cls(**values)

    @property
    def fetch_policy(self) -> FetchPolicy:
        return FetchPolicy(
            timeout_s=self.url_timeout_s,
            max_bytes=self.max_download_bytes,
            max_redirects=self.max_redirects,
            allow_private=self.allow_private_urls,
        )


def _parse_bool(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise ValueError(text)
    return text.lower() == "true"


_PARAMETER_TYPES: dict[str, Callable[[str], Any]] = {
    "max_pdf_pages": int,
    "max_page_pixels": int,
    "max_request_bytes": int,
    "max_download_bytes": int,
    "url_timeout_s": float,
    "max_redirects": int,
    "allow_private_urls": _parse_bool,
    "visualize": _parse_bool,
    "max_output_image_side": int,
}


async def read_file(
    file: str, settings: ApiSettings, session: aiohttp.ClientSession | None = None
) -> bytes:
    """The bytes of the request's ``file``: fetched when a URL, else base64-decoded.

    ``session``: a long-lived session of the caller's (see :func:`seal_api.fetch.make_session`);
    without one, a session is opened for this fetch alone.
    """
    if not is_url(file):
        return await asyncio.to_thread(decode_base64, file)
    if session is not None:
        return await fetch_url(session, file, settings.fetch_policy)
    async with make_session(settings.allow_private_urls) as own_session:
        return await fetch_url(own_session, file, settings.fetch_policy)


async def recognize(
    request: InferRequest,
    settings: ApiSettings,
    infer_pages: InferPages,
    *,
    font: Path | None,
    session: aiohttp.ClientSession | None = None,
) -> dict[str, Any]:
    """The ``result`` of one request: ``{sealRecResults, dataInfo}``; raises :class:`ApiError`.

    Cheap checks first (file type, options, the font), then the file, its pages (each page's
    size checked before it is decoded or rendered), the ensemble, PaddleX's page entries.
    ``font`` None: pictures cannot be drawn, so a request that wants them is a 500.
    """
    file_type = resolve_file_type(request.file, request.fileType)
    pdf_pages = pdf_page_selection(request.pdfPages)
    try:
        options = options_json(pipeline_options(request.model_dump()))
    except InvalidOptionError as error:
        raise ApiError(422, str(error)) from None
    visualize = settings.visualize if request.visualize is None else request.visualize
    if visualize and font is None:
        raise ApiError(500, NO_FONT)
    data = await read_file(request.file, settings, session)
    document = await asyncio.to_thread(
        load_document, data, file_type, settings.max_pdf_pages, settings.max_page_pixels, pdf_pages
    )
    del data  # the pages hold what is needed; a 48 MiB file need not live on
    results = await infer_pages(document.pages, options)
    picture_font = font if visualize else None
    entries = await asyncio.gather(
        *(
            asyncio.to_thread(
                page_result,
                page,
                result,
                font=picture_font,
                max_side=settings.max_output_image_side,
                details=bool(request.details),
            )
            for page, result in zip(document.pages, results, strict=True)
        )
    )
    return {"sealRecResults": list(entries), "dataInfo": document.data_info}


def parse_request(body: bytes) -> InferRequest:
    """The request of a JSON body (UTF-8), validated; 422 with pydantic's error list if not."""
    try:
        return InferRequest.model_validate_json(body)
    except ValidationError as error:
        raise ApiError(422, validation_message(list(error.errors()))) from None


async def handle(
    body: bytes,
    settings: ApiSettings,
    infer_pages: InferPages,
    *,
    font: Path | None,
    session: aiohttp.ClientSession | None = None,
) -> dict[str, Any]:
    """PaddleX's response body for a request body; never raises (errors are in the envelope).

    Every request is logged with its logId, status and time; an unexpected failure is logged
    with its trace and answered with a plain 500.
    """
    log_id = new_log_id()
    started = time.perf_counter()
    try:
        if len(body) > settings.max_request_bytes:
            raise ApiError(
                413, f"request body is larger than the cap of {settings.max_request_bytes} bytes"
            )
        request = parse_request(body)
        result = await recognize(request, settings, infer_pages, font=font, session=session)
    except ApiError as error:
        LOG.info("logId %s: %d %s", log_id, error.status, error.message)
        return error_body(error.status, error.message, log_id)
    except Exception as error:
        LOG.error("logId %s: unhandled %s", log_id, type(error).__name__, exc_info=error)
        return error_body(500, INTERNAL_ERROR, log_id)
    LOG.info(
        "logId %s: %d page(s) in %.2f s",
        log_id,
        len(result["sealRecResults"]),
        time.perf_counter() - started,
    )
    return success_body(result, log_id)


def dumps(body: dict[str, Any]) -> bytes:
    """A response body as compact UTF-8 JSON (CJK text as is, not ``\\u`` escapes)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
