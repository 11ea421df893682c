"""No Python file of the repository is over 600 lines: a longer one is a grab-bag to split by
responsibility (issue 18)."""

from __future__ import annotations

from tests.unit.repo_files import REPO_ROOT, python_files

MAX_LINES = 600


def test_no_python_file_is_over_600_lines():
    long_files = []
    for path in python_files():
        with path.open("rb") as handle:
            count = sum(1 for _ in handle)
        if count > MAX_LINES:
            long_files.append(f"{path.relative_to(REPO_ROOT)}: {count} lines")
    assert not long_files, f"over {MAX_LINES} lines:\n" + "\n".join(long_files)


def test_the_walk_sees_the_repository_and_skips_environments():
    seen = {path.relative_to(REPO_ROOT).as_posix() for path in python_files()}
    assert "python_backend/seal_ocr/warp.py" in seen
    assert "tests/unit/test_file_length.py" in seen
    assert not any(name.startswith((".venv", ".cache/", ".build/")) for name in seen)
