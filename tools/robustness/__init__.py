"""Robustness checks of the served ``seal_recognition`` ensemble: overload, faults, soak.

This module holds what the tools, the tests and ``perf/locustfile.py`` share and that needs
neither locust nor gevent: the image set, one request over gRPC or HTTP, the classification of
failures (``rejected`` = the server refused or timed out the work, ``error`` = anything else),
a bounded closed-loop load driver on threads, percentiles and the server's pending-request
metric. Process helpers (server and stub PIDs, RSS) are in :mod:`seal_triton.procs`.

Every URL must point at 127.0.0.1 (:func:`local_url` refuses anything else).
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import random
import re
import shutil
import threading
import time
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_EVAL_DIR = REPO_ROOT.parent / "shared" / "eval" / "real"
MODEL = "seal_recognition"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_PAGE_GLOB = "vignette_*"  # the full document pages of the shared eval set
DEFAULT_PORTS = {"grpc": 8001, "http": 8000}
LOCAL_HOST = "127.0.0.1"

# Triton's own words for refused work (UNAVAILABLE): queue full / queue timeout.
QUEUE_FULL = "Exceeds maximum queue size"
QUEUE_TIMEOUT = "Request timeout expired"
# decode_page's admission control (seal_triton/admission.py): no slot came free in time
SERVER_BUSY = "server busy"


# --- where requests go -------------------------------------------------------------------------
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


LOCUSTFILE = REPO_ROOT / "perf" / "locustfile.py"


def run_locust_headless(
    host: str,
    users: int,
    seconds: float,
    stop_timeout_s: float,
    environment: dict[str, str],
    extra_args: Sequence[str] = (),
    output: Path | None = None,
) -> int:
    """``perf/locustfile.py`` headless with ``users`` users for ``seconds`` against ``host``
    (127.0.0.1 only), ``environment`` added to ours (the ``SEAL_*`` knobs of the locustfile).

    Bounded: locust 2.17 with gRPC on gevent sometimes hangs after writing its reports and
    summary, so it is killed past the run time + stop timeout + 35 s (what it wrote is kept;
    the exit code is then negative). Output goes to ``output`` when given, else to ours.
    """
    import subprocess
    import sys

    if not host.startswith(LOCAL_HOST):
        raise ValueError(f"refusing host {host!r}: load goes to {LOCAL_HOST} only")
    command = [
        str(Path(sys.executable).parent / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{int(seconds)}s",
        "--stop-timeout",
        str(int(stop_timeout_s)),
        "--host",
        host,
        "--only-summary",
        *extra_args,
    ]
    sink = open(output, "wb") if output is not None else None  # noqa: SIM115 (closed below)
    try:
        process = subprocess.Popen(
            command,
            env={**os.environ, **environment},
            cwd=REPO_ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT if sink else None,
        )
        try:
            return process.wait(timeout=seconds + stop_timeout_s + 35)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()
    finally:
        if sink is not None:
            sink.close()


# --- images ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """One request body: ``kind`` is ``seal`` (a seal picture), ``page`` or ``synth``."""

    name: str
    kind: str
    data: bytes = field(repr=False)


def eval_dir() -> Path:
    return Path(os.environ.get("SEAL_EVAL_DIR", DEFAULT_EVAL_DIR))


def load_samples(
    directory: Path | None = None, selection: str = "all", page_glob: str = DEFAULT_PAGE_GLOB
) -> list[Sample]:
    """Real images of ``directory`` (default ``$SEAL_EVAL_DIR``), sorted by name.

    ``selection``: ``all``, ``seals`` (not matching ``page_glob``), ``pages`` (matching it), or
    comma-separated file names / globs.
    """
    directory = Path(directory or eval_dir())
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no images in {directory} (set SEAL_EVAL_DIR)")

    def kind(p: Path) -> str:
        return "page" if fnmatch.fnmatch(p.name, page_glob) else "seal"

    if selection in ("all", "", None):
        chosen = files
    elif selection in ("seals", "pages"):
        chosen = [p for p in files if kind(p) == selection[:-1]]
    else:
        patterns = [s.strip() for s in selection.split(",") if s.strip()]
        chosen = [p for p in files if any(fnmatch.fnmatch(p.name, pat) for pat in patterns)]
    if not chosen:
        raise FileNotFoundError(f"image selection {selection!r} matched nothing in {directory}")
    return [Sample(p.name, kind(p), p.read_bytes()) for p in chosen]


def synth_samples(count: int, seed: int = 0) -> list[Sample]:
    """``count`` synthetic pictures from :func:`tools.synth.seals.generate`, PNG-encoded."""
    if count <= 0:
        return []
    import cv2

    from tools.synth.seals import generate

    samples = []
    for page in generate(count, seed):
        ok, encoded = cv2.imencode(".png", page.image, [cv2.IMWRITE_PNG_COMPRESSION, 3])
        if not ok:
            raise RuntimeError(f"PNG encoding failed for {page.name}")
        samples.append(Sample(page.name + ".png", "synth", encoded.tobytes()))
    return samples


class Mix:
    """Weighted random choice of (sample, options); pages get ``page_weight`` of the draws."""

    def __init__(
        self,
        samples: Sequence[Sample],
        page_weight: float | None = None,
        layout: str = "mixed",
        extra_options: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        if layout not in ("mixed", "on", "off"):
            raise ValueError(f"layout must be mixed, on or off, got {layout!r}")
        self.samples = list(samples)
        self.layout = layout
        self.extra = dict(extra_options or {})
        self.rng = random.Random(seed)
        pages = [s for s in self.samples if s.kind == "page"]
        others = [s for s in self.samples if s.kind != "page"]
        if page_weight is None or not pages or not others:
            self.weights = [1.0] * len(self.samples)
        else:
            self.weights = [
                page_weight / len(pages) if s.kind == "page" else (1 - page_weight) / len(others)
                for s in self.samples
            ]

    def options_for(self, use_layout: bool) -> dict[str, Any]:
        return {"use_layout_detection": use_layout, **self.extra}

    def draw(self) -> tuple[Sample, dict[str, Any]]:
        sample = self.rng.choices(self.samples, weights=self.weights)[0]
        use_layout = self.layout == "on" or (self.layout == "mixed" and self.rng.random() < 0.5)
        return sample, self.options_for(use_layout)


def request_name(sample: Sample, options: dict[str, Any]) -> str:
    """A short stats name: ``seal/layout``, ``page/no-layout``, ..."""
    layout = options.get("use_layout_detection", True)
    return f"{sample.kind}/{'layout' if layout else 'no-layout'}"


# --- one request -------------------------------------------------------------------------------
def client_module(protocol: str):
    if protocol == "grpc":
        import tritonclient.grpc as module
    elif protocol == "http":
        import tritonclient.http as module
    else:
        raise ValueError(f"protocol must be grpc or http, got {protocol!r}")
    return module


def make_client(protocol: str, url: str, timeout_s: float):
    """A tritonclient for 127.0.0.1 only; HTTP gets its network timeout here."""
    url = local_url(url, protocol)
    module = client_module(protocol)
    if protocol == "http":
        return module.InferenceServerClient(
            url, connection_timeout=timeout_s, network_timeout=timeout_s
        )
    return module.InferenceServerClient(url)


def infer(
    client,
    protocol: str,
    data: bytes,
    options: dict[str, Any] | None,
    timeout_s: float,
    model: str = MODEL,
) -> tuple[dict[str, Any], int]:
    """Send one image; returns (parsed result JSON, response bytes). Raises on any failure."""
    module = client_module(protocol)
    inputs = [module.InferInput("IMAGE", [1], "BYTES")]
    inputs[0].set_data_from_numpy(np.array([data], dtype=object))
    if options:
        inputs.append(module.InferInput("OPTIONS", [1], "BYTES"))
        inputs[1].set_data_from_numpy(np.array([json.dumps(options).encode()], dtype=object))
    if protocol == "grpc":
        response = client.infer(model, inputs, client_timeout=timeout_s)
    else:
        outputs = [module.InferRequestedOutput("RESULT_JSON", binary_data=True)]
        response = client.infer(model, inputs, outputs=outputs)
    raw = response.as_numpy("RESULT_JSON")
    if raw is None or len(raw) != 1:
        raise RuntimeError("response without RESULT_JSON")
    body = raw[0]
    return json.loads(body), len(body)


def is_complete_result(result: Any) -> bool:
    """The fields every result has (a cheap check; tests validate the full JSON Schema)."""
    return (
        isinstance(result, dict)
        and isinstance(result.get("seal_res_list"), list)
        and isinstance(result.get("texts"), list)
        and isinstance(result.get("seal_boxes"), list)
        and "model_settings" in result
    )


def classify(exc: BaseException) -> tuple[str, str]:
    """(outcome, reason): outcome ``rejected`` for refused or timed-out work, else ``error``.

    reason: ``busy`` (admission control), ``queue_full`` / ``queue_timeout`` (Triton's queue
    policy), ``client_timeout``,
    ``unavailable`` (other UNAVAILABLE / HTTP 503) or ``error``.
    """
    text = str(exc)
    status = ""
    status_fn = getattr(exc, "status", None)
    if callable(status_fn):
        try:
            status = str(status_fn() or "")
        except Exception:  # pragma: no cover - defensive
            status = ""
    if SERVER_BUSY in text:
        return "rejected", "busy"
    if QUEUE_FULL in text:
        return "rejected", "queue_full"
    if QUEUE_TIMEOUT in text:
        return "rejected", "queue_timeout"
    lowered = text.lower()
    if (
        isinstance(exc, TimeoutError)
        or "DEADLINE_EXCEEDED" in status
        or "deadline exceeded" in lowered
        or "timed out" in lowered
        or type(exc).__name__ in ("Timeout", "timeout", "ConnectionTimeout")
    ):
        return "rejected", "client_timeout"
    if "UNAVAILABLE" in status or status == "503":
        return "rejected", "unavailable"
    return "error", "error"


# --- closed-loop load on threads ---------------------------------------------------------------
@dataclass
class Record:
    """One request as a client saw it (``start`` is ``time.time()``)."""

    start: float
    latency_s: float
    outcome: str  # ok | rejected | error
    reason: str
    sample: str
    name: str
    protocol: str
    worker: int
    message: str = ""
    result: dict[str, Any] | None = field(default=None, repr=False)

    def row(self) -> dict[str, Any]:
        row = asdict(self)
        row.pop("result")
        return row


class LoadDriver:
    """``concurrency`` threads, each sending one request after the other (closed loop).

    Bounded: stops after ``duration_s`` seconds or ``max_requests`` requests (whichever first),
    or at :meth:`stop`; each request has a client timeout. ``protocols`` are cycled over the
    workers. ``keep_results`` keeps each successful result JSON in its record; ``sequence``
    replaces the random draws by a fixed cycle; ``failure_pause_s`` is a pause after a failure.
    """

    def __init__(
        self,
        urls: dict[str, str],
        mix: Mix,
        concurrency: int,
        duration_s: float,
        max_requests: int | None = None,
        timeout_s: float = 120.0,
        protocols: Sequence[str] = ("grpc",),
        keep_results: bool = False,
        sequence: Sequence[tuple[Sample, dict[str, Any]]] | None = None,
        failure_pause_s: float = 0.0,
    ) -> None:
        self.urls = {p: local_url(u, p) for p, u in urls.items()}
        self.mix = mix
        self.concurrency = concurrency
        self.duration_s = duration_s
        self.max_requests = max_requests
        self.timeout_s = timeout_s
        self.protocols = list(protocols)
        self.keep_results = keep_results
        self.sequence = list(sequence) if sequence is not None else None
        self.failure_pause_s = failure_pause_s
        self.records: list[Record] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sent = 0
        self._threads: list[threading.Thread] = []
        self.started_at = 0.0
        self.finished_at = 0.0

    def _next(self) -> tuple[Sample, dict[str, Any]] | None:
        with self._lock:
            if self._stop.is_set() or time.monotonic() >= self._deadline:
                return None
            if self.max_requests is not None and self._sent >= self.max_requests:
                return None
            index = self._sent
            self._sent += 1
            if self.sequence is not None:
                return self.sequence[index % len(self.sequence)]
            return self.mix.draw()

    def _worker(self, worker: int) -> None:
        protocol = self.protocols[worker % len(self.protocols)]
        client = make_client(protocol, self.urls[protocol], self.timeout_s)
        try:
            while (item := self._next()) is not None:
                sample, options = item
                started = time.time()
                t0 = time.perf_counter()
                try:
                    result, _ = infer(client, protocol, sample.data, options, self.timeout_s)
                    outcome, reason, message = "ok", "", ""
                    if not is_complete_result(result):
                        outcome, reason, message = "error", "incomplete", "incomplete result"
                except Exception as exc:
                    result = None
                    outcome, reason = classify(exc)
                    message = str(exc)[:500]
                record = Record(
                    start=started,
                    latency_s=time.perf_counter() - t0,
                    outcome=outcome,
                    reason=reason,
                    sample=sample.name,
                    name=request_name(sample, options),
                    protocol=protocol,
                    worker=worker,
                    message=message,
                    result=result if self.keep_results and outcome == "ok" else None,
                )
                with self._lock:
                    self.records.append(record)
                if outcome != "ok" and self.failure_pause_s:
                    self._stop.wait(self.failure_pause_s)  # back off like a real client
        finally:
            close = getattr(client, "close", None)
            if close is not None:
                close()

    def start(self) -> LoadDriver:
        self.started_at = time.time()
        self._deadline = time.monotonic() + self.duration_s
        self._threads = [
            threading.Thread(target=self._worker, args=(i,), daemon=True, name=f"load-{i}")
            for i in range(self.concurrency)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the workers (at most ``timeout_s``); True when all have finished."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for thread in self._threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)
        self.finished_at = time.time()
        return not any(t.is_alive() for t in self._threads)

    def run(self) -> list[Record]:
        """start + join (bounded by duration + one client timeout)."""
        self.start()
        self.join(self.duration_s + self.timeout_s + 10)
        return list(self.records)


# --- numbers -----------------------------------------------------------------------------------
def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]); NaN for no values."""
    data = sorted(values)
    if not data:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(data)))
    return data[min(rank, len(data)) - 1]


def summarize(records: Sequence[Record], elapsed_s: float | None = None) -> dict[str, Any]:
    """Counts by outcome, accepted latency percentiles (s), throughput, message samples."""
    ok = [r.latency_s for r in records if r.outcome == "ok"]
    by_reason: dict[str, int] = {}
    samples: dict[str, str] = {}
    for r in records:
        if r.outcome != "ok":
            by_reason[r.reason] = by_reason.get(r.reason, 0) + 1
            samples.setdefault(r.reason, r.message)
    if elapsed_s is None and records:
        elapsed_s = max(r.start + r.latency_s for r in records) - min(r.start for r in records)
    return {
        "requests": len(records),
        "ok": len(ok),
        "rejected": sum(r.outcome == "rejected" for r in records),
        "errors": sum(r.outcome == "error" for r in records),
        "by_reason": by_reason,
        "messages": samples,
        "p50_s": percentile(ok, 50),
        "p95_s": percentile(ok, 95),
        "max_s": max(ok) if ok else math.nan,
        "elapsed_s": elapsed_s or 0.0,
        "throughput_rps": len(ok) / elapsed_s if elapsed_s else 0.0,
    }


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


# --- model repository copies with other queue policies -----------------------------------------
PYTHON_STEPS = ("decode_page", "find_seals", "detect_text_lines", "read_text_lines", "build_result")
ONNX_ENTRIES = ("layout", "seal_det", "text_rec")
_POLICY_RE = re.compile(r"default_queue_policy\s*\{[^}]*\}")
_TIMEOUT_RE = re.compile(r"default_timeout_microseconds:\s*(\d+)")
_QUEUE_RE = re.compile(r"max_queue_size:\s*(\d+)")
_COUNT_RE = re.compile(r"(?<=KIND_CPU )count:\s*\d+")


@dataclass(frozen=True)
class QueuePolicy:
    """``default_queue_policy`` values: ``timeout_s`` None = no queue timeout, ``max_queue_size``
    0 = unlimited (Triton's meaning of 0)."""

    max_queue_size: int
    timeout_s: float | None

    def __str__(self) -> str:
        size = self.max_queue_size or "unlimited"
        timeout = "none" if self.timeout_s is None else f"{self.timeout_s:g} s"
        return f"max_queue_size {size}, queue timeout {timeout}"

    def pbtxt(self) -> str:
        timeout = ""
        if self.timeout_s is not None:
            micros = round(self.timeout_s * 1e6)
            timeout = f"timeout_action: REJECT default_timeout_microseconds: {micros} "
        return f"default_queue_policy {{ {timeout}max_queue_size: {self.max_queue_size} }}"


def read_queue_policy(repository: Path, model: str) -> QueuePolicy | None:
    """The queue policy the CPU server uses for ``model`` (configs/cpu.pbtxt, else config.pbtxt);
    None when it has none."""
    path = repository / model / "configs" / "cpu.pbtxt"
    if not path.is_file():
        path = repository / model / "config.pbtxt"
    text = "\n".join(line.split("#", 1)[0] for line in path.read_text().splitlines())
    block = _POLICY_RE.search(text)
    if block is None:
        return None
    size, timeout = _QUEUE_RE.search(block.group()), _TIMEOUT_RE.search(block.group())
    return QueuePolicy(
        int(size.group(1)) if size else 0,
        int(timeout.group(1)) / 1e6 if timeout and int(timeout.group(1)) else None,
    )


def read_max_in_flight(repository: Path) -> int:
    """decode_page's admission cap in ``repository`` (0 = none)."""
    text = (repository / "decode_page" / "config.pbtxt").read_text()
    match = re.search(r'key: "max_in_flight" value: \{ string_value: "(\d+)" \}', text)
    return int(match.group(1)) if match else 0


def read_backlog(repository: Path) -> int:
    """Requests that wait for an admission slot in ``repository`` before any is refused:
    decode_page's queue (``max_queue_size``) + one waiting in each of its instances."""
    policy = read_queue_policy(repository, "decode_page")
    text = (repository / "decode_page" / "config.pbtxt").read_text()
    counts = _COUNT_RE.findall(text.split("instance_group", 1)[-1].split("]")[0])
    instances = sum(int(c.split(":")[-1]) for c in counts) or 1
    return (policy.max_queue_size if policy else 0) + instances


def copy_repository(
    source: Path,
    destination: Path,
    steps: QueuePolicy | None = None,
    onnx: QueuePolicy | None = None,
    instances: dict[str, int] | None = None,
) -> Path:
    """Copy a model repository (~25 MB) and replace the ``default_queue_policy`` of its Python
    steps (``steps``) and/or ONNX entries (``onnx``, every config variant), and the instance
    ``count`` of the models in ``instances``. The source is never modified. Returns
    ``destination``."""
    shutil.copytree(
        source, destination, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=False
    )
    for models, policy in ((PYTHON_STEPS, steps), (ONNX_ENTRIES, onnx)):
        if policy is None:
            continue
        for model in models:
            for path in (destination / model).glob("**/*.pbtxt"):
                text = path.read_text()
                if _POLICY_RE.search(text):
                    path.write_text(_POLICY_RE.sub(policy.pbtxt(), text))
    for model, count in (instances or {}).items():
        for path in (destination / model).glob("**/*.pbtxt"):
            text = _COUNT_RE.sub(f"count: {count}", path.read_text())
            path.write_text(text)
    return destination


# --- docs/robustness.md sections ---------------------------------------------------------------
def update_doc_section(path: Path, key: str, body: str) -> None:
    """Replace the text between ``<!-- key:begin -->`` and ``<!-- key:end -->`` in ``path``
    (appended at the end when the markers are absent)."""
    begin, end = f"<!-- {key}:begin -->", f"<!-- {key}:end -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = path.read_text() if path.is_file() else "# Robustness\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
