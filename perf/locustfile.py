"""Locust traffic for the ``seal_recognition`` ensemble, on 127.0.0.1 only.

Each user sends one image after the other (closed loop, optional think time) over gRPC
(``tritonclient.grpc`` made gevent-friendly) or HTTP/KServe v2 with the binary-tensor extension
(``tritonclient.http``, which runs on gevent). Every request fires a locust ``request`` event
(type ``grpc``/``http``, name ``<kind>/<layout|no-layout>``, response time, exception).

Failures are split in two: ``Rejected`` - the server refused or timed out the work (UNAVAILABLE,
"Exceeds maximum queue size", "Request timeout expired", client deadline) - and ``RequestError``
(anything else, including an incomplete result). The process exits non-zero only for
``RequestError`` (and for rejections too with ``SEAL_FAIL_ON_REJECT=1``)::

    .venv/bin/locust -f perf/locustfile.py --headless -u 8 -r 8 -t 2m --host 127.0.0.1:8001
    SEAL_PROTOCOL=http .venv/bin/locust -f perf/locustfile.py --headless -u 4 -t 1m \\
        --host 127.0.0.1:8000

Environment knobs (all optional):

==================  =============================================================================
SEAL_PROTOCOL       ``grpc`` (default), ``http``, or ``mixed`` (half the users each; URLs from
                    SEAL_GRPC_URL / SEAL_HTTP_URL, default 127.0.0.1:8001 / :8000)
SEAL_EVAL_DIR       image folder (default ``<repo>/../shared/eval/real``)
SEAL_IMAGES         ``all`` (default), ``seals``, ``pages``, or comma-separated names/globs
SEAL_PAGE_GLOB      which files are full pages (default ``vignette_*``); the rest are seals
SEAL_PAGE_WEIGHT    share of draws that are pages when both kinds are present (default 0.2)
SEAL_SYNTH          add N synthetic pictures from ``tools.synth.seals`` (default 0)
SEAL_LAYOUT         ``mixed`` (default: use_layout_detection on/off at random), ``on``, ``off``
SEAL_OPTIONS        JSON object of extra predict options for every request
SEAL_TIMEOUT_S      client timeout per request in seconds (default 120)
SEAL_WAIT_S         think time per user: ``0`` (default) or ``min,max`` seconds
SEAL_BACKOFF        ``1`` (default): after a rejection a user backs off as ``SealClient`` does
                    (jittered, 0.25 s doubling to 8 s, reset by a success); ``0``: retry at once
SEAL_SEED           random seed of the draws (user ``i`` uses seed + i; default 0)
SEAL_LOG            append one JSON line per request (start, ms, outcome, reason, sample, ...)
SEAL_MODEL          model name (default ``seal_recognition``)
SEAL_FAIL_ON_REJECT ``1``: rejections also make the exit code non-zero
==================  =============================================================================

The host (``--host``) must be 127.0.0.1 (``127.0.0.1``, ``127.0.0.1:<port>``,
``grpc://127.0.0.1:<port>`` or ``http://127.0.0.1:<port>``); anything else is refused.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import sys
import time

PROTOCOL = os.environ.get("SEAL_PROTOCOL", "grpc").strip().lower()
if PROTOCOL not in ("grpc", "http", "mixed"):
    sys.exit(f"SEAL_PROTOCOL must be grpc, http or mixed, got {PROTOCOL!r}")
if PROTOCOL in ("grpc", "mixed"):
    # Before any channel exists: makes gRPC calls yield to other greenlets instead of
    # blocking the whole locust process.
    import grpc.experimental.gevent as grpc_gevent

    grpc_gevent.init_gevent()

from locust import User, between, constant, events, task  # noqa: E402
from locust.exception import StopUser  # noqa: E402

from tools.robustness import (  # noqa: E402
    MODEL,
    Mix,
    classify,
    infer,
    is_complete_result,
    load_samples,
    local_url,
    make_client,
    request_name,
    synth_samples,
)

TIMEOUT_S = float(os.environ.get("SEAL_TIMEOUT_S", "120"))
MODEL_NAME = os.environ.get("SEAL_MODEL", MODEL)
BACKOFF = os.environ.get("SEAL_BACKOFF", "1").strip() != "0"
SEED = int(os.environ.get("SEAL_SEED", "0"))
PAGE_WEIGHT = float(os.environ.get("SEAL_PAGE_WEIGHT", "0.2"))
LAYOUT = os.environ.get("SEAL_LAYOUT", "mixed")
EXTRA_OPTIONS = json.loads(os.environ.get("SEAL_OPTIONS", "{}") or "{}")
if not isinstance(EXTRA_OPTIONS, dict):
    sys.exit("SEAL_OPTIONS must be a JSON object")
SAMPLES = load_samples(
    selection=os.environ.get("SEAL_IMAGES", "all"),
    page_glob=os.environ.get("SEAL_PAGE_GLOB", "vignette_*"),
) + synth_samples(int(os.environ.get("SEAL_SYNTH", "0")), seed=SEED)
FAIL_ON_REJECT = os.environ.get("SEAL_FAIL_ON_REJECT", "0") == "1"

_log_file = open(os.environ["SEAL_LOG"], "a", buffering=1) if os.environ.get("SEAL_LOG") else None  # noqa: SIM115
_counts = {"ok": 0, "rejected": 0, "error": 0}
_user_ids = itertools.count()


class Rejected(Exception):
    """The server refused or timed out the request (admission control, not a bug)."""


class RequestError(Exception):
    """Any other failure: wrong input handling, server error, incomplete result."""


def _wait_time():
    spec = os.environ.get("SEAL_WAIT_S", "0").strip()
    if "," in spec:
        low, high = (float(x) for x in spec.split(",", 1))
        return between(low, high)
    return constant(float(spec or 0))


def _url(protocol: str, host: str | None) -> str:
    override = os.environ.get(f"SEAL_{protocol.upper()}_URL")
    if override:
        return local_url(override, protocol)
    if PROTOCOL == "mixed":
        return local_url(None, protocol)
    return local_url(host, protocol)


@events.init.add_listener
def _check_host(environment, **_kwargs) -> None:
    protocols = ("grpc", "http") if PROTOCOL == "mixed" else (PROTOCOL,)
    try:
        for protocol in protocols:
            _url(protocol, environment.host)
    except ValueError as exc:
        logging.error("%s", exc)
        raise SystemExit(2) from exc
    logging.info(
        "seal traffic: %s, %d images (%s), layout %s, timeout %.0f s",
        PROTOCOL,
        len(SAMPLES),
        ", ".join(sorted({s.kind for s in SAMPLES})),
        LAYOUT,
        TIMEOUT_S,
    )


@events.request.add_listener
def _count(context=None, **_kwargs) -> None:
    outcome = (context or {}).get("outcome")
    if outcome in _counts:
        _counts[outcome] += 1


@events.quitting.add_listener
def _exit_code(environment, **_kwargs) -> None:
    print(
        f"seal traffic summary: accepted {_counts['ok']}, rejected {_counts['rejected']}, "
        f"errors {_counts['error']}",
        file=sys.stderr,
    )
    bad = _counts["error"] + (_counts["rejected"] if FAIL_ON_REJECT else 0)
    environment.process_exit_code = 1 if bad else 0
    if _log_file is not None:
        _log_file.flush()


class _SealUser(User):
    abstract = True
    protocol = "grpc"
    wait_time = _wait_time()

    def on_start(self) -> None:
        self.backoff_s = 0.0
        try:
            self.url = _url(self.protocol, self.host)
        except ValueError as exc:
            logging.error("%s", exc)
            raise StopUser() from exc
        self.user_id = next(_user_ids)
        self.triton = make_client(self.protocol, self.url, TIMEOUT_S)
        self.mix = Mix(SAMPLES, PAGE_WEIGHT, LAYOUT, EXTRA_OPTIONS, seed=SEED + self.user_id)

    def on_stop(self) -> None:
        close = getattr(getattr(self, "triton", None), "close", None)
        if close is not None:
            close()

    @task
    def recognise(self) -> None:
        sample, options = self.mix.draw()
        name = request_name(sample, options)
        started = time.time()
        t0 = time.perf_counter()
        exception: Exception | None = None
        length = 0
        outcome, reason, message = "ok", "", ""
        try:
            result, length = infer(
                self.triton, self.protocol, sample.data, options, TIMEOUT_S, MODEL_NAME
            )
            if not is_complete_result(result):
                outcome, reason, message = "error", "incomplete", "incomplete result JSON"
        except Exception as exc:
            outcome, reason = classify(exc)
            message = str(exc)
        elapsed_ms = (time.perf_counter() - t0) * 1000
        if outcome != "ok":
            short = " ".join(message.split())[:200]
            exception = (Rejected if outcome == "rejected" else RequestError)(f"{reason}: {short}")
        self.environment.events.request.fire(
            request_type=self.protocol,
            name=name,
            response_time=elapsed_ms,
            response_length=length,
            exception=exception,
            context={"outcome": outcome, "reason": reason, "sample": sample.name},
            start_time=started,
            url=self.url,
        )
        if BACKOFF and outcome == "rejected":
            # a refused client comes back later, not at once: without this the users turn
            # the server's cheap refusals into a storm that takes CPU from accepted requests
            self.backoff_s = min(max(self.backoff_s * 2, 0.25), 8.0)
            time.sleep(self.backoff_s * random.uniform(0.5, 1.0))
        elif outcome == "ok":
            self.backoff_s = 0.0
        if _log_file is not None:
            row = {
                "start": started,
                "ms": round(elapsed_ms, 1),
                "outcome": outcome,
                "reason": reason,
                "name": name,
                "sample": sample.name,
                "protocol": self.protocol,
                "user": self.user_id,
                "message": message[:500],
            }
            _log_file.write(json.dumps(row, ensure_ascii=False) + "\n")


class GrpcSealUser(_SealUser):
    abstract = PROTOCOL == "http"
    protocol = "grpc"


class HttpSealUser(_SealUser):
    abstract = PROTOCOL == "grpc"
    protocol = "http"
