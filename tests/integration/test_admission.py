"""Admission control on the shipped config: past ``max_in_flight`` requests in the pipeline the
next one is refused at once with UNAVAILABLE "server busy" (never queued without limit, never
an error), and every request - served, refused or failed - gives its lease back."""

from __future__ import annotations

import json
import re
import threading

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from seal_ocr import tensor_names as names
from seal_ocr.admission import AdmissionGate, default_state_path
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.triton
MODULES = {"grpc": grpcclient, "http": httpclient}


def shipped_cap() -> int:
    text = (REPO_ROOT / "model_repository" / "decode_page" / "config.pbtxt").read_text()
    match = re.search(r'key: "max_in_flight" value: \{ string_value: "(\d+)" \}', text)
    assert match, "decode_page has no max_in_flight parameter"
    return int(match.group(1))


def leases_held(triton_server) -> int:
    return AdmissionGate(default_state_path(triton_server.process.pid)).in_flight()


def send(protocol: str, url: str, data: bytes, options: dict | None = None):
    """One request on its own connection: ("ok", result) or (status, message)."""
    module = MODULES[protocol]
    client = module.InferenceServerClient(url)
    inputs = [module.InferInput(names.IMAGE, [1], "BYTES")]
    inputs[0].set_data_from_numpy(np.array([data], dtype=object))
    if options is not None:
        inputs.append(module.InferInput(names.OPTIONS, [1], "BYTES"))
        inputs[1].set_data_from_numpy(np.array([json.dumps(options).encode()], dtype=object))
    try:
        response = client.infer(names.ENSEMBLE, inputs)
    except InferenceServerException as exc:
        return str(exc.status()), exc.message()
    return "ok", json.loads(response.as_numpy(names.RESULT_JSON)[0])


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_requests_past_the_cap_are_refused_busy_at_once(triton_server, eval_dir, protocol):
    cap = shipped_cap()
    assert cap >= 1
    url = triton_server.grpc_url if protocol == "grpc" else triton_server.http_url
    # a full page (seconds of work) so that the first `cap` are still in flight
    data = (eval_dir / "vignette_2_contract_two_seals.jpg").read_bytes()
    clients = cap + 5
    start = threading.Barrier(clients)
    outcomes: list[tuple[str, object]] = []

    def one():
        start.wait()
        outcomes.append(send(protocol, url, data))

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    served = [result for status, result in outcomes if status == "ok"]
    refused = [message for status, message in outcomes if status != "ok"]
    statuses = {status for status, _ in outcomes if status != "ok"}
    assert len(outcomes) == clients
    assert cap <= len(served) < clients, statuses
    assert statuses <= {"StatusCode.UNAVAILABLE", "503"}, statuses
    assert all("server busy" in m and f"max_in_flight {cap}" in m for m in refused)
    texts = {json.dumps([s["rec_texts"] for s in r["seal_res_list"]]) for r in served}
    assert len(texts) == 1  # all served requests got the same, complete answer
    assert leases_held(triton_server) == 0


def test_failed_requests_give_their_lease_back(triton_server, eval_dir):
    url = triton_server.grpc_url
    for _ in range(shipped_cap() * 3):
        status, message = send("grpc", url, b"\x00 not an image")
        assert status == "StatusCode.INVALID_ARGUMENT", message
        status, message = send(
            "grpc", url, (eval_dir / "nephren_2_round_digital.jpeg").read_bytes(), {"x": 1}
        )
        assert status == "StatusCode.INVALID_ARGUMENT", message
    assert leases_held(triton_server) == 0
    status, result = send("grpc", url, (eval_dir / "paddlex_seal_text_det.png").read_bytes())
    assert status == "ok" and result["seal_res_list"]
