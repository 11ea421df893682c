"""A PP-DocLayout-L batch output, made by hand, decoded the way PaddleX's ``DetPredictor`` does.

PaddleX (3.7.2, ``object_detection/predictor.py``) reads a layout export's two outputs by
position: ``bbox`` [K, 6] rows ``(cls_id, score, x1, y1, x2, y2)`` in page pixels and
``bbox_num`` [N]; ``_format_output`` slices image n's rows as ``bbox[start_n:start_n + num_n]``
(``start`` the running sum), and ``DetPostProcess`` turns each slice into boxes named by the
yml's ``label_list``. Our layout entry pads those rows per image inside the graph
(``layout_contract.pad_per_image``) and the pipeline reads ``boxes[n, :box_count[n]]`` then runs
the same post-processing (``seal_ocr.layout``). The two must give the same boxes; the rows below
also pin what the post-processing makes of them (threshold, NMS), so a wrong split cannot agree
by accident.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from seal_ocr.model_info import LayoutInfo
from seal_ocr.params import PipelineOptions
from seal_ocr.pipeline import layout_boxes_from_model
from tests.unit.test_layout_contract import passthrough_export
from tools.models.layout_contract import pad_per_image
from tools.models.tiny_paddle_models import DOCLAYOUT_LABELS

SEAL, TEXT = DOCLAYOUT_LABELS.index("seal"), DOCLAYOUT_LABELS.index("text")
INFO = LayoutInfo(labels=tuple(DOCLAYOUT_LABELS), seal_label="seal", input_hw=(640, 640))
PAGES_HW = [(400, 300), (200, 200)]
BBOX = np.array(
    [
        [SEAL, 0.90, 10, 10, 110, 110],  # page 0: a seal,
        [SEAL, 0.80, 12, 12, 112, 112],  # its duplicate (NMS: IoU >= 0.6, same class),
        [TEXT, 0.70, 150, 200, 290, 380],  # a text block
        [SEAL, 0.40, 0, 0, 50, 50],  # page 1: below the 0.5 threshold,
        [SEAL, 0.95, 20, 20, 180, 180],  # a seal
    ],
    np.float32,
)
BBOX_NUM = np.array([3, 2], np.int32)


def paddlex_format_output(bbox: np.ndarray, bbox_num: np.ndarray) -> list[np.ndarray]:
    """``DetPredictor._format_output`` for the two-output (no mask) case."""
    start, per_image = 0, []
    for num in bbox_num:
        per_image.append(bbox[start : start + num])
        start += num
    return per_image


def test_doclayout_rows_decode_as_paddlex_decodes_them():
    model = pad_per_image(passthrough_export())
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    boxes, box_count = session.run(None, {"rows": BBOX, "counts": BBOX_NUM})
    options = PipelineOptions()  # PaddleX 3.7.2's seal_recognition layout settings
    ours = [
        [b.to_json() for b in layout_boxes_from_model(hw, boxes[n, : box_count[n]], INFO, options)]
        for n, hw in enumerate(PAGES_HW)
    ]
    paddlex = [
        [b.to_json() for b in layout_boxes_from_model(hw, rows, INFO, options)]
        for hw, rows in zip(PAGES_HW, paddlex_format_output(BBOX, BBOX_NUM), strict=True)
    ]
    assert ours == paddlex
    assert [
        [(b["label"], round(b["score"], 2), b["coordinate"]) for b in page] for page in ours
    ] == [
        [("seal", 0.9, [10.0, 10.0, 110.0, 110.0]), ("text", 0.7, [150.0, 200.0, 290.0, 380.0])],
        [("seal", 0.95, [20.0, 20.0, 180.0, 180.0])],
    ]
    assert {b["cls_id"] for b in ours[1]} == {16}  # PP-DocLayout's seal class
