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


@pytest.fixture(params=["grpc", "http"])
def client(request, grpc_client, http_client):
    """(protocol, raw tritonclient) for each protocol: tests using it run over both."""
    return request.param, grpc_client if request.param == "grpc" else http_client


# --- summary table: input class -> status/message ---------------------------------------------
# Tests of bad and degenerate inputs record what they observed (before asserting, so a failing or
# xfail test still shows the real outcome); the table is printed at the end of the run.

_TRITON_PREFIXES = ("in ensemble 'seal_recognition', ", "[request id: <id_unknown>] ")
OUTCOMES: list[tuple[str, str, str, str]] = []


def _one_line(message: str) -> str:
    text = " ".join(str(message).split())
    for prefix in _TRITON_PREFIXES:  # Triton's own prefixes say nothing about the input
        text = text.replace(prefix, "")
    return text[:80]


@pytest.fixture
def record_outcome():
    """``record_outcome(input_class, protocol, outcome, message)`` adds one row to the table."""

    def record(input_class: str, protocol: str, outcome: str, message: str = "") -> None:
        OUTCOMES.append((input_class, protocol, outcome, _one_line(message)))

    return record


def pytest_terminal_summary(terminalreporter):
    if not OUTCOMES:
        return
    header = ("input class", "protocol", "outcome", "message")
    rows = [header, *OUTCOMES]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    rows.insert(1, tuple("-" * width for width in widths))
    terminalreporter.section("inputs: outcome and message")
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        terminalreporter.write_line("  ".join(cells).rstrip())
