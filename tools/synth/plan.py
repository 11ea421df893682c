"""Which page gets what: deterministic coverage cycles on the page index."""

from __future__ import annotations

from typing import Any

SHAPES = ("round", "oval", "square")
KINDS = ("seal", "page")


def page_plan(index: int) -> dict[str, Any]:
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


def seal_plan(index: int, slot: int, shape: str) -> dict[str, Any]:
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
