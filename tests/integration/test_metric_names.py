"""deploy/kubernetes against a real tritonserver: the metric names and the liveness probe.

Every Triton metric the Kubernetes deployment reads - the HPA's (through the prometheus-adapter
rules that serve it), the adapter rules' and the Grafana dashboard's - must be in the
``/metrics`` text of the embedded server after it served a page; a name Triton does not export
fails. So must every ``model`` label value they select on. The page is sent by the liveness
probe script itself (deploy/kubernetes/probe/seal_liveness.py), which therefore runs here
against the real server too; a second, own server with a killed stub shows that the probe
notices what ``/v2/health/ready`` does not.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import psutil
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

from seal_triton import procs
from seal_triton.launcher import ServerConfig, TritonServer, free_port
from tests.integration.conftest import LOG_PATH
from tests.unit.test_kubernetes_manifests import (
    KUBERNETES,
    OVERLAYS,
    PROBE_SCRIPT,
    adapter_metric_name,
    adapter_rules,
    one,
    render,
    triton,
)
from tests.unit.test_liveness_probe import probe_module

pytestmark = pytest.mark.triton

METRIC = re.compile(r"\bnv_[a-z_]+\b")
MODEL_MATCHER = re.compile(r'\bmodel="([^"$]+)"')
# flags that change what the metrics endpoint exports (the ports and address do not)
METRICS_FLAG = re.compile(r"^--(allow-metrics|allow-cpu-metrics|allow-gpu-metrics|metrics-config)")
KILLED_MODEL = "build_result"  # the last step: every request reaches it
LOG_DIR = LOG_PATH.parent


def run_probe(url: str, state_dir: Path, timeout_s: float = 120.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PROBE_SCRIPT), "--url", url, "--timeout", str(timeout_s),
         "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
        timeout=timeout_s + 60,
    )  # fmt: skip


def metrics_text(server: TritonServer) -> str:
    url = f"http://{server.config.address}:{server.config.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def exported(text: str) -> dict[str, list[dict[str, str]]]:
    """Prometheus text -> {metric name: [label set of each series]}."""
    series: dict[str, list[dict[str, str]]] = defaultdict(list)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition("{")
        if not rest:
            name = line.split()[0]
        labels = dict(re.findall(r'(\w+)="([^"]*)"', rest.partition("}")[0]))
        series[name].append(labels)
    return series


@pytest.fixture(scope="module")
def served_metrics(triton_server, tmp_path_factory) -> dict[str, list[dict[str, str]]]:
    """The session server's metrics after the liveness probe sent it a real page."""
    result = run_probe(triton_server.http_url, tmp_path_factory.mktemp("probe"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("alive: served"), result.stdout
    return exported(metrics_text(triton_server))


@pytest.fixture(scope="module")
def monitoring() -> list[dict]:
    return render(KUBERNETES / "monitoring")


def dashboard_queries() -> list[str]:
    dashboard = json.loads(
        (KUBERNETES / "monitoring" / "grafana" / "seal-recognition.json").read_text()
    )
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    queries += [
        v["query"]["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"
    ]
    return queries


def check_names(text: str, metrics: dict[str, list[dict[str, str]]], where: str) -> set[str]:
    """The nv_* names in ``text``, each asserted exported; model="x" matchers asserted to match
    a series of the server. Returns the names."""
    names = set(METRIC.findall(text))
    assert names, f"{where}: no Triton metric found in {text!r}"
    missing = names - metrics.keys()
    assert not missing, f"{where}: Triton does not export {sorted(missing)}"
    served_models = {s.get("model") for series in metrics.values() for s in series}
    for model in MODEL_MATCHER.findall(text):
        assert model in served_models, f"{where}: no series has model={model!r}"
    return names


def test_the_probe_page_went_through_the_whole_pipeline(served_metrics):
    """The probe's page (a seal picture) reached the steps and the ONNX entries it needs."""
    success = {s["model"]: s for s in served_metrics["nv_inference_request_success"]}
    for model in ("seal_recognition", "decode_page", "find_seals", "build_result", "text_rec"):
        assert model in success, f"{model} has no series"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_hpa_metric_is_served_by_a_rule_over_exported_series(
    overlay, served_metrics, monitoring
):
    objects = render(KUBERNETES / "overlays" / overlay)
    scaler = one(objects, "HorizontalPodAutoscaler", "seal-triton")
    rules = {adapter_metric_name(rule): rule for rule in adapter_rules(monitoring)}
    for metric in scaler["spec"]["metrics"]:
        name = metric["pods"]["metric"]["name"]
        rule = rules[name]
        used = check_names(rule["seriesQuery"] + rule["metricsQuery"], served_metrics, name)
        # the HPA's selector is passed on as label matchers: each pair must select series
        selector = metric["pods"]["metric"].get("selector", {}).get("matchLabels", {})
        for series_name in used:
            for label, value in selector.items():
                values = {s.get(label) for s in served_metrics[series_name]}
                assert value in values, f"{name}: no {series_name} series with {label}={value!r}"


def test_every_adapter_rule_reads_exported_series(served_metrics, monitoring):
    for rule in adapter_rules(monitoring):
        check_names(rule["seriesQuery"], served_metrics, adapter_metric_name(rule))
        # <<.Series>> is the series the seriesQuery found
        series = METRIC.search(rule["seriesQuery"]).group(0)
        query = rule["metricsQuery"].replace("<<.Series>>", series)
        check_names(query, served_metrics, adapter_metric_name(rule))


def test_every_dashboard_query_reads_exported_series(served_metrics):
    used: set[str] = set()
    for query in dashboard_queries():
        used |= check_names(query, served_metrics, query[:60])
    # requests, queue and compute time, batch sizes
    assert {
        "nv_inference_request_success",
        "nv_inference_queue_duration_us",
        "nv_inference_compute_infer_duration_us",
        "nv_inference_count",
        "nv_inference_exec_count",
    } <= used


def test_a_name_triton_does_not_export_fails(served_metrics):
    with pytest.raises(AssertionError, match="does not export"):
        check_names("sum(rate(nv_inference_queue_time_us[1m]))", served_metrics, "typo")
    with pytest.raises(AssertionError, match="no series has model"):
        check_names('nv_inference_count{model="seal_detector"}', served_metrics, "typo")


def test_the_deployment_sets_the_metric_flags_the_test_server_ran_with(triton_server):
    """Nothing here needs a flag (nv_inference_pending_request_count is on by default in
    2.51); if the test server ever needs one, the GPU command must carry it too."""
    tested = {arg for arg in triton_server.config.command() if METRICS_FLAG.match(arg)}
    gpu = triton(render(KUBERNETES / "overlays" / "gpu"))["command"]
    deployed = {arg for arg in gpu if METRICS_FLAG.match(arg)}
    assert deployed == tested


# --- the liveness probe against real servers -----------------------------------------------
def test_probe_fails_without_a_server(tmp_path):
    result = run_probe(f"127.0.0.1:{free_port()}", tmp_path, timeout_s=5)
    assert result.returncode == 1
    assert result.stdout.startswith("DEAD: no connection"), result.stdout


def test_probe_notices_a_dead_stub_that_readiness_does_not(model_repository, tmp_path):
    """Own server (this test kills processes): kill the build_result stubs; /v2/health/ready
    still answers 200, the probe fails, and keeps failing (marker) until the container goes."""
    config = ServerConfig(
        model_repository=model_repository, http_port=0, grpc_port=0, metrics_port=0
    )
    with TritonServer(config, log_path=LOG_DIR / "tritonserver-liveness.log") as server:
        assert run_probe(server.http_url, tmp_path).returncode == 0
        victims = {p.pid for p in procs.stubs(server.process.pid) if p.model == KILLED_MODEL}
        assert victims, f"no {KILLED_MODEL} stub"
        for pid in victims:  # every instance: each later request meets a dead stub
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while victims & {p.pid for p in procs.stubs(server.process.pid)}:
            assert time.monotonic() < deadline, "a killed stub is still listed"
            time.sleep(0.2)
        ready = f"http://{server.http_url}/v2/health/ready"
        with urllib.request.urlopen(ready, timeout=10) as response:
            assert response.status == 200  # why the probe sends a real page

        result = run_probe(server.http_url, tmp_path)
        assert result.returncode == 1, result.stdout
        assert result.stdout.startswith("DEAD: dead backend stub"), result.stdout
        assert "is not healthy" in result.stdout
        assert (tmp_path / probe_module().DEAD_MARKER).is_file()

        again = run_probe(server.http_url, tmp_path)
        assert again.returncode == 1 and "seen earlier" in again.stdout, again.stdout


# --- why the gateway talks HTTP to the Service ---------------------------------------------
def test_grpc_clients_share_one_connection_http_clients_do_not(triton_server):
    """A Service balances connections, not requests. The gateway runs one Triton client per
    worker thread: over gRPC they share one connection per process (grpc's global subchannel
    pool), so a gateway pod would stick to one replica; over HTTP each has its own
    (deploy/kubernetes/base/gateway.yaml, docs/scale-out.md §4)."""
    server = psutil.Process(triton_server.process.pid)

    def established(port: int) -> int:
        connections = server.net_connections(kind="tcp")
        return sum(1 for c in connections if c.status == "ESTABLISHED" and c.laddr.port == port)

    count = 4
    grpc_before = established(triton_server.config.grpc_port)
    grpc_clients = [grpcclient.InferenceServerClient(triton_server.grpc_url) for _ in range(count)]
    assert all(client.is_server_live() for client in grpc_clients)
    http_before = established(triton_server.config.http_port)
    http_clients = [httpclient.InferenceServerClient(triton_server.http_url) for _ in range(count)]
    assert all(client.is_server_live() for client in http_clients)
    try:
        assert established(triton_server.config.grpc_port) - grpc_before <= 1
        assert established(triton_server.config.http_port) - http_before >= count
    finally:
        for client in [*grpc_clients, *http_clients]:
            client.close()
