"""Unit tests of ``seal_ocr.textline_ori``: model input, the turn decision, the turn, the info file.

The stand-in's input is checked against RapidOCR's own ``TextClassifier.resize_norm_img`` (run
from the cached ``rapidocr_onnxruntime`` wheel), the official model's against PaddleX's
``ClasPredictor`` steps for ``PP-LCNet_x0_25_textline_ori`` (BGR -> RGB, ``Resize`` to 160 x 80,
``Normalize`` with ImageNet statistics), and the served stand-in model against real rendered
lines, upright and upside down.
"""

from __future__ import annotations

import ast
import math
import types
import zipfile
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image, ImageDraw, ImageFont

from seal_client.visualize import find_cjk_font
from seal_ocr import tensor_names as names
from seal_ocr.errors import InvalidImageError
from seal_ocr.textline_ori import (
    NOT_CLASSIFIED,
    TURNED,
    UPRIGHT,
    TextlineOriInfo,
    orient_lines,
    preprocess_textline_ori,
    turn_180,
    turned_lines,
)
from tests.conftest import MODEL_REPOSITORY, REPO_ROOT, require
from tools.models.prepare import STAND_IN_TEXTLINE_ORI

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
# PP-LCNet_x0_25_textline_ori's inference.yml as PaddleX reads it (ResizeImage size [160, 80],
# NormalizeImage ImageNet, Topk label_list) with PaddleX's rule: the top-1 class decides
OFFICIAL = TextlineOriInfo(
    input_hw=(80, 160),
    keep_ratio=False,
    channels="RGB",
    scale=1 / 255,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    labels=("0_degree", "180_degree"),
    turned_class=1,
    min_score=0.0,
)
RAPIDOCR_WHEEL = "rapidocr_onnxruntime-1.4.4-py3-none-any.whl"


def _line(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# ---------------------------------------------------------------------------------------------
# Model input
# ---------------------------------------------------------------------------------------------


def _rapidocr_resize_norm_img():
    """RapidOCR 1.4.4's ``TextClassifier.resize_norm_img``, compiled from the cached wheel's
    source (only that method: the rest of the package opens ONNX Runtime sessions)."""
    wheel = require(REPO_ROOT / ".cache" / "wheels" / RAPIDOCR_WHEEL, "run `make models`")
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read("rapidocr_onnxruntime/ch_ppocr_cls/text_cls.py").decode()
    [classifier] = [
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.ClassDef) and node.name == "TextClassifier"
    ]
    [method] = [
        node
        for node in classifier.body
        if isinstance(node, ast.FunctionDef) and node.name == "resize_norm_img"
    ]
    namespace = {"math": math, "cv2": cv2, "np": np}
    exec(compile(ast.Module(body=[method], type_ignores=[]), RAPIDOCR_WHEEL, "exec"), namespace)
    owner = types.SimpleNamespace(cls_image_shape=[3, *STAND_IN_TEXTLINE_ORI.input_hw])
    return lambda image: namespace["resize_norm_img"](owner, image)


@pytest.mark.parametrize(("h", "w"), [(30, 200), (48, 192), (40, 50), (60, 1000), (12, 7)])
def test_stand_in_input_is_rapidocrs(h: int, w: int) -> None:
    line = _line(h, w)
    expected = _rapidocr_resize_norm_img()(line)
    got = preprocess_textline_ori(line, STAND_IN_TEXTLINE_ORI)
    assert got.shape == expected.shape == (3, 48, 192) and got.dtype == np.float32
    # (x / 255 - 0.5) / 0.5 there, x * (1/255 / 0.5) - 1 here: equal within float32 rounding
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_stand_in_keeps_the_ratio_and_pads_with_zeros() -> None:
    line = np.full((20, 50, 3), 255, np.uint8)  # white: 1.0 after normalisation
    got = preprocess_textline_ori(line, STAND_IN_TEXTLINE_ORI)
    width = math.ceil(48 * 50 / 20)  # 120 columns of line, the rest padding
    assert np.all(got[:, :, :width] == 1.0) and np.all(got[:, :, width:] == 0.0)


@pytest.mark.parametrize(("h", "w"), [(30, 200), (80, 160), (200, 40)])
def test_official_input_is_paddlexs(h: int, w: int) -> None:
    line = _line(h, w, seed=1)
    # PaddleX ClasPredictor: ReadImage(RGB) on an array = cvtColor BGR2RGB; Resize [160, 80]
    # (w, h) bilinear, skipped at that size; Normalize: (x * scale - mean) / std; ToCHW
    rgb = cv2.cvtColor(line, cv2.COLOR_BGR2RGB)
    if (h, w) != (80, 160):
        rgb = cv2.resize(rgb, (160, 80), interpolation=cv2.INTER_LINEAR)
    expected = ((rgb / 255.0 - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)
    got = preprocess_textline_ori(line, OFFICIAL)
    assert got.shape == (3, 80, 160) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_bad_line_images_are_refused() -> None:
    with pytest.raises(InvalidImageError):
        preprocess_textline_ori(np.zeros((0, 5, 3), np.uint8), OFFICIAL)
    with pytest.raises(InvalidImageError):
        preprocess_textline_ori(np.zeros((5, 5), np.uint8), OFFICIAL)


# ---------------------------------------------------------------------------------------------
# The turn decision and the turn
# ---------------------------------------------------------------------------------------------


def test_top1_decides_without_a_threshold_as_paddlex() -> None:
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.49, 0.51], [0.5, 0.5]], np.float32)
    # PaddleX's Topk takes the last of an argsort: an exact tie goes to the 180 class
    assert turned_lines(probs, OFFICIAL).tolist() == [False, True, True, True]


def test_stand_in_turns_only_above_its_threshold() -> None:
    probs = np.array([[0.05, 0.95], [0.1, 0.9], [0.2, 0.8], [0.95, 0.05]], np.float32)
    # RapidOCR: '180' wins and its score > cls_thresh 0.9 (0.9 itself is not enough)
    assert turned_lines(probs, STAND_IN_TEXTLINE_ORI).tolist() == [True, False, False, False]


def test_the_turned_class_comes_from_the_info() -> None:
    flipped = TextlineOriInfo(**{**OFFICIAL.__dict__, "labels": ("180", "0"), "turned_class": 0})
    probs = np.array([[0.7, 0.3], [0.2, 0.8]], np.float32)
    assert turned_lines(probs, flipped).tolist() == [True, False]


def test_scores_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        turned_lines(np.zeros((3, 4), np.float32), OFFICIAL)


def test_turn_180_is_exact_and_its_own_inverse() -> None:
    line = _line(7, 13)
    turned = turn_180(line)
    assert np.array_equal(turned, line[::-1, ::-1])
    assert np.array_equal(turn_180(turned), line)


def test_orient_lines_turns_the_upside_down_ones_and_reports_paddlexs_angles() -> None:
    lines = [_line(10, 30, seed) for seed in range(3)]
    probs = [np.array([0.8, 0.2]), np.array([0.1, 0.9]), np.array([0.3, 0.7])]
    oriented, angles = orient_lines(lines, probs, OFFICIAL)
    assert angles == [UPRIGHT, TURNED, TURNED] == [0, 1, 1]
    assert oriented[0] is lines[0]
    assert np.array_equal(oriented[1], lines[1][::-1, ::-1])
    assert np.array_equal(oriented[2], lines[2][::-1, ::-1])
    assert NOT_CLASSIFIED == -1  # what the result says for a line the step did not see
    assert orient_lines([], [], OFFICIAL) == ([], [])
    with pytest.raises(ValueError, match="2 orientation results for 3 lines"):
        orient_lines(lines, probs[:2], OFFICIAL)


# ---------------------------------------------------------------------------------------------
# The info file and the served model
# ---------------------------------------------------------------------------------------------


def test_info_round_trips_through_its_file(tmp_path: Path) -> None:
    path = tmp_path / "info.json"
    for info in (OFFICIAL, STAND_IN_TEXTLINE_ORI):
        path.write_text(info.to_json(), encoding="utf-8")
        assert TextlineOriInfo.from_file(path) == info


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"channels": "GBR"}, "channels"),
        ({"turned_class": 2}, "turned_class"),
        ({"input_hw": (0, 160)}, "input_hw"),
    ],
)
def test_inconsistent_info_is_refused(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TextlineOriInfo(**{**OFFICIAL.__dict__, **change})


@pytest.fixture(scope="module")
def served() -> tuple[TextlineOriInfo, ort.InferenceSession]:
    info = TextlineOriInfo.from_file(require(MODEL_REPOSITORY / names.TEXTLINE_ORI_INFO_FILE))
    model = require(MODEL_REPOSITORY / names.TEXTLINE_ORI_MODEL / "1" / "model.onnx")
    return info, ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])


def test_served_model_takes_the_info_files_input_and_gives_one_score_per_label(served) -> None:
    info, session = served
    [image] = session.get_inputs()
    [probs] = session.get_outputs()
    assert (image.name, probs.name) == (names.TEXTLINE_ORI_IMAGE, names.TEXTLINE_ORI_PROB)
    for have, want in zip(image.shape[1:], (3, *info.input_hw), strict=True):
        assert not isinstance(have, int) or have == want  # fixed dims must be the info's
    batch = np.stack([preprocess_textline_ori(_line(30, 120, s), info) for s in range(3)])
    out = session.run([names.TEXTLINE_ORI_PROB], {names.TEXTLINE_ORI_IMAGE: batch})[0]
    assert out.shape == (3, len(info.labels))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)  # a softmax


def _rendered_line(text: str) -> np.ndarray:
    """Black text on a light background, as a rectified seal line looks (BGR)."""
    font = ImageFont.truetype(str(find_cjk_font()), 40)
    width = int(font.getlength(text)) + 16
    picture = Image.new("RGB", (width, 52), (235, 235, 240))
    ImageDraw.Draw(picture).text((8, 4), text, font=font, fill=(40, 30, 200))
    return cv2.cvtColor(np.asarray(picture), cv2.COLOR_RGB2BGR)


@pytest.mark.parametrize(
    "text", ["发票专用章", "现金收讫章", "天津君和缘商贸有限公司", "26364736870"]
)
def test_served_model_turns_upside_down_lines_only(served, text: str) -> None:
    info, session = served
    upright = _rendered_line(text)
    lines = [upright, upright[::-1, ::-1]]
    batch = np.stack([preprocess_textline_ori(line, info) for line in lines])
    probs = session.run([names.TEXTLINE_ORI_PROB], {names.TEXTLINE_ORI_IMAGE: batch})[0]
    oriented, angles = orient_lines(lines, list(probs), info)
    assert angles == [UPRIGHT, TURNED], probs
    assert all(np.array_equal(line, upright) for line in oriented)


# ---------------------------------------------------------------------------------------------
# The official model's recipe, read from its inference.yml (make models SOURCE=official)
# ---------------------------------------------------------------------------------------------


def _official_yml() -> dict:
    """PP-LCNet_x0_25_textline_ori's inference.yml as the tiny test archive writes it."""
    from tools.models.tiny_paddle_models import ARCHIVES, _config

    name = "PP-LCNet_x0_25_textline_ori"
    kind, labels = ARCHIVES[name]
    return _config(name, kind, labels)


def test_the_official_yml_gives_paddlexs_recipe() -> None:
    from tools.models.official_yml import textline_ori_facts

    assert textline_ori_facts(_official_yml(), source="x") == TextlineOriInfo(
        **{**OFFICIAL.__dict__, "source": "x"}
    )


def _with_crop(yml: dict) -> None:
    yml["PreProcess"]["transform_ops"].insert(0, {"CropImage": {"size": 80}})


def _resized_by_short_side(yml: dict) -> None:
    yml["PreProcess"]["transform_ops"][0] = {"ResizeImage": {"resize_short": 80}}


def _three_classes(yml: dict) -> None:
    yml["PostProcess"]["Topk"]["label_list"] = ["0", "90", "180"]


@pytest.mark.parametrize(
    ("change", "message"),
    [(_with_crop, "CropImage"), (_resized_by_short_side, "fixed size"), (_three_classes, "two")],
)
def test_an_official_yml_the_library_cannot_follow_is_refused(change, message) -> None:
    from tools.models.official_catalog import OfficialModelError
    from tools.models.official_yml import textline_ori_facts

    config = _official_yml()
    change(config)
    with pytest.raises(OfficialModelError, match=message):
        textline_ori_facts(config)
