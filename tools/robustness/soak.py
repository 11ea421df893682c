"""Soak: hours-long style mixed traffic, checking for failures and memory growth.

    .venv/bin/python -m tools.robustness.soak --minutes 30     # `make soak` (SOAK_MINUTES)

Starts an own tritonserver on free ports and sends mixed, valid traffic: ``--clients`` closed-loop
clients alternating gRPC and HTTP, ``use_layout_detection`` on and off, the real images of
``$SEAL_EVAL_DIR`` (seal pictures and full pages) plus ``--synth`` synthetic pictures from
``tools.synth.seals.generate``. Warm-up: every image once with layout on and off, then
``--warmup-seconds`` of the full load; the RSS of the server and of every stub process (labelled
by model instance) is taken then ("start") and after ``--minutes`` more of load ("end"), both
with no request in flight.

Pass: no failed request (valid input must never fail) and, for every model (the server counts
as one), its largest process grows less than ``--max-growth`` percent from start to end. The
growth of every single process is reported too, but single instances jump the first time they
get the largest page (see :meth:`SoakReport.model_growth`). Results go to ``docs/robustness.md``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import tritonclient.grpc as grpcclient

from seal_client.transport import PROTOCOLS
from seal_ocr import tensor_names as names
from seal_triton import procs
from seal_triton.launcher import DEFAULT_MODEL_REPOSITORY, ServerConfig, TritonServer
from tools.robustness import (
    REPO_ROOT,
    LoadDriver,
    Mix,
    load_samples,
    summarize,
    synth_samples,
    update_doc_section,
    wait_drained,
)

DOC = REPO_ROOT / "docs" / "robustness.md"
LOG_DIR = REPO_ROOT / ".build" / "robustness"
MB = 1024 * 1024


@dataclass
class SoakReport:
    command: str
    started: str
    minutes: float
    clients: int
    protocols: tuple[str, ...]
    samples: list[str]
    warmup: dict[str, Any] = field(default_factory=dict)
    load: dict[str, Any] = field(default_factory=dict)
    cold: dict[str, dict[str, Any]] = field(default_factory=dict)
    start_rss: dict[str, dict[str, Any]] = field(default_factory=dict)
    end_rss: dict[str, dict[str, Any]] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)
    max_growth: float = 10.0
    duration_s: float = 0.0
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def growth(self) -> dict[str, float]:
        """Percent RSS growth start -> end per process (a process gone at the end: +inf)."""
        out = {}
        for label, first in self.start_rss.items():
            last = self.end_rss.get(label)
            out[label] = (
                float("inf") if last is None else 100.0 * (last["rss"] / first["rss"] - 1.0)
            )
        return out

    def model_growth(self) -> dict[str, float]:
        """Percent growth start -> end of the largest process of each model.

        An instance's RSS jumps the first time it handles a large page (numpy and ONNX Runtime
        keep the memory, the shm region stays grown), so a single instance "grows" when the
        warm-up did not happen to send it the largest input; a leak grows the largest one too.
        The warm-up sends every request once per client at once, so each instance has seen every
        picture (and the shm regions, mapped into tritonserver too, have grown) before ``start``.
        """

        out = {}
        for model in {str(e["model"]) for e in self.start_rss.values()}:
            first = max(int(e["rss"]) for e in self.start_rss.values() if e["model"] == model)
            ends = [
                self.end_without_shm_growth(label)
                for label, e in self.end_rss.items()
                if e["model"] == model
            ]
            out[model] = 100.0 * (max(ends) / first - 1.0) if ends else float("inf")
        return dict(sorted(out.items()))

    def end_without_shm_growth(self, label: str) -> int:
        """End RSS minus the growth of its shared pages since the start reading.

        The Python backend's shm region (mapped into the stub and tritonserver) keeps the pages
        of the largest message it ever carried: a bounded high-water by design, which steps up
        when an instance first gets a larger batch or page (layout 103 -> 152 MB from batch 1
        to 4; detect_text_lines +49 MB shared, -8 MB private, in a 2-minute soak). A leak is
        private memory; the percentage stays relative to the whole RSS at the start.
        """
        first, last = self.start_rss.get(label, {}), self.end_rss[label]
        shm_growth = max(0, int(last.get("shared", 0)) - int(first.get("shared", 0)))
        return int(last["rss"]) - shm_growth

    @property
    def failures(self) -> int:
        return self.load.get("rejected", 0) + self.load.get("errors", 0)

    def checks(self) -> dict[str, bool]:
        growth = self.model_growth()
        limit = self.max_growth
        return {
            "no failed request": self.failures == 0
            and self.warmup.get("ok") == self.warmup.get("requests"),
            f"the largest process of every model grew < {limit:g}% after warm-up "
            "(shm high-water excluded)": bool(growth) and max(growth.values()) < limit,
            "same processes at start and end": set(self.start_rss) == set(self.end_rss),
        }

    @property
    def passed(self) -> bool:
        return all(self.checks().values())

    def table(self) -> list[str]:
        rows = [
            "| process | model | cold MB | start MB | end MB | peak MB | growth | shared start |"
            " shared end |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        growth = self.growth()
        for label, first in self.start_rss.items():
            last = self.end_rss.get(label, {}).get("rss")
            cold = self.cold.get(label, {}).get("rss")
            rows.append(
                f"| {label} | {first['model']} | {_mb(cold)} | {_mb(first['rss'])} | "
                f"{_mb(last)} | {_mb(self.peak_rss.get(label))} | {growth[label]:+.1f}% | "
                f"{_mb(first.get('shared'))} | {_mb(self.end_rss.get(label, {}).get('shared'))} |"
            )
        total_start = sum(e["rss"] for e in self.start_rss.values())
        total_end = sum(e["rss"] for e in self.end_rss.values())
        total_cold = sum(e["rss"] for e in self.cold.values())
        rows.append(
            f"| **all** | | {_mb(total_cold)} | {_mb(total_start)} | {_mb(total_end)} | | "
            f"{100.0 * (total_end / max(1, total_start) - 1):+.1f}% | | |"
        )
        models = self.model_growth()
        rows += [
            "",
            "| largest process of | " + " | ".join(models) + " |",
            "|---|" + "---:|" * len(models),
            "| growth, shm high-water excluded | "
            + " | ".join(f"{g:+.1f}%" for g in models.values())
            + " |",
        ]
        return rows

    def summary(self) -> str:
        w, o = self.warmup, self.load
        growth = self.model_growth()
        worst = max(growth, key=growth.get) if growth else "-"
        lines = [
            f"warm-up: {w.get('requests', 0)} requests, {w.get('ok', 0)} ok",
            f"soak {self.minutes:g} min, {self.clients} clients {'+'.join(self.protocols)}: "
            f"{o.get('requests', 0)} requests, failures {self.failures} "
            f"{o.get('by_reason', {})}, {o.get('throughput_rps', 0):.2f} req/s, "
            f"p50/p95 {o.get('p50_s', 0):.1f}/{o.get('p95_s', 0):.1f} s",
            f"largest growth of a model's largest process: {worst} {growth.get(worst, 0):+.1f}%",
            *self.table(),
        ]
        lines += [f"  [{'PASS' if ok else 'FAIL'}] {name}" for name, ok in self.checks().items()]
        return "\n".join(lines)

    def markdown(self) -> str:
        o = self.load
        checks = "\n".join(
            f"- {'PASS' if ok else '**FAIL**'}: {name}" for name, ok in self.checks().items()
        )
        messages = "\n".join(
            f"- `{reason}`: `{' '.join(msg.split())[:220]}`"
            for reason, msg in sorted(o.get("messages", {}).items())
        )
        return f"""### Soak run {self.started}

Command: `{self.command}` ({self.duration_s / 60:.1f} min in all, load average at start
{self.load_average[0]:.1f} on {os.cpu_count()} cores). Traffic: {self.clients} closed-loop
clients ({", ".join(self.protocols)} alternating), layout on/off at random, {len(self.samples)}
images ({", ".join(self.samples)}).

Warm-up: {self.warmup.get("requests", 0)} requests ({self.warmup.get("ok", 0)} ok): each image
with layout on and off ({self.clients} at a time), then the full load for the warm-up time.

| soak time | requests | failures | throughput | p50 | p95 | max |
|---:|---:|---:|---:|---:|---:|---:|
| {self.minutes:g} min | {o.get("requests", 0)} | {self.failures} | \
{o.get("throughput_rps", 0):.2f} req/s | {o.get("p50_s", 0):.1f} s | {o.get("p95_s", 0):.1f} s | \
{o.get("max_s", 0):.1f} s |

{messages}

RSS, taken idle (no request in flight): cold = right after start-up, start = after the warm-up,
end = after the soak; peak = the highest of the samples taken every 10 s under load during the
soak. "shared" is the part of RSS in shared or file-backed pages: the Python backend's shm
regions are mapped into both the stub and tritonserver and only grow. Pass criterion: the
largest process of each model (single instances jump when they first get a large page), its end
RSS less the growth of its shared pages (the shm high-water steps up when an instance first
carries a larger batch or page; a leak is private memory).

{chr(10).join(self.table())}

{checks}
"""


def _mb(value: int | None) -> str:
    return "-" if value is None else f"{value / MB:.0f}"


def _sample_rss(pid: int, stop: threading.Event, peak: dict[str, int]) -> None:
    while not stop.wait(10.0):
        try:
            for label, entry in procs.rss(pid).items():
                peak[label] = max(peak.get(label, 0), int(entry["rss"]))
        except Exception:  # the server may be stopping
            pass


# before each RSS reading: jemalloc's background thread returns freed pages over its 10 s
# dirty-page decay; read at once, a small stub (decode_page, ~85 MB) showed +10 % of pages its
# last large image had freed
SETTLE_S = 15.0


def fill_layout_batches(grpc_url: str) -> None:
    """Send ``layout`` one batch of each size up to its ``max_batch_size``.

    layout's input shape is fixed, so its stub's memory high-water (its shm region carries the
    batch; measured 103 MB at batch 1, 152 MB at batch 4) is set by the largest batch the dynamic
    batcher ever forms. The page warm-up does not always form it; when the soak did, the step
    (+16 MB) failed the growth check, though it never grew further (30 minutes).
    """
    client = grpcclient.InferenceServerClient(grpc_url)
    config = client.get_model_config(names.LAYOUT_MODEL).config
    dims = [int(d) for d in config.input[0].dims]
    for batch in range(1, config.max_batch_size + 1):
        image = grpcclient.InferInput(names.LAYOUT_IMAGE, [batch, *dims], "FP32")
        image.set_data_from_numpy(np.zeros((batch, *dims), np.float32))
        scale = grpcclient.InferInput(names.LAYOUT_SCALE_FACTOR, [batch, 2], "FP32")
        scale.set_data_from_numpy(np.ones((batch, 2), np.float32))
        client.infer(names.LAYOUT_MODEL, [image, scale], client_timeout=120)


def run_soak(
    minutes: float,
    clients: int = 3,
    warmup_s: float = 60.0,
    synth: int = 4,
    images: str = "all",
    protocols: tuple[str, ...] = PROTOCOLS,
    timeout_s: float = 300.0,
    max_growth: float = 10.0,
    repository: Path = DEFAULT_MODEL_REPOSITORY,
    log_dir: Path = LOG_DIR,
    command: str = "",
    seed: int = 0,
) -> SoakReport:
    began = time.monotonic()
    samples = load_samples(selection=images) + synth_samples(synth, seed=seed)
    report = SoakReport(
        command=command,
        started=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        minutes=minutes,
        clients=clients,
        protocols=protocols,
        samples=[s.name for s in samples],
        max_growth=max_growth,
        load_average=os.getloadavg(),
    )
    config = ServerConfig(model_repository=repository, http_port=0, grpc_port=0, metrics_port=0)
    server = TritonServer(config, log_path=log_dir / "soak-tritonserver.log")
    server.start(timeout_s=180)
    try:
        pid = server.process.pid
        urls = {"grpc": server.grpc_url, "http": server.http_url}
        metrics = f"127.0.0.1:{config.metrics_port}"
        report.cold = procs.rss(pid)
        fill_layout_batches(urls["grpc"])
        # each request `clients` times in a row: the clients send it at once, so every instance
        # of each step (3 each) sees every picture before RSS is read (an instance's RSS jumps
        # the first time it gets a large page, which is not a leak)
        sequence = [
            (s, {"use_layout_detection": lay})
            for s in samples
            for lay in (True, False)
            for _ in range(clients)
        ]
        _say(f"warm-up: {len(sequence)} requests, then {warmup_s:.0f} s of load")
        first = LoadDriver(
            urls, Mix(samples), clients, 3600, len(sequence), timeout_s, protocols,
            sequence=sequence,
        ).run()  # fmt: skip
        mix = Mix(samples, page_weight=0.2, layout="mixed", seed=seed)
        warm = LoadDriver(urls, mix, clients, warmup_s, None, timeout_s, protocols).run()
        report.warmup = summarize(first + warm)

        # RSS is compared idle (no request in flight) so that it does not depend on which
        # requests happen to be in flight at the moment
        wait_drained(metrics, timeout_s=60)
        time.sleep(SETTLE_S)
        report.start_rss = procs.rss(pid)
        stop = threading.Event()
        sampler = threading.Thread(
            target=_sample_rss, args=(pid, stop, report.peak_rss), daemon=True
        )
        sampler.start()
        _say(f"soak: {clients} clients for {minutes:g} min")
        driver = LoadDriver(urls, mix, clients, minutes * 60, None, timeout_s, protocols)
        records = driver.run()
        stop.set()
        sampler.join(15)
        wait_drained(metrics, timeout_s=60)
        time.sleep(SETTLE_S)
        report.end_rss = procs.rss(pid)
        report.load = summarize(records, elapsed_s=driver.finished_at - driver.started_at)
    finally:
        server.stop()
    report.duration_s = time.monotonic() - began
    return report


def _say(text: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.robustness.soak", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--minutes", type=float, default=30.0, help="soak time after warm-up")
    parser.add_argument("--clients", type=int, default=3, help="closed-loop clients")
    parser.add_argument("--warmup-seconds", type=float, default=60.0)
    parser.add_argument("--synth", type=int, default=4, help="synthetic pictures added")
    parser.add_argument("--images", default="all", help="all | seals | pages | names/globs")
    parser.add_argument("--protocols", default="grpc,http")
    parser.add_argument("--timeout-s", type=float, default=300.0, help="client timeout")
    parser.add_argument("--max-growth", type=float, default=10.0, help="percent")
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.clients <= 0:
        parser.error("--minutes and --clients must be > 0")
    command = "python -m tools.robustness.soak " + shlex.join(argv or sys.argv[1:])
    report = run_soak(
        minutes=args.minutes,
        clients=args.clients,
        warmup_s=args.warmup_seconds,
        synth=args.synth,
        images=args.images,
        protocols=tuple(p.strip() for p in args.protocols.split(",") if p.strip()),
        timeout_s=args.timeout_s,
        max_growth=args.max_growth,
        command=command.strip(),
    )
    print(report.summary())
    if not args.no_doc:
        update_doc_section(args.doc, "soak", report.markdown())
        print(f"written to {args.doc}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
