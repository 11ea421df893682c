"""Admission control: at most ``capacity`` requests in the pipeline at once; the rest wait.

Why a cap on the requests *in flight*: on a CPU box the pipeline saturates with a few requests in
flight, and every request admitted past that point does not wait in a queue a policy can see; it
shares the cores with the others, so latency grows with the load and no queue ever fills
(measured: 4x the saturating load was all admitted, p50 1.9 s -> 8.4 s; docs/robustness.md).

Where the rest wait: the first step (``decode_page``) takes a lease before decoding. When all
``capacity`` leases are held, :meth:`AdmissionGate.acquire` waits for one (up to ``wait_s``), so
that step's instances stop taking requests and the next ones wait in Triton's queue of that
step, FIFO, undecoded: its ``max_queue_size`` is the backlog and its queue timeout bounds the
wait there. Only past the backlog or a timeout is a request refused, with UNAVAILABLE.

The pipeline's steps run in separate processes (one Triton stub per model instance), so the
count lives in a small file shared by them, updated under an exclusive ``flock``. Each admitted
request holds a lease: a ticket with an expiry time. The first step takes it, the last step (or
whichever step fails the request) gives it back; a lease whose request vanished without either
(its stub was killed, a queue refused it between steps) expires after ``lease_s``.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# the environment overrides the model config, so one repository serves both a capped production
# server and an uncapped capacity measurement (perf_analyzer sweeps past saturation on purpose)
MAX_IN_FLIGHT_ENV = "SEAL_MAX_IN_FLIGHT"
# how every refusal for the cap begins (clients see it with status UNAVAILABLE)
SERVER_BUSY = "server busy"


class ServerBusyError(Exception):
    """The pipeline already holds as many requests as it may; the request is refused before any
    work with ``UNAVAILABLE`` and may be retried later (:class:`seal_triton.step.PipelineStep`)."""


def default_state_path(server_pid: int | None = None) -> Path:
    """The lease file of one server: every stub is a child of ``tritonserver``, so the parent's
    PID names the server (a restarted server starts with an empty file)."""
    pid = os.getppid() if server_pid is None else server_pid
    directory = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    return directory / f"seal_recognition_admission_{pid}"


def capacity_from(config_value: str | int, environ: Mapping[str, str] | None = None) -> int:
    """The cap in force: ``$SEAL_MAX_IN_FLIGHT`` when set, else the config's; 0 = no cap."""
    variables = os.environ if environ is None else environ
    text = str(variables.get(MAX_IN_FLIGHT_ENV, "") or config_value).strip()
    try:
        capacity = int(text)
    except ValueError:
        raise ValueError(f"max_in_flight must be an integer >= 0, got {text!r}") from None
    if capacity < 0:
        raise ValueError(f"max_in_flight must be an integer >= 0, got {capacity}")
    return capacity


@dataclass
class AdmissionGate:
    """Leases of in-flight requests in ``path``: one ``<ticket> <expiry>`` line each.

    ``capacity`` 0 admits everything and hands out the empty ticket (no file is touched).
    Times are ``clock()`` seconds (wall clock: the processes share it).
    """

    path: Path
    capacity: int = 0
    lease_s: float = 120.0
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def _locked_update(self, change: Callable[[dict[str, float]], str | None]) -> str | None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="ascii") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.seek(0)
                now = self.clock()
                leases = {}
                for line in handle.read().splitlines():
                    ticket, _, expiry = line.partition(" ")
                    if ticket and float(expiry or 0) > now:  # expired leases are dropped
                        leases[ticket] = float(expiry)
                outcome = change(leases)
                handle.seek(0)
                handle.truncate()
                handle.write("".join(f"{t} {e:.3f}\n" for t, e in leases.items()))
                handle.flush()
                return outcome
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def try_admit(self) -> str | None:
        """A new lease's ticket, or None when ``capacity`` leases are held."""
        if self.capacity <= 0:
            return ""

        def take(leases: dict[str, float]) -> str | None:
            if len(leases) >= self.capacity:
                return None
            ticket = secrets.token_hex(8)
            leases[ticket] = self.clock() + self.lease_s
            return ticket

        return self._locked_update(take)

    def admit(self) -> str:
        """A new lease's ticket; raises :class:`ServerBusyError` when ``capacity`` are held."""
        ticket = self.try_admit()
        if ticket is None:
            raise ServerBusyError(
                f"{SERVER_BUSY}: {self.capacity} requests already in progress "
                f"(max_in_flight {self.capacity}); retry later"
            )
        return ticket

    async def acquire(self, wait_s: float, poll_s: float = 0.01) -> str:
        """A new lease's ticket, waiting up to ``wait_s`` seconds for one to be given back.

        Raises :class:`ServerBusyError` when none came free in time. The leases live in a file
        shared by processes, so the wait polls it (every ``poll_s``; a look costs ~20 us)."""
        deadline = time.monotonic() + wait_s
        while (ticket := self.try_admit()) is None:
            if time.monotonic() >= deadline:
                raise ServerBusyError(
                    f"{SERVER_BUSY}: waited {wait_s:g} s while {self.capacity} requests were in "
                    f"progress (max_in_flight {self.capacity}); retry later"
                )
            await asyncio.sleep(poll_s)
        return ticket

    def release(self, ticket: str) -> None:
        """Give a lease back (unknown, expired or empty tickets are ignored)."""
        if not ticket:
            return

        def drop(leases: dict[str, float]) -> None:
            leases.pop(ticket, None)

        self._locked_update(drop)

    def in_flight(self) -> int:
        """Leases held now (for tests and diagnostics)."""
        if not self.path.exists():
            return 0
        count = self._locked_update(lambda leases: str(len(leases)))
        return int(count or 0)
