"""The per-image padding of a layout export (``tools/models/layout_contract.py``) on a stand-in
export that passes its ``bbox`` rows and ``bbox_num`` counts through, so any ragged batch can be
fed: counts of 0, a batch without rows, pages at the cap (RT-DETR's 300 rows, the full 1000) and
an export that would return more than the cap."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from seal_ocr import tensor_names as names
from tools.models.layout_contract import (
    EXPORT_BOX_COUNT,
    EXPORT_BOXES,
    pad_per_image,
    strip_per_image,
)

MAX = names.LAYOUT_MAX_BOXES


def passthrough_export(count_dtype: int = TensorProto.INT32, opset: int = 13) -> onnx.ModelProto:
    """An "export" whose outputs ``bbox`` [K, 6] / ``bbox_num`` [N] are its inputs."""
    graph = helper.make_graph(
        [
            helper.make_node("Identity", ["rows"], [EXPORT_BOXES]),
            helper.make_node("Identity", ["counts"], [EXPORT_BOX_COUNT]),
        ],
        "export",
        [
            helper.make_tensor_value_info("rows", TensorProto.FLOAT, ["K", 6]),
            helper.make_tensor_value_info("counts", count_dtype, ["N"]),
        ],
        [
            helper.make_tensor_value_info(EXPORT_BOXES, TensorProto.FLOAT, ["K", 6]),
            helper.make_tensor_value_info(EXPORT_BOX_COUNT, count_dtype, ["N"]),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


@pytest.fixture(scope="module")
def padded() -> ort.InferenceSession:
    model = pad_per_image(passthrough_export())
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def ragged(counts: list[int], seed: int = 0) -> np.ndarray:
    """sum(counts) distinct rows (no row is zero, so padding and data cannot be confused)."""
    rng = np.random.default_rng(seed)
    rows = rng.uniform(1.0, 500.0, (sum(counts), 6)).astype(np.float32)
    rows[:, 1] = np.sort(rng.uniform(0.01, 1.0, len(rows)))[::-1]  # scores, descending
    return rows


def run(session: ort.InferenceSession, rows: np.ndarray, counts: list[int]):
    return session.run(None, {"rows": rows, "counts": np.array(counts, np.int32)})


def assert_per_image(boxes: np.ndarray, box_count: np.ndarray, rows: np.ndarray, counts) -> None:
    """Image n's first min(count, MAX) rows in order, then zero rows; counts as int32 [N]."""
    assert boxes.shape == (len(counts), MAX, 6) and boxes.dtype == np.float32
    assert box_count.shape == (len(counts),) and box_count.dtype == np.int32
    start = 0
    for n, count in enumerate(counts):
        kept = min(count, MAX)
        assert box_count[n] == kept
        np.testing.assert_array_equal(boxes[n, :kept], rows[start : start + kept])
        assert not boxes[n, kept:].any()
        start += count


@pytest.mark.parametrize(
    "counts",
    [[3], [2, 0, 3], [0, 0], [0], [1] * 8],
    ids=["one page", "mixed", "no rows at all", "one empty page", "batch of 8"],
)
def test_rows_are_padded_per_image(padded, counts):
    rows = ragged(counts)
    boxes, box_count = run(padded, rows, counts)
    assert_per_image(boxes, box_count, rows, counts)


@pytest.mark.parametrize(
    "counts",
    [[MAX], [5, MAX, 2], [300, 300, 300, 300], [MAX, MAX]],
    ids=["at the cap", "at the cap between others", "RT-DETR: 300 each", "two at the cap"],
)
def test_a_page_at_the_cap_keeps_every_row(padded, counts):
    rows = ragged(counts, seed=1)
    boxes, box_count = run(padded, rows, counts)
    assert_per_image(boxes, box_count, rows, counts)
    assert MAX in box_count or 300 in box_count


def test_more_rows_than_the_cap_keep_the_first_and_never_a_neighbours(padded):
    # no supported export returns more than MAX rows for an image; if one did, the image keeps
    # its first (highest-scored) MAX rows and the next image still gets exactly its own
    counts = [MAX + 7, 2]
    rows = ragged(counts, seed=2)
    boxes, box_count = run(padded, rows, counts)
    assert_per_image(boxes, box_count, rows, counts)
    np.testing.assert_array_equal(boxes[1, :2], rows[MAX + 7 :])


def test_splitting_a_batch_on_axis_0_gives_each_request_its_own_outputs(padded):
    # what the backends do with a dynamic batch: concatenate requests, run once, split on axis 0
    requests = [[4], [0], [2, 6]]
    parts = [ragged(counts, seed=i) for i, counts in enumerate(requests)]
    flat = [c for counts in requests for c in counts]
    boxes, box_count = run(padded, np.concatenate(parts), flat)
    offsets = np.cumsum([len(counts) for counts in requests])[:-1]
    for counts, rows, part_boxes, part_count in zip(
        requests, parts, np.split(boxes, offsets), np.split(box_count, offsets), strict=True
    ):
        alone_boxes, alone_count = run(padded, rows, counts)
        np.testing.assert_array_equal(part_boxes, alone_boxes)
        np.testing.assert_array_equal(part_count, alone_count)


def test_int64_counts_are_accepted_and_given_back_as_int32():
    model = pad_per_image(passthrough_export(TensorProto.INT64))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    counts = [1, 3]
    rows = ragged(counts)
    boxes, box_count = session.run(None, {"rows": rows, "counts": np.array(counts, np.int64)})
    assert_per_image(boxes, box_count, rows, counts)


def test_outputs_are_declared_fixed_shape_per_image():
    graph = pad_per_image(passthrough_export()).graph
    shapes = {
        o.name: [d.dim_value or d.dim_param for d in o.type.tensor_type.shape.dim]
        for o in graph.output
    }
    assert shapes == {names.LAYOUT_BOXES: ["N", MAX, 6], names.LAYOUT_BOX_COUNT: ["N"]}


def test_strip_gives_the_export_back_byte_for_byte():
    export = passthrough_export()
    again = strip_per_image(pad_per_image(passthrough_export()))
    assert again.SerializeToString() == export.SerializeToString()


def test_what_cannot_be_padded_is_refused():
    renamed = passthrough_export()
    renamed.graph.output[0].name = "boxes_out"
    with pytest.raises(ValueError, match="export outputs"):
        pad_per_image(renamed)
    with pytest.raises(ValueError, match="opset 10"):
        pad_per_image(passthrough_export(opset=10))
    with pytest.raises(ValueError, match="not a padded layout model"):
        strip_per_image(passthrough_export())
