"""Result pictures like PaddleX 3.x ``SealRecognitionResult.save_to_img`` writes them.

Two kinds of picture, both returned as BGR uint8 arrays (the client writes them with OpenCV):

- :func:`draw_layout` — the page with every layout box outlined in a colour per label and a
  ``"label score"`` caption (PaddleX ``layout_det_res``);
- :func:`draw_seal_region` — one seal crop beside a white panel of the same size (PaddleX
  ``seal_res_region{N}``): on the left each recognised line's polygon is outlined and a text band
  filled, blended 50% over the crop; on the right each text is drawn inside its band.

PaddleX draws with its bundled SimFang / PingFang fonts; here any installed font that has the
CJK glyphs is used (:func:`find_cjk_font`), so glyph shapes and text widths differ slightly.
Everything else (colour sequence, line widths, band geometry, font-size rules) follows PaddleX.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "FONT_ENV_VAR",
    "KNOWN_FONT_PATHS",
    "FontNotFoundError",
    "draw_layout",
    "draw_seal_region",
    "find_cjk_font",
]

FONT_ENV_VAR = "SEAL_FONT_PATH"
# A font is usable only if it has real glyphs for this (a typical seal text).
PROBE_TEXT = "发票专用章"
INSTALL_HINT = "install one: apt-get install fonts-wqy-zenhei, or set SEAL_FONT_PATH"

# Searched in order after an explicit path and $SEAL_FONT_PATH. Debian/Ubuntu package paths
# first (fonts-wqy-zenhei, fonts-wqy-microhei, fonts-noto-cjk), then Fedora/Arch layouts.
KNOWN_FONT_PATHS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf"),
    Path("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc"),
)

# Code points no text font defines: whatever a font draws for them is its missing-glyph box.
_MISSING_GLYPH_PROBES = ("\U0010fffd", "\uffff")
_PROBE_SIZE = 48

# --- seal-region look (PaddleX OCRResult._to_img, text_type "seal") --------------------------
_OUTLINE_WIDTH = 8  # polygon outline, drawn inside the polygon by Pillow
_BAND_MAX_HEIGHT = 20  # the text band is at most this tall (or half the min-area rect height)
_BLEND_ALPHA = 0.5
_WHITE = (255, 255, 255)
_BLACK = (0, 0, 0)
# Horizontal text starts at 0.8 x the band height and shrinks to the band width; PaddleX has no
# floor (a zero size makes it skip the line), we keep a readable minimum and let the band clip.
_TEXT_HEIGHT_RATIO = 0.8
_MIN_FONT_SIZE = 6
# Vertical text (tall narrow bands): PaddleX's per-character size rule and its floor of 10.
_VERTICAL_SCALE = 1.2
_MIN_VERTICAL_FONT_SIZE = 10
_VERTICAL_LINE_SPACING = 2
_VERTICAL_MIN_HEIGHT = 30

# --- layout look (PaddleX object_detection draw_box) -----------------------------------------
# PaddleX's 20-entry detection palette (RGB). A label takes the entry at the index of the first
# box carrying it, modulo 20; captions are white on the entries listed in _LIGHT_TEXT_ENTRIES and
# dark navy on the others.
_LAYOUT_PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0), (204, 255, 0), (0, 255, 102), (0, 102, 255), (204, 0, 255),
    (255, 77, 0), (128, 255, 0), (0, 255, 178), (0, 26, 255), (255, 0, 229),
    (255, 153, 0), (51, 255, 0), (0, 255, 255), (51, 0, 255), (255, 0, 153),
    (255, 229, 0), (0, 255, 26), (0, 178, 255), (128, 0, 255), (255, 0, 77),
)  # fmt: skip
_LIGHT_TEXT_ENTRIES = frozenset({0, 3, 4, 8, 9, 13, 14, 18, 19})
_DARK_TEXT = (20, 14, 53)
_CAPTION_FONT_RATIO = 0.018  # of the page width, plus 2 px
_LINE_WIDTH_RATIO = 0.002  # of the longer page side (0 still draws a 1-px line in Pillow)

RGB = tuple[int, int, int]


class FontNotFoundError(RuntimeError):
    """No font that can render CJK seal text was found."""


# --- fonts -----------------------------------------------------------------------------------
@lru_cache(maxsize=128)
def _load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """The face at index 0 of ``path`` (a .ttf/.otf/.ttc) at ``size`` px, cached by both."""
    return ImageFont.truetype(path, size)


def _glyph_signature(font: ImageFont.FreeTypeFont, char: str) -> tuple[Any, ...] | None:
    """What ``char`` renders to (mask size and bytes), or None when it renders nothing."""
    mask = font.getmask(char)
    if mask.getbbox() is None:
        return None
    return (mask.size, bytes(mask))


@lru_cache(maxsize=64)
def _renders_probe(path: str, mtime_ns: int, size: int) -> bool:
    """Whether every probe character has its own glyph (mtime/size key out stale entries)."""
    del mtime_ns, size  # cache key only
    try:
        font = _load_font(path, _PROBE_SIZE)
    except (OSError, ValueError):
        return False
    # A missing character renders as the font's .notdef glyph (a box, or nothing): compare each
    # probe character with what surely-undefined code points render to.
    missing = {_glyph_signature(font, char) for char in _MISSING_GLYPH_PROBES}
    for char in PROBE_TEXT:
        signature = _glyph_signature(font, char)
        if signature is None or signature in missing:
            return False
    return True


def _can_render(path: Path) -> bool:
    try:
        stat = path.stat()
    except OSError:
        return False
    if not path.is_file():
        return False
    return _renders_probe(str(path), stat.st_mtime_ns, stat.st_size)


def _fc_match_font() -> Path | None:
    """fontconfig's best font for Chinese, or None without fc-match (it may not be CJK)."""
    exe = shutil.which("fc-match")
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, "-f", "%{file}", ":lang=zh"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    found = done.stdout.strip()
    return Path(found) if done.returncode == 0 and found else None


def _require_usable(path: Path, origin: str) -> Path:
    if not _can_render(path):
        reason = "does not exist" if not path.exists() else f"cannot render {PROBE_TEXT}"
        raise FontNotFoundError(f"font {path} ({origin}) {reason}; {INSTALL_HINT}")
    return path


def find_cjk_font(explicit: str | Path | None = None) -> Path:
    """The path of a font that renders CJK seal text.

    Order: ``explicit``; else ``$SEAL_FONT_PATH``; else :data:`KNOWN_FONT_PATHS`; else
    ``fc-match :lang=zh``. An explicit or environment path that cannot render
    :data:`PROBE_TEXT` is an error (no silent fallback). Raises :class:`FontNotFoundError`.
    """
    if explicit is not None:
        return _require_usable(Path(explicit).expanduser(), "given explicitly")
    from_env = os.environ.get(FONT_ENV_VAR, "").strip()
    if from_env:
        return _require_usable(Path(from_env).expanduser(), f"from {FONT_ENV_VAR}")
    for candidate in KNOWN_FONT_PATHS:
        if _can_render(candidate):
            return candidate
    tried = [str(p) for p in KNOWN_FONT_PATHS]
    matched = _fc_match_font()
    if matched is not None and _can_render(matched):
        return matched
    tried.append(f"fc-match :lang=zh ({matched if matched else 'nothing'})")
    raise FontNotFoundError(
        f"no font that can render {PROBE_TEXT} found (tried {FONT_ENV_VAR}: unset, "
        f"{', '.join(tried)}); {INSTALL_HINT}"
    )


# --- shared helpers --------------------------------------------------------------------------
def _as_bgr(image: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 BGR view/copy of a BGR, BGRA or grey uint8 image."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {array.dtype}")
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    if array.ndim == 3 and array.shape[2] == 4:
        return cv2.cvtColor(array, cv2.COLOR_BGRA2BGR)
    if array.ndim == 3 and array.shape[2] == 3:
        return array
    raise ValueError(f"expected an (h, w, 3) BGR image, got shape {array.shape}")


def _to_rgb_pil(bgr: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(bgr[..., ::-1]))


def _to_bgr_array(image: Image.Image | np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8)[..., ::-1])


# --- layout ----------------------------------------------------------------------------------
def _layout_outline(
    coordinate: Any, width: int, height: int
) -> tuple[list[tuple[float, float]], float, float] | None:
    """Closed outline, xmin and ymin of a layout box, or None if it is not 4 or 8 finite numbers.

    Values are clipped to one page size beyond each border: what is visible is unchanged for
    axis-aligned boxes, and Pillow never sees absurd numbers.
    """
    try:
        values = np.asarray(coordinate, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    if values.size not in (4, 8) or not np.isfinite(values).all():
        return None
    margin = max(width, height)
    xs = np.clip(values[0::2], -margin, width + margin)
    ys = np.clip(values[1::2], -margin, height + margin)
    if values.size == 4:
        # Same vertex order as PaddleX: down the left edge first.
        x1, x2 = float(xs[0]), float(xs[1])
        y1, y2 = float(ys[0]), float(ys[1])
        corners = [(x1, y1), (x1, y2), (x2, y2), (x2, y1)]
        return [*corners, corners[0]], x1, y1
    corners = [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
    return [*corners, corners[0]], float(xs.min()), float(ys.min())


def draw_layout(
    page_bgr: np.ndarray, boxes: Sequence[Mapping[str, Any]], font_path: Path
) -> np.ndarray:
    """The page with its layout boxes drawn (PaddleX ``layout_det_res`` picture).

    page_bgr: (H, W, 3) uint8 BGR page. boxes: PaddleX layout dicts ``{cls_id, label, score,
    coordinate}`` with ``coordinate`` = [x1, y1, x2, y2] (or 8 corner values) in page pixels;
    malformed boxes are skipped. Returns a new (H, W, 3) uint8 BGR array; the input is untouched.
    """
    page = _as_bgr(page_bgr)
    height, width = page.shape[:2]
    if height == 0 or width == 0 or len(boxes) == 0:
        return page.copy()
    canvas = _to_rgb_pil(page)
    pen = ImageDraw.Draw(canvas)
    font = _load_font(str(font_path), int(_CAPTION_FONT_RATIO * width) + 2)
    line_width = int(max(width, height) * _LINE_WIDTH_RATIO)
    label_colours: dict[str, tuple[RGB, RGB]] = {}

    for index, box in enumerate(boxes):
        outline = _layout_outline(box.get("coordinate"), width, height)
        if outline is None:
            continue
        points, xmin, ymin = outline
        label = str(box.get("label", box.get("cls_id", "")))
        try:
            score = float(box.get("score", 0.0))
        except (TypeError, ValueError):
            score = float("nan")
        if label not in label_colours:
            entry = index % len(_LAYOUT_PALETTE)
            text_colour = _WHITE if entry in _LIGHT_TEXT_ENTRIES else _DARK_TEXT
            label_colours[label] = (_LAYOUT_PALETTE[entry], text_colour)
        fill, ink = label_colours[label]
        pen.line(points, width=line_width, fill=fill)

        caption = f"{label} {score:.2f}"
        left, top, right, bottom = pen.textbbox((0, 0), caption, font=font)
        text_w, text_h = right - left, bottom - top + 4
        # The caption sits on the box's top edge, inside the box when there is no room above.
        if ymin < text_h:
            pen.rectangle([(xmin, ymin), (xmin + text_w + 4, ymin + text_h + 1)], fill=fill)
            pen.text((xmin + 2, ymin - 2), caption, fill=ink, font=font)
        else:
            pen.rectangle([(xmin, ymin - text_h), (xmin + text_w + 4, ymin + 1)], fill=fill)
            pen.text((xmin + 2, ymin - text_h - 2), caption, fill=ink, font=font)
    return _to_bgr_array(canvas)


# --- seal region -----------------------------------------------------------------------------
def _clean_polygon(poly: Any, width: int, height: int) -> np.ndarray | None:
    """(n, 2) int32 points clipped to [0, w] x [0, h], or None if < 3 distinct points remain.

    The seal detector already clips its polygons to that range, so clipping only changes
    polygons that did not come from it.
    """
    try:
        points = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        return None
    if len(points) == 0 or not np.isfinite(points).all():
        return None
    points = np.rint(points)
    points[:, 0] = np.clip(points[:, 0], 0, width)
    points[:, 1] = np.clip(points[:, 1], 0, height)
    points = points.astype(np.int32)
    if len(np.unique(points, axis=0)) < 3:
        return None
    return points


def _min_area_corners(points: np.ndarray) -> np.ndarray:
    """(4, 2) int32 corners of the min-area rect: top-left, top-right, bottom-right, bottom-left.

    The two leftmost corners form the left side and the other two the right side; within a side
    the upper one comes first, and on a tie the later one of the x-sorted pair (as PaddleX).
    """
    corners = cv2.boxPoints(cv2.minAreaRect(points))
    corners = corners[np.argsort(corners[:, 0], kind="stable")]
    first, second = corners[0], corners[1]
    top_left, bottom_left = (first, second) if second[1] > first[1] else (second, first)
    third, fourth = corners[2], corners[3]
    top_right, bottom_right = (third, fourth) if fourth[1] > third[1] else (fourth, third)
    # astype truncates toward zero, like PaddleX's int32 conversion.
    return np.array([top_left, top_right, bottom_right, bottom_left]).astype(np.int32)


def _text_band(points: np.ndarray) -> np.ndarray:
    """(4, 2) int32 band TL, TR, BR, BL: the min-area rect's corners moved to two rows.

    The top row is the rect's mean y; the bottom row lies min(20, half the rect height) below
    the mean y recomputed after the top row moved (PaddleX's order of updates, kept so the bands
    land on the same pixels).
    """
    band = _min_area_corners(points)
    half_height = int(0.5 * (int(band[:, 1].max()) - int(band[:, 1].min())))
    band[:2, 1] = np.mean(band[:, 1])
    band[2:, 1] = np.mean(band[:, 1]) + min(_BAND_MAX_HEIGHT, half_height)
    return band


def _band_size(band: np.ndarray) -> tuple[int, int]:
    """(width, height) in px of the tile mapped onto ``band``: its top edge and left edge."""
    top_left, top_right, bottom_left = band[0], band[1], band[3]
    width = int(math.hypot(*(top_left - top_right).astype(np.float64)))
    height = int(math.hypot(*(top_left - bottom_left).astype(np.float64)))
    return width, height


def _is_degenerate(band: np.ndarray) -> bool:
    width, height = _band_size(band)
    area = abs(cv2.contourArea(band.astype(np.float32)))
    return width < 1 or height < 1 or area < 1.0


def _fit_font(text: str, width: int, height: int, font_path: str) -> ImageFont.FreeTypeFont:
    """Horizontal text: 0.8 x band height, shrunk so the text fits the band width."""
    size = max(int(height * _TEXT_HEIGHT_RATIO), _MIN_FONT_SIZE)
    font = _load_font(font_path, size)
    length = font.getlength(text)
    if length > width:
        size = max(int(size * width / length), _MIN_FONT_SIZE)
        font = _load_font(font_path, size)
    return font


def _fit_vertical_font(
    text: str, width: int, height: int, font_path: str
) -> ImageFont.FreeTypeFont:
    """Vertical text: one character per row, shrunk so the widest character fits the width."""
    size = max(
        int(height / len(text) * _TEXT_HEIGHT_RATIO * _VERTICAL_SCALE), _MIN_VERTICAL_FONT_SIZE
    )
    font = _load_font(font_path, size)
    widest = max(font.getlength(char) for char in text)
    if widest > width:
        size = max(int(size * width / widest), _MIN_VERTICAL_FONT_SIZE)
        font = _load_font(font_path, size)
    return font


def _text_layer(
    canvas_size: tuple[int, int], band: np.ndarray, text: str, font_path: str
) -> np.ndarray:
    """(h, w, 3) uint8 white layer with ``text`` in black, warped onto ``band``.

    canvas_size: (w, h) of the crop. The text is drawn upright on a band-sized tile, then mapped
    onto the band's four corners (nearest-neighbour, as PaddleX), so slanted bands slant it.
    """
    tile_w, tile_h = _band_size(band)
    tile = Image.new("RGB", (tile_w, tile_h), _WHITE)
    if text:
        pen = ImageDraw.Draw(tile)
        if tile_h > 2 * tile_w and tile_h > _VERTICAL_MIN_HEIGHT:
            font = _fit_vertical_font(text, tile_w, tile_h, font_path)
            y: float = 0
            for char in text:
                pen.text((0, y), char, fill=_BLACK, font=font)
                top, bottom = font.getbbox(char)[1::2]
                y += bottom - top + _VERTICAL_LINE_SPACING
        else:
            pen.text((0, 0), text, fill=_BLACK, font=_fit_font(text, tile_w, tile_h, font_path))
    source = np.array([[0, 0], [tile_w, 0], [tile_w, tile_h], [0, tile_h]], dtype=np.float32)
    try:
        transform = cv2.getPerspectiveTransform(source, band.astype(np.float32))
    except cv2.error:
        transform = None
    if (
        transform is None
        or not np.isfinite(transform).all()
        or abs(np.linalg.det(transform)) < 1e-9
    ):
        # A band with three collinear corners (only possible for 4-point input polygons).
        return np.full((canvas_size[1], canvas_size[0], 3), 255, np.uint8)
    return cv2.warpPerspective(
        np.asarray(tile, dtype=np.uint8),
        transform,
        canvas_size,
        flags=cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=_WHITE,
    )


def draw_seal_region(
    crop_bgr: np.ndarray,
    polys: Sequence[Sequence[Sequence[int]]],
    texts: Sequence[str],
    font_path: Path,
) -> np.ndarray:
    """One seal's picture (PaddleX ``seal_res_region{N}``): the marked crop beside its texts.

    crop_bgr: (h, w, 3) uint8 BGR seal crop. polys: ``rec_polys``, each (k, 2) points in crop
    pixels; texts: the matching ``rec_texts`` (pairs beyond the shorter sequence are ignored).
    Returns (h, 2w, 3) uint8 BGR: left, the crop with each polygon outlined (width 8, inside the
    polygon) and its text band filled, blended 50% over the crop; right, white with each text in
    black inside its band, outlined 1 px in the line's colour. Line colours are the
    ``random.Random(0)`` sequence (three ``randint(0, 255)`` per line, R, G, B), as PaddleX.

    A polygon with more than 4 points gets the outline and a band on its min-area rect; a
    4-point one is itself the band (no outline), as in PaddleX. Lines whose polygon has fewer
    than 3 distinct points, or whose band has no area, are skipped (their colour still used up).
    """
    crop = _as_bgr(crop_bgr)
    height, width = crop.shape[:2]
    if height == 0 or width == 0:
        return np.full((height, 2 * width, 3), 255, np.uint8)
    original = _to_rgb_pil(crop)
    marked = original.copy()
    pen = ImageDraw.Draw(marked)
    right: np.ndarray = np.full((height, width, 3), 255, np.uint8)  # RGB until the final flip
    font = str(font_path)
    # A private generator: same numbers as PaddleX's random.seed(0), without touching global state.
    rng = random.Random(0)

    # PaddleX zips the two lists, so the shorter one decides.
    for poly, text in zip(polys, texts, strict=False):
        colour = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
        points = _clean_polygon(poly, width, height)
        if points is None:
            continue
        if len(points) == 4:
            band = points
        else:
            pen.polygon([(int(x), int(y)) for x, y in points], outline=colour, width=_OUTLINE_WIDTH)
            band = _text_band(points)
        if _is_degenerate(band):
            continue
        pen.polygon([(int(x), int(y)) for x, y in band], fill=colour)
        layer = _text_layer((width, height), band, str(text), font)
        cv2.polylines(layer, [band.reshape(-1, 1, 2)], True, colour, 1)
        # Layers are white except text and outline, so AND keeps every line's ink.
        right = cv2.bitwise_and(right, layer)

    left = Image.blend(original, marked, _BLEND_ALPHA)
    picture = np.concatenate([np.asarray(left, dtype=np.uint8), right], axis=1)
    return _to_bgr_array(picture)
