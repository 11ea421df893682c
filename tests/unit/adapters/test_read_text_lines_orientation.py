"""read_text_lines with ``use_textline_orientation``, in process: its BLS calls go to the real
``textline_ori`` and ``text_rec`` entries (ONNX Runtime backend) and what it returns is the
library's reading on the same models."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from seal_ocr import pipeline, rec
from seal_ocr import tensor_names as names
from seal_ocr.packing import pack_polys, unpack_polys
from seal_ocr.params import parse_options_json
from seal_ocr.textline_ori import TextlineOriInfo
from tests.conftest import MODEL_REPOSITORY
from tests.unit.adapters.conftest import execute_step, model_config, outputs, request, strings
from tests.unit.adapters.test_step_models import ort_session, through

OVAL = "nephren_10_oval.jpg"


def turned_oval_inputs(eval_dir, options: dict) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The oval seal turned by 180 degrees as one region, its polygons, and the step's inputs."""
    page = np.ascontiguousarray(cv2.imread(str(eval_dir / OVAL))[::-1, ::-1])
    boxes = np.array([[0.0, 0.0, page.shape[1], page.shape[0]]])
    params = parse_options_json(json.dumps(options)).seal_det
    det_inputs, metas = pipeline.seal_det_inputs(page, boxes, params)
    det = ort_session(names.SEAL_DET_MODEL)
    maps = [
        det.run([names.SEAL_DET_PROB], {names.SEAL_DET_IMAGE: x[None]})[0][0] for x in det_inputs
    ]
    points, lengths, seal_index = pack_polys(pipeline.polys_from_seal_det(maps, metas, params))
    inputs = {
        names.PAGE: page,
        names.SEAL_BOXES: boxes,
        names.POLY_POINTS: points,
        names.POLY_LENGTHS: lengths,
        names.POLY_SEAL_INDEX: seal_index,
        names.PIPELINE_OPTIONS: strings(parse_options_json(json.dumps(options)).to_json()),
    }
    return page, inputs


@pytest.fixture
def served(pb, load_backend):
    for model in (names.TEXTLINE_ORI_MODEL, names.TEXT_REC_MODEL):
        config = model_config(model, "configs/cpu_onnxruntime.pbtxt")
        pb.serve(model, through(pb, load_backend("onnxruntime", model, config)))
    return pb


@pytest.mark.parametrize("chunk", ["2", "32"])
def test_lines_are_classified_in_chunks_turned_and_read_as_the_library_reads_them(
    served, make_step, eval_dir, chunk
):
    page, inputs = turned_oval_inputs(eval_dir, {"use_textline_orientation": True})
    step = make_step(names.READ_TEXT_LINES, textline_ori_max_batch_size=chunk)
    out = outputs(served, execute_step(step, request(served, **inputs))[0])

    info = TextlineOriInfo.from_file(MODEL_REPOSITORY / names.TEXTLINE_ORI_INFO_FILE)
    ori_calls = [
        c[names.TEXTLINE_ORI_IMAGE] for m, c in served.calls if m == names.TEXTLINE_ORI_MODEL
    ]
    lines = len(inputs[names.POLY_LENGTHS])
    assert sum(len(batch) for batch in ori_calls) == lines
    assert len(ori_calls) == math.ceil(lines / int(chunk))  # one size: chunks as full as allowed
    assert all(batch.shape[1:] == (3, *info.input_hw) for batch in ori_calls)

    # the library on the same models: classify all lines at once, turn, read
    polys = unpack_polys(
        inputs[names.POLY_POINTS], inputs[names.POLY_LENGTHS], inputs[names.POLY_SEAL_INDEX], 1
    )
    lines_in = pipeline.line_images(page, inputs[names.SEAL_BOXES], polys)
    ori = ort_session(names.TEXTLINE_ORI_MODEL)
    batch = np.stack(pipeline.textline_ori_inputs(lines_in, info))
    probs = ori.run([names.TEXTLINE_ORI_PROB], {names.TEXTLINE_ORI_IMAGE: batch})[0]
    oriented, angles = pipeline.orient_lines(lines_in, list(probs), info)
    reader = ort_session(names.TEXT_REC_MODEL)
    decoder = rec.CTCDecoder(rec.load_characters(MODEL_REPOSITORY / names.CHARACTERS_FILE))
    rec_out = [
        reader.run([names.TEXT_REC_PROB], {names.TEXT_REC_IMAGE: x[None]})[0][0]
        for x in pipeline.rec_inputs(oriented)
    ]
    texts, _ = pipeline.texts_from_rec(rec_out, decoder)
    assert out[names.LINE_ANGLES].tolist() == angles and 1 in angles
    assert [t.decode() for t in out[names.LINE_TEXTS]] == texts
    assert "现金收讫章" in texts


def test_without_the_option_no_line_is_classified_and_every_angle_is_minus_one(
    served, make_step, eval_dir
):
    _, inputs = turned_oval_inputs(eval_dir, {})
    out = outputs(
        served, execute_step(make_step(names.READ_TEXT_LINES), request(served, **inputs))[0]
    )
    assert [m for m, _ in served.calls if m == names.TEXTLINE_ORI_MODEL] == []
    assert out[names.LINE_ANGLES].tolist() == [-1] * len(inputs[names.POLY_LENGTHS])
    assert out[names.LINE_ANGLES].dtype == np.int32
