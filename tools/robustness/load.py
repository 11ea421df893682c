"""A bounded closed-loop load driver on threads, and the numbers of its records."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tools.robustness.calls import classify, infer, is_complete_result, make_client
from tools.robustness.samples import Mix, Sample, request_name
from tools.robustness.targets import local_url


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
