"""CJK glyphs for the seal masks: the font, cached glyph tiles, and stamping a turned glyph."""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

SS = 2  # supersampling factor of the seal ink mask: shapes and glyphs are drawn at SS x size


@lru_cache(maxsize=1)
def font_path() -> str:
    from seal_client.visualize import find_cjk_font

    return str(find_cjk_font())


@lru_cache(maxsize=512)
def load_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_path(), max(4, int(size)))


@lru_cache(maxsize=8192)
def glyph_tile(char: str, size: int, stroke: int) -> np.ndarray:
    """Coverage of ``char`` (emboldened by ``stroke`` px) centred in a square tile with room to
    rotate it (read-only)."""
    side = math.ceil(size * 1.6) + 2 + 2 * stroke
    tile = Image.new("L", (side, side), 0)
    ImageDraw.Draw(tile).text(
        (side / 2, side / 2),
        char,
        font=load_font(size),
        fill=255,
        anchor="mm",
        stroke_width=stroke,
        stroke_fill=255,
    )
    array = np.array(tile)
    array.setflags(write=False)
    return array


def advance(char: str, size: int) -> float:
    return float(load_font(size).getlength(char))


def stamp_glyph(
    mask: np.ndarray,
    char: str,
    font: tuple[int, int, float],
    x: float,
    y: float,
    rot: float,
) -> None:
    """Max-composite ``char`` centred at (x, y), its baseline turned by ``rot`` radians
    (clockwise on screen). ``font``: (size, stroke, horizontal scale)."""
    size, stroke, squeeze = font
    tile = glyph_tile(char, size, stroke)
    side = tile.shape[0]
    half = (side - 1) / 2
    x0, y0 = math.floor(x - half) - 1, math.floor(y - half) - 1
    out = side + 3
    c, s = math.cos(rot), math.sin(rot)
    # tile point p -> mask point R diag(squeeze, 1) (p - half) + (x, y), in the output window
    cq, sq = c * squeeze, s * squeeze
    matrix = np.array(
        [
            [cq, -s, x - x0 - (cq * half - s * half)],
            [sq, c, y - y0 - (sq * half + c * half)],
        ]
    )
    warped = cv2.warpAffine(tile, matrix, (out, out), flags=cv2.INTER_LINEAR)
    h, w = mask.shape
    wx0, wy0 = max(0, -x0), max(0, -y0)
    mx0, my0 = max(0, x0), max(0, y0)
    mx1, my1 = min(w, x0 + out), min(h, y0 + out)
    if mx1 <= mx0 or my1 <= my0:
        return
    window = warped[wy0 : wy0 + (my1 - my0), wx0 : wx0 + (mx1 - mx0)]
    np.maximum(mask[my0:my1, mx0:mx1], window, out=mask[my0:my1, mx0:mx1])
