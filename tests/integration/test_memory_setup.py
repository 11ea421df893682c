"""The embedded server's processes run on the allocator the soak was measured with.

With glibc malloc the stubs' RSS crept up over a 30-minute soak; the launcher preloads jemalloc
(installed by ``make setup``) with a background purging thread (docs/robustness.md, soak).
"""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

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
