"""How a client reaches Triton, and what Triton's refusals mean: the one home of both.

The protocol switch (gRPC or HTTP/KServe v2, ``tritonclient.grpc`` or ``tritonclient.http``,
imported only when asked for) serves :class:`seal_client.SealClient`, the gateway and the load
tools alike. A failed request's status, as tritonclient reports it (the gRPC status code's name,
``"StatusCode.UNAVAILABLE"``, or the HTTP status, ``"503"``), is classified here too, so the
client's retries, the gateway's HTTP answer and the load tools' counts agree on what is "busy,
retry later" and what is "a bad request".
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

PROTOCOLS = ("grpc", "http")
DEFAULT_PORTS = {"grpc": 8001, "http": 8000}  # tritonserver's defaults

# Triton refused the work for load (a full queue, a queue timeout, the admission cap): retry
# later. HTTP 429 (too many requests) means the same where a proxy sits in front.
BUSY_STATUSES = frozenset({"StatusCode.UNAVAILABLE", "503", "429"})
# the request ran out of time (the client's deadline, or a gateway's)
TIMEOUT_STATUSES = frozenset({"StatusCode.DEADLINE_EXCEEDED", "504"})
# Triton refused the request itself (bad image bytes, bad options): retrying cannot help
REFUSED_STATUSES = frozenset({"StatusCode.INVALID_ARGUMENT", "400"})
# Triton's own words when its queue policy refuses work (status UNAVAILABLE)
QUEUE_FULL = "Exceeds maximum queue size"
QUEUE_TIMEOUT = "Request timeout expired"


def check_protocol(protocol: str) -> str:
    """``protocol`` when it is one of :data:`PROTOCOLS`, else ``ValueError``."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be 'grpc' or 'http', got {protocol!r}")
    return protocol


def triton_module(protocol: str) -> ModuleType:
    """``tritonclient.grpc`` or ``tritonclient.http`` (imported on first use)."""
    if check_protocol(protocol) == "grpc":
        import tritonclient.grpc as module
    else:
        import tritonclient.http as module
    return module


def triton_client(protocol: str, url: str, timeout_s: float) -> Any:
    """An ``InferenceServerClient`` for ``url`` (``host:port``). Over HTTP ``timeout_s`` is the
    connection and network timeout; over gRPC it is given per call (:func:`infer_kwargs`)."""
    module = triton_module(protocol)
    if protocol == "http":
        return module.InferenceServerClient(
            url, connection_timeout=timeout_s, network_timeout=timeout_s
        )
    return module.InferenceServerClient(url)


def infer_kwargs(protocol: str, timeout_s: float) -> dict[str, Any]:
    """Keyword arguments of ``client.infer`` that bound one call to ``timeout_s``."""
    return {"client_timeout": timeout_s} if check_protocol(protocol) == "grpc" else {}


def model_io(protocol: str, metadata: Any) -> tuple[dict[str, str], dict[str, str]]:
    """``{name: datatype}`` of a model's inputs and outputs, from ``get_model_metadata`` (a
    protobuf message over gRPC, a dict over HTTP)."""
    if check_protocol(protocol) == "grpc":
        return (
            {t.name: t.datatype for t in metadata.inputs},
            {t.name: t.datatype for t in metadata.outputs},
        )
    return (
        {t["name"]: t["datatype"] for t in metadata["inputs"]},
        {t["name"]: t["datatype"] for t in metadata["outputs"]},
    )


def is_busy(status: str | None) -> bool:
    """True when a request failed for load (retry later), not for its content."""
    return status in BUSY_STATUSES
