"""Start and stop the embedded CPU ``tritonserver`` from the ``nvidia-pytriton`` wheel.

The wheel ships the server binary, the Python backend and one stub per Python version, but no
ONNX Runtime or OpenVINO backend. We assemble a backend directory holding ``python/`` (with the stub
for our interpreter), ``onnxruntime/`` and ``openvino/`` (our Python-based engine backends,
``serving/backends``), then run the server
with ``--model-config-name=cpu`` so each model picks ``configs/cpu.pbtxt``.
``docs/triton-embedded.md`` says what each step does and why (§3: why PATH must start with the
venv's ``bin``).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from seal_triton.admission import MAX_IN_FLIGHT_ENV, default_state_path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL_REPOSITORY = REPO_ROOT / "model_repository"
DEFAULT_BUILD_DIR = REPO_ROOT / ".build"
# Python-based backends named as Triton's own: configs say `backend: "onnxruntime"` or "openvino"
ENGINE_BACKEND_SOURCES = tuple(
    REPO_ROOT / "serving" / "backends" / name for name in ("onnxruntime", "openvino")
)
RESTRICTED_APIS = "model-repository,logging,trace"
# the admin key from the environment when set (a Kubernetes Secret: deploy/kubernetes), else random
ADMIN_KEY_ENV = "TRITON_ADMIN_KEY"
# the engine of the ONNX entries on the CPU server -> the config variant that runs it
# (`--model-config-name`: configs/<variant>.pbtxt, else config.pbtxt, per model)
ENGINE_CONFIG_NAMES = {"openvino": "cpu", "onnxruntime": "cpu_onnxruntime"}
DEFAULT_ENGINE = "openvino"
log = logging.getLogger("seal_triton")


def _pytriton_root() -> Path:
    import pytriton

    return Path(pytriton.__file__).resolve().parent / "tritonserver"


def _libs_dir() -> Path:
    return _pytriton_root().parent.parent / "nvidia_pytriton.libs"


def assemble_backends(build_dir: Path = DEFAULT_BUILD_DIR) -> Path:
    """Create ``<build_dir>/backends/{python,onnxruntime,openvino}``; idempotent. Returns it."""
    backends = build_dir / "backends"
    python_dir = backends / "python"
    stub_name = "triton_python_backend_stub"
    if not (python_dir / stub_name).exists():
        root = _pytriton_root()
        if python_dir.exists():
            shutil.rmtree(python_dir)
        shutil.copytree(root / "backends" / "python", python_dir)
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        shutil.copy2(root / "python_backend_stubs" / version / stub_name, python_dir / stub_name)
    for source in ENGINE_BACKEND_SOURCES:
        link = backends / source.name
        if link.is_symlink() and link.resolve() == source.resolve():
            continue
        if link.is_symlink():
            link.unlink()
        elif link.exists():
            shutil.rmtree(link)
        link.symlink_to(source, target_is_directory=True)
    return backends


JEMALLOC_DIRS = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
)


def find_jemalloc() -> Path | None:
    """Debian's ``libjemalloc.so.2`` (``make setup`` installs it), or None."""
    for directory in JEMALLOC_DIRS:
        candidate = Path(directory) / "libjemalloc.so.2"
        if candidate.exists():
            return candidate
    return None


def openvino_hwloc() -> Path | None:
    """The ``libhwloc`` that the ``openvino`` wheel bundles, or None (not installed)."""
    import importlib.util

    spec = importlib.util.find_spec("openvino")
    if spec is None or not spec.submodule_search_locations:
        return None
    libs = Path(next(iter(spec.submodule_search_locations))) / "libs"
    return next(iter(sorted(libs.glob("libhwloc.so*"))), None)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for tests that start their own server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerConfig:
    """How to run one server. Ports 0 mean "pick free ports"."""

    model_repository: Path = DEFAULT_MODEL_REPOSITORY
    build_dir: Path = DEFAULT_BUILD_DIR
    address: str = "127.0.0.1"
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    model_config_name: str = "cpu"
    log_verbose: int = 0
    # In-flight requests get this long to finish on SIGTERM; stop() waits a little longer
    # before SIGKILL so Triton's own exit path and ours do not race (both were 30 s).
    exit_timeout_s: int = 10
    # APIs that change the running server (load/unload, log and trace settings) answer only
    # requests carrying this header; the key is $TRITON_ADMIN_KEY, else random per launch,
    # and never printed.
    admin_header: str = "triton-admin-key"
    admin_key: str = field(
        default_factory=lambda: os.environ.get(ADMIN_KEY_ENV) or secrets.token_hex(16), repr=False
    )
    # admission control: requests in the pipeline at once (None = decode_page's config, 0 = no
    # cap, e.g. to measure raw capacity past saturation); see seal_triton/admission.py
    max_in_flight: int | None = None
    extra_args: list[str] = field(default_factory=list)

    def resolve_ports(self) -> ServerConfig:
        for name in ("http_port", "grpc_port", "metrics_port"):
            if getattr(self, name) == 0:
                setattr(self, name, free_port())
        return self

    def command(self) -> list[str]:
        binary = _pytriton_root() / "bin" / "tritonserver"
        return [
            str(binary),
            f"--model-repository={self.model_repository}",
            f"--backend-directory={assemble_backends(self.build_dir)}",
            f"--model-config-name={self.model_config_name}",
            "--model-control-mode=none",
            "--disable-auto-complete-config",
            "--model-load-thread-count=8",
            f"--http-address={self.address}",
            f"--http-port={self.http_port}",
            f"--grpc-address={self.address}",
            f"--grpc-port={self.grpc_port}",
            f"--metrics-address={self.address}",
            f"--metrics-port={self.metrics_port}",
            f"--log-verbose={self.log_verbose}",
            f"--exit-timeout-secs={self.exit_timeout_s}",
            f"--http-restricted-api={RESTRICTED_APIS}:{self.admin_header}={self.admin_key}",
            f"--grpc-restricted-protocol={RESTRICTED_APIS}:{self.admin_header}={self.admin_key}",
            *self.extra_args,
        ]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        # The stub runs Python in isolated mode and finds its prefix through PATH.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (str(_libs_dir()), env.get("LD_LIBRARY_PATH", "")) if p
        )
        # One ORT/OpenMP thread pool per stub unless a config asks otherwise.
        env.setdefault("OMP_NUM_THREADS", "1")
        # jemalloc for the server and every stub (tools/install_jemalloc.sh): with glibc malloc
        # the stubs' RSS crept up over a 30-minute soak as page and crop sizes varied;
        # jemalloc gives freed pages back over time (docs/robustness.md, soak)
        jemalloc = find_jemalloc()
        if jemalloc is not None and "jemalloc" not in env.get("LD_PRELOAD", ""):
            # OpenVINO's TBB opens its tbbbind with a symbol scope of its own, so the hwloc it
            # pulls in bound malloc/free to glibc, not jemalloc: compile_model aborted with
            # "free(): invalid pointer". Preloaded, hwloc binds to jemalloc like the rest.
            hwloc = openvino_hwloc()
            preload = (str(jemalloc), str(hwloc) if hwloc else "", env.get("LD_PRELOAD"))
            env["LD_PRELOAD"] = " ".join(p for p in preload if p)
            # jemalloc purges freed pages only when the process next allocates; a background
            # thread purges them while the stub is idle too (between bursts of requests)
            env.setdefault("MALLOC_CONF", "background_thread:true")
        if self.max_in_flight is not None:
            env[MAX_IN_FLIGHT_ENV] = str(self.max_in_flight)
        return env


class TritonServer:
    """A running ``tritonserver`` process; use as a context manager or call start()/stop()."""

    def __init__(self, config: ServerConfig, log_path: Path | None = None) -> None:
        self.config = config.resolve_ports()
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self._log_file: BinaryIO | None = None

    @property
    def http_url(self) -> str:
        return f"{self.config.address}:{self.config.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"{self.config.address}:{self.config.grpc_port}"

    def start(self, timeout_s: float = 120.0) -> TritonServer:
        stdout = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = open(self.log_path, "wb")  # noqa: SIM115  (closed in stop())
            stdout = self._log_file
        self.process = subprocess.Popen(
            self.config.command(),
            env=self.config.environment(),
            stdout=stdout,
            stderr=subprocess.STDOUT if stdout else None,
            start_new_session=True,
        )
        self.wait_ready(timeout_s)
        return self

    def wait_ready(self, timeout_s: float) -> None:
        url = f"http://{self.http_url}/v2/health/ready"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"tritonserver exited with code {self.process.returncode} before it was ready"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"tritonserver not ready after {timeout_s:.0f} s")

    def stop(self, timeout_s: float | None = None) -> None:
        """SIGTERM the process group; SIGKILL when it is still there after ``timeout_s``
        (default: Triton's exit timeout + 10 s)."""
        if timeout_s is None:
            timeout_s = self.config.exit_timeout_s + 10.0
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process is not None:
            # the admission leases of this server (named by its PID; a new server starts empty)
            default_state_path(self.process.pid).unlink(missing_ok=True)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> TritonServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
