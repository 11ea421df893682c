"""``make perf``: perf_analyzer over a concurrency sweep of the ``seal_recognition`` ensemble.

1. Builds perf_analyzer's JSON input-data file from the real images and synthetic pictures
   (:func:`perf.common.image_set`): one data entry per image, ``IMAGE`` as ``b64`` of the
   serialized BYTES tensor (4-byte little-endian length + the file's bytes: for BYTES inputs
   perf_analyzer sends the decoded ``b64`` as the raw tensor). perf_analyzer cycles through the
   entries, so each window sees the whole mix.
2. Starts a server on free 127.0.0.1 ports (or uses ``--url``), then per concurrency runs
   perf_analyzer over gRPC with ``--request-count max(window, 2 x concurrency)``: one
   measurement of exactly that many requests (the whole image mix once or twice). Its stability
   windows do not fit here: pages differ up to 20x in cost, so windows of a few images never
   agree within perf_analyzer's band, and bigger windows would not fit the time budget.
3. Around each run, snapshots ``/v2/models/stats`` and reports per composing model the
   inference vs execution counts (batches the dynamic batchers formed) and queue vs compute
   time per request.

Writes ``perf/results/perf_analyzer.{csv,md}`` (+ the per-level raw CSV of perf_analyzer and the
statistics as JSON)::

    .venv/bin/python -m perf.perf_analyzer_sweep [--concurrency 1,2,4,8,16] [--url 127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import struct
import subprocess
import sys
import time
from pathlib import Path

from perf.common import (
    BUILD_DIR,
    RESULTS_DIR,
    Image,
    image_set,
    machine,
    model_stats,
    perf_analyzer_env,
    server,
    stats_delta,
    stats_table,
    uptime,
    write_csv,
)
from seal_ocr import tensor_names as names


def input_data(images: list[Image], path: Path, options: dict | None = None) -> Path:
    """perf_analyzer's ``--input-data`` JSON: one entry per image (BYTES as serialized b64)."""

    def serialized(data: bytes) -> str:
        return base64.b64encode(struct.pack("<I", len(data)) + data).decode()

    entries = []
    for image in images:
        entry = {names.IMAGE: {"b64": serialized(image.data), "shape": [1]}}
        if options:
            entry[names.OPTIONS] = {"b64": serialized(json.dumps(options).encode()), "shape": [1]}
        entries.append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"data": entries}))
    return path


def run_level(
    grpc_url: str,
    data_file: Path,
    concurrency: int,
    window: int,
    out_csv: Path,
    timeout_s: float,
) -> tuple[int, str]:
    """One perf_analyzer run at ``concurrency``; returns (exit code, its output)."""
    binary, env = perf_analyzer_env()
    command = [
        binary,
        "-m",
        names.ENSEMBLE,
        "-u",
        grpc_url,
        "-i",
        "grpc",
        "--input-data",
        str(data_file),
        "--concurrency-range",
        f"{concurrency}:{concurrency}",
        "--request-count",
        str(max(window, 2 * concurrency)),
        "-f",
        str(out_csv),
    ]
    try:
        process = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
        return process.returncode, process.stdout + process.stderr
    except subprocess.TimeoutExpired as exc:
        text = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        return -1, text + f"\nperf_analyzer timed out after {timeout_s:.0f} s"


def parse_csv(path: Path) -> dict:
    """The concurrency row of perf_analyzer's ``-f`` CSV (latencies in microseconds)."""
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    return rows[0] if rows else {}


def errors_in(output: str) -> list[str]:
    keys = ("error", "Error", "Failed", "failed")
    return [line.strip() for line in output.splitlines() if any(k in line for k in keys)]


def sweep(args: argparse.Namespace) -> int:
    images = image_set(args.synthetic)
    data_file = input_data(images, BUILD_DIR / "perf_analyzer_input.json")
    raw_dir = RESULTS_DIR / "perf_analyzer_raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    rows, stats, problems = [], {}, []
    started = time.monotonic()
    with server(args.url, args.grpc_url, log_name="perf-server") as endpoint:
        load_before = uptime()
        for concurrency in args.concurrency:
            out_csv = raw_dir / f"c{concurrency}.csv"
            out_csv.unlink(missing_ok=True)
            before = model_stats(endpoint.http)
            t0 = time.monotonic()
            code, output = run_level(
                endpoint.grpc,
                data_file,
                concurrency,
                args.window,
                out_csv,
                args.level_timeout,
            )
            seconds = time.monotonic() - t0
            delta = stats_delta(before, model_stats(endpoint.http))
            stats[concurrency] = delta
            (raw_dir / f"c{concurrency}.txt").write_text(output)
            row = parse_csv(out_csv) if out_csv.is_file() else {}
            if code != 0 or not row:
                problems.append(
                    f"c={concurrency}: exit {code}: {' | '.join(errors_in(output))[:300]}"
                )

            def us(key: str, row: dict = row) -> float:
                return float(row.get(key, "nan") or "nan") / 1000

            rows.append(
                {
                    "concurrency": concurrency,
                    "throughput_infer_per_s": float(row.get("Inferences/Second", "nan") or "nan"),
                    "p50_ms": us("p50 latency"),
                    "p90_ms": us("p90 latency"),
                    "p99_ms": us("p99 latency"),
                    "server_queue_ms": us("Server Queue"),
                    "server_compute_ms": us("Server Compute Input")
                    + us("Server Compute Infer")
                    + us("Server Compute Output"),
                    "exit_code": code,
                    "seconds": round(seconds, 1),
                    "load": uptime(),
                }
            )
            print(
                f"c={concurrency}: {rows[-1]['throughput_infer_per_s']:.3f} infer/s, "
                f"p50 {rows[-1]['p50_ms']:.0f} ms, p99 {rows[-1]['p99_ms']:.0f} ms "
                f"({seconds:.0f} s, exit {code}; {uptime()})",
                flush=True,
            )
    total = time.monotonic() - started
    write_csv(RESULTS_DIR / "perf_analyzer.csv", rows)
    stat_rows = [{"concurrency": c, **r} for c, level in stats.items() for r in level]
    write_csv(RESULTS_DIR / "perf_analyzer_server_stats.csv", stat_rows)
    command = "make perf" + (f" PERF_ARGS='{' '.join(sys.argv[1:])}'" if sys.argv[1:] else "")
    report = render(rows, stats, images, args, total, load_before, command, problems)
    (RESULTS_DIR / "perf_analyzer.md").write_text(report)
    print(report)
    return 1 if problems else 0


def render(rows, stats, images, args, total, load_before, command, problems) -> str:
    real = sum(i.kind == "real" for i in images)
    lines = [
        "# perf_analyzer sweep: `seal_recognition` ensemble",
        "",
        f"Command: `{command}` ({total:.0f} s). Machine: {machine()}, **shared with other jobs** "
        f"({load_before} at the start). Input: {real} real + {len(images) - real} synthetic "
        f"images, one perf_analyzer data entry each (layout on, PaddleX defaults), gRPC, "
        f"`--request-count max({args.window}, 2 x concurrency)` per level (one measurement; "
        "p99 of 16-32 requests is about the slowest one).",
        "",
        "| concurrency | infer/s | p50 ms | p90 ms | p99 ms | server queue ms "
        "| server compute ms | load (1/5/15 min) at the end |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['concurrency']} | {r['throughput_infer_per_s']:.3f} | {r['p50_ms']:.0f} "
            f"| {r['p90_ms']:.0f} | {r['p99_ms']:.0f} "
            f"| {r['server_queue_ms']:.0f} | {r['server_compute_ms']:.0f} "
            f"| {r['load'].replace('load average ', '')} |"
        )
    lines += [
        "",
        "Server queue/compute are the ensemble's sums over its steps as perf_analyzer reports "
        "them. Per composing model, from `/v2/models/stats` (difference over each level's run; "
        "inference_count counts batch rows, execution_count model executions, so "
        "inferences/execution is the mean batch the dynamic batcher formed; ms are per request):",
    ]
    for concurrency, level in stats.items():
        lines += ["", f"### concurrency {concurrency}", "", stats_table(level).rstrip()]
    if problems:
        lines += ["", "**Problems:**", *(f"- {p}" for p in problems)]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--concurrency",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 2, 4, 8, 16],
        help="comma-separated levels (default 1,2,4,8,16)",
    )
    parser.add_argument(
        "--url", help="use this server (HTTP 127.0.0.1:<port>) instead of starting one"
    )
    parser.add_argument("--grpc-url", help="its gRPC address (default: HTTP port + 1)")
    parser.add_argument("--synthetic", type=int, default=6, help="synthetic pictures (default 6)")
    parser.add_argument(
        "--window", type=int, default=16, help="min requests per level (default 16)"
    )
    parser.add_argument("--level-timeout", type=float, default=150, help="seconds per level")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return sweep(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
