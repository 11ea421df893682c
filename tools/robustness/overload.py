"""Overload: what the server does with 4x the work it can do, and whether it recovers.

    .venv/bin/python -m tools.robustness.overload            # `make overload`
    .venv/bin/python -m tools.robustness.overload --max-queue-size 4 --queue-timeout-s 10

1. Start an own tritonserver on free ports (optionally on a copy of the model repository with
   other queue policies: ``--max-queue-size`` / ``--queue-timeout-s`` for the Python steps).
2. Warm up, then find the saturating concurrency C_sat: closed-loop clients at 1, 2, 4, ...;
   C_sat is the first level whose next level adds less than ``--growth`` throughput.
3. Run locust headless (``perf/locustfile.py``) with ``--factor`` x C_sat users for
   ``--overload-seconds``; every request ends in accepted, rejected (UNAVAILABLE: queue full /
   queue timeout, or a client deadline) or error.
4. Wait until no model has pending requests, then run C_sat clients again (recovery).

Pass: errors == 0; rejected > 0 (excess work is refused, not queued without limit); accepted
p95 <= the bound the queue policies give (every queue a request passes holds it at most its
timeout, plus the service time); every recovery request succeeds with p50 <= ``--recovery-ratio``
x the p50 measured at C_sat before the overload. Results go to ``docs/robustness.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shlex
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seal_client.transport import PROTOCOLS
from seal_ocr import tensor_names as names
from seal_triton.launcher import DEFAULT_MODEL_REPOSITORY, ServerConfig, TritonServer
from tools.robustness import (
    ONNX_ENTRIES,
    PYTHON_STEPS,
    REPO_ROOT,
    LoadDriver,
    Mix,
    QueuePolicy,
    Record,
    copy_repository,
    load_samples,
    pending_requests,
    read_backlog,
    read_max_in_flight,
    read_queue_policy,
    run_locust_headless,
    summarize,
    update_doc_section,
    wait_drained,
)

DOC = REPO_ROOT / "docs" / "robustness.md"
LOG_DIR = REPO_ROOT / ".build" / "robustness"
BLS_STEPS = (names.FIND_SEALS, names.DETECT_TEXT_LINES, names.READ_TEXT_LINES)  # calling ONNX


@dataclass
class OverloadSettings:
    levels: tuple[int, ...] = (1, 2, 4)
    probe_s: float = 30.0
    growth: float = 0.15
    factor: int = 4
    overload_s: float = 120.0
    recovery_s: float = 30.0
    recovery_ratio: float = 2.0
    images: str = "seals"
    layout: str = "mixed"
    protocol: str = "grpc"
    timeout_s: float = 300.0  # client timeout: above the server's own bound
    warmup_images: str | None = None  # default: the same images
    seed: int = 0
    log_dir: Path = LOG_DIR
    max_in_flight: int | None = None  # admission cap for the server (None: the repository's)


@dataclass
class OverloadReport:
    settings: OverloadSettings
    repository: Path
    step_policy: QueuePolicy | None
    onnx_policy: QueuePolicy | None
    max_in_flight: int
    started: str
    load_average: tuple[float, float, float]
    # requests that wait for a slot before refusal: decode_page's queue + its instances
    backlog: int = 0
    probes: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    c_sat: int = 1
    users: int = 0
    overload: dict[str, Any] = field(default_factory=dict)
    max_pending: dict[str, float] = field(default_factory=dict)
    drain_s: float | None = None
    recovery: dict[str, Any] = field(default_factory=dict)
    baseline_p50_s: float = math.nan
    latency_bound_s: float = math.nan
    locust_exit_code: int | None = None
    command: str = ""
    duration_s: float = 0.0
    note: str = "the shipped model_repository"

    # --- verdicts ---
    def checks(self) -> dict[str, bool]:
        o, r = self.overload, self.recovery
        return {
            "no errors under overload": o.get("errors", 1) == 0,
            "excess work rejected": o.get("rejected", 0) > 0,
            "accepted p95 within the admission/queue-policy bound": bool(
                o.get("ok") and o["p95_s"] <= self.latency_bound_s
            ),
            "server drained after the overload": self.drain_s is not None,
            "recovery requests all succeed": bool(r.get("requests") and r["ok"] == r["requests"]),
            "recovery latency back to normal": bool(
                r.get("ok")
                and not math.isnan(self.baseline_p50_s)
                and r["p50_s"] <= self.settings.recovery_ratio * self.baseline_p50_s
            ),
        }

    @property
    def passed(self) -> bool:
        return all(self.checks().values())

    def _bound_text(self) -> str:
        if self.max_in_flight:
            return (
                f"(max_in_flight {self.max_in_flight} + backlog {self.backlog}) x the slowest "
                "request seen at saturation (an accepted request waits behind at most the "
                "backlog, then shares the pipeline with at most max_in_flight - 1 others)"
            )
        return (
            f"5 Python-step queue timeouts{self._onnx_bound_text()} + 3 x the slowest request "
            "seen at saturation (execution, including the BLS waits in the ONNX queues, which "
            "only hold the chunks of the <= 3 executing instances of each step)"
        )

    def _onnx_bound_text(self) -> str:
        if self.onnx_policy is not None and self.onnx_policy.timeout_s is not None:
            return " + 3 ONNX queue timeouts"
        return ""

    def summary(self) -> str:
        o, r = self.overload, self.recovery
        lines = [
            f"C_sat = {self.c_sat} "
            + "("
            + ", ".join(f"{c}: {s['throughput_rps']:.2f} req/s" for c, s in self.probes)
            + ")",
            f"overload {self.users} users x {self.settings.overload_s:.0f} s: "
            f"{o.get('requests', 0)} requests, accepted {o.get('ok', 0)}, rejected "
            f"{o.get('rejected', 0)} {o.get('by_reason', {})}, errors {o.get('errors', 0)}; "
            f"accepted p50/p95/max {_s(o.get('p50_s'))}/{_s(o.get('p95_s'))}/"
            f"{_s(o.get('max_s'))} (bound {_s(self.latency_bound_s)})",
            f"drained in {_s(self.drain_s)}; recovery {self.c_sat} clients: "
            f"{r.get('ok', 0)}/{r.get('requests', 0)} ok, p50 {_s(r.get('p50_s'))} "
            f"(before: {_s(self.baseline_p50_s)})",
        ]
        lines += [f"  [{'PASS' if ok else 'FAIL'}] {name}" for name, ok in self.checks().items()]
        return "\n".join(lines)

    def markdown(self) -> str:
        s, o, r = self.settings, self.overload, self.recovery
        policy = (
            f"admission cap max_in_flight {self.max_in_flight or 'off'}; Python steps: "
            f"{self.step_policy}; ONNX entries: {self.onnx_policy}"
        )
        rows = [
            "| clients | requests | accepted | throughput | p50 | p95 |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        rows += [
            f"| {c} | {p['requests']} | {p['ok']} | {p['throughput_rps']:.2f} req/s | "
            f"{_s(p['p50_s'])} | {_s(p['p95_s'])} |"
            for c, p in self.probes
        ]
        messages = "\n".join(
            f"- `{reason}`: `{' '.join(msg.split())[:220]}`"
            for reason, msg in sorted(o.get("messages", {}).items())
        )
        pending = ", ".join(f"{m} {int(v)}" for m, v in sorted(self.max_pending.items()) if v)
        checks = "\n".join(
            f"- {'PASS' if ok else '**FAIL**'}: {name}" for name, ok in self.checks().items()
        )
        return f"""### Overload run {self.started}

Command: `{self.command}` ({self.duration_s / 60:.1f} min in all; load average at start
{self.load_average[0]:.1f} on {os.cpu_count()} cores). Traffic: {s.protocol}, images
`{s.images}`, layout {s.layout}. Server: {self.note}; queue policy: {policy}.

Saturation probe ({s.probe_s:.0f} s per level, closed loop): **C_sat = {self.c_sat}**.

{chr(10).join(rows)}

Overload: locust, **{self.users} users** (= max_in_flight {self.max_in_flight} + backlog
{self.backlog} + {s.factor} x C_sat) for {s.overload_s:.0f} s
(locust exit code {self.locust_exit_code}).

| requests | accepted | rejected | errors | accepted p50 | p95 | max | accepted/s |
|---:|---:|---:|---:|---:|---:|---:|---:|
| {o.get("requests", 0)} | {o.get("ok", 0)} | {o.get("rejected", 0)} {_reasons(o)} | \
{o.get("errors", 0)} | {_s(o.get("p50_s"))} | {_s(o.get("p95_s"))} | {_s(o.get("max_s"))} | \
{o.get("throughput_rps", 0):.2f} |

Latency bound for accepted requests: {_s(self.latency_bound_s)} = {self._bound_text()}.
Most pending requests per model during the overload (the ONNX entries count BLS chunks):
{pending or "none"}.

Rejection samples:
{messages or "- none"}

Recovery: drained (no pending request) {_s(self.drain_s)} after the load stopped; then
{self.c_sat} clients for {s.recovery_s:.0f} s: {r.get("ok", 0)}/{r.get("requests", 0)} accepted,
p50 {_s(r.get("p50_s"))}, p95 {_s(r.get("p95_s"))} (p50 at C_sat before the overload:
{_s(self.baseline_p50_s)}; limit {s.recovery_ratio:g}x).

{checks}
"""


def _s(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.1f} s"


def _reasons(summary: dict[str, Any]) -> str:
    reasons = {k: v for k, v in summary.get("by_reason", {}).items() if k != "error"}
    return "(" + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) + ")" if reasons else ""


def saturation(probes: list[tuple[int, dict[str, Any]]], growth: float) -> int:
    """First level whose next level adds less than ``growth`` (relative) throughput."""
    for (level, current), (_, following) in itertools.pairwise(probes):
        if following["throughput_rps"] < (1 + growth) * current["throughput_rps"]:
            return level
    return probes[-1][0]


def read_locust_log(path: Path) -> list[Record]:
    records = []
    if not path.is_file():
        return records
    for line in path.read_text().splitlines():
        row = json.loads(line)
        records.append(
            Record(
                start=row["start"],
                latency_s=row["ms"] / 1000,
                outcome=row["outcome"],
                reason=row["reason"],
                sample=row["sample"],
                name=row["name"],
                protocol=row["protocol"],
                worker=row["user"],
                message=row["message"],
            )
        )
    return records


def run_locust(
    url: str,
    users: int,
    seconds: float,
    settings: OverloadSettings,
    log_path: Path,
    csv_prefix: Path | None = None,
) -> tuple[int, list[Record]]:
    """locust headless in a subprocess against ``url`` (127.0.0.1); bounded in time."""
    log_path.unlink(missing_ok=True)
    environment = {
        "SEAL_PROTOCOL": settings.protocol,
        "SEAL_IMAGES": settings.images,
        "SEAL_LAYOUT": settings.layout,
        "SEAL_TIMEOUT_S": str(settings.timeout_s),
        "SEAL_SEED": str(settings.seed),
        "SEAL_LOG": str(log_path),
    }
    extra = ["--loglevel", "WARNING"]
    if csv_prefix is not None:
        extra += ["--csv", str(csv_prefix)]
    code = run_locust_headless(
        url,
        users,
        seconds,
        settings.timeout_s + 5,
        environment,
        extra,
        output=log_path.parent / "locust-output.txt",
    )
    return code, read_locust_log(log_path)


def _poll_pending(metrics: str, stop: threading.Event, peak: dict[str, float]) -> None:
    while not stop.wait(1.0):
        try:
            for model, value in pending_requests(metrics).items():
                peak[model] = max(peak.get(model, 0.0), value)
        except OSError:
            pass


def latency_bound(
    step_policy: QueuePolicy | None,
    onnx_policy: QueuePolicy | None,
    service_s: float,
    max_in_flight: int = 0,
    backlog: int = 0,
) -> float:
    """What admission control allows an accepted request (s): with a cap, it waits behind at
    most ``backlog`` requests for its slot and then shares the pipeline with at most
    ``max_in_flight - 1`` others, so (``max_in_flight`` + ``backlog``) x the slowest request
    seen at saturation (the later step queues never fill: the cap is below their sizes).

    Without a cap, what the queue policies allow: each of the 5 Python steps holds
    it at most its queue timeout; each ONNX entry at most its own (none: its queue only holds
    the BLS chunks of the <= 3 executing instances of the calling step, so the wait there is
    part of the step's execution); plus 3 x the slowest request seen at saturation for the
    execution itself. Infinite when a Python step has no queue timeout."""
    if max_in_flight > 0:
        return (max_in_flight + backlog) * service_s
    if step_policy is None or step_policy.timeout_s is None:
        return math.inf
    queues = len(PYTHON_STEPS) * step_policy.timeout_s
    if onnx_policy is not None and onnx_policy.timeout_s is not None:
        queues += len(ONNX_ENTRIES) * onnx_policy.timeout_s
    return queues + 3 * service_s


def run_overload(
    settings: OverloadSettings, repository: Path = DEFAULT_MODEL_REPOSITORY, command: str = ""
) -> OverloadReport:
    began = time.monotonic()
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    report = OverloadReport(
        settings=settings,
        repository=repository,
        step_policy=read_queue_policy(repository, names.READ_TEXT_LINES),
        onnx_policy=read_queue_policy(repository, names.TEXT_REC_MODEL),
        max_in_flight=(
            read_max_in_flight(repository)
            if settings.max_in_flight is None
            else settings.max_in_flight
        ),
        started=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        backlog=read_backlog(repository),
        load_average=os.getloadavg(),
        command=command,
    )
    samples = load_samples(selection=settings.images)
    warmup = load_samples(selection=settings.warmup_images or settings.images)
    config = ServerConfig(
        model_repository=repository,
        http_port=0,
        grpc_port=0,
        metrics_port=0,
        max_in_flight=settings.max_in_flight,
    )
    server = TritonServer(config, log_path=settings.log_dir / "overload-tritonserver.log")
    server.start(timeout_s=180)
    try:
        urls = {"grpc": server.grpc_url, "http": server.http_url}
        metrics = f"127.0.0.1:{config.metrics_port}"
        protocols = (settings.protocol,)
        sequence = [(s, {"use_layout_detection": lay}) for s in warmup for lay in (True, False)]
        _say(f"warm-up: {len(sequence)} requests")
        LoadDriver(
            urls, Mix(warmup), 1, 600, len(sequence), settings.timeout_s, protocols,
            sequence=sequence,
        ).run()  # fmt: skip

        for level in settings.levels:
            mix = Mix(samples, layout=settings.layout, seed=settings.seed + level)
            records = LoadDriver(
                urls, mix, level, settings.probe_s, None, settings.timeout_s, protocols
            ).run()
            report.probes.append((level, summarize(records)))
            _say(f"probe {level} clients: {report.probes[-1][1]['throughput_rps']:.2f} req/s")
            if len(report.probes) >= 2 and saturation(report.probes, settings.growth) < level:
                break
        report.c_sat = saturation(report.probes, settings.growth)
        at_sat = dict(report.probes)[report.c_sat]
        report.baseline_p50_s = at_sat["p50_s"]
        slowest = max(p["max_s"] for _, p in report.probes if p["ok"])
        report.latency_bound_s = latency_bound(
            report.step_policy, report.onnx_policy, slowest, report.max_in_flight, report.backlog
        )

        # past the cap and the backlog, which only wait: factor x C_sat users more than those
        waiting = report.max_in_flight + report.backlog if report.max_in_flight else 0
        report.users = waiting + settings.factor * report.c_sat
        _say(f"overload: {report.users} users for {settings.overload_s:.0f} s")
        stop = threading.Event()
        poller = threading.Thread(
            target=_poll_pending, args=(metrics, stop, report.max_pending), daemon=True
        )
        poller.start()
        url = urls[settings.protocol]
        report.locust_exit_code, records = run_locust(
            url,
            report.users,
            settings.overload_s,
            settings,
            settings.log_dir / "overload-requests.jsonl",
            settings.log_dir / "overload-locust",
        )
        stop.set()
        poller.join(5)
        report.overload = summarize(records)

        report.drain_s = wait_drained(metrics, timeout_s=settings.timeout_s)
        _say(f"recovery: {report.c_sat} clients for {settings.recovery_s:.0f} s")
        mix = Mix(samples, layout=settings.layout, seed=settings.seed + 1000)
        records = LoadDriver(
            urls, mix, report.c_sat, settings.recovery_s, None, settings.timeout_s, protocols
        ).run()
        report.recovery = summarize(records)
    finally:
        server.stop()
    report.duration_s = time.monotonic() - began
    return report


def _say(text: str) -> None:
    print(f"[overload {time.strftime('%H:%M:%S')}] {text}", flush=True)


def _override(
    current: QueuePolicy | None, size: int | None, timeout_s: float | None
) -> QueuePolicy | None:
    """A changed policy, or None when nothing is overridden."""
    if size is None and timeout_s is None:
        return None
    base = current or QueuePolicy(0, None)
    return QueuePolicy(
        size if size is not None else base.max_queue_size,
        (timeout_s or None) if timeout_s is not None else base.timeout_s,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.robustness.overload", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--levels", default="1,2,3", help="client counts probed (default 1,2,3: <= the cap)"
    )
    parser.add_argument("--probe-seconds", type=float, default=30.0)
    parser.add_argument("--growth", type=float, default=0.15)
    parser.add_argument("--factor", type=int, default=4, help="users = factor x C_sat")
    parser.add_argument("--overload-seconds", type=float, default=120.0)
    parser.add_argument("--recovery-seconds", type=float, default=30.0)
    parser.add_argument("--recovery-ratio", type=float, default=2.0)
    parser.add_argument("--images", default="seals", help="all | seals | pages | names/globs")
    parser.add_argument("--layout", default="mixed", choices=["mixed", "on", "off"])
    parser.add_argument("--protocol", default="grpc", choices=PROTOCOLS)
    parser.add_argument("--timeout-s", type=float, default=300.0, help="client timeout")
    parser.add_argument("--max-queue-size", type=int, help="override, Python steps (a copy)")
    parser.add_argument("--queue-timeout-s", type=float, help="override, Python steps (a copy)")
    parser.add_argument(
        "--step-instances",
        type=int,
        help="override: instance count of find_seals, detect_text_lines, read_text_lines (a copy)",
    )
    parser.add_argument("--onnx-max-queue-size", type=int, help="override, ONNX entries (a copy)")
    parser.add_argument(
        "--onnx-queue-timeout-s", type=float, help="override, ONNX entries (a copy); 0 = none"
    )
    parser.add_argument(
        "--max-in-flight", type=int, help="admission cap of the server (default: its config)"
    )
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--no-doc", action="store_true", help="do not update the doc")
    args = parser.parse_args(argv)

    settings = OverloadSettings(
        levels=tuple(int(x) for x in args.levels.split(",")),
        probe_s=args.probe_seconds,
        growth=args.growth,
        factor=args.factor,
        overload_s=args.overload_seconds,
        recovery_s=args.recovery_seconds,
        recovery_ratio=args.recovery_ratio,
        images=args.images,
        layout=args.layout,
        protocol=args.protocol,
        timeout_s=args.timeout_s,
        max_in_flight=args.max_in_flight,
    )
    command = "python -m tools.robustness.overload " + shlex.join(argv or sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="seal-overload-") as tmp:
        repository = DEFAULT_MODEL_REPOSITORY
        step = _override(
            read_queue_policy(repository, names.READ_TEXT_LINES),
            args.max_queue_size,
            args.queue_timeout_s,
        )
        onnx = _override(
            read_queue_policy(repository, names.TEXT_REC_MODEL),
            args.onnx_max_queue_size,
            args.onnx_queue_timeout_s,
        )
        instances = None
        if args.step_instances is not None:
            instances = dict.fromkeys(BLS_STEPS, args.step_instances)
        key = "overload"
        if (
            step is not None
            or onnx is not None
            or instances is not None
            or args.max_in_flight is not None
        ):
            repository = copy_repository(
                repository, Path(tmp) / "model_repository", step, onnx, instances
            )
            key = "overload-override"
        report = run_overload(settings, repository, command.strip())
    if key != "overload":
        changes = [f"Python steps {step}" if step else "", f"ONNX entries {onnx}" if onnx else ""]
        if instances:
            changes.append(f"{args.step_instances} instance(s) of {', '.join(BLS_STEPS)}")
        if args.max_in_flight is not None:
            changes.append(f"max_in_flight {args.max_in_flight}")
        report.note = "a copy of model_repository with " + "; ".join(c for c in changes if c)
    print(report.summary())
    if not args.no_doc:
        update_doc_section(args.doc, key, report.markdown())
        print(f"written to {args.doc}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
