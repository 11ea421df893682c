"""The layout entry's batchable contract, appended inside the graph of a PaddleDetection export.

A PaddleDetection layout export (PicoDet with ``MultiClassNMS``, RT-DETR with ``DETRPostProcess``,
and the stand-in of ``picodet_wrapper``) ends in ragged outputs for a batch of N images:

    ``bbox``      float32 ``[K, 6]`` rows ``(class_id, score, x1, y1, x2, y2)`` in page pixels,
                  for all images, grouped by image in batch order;
    ``bbox_num``  int32 ``[N]``: rows of ``bbox`` belonging to each image.

K depends on every image of the batch, so Triton's ONNX Runtime backend cannot split ``bbox``
between the requests its dynamic batcher merged. :func:`pad_per_image` appends to the same graph
outputs whose first axis is the batch, with a fixed shape per image:

    ``boxes``      float32 ``[N, MAX_BOXES, 6]``: image n's rows first, in the export's order,
                   then zero rows;
    ``box_count``  int32 ``[N]``: rows of ``boxes[n]`` that hold detections.

(names ``seal_ocr.tensor_names.LAYOUT_BOXES`` / ``LAYOUT_BOX_COUNT``). ``bbox`` and ``bbox_num``
stay in the graph as intermediate tensors; :func:`strip_per_image` removes the appended nodes and
gives the export back, which is what PaddleX's detection predictor reads (``parity/``).

``MAX_BOXES`` = ``LAYOUT_MAX_BOXES`` = 1000 is at least what every supported export returns for
one image, so no page is cut:

- PicoDet layout exports (``PicoDet-S/L_layout_3cls/17cls``): ``MultiClassNMS`` keeps at most
  ``keep_top_k`` = 100 boxes per image (PaddleX's PaddleDetection configs);
- RT-DETR layout exports (``RT-DETR-H_layout_3cls/17cls``): ``DETRPostProcess`` returns
  ``num_top_queries`` = 300 rows per image, always;
- the stand-in: ONNX ``NonMaxSuppression`` keeps at most 100 per class, x 10 CDLA classes = 1000
  (``picodet_wrapper.build_layout_model`` refuses a wrapping that could keep more).

An export that returned more rows for one image would keep its first ``MAX_BOXES`` (the
highest-scored: both export kinds order an image's rows by score) and never read another
image's rows; ``box_count`` then says ``MAX_BOXES``.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from seal_ocr import tensor_names as names

EXPORT_BOXES = "bbox"  # the PaddleDetection export's outputs (PaddleX reads them by position)
EXPORT_BOX_COUNT = "bbox_num"
_PREFIX = "per_image/"  # names every node and initializer pad_per_image adds
_MIN_OPSET = 11  # CumSum


def _default_opset(model: onnx.ModelProto) -> int:
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)


def pad_per_image(
    model: onnx.ModelProto, max_boxes: int = names.LAYOUT_MAX_BOXES
) -> onnx.ModelProto:
    """Append the per-image outputs (module doc) to an export, in place; returns ``model``.

    ``model`` must have exactly the outputs ``bbox`` (float32 [K, 6]) and ``bbox_num`` (int32 or
    int64 [N]) and a default-domain opset >= 11. Its outputs become ``boxes`` float32
    [N, max_boxes, 6] and ``box_count`` int32 [N]; ``bbox``/``bbox_num`` keep their names and
    types as intermediate tensors (in ``value_info``, for :func:`strip_per_image`).
    """
    graph = model.graph
    outputs = {value.name: value for value in graph.output}
    if list(outputs) != [EXPORT_BOXES, EXPORT_BOX_COUNT]:
        expected = [EXPORT_BOXES, EXPORT_BOX_COUNT]
        raise ValueError(f"export outputs {list(outputs)}, expected {expected}")
    if outputs[EXPORT_BOXES].type.tensor_type.elem_type != TensorProto.FLOAT:
        raise ValueError(f"{EXPORT_BOXES} must be float32")
    if _default_opset(model) < _MIN_OPSET:
        raise ValueError(f"opset {_default_opset(model)} < {_MIN_OPSET} (CumSum)")
    count = 0

    def name(hint: str) -> str:
        nonlocal count
        count += 1
        return f"{_PREFIX}{hint}_{count}"

    def const(value, hint: str) -> str:
        tensor = name(hint)
        graph.initializer.append(numpy_helper.from_array(np.asarray(value), tensor))
        return tensor

    def node(op: str, inputs: list[str], hint: str = "", output: str = "", **attrs) -> str:
        output = output or name(hint or op.lower())
        graph.node.append(helper.make_node(op, inputs, [output], name=name(op), **attrs))
        return output

    # index math in int64: row of slot j of image n = start[n] + j while j < kept[n], else the
    # zero row appended after the K rows (index K), so empty images and K = 0 need no branch
    per_image = node("Cast", [EXPORT_BOX_COUNT], to=TensorProto.INT64)  # [N]
    start = node("CumSum", [per_image, const(np.array(0, np.int64), "axis")], exclusive=1)
    cap = const(np.array(max_boxes, np.int64), "max_boxes")
    kept = node("Where", [node("Less", [per_image, cap]), per_image, cap], "kept")  # [N]
    slots = const(np.arange(max_boxes, dtype=np.int64).reshape(1, max_boxes), "slots")  # [1, M]
    column = const(np.array([-1, 1], np.int64), "column")
    valid = node("Less", [slots, node("Reshape", [kept, column])], "valid")  # [N, M]
    rows = node("Add", [node("Reshape", [start, column]), slots], "rows")  # [N, M]
    total = node(
        "Gather",
        [node("Shape", [EXPORT_BOXES]), const(np.array(0, np.int64), "rows_dim")],
        "total",
        axis=0,
    )  # scalar K
    index = node("Where", [valid, rows, total], "index")
    source = node(
        "Concat", [EXPORT_BOXES, const(np.zeros((1, 6), np.float32), "zero_row")], axis=0
    )  # [K + 1, 6]
    node("Gather", [source, index], output=names.LAYOUT_BOXES, axis=0)  # [N, M, 6]
    node("Cast", [kept], output=names.LAYOUT_BOX_COUNT, to=TensorProto.INT32)

    graph.value_info.extend(outputs.values())
    del graph.output[:]
    graph.output.extend(
        [
            helper.make_tensor_value_info(
                names.LAYOUT_BOXES, TensorProto.FLOAT, ["N", max_boxes, 6]
            ),
            helper.make_tensor_value_info(names.LAYOUT_BOX_COUNT, TensorProto.INT32, ["N"]),
        ]
    )
    onnx.checker.check_model(model)
    return model


def strip_per_image(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` without what :func:`pad_per_image` appended: the export's own graph,
    with outputs ``bbox`` [K, 6] and ``bbox_num`` [N], which PaddleX's detection predictor reads."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    saved = {value.name: value for value in graph.value_info}
    if EXPORT_BOXES not in saved or EXPORT_BOX_COUNT not in saved:
        raise ValueError(f"no {EXPORT_BOXES}/{EXPORT_BOX_COUNT} inside: not a padded layout model")
    exports = [saved[EXPORT_BOXES], saved[EXPORT_BOX_COUNT]]
    kept_nodes = [n for n in graph.node if not n.name.startswith(_PREFIX)]
    kept_inits = [i for i in graph.initializer if not i.name.startswith(_PREFIX)]
    kept_info = [v for v in graph.value_info if v.name not in (EXPORT_BOXES, EXPORT_BOX_COUNT)]
    del graph.node[:], graph.initializer[:], graph.value_info[:], graph.output[:]
    graph.node.extend(kept_nodes)
    graph.initializer.extend(kept_inits)
    graph.value_info.extend(kept_info)
    graph.output.extend(exports)
    onnx.checker.check_model(out)
    return out
