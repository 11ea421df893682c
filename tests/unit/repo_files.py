"""The repository's own files, for tests that check the tree as a whole (docs, file sizes).

Walks the working tree (so new, uncommitted files count too) and leaves out what is not the
project's: virtual environments, caches, build output, and tool state.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
EXCLUDED_DIRS = frozenset(
    {
        ".git",
        ".cache",
        ".build",
        ".hypothesis",
        ".pytest_cache",
        ".ruff_cache",
        ".mypy_cache",
        "__pycache__",
        "node_modules",
    }
)
# text files whose content is ours: sources, docs, configs, scripts
TEXT_SUFFIXES = frozenset({".py", ".md", ".sh", ".toml", ".yaml", ".yml", ".pbtxt", ".txt"})
TEXT_NAMES = frozenset({"Makefile", "Dockerfile", "Dockerfile.cpu", "run"})


def _excluded_dir(name: str) -> bool:
    return name in EXCLUDED_DIRS or name.startswith(".venv") or name.endswith(".egg-info")


def repo_files(root: Path = REPO_ROOT) -> Iterator[Path]:
    """Every file of the project under ``root``, in a stable order."""
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not _excluded_dir(d))
        for name in sorted(files):
            yield Path(directory) / name


def text_files(root: Path = REPO_ROOT) -> Iterator[Path]:
    """The project's text files (sources, docs, configs, scripts) under ``root``."""
    for path in repo_files(root):
        if path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES:
            yield path


def python_files(root: Path = REPO_ROOT) -> Iterator[Path]:
    """The project's ``.py`` files under ``root``."""
    return (path for path in repo_files(root) if path.suffix == ".py")
