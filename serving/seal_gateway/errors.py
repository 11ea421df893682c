"""FastAPI's own failures and ours in PaddleX's envelope ``{logId, errorCode, errorMsg}``.

The envelope, its codes and :class:`~seal_api.errors.ApiError` are the shared API's
(:mod:`seal_api.errors`); here they become HTTP responses with status = errorCode, and the
errors FastAPI raises itself (validation, 404, 405, an undecodable body) join them.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from seal_api.errors import (
    INTERNAL_ERROR,
    ApiError,
    error_body,
    new_log_id,
    validation_message,
)

LOG = logging.getLogger("seal_gateway")


def envelope(status: int, message: str, log_id: str | None = None) -> JSONResponse:
    """``{logId, errorCode, errorMsg}`` with errorCode = the HTTP status."""
    return JSONResponse(error_body(status, message, log_id), status_code=status)


async def _on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return envelope(422, validation_message(list(exc.errors())))


async def _on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    # FastAPI answers 400 to a body it cannot even decode (not UTF-8): invalid input like any
    # other, so PaddleX's 422
    status = 422 if exc.status_code == 400 else exc.status_code
    return envelope(status, str(exc.detail))


async def _on_api_error(request: Request, exc: ApiError) -> JSONResponse:
    return envelope(exc.status, exc.message, exc.log_id)


async def _on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log_id = new_log_id()
    LOG.error("logId %s: unhandled %s", log_id, type(exc).__name__, exc_info=exc)
    return envelope(500, INTERNAL_ERROR, log_id)


def install_error_handlers(app: FastAPI) -> None:
    """Route FastAPI's own errors (422, 404, 405) and ours through PaddleX's envelope."""
    # FastAPI's decorator registers a handler typed for its own exception class (Starlette's
    # add_exception_handler is typed for handlers of any Exception)
    app.exception_handler(RequestValidationError)(_on_validation_error)
    app.exception_handler(StarletteHTTPException)(_on_http_error)
    app.exception_handler(ApiError)(_on_api_error)
    app.exception_handler(Exception)(_on_unexpected_error)
