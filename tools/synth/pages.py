"""The two kinds of picture: a seal on light paper, and a printed document page with seals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from tools.synth.glyphs import load_font
from tools.synth.ink import make_seal
from tools.synth.plan import SHAPES, seal_plan
from tools.synth.words import SIGN_LINES, TITLES, body_text


def seal_picture(
    rng: np.random.Generator, plan: dict[str, Any], index: int
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """One seal filling a light picture of 300-700 px."""
    angle = _draw_angle(rng) if plan["rotate"] else 0.0
    target = int(rng.integers(270, 581))  # max side of the rotated seal's bounding box
    alpha, seal = make_seal(rng, seal_plan(index, 0, plan["shape"]), target, angle, plan)
    h, w = alpha.shape
    mx = int(rng.integers(max(3, w * 3 // 100), w // 10 + 4))
    my = int(rng.integers(max(3, h * 3 // 100), h // 10 + 4))
    width, height = min(700, max(300, w + 2 * mx)), min(700, max(300, h + 2 * my))
    x0 = int(rng.integers(0, width - w + 1))
    y0 = int(rng.integers(0, height - h + 1))
    level = int(rng.integers(228, 256))
    # paper: light grey, sometimes yellowish (less blue)
    tint = np.array([rng.integers(0, 16), rng.integers(0, 6), rng.integers(0, 3)])
    background = np.clip(level - tint, 0, 255).astype(np.int16)
    noise = rng.integers(-3, 4, size=(height, width, 1), dtype=np.int16)
    image = np.clip(background[None, None, :] + noise, 0, 255).astype(np.uint8)
    _stamp(image, alpha, seal, x0, y0)
    return image, [seal]


def document_page(
    rng: np.random.Generator, plan: dict[str, Any], index: int
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """An A4-like page with printed text and 1 (or 2-3) seals multiplied over it.

    A seal goes either on a signature line near the bottom ("sign": like a real contract, over
    the end of the line and little else) or anywhere over the body text ("text").
    """
    height = int(rng.integers(1000, 1401))
    width = round(height / math.sqrt(2))
    n_seals = int(rng.integers(2, 4)) if plan["multi"] else 1
    image, anchors = _text_page(rng, width, height, 2 if n_seals > 1 else int(rng.integers(1, 3)))
    seals: list[dict[str, Any]] = []
    taken: list[tuple[int, int, int, int]] = []
    margin = 8
    for slot in range(n_seals):
        shape = plan["shape"] if slot == 0 else SHAPES[int(rng.integers(0, 3))]
        angle = _draw_angle(rng) if plan["rotate"] else 0.0
        lo, hi = (0.17, 0.23) if n_seals > 1 else (0.2, 0.28)
        target = int(rng.uniform(lo, hi) * height)
        alpha, seal = make_seal(rng, seal_plan(index, slot, shape), target, angle, plan)
        h, w = alpha.shape
        on_sign = slot < len(anchors) and (n_seals > 1 or plan["placement"] == "sign")
        if on_sign:
            (ax, ay), label_w, step = anchors[slot]
            cx = ax + label_w * float(rng.uniform(0.5, 1.3))
            cy = ay + step * float(rng.uniform(-0.5, 1.5))
            x0 = min(max(margin, round(cx - w / 2)), width - w - margin)
            y0 = min(max(margin, round(cy - h / 2)), height - h - margin)
        else:
            x0 = y0 = margin
            for _ in range(200):
                x0 = int(rng.integers(margin, width - w - margin + 1))
                y0 = int(rng.integers(margin, height - h - margin + 1))
                if not any(_overlaps((x0, y0, x0 + w, y0 + h), box, 12) for box in taken):
                    break
        taken.append((x0, y0, x0 + w, y0 + h))
        seal["style"]["placement"] = "sign" if on_sign else "text"
        _stamp(image, alpha, seal, x0, y0)
        seals.append(seal)
    return image, seals


def _overlaps(a: Sequence[int], b: Sequence[int], gap: int) -> bool:
    return not (
        a[2] + gap <= b[0] or b[2] + gap <= a[0] or a[3] + gap <= b[1] or b[3] + gap <= a[1]
    )


def _draw_angle(rng: np.random.Generator) -> float:
    """A whole-seal rotation of 3-30 degrees either way (one decimal)."""
    magnitude = float(rng.uniform(3.0, 30.0))
    sign = 1.0 if rng.integers(0, 2) else -1.0
    return round(sign * magnitude, 1)


def _text_page(
    rng: np.random.Generator, width: int, height: int, n_signs: int
) -> tuple[np.ndarray, list[tuple[tuple[int, int], int, int]]]:
    """White page (BGR) with a title, paragraphs of printed CJK text and ``n_signs`` signature
    lines in a block at the bottom; returns the page and, per signature line, its top-left
    corner, its width and the line step (where a seal goes)."""
    paper = int(rng.integers(243, 256))
    page = Image.new("L", (width, height), paper)
    draw = ImageDraw.Draw(page)
    ink = int(rng.integers(10, 70))
    body = max(14, round(height * float(rng.uniform(0.015, 0.021))))
    margin_x = round(width * float(rng.uniform(0.08, 0.13)))
    y = round(height * float(rng.uniform(0.05, 0.09)))
    title = TITLES[int(rng.integers(0, len(TITLES)))]
    title_size = round(body * float(rng.uniform(1.5, 2.0)))
    draw.text((width / 2, y), title, font=load_font(title_size), fill=ink, anchor="mt")
    y += round(title_size * 2.2)
    chars_per_line = max(8, (width - 2 * margin_x) // body)
    step = round(body * float(rng.uniform(1.6, 2.1)))
    font = load_font(body)
    sign_at = height - round(height * float(rng.uniform(0.2, 0.3)))
    while y + step < sign_at - step:
        paragraph = int(rng.integers(2, 7))
        for line in range(paragraph):
            if y + step >= sign_at - step:
                break
            indent = 2 if line == 0 else 0
            n = chars_per_line - indent
            if line == paragraph - 1:
                n = int(rng.integers(max(2, n // 4), n + 1))
            text = body_text(rng, n)
            draw.text((margin_x + indent * body, y), text, font=font, fill=ink)
            y += step
    anchors = []
    for k in range(n_signs):
        label = SIGN_LINES[int(rng.integers(0, len(SIGN_LINES)))]
        x = margin_x if k == 0 else width // 2
        draw.text((x, sign_at), label, font=font, fill=ink)
        year, month, day = rng.integers(2015, 2026), rng.integers(1, 13), rng.integers(1, 29)
        draw.text((x, sign_at + step), f"日期：{year}年{month}月{day}日", font=font, fill=ink)
        anchors.append(((x, sign_at), round(font.getlength(label)), step))
    grey = np.asarray(page)
    return np.repeat(grey[:, :, None], 3, axis=2).copy(), anchors


def _stamp(image: np.ndarray, alpha: np.ndarray, seal: dict[str, Any], x0: int, y0: int) -> None:
    """Multiply the seal's ink over ``image`` in place at (x0, y0); set ``seal["box"]``."""
    h, w = alpha.shape
    ink = np.array(seal["style"]["ink"], dtype=np.uint32)  # BGR
    a = alpha.astype(np.uint32)[:, :, None]
    seal_bgr = 255 - (a * (255 - ink)[None, None, :] + 127) // 255
    region = image[y0 : y0 + h, x0 : x0 + w].astype(np.uint32)
    image[y0 : y0 + h, x0 : x0 + w] = ((region * seal_bgr + 127) // 255).astype(np.uint8)
    seal["box"] = [x0, y0, x0 + w, y0 + h]
