"""The tritonserver process and its Python-backend stubs, found with psutil.

Each model instance runs in its own ``triton_python_backend_stub`` process, a child of
``tritonserver``. Its argv (Triton 2.51) is::

    stub <repo>/<model>/1/model.py|model.onnx <shm region> <shm size> <shm growth>
         <parent pid> <backend dir> <ipc timeout> <instance name, e.g. find_seals_0_1> <runtime>

so the model is the folder two levels above argv[1] and the instance name is argv[8]. The ONNX
entries (``layout``, ``seal_det``, ``text_rec``) are stubs too: they run our Python-based
``onnxruntime`` or ``openvino`` backend.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import psutil

STUB_NAME = "triton_python_backend_stub"
SERVER_NAME = "tritonserver"


@dataclass(frozen=True)
class Proc:
    """One process of a server: ``model`` is ``tritonserver`` for the server itself."""

    pid: int
    model: str
    instance: str

    @property
    def label(self) -> str:
        return self.instance


def _stub_identity(cmdline: list[str]) -> tuple[str, str] | None:
    if not cmdline or Path(cmdline[0]).name != STUB_NAME or len(cmdline) < 2:
        return None
    model = Path(cmdline[1]).parent.parent.name
    instance = cmdline[8] if len(cmdline) > 8 else model
    return model, instance


def stubs(server: psutil.Process | int) -> list[Proc]:
    """The live stub processes of ``server`` (zombies excluded), sorted by instance name."""
    server = psutil.Process(server) if isinstance(server, int) else server
    found = []
    for child in server.children(recursive=False):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            identity = _stub_identity(child.cmdline())
            if identity is not None:
                found.append(Proc(child.pid, *identity))
    return sorted(found, key=lambda p: p.instance)


def processes(server: psutil.Process | int) -> list[Proc]:
    """The server itself followed by its stubs."""
    server = psutil.Process(server) if isinstance(server, int) else server
    return [Proc(server.pid, SERVER_NAME, SERVER_NAME), *stubs(server)]


def find_stub(server: psutil.Process | int, model: str, instance: str | None = None) -> Proc:
    """A live stub of ``model`` (the given instance, or the first by name)."""
    candidates = [p for p in stubs(server) if p.model == model and instance in (None, p.instance)]
    if not candidates:
        raise LookupError(f"no live stub for model {model!r} (instance {instance!r})")
    return candidates[0]


def rss(server: psutil.Process | int) -> dict[str, dict[str, object]]:
    """RSS of the server and of each stub: ``{label: {"pid", "model", "rss", "shared"}}``
    (bytes; ``shared`` is the part of RSS in file-backed or shared pages).

    Processes that exit while being measured are left out.
    """
    table: dict[str, dict[str, object]] = {}
    for proc in processes(server):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            memory = psutil.Process(proc.pid).memory_info()
            table[proc.label] = {
                "pid": proc.pid,
                "model": proc.model,
                "rss": memory.rss,
                "shared": memory.shared,  # file-backed + shared memory (the stubs' shm regions)
            }
    return table
