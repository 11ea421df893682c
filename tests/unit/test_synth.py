"""Unit tests of ``tools.synth``: the seeded synthetic seal generator (``tools.synth.seals``).

The parity test and the benchmarks rely on three properties checked here: the same seed gives the
same pixels, any 120 pages cover every category, and the ground truth matches the pictures.
"""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from tools.synth import plan
from tools.synth.seals import SHAPES, SynthPage, generate, main, write

RED_MARGIN = 50  # a pixel is red ink when R exceeds both G and B by this much
BLEED = 4  # blur and JPEG may carry ink this many px past a seal's box


def red_mask(image: np.ndarray) -> np.ndarray:
    b, g, r = (image[:, :, k].astype(np.int16) for k in range(3))
    return (r - np.maximum(g, b)) > RED_MARGIN


@pytest.fixture(scope="module")
def pages() -> list[SynthPage]:
    return list(generate(120, seed=0))


def seal_list(pages: list[SynthPage]) -> list[dict]:
    return [seal for page in pages for seal in page.seals]


# --- determinism -----------------------------------------------------------------------------
def assert_same(first: list[SynthPage], second: list[SynthPage]) -> None:
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        assert a.name == b.name
        assert a.kind == b.kind
        assert a.seals == b.seals
        assert a.variant == b.variant
        assert a.image.dtype == b.image.dtype == np.uint8
        assert np.array_equal(a.image, b.image), a.name


def test_same_seed_gives_identical_pages() -> None:
    assert_same(list(generate(12, seed=3)), list(generate(12, seed=3)))


def test_page_does_not_depend_on_count() -> None:
    assert_same(list(generate(4, seed=3)), list(generate(12, seed=3))[:4])


def test_different_seed_gives_different_pages() -> None:
    first, second = list(generate(12, seed=3)), list(generate(12, seed=4))
    for a, b in zip(first, second, strict=True):
        assert a.name == b.name  # the plan (categories) is fixed by the index ...
        same_shape = a.image.shape == b.image.shape
        assert not (same_shape and np.array_equal(a.image, b.image)), a.name  # ... pixels are not
    assert [p.seals for p in first] != [p.seals for p in second]


def test_no_global_random_state_is_used() -> None:
    np.random.seed(1)
    before = np.random.random()
    np.random.seed(1)
    list(generate(3, seed=0))
    assert np.random.random() == before


# --- coverage --------------------------------------------------------------------------------
def test_first_120_pages_cover_every_category(pages: list[SynthPage]) -> None:
    assert len(pages) == 120
    assert len({page.name for page in pages}) == 120
    allseals = seal_list(pages)
    assert {page.kind for page in pages} == {"seal", "page"}
    assert {seal["shape"] for seal in allseals} == set(SHAPES)
    for kind in ("seal", "page"):
        assert {p.seals[0]["shape"] for p in pages if p.kind == kind} == set(SHAPES), kind
    multi = [page for page in pages if len(page.seals) > 1]
    assert multi and all(page.kind == "page" and len(page.seals) <= 3 for page in multi)
    assert {len(page.seals) for page in multi} == {2, 3}
    assert all(len(page.seals) == 1 for page in pages if page.kind == "seal")

    angles = [seal["style"]["angle"] for seal in allseals]
    assert any(angle == 0 for angle in angles)
    assert sum(angle > 0 for angle in angles) >= 10 and sum(angle < 0 for angle in angles) >= 10
    assert all(abs(angle) <= 30 for angle in angles)

    sigmas = [page.variant["blur_sigma"] for page in pages]
    assert any(s == 0 for s in sigmas) and sum(s > 0 for s in sigmas) >= 10
    assert all(0 <= s <= 1.5 for s in sigmas)
    qualities = [page.variant["jpeg_quality"] for page in pages]
    assert None in qualities and sum(q is not None for q in qualities) >= 10
    assert all(40 <= q <= 90 for q in qualities if q is not None)

    styles = [seal["style"] for seal in allseals]
    for key in ("faded", "double_ring", "star", "inverted"):
        assert any(style[key] for style in styles), key
        assert not all(style[key] for style in styles), key
    rings = [s for s in allseals if s["shape"] != "square"]
    assert {s["style"]["digits"] for s in rings} == {"none", "ring", "line"}
    assert any(s["style"]["star"] for s in allseals if s["shape"] == "round")
    assert not any(s["style"]["star"] for s in allseals if s["shape"] != "round")
    squares = [s for s in allseals if s["shape"] == "square"]
    assert {s["style"]["grid"] for s in squares} == {2, 3}
    placements = {s["style"]["placement"] for p in pages if p.kind == "page" for s in p.seals}
    assert placements == {"sign", "text"}


@pytest.mark.parametrize("start", [0, 37, 1000])
def test_plan_cycles_cover_any_120_pages(start: int) -> None:
    """The coverage cycles hold for any window of 120 page indices, not only the first."""
    plans = [plan.page_plan(i) for i in range(start, start + 120)]
    for key in ("multi", "rotate", "blur", "jpeg", "fade"):
        assert {p[key] for p in plans} == {True, False}, key
    combos = {(p["kind"], p["shape"], p["blur"], p["jpeg"], p["rotate"]) for p in plans}
    assert len(combos) > 40
    for shape in SHAPES:
        seal_plans = [plan.seal_plan(i, 0, shape) for i in range(start, start + 120)]
        assert {p["arc_len"] for p in seal_plans} == set(range(4, 21))
        assert {p["double_ring"] for p in seal_plans} == {True, False}
        if shape == "square":
            assert {p["grid"] for p in seal_plans} == {2, 3}
        else:
            assert {p["digits"] for p in seal_plans} == {"none", "ring", "line"}


# --- ground truth ----------------------------------------------------------------------------
def test_image_sizes_and_format(pages: list[SynthPage]) -> None:
    for page in pages:
        image = page.image
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, page.name
        h, w = image.shape[:2]
        if page.kind == "seal":
            assert 300 <= h <= 700 and 300 <= w <= 700, page.name
        else:
            assert 1000 <= h <= 1400, page.name
            assert abs(w - h / math.sqrt(2)) <= 1, page.name
        assert page.name.startswith("synth_") and page.seals[0]["shape"] in page.name
        assert page.name.endswith("_" + page.kind)


def test_boxes_lie_inside_and_hold_red_ink(pages: list[SynthPage]) -> None:
    for page in pages:
        h, w = page.image.shape[:2]
        red = red_mask(page.image)
        for seal in page.seals:
            x1, y1, x2, y2 = seal["box"]
            assert all(isinstance(v, int) for v in seal["box"]), page.name
            assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h, (page.name, seal["box"])
            inside = int(red[y1:y2, x1:x2].sum())
            assert inside >= 0.01 * (x2 - x1) * (y2 - y1), (page.name, inside)
        if page.kind == "seal":  # the seal fills the picture
            x1, y1, x2, y2 = page.seals[0]["box"]
            assert max((x2 - x1) / w, (y2 - y1) / h) >= 0.75, page.name


def test_no_red_ink_outside_the_boxes(pages: list[SynthPage]) -> None:
    """Every seal is labelled: no red ink lies outside the (slightly grown) boxes."""
    for page in pages:
        red = red_mask(page.image)
        for seal in page.seals:
            x1, y1, x2, y2 = seal["box"]
            red[max(0, y1 - BLEED) : y2 + BLEED, max(0, x1 - BLEED) : x2 + BLEED] = False
        assert int(red.sum()) == 0, page.name


def test_texts_follow_the_seal_layout(pages: list[SynthPage]) -> None:
    for seal in seal_list(pages):
        texts, style = seal["texts"], seal["style"]
        assert texts and all(isinstance(t, str) and t for t in texts)
        if seal["shape"] == "square":
            assert len(texts) == 1 and len(texts[0]) == style["grid"] ** 2
            continue
        assert 4 <= len(texts[0]) <= 20, texts[0]
        assert not any(ch.isdigit() for ch in texts[0])
        digit_lines = [t for t in texts if t.isdigit()]
        if style["digits"] == "none":
            assert not digit_lines
        else:
            assert len(digit_lines) == 1 and 10 <= len(digit_lines[0]) <= 15
        if style["digits"] == "ring":
            assert texts[-1] == digit_lines[0]  # the ring is read last
        blue, green, red = style["ink"]
        assert red >= 150 and red - max(blue, green) >= 100


def test_arc_text_lengths_span_the_range(pages: list[SynthPage]) -> None:
    lengths = {len(s["texts"][0]) for s in seal_list(pages) if s["shape"] != "square"}
    assert lengths == set(range(4, 21))


# --- files -----------------------------------------------------------------------------------
def test_write_round_trips_and_is_idempotent(tmp_path) -> None:
    expected = list(generate(6, seed=1))
    labels_path = write(tmp_path, count=6, seed=1)
    assert labels_path == tmp_path / "labels.json"
    labels = json.loads(labels_path.read_text(encoding="utf-8"))
    assert list(labels) == [page.name for page in expected]
    for page in expected:
        assert labels[page.name] == {
            "kind": page.kind,
            "seals": page.seals,
            "variant": page.variant,
        }
        decoded = cv2.imread(str(tmp_path / f"{page.name}.png"), cv2.IMREAD_UNCHANGED)
        assert decoded is not None and np.array_equal(decoded, page.image), page.name
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    assert len(before) == 7
    write(tmp_path, count=6, seed=1)
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    assert after == before


def test_cli_writes_pages(tmp_path, capsys) -> None:
    assert main(["--out", str(tmp_path / "out"), "--count", "2", "--seed", "5"]) == 0
    labels = json.loads((tmp_path / "out" / "labels.json").read_text(encoding="utf-8"))
    assert len(labels) == 2
    assert all((tmp_path / "out" / f"{name}.png").is_file() for name in labels)
    assert "labels.json" in capsys.readouterr().out
