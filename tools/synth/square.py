"""Square seals: a border and a 2 x 2 or 3 x 3 grid of characters."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from tools.synth.glyphs import SS, stamp_glyph
from tools.synth.words import square_text


def draw_square(
    rng: np.random.Generator, splan: dict[str, Any], half: float
) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    """Square seal at SS scale with a 2x2 or 3x3 grid of characters read in columns from the
    right; returns (mask, texts, extra)."""
    pad = 4
    side = math.ceil(2 * half) + 2 * pad
    lo, hi = pad, side - 1 - pad
    canvas = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(canvas)
    size_total = hi - lo
    border = max(3, round(size_total * float(rng.uniform(0.035, 0.07))))
    inverted = splan["inverted"]
    if inverted:
        draw.rectangle([lo, lo, hi, hi], fill=255)
    else:
        draw.rectangle([lo, lo, hi, hi], outline=255, width=border)
    inset = border
    if splan["double_ring"]:
        space = max(3, round(size_total * 0.025))
        thin = max(2, round(border * 0.45))
        box = [lo + inset + space, lo + inset + space, hi - inset - space, hi - inset - space]
        draw.rectangle(box, outline=0 if inverted else 255, width=thin)
        inset += space + thin
    inset += round(size_total * float(rng.uniform(0.03, 0.06)))
    grid = splan["grid"]
    text = square_text(rng, grid)
    cell = (size_total - 2 * inset) / grid
    font_size = int(cell * float(rng.uniform(0.8, 0.92)))
    stroke = round(font_size * float(rng.uniform(0.0, 0.05)))
    glyphs = np.zeros((side, side), np.uint8)
    for k, char in enumerate(text):
        col, row = grid - 1 - k // grid, k % grid
        x = lo + inset + (col + 0.5) * cell
        y = lo + inset + (row + 0.5) * cell
        stamp_glyph(glyphs, char, (font_size, stroke, 1.0), x, y, 0.0)
    mask = np.array(canvas)
    if inverted:
        mask = np.where(glyphs > mask, 0, mask - glyphs).astype(np.uint8)
    else:
        np.maximum(mask, glyphs, out=mask)
    extra = {"grid_font_px": round(font_size / SS, 1)}
    return mask, [text], extra
