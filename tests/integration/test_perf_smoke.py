"""A few seconds of perf_analyzer (the harness of ``make perf``) against the session server."""

from __future__ import annotations

import pytest

from perf.common import Image, model_stats, perf_analyzer_env
from perf.perf_analyzer_sweep import errors_in, input_data, parse_csv, run_level

pytestmark = pytest.mark.triton

SMALL_SEALS = ("nephren_2_round_digital.jpeg", "nephren_8_notext_negative.jpg")


def test_perf_analyzer_concurrency_2(triton_server, eval_dir, tmp_path):
    try:
        perf_analyzer_env()
    except (FileNotFoundError, ImportError) as exc:
        pytest.fail(f"{exc}: `make setup` runs perf/install_perf_analyzer.sh", pytrace=False)
    images = [Image(name, "real", eval_dir / name) for name in SMALL_SEALS]
    data = input_data(images, tmp_path / "input.json")
    before = model_stats(triton_server.http_url)

    code, output = run_level(triton_server.grpc_url, data, 2, 4, tmp_path / "c2.csv", timeout_s=120)

    after = model_stats(triton_server.http_url)
    assert code == 0, f"perf_analyzer exit {code}:\n{output[-2000:]}"
    assert not errors_in(output), errors_in(output)
    row = parse_csv(tmp_path / "c2.csv")
    assert float(row["Inferences/Second"]) > 0, row
    assert after["seal_recognition"]["success"] - before["seal_recognition"]["success"] >= 4
    assert after["seal_recognition"]["fail"] == before["seal_recognition"]["fail"]
