"""Does UVDoc (PaddleX's document unwarping) survive paddle2onnx? Official weights cannot be
downloaded here, so a tiny network with UVDocNet's operator set (bilinear resize with
align_corners to a fixed size and back to the page's dynamic size, reflect-padded, dilated and
strided convolutions, batch norm, PReLU, ``grid_sample`` with align_corners) is exported with
``paddle.jit.save`` and converted by the real paddle2onnx at the project's opset. The converted
model's output is compared with Paddle's own for the same page on both CPU engines: what
docs/pipeline.md says about UVDoc (it converts and both engines compute Paddle's result) is
what this test measures.
"""

from __future__ import annotations

import subprocess
import tarfile

import numpy as np
import onnx
import pytest

from seal_ocr import engines
from tests.integration.test_official_path import TINY_BUILDER
from tools.models import official

pytestmark = pytest.mark.official

TOLERANCE = 1e-3  # of pixel values in [0, 1]; measured 1.2e-4 (ORT), 3e-5 (OpenVINO)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """(ONNX path, input page, Paddle's output) of the tiny UVDoc-shaped network."""
    python = official.ensure_converter_venv()
    tmp = tmp_path_factory.mktemp("uvdoc")
    subprocess.run(
        [str(python), str(TINY_BUILDER), str(tmp), "UVDoc"], check=True, capture_output=True
    )
    model_dir = tmp / "paddle"
    model_dir.mkdir()
    with tarfile.open(tmp / "UVDoc_infer.tar") as tar:
        for member in tar.getmembers():
            (model_dir / member.name.split("/")[-1]).write_bytes(tar.extractfile(member).read())
    config = official.convert(python, model_dir, tmp / "uvdoc.onnx")
    assert config["PostProcess"]["name"] == "DocTrPostProcess"
    reference = np.load(tmp / "UVDoc_reference.npz")
    return tmp / "uvdoc.onnx", reference["image"], reference["expected"]


def _run(path, engine, image):
    session = engines.open_session(path, engine)
    return session.run([onnx.load(str(path)).graph.output[0].name], {"image": image})[0]


def test_paddle2onnx_converts_uvdocs_operators(converted):
    path, _, _ = converted
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert {"GridSample", "Resize", "PRelu", "Conv"} <= ops


def test_onnx_runtime_computes_paddles_unwarped_page(converted):
    path, image, expected = converted
    out = _run(path, engines.ONNXRUNTIME, image)
    assert out.shape == expected.shape == image.shape
    np.testing.assert_allclose(out, expected, atol=TOLERANCE)


def test_openvino_computes_it_too(converted):
    # with the project's OpenVINO settings (FP32 inference precision, seal_ocr.engines); the
    # CPU plugin's default precision hint on this machine moves whole pixels (measured 0.39)
    path, image, expected = converted
    out = _run(path, engines.OPENVINO, image)
    np.testing.assert_allclose(out, expected, atol=TOLERANCE)
