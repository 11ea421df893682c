"""docker/Dockerfile, Dockerfile.cpu and compose.yaml, parsed (nothing is built here): paths they
copy or mount exist, the base image is the release of the embedded server, ports, health checks,
the GPU reservation and the gateway wiring."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from seal_ocr import tensor_names as names
from tests.conftest import MODEL_REPOSITORY, REPO_ROOT

DOCKER = REPO_ROOT / "docker"
# Triton container release -> server version (NVIDIA's framework support matrix), and the
# nvidia-pytriton release -> the tritonserver it bundles (PyTriton changelog)
CONTAINER_TO_SERVER = {"24.10": "2.51.0"}
PYTRITON_TO_SERVER = {"0.7.0": "2.51.0"}


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def pinned(project: str) -> str:
    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    everything = [*data["dependencies"]]
    for extra in data["optional-dependencies"].values():
        everything += extra
    [version] = {r.split("==")[1].split()[0] for r in everything if r.startswith(f"{project}==")}
    return version


def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.cpu"])
def test_every_copied_path_exists(name):
    copies = [args for keyword, args in instructions(DOCKER / name) if keyword == "COPY"]
    assert copies
    for args in copies:
        *sources, _destination = shlex.split(args)
        for source in sources:
            assert not source.startswith("--"), "COPY --from/--chown not expected here"
            assert (REPO_ROOT / source).exists(), f"{name}: COPY {source} (context = repo root)"
    ignore = (DOCKER / f"{name}.dockerignore").read_text().split()
    assert "model_repository" in ignore and ".venv" in ignore  # models come as a volume


def test_gpu_image_is_the_release_of_the_embedded_server():
    [base] = [args for keyword, args in instructions(DOCKER / "Dockerfile") if keyword == "FROM"]
    image, tag = base.split(":")
    assert image == "nvcr.io/nvidia/tritonserver"
    release = tag.removesuffix("-py3")
    assert CONTAINER_TO_SERVER[release] == PYTRITON_TO_SERVER[pinned("nvidia-pytriton")]


def test_gpu_image_installs_the_steps_without_the_embedded_server():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    # the GPU container has Triton's own ONNX Runtime backend; the CPU engines are not needed
    assert "--exclude nvidia-pytriton onnxruntime openvino onnx" in dockerfile
    assert "python_backend_stubs/3.11/triton_python_backend_stub" in dockerfile
    result = subprocess.run(
        [sys.executable, str(DOCKER / "requirements.py"), "--extra", "server",
         "--exclude", "nvidia-pytriton", "onnxruntime", "openvino", "onnx"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    requirements = result.stdout.split()
    projects = {re.split(r"[\[=]", r)[0] for r in requirements}
    assert {"numpy", "opencv-python-headless", "fastapi", "uvicorn", "tritonclient"} <= projects
    assert not projects & {"nvidia-pytriton", "onnxruntime", "openvino", "onnx"}
    assert all("==" in r for r in requirements)


def test_gpu_image_serves_the_hps_model():
    """seal-recognition (mounted with the repository) imports seal_api, which the image installs
    from serving/ (COPY + pip install .) with its dependencies (pypdfium2, aiohttp, pydantic)."""
    assert (MODEL_REPOSITORY / names.HPS_MODEL / "1" / "model.py").exists()
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert "seal_api*" in project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert (REPO_ROOT / "serving" / "seal_api" / "__init__.py").exists()
    copies = [args for keyword, args in instructions(DOCKER / "Dockerfile") if keyword == "COPY"]
    assert "serving serving" in copies
    volumes = compose()["services"]["triton"]["volumes"]
    assert any(volume.startswith("../model_repository:/models") for volume in volumes)
    wanted = {"pypdfium2", "aiohttp", "fastapi"}  # fastapi brings the pinned pydantic
    data = project["project"]
    pins = data["dependencies"] + data["optional-dependencies"]["server"]
    assert wanted <= {re.split(r"[\[=]", r)[0] for r in pins}


def test_cpu_image_runs_the_embedded_launcher_on_all_interfaces():
    steps = instructions(DOCKER / "Dockerfile.cpu")
    [base] = [args for keyword, args in steps if keyword == "FROM"]
    assert base.startswith("python:3.11")
    [command] = [args for keyword, args in steps if keyword == "CMD"]
    assert '"-m", "seal_triton",' in command and '"0.0.0.0"' in command


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.cpu"])
def test_images_expose_the_three_ports_and_probe_readiness(name):
    steps = instructions(DOCKER / name)
    exposed = {int(p) for keyword, args in steps if keyword == "EXPOSE" for p in args.split()}
    assert exposed == {8000, 8001, 8002}
    [health] = [args for keyword, args in steps if keyword == "HEALTHCHECK"]
    assert "/v2/health/ready" in health


def test_compose_triton_service():
    triton = compose()["services"]["triton"]
    assert triton["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
    assert (DOCKER / triton["build"]["context"] / triton["build"]["dockerfile"]).exists()
    assert {p.split(":")[0] for p in triton["ports"]} == {"8000", "8001", "8002"}
    assert all(p.split(":")[0] == p.split(":")[1] for p in triton["ports"])
    [device] = triton["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert "/v2/health/ready" in " ".join(triton["healthcheck"]["test"])
    mounts = {m.split(":")[1]: m.split(":")[0] for m in triton["volumes"]}
    assert (DOCKER / mounts["/models"]).resolve() == MODEL_REPOSITORY.resolve()
    assert "--model-repository=/models" in triton["command"]
    assert not any(a.startswith("--model-config-name") for a in triton["command"])  # GPU configs
    assert mounts["/trt_cache"] in compose()["volumes"]


def test_trt_cache_paths_live_on_the_cache_volume():
    for entry in (names.LAYOUT_MODEL, names.SEAL_DET_MODEL, names.TEXT_REC_MODEL):
        config = text_format.Parse((MODEL_REPOSITORY / entry / "config.pbtxt").read_text(),
                                   mc.ModelConfig())  # fmt: skip
        [trt] = config.optimization.execution_accelerators.gpu_execution_accelerator
        assert trt.parameters["trt_engine_cache_path"].startswith("/trt_cache/")


def test_compose_gateway_waits_for_a_healthy_triton():
    gateway = compose()["services"]["gateway"]
    assert gateway["command"][:3] == ["python", "-m", "seal_gateway"]
    args = gateway["command"]
    assert args[args.index("--triton-url") + 1] == "triton:8001"
    assert args[args.index("--port") + 1] == "8080" and "8080:8080" in gateway["ports"]
    assert gateway["depends_on"] == {"triton": {"condition": "service_healthy"}}
    assert (REPO_ROOT / "serving" / "seal_gateway" / "__main__.py").exists()
