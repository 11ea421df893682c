"""Unit tests of ``seal_ocr.warp``: PaddleX ``CropByPolys`` poly-mode text-line rectification.

Expected values are derived from the geometry of synthetic inputs (arc length, band thickness,
exact integer crops) or are digests of PaddleX 3.7.2's own output on the same inputs; none is
copied from this implementation's output.
"""

import hashlib
import math

import cv2
import numpy as np
import pytest

from seal_ocr import warp
from seal_ocr.warp import rectify_text_line, rotated_crop

CENTER = (200.0, 200.0)
R_OUT = 170.0
R_IN = 140.0
THICKNESS = R_OUT - R_IN
# BGR stripe colours in reading order (left to right in the rectified line).
PALETTE = [(0, 0, 255), (0, 200, 0), (255, 0, 0), (0, 200, 255), (200, 0, 200)]
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)


def _arc(radius: float, start_deg: float, end_deg: float, spacing: float) -> np.ndarray:
    """(k, 2) float points on a circle around CENTER, about ``spacing`` pixels apart."""
    count = max(2, math.ceil(abs(math.radians(end_deg - start_deg)) * radius / spacing) + 1)
    theta = np.radians(np.linspace(start_deg, end_deg, count))
    return np.stack([CENTER[0] + radius * np.cos(theta), CENTER[1] + radius * np.sin(theta)], 1)


def _ring_polygon(deg_a: float, deg_b: float, spacing: float = 12.0) -> np.ndarray:
    """Annular-sector polygon as DB/pyclipper gives it: outer arc, then inner arc reversed.

    The outer arc runs with increasing angle, which is clockwise on screen in a y-down image.
    """
    low, high = sorted((deg_a, deg_b))
    outer = _arc(R_OUT, low, high, spacing)
    inner = _arc(R_IN, high, low, spacing)
    return np.round(np.concatenate([outer, inner])).astype(np.int32)


def _striped_band(read_from_deg: float, read_to_deg: float) -> np.ndarray:
    """White 400x400 image with a ring sector split into PALETTE stripes in reading order.

    Stripe k covers the k-th fifth of the angle range read_from -> read_to. A black marker arc
    runs close to the outer edge, to tell up from down in the output.
    """
    image = np.full((400, 400, 3), 255, dtype=np.uint8)
    step = (read_to_deg - read_from_deg) / len(PALETTE)
    for k, colour in enumerate(PALETTE):
        a, b = read_from_deg + k * step, read_from_deg + (k + 1) * step
        sector = np.concatenate([_arc(R_OUT + 2, a, b, 1.0), _arc(R_IN - 2, b, a, 1.0)])
        cv2.fillPoly(image, [np.round(sector).astype(np.int32)], colour)
    marker = np.round(_arc(R_OUT - 7, read_from_deg, read_to_deg, 1.0)).astype(np.int32)
    cv2.polylines(image, [marker], False, BLACK, 3)
    return image


def _db_like_polygon(deg_a: float, deg_b: float, spacing: float = 12.0) -> np.ndarray:
    """Ring polygon with pyclipper-like dense runs of vertices at the four band corners.

    Each corner C becomes C - 2u_in, C, C + 2u_out (rounded; u = unit edge directions). The ring
    starts at the first corner, so that corner's run wraps around the closing edge. Pure-Python
    maths keeps the vertices platform-stable.
    """
    low, high = sorted((deg_a, deg_b))

    def arc(radius: float, a: float, b: float) -> list[tuple[int, int]]:
        count = max(2, math.ceil(abs(math.radians(b - a)) * radius / spacing) + 1)
        angles = [math.radians(a + (b - a) * k / (count - 1)) for k in range(count)]
        return [
            (round(CENTER[0] + radius * math.cos(t)), round(CENTER[1] + radius * math.sin(t)))
            for t in angles
        ]

    outer = arc(R_OUT, low, high)
    ring = outer + arc(R_IN, high, low)
    corners = {0, len(outer) - 1, len(outer), len(ring) - 1}
    out: list[tuple[int, int]] = []
    wrapped: tuple[int, int] = ring[0]
    for i, (x, y) in enumerate(ring):
        if i not in corners:
            out.append((x, y))
            continue
        (px, py), (nx, ny) = ring[i - 1], ring[(i + 1) % len(ring)]
        in_len, out_len = math.hypot(x - px, y - py), math.hypot(nx - x, ny - y)
        before = (round(x - 2 * (x - px) / in_len), round(y - 2 * (y - py) / in_len))
        after = (round(x + 2 * (nx - x) / out_len), round(y + 2 * (ny - y) / out_len))
        if i == 0:
            out += [(x, y), after]
            wrapped = before
        else:
            out += [before, (x, y), after]
    out.append(wrapped)
    return np.array(out, dtype=np.int32)


def _colour_sequence(row: np.ndarray, min_run: int = 5) -> list[int]:
    """Labels of the colour runs along a (w, 3) row: PALETTE index, or -1 white / -2 black."""
    candidates = np.array([*PALETTE, WHITE, BLACK], dtype=np.int64)
    dist = ((row[:, None, :].astype(np.int64) - candidates[None]) ** 2).sum(-1)
    labels = [i if i < len(PALETTE) else len(PALETTE) - 1 - i for i in dist.argmin(1).tolist()]
    runs: list[list[int]] = []
    for label in labels:
        if runs and runs[-1][0] == label:
            runs[-1][1] += 1
        else:
            runs.append([label, 1])
    sequence: list[int] = []
    for label, length in runs:
        if length >= min_run and (not sequence or sequence[-1] != label):
            sequence.append(label)
    return sequence


def _noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# --- curved bands ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("read_from", "read_to", "outer_on_top"),
    [
        (200.0, 340.0, True),  # top of a seal: text across the top, glyph tops outward
        (160.0, 20.0, False),  # bottom of a seal: glyph tops toward the centre
    ],
)
def test_curved_band_is_unrolled_left_to_right(read_from, read_to, outer_on_top):
    image = _striped_band(read_from, read_to)
    out = rectify_text_line(image, _ring_polygon(read_from, read_to))

    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    height, width = out.shape[:2]
    arc_length = math.radians(abs(read_to - read_from)) * (R_OUT + R_IN) / 2
    chord = 2 * R_OUT * math.sin(math.radians(abs(read_to - read_from)) / 2)
    assert abs(height - THICKNESS) <= 2
    # 15 slices each lose < 1 px to int(); the rotated crop could not be wider than the chord.
    assert arc_length - 16 <= width <= arc_length + 2
    assert width > chord + 20

    assert _colour_sequence(out[height // 2]) == list(range(len(PALETTE)))

    dark_rows = np.flatnonzero((out.astype(np.int64).sum(-1) < 150).mean(1) > 0.5)
    assert dark_rows.size > 0
    if outer_on_top:
        assert dark_rows.mean() < height / 2
    else:
        assert dark_rows.mean() > height / 2


def test_tall_curved_band_takes_the_vertical_path():
    # Left side of a seal: control-point bbox is ~3x taller than wide.
    image = _striped_band(120.0, 240.0)
    out = rectify_text_line(image, _ring_polygon(120.0, 240.0))
    arc_length = math.radians(120.0) * (R_OUT + R_IN) / 2
    assert out.dtype == np.uint8 and out.shape[2] == 3
    # The vertical path stitches along-text slices side by side, then turns the canvas
    # clockwise: the text runs down the output.
    assert arc_length - 16 <= out.shape[0] <= arc_length + 2
    assert THICKNESS - 2 <= out.shape[1] < out.shape[0] / 3


def test_vertical_band_reads_down_the_output():
    # Tilted so the outer arc has the smaller mean y: it becomes the upper sideline and runs with
    # increasing angle (up the seal's left side). PaddleX stitches along that line, then turns
    # the canvas clockwise: the first stripe ends on top and the outer edge on the right.
    image = _striped_band(130.0, 250.0)
    out = rectify_text_line(image, _ring_polygon(130.0, 250.0))
    assert out.shape[0] > 3 * out.shape[1]
    assert _colour_sequence(out[:, out.shape[1] // 2]) == list(range(len(PALETTE)))
    dark_cols = np.flatnonzero((out.astype(np.int64).sum(-1) < 150).mean(0) > 0.5)
    assert dark_cols.size > 0 and dark_cols.mean() > out.shape[1] / 2


def test_vertical_control_points_use_paddlex_rolled_pairing():
    # Left line x = 10 (y = 10..160), right line x = 30 back up: bbox 20 x 150, vertical.
    # PaddleX moves Q_0 to the end first, so facing pairs are (Q_1, Q_0), 14 x (Q_(i+1), Q_(32-i))
    # 20 px apart in x and y, and (Q_16, Q_17): H = round((10 + 14 * sqrt(800) + 10) / 16) = 26.
    # Slice widths: 15 (the 10 + 20 px steps averaged), 13 x 10, 15 -> 160 px along the text.
    left = np.stack([np.full(16, 10.0), 10 + np.arange(16) * 10.0], 1)
    ctrl = np.concatenate([left, left[::-1] + np.array([20.0, 0.0])]).astype(np.float32)
    out = warp._stitch_homographies(_noise(200, 60, seed=11), ctrl)
    assert out.shape == (160, 26, 3)


# Digests of PaddleX 3.7.2's own output, ``CropByPolys(det_box_type="poly")`` on the same inputs
# (numpy 2.3.5, OpenCV 4.10.0.84), computed in a separate PaddleX venv. The last case is one where
# PaddleX on numpy 1.x gives different pixels (float32 scalar promotion on the vertical path);
# the port follows PaddleX on numpy 2, whatever numpy it runs on.
PADDLEX_GOLDEN = [
    (200.0, 340.0, (30, 360, 3), "65f70f50e1f54013c54bf8ab88966184"),
    (160.0, 20.0, (30, 360, 3), "b08e5842adc289d1a5819f4e79600b31"),
    (130.0, 250.0, (321, 48, 3), "ffe6d95e91d00838c33e73d6505df1f8"),
    (215.0, 300.0, (30, 210, 3), "4ff1f6be2bad06da95c7fe682fbddf24"),
    (106.0, 226.0, (322, 47, 3), "44646d2013610233c8524e266766ec7f"),
]


@pytest.mark.parametrize(("deg_a", "deg_b", "shape", "md5"), PADDLEX_GOLDEN)
def test_matches_paddlex_pixel_for_pixel(deg_a, deg_b, shape, md5):
    poly = _db_like_polygon(deg_a, deg_b)
    # The corner runs are really merged by Step B (4 runs of 3 points -> at least 8 fewer).
    assert len(warp._merge_close_points(poly)) <= len(poly) - 8
    out = rectify_text_line(_striped_band(deg_a, deg_b), poly)
    assert out.shape == shape
    assert hashlib.md5(out.tobytes()).hexdigest() == md5


# Polygons made the way DB post-processing makes them (findContours, approxPolyDP, pyclipper
# round unclip) from synthetic text-band masks, on a deterministic textured crop of (H, W).
# Their head/tail choice depends on the finer terms of the PaddleX score (position bonus,
# gaussian weights) and the 1e-8 of the resampling step; digests from PaddleX 3.7.2 as above.
DB_POLY_GOLDEN = [
    (
        (414, 248),
        [[137, 38], [138, 40], [149, 83], [156, 129], [157, 172], [157, 173], [154, 207],
         [141, 267], [108, 373], [107, 376], [104, 377], [87, 377], [84, 376], [83, 374],
         [83, 372], [113, 276], [124, 232], [130, 195], [132, 151], [130, 121], [120, 67],
         [112, 42], [112, 39], [114, 37], [134, 37]],
        (322, 65, 3),
        "e535d2798c6c193035ec25a56395bfc2",
    ),
    (
        (371, 332),
        [[201, 35], [202, 37], [204, 53], [204, 54], [194, 73], [193, 74], [137, 124],
         [130, 136], [128, 147], [130, 154], [137, 166], [193, 216], [194, 217], [204, 236],
         [204, 249], [199, 260], [190, 271], [189, 272], [137, 318], [129, 335], [126, 337],
         [110, 337], [108, 336], [107, 333], [115, 316], [116, 315], [166, 271], [177, 258],
         [182, 247], [182, 238], [172, 219], [117, 170], [108, 154], [107, 152], [107, 137],
         [116, 121], [172, 71], [182, 52], [180, 37], [181, 35], [183, 34], [199, 34]],
        (343, 46, 3),
        "827016e4cb7176005f21444b739cf9c5",
    ),
    (
        (242, 231),
        [[216, 145], [217, 147], [217, 148], [204, 169], [187, 186], [168, 198], [166, 199],
         [164, 199], [157, 203], [131, 209], [109, 209], [97, 207], [81, 202], [65, 194],
         [64, 194], [49, 183], [37, 171], [29, 159], [28, 157], [29, 155], [37, 151], [40, 152],
         [47, 162], [61, 176], [81, 188], [105, 195], [129, 196], [140, 194], [153, 190],
         [169, 182], [187, 168], [200, 151], [204, 142], [207, 141]],
        (17, 194, 3),
        "0022c428a817c50cea23c263f871f52c",
    ),
]  # fmt: skip


def _pattern(h: int, w: int) -> np.ndarray:
    """Deterministic high-frequency (h, w, 3) uint8 texture (integer arithmetic only)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    channels = [(x * 37 + y * 91 + c * 53 + (x * y) % 17) % 256 for c in range(3)]
    return np.stack(channels, -1).astype(np.uint8)


@pytest.mark.parametrize(("size", "poly", "shape", "md5"), DB_POLY_GOLDEN)
def test_db_polys_match_paddlex_pixel_for_pixel(size, poly, shape, md5):
    out = rectify_text_line(_pattern(*size), np.array(poly))
    assert out.shape == shape
    assert hashlib.md5(out.tobytes()).hexdigest() == md5


def test_grey_crop_gives_three_equal_channels():
    bgr = _striped_band(200.0, 340.0)
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    poly = _ring_polygon(200.0, 340.0)
    out = rectify_text_line(grey, poly)
    assert out.ndim == 3 and out.shape[2] == 3 and out.dtype == np.uint8
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 0], out[..., 2])
    assert np.array_equal(out, rectify_text_line(np.stack([grey] * 3, axis=-1), poly))
    assert np.array_equal(out, rectify_text_line(grey[:, :, None], poly))


# --- Step A: the straight shortcut -------------------------------------------------------------


def test_axis_aligned_rectangle_is_an_exact_crop():
    image = _noise(120, 200)
    poly = np.array([[10, 20], [110, 20], [110, 50], [10, 50]])
    out = rectify_text_line(image, poly)
    # An integer translation with INTER_CUBIC samples the source pixels exactly.
    assert np.array_equal(out, image[20:50, 10:110])
    quad = np.float32([[10, 20], [110, 20], [110, 50], [10, 50]])
    assert np.array_equal(out, rotated_crop(image, quad))


def test_rotated_rectangle_equals_rotated_crop_of_its_min_area_rect():
    image = _noise(200, 240, seed=1)
    poly = np.round(cv2.boxPoints(((120, 100), (140, 30), 25.0))).astype(np.int32)
    out = rectify_text_line(image, poly)
    assert np.array_equal(out, rotated_crop(image, warp._min_area_quad(poly)))
    assert abs(out.shape[0] - 30) <= 2 and abs(out.shape[1] - 140) <= 2


@pytest.mark.parametrize(
    ("bottom", "turned"),
    [(100, True), (40, True), (39, False)],  # h/w = 90/30, 30/20 (= 1.5), 29/20
)
def test_tall_crops_are_turned_counter_clockwise(bottom, turned):
    image = _noise(120, 80, seed=2)
    right = 40 if bottom == 100 else 30
    poly = np.array([[10, 10], [right, 10], [right, bottom], [10, bottom]])
    expected = image[10:bottom, 10:right]
    if turned:
        expected = np.rot90(expected)
    assert np.array_equal(rectify_text_line(image, poly), expected)


def test_rotated_crop_accepts_float64_quad_and_keeps_channels():
    image = _noise(60, 80, seed=3)
    quad = np.array([[5.0, 6.0], [45.0, 6.0], [45.0, 26.0], [5.0, 26.0]])
    out = rotated_crop(image, quad)
    assert np.array_equal(out, image[6:26, 5:45])
    grey = image[..., 0]
    assert np.array_equal(rotated_crop(grey, quad), grey[6:26, 5:45])


def test_min_area_quad_orders_corners_tl_tr_br_bl():
    poly = np.round(cv2.boxPoints(((100, 80), (120, 40), 20.0))).astype(np.int32)
    tl, tr, br, bl = warp._min_area_quad(poly)
    assert tl[0] < tr[0] and bl[0] < br[0]
    assert tl[1] < bl[1] and tr[1] < br[1]


# --- the 4-point path and degenerate polygons --------------------------------------------------


def test_rhombus_takes_the_four_point_curved_path():
    # All four sides are 100 px long (nothing merged in Step B) and IoU with the 160x80 min-area
    # rect is 8000 / 12800 < 0.7. Top side 100 px -> 15 slices of int(100 / 15) = 6 px; facing
    # points of the two long sides are 100 px apart along the slanted side.
    image = _noise(120, 200, seed=4)
    poly = np.array([[0, 0], [100, 0], [160, 80], [60, 80]]) + 10
    out = rectify_text_line(image, poly)
    assert out.shape == (100, 6 * 15, 3)
    assert out.dtype == np.uint8


@pytest.mark.parametrize(
    "poly",
    [
        [[5, 5], [40, 8], [20, 30]],  # 3 points
        [[0, 0], [10, 10], [20, 20], [30, 30]],  # collinear
        [[7, 7]] * 5,  # all equal
        [[0, 0], [30, 30], [30, 0], [0, 30]],  # bow-tie, self-intersecting
        [[1, 1], [60, 2]],  # 2 points
        [[3, 4]],  # 1 point
        [],  # no point
    ],
)
def test_degenerate_polygons_give_a_non_empty_bgr_image(poly):
    image = _noise(120, 90, seed=5)
    out = rectify_text_line(image, np.array(poly, dtype=np.int64).reshape(-1, 2))
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    assert out.shape[0] > 0 and out.shape[1] > 0


def test_polygon_simplified_below_four_points_returns_the_rotated_crop():
    # Valid and IoU < 0.7 (a triangle-like shape), but the 1.4 px edge is merged in Step B:
    # 3 points are left, and PaddleX 3.7.2 then returns the rotated crop.
    image = _noise(120, 160, seed=12)
    poly = np.array([[0, 0], [100, 0], [101, 1], [50, 80]], dtype=np.int32) + 10
    assert len(warp._merge_close_points(poly)) == 3
    assert np.array_equal(
        rectify_text_line(image, poly), rotated_crop(image, warp._min_area_quad(poly))
    )


def test_bow_tie_returns_the_rotated_crop():
    image = _noise(120, 90, seed=6)
    poly = np.array([[0, 0], [30, 30], [30, 0], [0, 30]], dtype=np.int32)
    assert np.array_equal(
        rectify_text_line(image, poly), rotated_crop(image, warp._min_area_quad(poly))
    )


def test_rejects_non_image_input():
    with pytest.raises(ValueError):
        rectify_text_line(np.zeros((10, 10, 3), dtype=np.float32), np.zeros((4, 2)))
    with pytest.raises(ValueError):
        rectify_text_line(np.zeros((10, 10, 4), dtype=np.uint8), np.zeros((4, 2)))


# --- step helpers ------------------------------------------------------------------------------


def test_merge_close_points_replaces_a_dense_run_by_its_mean():
    # Edges 100, 1.4, 1.4, 100, 100: the two short ones fall under 0.9 x mean (~60.6).
    points = np.array([[0, 0], [100, 0], [101, 1], [102, 0], [100, 100], [0, 100]], np.int32)
    merged = warp._merge_close_points(points)
    # mean of (100,0), (101,1), (102,0) = (101, 1/3), truncated to int32
    assert merged.tolist() == [[0, 0], [101, 0], [100, 100], [0, 100]]
    assert merged.dtype == np.int32


def test_merge_close_points_merges_the_closing_run_into_the_first_group():
    points = np.array([[0, 0], [100, 0], [100, 100], [0, 100], [0, 2]], np.int32)
    merged = warp._merge_close_points(points)
    assert merged.tolist() == [[0, 1], [100, 0], [100, 100], [0, 100]]


def test_resample_polyline_gives_16_points_keeping_the_ends():
    line = np.array([[0, 0], [30, 0], [30, 40], [100, 40]], np.int32)  # length 30 + 40 + 70
    out = warp._resample_polyline(line)
    assert out.shape == (16, 2) and out.dtype == np.float64
    assert out[0].tolist() == [0.0, 0.0] and out[-1].tolist() == [100.0, 40.0]
    steps = np.linalg.norm(np.diff(out, axis=0), axis=1)
    # Interior samples are 140 / 15 apart along the path (a corner shortens one chord).
    along = [s for k, s in enumerate(steps) if k not in (3, 7)]
    assert np.allclose(along, 140 / 15, atol=1e-5)


def test_resample_polyline_of_a_point_keeps_only_the_two_ends():
    out = warp._resample_polyline(np.array([[5, 5], [5, 5], [5, 5]], np.int32))
    assert out.tolist() == [[5.0, 5.0], [5.0, 5.0]]


def test_find_head_tail_picks_the_radial_edges_of_an_arc():
    poly = _ring_polygon(200.0, 340.0)
    n_outer = len(_arc(R_OUT, 200.0, 340.0, 12.0))
    n = len(poly)
    assert len(warp._merge_close_points(poly)) == n  # evenly spaced: nothing merged
    head, tail = warp._find_head_tail(poly)
    assert {head, tail} == {(n - 1, 0), (n_outer - 1, n_outer)}
    first, second = warp._split_sidelines(poly, head, tail)
    assert len(first) + len(second) == n
    assert {len(first), len(second)} == {n_outer, n - n_outer}


# n = 66 with radial edges at 35 and 65: a shift of 33 puts the later one on index n/2 - 1,
# where PaddleX's position bonus makes it the argmax head, so the two edges must be swapped.
@pytest.mark.parametrize("shift", [0, 7, 20, 33, 50])
def test_find_head_tail_is_independent_of_the_ring_start(shift):
    base = _ring_polygon(200.0, 340.0)
    n, n_outer = len(base), len(_arc(R_OUT, 200.0, 340.0, 12.0))
    assert (n, n_outer) == (66, 36)
    poly = np.roll(base, -shift, axis=0)  # vertex k of base is vertex (k - shift) mod n here
    head, tail = warp._find_head_tail(poly)
    radial = {
        ((n - 1 - shift) % n, (n - shift) % n),
        ((n_outer - 1 - shift) % n, (n_outer - shift) % n),
    }
    assert {head, tail} == radial
    assert head[1] <= tail[1]  # PaddleX orders the two edges by their end index
    first, second = warp._split_sidelines(poly, head, tail)
    assert {len(first), len(second)} == {n_outer, n - n_outer}


@pytest.mark.parametrize(("thickness", "expected"), [(20.0, 20.0), (20.5, 20.0), (21.5, 22.0)])
def test_unrolled_layout_rounds_the_height_half_to_even(thickness, expected):
    top = np.stack([np.arange(16) * 10.0, np.zeros(16)], 1)
    points = np.concatenate([top, top[::-1] + np.array([0.0, thickness])])
    world = warp._unrolled_layout(points)
    assert np.allclose(world[16:, 1] - world[:16, 1], expected)


def test_unrolled_layout_of_a_straight_band():
    # Upper line y = 0 from x = 0 to 150 (step 10), lower line y = 20 back from 150 to 0.
    top = np.stack([np.arange(16) * 10.0, np.zeros(16)], 1)
    points = np.concatenate([top, top[::-1] + np.array([0.0, 20.0])])
    world = warp._unrolled_layout(points)
    assert world.dtype == np.float32 and world.shape == (32, 2)
    assert np.allclose(np.diff(world[:16, 0]), 10.0)
    assert np.allclose(world[:16, 1], -10.0) and np.allclose(world[16:, 1], 10.0)
    assert np.allclose(world[16:, 0], world[:16, 0][::-1])


def test_straight_control_points_stitch_to_the_exact_band():
    image = _noise(60, 200, seed=7)
    top = np.stack([20 + np.arange(16) * 10.0, np.full(16, 10.0)], 1)
    ctrl = np.concatenate([top, top[::-1] + np.array([0.0, 20.0])]).astype(np.float32)
    out = warp._auto_rectify(image, ctrl)
    # 15 integer-aligned 10 x 20 slices: INTER_LINEAR at integer positions copies pixels.
    assert np.array_equal(out, image[10:30, 20:170])


def test_zero_width_control_points_fall_back_to_the_bbox_crop():
    image = _noise(80, 60, seed=8)
    ctrl = np.stack([np.full(32, 10.5), np.linspace(5, 60, 32)], 1).astype(np.float32)
    out = warp._auto_rectify(image, ctrl)  # 0-width bbox: ZeroDivisionError inside, caught
    assert out.size == 0
    assert warp._finish(out).shape == (1, 1, 3) and not warp._finish(out).any()


def test_bbox_fallback_clips_to_the_last_pixel_index():
    image = _noise(50, 40, seed=9)
    ctrl = np.float32([[5, 7], [100, 7], [100, 80], [50, 80], [5, 80], [5, 40]])  # 6 points
    out = warp._fallback_crop(image, ctrl)
    assert np.array_equal(out, image[7:49, 5:39])  # PaddleX clips bounds to H-1 and W-1


def test_four_control_points_use_a_plain_homography():
    image = _noise(50, 60, seed=10)
    ctrl = np.float32([[4, 3], [44, 3], [44, 23], [4, 23]])
    assert np.array_equal(warp._auto_rectify(image, ctrl), image[3:23, 4:44])


def test_four_point_homography_interpolates_linearly():
    # Half-pixel shift in x: INTER_LINEAR gives the mean of two neighbours (to within rounding);
    # a cubic kernel would mix in four and overshoot on noise.
    image = _noise(50, 60, seed=13)
    ctrl = np.float32([[4.5, 3], [44.5, 3], [44.5, 23], [4.5, 23]])
    out = warp._auto_rectify(image, ctrl).astype(np.float64)
    assert out.shape == (20, 40, 3)
    pairs = image[3:23, 4:44].astype(np.float64) + image[3:23, 5:45].astype(np.float64)
    assert np.abs(out - pairs / 2).max() <= 0.5
