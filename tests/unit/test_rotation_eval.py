"""The pieces of ``make rotation-eval`` (tools/eval/rotation.py) that decide its numbers."""

from __future__ import annotations

import numpy as np
import pytest

from tools.eval.rotation import (
    MODES,
    PADDLEX,
    Tally,
    matched,
    paper_colour,
    synthetic_pictures,
    table,
    targets,
    turn,
)


def test_lines_match_as_multisets():
    assert matched(["发票专用章", "123", "123"], ["123", "发票专用章", "x"]) == 2
    assert matched(["123", "123"], ["123", "123", "123"]) == 2
    assert matched(["a"], []) == 0


def test_quarter_turns_are_exact_and_other_angles_keep_the_whole_picture():
    picture = np.random.default_rng(0).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    assert np.array_equal(turn(picture, 90, (0, 0, 0)), np.rot90(picture))
    assert np.array_equal(turn(picture, 270, (0, 0, 0)), np.rot90(picture, 3))
    assert np.array_equal(turn(picture, 0, (0, 0, 0)), picture)
    white = np.full((30, 50, 3), 255, np.uint8)
    turned = turn(white, 45, (7, 8, 9))
    side = (30 + 50) / 2**0.5
    assert turned.shape[:2] == (int(np.ceil(side)), int(np.ceil(side)))
    assert turned[0, 0].tolist() == [7, 8, 9]  # the widened canvas has the paper's colour
    assert (turned[turned.shape[0] // 2, turned.shape[1] // 2] == 255).all()


def test_paper_colour_is_the_border_median():
    picture = np.full((20, 20, 3), 240, np.uint8)
    picture[5:15, 5:15] = (30, 30, 200)  # the seal does not reach the border
    assert paper_colour(picture) == (240, 240, 240)


def test_synthetic_pictures_are_upright_seals_with_their_ground_truth():
    pictures = synthetic_pictures(2, seed=0)
    assert len(pictures) == 2 and pictures[0].name != pictures[1].name
    for picture in pictures:
        assert picture.lines and all(picture.lines)
        assert picture.image.ndim == 3 and picture.image.dtype == np.uint8
    assert synthetic_pictures(2, seed=0)[1].lines == pictures[1].lines  # seeded


def test_table_and_targets_report_what_the_tally_holds():
    tally = Tally.empty([0, 180])
    tally.total.update({0: 4, 180: 4})
    tally.right[0].update(dict.fromkeys(MODES, 4))
    tally.right[180].update({mode: 3 for mode in MODES})
    tally.right[180][PADDLEX] = 1
    option = list(MODES)[1]  # use_textline_orientation
    tally.lost[0][option] = 1
    text = table(tally, "t")
    assert "| 180 | 4 | 1 (25 %) | 3 (75 %), lost 0 |" in text
    assert "| all | 8 | 5 (62 %) |" in text
    notes = targets(tally, tally)
    assert any(
        "at 180 degrees 3 lines vs PaddleX's 1 (3.0x, target >= 3x: met)" in n for n in notes
    )
    assert any("at 0 degrees 1 lost (target none: NOT met)" in n for n in notes)


@pytest.mark.parametrize("paddlex", [0, 2])
def test_the_180_degree_target_needs_three_times_paddlex_and_a_line(paddlex):
    tally = Tally.empty([0, 180])
    tally.right[180][PADDLEX] = paddlex
    notes = targets(tally, tally)
    assert all("target >= 3x: NOT met" in note for note in notes)
