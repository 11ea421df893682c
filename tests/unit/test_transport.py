"""seal_client.transport: the gRPC/HTTP switch and the one classification of Triton's statuses,
checked against the statuses tritonclient itself makes from a gRPC error and an HTTP response."""

from __future__ import annotations

import json

import grpc
import pytest
import tritonclient.grpc
import tritonclient.http
from tritonclient.grpc import service_pb2
from tritonclient.grpc._utils import get_error_grpc
from tritonclient.http._utils import _get_error

from seal_client.errors import PageError
from seal_client.inputs import Page
from seal_client.transport import (
    BUSY_STATUSES,
    PROTOCOLS,
    QUEUE_FULL,
    REFUSED_STATUSES,
    TIMEOUT_STATUSES,
    check_protocol,
    infer_kwargs,
    is_busy,
    model_io,
    triton_client,
    triton_module,
)
from seal_gateway.app import page_error
from seal_triton.admission import SERVER_BUSY
from tools.robustness import classify


class _RpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def debug_error_string(self) -> str:
        return ""


class _HttpResponse:
    def __init__(self, status_code: int, message: str) -> None:
        self.status_code, self._body = status_code, json.dumps({"error": message}).encode()

    def read(self) -> bytes:
        return self._body


def grpc_error(code: grpc.StatusCode, message: str = "x"):
    return get_error_grpc(_RpcError(code, message))


def http_error(status: int, message: str = "x"):
    return _get_error(_HttpResponse(status, message))


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (grpc_error(grpc.StatusCode.UNAVAILABLE), "busy"),
        (http_error(503), "busy"),
        (http_error(429), "busy"),
        (grpc_error(grpc.StatusCode.DEADLINE_EXCEEDED), "timeout"),
        (http_error(504), "timeout"),
        (grpc_error(grpc.StatusCode.INVALID_ARGUMENT), "refused"),
        (http_error(400), "refused"),
        (grpc_error(grpc.StatusCode.INTERNAL), None),
        (http_error(500), None),
    ],
)
def test_tritonclients_statuses_are_classified_once(error, kind):
    status = error.status()
    kinds = {
        "busy": status in BUSY_STATUSES,
        "timeout": status in TIMEOUT_STATUSES,
        "refused": status in REFUSED_STATUSES,
    }
    assert [name for name, hit in kinds.items() if hit] == ([kind] if kind else [])
    assert is_busy(status) == (kind == "busy")


@pytest.mark.parametrize(
    ("error", "http_status"),
    [
        (grpc_error(grpc.StatusCode.INVALID_ARGUMENT), 422),
        (http_error(503), 503),
        (grpc_error(grpc.StatusCode.DEADLINE_EXCEEDED), 503),
        (http_error(500), 500),
    ],
)
def test_the_gateway_answers_by_the_same_classification(error, http_status):
    page = Page(input_path=None, page_index=None, data=b"")
    assert page_error(PageError(page, error.message(), error.status())).status == http_status


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (
            grpc_error(grpc.StatusCode.UNAVAILABLE, f"{SERVER_BUSY}: 3 requests"),
            ("rejected", "busy"),
        ),
        (http_error(503, f"{QUEUE_FULL} 8"), ("rejected", "queue_full")),
        (grpc_error(grpc.StatusCode.UNAVAILABLE, "stub gone"), ("rejected", "unavailable")),
        (http_error(504), ("rejected", "client_timeout")),
        (grpc_error(grpc.StatusCode.INVALID_ARGUMENT), ("error", "error")),
    ],
)
def test_the_load_tools_count_by_the_same_classification(error, outcome):
    assert classify(error) == outcome


def test_protocol_switch():
    assert PROTOCOLS == ("grpc", "http")
    assert triton_module("grpc") is tritonclient.grpc
    assert triton_module("http") is tritonclient.http
    assert isinstance(
        triton_client("grpc", "127.0.0.1:1", 5), tritonclient.grpc.InferenceServerClient
    )
    assert isinstance(
        triton_client("http", "127.0.0.1:1", 5), tritonclient.http.InferenceServerClient
    )
    assert infer_kwargs("grpc", 5) == {"client_timeout": 5}
    assert infer_kwargs("http", 5) == {}
    assert check_protocol("http") == "http"
    with pytest.raises(ValueError, match="protocol must be 'grpc' or 'http', got 'https'"):
        triton_module("https")


def test_model_io_reads_both_metadata_forms():
    io = ({"IMAGE": "BYTES"}, {"RESULT_JSON": "BYTES"})
    message = service_pb2.ModelMetadataResponse(
        inputs=[service_pb2.ModelMetadataResponse.TensorMetadata(name="IMAGE", datatype="BYTES")],
        outputs=[
            service_pb2.ModelMetadataResponse.TensorMetadata(name="RESULT_JSON", datatype="BYTES")
        ],
    )
    assert model_io("grpc", message) == io
    as_json = {
        "inputs": [{"name": "IMAGE", "datatype": "BYTES", "shape": [1]}],
        "outputs": [{"name": "RESULT_JSON", "datatype": "BYTES", "shape": [1]}],
    }
    assert model_io("http", as_json) == io
