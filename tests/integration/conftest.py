"""A real ``tritonserver`` for the integration tests, on free ports, started once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

from seal_triton.launcher import ServerConfig, TritonServer
from tests.conftest import REPO_ROOT

LOG_PATH = REPO_ROOT / ".build" / "test-logs" / "tritonserver.log"


@pytest.fixture(scope="session")
def triton_server(model_repository: Path):
    config = ServerConfig(
        model_repository=model_repository, http_port=0, grpc_port=0, metrics_port=0
    )
    server = TritonServer(config, log_path=LOG_PATH)
    server.start(timeout_s=180)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def grpc_client(triton_server):
    return grpcclient.InferenceServerClient(triton_server.grpc_url)


@pytest.fixture(scope="session")
def http_client(triton_server):
    return httpclient.InferenceServerClient(triton_server.http_url, concurrency=8)
