"""Graph surgery on a converted model, and its check against the entry's Triton configs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from seal_ocr import tensor_names as names
from tools.models.official_catalog import OfficialModelError
from tools.models.official_yml import Normalisation


def _dtype_rank(value: onnx.ValueInfoProto) -> tuple[int, int]:
    tensor = value.type.tensor_type
    return tensor.elem_type, len(tensor.shape.dim)


def static_dims(value: onnx.ValueInfoProto) -> list[int | None]:
    return [
        d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim
    ]


def _redirect_consumers(graph: onnx.GraphProto, old: str, new: str) -> None:
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]


def fold_normalisation(
    graph: onnx.GraphProto, input_name: str, ours: Normalisation, theirs: Normalisation
) -> bool:
    """Prepend ``x * a + b`` so the model accepts ``ours`` (what seal_ocr feeds) in place of
    ``theirs`` (what its yml asks). False when they already agree."""
    # v * s1 = n * std1 + mean1 (ours)  ->  x = (v * s2 - mean2) / std2 (theirs)
    ratio = theirs.scale / ours.scale
    a = np.array([sd * ratio / st for sd, st in zip(ours.std, theirs.std, strict=True)], np.float32)
    b = np.array(
        [
            (m * ratio - mt) / st
            for m, mt, st in zip(ours.mean, theirs.mean, theirs.std, strict=True)
        ],
        np.float32,
    )
    if np.allclose(a, 1.0, atol=1e-6) and np.allclose(b, 0.0, atol=1e-6):
        return False
    adapted = f"{input_name}__normalised"
    _redirect_consumers(graph, input_name, adapted)
    graph.initializer.extend([
        numpy_helper.from_array(a.reshape(1, 3, 1, 1), "seal_adapter/norm_a"),
        numpy_helper.from_array(b.reshape(1, 3, 1, 1), "seal_adapter/norm_b"),
    ])  # fmt: skip
    nodes = [
        helper.make_node("Mul", [input_name, "seal_adapter/norm_a"], ["seal_adapter/scaled"]),
        helper.make_node("Add", ["seal_adapter/scaled", "seal_adapter/norm_b"], [adapted]),
    ]
    for i, node in enumerate(nodes):
        graph.node.insert(i, node)
    return True


def compute_im_shape(graph: onnx.GraphProto, input_hw: tuple[int, int]) -> bool:
    """RT-DETR exports take ``im_shape`` [N, 2] = the resized (h, w); seal_ocr sends only
    ``image`` and ``scale_factor``, so compute it in the graph (as a [N, 2] broadcast)."""
    inputs = {value.name: value for value in graph.input}
    if "im_shape" not in inputs:
        return False
    graph.input.remove(inputs["im_shape"])
    graph.initializer.extend([
        numpy_helper.from_array(np.zeros((1, 2), np.float32), "seal_adapter/zero"),
        numpy_helper.from_array(np.array([input_hw], np.float32), "seal_adapter/input_hw"),
    ])  # fmt: skip
    rows = "seal_adapter/rows"
    nodes = [
        helper.make_node("Mul", [names.LAYOUT_SCALE_FACTOR, "seal_adapter/zero"], [rows]),
        helper.make_node("Add", [rows, "seal_adapter/input_hw"], ["im_shape"]),
    ]
    for i, node in enumerate(nodes):
        graph.node.insert(i, node)
    return True


def rename_outputs(graph: onnx.GraphProto, new_names: list[str]) -> None:
    if len(graph.output) != len(new_names):
        raise OfficialModelError(
            f"expected {len(new_names)} outputs, the converted model has "
            f"{[o.name for o in graph.output]}"
        )
    for value, new in zip(graph.output, new_names, strict=True):
        old = value.name
        if old == new:
            continue
        for node in graph.node:
            node.output[:] = [new if n == old else n for n in node.output]
        _redirect_consumers(graph, old, new)
        value.name = new


def rename_single_input(graph: onnx.GraphProto, new: str) -> None:
    if len(graph.input) != 1:
        raise OfficialModelError(f"expected one input, got {[i.name for i in graph.input]}")
    old = graph.input[0].name
    if old != new:
        _redirect_consumers(graph, old, new)
        graph.input[0].name = new


def order_inputs(graph: onnx.GraphProto, order: list[str]) -> None:
    by_name = {value.name: value for value in graph.input}
    if set(by_name) != set(order):
        raise OfficialModelError(f"layout inputs {sorted(by_name)}, expected {order}")
    values = [onnx.ValueInfoProto.FromString(by_name[n].SerializeToString()) for n in order]
    del graph.input[:]
    graph.input.extend(values)


_CONFIG_DTYPES = {"TYPE_FP32": TensorProto.FLOAT, "TYPE_INT32": TensorProto.INT32}


def config_tensors(path: Path) -> dict[str, tuple[int, list[int], bool]]:
    """name -> (ONNX dtype, dims, batched) of the I/O declared in a config.pbtxt."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2 as mc

    config = text_format.Parse(path.read_text(), mc.ModelConfig())
    tensors = {}
    for tensor in [*config.input, *config.output]:
        dtype = _CONFIG_DTYPES[mc.DataType.Name(tensor.data_type)]
        dims = list(tensor.reshape.shape) if tensor.HasField("reshape") else list(tensor.dims)
        tensors[tensor.name] = (dtype, dims, config.max_batch_size > 0)
    return tensors


def check_against_configs(model: onnx.ModelProto, entry_dir: Path) -> None:
    """Names, dtypes, ranks and fixed dims of the ONNX I/O agree with every config variant."""
    graph = model.graph
    values = {v.name: v for v in [*graph.input, *graph.output]}
    for path in [entry_dir / "config.pbtxt", *sorted((entry_dir / "configs").glob("*.pbtxt"))]:
        declared = config_tensors(path)
        if set(declared) != set(values):
            raise OfficialModelError(
                f"{path}: declares {sorted(declared)}, model has {sorted(values)}"
            )
        for name, (dtype, dims, batched) in declared.items():
            full = ([-1] if batched else []) + dims
            elem, rank = _dtype_rank(values[name])
            model_dims = static_dims(values[name])
            if elem != dtype or rank != len(full):
                raise OfficialModelError(
                    f"{path}: {name} is {TensorProto.DataType.Name(elem)} rank {rank}, config "
                    f"says {TensorProto.DataType.Name(dtype)} {full}"
                )
            for want, have in zip(full, model_dims, strict=False):
                if want != -1 and have not in (None, 0, want):
                    raise OfficialModelError(f"{path}: {name} dims {model_dims} vs config {full}")


def set_layout_input_hw(entry_dir: Path, input_hw: tuple[int, int]) -> list[Path]:
    """Write the layout model's fixed input size into its configs; returns the changed files."""
    height, width = input_hw
    changed = []
    pattern = re.compile(r'(name: "image"[^}]*dims: \[[^\]]*?3, )\d+, \d+( \])')
    for path in [entry_dir / "config.pbtxt", *sorted((entry_dir / "configs").glob("*.pbtxt"))]:
        text = path.read_text()
        new = pattern.sub(rf"\g<1>{height}, {width}\g<2>", text)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def set_rec_classes(entry_dir: Path, classes: int) -> list[Path]:
    """Write the recogniser's class count (blank + dictionary + space) into its configs' output
    dims; returns the changed files (a dictionary of another size, e.g. PP-OCRv5's or a
    fine-tuned model's own)."""
    changed = []
    pattern = re.compile(rf'(name: "{names.TEXT_REC_PROB}"[^}}]*dims: \[ -1, )\d+( \])')
    for path in [entry_dir / "config.pbtxt", *sorted((entry_dir / "configs").glob("*.pbtxt"))]:
        text = path.read_text()
        new = pattern.sub(rf"\g<1>{classes}\g<2>", text)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed
