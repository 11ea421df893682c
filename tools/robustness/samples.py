"""The images the robustness traffic sends, and the weighted random mix of requests."""

from __future__ import annotations

import fnmatch
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seal_ocr.image_io import IMAGE_SUFFIXES
from tools.robustness.targets import REPO_ROOT

DEFAULT_EVAL_DIR = REPO_ROOT.parent / "shared" / "eval" / "real"
DEFAULT_PAGE_GLOB = "vignette_*"  # the full document pages of the shared eval set


@dataclass(frozen=True)
class Sample:
    """One request body: ``kind`` is ``seal`` (a seal picture), ``page`` or ``synth``."""

    name: str
    kind: str
    data: bytes = field(repr=False)


def eval_dir() -> Path:
    return Path(os.environ.get("SEAL_EVAL_DIR", DEFAULT_EVAL_DIR))


def load_samples(
    directory: Path | None = None, selection: str = "all", page_glob: str = DEFAULT_PAGE_GLOB
) -> list[Sample]:
    """Real images of ``directory`` (default ``$SEAL_EVAL_DIR``), sorted by name.

    ``selection``: ``all``, ``seals`` (not matching ``page_glob``), ``pages`` (matching it), or
    comma-separated file names / globs.
    """
    directory = Path(directory or eval_dir())
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no images in {directory} (set SEAL_EVAL_DIR)")

    def kind(p: Path) -> str:
        return "page" if fnmatch.fnmatch(p.name, page_glob) else "seal"

    if selection in ("all", "", None):
        chosen = files
    elif selection in ("seals", "pages"):
        chosen = [p for p in files if kind(p) == selection[:-1]]
    else:
        patterns = [s.strip() for s in selection.split(",") if s.strip()]
        chosen = [p for p in files if any(fnmatch.fnmatch(p.name, pat) for pat in patterns)]
    if not chosen:
        raise FileNotFoundError(f"image selection {selection!r} matched nothing in {directory}")
    return [Sample(p.name, kind(p), p.read_bytes()) for p in chosen]


def synth_samples(count: int, seed: int = 0) -> list[Sample]:
    """``count`` synthetic pictures from :func:`tools.synth.seals.generate`, PNG-encoded."""
    if count <= 0:
        return []
    import cv2

    from tools.synth.seals import generate

    samples = []
    for page in generate(count, seed):
        ok, encoded = cv2.imencode(".png", page.image, [cv2.IMWRITE_PNG_COMPRESSION, 3])
        if not ok:
            raise RuntimeError(f"PNG encoding failed for {page.name}")
        samples.append(Sample(page.name + ".png", "synth", encoded.tobytes()))
    return samples


class Mix:
    """Weighted random choice of (sample, options); pages get ``page_weight`` of the draws."""

    def __init__(
        self,
        samples: Sequence[Sample],
        page_weight: float | None = None,
        layout: str = "mixed",
        extra_options: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        if layout not in ("mixed", "on", "off"):
            raise ValueError(f"layout must be mixed, on or off, got {layout!r}")
        self.samples = list(samples)
        self.layout = layout
        self.extra = dict(extra_options or {})
        self.rng = random.Random(seed)
        pages = [s for s in self.samples if s.kind == "page"]
        others = [s for s in self.samples if s.kind != "page"]
        if page_weight is None or not pages or not others:
            self.weights = [1.0] * len(self.samples)
        else:
            self.weights = [
                page_weight / len(pages) if s.kind == "page" else (1 - page_weight) / len(others)
                for s in self.samples
            ]

    def options_for(self, use_layout: bool) -> dict[str, Any]:
        return {"use_layout_detection": use_layout, **self.extra}

    def draw(self) -> tuple[Sample, dict[str, Any]]:
        sample = self.rng.choices(self.samples, weights=self.weights)[0]
        use_layout = self.layout == "on" or (self.layout == "mixed" and self.rng.random() < 0.5)
        return sample, self.options_for(use_layout)


def request_name(sample: Sample, options: dict[str, Any]) -> str:
    """A short stats name: ``seal/layout``, ``page/no-layout``, ..."""
    layout = options.get("use_layout_detection", True)
    return f"{sample.kind}/{'layout' if layout else 'no-layout'}"
