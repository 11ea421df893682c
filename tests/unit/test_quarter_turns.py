"""Unit tests of ``use_seal_quarter_turns`` in ``seal_ocr.pipeline``: the regions, the turn back
of polygons into the crop's frame, and the choice of each seal's best-read quarter turn."""

from __future__ import annotations

import numpy as np
import pytest

from seal_ocr.params import parse_options
from seal_ocr.pipeline import (
    QUARTER_TURNS,
    _seal_view,
    assemble,
    best_quarter_turns,
    seal_regions,
    unturn_poly,
)

BOXES = np.array([[10.0, 20.0, 70.0, 60.0], [0.0, 0.0, 30.0, 50.0]])
TURNS_ON = parse_options({"use_seal_quarter_turns": True})


def test_regions_are_the_seals_unless_the_option_is_on():
    regions, turns = seal_regions(BOXES, parse_options({}))
    assert np.array_equal(regions, BOXES) and turns.tolist() == [0, 0]
    regions, turns = seal_regions(BOXES, TURNS_ON)
    assert np.array_equal(regions, np.repeat(BOXES, QUARTER_TURNS, axis=0))
    assert turns.tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    assert seal_regions(np.zeros((0, 4)), TURNS_ON)[0].shape == (0, 4)


@pytest.mark.parametrize("turn", [0, 1, 2, 3])
def test_unturn_poly_maps_a_pixel_back_to_where_it_is_in_the_crop(turn: int):
    page = np.zeros((80, 90, 3), np.uint8)
    box = BOXES[0]  # a 60 x 40 crop at (10, 20)
    crop = _seal_view(page, box)
    crop[7, 11] = 255  # the pixel whose corners are (11, 7) .. (12, 8) in crop pixels
    turned = _seal_view(page, box, turn)
    assert np.array_equal(turned, np.rot90(crop, turn))
    ys, xs = np.nonzero(turned[:, :, 0])
    (y, x) = int(ys[0]), int(xs[0])
    corners = np.array([[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1]])
    back = unturn_poly(corners, turn, crop.shape[:2])
    assert back.dtype == np.int32
    assert sorted(map(tuple, back.tolist())) == [(11, 7), (11, 8), (12, 7), (12, 8)]


def _square(x: int) -> np.ndarray:
    return np.array([[x, 1], [x + 5, 1], [x + 5, 4], [x, 4]], np.int32)


def test_the_best_mean_score_wins_and_its_polygons_come_back_into_the_crop():
    # seal 0: turn 2 reads best (mean 0.9); seal 1: no turn reads anything -> turn 0
    polys = [[_square(0)], [_square(1), _square(2)], [_square(3)], [], [], [], [], []]
    texts = ["a", "b1", "b2", "c"]
    scores = [0.5, 0.2, 0.4, 0.9]
    angles = [0, 1, 0, 1]
    kept_polys, kept_texts, kept_scores, kept_angles = best_quarter_turns(
        BOXES, polys, texts, scores, angles
    )
    assert kept_texts == ["c"] and kept_scores == [0.9] and kept_angles == [1]
    assert len(kept_polys) == 2 and kept_polys[1] == []
    crop_hw = (40, 60)
    np.testing.assert_array_equal(kept_polys[0][0], unturn_poly(_square(3), 2, crop_hw))


def test_a_tie_keeps_the_lesser_turn_and_no_angles_stay_none():
    polys = [[_square(0)], [_square(1)], [_square(2)], [_square(3)]]
    _, texts, _, angles = best_quarter_turns(
        BOXES[:1], polys, ["t0", "t1", "t2", "t3"], [0.7, 0.7, 0.6, 0.7], None
    )
    assert texts == ["t0"] and angles is None


def test_regions_must_come_four_per_seal():
    with pytest.raises(ValueError, match="3 regions for 1 seals"):
        best_quarter_turns(BOXES[:1], [[], [], []], [], [], None)


def test_assemble_reports_the_chosen_turn_per_seal_in_crop_and_page_pixels():
    polys = [[_square(0)], [_square(1)], [], [], [], [], [], [_square(2)]]
    result = assemble(TURNS_ON, None, BOXES, polys, ["x", "y", "z"], [0.3, 0.8, 0.6], None)
    first, second = result["seal_res_list"]
    assert first["rec_texts"] == ["y"] and second["rec_texts"] == ["z"]
    assert first["dt_polys"] == [unturn_poly(_square(1), 1, (40, 60)).tolist()]
    assert second["dt_polys"] == [unturn_poly(_square(2), 3, (50, 30)).tolist()]
    assert second["textline_orientation_angles"] == [-1]  # the line step was off
    page_poly = (unturn_poly(_square(1), 1, (40, 60)) + np.array([10, 20])).tolist()
    assert result["texts"][0] == {"seal_index": 0, "poly": page_poly, "text": "y", "score": 0.8}
