"""Keep the embedded server serving: a watchdog for dead stubs, and the HTTP gateway beside it.

Triton 2.51 does not restart a Python-backend stub that dies (killed, out of memory, crashed
extension): the instance stays in the scheduler's rotation and fails every request it gets with
"Stub process '<instance>' is not healthy", while ``/v2/health/ready`` keeps answering 200
(measured; see docs/robustness.md). Every model here, the ONNX entries included, runs in such a
stub, so :class:`Supervisor` compares the live stubs with the set present when the server became
ready and restarts the whole server when one is missing or the server itself exited. A restart
(model control mode NONE: nobody can load or unload models remotely) takes a few seconds; the
requests in flight on the old server fail with connection errors, never with partial results.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

from seal_triton import procs
from seal_triton.launcher import TritonServer

log = logging.getLogger("seal_triton.supervisor")


@dataclass
class GatewaySidecar:
    """How to run the PaddleX-compatible HTTP gateway (``python -m seal_gateway``) as a process
    beside the server: where it listens and extra command-line arguments. (The gateway's own
    settings are :class:`seal_gateway.config.GatewayConfig`.)"""

    host: str = "127.0.0.1"
    port: int = 8080
    extra_args: list[str] = field(default_factory=list)

    def command(self, triton_grpc_url: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "seal_gateway",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--triton-url",
            triton_grpc_url,
            *self.extra_args,
        ]


def missing_stubs(expected: set[str], live: set[str]) -> set[str]:
    """Instance names (``<model>_<group>_<index>``) that were up at start and are gone now."""
    return expected - live


class RestartBudget:
    """At most ``limit`` restarts within ``window_s``: a server that keeps dying (a model that
    crashes on load, no memory) is reported and given up on instead of restarted forever."""

    def __init__(self, limit: int = 5, window_s: float = 600.0, clock=time.monotonic) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self.times: deque[float] = deque()

    def allow(self) -> bool:
        now = self.clock()
        while self.times and now - self.times[0] > self.window_s:
            self.times.popleft()
        if len(self.times) >= self.limit:
            return False
        self.times.append(now)
        return True


class Supervisor:
    """Run ``server`` (and the gateway, if configured) until ``should_stop()`` says so.

    ``run`` returns 0 after a requested stop, 1 when the restart budget is spent.
    """

    def __init__(
        self,
        server: TritonServer,
        gateway: GatewaySidecar | None = None,
        interval_s: float = 2.0,
        restart_grace_s: float = 5.0,
        budget: RestartBudget | None = None,
    ) -> None:
        self.server = server
        self.gateway = gateway
        self.interval_s = interval_s
        # a server with a dead stub cannot unload that model, so its exit would wait out the
        # whole exit timeout while still sending requests to the dead instance: cut it short
        self.restart_grace_s = restart_grace_s
        self.budget = budget or RestartBudget()
        self.expected: set[str] = set()
        self.gateway_process: subprocess.Popen | None = None
        self.restarts = 0
        self.generation = 0  # servers that became ready so far (1 after start, +1 per restart)

    # --- one check -----------------------------------------------------------------------------
    def problem(self) -> str | None:
        """Why the server must be restarted now, or None when it is healthy."""
        process = self.server.process
        if process is None or process.poll() is not None:
            code = None if process is None else process.returncode
            return f"tritonserver exited (code {code})"
        try:
            live = {stub.instance for stub in procs.stubs(process.pid)}
        except psutil.NoSuchProcess:
            return "tritonserver exited"
        gone = missing_stubs(self.expected, live)
        if gone:
            return f"backend stub process(es) died: {', '.join(sorted(gone))}"
        return None

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self.server.start()
        assert self.server.process is not None
        self.expected = {stub.instance for stub in procs.stubs(self.server.process.pid)}
        self.generation += 1
        log.info("server ready with %d backend stubs", len(self.expected))
        self._ensure_gateway()

    def restart(self, reason: str) -> None:
        self.restarts += 1
        log.warning("restarting tritonserver (restart %d): %s", self.restarts, reason)
        self.server.stop(timeout_s=self.restart_grace_s)
        self.start()
        log.warning("tritonserver serving again after restart %d", self.restarts)

    def _ensure_gateway(self) -> None:
        if self.gateway is None:
            return
        if self.gateway_process is not None and self.gateway_process.poll() is None:
            return
        if self.gateway_process is not None:
            log.warning("gateway exited (code %s); starting it again", self.gateway_process.poll())
        self.gateway_process = subprocess.Popen(self.gateway.command(self.server.grpc_url))

    def stop(self) -> None:
        if self.gateway_process is not None and self.gateway_process.poll() is None:
            self.gateway_process.terminate()
            try:
                self.gateway_process.wait(10)
            except subprocess.TimeoutExpired:
                self.gateway_process.kill()
        self.server.stop()

    def run(self, should_stop: Callable[[], bool] = lambda: False) -> int:
        while not should_stop():
            time.sleep(self.interval_s)
            reason = self.problem()
            if reason is not None:
                if not self.budget.allow():
                    log.error("giving up: %s, after %d restarts", reason, self.restarts)
                    return 1
                self.restart(reason)
            self._ensure_gateway()
        return 0
