"""Where the robustness traffic goes: the served model and 127.0.0.1 only."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL = "seal_recognition"
DEFAULT_PORTS = {"grpc": 8001, "http": 8000}
LOCAL_HOST = "127.0.0.1"


def local_url(host: str | None, protocol: str) -> str:
    """``host[:port]`` (optionally ``grpc://`` / ``http://``) -> ``127.0.0.1:<port>``.

    Raises ``ValueError`` for any host other than 127.0.0.1: these tools send load and kill
    processes, so they never talk to another machine (not even ``localhost``, which may resolve
    to ::1 or elsewhere).
    """
    if protocol not in DEFAULT_PORTS:
        raise ValueError(f"protocol must be grpc or http, got {protocol!r}")
    text = (host or LOCAL_HOST).strip()
    for scheme in ("grpc://", "http://", "https://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
    text = text.rstrip("/")
    name, _, port = text.partition(":")
    if name != LOCAL_HOST or "/" in port:
        raise ValueError(
            f"refusing host {host!r}: the robustness traffic goes to {LOCAL_HOST} only "
            f"(use --host {LOCAL_HOST}:<port>)"
        )
    if port and not port.isdigit():
        raise ValueError(f"bad port in host {host!r}")
    return f"{LOCAL_HOST}:{port or DEFAULT_PORTS[protocol]}"
