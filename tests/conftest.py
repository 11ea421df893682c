"""Shared fixtures: repository paths and the real evaluation images."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
MODEL_REPOSITORY = REPO_ROOT / "model_repository"
RAW_MODELS_DIR = Path(
    os.environ.get("SEAL_OCR_RAW_MODELS", REPO_ROOT / ".cache" / "models" / "raw")
)
EVAL_DIR = Path(os.environ.get("SEAL_EVAL_DIR", REPO_ROOT.parent / "shared" / "eval" / "real"))


def require(path: Path, how: str = "run `make models`") -> Path:
    """Fail (not skip) with a clear message when a prepared file is missing."""
    if not path.exists():
        pytest.fail(f"{path} is missing: {how}", pytrace=False)
    return path


def raw_model(name: str) -> Path:
    """A raw ONNX file as extracted from its wheel by `make models` (before any rewrite)."""
    return require(RAW_MODELS_DIR / name, "run `make models` (or set SEAL_OCR_RAW_MODELS)")


@pytest.fixture(scope="session")
def model_repository() -> Path:
    require(MODEL_REPOSITORY / "layout" / "layout_info.json")
    return MODEL_REPOSITORY


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    require(EVAL_DIR / "labels.json", "the shared eval images must sit beside the repo")
    return EVAL_DIR
