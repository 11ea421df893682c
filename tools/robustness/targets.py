"""Where the robustness traffic goes: the served model and 127.0.0.1 only."""

from __future__ import annotations

from pathlib import Path

from seal_client.transport import DEFAULT_PORTS, check_protocol
from seal_ocr import tensor_names as names

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL = names.ENSEMBLE  # the model the traffic goes to
LOCAL_HOST = "127.0.0.1"


def local_url(host: str | None, protocol: str) -> str:
    """``host[:port]`` (optionally ``grpc://`` / ``http://``) -> ``127.0.0.1:<port>``.

    Raises ``ValueError`` for any host other than 127.0.0.1: these tools send load and kill
    processes, so they never talk to another machine (not even ``localhost``, which may resolve
    to ::1 or elsewhere).
    """
    check_protocol(protocol)
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
