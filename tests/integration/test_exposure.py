"""What the embedded server exposes: loopback only, no remote model control, capped request
sizes on both protocols, and no URL fetching by the server."""

from __future__ import annotations

import http.server
import ipaddress
import json
import urllib.error
import urllib.request

import numpy as np
import psutil
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from seal_ocr import tensor_names as names
from seal_ocr.image_io import DEFAULT_MAX_BYTES
from tests.local_http import serve

pytestmark = pytest.mark.triton
MODULES = {"grpc": grpcclient, "http": httpclient}


def infer_error(client, image: bytes) -> str:
    protocol, triton = client
    module = MODULES[protocol]
    inputs = [module.InferInput(names.IMAGE, [1], "BYTES")]
    inputs[0].set_data_from_numpy(np.array([image], dtype=object))
    with pytest.raises(InferenceServerException) as caught:
        triton.infer(names.ENSEMBLE, inputs)
    assert str(caught.value.status()) in ("StatusCode.INVALID_ARGUMENT", "400")
    return caught.value.message()


def http_call(url: str, method: str = "POST", body: bytes = b"{}", headers=None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_server_listens_on_loopback_only(triton_server):
    listening = [
        c.laddr
        for c in psutil.Process(triton_server.process.pid).net_connections("inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert len(listening) >= 3  # HTTP, gRPC, metrics
    # gRPC binds an IPv6 socket for 127.0.0.1: it reports the IPv4-mapped ::ffff:127.0.0.1
    addresses = {ipaddress.ip_address(address.ip) for address in listening}
    addresses = {getattr(a, "ipv4_mapped", None) or a for a in addresses}
    assert addresses == {ipaddress.ip_address("127.0.0.1")}


@pytest.mark.parametrize("action", ["load", "unload"])
def test_models_cannot_be_loaded_or_unloaded_remotely(triton_server, grpc_client, action):
    base = f"http://{triton_server.http_url}/v2/repository/models/{names.TEXT_REC_MODEL}"
    status, text = http_call(f"{base}/{action}")
    assert status == 403 or "restricted" in text, (status, text)
    # even with the launcher's key, model control mode NONE refuses
    key = {triton_server.config.admin_header: triton_server.config.admin_key}
    status, text = http_call(f"{base}/{action}", headers=key)
    assert status >= 400 and "not allowed" in text.lower(), (status, text)
    with pytest.raises(InferenceServerException, match="restricted"):
        getattr(grpc_client, f"{action}_model")(names.TEXT_REC_MODEL)
    assert grpc_client.is_model_ready(names.TEXT_REC_MODEL)


def test_log_settings_cannot_be_changed_remotely(triton_server):
    body = json.dumps({"log_verbose_level": 3}).encode()
    status, text = http_call(f"http://{triton_server.http_url}/v2/logging", body=body)
    assert status == 403 or "restricted" in text, (status, text)


def test_oversized_image_is_refused_naming_the_cap(client):
    message = infer_error(client, b"\x89PNG\r\n\x1a\n" + b"\0" * DEFAULT_MAX_BYTES)
    assert "64 MiB" in message or str(DEFAULT_MAX_BYTES) in message, message


def test_the_server_never_fetches_a_url_given_as_the_image(client):
    hits: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_error(404)

        def log_message(self, *args):
            pass

    with serve(Recorder) as base:
        message = infer_error(client, f"{base}/seal.png".encode())
    assert "not a decodable image" in message
    assert hits == []
