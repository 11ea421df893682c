"""Overload, short form of ``make overload`` (~1.5 min): own server, locust at 4x C_sat.

The server runs the SHIPPED model repository. Admission control (decode_page's
``max_in_flight``, seal_ocr/admission.py) is what refuses: past the cap the next request gets
UNAVAILABLE "server busy" at once, so the accepted ones share the pipeline with at most
``max_in_flight - 1`` others and their latency stays bounded. Asserted: excess work is refused
(never an error), accepted p95 within the cap's bound, the server drains and serves normally
once the load drops.
"""

from __future__ import annotations

import pytest

from tools.robustness import read_max_in_flight
from tools.robustness.overload import OverloadSettings, run_overload

pytestmark = pytest.mark.triton

FAST_IMAGES = (
    "nephren_2_round_digital.jpeg,nephren_8_notext_negative.jpg,"
    "nephren_3_square_artistic.jpeg,paddlex_seal_text_det.png"
)


def test_overload_is_refused_bounded_and_recovers(model_repository, tmp_path):
    cap = read_max_in_flight(model_repository)
    assert cap > 0, "the shipped decode_page config has no admission cap"
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
    report = run_overload(settings, model_repository, command="pytest test_overload")
    print("\n" + report.summary())

    overload = report.overload
    assert report.max_in_flight == cap
    assert report.users == 4 * report.c_sat > cap
    assert overload["requests"] > 0
    assert overload["errors"] == 0, overload["messages"]
    assert overload["rejected"] > 0, "4x C_sat was not refused anywhere"
    assert set(overload["by_reason"]) == {"busy"}, overload["by_reason"]
    for message in overload["messages"].values():
        assert f"server busy: {cap} requests already in progress" in message
    assert overload["ok"] > 0
    assert overload["p95_s"] <= report.latency_bound_s
    assert report.drain_s is not None
    recovery = report.recovery
    assert recovery["requests"] > 0 and recovery["ok"] == recovery["requests"], recovery
    assert recovery["p50_s"] <= settings.recovery_ratio * report.baseline_p50_s
    assert report.passed
