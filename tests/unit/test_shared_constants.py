"""Constants shared by the server, the client and the tools live once and mean what they say:
the image suffixes name the formats the server decodes, the step names are the ensemble's."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest

import perf.common
import tools.robustness
from seal_client import inputs
from seal_ocr import tensor_names as names
from seal_ocr.image_io import FORMAT_SUFFIXES, IMAGE_SUFFIXES, SUPPORTED_FORMATS, read_image_header

REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"


@pytest.mark.parametrize(
    ("image_format", "suffix"),
    [(fmt, suffix) for fmt, suffixes in FORMAT_SUFFIXES.items() for suffix in suffixes],
)
def test_each_suffix_encodes_the_format_it_is_listed_under(image_format, suffix):
    ok, encoded = cv2.imencode(suffix, np.full((8, 8, 3), 200, np.uint8))
    assert ok
    assert read_image_header(encoded.tobytes())[0] == image_format


def test_suffixes_cover_exactly_the_decoded_formats():
    assert set(FORMAT_SUFFIXES) == set(SUPPORTED_FORMATS)
    assert len(set(IMAGE_SUFFIXES)) == len(IMAGE_SUFFIXES)
    assert all(s.startswith(".") and s == s.lower() for s in IMAGE_SUFFIXES)


def test_the_client_and_the_tools_use_the_library_constants():
    assert inputs.IMAGE_SUFFIXES is IMAGE_SUFFIXES
    assert tools.robustness.IMAGE_SUFFIXES is IMAGE_SUFFIXES
    assert tools.robustness.MODEL is names.ENSEMBLE
    assert tools.robustness.PYTHON_STEPS is names.PYTHON_STEPS
    assert tools.robustness.ONNX_ENTRIES is names.ONNX_MODELS
    assert (*names.PYTHON_STEPS, *names.ONNX_MODELS) == perf.common.COMPOSING


def _config(model: str) -> str:
    return (REPOSITORY / model / "config.pbtxt").read_text()


def test_python_steps_are_the_ensemble_steps_in_order():
    steps = re.findall(r'model_name:\s*"([^"]+)"', _config(names.ENSEMBLE))
    assert tuple(steps) == names.PYTHON_STEPS


def test_onnx_models_are_the_repository_entries_on_an_onnx_backend():
    entries = {
        path.parent.name
        for path in REPOSITORY.glob("*/config.pbtxt")
        if re.search(r'^backend:\s*"(onnxruntime|openvino)"', path.read_text(), re.MULTILINE)
    }
    assert entries == {*names.ONNX_MODELS, *names.OPTION_ONNX_MODELS}
