"""``make locust``: ``perf/locustfile.py`` headless for a bounded time, CSV + HTML report.

Starts a server on free 127.0.0.1 ports (or uses ``--url``/``--grpc-url``), runs locust with
``--users`` users over both protocols (``SEAL_PROTOCOL=mixed``: half gRPC, half HTTP/KServe v2
with binary tensors), the real images plus ``--synthetic`` synthetic pictures, single seals and
full pages mixed (pages 20 % of draws), layout on/off at random; then writes
``perf/results/locust_{stats,stats_history,failures,exceptions}.csv``, ``locust.html`` and a
``locust.md`` summary::

    .venv/bin/python -m perf.run_locust [--users 6] [--seconds 60] [--url 127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

from perf.common import RESULTS_DIR, machine, server, uptime
from tools.robustness import run_locust_headless


def run(args: argparse.Namespace) -> int:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    prefix = RESULTS_DIR / "locust"
    started = time.monotonic()
    with server(args.url, args.grpc_url, log_name="locust-server") as endpoint:
        load_start = uptime()
        environment = {
            "SEAL_PROTOCOL": args.protocol,
            "SEAL_GRPC_URL": endpoint.grpc,
            "SEAL_HTTP_URL": endpoint.http,
            "SEAL_SYNTH": str(args.synthetic),
            "SEAL_IMAGES": "all",
            "SEAL_LAYOUT": "mixed",
            "SEAL_TIMEOUT_S": str(args.timeout),
        }
        host = endpoint.http if args.protocol == "http" else endpoint.grpc
        reports = ["--csv", str(prefix), "--csv-full-history", "--html", str(prefix) + ".html"]
        returncode = run_locust_headless(
            host, args.users, args.seconds, args.timeout + 5, environment, reports
        )
        load_end = uptime()
    total = time.monotonic() - started
    stats_path = Path(f"{prefix}_stats.csv")
    rows = list(csv.DictReader(stats_path.open())) if stats_path.is_file() else []
    lines = [
        "# locust: mixed traffic on the `seal_recognition` ensemble",
        "",
        f"Command: `make locust` ({total:.0f} s incl. server start). Machine: {machine()}, "
        f"**shared with other jobs** ({load_start} at the start, {load_end} at the end). "
        f"{args.users} users ({args.protocol}: gRPC and HTTP/KServe v2 binary), closed loop, "
        f"{args.seconds} s, real images + {args.synthetic} synthetic, pages 20 % of draws, "
        f"layout on/off at random. Locust exit code {returncode}. Full report: "
        "`locust.html`, `locust_stats.csv`.",
        "",
        "| type | name | requests | failures | median ms | p95 ms | p99 ms | max ms | req/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['Type']} | {r['Name']} | {r['Request Count']} | {r['Failure Count']} "
            f"| {r['Median Response Time']} | {r['95%']} | {r['99%']} "
            f"| {float(r['Max Response Time']):.0f} | {float(r['Requests/s']):.3f} |"
        )
    report = "\n".join(lines) + "\n"
    (RESULTS_DIR / "locust.md").write_text(report)
    print(report)
    return returncode


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--protocol", choices=("grpc", "http", "mixed"), default="mixed")
    parser.add_argument("--synthetic", type=int, default=6)
    parser.add_argument("--timeout", type=float, default=60, help="client timeout per request")
    parser.add_argument("--url", help="use this server (HTTP 127.0.0.1:<port>)")
    parser.add_argument("--grpc-url", help="its gRPC address (default: HTTP port + 1)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
