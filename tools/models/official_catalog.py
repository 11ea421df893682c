"""The official PaddleX models we can serve (``official_models.json``), and the error of the
official path."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seal_ocr import tensor_names as names

MANIFEST_PATH = Path(__file__).with_name("official_models.json")
BASE_URL_ENV = "SEAL_OFFICIAL_BASE_URL"  # another mirror of the same archives


class OfficialModelError(RuntimeError):
    """A download, verification, conversion or install step failed; the message says which."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    role: str
    url: str
    sha256: str | None = None
    size: int | None = None


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def layout_choices(manifest: dict[str, Any] | None = None) -> list[str]:
    manifest = manifest or load_manifest()
    return [n for n, m in manifest["models"].items() if m["role"] == names.LAYOUT_MODEL]


def select_models(
    profile: str, layout: str | None = None, base_url: str | None = None
) -> dict[str, ModelSpec]:
    """Role -> model of ``profile`` (``mobile``/``server``), with ``layout`` overriding."""
    manifest = load_manifest()
    if profile not in manifest["profiles"]:
        raise OfficialModelError(f"unknown PROFILE {profile!r}: {sorted(manifest['profiles'])}")
    chosen = dict(manifest["profiles"][profile])
    if layout:
        if layout not in layout_choices(manifest):
            raise OfficialModelError(
                f"unknown LAYOUT {layout!r}; choose one of {layout_choices(manifest)}"
            )
        chosen[names.LAYOUT_MODEL] = layout
    base = (base_url or os.environ.get(BASE_URL_ENV) or manifest["base_url"]).rstrip("/")
    specs = {}
    for role, name in chosen.items():
        entry = manifest["models"][name]
        specs[role] = ModelSpec(
            name=name,
            role=role,
            url=f"{base}/{name}_infer.tar",
            sha256=entry.get("sha256"),
            size=entry.get("size"),
        )
    return specs
