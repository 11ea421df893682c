"""PaddleX's error envelope ``{logId, errorCode, errorMsg}`` for every failure, never a trace.

errorCode is the HTTP status. 422: the request (its JSON, options, file or URL) is unusable;
413: the body is above the size cap; 500: anything unexpected ("Internal server error", the
detail goes to the log under the same logId); 503: Triton is unreachable, overloaded or timed
out (not in PaddleX, which has no separate inference server; retrying later can succeed).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

LOG = logging.getLogger("seal_gateway")
INTERNAL_ERROR = "Internal server error"
# Keys of a pydantic error entry that are dropped from errorMsg: "input" echoes the request
# (the whole base64 file for a wrong type), "url" points at pydantic's docs.
_DROPPED_ERROR_KEYS = ("input", "url")


class GatewayError(Exception):
    """A request that ends with ``status`` and ``message`` in PaddleX's error envelope."""

    def __init__(self, status: int, message: str, log_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.log_id = log_id  # the request's, so that the log and the answer agree


def new_log_id() -> str:
    """PaddleX's logId: a random UUID4."""
    return str(uuid.uuid4())


def envelope(status: int, message: str, log_id: str | None = None) -> JSONResponse:
    """``{logId, errorCode, errorMsg}`` with errorCode = the HTTP status."""
    body = {"logId": log_id or new_log_id(), "errorCode": status, "errorMsg": message}
    return JSONResponse(body, status_code=status)


def validation_message(errors: list[dict[str, Any]]) -> str:
    """PaddleX's 422 errorMsg: the JSON-dumped pydantic error list (without echoed input)."""
    cleaned = [
        {key: value for key, value in error.items() if key not in _DROPPED_ERROR_KEYS}
        for error in errors
    ]
    # ctx may hold exception objects: jsonable_encoder + default=str keep json.dumps total
    return json.dumps(jsonable_encoder(cleaned), default=str, ensure_ascii=False)


async def _on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return envelope(422, validation_message(list(exc.errors())))


async def _on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    # FastAPI answers 400 to a body it cannot even decode (not UTF-8): invalid input like any
    # other, so PaddleX's 422
    status = 422 if exc.status_code == 400 else exc.status_code
    return envelope(status, str(exc.detail))


async def _on_gateway_error(request: Request, exc: GatewayError) -> JSONResponse:
    return envelope(exc.status, exc.message, exc.log_id)


async def _on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log_id = new_log_id()
    LOG.error("logId %s: unhandled %s", log_id, type(exc).__name__, exc_info=exc)
    return envelope(500, INTERNAL_ERROR, log_id)


def install_error_handlers(app: FastAPI) -> None:
    """Route FastAPI's own errors (422, 404, 405) and ours through PaddleX's envelope."""
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(GatewayError, _on_gateway_error)
    app.add_exception_handler(Exception, _on_unexpected_error)
