"""Round and oval seals: rings, a star, centre lines, and text set along the arcs."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from tools.synth.glyphs import SS, advance, load_font, stamp_glyph
from tools.synth.words import (
    CENTRE_TEXTS,
    GIVEN_CHARS,
    NAME_CHARS,
    company_name,
    digit_string,
    pick,
    random_chars,
)

_SAMPLES = 1441  # arc-length table resolution over the full ellipse (0.25 degree steps)


def _arc_table(a: float, b: float, bottom: bool) -> tuple[np.ndarray, np.ndarray]:
    """Parameters t in [-pi, pi] and the cumulative arc length of the ellipse at each."""
    ts = [-math.pi + 2 * math.pi * k / (_SAMPLES - 1) for k in range(_SAMPLES)]
    pts = [_ellipse_point(0.0, 0.0, a, b, t, bottom)[:2] for t in ts]
    lengths = [0.0]
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        lengths.append(lengths[-1] + math.hypot(x1 - x0, y1 - y0))
    return np.array(ts), np.array(lengths)


def _ellipse_point(
    cx: float, cy: float, a: float, b: float, t: float, bottom: bool
) -> tuple[float, float, float]:
    """Point at parameter t (0 = top or bottom centre, increasing left to right) and the
    screen angle of the reading direction there (the glyph baseline)."""
    st, ct = math.sin(t), math.cos(t)
    if bottom:
        return cx + a * st, cy + b * ct, math.atan2(-b * st, a * ct)
    return cx + a * st, cy - b * ct, math.atan2(b * st, a * ct)


def _arc_length(a: float, b: float, t_max: float) -> float:
    ts, lengths = _arc_table(a, b, False)
    lo, hi = np.interp([-t_max, t_max], ts, lengths)
    return float(hi - lo)


def _draw_arc_text(
    mask: np.ndarray,
    text: str,
    font: tuple[int, int, float],
    centre: tuple[float, float],
    axes: tuple[float, float],
    spacing: Sequence[float],
    bottom: bool,
) -> None:
    """Glyph centres on the ellipse ``axes`` around ``centre``, centred at the top (or bottom),
    read left to right, each glyph upright along the outward (top) or inward (bottom) normal.

    ``spacing``: the arc length each glyph takes (sums to the text's arc length).
    """
    (cx, cy), (a, b) = centre, axes
    ts, lengths = _arc_table(a, b, bottom)
    mid = float(np.interp(0.0, ts, lengths))
    position = mid - sum(spacing) / 2
    for char, step in zip(text, spacing, strict=True):
        t = float(np.interp(position + step / 2, lengths, ts))
        x, y, rot = _ellipse_point(cx, cy, a, b, t, bottom)
        stamp_glyph(mask, char, font, x, y, rot)
        position += step


@dataclass
class _ArcFit:
    font: tuple[int, int, float]  # (size, stroke, squeeze) at SS scale
    axes: tuple[float, float]  # ellipse of the glyph centres
    spacing: list[float]  # arc length per glyph


def _fit_arc(
    text: str,
    size: float,
    weight: float,
    squeeze: float,
    inner: tuple[float, float],
    gap: float,
    t_max: float,
    tracking: float,
) -> _ArcFit:
    """Shrink the font until ``text`` fits the arc between -t_max and t_max just inside the
    ellipse ``inner`` (less ``gap``). ``weight``: stroke width as a fraction of the size."""
    size = int(size)
    while True:
        stroke = round(size * weight)
        a, b = inner[0] - gap - size / 2 - stroke, inner[1] - gap - size / 2 - stroke
        spacing = [(advance(ch, size) + stroke) * squeeze * tracking for ch in text]
        if sum(spacing) <= _arc_length(a, b, t_max) or size <= 8:
            return _ArcFit((size, stroke, squeeze), (a, b), spacing)
        size = max(8, int(size * 0.94))


def draw_elliptic(
    rng: np.random.Generator, splan: dict[str, Any], a: float, b: float
) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    """Round or oval seal at SS scale: outer semi-axes (a, b); returns (mask, texts, extra)."""
    round_ = splan["shape"] == "round"
    minor = min(a, b)
    pad = 4
    width, height = math.ceil(2 * a) + 2 * pad, math.ceil(2 * b) + 2 * pad
    cx, cy = (width - 1) / 2, (height - 1) / 2
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    ring = max(3, round(minor * float(rng.uniform(0.035, 0.065))))
    draw.ellipse([cx - a, cy - b, cx + a, cy + b], outline=255, width=ring)
    a_in, b_in = a - ring, b - ring
    if splan["double_ring"]:
        space = max(3, round(minor * float(rng.uniform(0.02, 0.04))))
        thin = max(2, round(ring * float(rng.uniform(0.3, 0.5))))
        a2, b2 = a_in - space, b_in - space
        draw.ellipse([cx - a2, cy - b2, cx + a2, cy + b2], outline=255, width=thin)
        a_in, b_in = a2 - thin, b2 - thin
    gap = minor * float(rng.uniform(0.02, 0.045))
    weight = float(rng.uniform(0.0, 0.05))  # glyph stroke / size
    squeeze = float(rng.uniform(0.78, 1.0))  # glyph width scale (seal fonts are often narrow)

    # arc text along the upper arc
    arc_text = company_name(rng, splan["arc_len"])
    ring_digits = splan["digits"] == "ring"
    t_max = math.radians(float(rng.uniform(95, 110) if ring_digits else rng.uniform(105, 125)))
    pref = b * float(rng.uniform(0.19, 0.25) if round_ else rng.uniform(0.22, 0.28))
    tracking = float(rng.uniform(1.0, 1.15))
    arc = _fit_arc(arc_text, pref, weight, squeeze, (a_in, b_in), gap, t_max, tracking)
    # short texts spread out a little (at most 1.4x), never past the arc limit
    natural = sum(arc.spacing)
    spread = min(
        natural * 1.4,
        max(natural, _arc_length(*arc.axes, math.radians(float(rng.uniform(55, 75))))),
        _arc_length(*arc.axes, t_max),
    )
    arc.spacing = [step * spread / natural for step in arc.spacing]
    size = arc.font[0] + 2 * arc.font[1]  # radial extent of the arc glyphs

    # digit ring along the bottom
    digit_text = digit_string(rng) if splan["digits"] != "none" else ""
    bottom_limit = cy + b_in - gap * 2
    digit_arc = None
    if ring_digits:
        pref_d = b * float(rng.uniform(0.09, 0.12))
        t_bottom = math.pi - t_max - math.radians(8)
        digit_arc = _fit_arc(digit_text, pref_d, weight, 1.0, (a_in, b_in), gap, t_bottom, 1.1)
        bottom_limit = cy + digit_arc.axes[1] - digit_arc.font[0] * 0.7 - gap

    # centre: star (round) and horizontal lines
    ca, cb = arc.axes[0] - size / 2 - gap, arc.axes[1] - size / 2 - gap  # inside the arc text
    lines: list[tuple[str, float]] = []
    n_centre = splan["centre_lines"]
    if n_centre >= 1:
        centre_fs = rng.uniform(0.15, 0.2) if round_ else rng.uniform(0.19, 0.25)
        lines.append((pick(rng, CENTRE_TEXTS), b * float(centre_fs)))
    if n_centre >= 2:
        second = random_chars(rng, GIVEN_CHARS + NAME_CHARS, int(rng.integers(2, 5)))
        lines.append((second, b * float(rng.uniform(0.12, 0.15))))
    if splan["digits"] == "line":
        line = (digit_text, b * float(rng.uniform(0.09, 0.12)))
        if round_:
            lines.append(line)
        else:
            lines.insert(0, line)
    line_gap = 0.3
    total = sum(fs for _, fs in lines) * (1 + line_gap) - (line_gap * lines[-1][1] if lines else 0)
    if splan["star"]:
        star_r = cb * float(rng.uniform(0.32, 0.42) if lines else rng.uniform(0.45, 0.55))
        star_cy = cy - cb * 0.22 if lines else cy
        _draw_star(draw, cx, star_cy, star_r)
        top = star_cy + star_r * 0.82 + gap
    else:  # the block sits a little below the centre, above the digit ring
        top = max(cy - cb * 0.8, min(cy - total / 2 + cb * 0.08, bottom_limit - total))
    room = bottom_limit - top
    if lines and total > room:
        lines = [(text, fs * room / total) for text, fs in lines]
    y = top
    centre_texts = []
    for text, fs in lines:
        fs = int(fs)
        dy = max(abs(y - cy), abs(y + fs - cy))
        half_w = ca * math.sqrt(max(0.0, 1 - (dy / cb) ** 2)) * 0.92
        stroke = round(fs * weight)
        text_w = float(load_font(fs).getlength(text)) + 2 * stroke
        if text_w > 2 * half_w:
            fs = max(8, int(fs * 2 * half_w / text_w))
            stroke = round(fs * weight)
        draw.text(
            (cx, y + fs / 2),
            text,
            font=load_font(fs),
            fill=255,
            anchor="mm",
            stroke_width=stroke,
            stroke_fill=255,
        )
        centre_texts.append(text)
        y += fs * (1 + line_gap)

    mask = np.array(canvas)
    _draw_arc_text(mask, arc_text, arc.font, (cx, cy), arc.axes, arc.spacing, bottom=False)
    if digit_arc is not None:
        _draw_arc_text(
            mask, digit_text, digit_arc.font, (cx, cy), digit_arc.axes, digit_arc.spacing, True
        )
    texts = [arc_text, *centre_texts] + ([digit_text] if ring_digits else [])
    extra = {
        "arc_font_px": round(arc.font[0] / SS, 1),
        "arc_span_deg": round(math.degrees(spread / max(arc.axes)), 1) if round_ else None,
        "weight": round(weight, 3),
        "squeeze": round(squeeze, 3),
    }
    return mask, texts, extra


def _draw_star(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    inner = r * math.sin(math.radians(18)) / math.sin(math.radians(54))
    points = []
    for k in range(10):
        radius = r if k % 2 == 0 else inner
        t = math.radians(36 * k)
        points.append((cx + radius * math.sin(t), cy - radius * math.cos(t)))
    draw.polygon(points, fill=255)
