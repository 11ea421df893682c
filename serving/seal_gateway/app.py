"""The FastAPI application: ``POST /seal-recognition``, ``GET /health``, ``/openapi.json``,
and the pages for people (``GET /``, offline ``/docs`` and ``/redoc``, :mod:`seal_gateway.web`).

The request itself is handled by the shared PaddleX API (:func:`seal_api.recognize`, also
behind the Triton model ``seal-recognition``); this module brings the HTTP side and the way
pages reach Triton: a bounded thread pool running the client package's
:class:`~seal_client.SealClient` (one Triton client per thread), pages of a request in flight
together. Nothing blocking runs on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from seal_api.errors import INTERNAL_ERROR, UNAVAILABLE, ApiError, new_log_id, success_body
from seal_api.fetch import make_session
from seal_api.schemas import InferRequest, InferResponse, NoResultResponse
from seal_api.service import recognize
from seal_client import PageError, SealClient, ServerError
from seal_client.inputs import Page
from seal_client.transport import BUSY_STATUSES, REFUSED_STATUSES, TIMEOUT_STATUSES
from seal_client.visualize import FontNotFoundError, find_cjk_font
from seal_gateway.config import GatewayConfig
from seal_gateway.errors import LOG, install_error_handlers
from seal_gateway.limits import BodySizeLimit
from seal_gateway.web import install_web_pages

INFER_PATH = "/seal-recognition"
_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": NoResultResponse, "description": description}
    for status, description in (
        (413, "Request body above the size cap"),
        (422, "Invalid request, options, file or URL"),
        (500, "Internal server error"),
        (503, "Triton unreachable, overloaded or timed out"),
    )
}


@dataclass
class GatewayState:
    """What the request handlers share; the pool and session live from startup to shutdown."""

    config: GatewayConfig
    client: SealClient
    font: Path | None
    triton_pool: ThreadPoolExecutor | None = None
    http: aiohttp.ClientSession | None = None

    async def infer_pages(self, pages: list[Page], options: bytes | None) -> list[dict[str, Any]]:
        """The ensemble's result JSON of every page, pages in flight together on the pool."""
        loop = asyncio.get_running_loop()
        client, pool = self.client, self.triton_pool
        try:
            await loop.run_in_executor(pool, client.check_server)  # cached after a success
            calls = [loop.run_in_executor(pool, client.infer_page, page, options) for page in pages]
            results = await asyncio.gather(*calls)
        except ServerError as error:
            LOG.warning("Triton: %s", error)
            raise ApiError(503, UNAVAILABLE) from None
        except PageError as error:
            raise page_error(error) from None
        return [result.json for result in results]


def find_font(config: GatewayConfig) -> Path | None:
    """The pictures' CJK font; None (pictures refused) when none is installed and none given."""
    try:
        return find_cjk_font(config.font_path)
    except FontNotFoundError as error:
        if config.font_path is not None:
            raise  # an explicit font that does not work is a configuration error
        LOG.warning("%s: requests with visualize on will fail (500)", error)
        return None


def build_app(config: GatewayConfig) -> FastAPI:
    """The gateway for ``config`` (serve it with uvicorn, see ``python -m seal_gateway``)."""
    client = SealClient(
        config.triton_url,
        config.protocol,
        max_in_flight=config.max_in_flight,
        timeout_s=config.triton_timeout_s,
    )
    state = GatewayState(config=config, client=client, font=find_font(config))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.triton_pool = ThreadPoolExecutor(config.max_in_flight, thread_name_prefix="triton")
        state.http = make_session(config.api.allow_private_urls)
        try:
            yield
        finally:
            await state.http.close()
            state.triton_pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="Seal recognition (PaddleX-compatible)",
        description="PaddleX 3.x seal_recognition serving API in front of a Triton ensemble.",
        version="1.0.0",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's own pages load their scripts from a CDN: ours are offline
        redoc_url=None,
    )
    app.state.gateway = state
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=config.api.max_request_bytes)
    install_web_pages(app)

    @app.get("/health", operation_id="checkHealth", response_model=NoResultResponse)
    async def health() -> dict[str, Any]:
        """Liveness of the gateway itself, as PaddleX's (Triton's health is Triton's own)."""
        return {"logId": new_log_id(), "errorCode": 0, "errorMsg": "Healthy"}

    @app.post(
        INFER_PATH,
        operation_id="infer",
        response_model=InferResponse,
        responses=_ERROR_RESPONSES,
    )
    async def infer(request: InferRequest) -> JSONResponse:
        """Recognise the seal texts of an image or of the first pages of a PDF."""
        log_id = new_log_id()
        started = time.perf_counter()
        try:
            result = await recognize(
                request,
                config.api,
                state.infer_pages,
                font=state.font,
                session=state.http,
            )
        except ApiError as error:
            LOG.info("logId %s: %d %s", log_id, error.status, error.message)
            error.log_id = log_id
            raise
        except Exception as error:
            LOG.error("logId %s: unhandled %s", log_id, type(error).__name__, exc_info=error)
            raise ApiError(500, INTERNAL_ERROR, log_id) from None
        LOG.info(
            "logId %s: %d page(s) in %.2f s",
            log_id,
            len(result["sealRecResults"]),
            time.perf_counter() - started,
        )
        return JSONResponse(success_body(result, log_id))

    return app


def page_error(error: PageError) -> ApiError:
    """422 for a page Triton refused, 503 when it is overloaded or gone, else 500."""
    if error.status in REFUSED_STATUSES:
        return ApiError(422, str(error).replace("<input>", "file", 1))
    LOG.warning("Triton failed a page (status %s): %s", error.status, error)
    if error.status in BUSY_STATUSES | TIMEOUT_STATUSES:
        return ApiError(503, UNAVAILABLE)
    return ApiError(500, INTERNAL_ERROR)
