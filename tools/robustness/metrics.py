"""The server's pending requests, from its Prometheus metrics endpoint."""

from __future__ import annotations

import time
import urllib.request

from tools.robustness.targets import local_url


def pending_requests(metrics_url: str, timeout_s: float = 2.0) -> dict[str, float]:
    """``nv_inference_pending_request_count`` per model from the metrics endpoint."""
    url = "http://" + local_url(metrics_url, "http") + "/metrics"
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        text = response.read().decode()
    pending: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("nv_inference_pending_request_count{"):
            labels, _, value = line.rpartition(" ")
            model = labels.split('model="', 1)[1].split('"', 1)[0]
            pending[model] = pending.get(model, 0.0) + float(value)
    return pending


def wait_drained(metrics_url: str, timeout_s: float = 120.0) -> float | None:
    """Seconds until no model has pending requests; None if not drained within ``timeout_s``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            if not any(pending_requests(metrics_url).values()):
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.5)
    return None
