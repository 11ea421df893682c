"""Ragged lists as flat tensors, so variable counts cross ensemble steps as plain arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pack_polys(polys_per_seal: Sequence[Sequence[np.ndarray]]) -> tuple[np.ndarray, ...]:
    """Flatten polygons of every seal.

    Returns (points (P, 2) int32, lengths (L,) int32, seal_index (L,) int32); L polygons in seal
    order, then in each seal's own order.
    """
    points, lengths, seal_index = [], [], []
    for seal, polys in enumerate(polys_per_seal):
        for poly in polys:
            poly = np.asarray(poly, dtype=np.int32).reshape(-1, 2)
            points.append(poly)
            lengths.append(len(poly))
            seal_index.append(seal)
    flat = np.concatenate(points) if points else np.zeros((0, 2), np.int32)
    return flat, np.asarray(lengths, np.int32), np.asarray(seal_index, np.int32)


def unpack_polys(
    points: np.ndarray, lengths: np.ndarray, seal_index: np.ndarray, num_seals: int
) -> list[list[np.ndarray]]:
    """Inverse of :func:`pack_polys`: one list of (n_i, 2) int32 polygons per seal."""
    if int(np.sum(lengths)) != len(points) or len(lengths) != len(seal_index):
        raise ValueError("polygon tensors disagree: sum(lengths) != points or counts differ")
    if len(seal_index) and (seal_index.min() < 0 or seal_index.max() >= num_seals):
        raise ValueError(f"polygon seal index outside [0, {num_seals})")
    per_seal: list[list[np.ndarray]] = [[] for _ in range(num_seals)]
    start = 0
    for length, seal in zip(lengths.tolist(), seal_index.tolist(), strict=True):
        per_seal[seal].append(points[start : start + length].astype(np.int32))
        start += length
    return per_seal


def plan_batches(
    shapes: Sequence[tuple[int, ...]], max_batch_size: int, spread: int = 1
) -> list[list[int]]:
    """Group item indices by identical shape, in chunks of at most ``max_batch_size``.

    Only equal shapes are stacked, so each item sees exactly the input it would see alone
    (no extra padding: PaddleX runs seal det and rec with batch size 1). Groups keep first-seen
    order; indices inside a group keep input order. ``spread``: a group is cut into at least
    that many chunks (as far as it has items), so that as many model instances can share it: on
    a CPU a larger batch is no cheaper per item, and one instance alone would leave the others
    idle (a page whose 17 lines have one width).
    """
    if max_batch_size < 1 or spread < 1:
        raise ValueError("max_batch_size and spread must be >= 1")
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, shape in enumerate(shapes):
        groups.setdefault(tuple(shape), []).append(index)
    plan = []
    for members in groups.values():
        size = min(max_batch_size, -(-len(members) // spread))
        plan += [members[start : start + size] for start in range(0, len(members), size)]
    return plan
