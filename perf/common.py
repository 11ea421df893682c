"""What the perf harnesses share: the image set, a server (given or started), server statistics.

The image set is the same for perf_analyzer, the benchmark and PaddleX: the real images of
``$SEAL_EVAL_DIR`` (default ``../shared/eval/real``) plus ``n`` seeded synthetic pictures from
:mod:`tools.synth.seals`, written as PNG files under ``.build/perf/images`` so PaddleX can read
the very same files. Every URL is 127.0.0.1 (:func:`tools.robustness.local_url`).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seal_ocr import tensor_names as names
from seal_ocr.image_io import IMAGE_SUFFIXES
from tools.robustness import eval_dir, local_url, synth_samples

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "perf" / "results"
BUILD_DIR = REPO_ROOT / ".build" / "perf"
IMAGES_DIR = BUILD_DIR / "images"
MODEL_REPOSITORY = REPO_ROOT / "model_repository"
COMPOSING = (*names.PYTHON_STEPS, *names.ONNX_MODELS)  # the models of one request's path


# --- images ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Image:
    name: str
    kind: str  # real | synth
    path: Path

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()


def image_set(synthetic: int = 6, seed: int = 0) -> list[Image]:
    """The real images (sorted) then ``synthetic`` synthetic ones, all as files."""
    source = eval_dir()
    real = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not real:
        raise FileNotFoundError(f"no images in {source} (set SEAL_EVAL_DIR)")
    images = [Image(p.name, "real", p.resolve()) for p in real]
    IMAGES_DIR.mkdir(parents=True, exist_ok=True)
    for sample in synth_samples(synthetic, seed=seed):
        path = IMAGES_DIR / sample.name
        if not path.is_file() or path.read_bytes() != sample.data:
            path.write_bytes(sample.data)
        images.append(Image(sample.name, "synth", path))
    return images


# --- the server ----------------------------------------------------------------------------------
@dataclass
class Endpoint:
    http: str  # 127.0.0.1:<port>
    grpc: str


@contextlib.contextmanager
def server(
    url: str | None = None,
    grpc_url: str | None = None,
    log_name: str = "server",
    repository: Path | None = None,
    engine: str | None = None,
) -> Iterator[Endpoint]:
    """Use the server at ``url`` (HTTP, 127.0.0.1 only) or start one on free ports (serving
    ``repository``, default ``model_repository``, its ONNX entries on ``engine``, default the
    shipped one) and stop it on exit (also on errors)."""
    if url:
        http = local_url(url, "http")
        grpc = local_url(grpc_url or f"127.0.0.1:{int(http.rsplit(':', 1)[1]) + 1}", "grpc")
        yield Endpoint(http, grpc)
        return
    from seal_triton.launcher import DEFAULT_ENGINE, ENGINE_CONFIG_NAMES, ServerConfig, TritonServer

    # The shipped admission policy (decode_page: max_in_flight requests in the pipeline, the
    # rest wait in a bounded queue) is what users get, so it is what is measured;
    # PERF_MAX_IN_FLIGHT chooses another cap for an experiment (0 = none).
    cap = os.environ.get("PERF_MAX_IN_FLIGHT")
    config = ServerConfig(
        model_repository=repository or MODEL_REPOSITORY,
        http_port=0,
        grpc_port=0,
        metrics_port=0,
        model_config_name=ENGINE_CONFIG_NAMES[engine or DEFAULT_ENGINE],
        max_in_flight=int(cap) if cap else None,
    )
    instance = TritonServer(config, log_path=BUILD_DIR / f"{log_name}.log")
    instance.start(timeout_s=180)
    try:
        yield Endpoint(instance.http_url, instance.grpc_url)
    finally:
        instance.stop()


def wait_ready(http: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"http://{http}/v2/health/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"server at {http} not ready")
        time.sleep(0.5)


# --- statistics endpoint -------------------------------------------------------------------------
def model_stats(http: str) -> dict[str, dict[str, Any]]:
    """``/v2/models/stats`` per model name (version summed): counts and cumulative ns."""
    with urllib.request.urlopen(
        f"http://{local_url(http, 'http')}/v2/models/stats", timeout=10
    ) as r:
        body = json.loads(r.read())
    out: dict[str, dict[str, Any]] = {}
    for entry in body.get("model_stats", []):
        stats = entry["inference_stats"]
        row = out.setdefault(
            entry["name"],
            {"inference_count": 0, "execution_count": 0, "success": 0, "fail": 0, "ns": {}},
        )
        row["inference_count"] += int(entry.get("inference_count", 0))
        row["execution_count"] += int(entry.get("execution_count", 0))
        row["success"] += int(stats["success"]["count"])
        row["fail"] += int(stats["fail"]["count"])
        for key in ("queue", "compute_input", "compute_infer", "compute_output"):
            row["ns"][key] = row["ns"].get(key, 0) + int(stats[key]["ns"])
    return out


def stats_delta(before: dict, after: dict) -> list[dict[str, Any]]:
    """Per composing model: counts, inferences per execution, mean queue / compute ms per
    request over the interval between two :func:`model_stats` snapshots."""
    rows = []
    for name in COMPOSING:
        a, b = (
            after.get(name),
            before.get(
                name,
                {"inference_count": 0, "execution_count": 0, "success": 0, "fail": 0, "ns": {}},
            ),
        )
        if a is None:
            continue
        inferences = a["inference_count"] - b["inference_count"]
        executions = a["execution_count"] - b["execution_count"]
        requests = a["success"] - b["success"]
        fails = a["fail"] - b["fail"]

        ns = {k: a["ns"].get(k, 0) - b["ns"].get(k, 0) for k in a["ns"]}
        per_request = {k: v / requests / 1e6 if requests else 0.0 for k, v in ns.items()}
        compute = sum(per_request[k] for k in ("compute_input", "compute_infer", "compute_output"))
        rows.append(
            {
                "model": name,
                "requests": requests,
                "failed": fails,
                "inference_count": inferences,
                "execution_count": executions,
                "inferences_per_execution": inferences / executions if executions else 0.0,
                "queue_ms": per_request["queue"],
                "compute_ms": compute,
                "compute_infer_ms": per_request["compute_infer"],
            }
        )
    return rows


def stats_table(rows: Sequence[dict[str, Any]]) -> str:
    header = (
        "| model | requests | inference_count | execution_count | inferences/execution "
        "| queue ms/request | compute ms/request |\n|---|---:|---:|---:|---:|---:|---:|\n"
    )
    body = "".join(
        f"| {r['model']} | {r['requests']} | {r['inference_count']} | {r['execution_count']} "
        f"| {r['inferences_per_execution']:.2f} | {r['queue_ms']:.1f} | {r['compute_ms']:.1f} |\n"
        for r in rows
    )
    return header + body


# --- context of a measurement --------------------------------------------------------------------
def uptime() -> str:
    """Load averages (1, 5, 15 min) and core count, e.g. ``load 1.52 1.31 0.90 on 2 cores``."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        fields = list(dict.fromkeys(key for row in rows for key in row))
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def perf_analyzer_env() -> tuple[str, dict[str, str]]:
    """perf_analyzer's path and environment (libcudart from nvidia-cuda-runtime-cu12)."""
    binary = Path(sys.executable).parent / "perf_analyzer"
    if not binary.is_file():
        raise FileNotFoundError(f"{binary} missing: tritonclient[all] not installed")
    import nvidia.cuda_runtime

    lib = Path(next(iter(nvidia.cuda_runtime.__path__))) / "lib"
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (str(lib), env.get("LD_LIBRARY_PATH", "")) if p
    )
    if (
        shutil.which("ldconfig")
        and b"libb64.so.0d"
        not in subprocess.run(["ldconfig", "-p"], capture_output=True, check=False).stdout
    ):
        raise FileNotFoundError("libb64.so.0d missing: run bash perf/install_perf_analyzer.sh")
    return str(binary), env
