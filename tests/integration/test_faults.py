"""Faults under light load, each on its OWN tritonserver (these tests kill processes).

1. SIGKILL of one ``read_text_lines`` stub (3 instances) under load. Triton 2.51 never restarts
   a dead stub by itself - the instance keeps failing the requests it is given with INTERNAL
   "Stub process 'read_text_lines_0_0' is not healthy." while ``/v2/health/ready`` still
   answers 200 (docs/robustness.md) - so ``make serve`` runs it under
   :class:`seal_triton.supervisor.Supervisor`. Asserted: the watchdog restarts the server on
   the same ports with every stub back; the failures in between are clean and quick (the dead
   instance's error, "server busy" while its requests' admission leases are lost, the old
   server stopping, or no server to connect to; never a partial result); requests succeed again
   afterwards.
2. Stop (the ``make stop`` path: SIGTERM to the process group, SIGKILL after Triton's exit
   timeout + 10 s) and restart on the same ports under load (gRPC and HTTP clients). While a
   client holds an HTTP keep-alive connection, Triton 2.51 keeps serving - new requests
   included - for its exit timeout, then exits with requests in flight (these fail; the process
   sometimes aborts on the way out and is SIGKILLed). Asserted: every request the client saw
   succeed, before or after the restart, carries a complete, schema-valid result equal to every
   other result for the same input; failures start only at the stop and are connection errors
   or the stopping server's errors, never a partial result; after the restart the same inputs
   give the same results.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from seal_ocr.result import result_schema
from seal_triton import procs
from seal_triton.launcher import ServerConfig, TritonServer
from seal_triton.supervisor import Supervisor
from tests.conftest import REPO_ROOT
from tools.robustness import LoadDriver, Mix, Record, load_samples

pytestmark = pytest.mark.triton

LOG_DIR = REPO_ROOT / ".build" / "test-logs"
# small pictures: ~1-2 s each on 2 cores, so a short run has many requests
FAST_IMAGES = (
    "nephren_2_round_digital.jpeg,nephren_8_notext_negative.jpg,"
    "nephren_3_square_artistic.jpeg,paddlex_seal_text_det.png"
)
CLIENT_TIMEOUT_S = 60.0
# the request did not reach a (live) server
CONNECTION_FAILURES = ("connect", "Connection", "Socket closed", "Broken pipe", "EOF")
KILLED_MODEL = "read_text_lines"
KILLED_INSTANCE = "read_text_lines_0_0"


def start_server(model_repository: Path, name: str) -> TritonServer:
    config = ServerConfig(
        model_repository=model_repository, http_port=0, grpc_port=0, metrics_port=0
    )
    return TritonServer(config, log_path=LOG_DIR / f"{name}-tritonserver.log").start(timeout_s=180)


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_for(predicate, timeout_s: float, step_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return predicate()


def configured_instances(repository: Path) -> int:
    """Stub processes the CPU configs ask for: one per instance of every non-ensemble model."""
    total = 0
    for model in sorted(p for p in repository.iterdir() if (p / "config.pbtxt").exists()):
        config = model / "configs" / "cpu.pbtxt"
        text = (config if config.exists() else model / "config.pbtxt").read_text()
        if 'platform: "ensemble"' in text:
            continue
        counts = re.findall(r"count:\s*(\d+)", text.split("instance_group", 1)[-1].split("]")[0])
        total += sum(map(int, counts)) or 1
    return total


def ok_count(driver: LoadDriver, after: float = 0.0) -> int:
    return sum(r.outcome == "ok" and r.start >= after for r in list(driver.records))


def end(record: Record) -> float:
    return record.start + record.latency_s


def same_result(a, b, tol: float = 1e-4) -> bool:
    """Equal JSON, floats within ``tol`` (the ONNX entries batch concurrent requests, which may
    move scores in the last digits; texts, polygons and counts must be identical)."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and abs(a - b) <= tol
    if isinstance(a, dict):
        return (
            isinstance(b, dict) and a.keys() == b.keys() and all(same_result(a[k], b[k]) for k in a)
        )
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(same_result, a, b))
    return a == b


@pytest.fixture(scope="module")
def fast_samples(eval_dir):
    return load_samples(eval_dir, FAST_IMAGES)


def test_killed_stub_fails_cleanly_and_the_supervisor_restores_service(
    model_repository, fast_samples
):
    server = TritonServer(
        ServerConfig(model_repository=model_repository, http_port=0, grpc_port=0, metrics_port=0),
        log_path=LOG_DIR / "faults-kill-tritonserver.log",
    )
    supervisor = Supervisor(server, gateway=None, interval_s=1.0)
    stop = threading.Event()
    supervisor.start()
    watchdog = threading.Thread(target=supervisor.run, args=(stop.is_set,), daemon=True)
    watchdog.start()
    driver = None
    try:
        first_pid = server.process.pid
        expected = {p.instance for p in procs.stubs(first_pid)}
        assert len(expected) == configured_instances(model_repository)
        victim = procs.find_stub(first_pid, KILLED_MODEL, KILLED_INSTANCE)
        urls = {"grpc": server.grpc_url, "http": server.http_url}
        driver = LoadDriver(
            urls,
            Mix(fast_samples, layout="mixed", seed=1),
            concurrency=3,
            duration_s=120,
            max_requests=300,
            timeout_s=CLIENT_TIMEOUT_S,
            protocols=("grpc", "http", "grpc"),
            failure_pause_s=0.2,
        ).start()
        assert wait_for(lambda: ok_count(driver) >= 3, 60), "no successful request before the kill"
        killed_at = time.time()
        os.kill(victim.pid, signal.SIGKILL)
        # the watchdog notices the missing stub and restarts the server on the same ports
        assert wait_for(lambda: supervisor.generation == 2, 90), "no restart after the kill"
        assert supervisor.restarts == 1 and server.process.pid != first_pid
        restarted_at = time.time()
        assert {p.instance for p in procs.stubs(server.process.pid)} == expected
        assert wait_for(lambda: ok_count(driver, after=restarted_at + 5) >= 3, 90), (
            "requests do not succeed after the supervisor's restart"
        )
        driver.stop()
        assert driver.join(CLIENT_TIMEOUT_S + 10), "load threads did not finish"
        records = sorted(driver.records, key=lambda r: r.start)
        before = [r for r in records if end(r) < killed_at]
        failed = [r for r in records if r.outcome != "ok"]
        assert before and all(r.outcome == "ok" for r in before)
        # clean failures, quickly (no hang, no client timeout), never a partial result: the
        # dead instance's "not healthy", the old server stopping, or no server to connect to
        for r in failed:
            assert end(r) > killed_at, r
            assert r.reason != "incomplete" and "JSON" not in r.message, r
            assert r.latency_s < CLIENT_TIMEOUT_S / 2, r
            assert any(
                word in r.message
                for word in (
                    f"Stub process '{KILLED_INSTANCE}' is not healthy",
                    # a request failed by the dead stub cannot give its admission lease back
                    # (Triton answers for the stub), so until the restart the cap is tighter
                    "server busy",
                    "stopping",
                    *CONNECTION_FAILURES,
                )
            ), r.message
        assert all(r.outcome == "ok" for r in records if r.start > restarted_at + 10)
        assert http_status(f"http://{server.http_url}/v2/health/ready") == 200
        print(
            f"\nstub kill: {len(records)} requests, {len(failed)} failed; restart "
            f"{restarted_at - killed_at:.1f} s after the kill; failures: "
            f"{dict(Counter(' '.join(r.message.split())[:90] for r in failed))}"
        )
    finally:
        if driver is not None:
            driver.stop()
        stop.set()
        watchdog.join(10)
        supervisor.stop()


def test_restart_loses_nothing_confirmed(model_repository, fast_samples):
    server = start_server(model_repository, "faults-restart")
    urls = {"grpc": server.grpc_url, "http": server.http_url}
    sequence = [(s, {"use_layout_detection": True}) for s in fast_samples]
    driver = LoadDriver(
        urls,
        Mix(fast_samples),
        concurrency=3,
        duration_s=300,
        max_requests=400,
        timeout_s=CLIENT_TIMEOUT_S,
        protocols=("grpc", "http", "grpc"),
        keep_results=True,
        sequence=sequence,
        failure_pause_s=0.5,
    )
    try:
        driver.start()
        assert wait_for(lambda: ok_count(driver) >= 2 * len(sequence), 90), "too slow before stop"
        stop_at = time.time()
        server.stop()  # SIGTERM to the process group, later SIGKILL: what `make stop` does
        stopped_at = time.time()
        server.log_path = LOG_DIR / "faults-restart-2-tritonserver.log"
        server.start(timeout_s=180)  # same ports
        ready_at = time.time()
        assert wait_for(lambda: ok_count(driver, after=ready_at) >= 2 * len(sequence), 90), (
            "requests do not succeed after the restart"
        )
    finally:
        driver.stop()
        driver.join(CLIENT_TIMEOUT_S + 10)
        server.stop()

    records = sorted(driver.records, key=lambda r: r.start)
    schema = result_schema()
    reference: dict[str, dict] = {}
    for r in records:
        if r.outcome != "ok":
            continue
        jsonschema.validate(r.result, schema)
        first = reference.setdefault(r.sample, r.result)
        assert same_result(r.result, first), f"{r.sample}: result differs from the first one"
    confirmed_before = [r for r in records if r.outcome == "ok" and end(r) < stop_at]
    after_restart = [r for r in records if r.outcome == "ok" and r.start >= ready_at]
    assert {r.sample for r in confirmed_before} == {s.name for s, _ in sequence}
    assert {r.sample for r in after_restart} == {s.name for s, _ in sequence}
    # failures only from the stop on, and none is a bad/partial result: either the request
    # never reached a server (refused connection; gRPC channels keep failing fast for a few
    # seconds after the restart while they back off), or the stopping server failed it
    for r in records:
        if r.outcome != "ok":
            assert r.reason != "incomplete" and "JSON" not in r.message, r
            assert end(r) >= stop_at, r
            if not any(word in r.message for word in CONNECTION_FAILURES):
                assert r.start <= stopped_at + 1, r
    in_flight = [r for r in records if r.start < stop_at < end(r)]
    assert in_flight, "no request was in flight at the stop"
    served_while_stopping = [
        r for r in records if r.outcome == "ok" and stop_at < r.start and end(r) < stopped_at
    ]
    failures = Counter(" ".join(r.message.split())[:110] for r in records if r.outcome != "ok")
    print(
        f"\nrestart: stop took {stopped_at - stop_at:.1f} s, start {ready_at - stopped_at:.1f} s; "
        f"in flight at SIGTERM: {[(r.outcome, r.message[:80]) for r in in_flight]}; "
        f"{len(served_while_stopping)} requests sent after SIGTERM were served in full; "
        f"{len(records)} requests, failures: {dict(failures)}"
    )
    (LOG_DIR / "faults-restart-requests.jsonl").write_text(
        "".join(json.dumps(r.row()) + "\n" for r in records)
    )
