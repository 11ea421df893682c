"""One request over gRPC or HTTP, and the classification of its failure.

``rejected`` = the server refused or timed out the work (retry later), ``error`` = anything else.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from seal_client.transport import (
    BUSY_STATUSES,
    QUEUE_FULL,
    QUEUE_TIMEOUT,
    TIMEOUT_STATUSES,
    infer_kwargs,
    triton_client,
)
from seal_client.transport import triton_module as client_module
from seal_ocr import tensor_names as names
from seal_triton.admission import SERVER_BUSY
from tools.robustness.targets import MODEL, local_url


def make_client(protocol: str, url: str, timeout_s: float):
    """A tritonclient for 127.0.0.1 only; HTTP gets its network timeout here."""
    return triton_client(protocol, local_url(url, protocol), timeout_s)


def infer(
    client,
    protocol: str,
    data: bytes,
    options: dict[str, Any] | None,
    timeout_s: float,
    model: str = MODEL,
) -> tuple[dict[str, Any], int]:
    """Send one image; returns (parsed result JSON, response bytes). Raises on any failure."""
    module = client_module(protocol)
    inputs = [module.InferInput(names.IMAGE, [1], "BYTES")]
    inputs[0].set_data_from_numpy(np.array([data], dtype=object))
    if options:
        inputs.append(module.InferInput(names.OPTIONS, [1], "BYTES"))
        inputs[1].set_data_from_numpy(np.array([json.dumps(options).encode()], dtype=object))
    if protocol == "grpc":
        response = client.infer(model, inputs, **infer_kwargs(protocol, timeout_s))
    else:
        outputs = [module.InferRequestedOutput(names.RESULT_JSON, binary_data=True)]
        response = client.infer(model, inputs, outputs=outputs)
    raw = response.as_numpy(names.RESULT_JSON)
    if raw is None or len(raw) != 1:
        raise RuntimeError("response without RESULT_JSON")
    body = raw[0]
    return json.loads(body), len(body)


def is_complete_result(result: Any) -> bool:
    """The fields every result has (a cheap check; tests validate the full JSON Schema)."""
    return (
        isinstance(result, dict)
        and isinstance(result.get("seal_res_list"), list)
        and isinstance(result.get("texts"), list)
        and isinstance(result.get("seal_boxes"), list)
        and "model_settings" in result
    )


def classify(exc: BaseException) -> tuple[str, str]:
    """(outcome, reason): outcome ``rejected`` for refused or timed-out work, else ``error``.

    reason: ``busy`` (admission control), ``queue_full`` / ``queue_timeout`` (Triton's queue
    policy), ``client_timeout``,
    ``unavailable`` (other busy statuses: UNAVAILABLE, HTTP 503 / 429) or ``error``.
    """
    text = str(exc)
    status = ""
    status_fn = getattr(exc, "status", None)
    if callable(status_fn):
        try:
            status = str(status_fn() or "")
        except Exception:  # pragma: no cover - defensive
            status = ""
    if SERVER_BUSY in text:
        return "rejected", "busy"
    if QUEUE_FULL in text:
        return "rejected", "queue_full"
    if QUEUE_TIMEOUT in text:
        return "rejected", "queue_timeout"
    lowered = text.lower()
    if (
        isinstance(exc, TimeoutError)
        or status in TIMEOUT_STATUSES
        or "deadline exceeded" in lowered
        or "timed out" in lowered
        or type(exc).__name__ in ("Timeout", "timeout", "ConnectionTimeout")
    ):
        return "rejected", "client_timeout"
    if status in BUSY_STATUSES:
        return "rejected", "unavailable"
    return "error", "error"
