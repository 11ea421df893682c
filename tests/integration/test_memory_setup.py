"""The embedded server's processes run on the allocator the soak was measured with.

With glibc malloc the stubs' RSS crept up over a 30-minute soak; the launcher preloads jemalloc
(installed by ``make setup``) with a background purging thread (docs/robustness.md, soak).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import tritonclient.grpc as grpcclient

from seal_ocr import tensor_names as names
from seal_triton import procs

pytestmark = pytest.mark.triton


def test_server_and_every_stub_run_on_jemalloc_with_background_purge(triton_server):
    every = procs.processes(triton_server.process.pid)
    assert len(every) > 1, "no stub processes found"
    for proc in every:
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        assert "libjemalloc" in maps, f"{proc.label} does not run on jemalloc"
        environ = psutil.Process(proc.pid).environ()
        assert "background_thread:true" in environ.get("MALLOC_CONF", ""), proc.label


def _private_mb(server_pid: int, label: str) -> float:
    # RSS minus shared pages: the stub's shm region keeps the size of the largest tensor it
    # carried, by design; ONNX Runtime's arena is private memory
    entry = procs.rss(server_pid)[label]
    return (int(entry["rss"]) - int(entry["shared"])) / 2**20


def test_seal_det_gives_a_large_batch_back(triton_server):
    """After one large batch, seal_det's private memory returns to where it was: OpenVINO's
    buffers grown for it go back (``memory_release_interval_ms``; on ONNX Runtime the arena
    region of its outputs, ``arena_release_shape``), and its input is not kept in a buffer."""
    client = grpcclient.InferenceServerClient(triton_server.grpc_url)
    server_pid = triton_server.process.pid
    stub = procs.find_stub(server_pid, names.SEAL_DET_MODEL)

    def infer(shape: tuple[int, ...]) -> np.ndarray:
        tensor = grpcclient.InferInput(names.SEAL_DET_IMAGE, list(shape), "FP32")
        tensor.set_data_from_numpy(np.zeros(shape, np.float32))
        result = client.infer(names.SEAL_DET_MODEL, [tensor], client_timeout=300)
        return result.as_numpy(names.SEAL_DET_PROB)

    for _ in range(2):
        infer((1, 3, 736, 960))
    before = _private_mb(server_pid, stub.label)
    assert infer((6, 3, 736, 2208)).shape == (6, 1, 736, 2208)
    infer((1, 3, 736, 960))
    # the release thread runs within memory_release_interval_ms (2 s), and jemalloc's background
    # thread purges the freed pages within ~10 s
    deadline = time.monotonic() + 30
    while (
        after := _private_mb(server_pid, stub.label)
    ) > before + 80 and time.monotonic() < deadline:
        time.sleep(1)
    assert after <= before + 80, f"seal_det private memory {before:.0f} -> {after:.0f} MB"
