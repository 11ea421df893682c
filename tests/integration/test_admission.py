"""Admission control: past ``max_in_flight`` requests in the pipeline the next ones wait in a
bounded queue (ordinary load is never refused); only past the backlog (decode_page's
``max_queue_size``) or a wait timeout is a request refused, with UNAVAILABLE; every request -
served, refused or failed - gives its lease back."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from seal_ocr import tensor_names as names
from seal_triton.admission import AdmissionGate, default_state_path
from seal_triton.launcher import ServerConfig, TritonServer
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


def send_all(protocol: str, url: str, data: list[bytes], clients: int, watch=None):
    """``clients`` threads send the items of ``data`` (each once, from a shared list) as fast as
    they are answered; returns the outcomes, and ``watch()`` sampled every 50 ms meanwhile."""
    todo = list(enumerate(data))
    lock = threading.Lock()
    outcomes: list[tuple[int, str, object]] = []
    samples: list[int] = []
    start = threading.Barrier(clients)

    def worker():
        start.wait()
        while True:
            with lock:
                if not todo:
                    return
                index, item = todo.pop(0)
            outcomes.append((index, *send(protocol, url, item)))

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        if watch is not None:
            samples.append(watch())
        time.sleep(0.05)
    for thread in threads:
        thread.join(300)
    return outcomes, samples


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_requests_past_the_cap_wait_and_are_all_served(triton_server, eval_dir, protocol):
    cap = shipped_cap()
    assert cap >= 1
    url = triton_server.grpc_url if protocol == "grpc" else triton_server.http_url
    # a full page (seconds of work), so that requests past the cap really have to wait
    data = (eval_dir / "vignette_2_contract_two_seals.jpg").read_bytes()
    clients = cap + 5
    outcomes, held = send_all(
        protocol, url, [data] * clients, clients, lambda: leases_held(triton_server)
    )
    assert [status for _, status, _ in outcomes] == ["ok"] * clients, outcomes
    assert max(held) == cap  # the cap was reached, and never passed: the rest waited
    texts = {json.dumps([s["rec_texts"] for s in r["seal_res_list"]]) for _, _, r in outcomes}
    assert len(texts) == 1  # all got the same, complete answer
    assert leases_held(triton_server) == 0


def test_eight_plain_clients_thirty_pages_none_refused(triton_server, eval_dir):
    # what a new user does against `make serve`: 8 plain tritonclient.grpc clients at once
    names_ = ["nephren_2_round_digital.jpeg", "paddlex_seal_text_det.png", "nephren_10_oval.jpg"]
    pages = [(eval_dir / name).read_bytes() for name in names_]
    outcomes, _ = send_all("grpc", triton_server.grpc_url, [pages[i % 3] for i in range(30)], 8)
    refused = [(status, message) for _, status, message in outcomes if status != "ok"]
    assert len(outcomes) == 30 and not refused, refused
    assert leases_held(triton_server) == 0


@pytest.fixture(scope="module")
def small_backlog_server(model_repository, tmp_path_factory):
    """Its own server on a copy of the repository whose decode_page holds 1 request waiting
    for a slot per instance and 2 in its queue, waiting at most 5 s for a slot."""
    copy = tmp_path_factory.mktemp("backlog") / "model_repository"
    shutil.copytree(model_repository, copy, ignore=shutil.ignore_patterns("__pycache__"))
    config = copy / "decode_page" / "config.pbtxt"
    text = re.sub(r"max_queue_size: \d+", "max_queue_size: 2", config.read_text())
    text = re.sub(r'(key: "admission_wait_s" value: \{ string_value: )"\d+"', r'\1"5"', text)
    config.write_text(text)
    server = TritonServer(
        ServerConfig(model_repository=copy, http_port=0, grpc_port=0, metrics_port=0),
        log_path=REPO_ROOT / ".build" / "test-logs" / "backlog-tritonserver.log",
    )
    server.start(timeout_s=180)
    yield server
    server.stop()


def test_past_the_backlog_requests_are_refused_unavailable(small_backlog_server, eval_dir):
    cap = shipped_cap()
    url = small_backlog_server.grpc_url
    data = (eval_dir / "vignette_2_contract_two_seals.jpg").read_bytes()
    # cap in flight + 2 waiting at the decode_page instances + 2 queued: the rest are too many
    clients = cap + 2 + 2 + 4
    outcomes, _ = send_all("grpc", url, [data] * clients, clients)
    served = [r for _, status, r in outcomes if status == "ok"]
    refused = [(status, message) for _, status, message in outcomes if status != "ok"]
    assert len(outcomes) == clients
    assert refused and len(served) >= cap, (len(served), refused)
    assert {status for status, _ in refused} == {"StatusCode.UNAVAILABLE"}, refused
    reasons = ("Exceeds maximum queue size", "server busy", "Request timeout expired")
    assert all(any(r in message for r in reasons) for _, message in refused), refused
    texts = {json.dumps([s["rec_texts"] for s in r["seal_res_list"]]) for r in served}
    assert len(texts) == 1
    assert AdmissionGate(default_state_path(small_backlog_server.process.pid)).in_flight() == 0


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
