"""Seeded, deterministic synthetic seal images.

Used by the parity test (our pipeline and PaddleX run the same ONNX models on these pictures and
must agree) and by benchmarks. Variety and determinism matter more than realism: the same
``(count, seed)`` gives byte-identical PNG files on any machine with the same pinned packages
(numpy, opencv-python-headless, pillow) and the same CJK font file.

How determinism is kept:

- randomness only from ``numpy.random.default_rng``; page ``i`` draws from its own child seed
  ``SeedSequence(seed, spawn_key=(i,))``, so page ``i`` is the same whatever ``count`` is;
- geometry uses Python's ``math`` (libm), never numpy's vectorised transcendental functions
  (whose SIMD code paths may differ between CPUs);
- pixels are combined in integer arithmetic; OpenCV is used only for its bit-exact 8-bit paths
  (``warpAffine``/``resize`` linear, ``GaussianBlur``) and for JPEG round trips (libjpeg-turbo's
  integer DCT gives the same bytes with or without SIMD);
- glyphs come from Pillow's bundled FreeType and the font :func:`find_cjk_font` picks
  (Debian ``fonts-wqy-zenhei``; ``$SEAL_FONT_PATH`` overrides it and so changes the output).

Coverage is cycled on the page index (see :func:`_page_plan`), so any run of 120 consecutive
pages has every shape, both kinds, multi-seal pages and every image variant.

Each seal is drawn as an ink-coverage mask at 2x resolution (rings, star, centre text with
Pillow; arc glyphs rendered on small tiles and rotated tangent to the arc), averaged down to 1x,
rotated, faded, then coloured and multiplied over the background like ink:
``page = page * seal_rgb / 255``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["SHAPES", "SynthPage", "generate", "main", "write"]

SHAPES = ("round", "oval", "square")
KINDS = ("seal", "page")
LABELS_FILE = "labels.json"
SS = 2  # supersampling factor of the seal ink mask

# --- text material ----------------------------------------------------------------------------
CITIES = (
    "北京", "上海", "广州", "深圳", "天津", "重庆", "杭州", "南京", "成都", "武汉",
    "西安", "苏州", "长沙", "郑州", "青岛", "大连", "厦门", "宁波", "合肥", "济南",
)  # fmt: skip
SUFFIXES = (
    "公司", "中心", "有限公司", "服务中心", "科技有限公司", "贸易有限公司", "实业有限公司",
    "商务服务中心", "发展集团有限公司", "集团股份有限公司", "建设工程有限公司",
    "信息技术有限公司", "物流有限公司", "商贸有限公司", "文化传媒有限公司", "管理咨询有限公司",
    "科技发展有限公司", "国际贸易有限公司",
)  # fmt: skip
# Middle of company names: common, clearly printed characters.
NAME_CHARS = (
    "中兴盛鑫源恒泰宏达顺通安康明光华丰荣昌隆瑞祥新东南国际天海金联创博远正信和嘉"
    "科技贸易发展集团实业商务服务电子机械工程建设材料食品农业化工医药环境能源物流运输"
    "文化传媒教育咨询管理投资置业开发设计装饰印刷包装汽车销售进出口"
)
CENTRE_TEXTS = (
    "合同专用章", "发票专用章", "财务专用章", "公章", "现金收讫章", "业务专用章",
    "人事专用章", "检验专用章", "行政章", "现金付讫章", "结算专用章", "技术专用章",
    "质量检验章", "报关专用章", "办公室章",
)  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁"
GIVEN_CHARS = "明华建国文军平志伟东海英敏静丽强磊洋勇艳杰娟涛超秀霞刚桂兰芳"
# Body text of the document pages.
BODY_CHARS = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工"
    "也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小"
    "物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形"
    "相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建"
    "月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长"
    "求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战"
    "先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受"
    "联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议"
)
TITLES = (
    "合同书", "购销合同", "证明", "通知", "委托书", "收款收据", "协议书", "付款申请单",
    "验收报告", "授权委托书", "发货单", "报价单",
)  # fmt: skip
SIGN_LINES = ("甲方（盖章）：", "乙方（盖章）：", "单位（盖章）：", "经办人：", "负责人签字：")

# --- ink -------------------------------------------------------------------------------------
INK_BGR = (30, 30, 200)


# --- public API ------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SynthPage:
    """One synthetic picture and its ground truth.

    ``seals``: per seal ``{"shape", "box": [x1, y1, x2, y2] (page px, x2/y2 exclusive), "texts":
    [arc text, centre line(s) top to bottom, digit ring] (square seals: one string, columns read
    right to left), "style": drawing parameters (angle, ink, rings, star, digits, grid, ...)}``.
    ``variant``: page-level effects ``{"blur_sigma", "jpeg_quality" (None = no JPEG), ...}``.
    """

    name: str
    image: np.ndarray
    seals: list[dict[str, Any]]
    kind: str
    variant: dict[str, Any] = field(default_factory=dict)

    def label(self) -> dict[str, Any]:
        """The ``labels.json`` entry of this page."""
        return {"kind": self.kind, "seals": self.seals, "variant": self.variant}


def generate(count: int = 120, seed: int = 0) -> Iterator[SynthPage]:
    """Yield ``count`` pages; page ``i`` depends only on ``(seed, i)``."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    for index in range(count):
        yield _make_page(index, seed)


def write(out_dir: Path, count: int = 120, seed: int = 0) -> Path:
    """Write ``<name>.png`` per page and ``labels.json`` ``{name: {"kind", "seals", "variant"}}``.

    Files whose bytes would not change are left untouched. Returns the labels path.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    labels: dict[str, Any] = {}
    for page in generate(count, seed):
        ok, encoded = cv2.imencode(".png", page.image, [cv2.IMWRITE_PNG_COMPRESSION, 3])
        if not ok:
            raise RuntimeError(f"PNG encoding failed for {page.name}")
        _write_if_changed(out_dir / f"{page.name}.png", encoded.tobytes())
        labels[page.name] = page.label()
    labels_path = out_dir / LABELS_FILE
    text = json.dumps(labels, ensure_ascii=False, indent=1) + "\n"
    _write_if_changed(labels_path, text.encode("utf-8"))
    return labels_path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.synth.seals", description="Write synthetic seal images."
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--count", type=int, default=120, help="number of pages (default 120)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.count < 0 or args.seed < 0:
        parser.error("--count and --seed must be >= 0")
    labels = write(args.out, args.count, args.seed)
    print(f"wrote {args.count} pages and {labels}")
    return 0


def _write_if_changed(path: Path, data: bytes) -> None:
    if path.is_file() and path.read_bytes() == data:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


# --- per-page plan ---------------------------------------------------------------------------
def _page_plan(index: int) -> dict[str, Any]:
    """Deterministic coverage cycles on the page index.

    Kind (period 2) and primary shape (period 3) repeat every 6 pages; the other periods (4, 5,
    7, 8, 11, and 18 for placement) mix with them, so 120 consecutive pages hold every shape x
    kind pair with and without each effect.
    """
    kind = KINDS[index % 2]
    return {
        "kind": kind,
        "shape": SHAPES[index % 3],
        "multi": kind == "page" and index % 8 == 1,  # pages 1, 9, 17: round, oval, square
        "rotate": index % 5 != 0,
        "blur": index % 4 in (2, 3),
        "jpeg": index % 7 in (1, 3, 5),
        "fade": index % 11 in (2, 5, 7, 10),
        "placement": "text" if (index // 6) % 3 == 0 else "sign",  # single-seal pages
    }


def _seal_plan(index: int, slot: int, shape: str) -> dict[str, Any]:
    """Per-seal cycles. ``code`` counts the pages of this page's shape x kind pair (one every 6
    pages), so each pair cycles through every style; extra seals of a page are offset."""
    code = index // 6 + 7 * slot
    return {
        "shape": shape,
        "double_ring": code % 3 == 0,
        "star": shape == "round" and code % 5 != 4,
        "digits": ("none", "ring", "line", "ring")[code % 4] if shape != "square" else "none",
        "centre_lines": {6: 0, 3: 2}.get(code % 7, 1),
        "grid": 2 + code % 2 if shape == "square" else None,
        "inverted": shape == "square" and code % 5 == 2,
        "arc_len": 4 + (code * 7) % 17,  # 4..20, all within 17 pages of a pair
    }


def _make_page(index: int, seed: int) -> SynthPage:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
    plan = _page_plan(index)
    kind = plan["kind"]
    if kind == "seal":
        image, seals = _seal_picture(rng, plan, index)
    else:
        image, seals = _document_page(rng, plan, index)
    variant: dict[str, Any] = {"blur_sigma": 0.0, "jpeg_quality": None}
    if plan["blur"]:
        sigma = round(float(rng.uniform(0.3, 1.5)), 2)
        image = cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma)
        variant["blur_sigma"] = sigma
    if plan["jpeg"]:
        quality = int(rng.integers(40, 91))
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        image = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
        variant["jpeg_quality"] = quality
    name = f"synth_{index:03d}_{plan['shape']}_{kind}"
    return SynthPage(name=name, image=image, seals=seals, kind=kind, variant=variant)


# --- pictures --------------------------------------------------------------------------------
def _seal_picture(
    rng: np.random.Generator, plan: dict[str, Any], index: int
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """One seal filling a light picture of 300-700 px."""
    angle = _draw_angle(rng) if plan["rotate"] else 0.0
    target = int(rng.integers(270, 581))  # max side of the rotated seal's bounding box
    alpha, seal = _make_seal(rng, _seal_plan(index, 0, plan["shape"]), target, angle, plan)
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


def _document_page(
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
        alpha, seal = _make_seal(rng, _seal_plan(index, slot, shape), target, angle, plan)
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
    draw.text((width / 2, y), title, font=_font(title_size), fill=ink, anchor="mt")
    y += round(title_size * 2.2)
    chars_per_line = max(8, (width - 2 * margin_x) // body)
    step = round(body * float(rng.uniform(1.6, 2.1)))
    font = _font(body)
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
            text = _body_text(rng, n)
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


def _body_text(rng: np.random.Generator, n: int) -> str:
    picks = rng.integers(0, len(BODY_CHARS), size=n)
    chars = [BODY_CHARS[int(k)] for k in picks]
    for pos in range(int(rng.integers(6, 14)), n - 1, int(rng.integers(7, 15))):
        chars[pos] = "，"
    if n > 3 and rng.integers(0, 3) == 0:
        chars[-1] = "。"
    return "".join(chars)


def _stamp(image: np.ndarray, alpha: np.ndarray, seal: dict[str, Any], x0: int, y0: int) -> None:
    """Multiply the seal's ink over ``image`` in place at (x0, y0); set ``seal["box"]``."""
    h, w = alpha.shape
    ink = np.array(seal["style"]["ink"], dtype=np.uint32)  # BGR
    a = alpha.astype(np.uint32)[:, :, None]
    seal_bgr = 255 - (a * (255 - ink)[None, None, :] + 127) // 255
    region = image[y0 : y0 + h, x0 : x0 + w].astype(np.uint32)
    image[y0 : y0 + h, x0 : x0 + w] = ((region * seal_bgr + 127) // 255).astype(np.uint8)
    seal["box"] = [x0, y0, x0 + w, y0 + h]


# --- one seal --------------------------------------------------------------------------------
def _make_seal(
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
        mask, texts, extra = _draw_square(rng, splan, a * SS)
    else:
        mask, texts, extra = _draw_elliptic(rng, splan, a * SS, b * SS)
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


# --- glyphs ----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _font_path() -> str:
    from seal_client.visualize import find_cjk_font

    return str(find_cjk_font())


@lru_cache(maxsize=512)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(_font_path(), max(4, int(size)))


@lru_cache(maxsize=8192)
def _glyph(char: str, size: int, stroke: int) -> np.ndarray:
    """Coverage of ``char`` (emboldened by ``stroke`` px) centred in a square tile with room to
    rotate it (read-only)."""
    side = math.ceil(size * 1.6) + 2 + 2 * stroke
    tile = Image.new("L", (side, side), 0)
    ImageDraw.Draw(tile).text(
        (side / 2, side / 2),
        char,
        font=_font(size),
        fill=255,
        anchor="mm",
        stroke_width=stroke,
        stroke_fill=255,
    )
    array = np.array(tile)
    array.setflags(write=False)
    return array


def _advance(char: str, size: int) -> float:
    return float(_font(size).getlength(char))


def _stamp_glyph(
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
    tile = _glyph(char, size, stroke)
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


# --- texts -----------------------------------------------------------------------------------
def _pick(rng: np.random.Generator, items: Sequence[str]) -> str:
    return items[int(rng.integers(0, len(items)))]


def _chars(rng: np.random.Generator, pool: str, n: int) -> str:
    return "".join(pool[int(k)] for k in rng.integers(0, len(pool), size=n))


def _company_name(rng: np.random.Generator, length: int) -> str:
    """A company-name-like string of exactly ``length`` (4-20) characters."""
    city = _pick(rng, CITIES) if length >= 6 and rng.integers(0, 4) else ""
    room = length - len(city) - 2  # at least two name characters
    suffix = _pick(rng, [s for s in SUFFIXES if len(s) <= room])
    middle = _chars(rng, NAME_CHARS, length - len(city) - len(suffix))
    return city + middle + suffix


def _digits(rng: np.random.Generator) -> str:
    n = int(rng.integers(10, 16))
    return str(int(rng.integers(1, 10))) + _chars(rng, "0123456789", n - 1)


def _square_text(rng: np.random.Generator, grid: int) -> str:
    if grid == 2:
        if rng.integers(0, 2):
            return _pick(rng, SURNAMES) + _pick(rng, GIVEN_CHARS) + "之印"
        return _chars(rng, NAME_CHARS, 3) + "印"
    if rng.integers(0, 2):
        return _pick(rng, CITIES) + _chars(rng, NAME_CHARS, 4) + "专用章"
    return _chars(rng, NAME_CHARS, 7) + "之印"


# --- elliptic seals (round and oval) ---------------------------------------------------------
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
        _stamp_glyph(mask, char, font, x, y, rot)
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
        spacing = [(_advance(ch, size) + stroke) * squeeze * tracking for ch in text]
        if sum(spacing) <= _arc_length(a, b, t_max) or size <= 8:
            return _ArcFit((size, stroke, squeeze), (a, b), spacing)
        size = max(8, int(size * 0.94))


def _draw_elliptic(
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
    arc_text = _company_name(rng, splan["arc_len"])
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
    digit_text = _digits(rng) if splan["digits"] != "none" else ""
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
        lines.append((_pick(rng, CENTRE_TEXTS), b * float(centre_fs)))
    if n_centre >= 2:
        second = _chars(rng, GIVEN_CHARS + NAME_CHARS, int(rng.integers(2, 5)))
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
        text_w = float(_font(fs).getlength(text)) + 2 * stroke
        if text_w > 2 * half_w:
            fs = max(8, int(fs * 2 * half_w / text_w))
            stroke = round(fs * weight)
        draw.text(
            (cx, y + fs / 2),
            text,
            font=_font(fs),
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


# --- square seals ----------------------------------------------------------------------------
def _draw_square(
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
    text = _square_text(rng, grid)
    cell = (size_total - 2 * inset) / grid
    font_size = int(cell * float(rng.uniform(0.8, 0.92)))
    stroke = round(font_size * float(rng.uniform(0.0, 0.05)))
    glyphs = np.zeros((side, side), np.uint8)
    for k, char in enumerate(text):
        col, row = grid - 1 - k // grid, k % grid
        x = lo + inset + (col + 0.5) * cell
        y = lo + inset + (row + 0.5) * cell
        _stamp_glyph(glyphs, char, (font_size, stroke, 1.0), x, y, 0.0)
    mask = np.array(canvas)
    if inverted:
        mask = np.where(glyphs > mask, 0, mask - glyphs).astype(np.uint8)
    else:
        np.maximum(mask, glyphs, out=mask)
    extra = {"grid_font_px": round(font_size / SS, 1)}
    return mask, [text], extra


if __name__ == "__main__":
    sys.exit(main())
