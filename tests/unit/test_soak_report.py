"""The soak's memory rule: growth of the largest process per model, shm high-water excluded."""

from __future__ import annotations

from tools.robustness.soak import SoakReport

MB = 2**20


def report(start: dict, end: dict) -> SoakReport:
    def table(entries):
        return {
            label: {"model": label.rsplit("_", 2)[0], "rss": rss * MB, "shared": shared * MB}
            for label, (rss, shared) in entries.items()
        }

    return SoakReport("cmd", "now", 2, 3, ("grpc",), [], start_rss=table(start), end_rss=table(end))


def test_shm_high_water_step_is_not_growth():
    # detect_text_lines_0_1 in a CI soak: RSS 314 -> 356 MB, all of it shm (263 -> 312)
    soak = report({"dtl_0_1": (314, 263)}, {"dtl_0_1": (356, 312)})
    assert soak.growth()["dtl_0_1"] > 10  # raw RSS growth is still reported
    assert soak.model_growth()["dtl"] < 0
    assert soak.checks()[next(k for k in soak.checks() if k.startswith("the largest"))]


def test_private_growth_fails_the_check():
    soak = report({"seal_det_0_0": (1581, 552)}, {"seal_det_0_0": (2631, 769)})
    assert soak.model_growth()["seal_det"] > 10  # 1050 MB more, 217 of it shm
    assert not soak.passed


def test_largest_process_per_model_and_a_vanished_process():
    soak = report(
        {"text_rec_0_0": (391, 231), "text_rec_0_1": (281, 233)},
        {"text_rec_0_0": (376, 231)},
    )
    assert soak.model_growth()["text_rec"] < 0  # the largest one did not grow
    assert not soak.checks()["same processes at start and end"]
