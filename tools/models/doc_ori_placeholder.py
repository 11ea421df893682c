"""The ``doc_ori`` and ``uvdoc`` entries of a repository without those models (the stand-ins).

Triton loads every entry of the repository, so the offline repository needs a model in
``doc_ori/1/model.onnx`` even though it has no orientation classifier: this placeholder has the
entry's I/O (``page_images`` [N, 3, 224, 224] -> ``orientation_probs`` [N, 4]) and answers equal
scores. Its ``doc_ori_info.json`` says ``available: false``, so ``decode_page`` refuses
``use_doc_orientation_classify`` with the command that installs the real model and never calls
it (``seal_ocr.doc_ori.require_model``). The ``uvdoc`` placeholder likewise passes the page
through (``pages`` -> ``unwarped_pages``) with ``uvdoc_info.json`` saying ``available: false``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from seal_ocr import tensor_names as names
from seal_ocr.doc_ori import DocOriInfo
from seal_ocr.uvdoc import UVDocInfo

PLACEHOLDER_INFO = DocOriInfo(
    available=False, source="placeholder: no page orientation model installed"
)
UVDOC_PLACEHOLDER_INFO = UVDocInfo(available=False, source="placeholder: no UVDoc model installed")


def placeholder_model(classes: int = 4, side: int = 224) -> onnx.ModelProto:
    """[N, 3, side, side] -> [N, classes] of 1 / classes (the batch size follows the input)."""
    nodes = [
        helper.make_node("ReduceMean", [names.DOC_ORI_IMAGE], ["mean"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Unsqueeze", ["mean", "axis"], ["column"]),  # [N, 1]
        helper.make_node("Mul", ["column", "zeros"], ["zero_rows"]),  # [N, classes]
        helper.make_node("Add", ["zero_rows", "uniform"], [names.DOC_ORI_PROB]),
    ]
    graph = helper.make_graph(
        nodes,
        "doc_ori_placeholder",
        [
            helper.make_tensor_value_info(
                names.DOC_ORI_IMAGE, TensorProto.FLOAT, ["N", 3, side, side]
            )
        ],
        [helper.make_tensor_value_info(names.DOC_ORI_PROB, TensorProto.FLOAT, ["N", classes])],
        [
            numpy_helper.from_array(np.array([1], np.int64), "axis"),
            numpy_helper.from_array(np.zeros((1, classes), np.float32), "zeros"),
            numpy_helper.from_array(np.full((1, classes), 1 / classes, np.float32), "uniform"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # what the served ONNX Runtime and OpenVINO read
    onnx.checker.check_model(model)
    return model


def uvdoc_placeholder_model() -> onnx.ModelProto:
    """[N, 3, H, W] -> the same tensor (the batch and page size follow the input)."""
    shape = ["N", 3, "H", "W"]
    graph = helper.make_graph(
        [helper.make_node("Identity", [names.UVDOC_IMAGE], [names.UVDOC_OUTPUT])],
        "uvdoc_placeholder",
        [helper.make_tensor_value_info(names.UVDOC_IMAGE, TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(names.UVDOC_OUTPUT, TensorProto.FLOAT, shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def install_placeholder(repository: Path) -> None:
    """Write both placeholder models and their info files into ``repository``."""
    for entry, model in (
        (names.DOC_ORI_MODEL, placeholder_model()),
        (names.UVDOC_MODEL, uvdoc_placeholder_model()),
    ):
        (repository / entry / "1").mkdir(parents=True, exist_ok=True)
        onnx.save(model, repository / entry / "1" / "model.onnx")
    (repository / names.DOC_ORI_INFO_FILE).write_text(PLACEHOLDER_INFO.to_json() + "\n", "utf-8")
    (repository / names.UVDOC_INFO_FILE).write_text(
        UVDOC_PLACEHOLDER_INFO.to_json() + "\n", "utf-8"
    )
