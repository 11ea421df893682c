"""``perf/locustfile.py`` run headless, bounded, as a child process."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from tools.robustness.targets import LOCAL_HOST, REPO_ROOT

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
