"""One seal as ink coverage: drawn at SS times the size, averaged down, turned, faded, inked."""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from tools.synth.elliptic import draw_elliptic
from tools.synth.glyphs import SS
from tools.synth.square import draw_square

INK_BGR = (30, 30, 200)


def make_seal(
    rng: np.random.Generator,
    splan: dict[str, Any],
    target: int,
    angle: float,
    plan: dict[str, Any],
) -> tuple[np.ndarray, dict[str, Any]]:
    """The seal's 1x ink coverage (h, w) uint8 cropped to its ink, and its label (no box yet).

    ``target``: the larger side of the rotated seal's bounding box, in px.
    """
    shape = splan["shape"]
    theta = math.radians(angle)
    c, s = abs(math.cos(theta)), abs(math.sin(theta))
    if shape == "round":
        a = b = target / 2
    elif shape == "oval":
        ratio = float(rng.uniform(0.62, 0.78))
        # bounding half-extents of a rotated ellipse
        ext_x = math.hypot(c, ratio * s)
        ext_y = math.hypot(s, ratio * c)
        a = target / 2 / max(ext_x, ext_y)
        b = a * ratio
    else:
        a = b = target / 2 / (c + s)
    if shape == "square":
        mask, texts, extra = draw_square(rng, splan, a * SS)
    else:
        mask, texts, extra = draw_elliptic(rng, splan, a * SS, b * SS)
    alpha = _downsample(mask)
    if angle:
        alpha = _rotate(alpha, angle)
    ys, xs = np.nonzero(alpha)
    alpha = alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    strength = int(rng.integers(215, 256))
    alpha = ((alpha.astype(np.uint32) * strength + 127) // 255).astype(np.uint8)
    faded = bool(plan["fade"])
    if faded:
        alpha = _fade(rng, alpha)
    jitter = rng.integers(-20, 31, size=2)
    ink = [
        int(np.clip(INK_BGR[0] + jitter[0], 0, 255)),
        int(np.clip(INK_BGR[1] + jitter[1] // 2, 0, 255)),
        int(np.clip(INK_BGR[2] + int(rng.integers(-30, 41)), 0, 255)),
    ]
    style = {
        "angle": angle,
        "ink": ink,
        "strength": strength,
        "faded": faded,
        "double_ring": splan["double_ring"],
        "star": splan["star"],
        "digits": splan["digits"],
        "grid": splan["grid"],
        "inverted": splan["inverted"],
        **extra,
    }
    return alpha, {"shape": shape, "box": None, "texts": texts, "style": style}


def _downsample(mask: np.ndarray) -> np.ndarray:
    """Exact integer 2x2 box average (rounded) of an SS=2 mask."""
    h, w = mask.shape
    m = np.pad(mask, ((0, h % 2), (0, w % 2))).astype(np.uint16)
    total = m[0::2, 0::2] + m[1::2, 0::2] + m[0::2, 1::2] + m[1::2, 1::2]
    return ((total + 2) // 4).astype(np.uint8)


def _rotate(alpha: np.ndarray, angle: float) -> np.ndarray:
    """Rotate by ``angle`` degrees (counter-clockwise on screen) on a canvas that holds it all."""
    h, w = alpha.shape
    side = math.ceil(math.hypot(h, w)) + 4
    canvas = np.zeros((side, side), np.uint8)
    oy, ox = (side - h) // 2, (side - w) // 2
    canvas[oy : oy + h, ox : ox + w] = alpha
    centre = (side - 1) / 2
    t = math.radians(angle)
    c, s = math.cos(t), math.sin(t)
    matrix = np.array(
        [[c, s, (1 - c) * centre - s * centre], [-s, c, s * centre + (1 - c) * centre]]
    )
    return cv2.warpAffine(
        canvas, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )


def _fade(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    """Faded / partial ink: a smooth random multiplicative mask times fine speckle."""
    h, w = alpha.shape
    gh, gw = int(rng.integers(3, 8)), int(rng.integers(3, 8))
    low = float(rng.uniform(0.15, 0.5))
    grid = (rng.uniform(low, 1.0, size=(gh, gw)) * 255).astype(np.uint8)
    smooth = cv2.resize(grid, (w, h), interpolation=cv2.INTER_LINEAR_EXACT).astype(np.uint32)
    p = float(rng.uniform(0.03, 0.2))
    speckle = np.where(rng.random((h, w)) < p, 60, 255).astype(np.uint32)
    factor = (smooth * speckle + 127) // 255
    return ((alpha.astype(np.uint32) * factor + 127) // 255).astype(np.uint8)
