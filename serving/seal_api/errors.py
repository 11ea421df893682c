"""PaddleX's response envelope: ``{logId, errorCode, errorMsg[, result]}``, never a trace.

errorCode is the HTTP status the gateway answers with (the Triton model ``seal-recognition``
puts the same body in a successful Triton response, as PaddleX's HPS does). 422: the request
(its JSON, options, file or URL) is unusable; 413: the request is above the size cap; 500:
anything unexpected ("Internal server error", the detail goes to the log under the same
logId); 503: Triton is unreachable, overloaded or timed out (not in PaddleX, which has no
separate inference server; retrying later can succeed).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic_core import to_jsonable_python

LOG = logging.getLogger("seal_api")
INTERNAL_ERROR = "Internal server error"
UNAVAILABLE = "Service unavailable: the inference server is unreachable or overloaded; retry later"
# Keys of a pydantic error entry that are dropped from errorMsg: "input" echoes the request
# (the whole base64 file for a wrong type), "url" points at pydantic's docs.
_DROPPED_ERROR_KEYS = ("input", "url")


class ApiError(Exception):
    """A request that ends with ``status`` and ``message`` in PaddleX's error envelope."""

    def __init__(self, status: int, message: str, log_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.log_id = log_id  # the request's, so that the log and the answer agree


def new_log_id() -> str:
    """PaddleX's logId: a random UUID4."""
    return str(uuid.uuid4())


def error_body(status: int, message: str, log_id: str | None = None) -> dict[str, Any]:
    """``{logId, errorCode, errorMsg}`` with errorCode = the HTTP status."""
    return {"logId": log_id or new_log_id(), "errorCode": status, "errorMsg": message}


def success_body(result: dict[str, Any], log_id: str) -> dict[str, Any]:
    """``{logId, errorCode: 0, errorMsg: "Success", result}``."""
    return {"logId": log_id, "errorCode": 0, "errorMsg": "Success", "result": result}


def validation_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """PaddleX's 422 errorMsg: the JSON-dumped pydantic error list (without echoed input)."""
    cleaned = [
        {key: value for key, value in error.items() if key not in _DROPPED_ERROR_KEYS}
        for error in errors
    ]
    # ctx may hold exception objects: fallback=str keeps the dump total
    return json.dumps(to_jsonable_python(cleaned, fallback=str), ensure_ascii=False)
