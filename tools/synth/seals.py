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

Coverage is cycled on the page index (:func:`tools.synth.plan.page_plan`), so any run of 120
consecutive pages has every shape, both kinds, multi-seal pages and every image variant.

Each seal is drawn as an ink-coverage mask at 2x resolution (rings, star, centre text with
Pillow; arc glyphs rendered on small tiles and rotated tangent to the arc), averaged down to 1x,
rotated, faded, then coloured and multiplied over the background like ink:
``page = page * seal_rgb / 255``.

This module is the entry point (``python -m tools.synth.seals``, :func:`generate`, :func:`write`);
the work is split by what it draws: :mod:`~tools.synth.plan` (which page gets what),
:mod:`~tools.synth.pages` (seal pictures and document pages), :mod:`~tools.synth.ink` (one seal's
ink coverage), :mod:`~tools.synth.elliptic` and :mod:`~tools.synth.square` (the seal shapes),
:mod:`~tools.synth.glyphs` (font and glyph tiles) and :mod:`~tools.synth.words` (the texts).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tools.synth.pages import document_page, seal_picture
from tools.synth.plan import SHAPES, page_plan

__all__ = ["SHAPES", "SynthPage", "generate", "main", "write"]

LABELS_FILE = "labels.json"


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


def _make_page(index: int, seed: int) -> SynthPage:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
    plan = page_plan(index)
    kind = plan["kind"]
    if kind == "seal":
        image, seals = seal_picture(rng, plan, index)
    else:
        image, seals = document_page(rng, plan, index)
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


if __name__ == "__main__":
    sys.exit(main())
