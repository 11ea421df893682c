"""The admission gate (seal_triton.admission) and the supervisor's pure parts."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from seal_triton.admission import (
    MAX_IN_FLIGHT_ENV,
    AdmissionGate,
    ServerBusyError,
    capacity_from,
)
from seal_triton.supervisor import RestartBudget, missing_stubs


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_admits_up_to_capacity_then_refuses_with_a_clear_message(tmp_path):
    gate = AdmissionGate(tmp_path / "leases", capacity=2)
    first, second = gate.admit(), gate.admit()
    assert first and second and first != second
    with pytest.raises(ServerBusyError, match=r"server busy: 2 requests .*max_in_flight 2"):
        gate.admit()
    assert gate.in_flight() == 2


def test_release_frees_a_slot_and_ignores_unknown_tickets(tmp_path):
    gate = AdmissionGate(tmp_path / "leases", capacity=1)
    ticket = gate.admit()
    gate.release("not-a-ticket")
    gate.release("")
    assert gate.in_flight() == 1
    gate.release(ticket)
    assert gate.in_flight() == 0
    assert gate.admit()


def test_leases_expire_so_a_lost_request_does_not_hold_its_slot_forever(tmp_path):
    clock = FakeClock()
    gate = AdmissionGate(tmp_path / "leases", capacity=1, lease_s=60, clock=clock)
    gate.admit()
    clock.now += 59
    with pytest.raises(ServerBusyError):
        gate.admit()
    clock.now += 2
    assert gate.admit()


def test_capacity_zero_admits_everything_without_a_file(tmp_path):
    gate = AdmissionGate(tmp_path / "leases", capacity=0)
    assert [gate.admit() for _ in range(50)] == [""] * 50
    assert not (tmp_path / "leases").exists()


def _admit_many(path: str, count: int, queue) -> None:
    gate = AdmissionGate(Path(path), capacity=1000)
    queue.put([gate.admit() for _ in range(count)])


def test_processes_share_the_count_without_losing_updates(tmp_path):
    # the steps are separate stub processes: concurrent read-modify-write must not lose leases
    path = tmp_path / "leases"
    queue = multiprocessing.get_context("fork").Queue()
    workers = [
        multiprocessing.get_context("fork").Process(target=_admit_many, args=(str(path), 40, queue))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    tickets = [t for _ in workers for t in queue.get(timeout=60)]
    for worker in workers:
        worker.join(60)
    assert len(set(tickets)) == 160
    assert AdmissionGate(path, capacity=1000).in_flight() == 160


@pytest.mark.parametrize(
    ("config", "environ", "expected"),
    [("3", {}, 3), ("3", {MAX_IN_FLIGHT_ENV: "0"}, 0), ("0", {MAX_IN_FLIGHT_ENV: "7"}, 7)],
)
def test_capacity_comes_from_the_environment_before_the_config(config, environ, expected):
    assert capacity_from(config, environ) == expected


@pytest.mark.parametrize("bad", ["-1", "three", "2.5"])
def test_bad_capacity_is_refused(bad):
    with pytest.raises(ValueError, match="max_in_flight"):
        capacity_from(bad, {})


def test_missing_stubs_are_those_up_at_start_and_gone_now():
    expected = {"find_seals_0_0", "find_seals_0_1", "text_rec_0_0"}
    assert missing_stubs(expected, expected) == set()
    assert missing_stubs(expected, {"find_seals_0_1", "text_rec_0_0"}) == {"find_seals_0_0"}


def test_restart_budget_gives_up_on_a_server_that_keeps_dying():
    clock = FakeClock()
    budget = RestartBudget(limit=2, window_s=60, clock=clock)
    assert budget.allow() and budget.allow()
    assert not budget.allow()
    clock.now += 61
    assert budget.allow()
