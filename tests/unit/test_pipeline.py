"""Unit tests of ``seal_ocr.pipeline``'s own helpers (the stages have their own test files)."""

from __future__ import annotations

import numpy as np

from seal_ocr.pipeline import crop_seal


def test_crop_seal_truncates_page_coordinates_and_returns_a_copy() -> None:
    page = np.arange(50 * 40 * 3, dtype=np.uint8).reshape(50, 40, 3)
    crop = crop_seal(page, (10.9, 5.2, 20.99, 15.7))  # PaddleX: int() of each coordinate
    assert crop.shape == (10, 10, 3)
    np.testing.assert_array_equal(crop, page[5:15, 10:20])
    crop[:] = 0
    assert page[5, 10].any(), "the crop must not alias the page"


def test_crop_seal_of_a_box_thinner_than_a_pixel_is_empty() -> None:
    page = np.zeros((20, 20, 3), np.uint8)
    assert crop_seal(page, np.array([3.2, 4.0, 3.9, 12.0])).shape == (8, 0, 3)
