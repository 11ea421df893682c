"""Overload, short form of ``make overload`` (~1.5 min): own server, locust past the backlog.

The server runs a copy of the shipped repository whose Python steps queue at most 2 requests
(decode_page's queue is the backlog: 64 shipped, which would take minutes to overflow here);
everything else is as shipped. Admission control (decode_page's ``max_in_flight``,
seal_triton/admission.py) keeps ``max_in_flight`` requests in the pipeline; the next ones wait, and
past the backlog they are refused with UNAVAILABLE. Asserted: the work past the backlog is
refused (never an error), accepted p95 within the bound of cap + backlog, the server drains and
serves normally once the load drops.
"""

from __future__ import annotations

import pytest

from tools.robustness import (
    QueuePolicy,
    copy_repository,
    read_backlog,
    read_max_in_flight,
    read_queue_policy,
)
from tools.robustness.overload import OverloadSettings, run_overload

pytestmark = pytest.mark.triton

FAST_IMAGES = (
    "nephren_2_round_digital.jpeg,nephren_8_notext_negative.jpg,"
    "nephren_3_square_artistic.jpeg,paddlex_seal_text_det.png"
)


def test_overload_is_refused_bounded_and_recovers(model_repository, tmp_path):
    cap = read_max_in_flight(model_repository)
    assert cap > 0, "the shipped decode_page config has no admission cap"
    shipped = read_queue_policy(model_repository, "decode_page")
    assert shipped.max_queue_size >= 64  # the shipped backlog: ordinary load only waits
    small = QueuePolicy(max_queue_size=2, timeout_s=shipped.timeout_s)
    repository = copy_repository(model_repository, tmp_path / "model_repository", steps=small)
    settings = OverloadSettings(
        levels=(1, 2),
        probe_s=10,
        factor=4,
        overload_s=30,
        recovery_s=10,
        recovery_ratio=3.0,
        images=FAST_IMAGES,
        warmup_images="nephren_2_round_digital.jpeg,paddlex_seal_text_det.png",
        timeout_s=120,
        log_dir=tmp_path / "logs",
    )
    report = run_overload(settings, repository, command="pytest test_overload")
    print("\n" + report.summary())

    overload = report.overload
    assert report.max_in_flight == cap
    assert report.backlog == read_backlog(repository) == 2 + 2  # queue + decode_page instances
    assert report.users == cap + report.backlog + 4 * report.c_sat
    assert overload["requests"] > 0
    assert overload["errors"] == 0, overload["messages"]
    assert overload["rejected"] > 0, "past the backlog nothing was refused"
    assert set(overload["by_reason"]) <= {"busy", "queue_full", "queue_timeout"}
    assert "queue_full" in overload["by_reason"], overload["by_reason"]
    assert overload["ok"] > 0
    assert overload["p95_s"] <= report.latency_bound_s
    assert report.drain_s is not None
    recovery = report.recovery
    assert recovery["requests"] > 0 and recovery["ok"] == recovery["requests"], recovery
    assert recovery["p50_s"] <= settings.recovery_ratio * report.baseline_p50_s
    assert report.passed
