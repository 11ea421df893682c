"""Liveness probe of a Triton pod: one real page through ``seal_recognition``, exit 0 or 1.

Why a real request: Triton 2.51 does not restart a Python-backend stub that dies, and
``/v2/health/ready`` keeps answering 200 while the dead instance fails every request it is
given with ``Stub process '<instance>' is not healthy.`` (docs/robustness.md). Kubernetes runs
this script as an exec probe inside the Triton container (both images copy it to
``/opt/seal/deploy/kubernetes/probe/``), so a pod with a dead stub gets restarted.

Decisions (``classify``):

- the page is served (HTTP 200): alive;
- the answer names a dead stub: dead, and a marker file makes every later run of this
  container fail too (a dead instance gets only its share of the requests, so the next probe
  could pass by luck and reset Kubernetes' failure count);
- busy (HTTP 503: admission cap or full queue) or no answer within ``--timeout``: the server is
  loaded, which is the autoscaler's business, not a reason to restart; alive when
  ``/v2/health/live`` answers 200, else dead;
- no connection, or any other error: dead (Kubernetes restarts after ``failureThreshold``
  failures in a row, so one transient error does not).

The page is a seeded synthetic seal (``tools.synth``, page 0 of seed 0: one round seal, about
600 x 560 px), made once per container and kept in the temp directory. The request uses the
KServe v2 HTTP protocol with the binary tensor extension, from the standard library only.

    python deploy/kubernetes/probe/seal_liveness.py --url 127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import http.client
import json
import struct
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from seal_ocr import tensor_names as names

DEAD_STUB_MESSAGE = "is not healthy"  # Triton: "Stub process '<instance>' is not healthy."
BUSY_STATUS = 503  # UNAVAILABLE: the admission cap ("server busy") or a full queue
STATE_DIR = Path(tempfile.gettempdir())
PAGE_FILE = "seal-liveness-page.jpg"
DEAD_MARKER = "seal-liveness-dead-stub"
REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Answer:
    """What the server did with the probe page: ``status`` is the HTTP status, or None when no
    answer came (connection refused, reset, or ``--timeout`` passed); ``message`` is Triton's
    error text (or the transport error)."""

    status: int | None
    message: str = ""
    timed_out: bool = False


@dataclass(frozen=True)
class Verdict:
    """``alive``: exit 0; ``sticky``: a dead stub, remembered until the container restarts."""

    alive: bool
    reason: str
    sticky: bool = False


def classify(answer: Answer, live: bool | None = None) -> Verdict:
    """The probe's decision for one answer. ``live`` is ``/v2/health/live`` (asked only for busy
    or timed-out answers; None = not asked)."""
    if answer.status == 200:
        return Verdict(True, "served")
    if DEAD_STUB_MESSAGE in answer.message:
        return Verdict(False, f"dead backend stub: {answer.message}", sticky=True)
    if answer.status == BUSY_STATUS or answer.timed_out:
        what = "busy" if answer.status == BUSY_STATUS else "no answer in time"
        if live:
            return Verdict(True, f"{what}, server live (load is the autoscaler's business)")
        return Verdict(False, f"{what}, and /v2/health/live does not answer 200")
    if answer.status is None:
        return Verdict(False, f"no connection: {answer.message}")
    return Verdict(False, f"HTTP {answer.status}: {answer.message}")


def probe_page(state_dir: Path = STATE_DIR) -> bytes:
    """The JPEG bytes of the probe page; made once (tools.synth, seed 0, page 0) and cached."""
    path = state_dir / PAGE_FILE
    if path.is_file():
        return path.read_bytes()
    import cv2

    # tools/ is not an installed package: it sits beside this folder in the repository (and
    # below /opt/seal in both images)
    sys.path.insert(0, str(REPO_ROOT))
    from tools.synth.seals import generate

    page = next(generate(1, seed=0))
    ok, encoded = cv2.imencode(".jpg", page.image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise RuntimeError("JPEG encoding of the probe page failed")
    data = encoded.tobytes()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return data


def infer_body(image: bytes) -> tuple[bytes, dict[str, str]]:
    """A KServe v2 binary-extension request: JSON header, then the BYTES tensor ``[1]`` as a
    4-byte little-endian length and the image bytes. Returns (body, headers)."""
    tensor = struct.pack("<I", len(image)) + image
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": names.IMAGE,
                    "shape": [1],
                    "datatype": "BYTES",
                    "parameters": {"binary_data_size": len(tensor)},
                }
            ],
            "outputs": [{"name": names.RESULT_JSON, "parameters": {"binary_data": False}}],
        }
    ).encode()
    headers = {
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(len(header)),
    }
    return header + tensor, headers


def _request(
    url: str, method: str, path: str, timeout_s: float, body: bytes | None = None, headers=None
) -> Answer:
    host, _, port = url.rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout_s)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
    except TimeoutError as exc:  # socket.timeout is TimeoutError
        return Answer(None, f"{method} {path}: {exc or 'timed out'}", timed_out=True)
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, f"{method} {path}: {exc}")
    finally:
        connection.close()
    if response.status == 200:
        return Answer(200)
    try:
        message = json.loads(text).get("error", text)
    except (ValueError, AttributeError):
        message = text
    return Answer(response.status, " ".join(str(message).split())[:300])


def send_page(url: str, image: bytes, timeout_s: float) -> Answer:
    """POST the page to ``/v2/models/seal_recognition/infer`` at ``url`` (host:port)."""
    body, headers = infer_body(image)
    return _request(url, "POST", f"/v2/models/{names.ENSEMBLE}/infer", timeout_s, body, headers)


def is_live(url: str, timeout_s: float) -> bool:
    return _request(url, "GET", "/v2/health/live", timeout_s).status == 200


def run(url: str, timeout_s: float, state_dir: Path = STATE_DIR) -> Verdict:
    """One probe: the sticky marker first, then the page, then (busy/timeout) liveness."""
    marker = state_dir / DEAD_MARKER
    if marker.is_file():
        return Verdict(False, f"dead backend stub seen earlier ({marker}): {marker.read_text()}")
    answer = send_page(url, probe_page(state_dir), timeout_s)
    live = is_live(url, min(timeout_s, 5.0)) if answer.status != 200 else None
    verdict = classify(answer, live)
    if verdict.sticky:
        marker.write_text(verdict.reason)
    return verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="127.0.0.1:8000", help="Triton HTTP host:port")
    parser.add_argument(
        "--timeout", type=float, default=20.0, help="seconds for the page (below the probe's)"
    )
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR, help="page cache, marker")
    args = parser.parse_args(argv)
    verdict = run(args.url, args.timeout, args.state_dir)
    print(f"{'alive' if verdict.alive else 'DEAD'}: {verdict.reason}", flush=True)
    return 0 if verdict.alive else 1


if __name__ == "__main__":
    sys.exit(main())
