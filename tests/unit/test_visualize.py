"""Unit tests of ``seal_client.visualize``: PaddleX-style result pictures and the font lookup.

Expected geometry and colours are derived from PaddleX's drawing rules (seed-0 colour sequence,
band on the min-area rect, 20-colour layout palette), never read back from this implementation.
"""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from seal_client import visualize
from seal_client.visualize import FontNotFoundError, draw_layout, draw_seal_region, find_cjk_font

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
H, W = 120, 200
# Six points (> 4: outlined, band on its min-area rect). The rect is axis-aligned
# x 30..150, y 30..90, so by PaddleX's rule the band's top row is the mean y (60) and its
# bottom row the mean of the moved corners (75) plus min(20, 60 / 2): 95.
HEXAGON = [[30, 40], [90, 30], [150, 40], [150, 80], [90, 90], [30, 80]]
HEX_RECT = (30, 30, 150, 90)  # x1, y1, x2, y2
HEX_BAND = (30, 60, 150, 95)
# Margin for anti-aliased text and 1-px outlines at the band's edges.
SLACK = 2


@pytest.fixture(scope="module")
def font() -> Path:
    return find_cjk_font()


@pytest.fixture
def crop() -> np.ndarray:
    """Textured (H, W, 3) uint8 BGR crop, so any change to a pixel is visible."""
    return np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)


@pytest.fixture
def no_search(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No environment variable, no known locations, no fc-match."""
    monkeypatch.delenv(visualize.FONT_ENV_VAR, raising=False)
    monkeypatch.setattr(visualize, "KNOWN_FONT_PATHS", ())
    monkeypatch.setattr(visualize, "_fc_match_font", lambda: None)
    return monkeypatch


def box_mask(shape: tuple[int, int], x1: int, y1: int, x2: int, y2: int, pad: int) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[max(y1 - pad, 0) : y2 + pad + 1, max(x1 - pad, 0) : x2 + pad + 1] = True
    return mask


def dark(image: np.ndarray) -> np.ndarray:
    return (image < 100).all(axis=2)


def halves(picture: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    width = picture.shape[1] // 2
    return picture[:, :width], picture[:, width:]


# --- draw_seal_region ------------------------------------------------------------------------
def test_seal_region_shape_dtype_and_input_untouched(crop, font):
    before = crop.copy()
    picture = draw_seal_region(crop, [HEXAGON], ["发票专用章"], font)
    assert picture.shape == (H, 2 * W, 3)
    assert picture.dtype == np.uint8
    np.testing.assert_array_equal(crop, before)


def test_left_half_changes_only_inside_the_polygon_and_its_rect(crop, font):
    left, _ = halves(draw_seal_region(crop, [HEXAGON], ["发票专用章"], font))
    drawn = np.zeros((H, W), np.uint8)
    cv2.fillPoly(drawn, [np.array(HEXAGON, np.int32)], 1)
    drawn = cv2.dilate(drawn, np.ones((2 * SLACK + 1, 2 * SLACK + 1), np.uint8)).astype(bool)
    drawn |= box_mask((H, W), *HEX_BAND, pad=SLACK)
    np.testing.assert_array_equal(left[~drawn], crop[~drawn])

    polygon = np.zeros((H, W), np.uint8)
    cv2.fillPoly(polygon, [np.array(HEXAGON, np.int32)], 1)
    changed = (left != crop).any(axis=2)[polygon.astype(bool)]
    # The 8-px outline ring plus the band cover most of this small polygon.
    assert changed.mean() > 0.5


def test_right_half_is_white_except_text_in_the_band(crop, font):
    _, right = halves(draw_seal_region(crop, [HEXAGON], ["发票专用章"], font))
    band = box_mask((H, W), *HEX_BAND, pad=SLACK)
    assert (right[~band] == 255).all()
    assert dark(right)[band].sum() > 30


def test_band_spans_paddlex_rows(crop, font):
    left, right = halves(draw_seal_region(crop, [HEXAGON], ["章"], font))
    x1, top, x2, bottom = HEX_BAND
    # Filled from the mean row down to row 95, below the polygon's lowest point (y 90).
    assert (
        (left[top : bottom - 1, x1 + 1 : x2 - 1] != crop[top : bottom - 1, x1 + 1 : x2 - 1])
        .any(axis=2)
        .all()
    )
    np.testing.assert_array_equal(left[bottom + 2 :], crop[bottom + 2 :])
    # The band's 1-px outline on the right runs along both rows.
    assert (right[top, x1 + 5 : x2 - 5] != 255).any(axis=1).all()
    assert (right[bottom, x1 + 5 : x2 - 5] != 255).any(axis=1).all()


def test_different_text_changes_only_the_right_half(crop, font):
    left_a, right_a = halves(draw_seal_region(crop, [HEXAGON], ["发票专用章"], font))
    left_b, right_b = halves(draw_seal_region(crop, [HEXAGON], ["财务专用章"], font))
    np.testing.assert_array_equal(left_a, left_b)
    band = box_mask((H, W), *HEX_BAND, pad=SLACK)
    assert (right_a[band] != right_b[band]).any()
    np.testing.assert_array_equal(right_a[~band], right_b[~band])


def test_line_colours_follow_the_seed_zero_sequence(font):
    grey = np.full((H, W, 3), 100, np.uint8)
    picture = draw_seal_region(grey, [HEXAGON], ["章"], font)
    rng = random.Random(0)
    red, green, blue = (rng.randint(0, 255) for _ in range(3))
    # Inside the left edge's 8-px outline, above the band: half crop, half line colour.
    expected_bgr = np.array([(100 + blue) / 2, (100 + green) / 2, (100 + red) / 2])
    pixel = picture[50, 33].astype(float)
    assert np.abs(pixel - expected_bgr).max() <= 1


def test_colours_are_deterministic(crop, font):
    polys = [HEXAGON, [[20, 100], [180, 100], [180, 115], [20, 115]]]
    first = draw_seal_region(crop, polys, ["发票专用章", "1234567"], font)
    second = draw_seal_region(crop, polys, ["发票专用章", "1234567"], font)
    np.testing.assert_array_equal(first, second)


def test_no_polygons_gives_the_crop_beside_white(crop, font):
    left, right = halves(draw_seal_region(crop, [], [], font))
    np.testing.assert_array_equal(left, crop)
    assert (right == 255).all()


def test_four_point_polygon_is_the_band_itself(crop, font):
    rect = [[40, 20], [160, 20], [160, 50], [40, 50]]
    left, right = halves(draw_seal_region(crop, [rect], ["发票专用章"], font))
    inside = box_mask((H, W), 40, 20, 160, 50, pad=0)
    np.testing.assert_array_equal(left[~inside], crop[~inside])
    assert (left[25:45, 45:155] != crop[25:45, 45:155]).any(axis=2).all()
    assert dark(right)[inside].sum() > 30


def test_tall_narrow_band_gets_vertical_text(font):
    white = np.full((H, W, 3), 255, np.uint8)
    column = [[10, 5], [30, 5], [30, 115], [10, 115]]
    _, right = halves(draw_seal_region(white, [column], ["发票专用章"], font))
    ink_rows = np.flatnonzero(dark(right[:, 10:31]).any(axis=1))
    assert ink_rows.size > 0
    # One character per row: the ink spans well over one character's height.
    assert ink_rows.max() - ink_rows.min() > 40


def test_very_long_text_is_shrunk_and_kept_in_the_band(crop, font):
    _, right = halves(draw_seal_region(crop, [HEXAGON], ["发票专用章" * 60], font))
    band = box_mask((H, W), *HEX_BAND, pad=SLACK)
    assert (right[~band] == 255).all()
    assert dark(right)[band].any()


def test_polygon_partly_outside_the_crop_is_clipped(crop, font):
    poly = [[-50, -20], [100, -10], [250, 30], [240, 90], [100, 140], [-30, 100]]
    picture = draw_seal_region(crop, [poly], ["发票专用章"], font)
    left, right = halves(picture)
    assert picture.shape == (H, 2 * W, 3)
    assert (left != crop).any()
    assert dark(right).any()


@pytest.mark.parametrize(
    "poly",
    [[], [[5, 5]], [[5, 5], [9, 9]], [[5, 5], [5, 5], [9, 9], [9, 9]], [[3, 3]] * 6],
)
def test_fewer_than_three_distinct_points_skip_the_line(crop, font, poly):
    left, right = halves(draw_seal_region(crop, [poly, HEXAGON], ["x", "发票专用章"], font))
    # The skipped line still uses up its colour, so the hexagon keeps the second colour.
    reference_left, reference_right = halves(
        draw_seal_region(crop, [[[0, 0]], HEXAGON], ["y", "发票专用章"], font)
    )
    np.testing.assert_array_equal(left, reference_left)
    np.testing.assert_array_equal(right, reference_right)
    alone_left, _ = halves(draw_seal_region(crop, [poly], ["x"], font))
    np.testing.assert_array_equal(alone_left, crop)


@pytest.mark.parametrize(
    "poly",
    [
        [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]],  # collinear: zero-area rect
        [[10, 10], [60, 10], [60, 10.4], [10, 10.4], [30, 10]],  # flat after rounding
        [[10, 10], [50, 10], [90, 10], [50, 50]],  # 4 points, three collinear corners
        [[0, 0], [1e12, 0], [1e12, 1e12], [0, 1e12], [5, 5]],  # absurdly large
    ],
)
def test_degenerate_polygons_do_not_raise(crop, font, poly):
    picture = draw_seal_region(crop, [poly], ["发票专用章"], font)
    assert picture.shape == (H, 2 * W, 3)


def test_tiny_crop(font):
    tiny = np.full((5, 5, 3), 90, np.uint8)
    polys = [[[0, 0], [4, 0], [5, 2], [4, 5], [0, 5]], [[0, 0], [5, 0], [5, 5], [0, 5]]]
    picture = draw_seal_region(tiny, polys, ["发票专用章", "章"], font)
    assert picture.shape == (5, 10, 3)
    assert picture.dtype == np.uint8
    assert (picture[:, :5] != 90).any()


# --- draw_layout -----------------------------------------------------------------------------
PAGE_H, PAGE_W = 300, 400
LAYOUT = [
    {"cls_id": 16, "label": "seal", "score": 0.97, "coordinate": [50.0, 100.0, 150.0, 200.0]},
    {"cls_id": 2, "label": "text", "score": 0.81, "coordinate": [250.3, 150.7, 350.0, 250.0]},
    {"cls_id": 16, "label": "seal", "score": 0.55, "coordinate": [200.0, 30.0, 240.0, 70.0]},
]
# PaddleX palette entries 0 (red) and 1, chosen by the index of each label's first box; BGR.
SEAL_BGR = (0, 0, 255)
TEXT_BGR = (0, 255, 204)


@pytest.fixture
def page() -> np.ndarray:
    return np.full((PAGE_H, PAGE_W, 3), 255, np.uint8)


def test_layout_shape_dtype_and_input_untouched(page, font):
    before = page.copy()
    picture = draw_layout(page, LAYOUT, font)
    assert picture.shape == page.shape
    assert picture.dtype == np.uint8
    np.testing.assert_array_equal(page, before)


@pytest.mark.parametrize("box", LAYOUT, ids=["seal", "text", "seal2"])
def test_layout_draws_along_each_edge(page, font, box):
    picture = draw_layout(page, LAYOUT, font)
    x1, y1, x2, y2 = (int(v) for v in box["coordinate"])
    mid_x, mid_y = (x1 + x2) // 2, (y1 + y2) // 2
    for x, y in [(x1, mid_y), (x2, mid_y), (mid_x, y2)]:
        assert (picture[y, x] != 255).any(), (x, y)
    # Outlines only: the box's middle stays white.
    assert (picture[mid_y, mid_x] == 255).all()


def test_layout_colour_per_label(page, font):
    picture = draw_layout(page, LAYOUT, font)
    assert tuple(picture[150, 50]) == SEAL_BGR
    assert tuple(picture[50, 200]) == SEAL_BGR
    assert tuple(picture[200, 250]) == TEXT_BGR


def test_layout_caption_sits_above_the_box(page, font):
    picture = draw_layout(page, LAYOUT, font)
    above = picture[85:100, 50:80].reshape(-1, 3)
    assert (above == SEAL_BGR).all(axis=1).any()
    # Label text on red is white, so the caption strip holds both.
    assert (above == 255).all(axis=1).any()


def test_layout_caption_text_is_dark_on_light_entries(page, font):
    picture = draw_layout(page, LAYOUT, font)
    strip = picture[135:151, 251:300].reshape(-1, 3)  # above the "text" box (palette entry 1)
    assert (strip == TEXT_BGR).all(axis=1).any()
    # Small anti-aliased glyphs rarely reach the ink colour itself; white ink would keep the green
    # channel above 200 everywhere (background and ink both have G = 255).
    assert (strip[:, 1] < 150).any()


def test_layout_caption_goes_inside_at_the_top_edge(page, font):
    picture = draw_layout(page, [{**LAYOUT[0], "coordinate": [50, 2, 150, 100]}], font)
    assert tuple(picture[8, 51]) == SEAL_BGR  # the 2-px margin left of the caption text
    assert (picture[0, 60:120] == 255).all()


def test_layout_leaves_far_pixels_untouched(page, font):
    picture = draw_layout(page, LAYOUT, font)
    np.testing.assert_array_equal(picture[260:, :40], page[260:, :40])
    np.testing.assert_array_equal(picture[:20, 300:], page[:20, 300:])


def test_layout_without_boxes_is_a_copy(page, font):
    picture = draw_layout(page, [], font)
    np.testing.assert_array_equal(picture, page)
    assert picture is not page


@pytest.mark.parametrize(
    "coordinate", [None, [1, 2, 3], [float("nan"), 0, 10, 10], "abc", [[1, 2], [3]]]
)
def test_layout_skips_malformed_boxes(page, font, coordinate):
    box = {"cls_id": 0, "label": "text", "score": 0.9, "coordinate": coordinate}
    np.testing.assert_array_equal(draw_layout(page, [box], font), page)


@pytest.mark.parametrize(
    "coordinate",
    [[-1e12, -1e12, 1e12, 1e12], [300, 250, 100, 50], [-20, -20, 30, 30], [10, 10, 10, 10]],
)
def test_layout_odd_boxes_do_not_raise(page, font, coordinate):
    box = {"cls_id": 0, "label": "text", "score": 0.9, "coordinate": coordinate}
    assert draw_layout(page, [box], font).shape == page.shape


# --- fonts -----------------------------------------------------------------------------------
def test_found_font_renders_cjk(font):
    assert font.is_file()
    assert visualize._can_render(font)


def test_env_variable_is_honoured(no_search, font, tmp_path):
    chosen = tmp_path / "chosen-font.ttc"
    chosen.symlink_to(font)
    no_search.setenv(visualize.FONT_ENV_VAR, str(chosen))
    assert find_cjk_font() == chosen


def test_explicit_path_wins_over_env(no_search, font, tmp_path):
    no_search.setenv(visualize.FONT_ENV_VAR, str(tmp_path / "missing.ttf"))
    assert find_cjk_font(str(font)) == font


def test_explicit_non_cjk_font_is_rejected(font):
    if not DEJAVU.is_file():
        pytest.skip("fonts-dejavu-core is not installed")
    with pytest.raises(FontNotFoundError, match="cannot render 发票专用章"):
        find_cjk_font(DEJAVU)


def test_bad_env_path_is_an_error_not_a_fallback(monkeypatch, tmp_path):
    not_a_font = tmp_path / "notes.ttf"
    not_a_font.write_text("not a font", encoding="utf-8")
    monkeypatch.setenv(visualize.FONT_ENV_VAR, str(not_a_font))
    with pytest.raises(FontNotFoundError, match=visualize.FONT_ENV_VAR):
        find_cjk_font()
    monkeypatch.setenv(visualize.FONT_ENV_VAR, str(tmp_path / "missing.ttf"))
    with pytest.raises(FontNotFoundError, match="does not exist"):
        find_cjk_font()


def test_search_skips_fonts_without_cjk_glyphs(no_search, font):
    no_search.setattr(visualize, "KNOWN_FONT_PATHS", (Path("/nonexistent/a.ttc"), DEJAVU, font))
    assert find_cjk_font() == font


def test_fc_match_is_the_last_resort(no_search, font):
    no_search.setattr(visualize, "_fc_match_font", lambda: font)
    assert find_cjk_font() == font
    no_search.setattr(visualize, "_fc_match_font", lambda: DEJAVU)
    with pytest.raises(FontNotFoundError):
        find_cjk_font()


def test_nothing_found_says_what_was_tried_and_how_to_fix(no_search, tmp_path):
    missing = tmp_path / "no-such-font.ttc"
    no_search.setattr(visualize, "KNOWN_FONT_PATHS", (missing,))
    with pytest.raises(FontNotFoundError) as caught:
        find_cjk_font()
    message = str(caught.value)
    assert "\n" not in message
    assert str(missing) in message
    assert "fc-match" in message
    assert "apt-get install fonts-wqy-zenhei" in message
    assert "set SEAL_FONT_PATH" in message


def test_fonts_are_cached_by_path_and_size(font):
    assert visualize._load_font(str(font), 17) is visualize._load_font(str(font), 17)
    assert visualize._load_font(str(font), 17) is not visualize._load_font(str(font), 18)
