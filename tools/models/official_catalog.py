"""The official PaddleX models we can serve (``official_models.json``), and the error of the
official path."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
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
    return model_choices(names.LAYOUT_MODEL, manifest)


def model_choices(role: str, manifest: dict[str, Any] | None = None) -> list[str]:
    """The official models of one role, in manifest order."""
    manifest = manifest or load_manifest()
    return [n for n, m in manifest["models"].items() if m["role"] == role]


def select_models(
    profile: str,
    layout: str | None = None,
    base_url: str | None = None,
    models: Mapping[str, str] | None = None,
) -> dict[str, ModelSpec]:
    """Role -> model of ``profile`` (``mobile``/``server``/``paddlex-3.7.2``), with ``layout``
    (``LAYOUT=name``) and ``models`` (role -> official name, e.g. ``TEXT_REC=PP-OCRv5_server_rec``)
    overriding."""
    manifest = load_manifest()
    if profile not in manifest["profiles"]:
        raise OfficialModelError(f"unknown PROFILE {profile!r}: {sorted(manifest['profiles'])}")
    chosen = dict(manifest["profiles"][profile])
    overrides = dict(models or {})
    if layout:
        overrides[names.LAYOUT_MODEL] = layout
    for role, name in overrides.items():
        if name not in model_choices(role, manifest):
            which = "LAYOUT" if role == names.LAYOUT_MODEL else role
            raise OfficialModelError(
                f"unknown {which} {name!r}; choose one of {model_choices(role, manifest)}"
            )
        chosen[role] = name
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
