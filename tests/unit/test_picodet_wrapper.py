"""The wrapped CDLA PicoDet against an independent NumPy decode of the raw head, and the served
model (the wrapped export padded per image) against the export, up to a page at the cap.

Needs the raw model ``layout_cdla.onnx`` in ``$SEAL_OCR_RAW_MODELS`` (default
``<repo>/.cache/models/raw``); it is not skipped when missing, because then the layout model of
the service cannot be built either.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from seal_ocr import tensor_names as names
from seal_ocr.layout import preprocess_layout
from tools.models.layout_contract import pad_per_image, strip_per_image
from tools.models.picodet_wrapper import build_layout_model, wrap_picodet_raw_head

REPO = Path(__file__).resolve().parents[2]
RAW_DIR = Path(os.environ.get("SEAL_OCR_RAW_MODELS", REPO / ".cache" / "models" / "raw"))
RAW_NAME = "layout_cdla.onnx"
CDLA_LABELS = [
    "text",
    "title",
    "figure",
    "figure_caption",
    "table",
    "table_caption",
    "header",
    "footer",
    "reference",
    "equation",
]
INPUT_HW = (800, 608)
STRIDES = (8, 16, 32, 64)
SCORE_THRESHOLD = 0.025
IOU_THRESHOLD = 0.6
MAX_PER_CLASS = 100


@pytest.fixture(scope="module")
def raw_path() -> Path:
    path = RAW_DIR / RAW_NAME
    if not path.is_file():
        pytest.fail(
            f"raw layout model {path} is missing: run `make models` "
            "(or point SEAL_OCR_RAW_MODELS at the folder holding layout_cdla.onnx)"
        )
    return path


@pytest.fixture(scope="module")
def built(raw_path: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("layout") / "inference.onnx"
    labels = build_layout_model(raw_path, out)
    return out, labels


def _session(model: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def export(raw_path: Path) -> onnx.ModelProto:
    """The PaddleDetection-contract export (``bbox`` [K, 6], ``bbox_num`` [N]) PaddleX reads."""
    return wrap_picodet_raw_head(onnx.load(str(raw_path)))


@pytest.fixture(scope="module")
def session(export: onnx.ModelProto) -> ort.InferenceSession:
    return _session(export)


@pytest.fixture(scope="module")
def served(built: tuple[Path, list[str]]) -> ort.InferenceSession:
    """What `make models` installs: ``boxes`` [N, 1000, 6] and ``box_count`` [N]."""
    return ort.InferenceSession(str(built[0]), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def raw_session(raw_path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(raw_path), providers=["CPUExecutionProvider"])


def _page(height: int, width: int, seed: int, stamp_xy: tuple[int, int]) -> np.ndarray:
    """A white BGR page with black text lines, a heading and a red stamp (filled disc + ring)."""
    rng = np.random.default_rng(seed)
    page = np.full((height, width, 3), 255, np.uint8)
    cv2.putText(page, "ANNUAL REPORT", (60, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (0, 0, 0), 3)
    y = 150
    while y < height - 60:
        words = " ".join(
            "".join(chr(ord("a") + int(c)) for c in rng.integers(0, 26, rng.integers(2, 9)))
            for _ in range(12)
        )
        cv2.putText(page, words, (60, y), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2)
        y += 38 if rng.random() > 0.15 else 80  # occasional paragraph break
    cx, cy = stamp_xy
    cv2.circle(page, (cx, cy), 110, (40, 40, 220), thickness=-1)
    cv2.circle(page, (cx, cy), 90, (255, 255, 255), thickness=6)
    cv2.circle(page, (cx, cy), 130, (30, 30, 200), thickness=8)
    return page


PAGES = {
    "portrait": lambda: _page(1100, 850, seed=1, stamp_xy=(620, 850)),
    "landscape": lambda: _page(700, 1000, seed=2, stamp_xy=(780, 420)),
}


def _inputs(pages: list[np.ndarray]) -> dict[str, np.ndarray]:
    prepared = [preprocess_layout(page, INPUT_HW) for page in pages]
    return {
        "image": np.stack([p.image for p in prepared]),
        "scale_factor": np.stack([p.scale_factor for p in prepared]),
    }


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _plain_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    w = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    inter = w * h
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / (area + areas - inter)


def _reference_detect(raw_outputs: list[np.ndarray], scale_factor: np.ndarray) -> np.ndarray:
    """Independent float64 decode + per-class greedy NMS of one image's raw head outputs.

    ``raw_outputs``: the 4 score tensors then the 4 distribution tensors, batch 1.
    Returns (K, 6) rows (cls, score, x1, y1, x2, y2), page pixels, score-descending.
    """
    levels = len(STRIDES)
    all_boxes, all_scores = [], []
    for scores, dists, stride in zip(
        raw_outputs[:levels], raw_outputs[levels:], STRIDES, strict=True
    ):
        rows, cols = math.ceil(INPUT_HW[0] / stride), math.ceil(INPUT_HW[1] / stride)
        cy, cx = np.divmod(np.arange(rows * cols), cols)
        cx, cy = (cx + 0.5) * stride, (cy + 0.5) * stride
        prob = _softmax(dists[0].astype(np.float64).reshape(-1, 4, 8))
        ltrb = (prob * np.arange(8)).sum(axis=-1) * stride
        all_boxes.append(
            np.stack([cx - ltrb[:, 0], cy - ltrb[:, 1], cx + ltrb[:, 2], cy + ltrb[:, 3]], 1)
        )
        all_scores.append(scores[0].astype(np.float64))
    boxes = np.concatenate(all_boxes)
    scores = np.concatenate(all_scores)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, INPUT_HW[1])
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, INPUT_HW[0])
    sy, sx = scale_factor.astype(np.float64)
    boxes /= np.array([sx, sy, sx, sy])

    rows_out = []
    for cls in range(scores.shape[1]):
        candidates = np.flatnonzero(scores[:, cls] > SCORE_THRESHOLD)
        candidates = candidates[np.argsort(-scores[candidates, cls], kind="stable")]
        kept: list[int] = []
        while candidates.size and len(kept) < MAX_PER_CLASS:
            best, candidates = candidates[0], candidates[1:]
            kept.append(best)
            candidates = candidates[_plain_iou(boxes[best], boxes[candidates]) <= IOU_THRESHOLD]
        rows_out += [[cls, scores[i, cls], *boxes[i]] for i in kept]
    out = np.array(rows_out, dtype=np.float64).reshape(-1, 6)
    return out[np.argsort(-out[:, 1], kind="stable")]


def _by_class_then_score(rows: np.ndarray) -> np.ndarray:
    return rows[np.lexsort((-rows[:, 1], rows[:, 0]))]


def test_build_keeps_labels_metadata_and_contract(
    built: tuple[Path, list[str]], export: onnx.ModelProto
) -> None:
    path, labels = built
    assert labels == CDLA_LABELS
    served = onnx.load(str(path))
    onnx.checker.check_model(served)
    assert {p.key: p.value for p in served.metadata_props}["character"].split("\n") == CDLA_LABELS
    assert ("Paddle", 1) in {(o.domain, o.version) for o in served.opset_import}
    assert [i.name for i in served.graph.input] == ["image", "scale_factor"]
    assert [o.name for o in served.graph.output] == [names.LAYOUT_BOXES, names.LAYOUT_BOX_COUNT]
    # the served graph is the export plus the padding: PaddleX (parity/) gets the export back
    assert strip_per_image(served).SerializeToString() == export.SerializeToString()
    model = export
    assert [o.name for o in model.graph.output] == ["bbox", "bbox_num"]
    image_dims = model.graph.input[0].type.tensor_type.shape.dim
    assert image_dims[0].dim_param == "N"
    assert [d.dim_value for d in image_dims[1:]] == [3, *INPUT_HW]
    # No Reshape may keep the hard-coded batch 1 of the export.
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    consts = {
        n.output[0]: onnx.numpy_helper.to_array(n.attribute[0].t)
        for n in model.graph.node
        if n.op_type == "Constant"
    }
    for node in model.graph.node:
        if node.op_type == "Reshape":
            shape = inits.get(node.input[1], consts.get(node.input[1]))
            assert shape is not None and shape[0] == 0, node.name


@pytest.mark.parametrize("name", sorted(PAGES))
def test_single_image_matches_numpy_reference(
    name: str, session: ort.InferenceSession, raw_session: ort.InferenceSession
) -> None:
    page = PAGES[name]()
    feeds = _inputs([page])
    bbox, bbox_num = session.run(None, feeds)
    assert bbox.dtype == np.float32 and bbox.ndim == 2 and bbox.shape[1] == 6
    assert bbox_num.dtype == np.int32 and bbox_num.shape == (1,)
    assert int(bbox_num[0]) == len(bbox) > 0

    raw = raw_session.run(None, {"image": feeds["image"]})
    expected = _reference_detect(raw, feeds["scale_factor"][0])
    assert len(bbox) == len(expected)
    got, want = _by_class_then_score(bbox.astype(np.float64)), _by_class_then_score(expected)
    np.testing.assert_array_equal(got[:, 0], want[:, 0])
    np.testing.assert_allclose(got[:, 1], want[:, 1], atol=1e-6)
    np.testing.assert_allclose(got[:, 2:], want[:, 2:], atol=1e-3)

    assert np.all(np.diff(bbox[:, 1]) <= 0), "rows must be score-descending"
    assert set(np.unique(bbox[:, 0]).astype(int)) <= set(range(len(CDLA_LABELS)))
    page_h, page_w = page.shape[:2]
    slack = 1e-3  # x / (608 / w) can land a float32 ulp outside
    assert np.all(bbox[:, 2:] >= 0)
    assert np.all(bbox[:, [2, 4]] <= page_w + slack) and np.all(bbox[:, [3, 5]] <= page_h + slack)
    assert np.all(bbox[:, 4] >= bbox[:, 2]) and np.all(bbox[:, 5] >= bbox[:, 3])
    # The synthetic page is a document: the detector must find confident text.
    text_id = CDLA_LABELS.index("text")
    assert np.any((bbox[:, 0] == text_id) & (bbox[:, 1] > 0.5))


def test_batch_equals_per_image(session: ort.InferenceSession) -> None:
    pages = [PAGES["portrait"](), PAGES["landscape"]()]
    bbox, bbox_num = session.run(None, _inputs(pages))
    assert bbox_num.dtype == np.int32 and bbox_num.shape == (2,)
    assert int(bbox_num.sum()) == len(bbox)
    start = 0
    for page, count in zip(pages, bbox_num, strict=True):
        single, single_num = session.run(None, _inputs([page]))
        part = bbox[start : start + count]
        start += count
        assert int(single_num[0]) == count
        np.testing.assert_array_equal(part[:, 0], single[:, 0])
        np.testing.assert_allclose(part[:, 1:], single[:, 1:], rtol=0, atol=1e-4)
        assert np.all(np.diff(part[:, 1]) <= 0)


def test_no_detection_gives_empty_rows_and_zero_counts(raw_path: Path) -> None:
    model = wrap_picodet_raw_head(onnx.load(str(raw_path)), score_threshold=1.0)
    feeds = _inputs([PAGES["portrait"](), PAGES["landscape"]()])
    bbox, bbox_num = _session(model).run(None, feeds)
    assert bbox.shape == (0, 6) and bbox.dtype == np.float32
    np.testing.assert_array_equal(bbox_num, np.zeros(2, np.int32))
    boxes, box_count = _session(pad_per_image(model)).run(None, feeds)
    assert boxes.shape == (2, names.LAYOUT_MAX_BOXES, 6) and not boxes.any()
    np.testing.assert_array_equal(box_count, np.zeros(2, np.int32))


def _assert_padded(boxes, box_count, bbox, bbox_num) -> None:
    """Served outputs = the export's rows of each image, in order, then zero rows."""
    assert boxes.shape == (len(bbox_num), names.LAYOUT_MAX_BOXES, 6)
    np.testing.assert_array_equal(box_count, bbox_num)
    start = 0
    for n, count in enumerate(bbox_num):
        np.testing.assert_array_equal(boxes[n, :count], bbox[start : start + count])
        assert not boxes[n, count:].any()
        start += count


def test_served_model_pads_each_images_rows(
    session: ort.InferenceSession, served: ort.InferenceSession
) -> None:
    feeds = _inputs([PAGES["portrait"](), PAGES["landscape"]()])
    bbox, bbox_num = session.run(None, feeds)
    boxes, box_count = served.run(None, feeds)
    assert box_count.dtype == np.int32 and box_count.min() > 0
    _assert_padded(boxes, box_count, bbox, bbox_num)
    for n, page in enumerate(PAGES.values()):  # each page alone: what a request gets back
        alone_boxes, alone_count = served.run(None, _inputs([page()]))
        assert alone_count[0] == box_count[n]
        np.testing.assert_allclose(alone_boxes[0], boxes[n], rtol=0, atol=1e-4)


def test_a_page_at_the_cap_is_not_cut(raw_path: Path) -> None:
    # NMS keeps at most MAX_PER_CLASS boxes per class: with every score kept (threshold 0) and
    # nothing suppressed (IoU threshold 1), a real page fills all 100 x 10 classes, the most the
    # stand-in can return for an image, which is LAYOUT_MAX_BOXES
    model = wrap_picodet_raw_head(onnx.load(str(raw_path)), score_threshold=0.0, iou_threshold=1.0)
    feeds = _inputs([PAGES["portrait"](), PAGES["landscape"]()])
    bbox, bbox_num = _session(model).run(None, feeds)
    most = MAX_PER_CLASS * len(CDLA_LABELS)
    assert most == names.LAYOUT_MAX_BOXES
    np.testing.assert_array_equal(bbox_num, [most, most])
    boxes, box_count = _session(pad_per_image(model)).run(None, feeds)
    _assert_padded(boxes, box_count, bbox, bbox_num)  # every row kept, none of a neighbour's
