"""Ragged polygon packing and the BLS batch plan."""

import numpy as np
import pytest

from seal_ocr.packing import pack_polys, plan_batches, unpack_polys


def test_pack_unpack_round_trip_with_empty_seals():
    rng = np.random.default_rng(1)
    polys = [
        [rng.integers(0, 500, (n, 2)) for n in (4, 17)],
        [],
        [rng.integers(0, 500, (9, 2))],
    ]
    points, lengths, seal_index = pack_polys(polys)
    assert points.dtype == lengths.dtype == seal_index.dtype == np.int32
    assert points.shape == (30, 2) and lengths.tolist() == [4, 17, 9]
    assert seal_index.tolist() == [0, 0, 2]
    back = unpack_polys(points, lengths, seal_index, num_seals=3)
    assert [len(seal) for seal in back] == [2, 0, 1]
    flat_in = [poly for seal in polys for poly in seal]
    flat_out = [poly for seal in back for poly in seal]
    for original, restored in zip(flat_in, flat_out, strict=True):
        np.testing.assert_array_equal(original, restored)


def test_pack_nothing():
    points, lengths, seal_index = pack_polys([])
    assert points.shape == (0, 2) and lengths.shape == (0,) and seal_index.shape == (0,)
    assert unpack_polys(points, lengths, seal_index, num_seals=0) == []


def test_unpack_rejects_inconsistent_tensors():
    points, lengths, seal_index = pack_polys([[np.zeros((4, 2))]])
    with pytest.raises(ValueError, match="disagree"):
        unpack_polys(points[:3], lengths, seal_index, 1)
    with pytest.raises(ValueError, match="seal index"):
        unpack_polys(points, lengths, seal_index + 1, 1)


def test_plan_groups_equal_shapes_in_chunks():
    shapes = [(3, 48, 320)] * 5 + [(3, 48, 400)] + [(3, 48, 320)] * 2
    plan = plan_batches(shapes, max_batch_size=4)
    assert plan == [[0, 1, 2, 3], [4, 6, 7], [5]]
    assert sorted(i for group in plan for i in group) == list(range(len(shapes)))
    assert all(len({shapes[i] for i in group}) == 1 for group in plan)


def test_plan_edge_cases():
    assert plan_batches([], 8) == []
    assert plan_batches([(1,)] * 3, 1) == [[0], [1], [2]]
    with pytest.raises(ValueError):
        plan_batches([(1,)], 0)


def test_plan_spreads_each_shape_over_at_least_spread_chunks():
    shapes = [(3, 48, 320)] * 17 + [(3, 48, 480)]
    plan = plan_batches(shapes, 16, spread=2)
    assert plan == [list(range(9)), list(range(9, 17)), [17]]  # 9 + 8, not 16 + 1
    assert plan_batches(shapes, 4, spread=2) == plan_batches(shapes, 4)  # max_batch binds first
    assert plan_batches([(1,)] * 3, 16, spread=8) == [[0], [1], [2]]  # no empty chunks
    with pytest.raises(ValueError):
        plan_batches(shapes, 16, spread=0)
