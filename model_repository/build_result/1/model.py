"""Step 5: the result JSON (PaddleX keys plus page-frame seal boxes and texts).

PIPELINE_OPTIONS, LAYOUT_JSON, SEAL_BOXES, packed polygons, LINE_TEXTS, LINE_SCORES, LINE_ANGLES,
DOC_ANGLE -> RESULT_JSON (one UTF-8 JSON document). The rec score filter is applied here, and with
``use_seal_quarter_turns`` the choice of each seal's best-read quarter turn.
"""

import json

import numpy as np

from seal_ocr import pipeline
from seal_ocr import tensor_names as names
from seal_ocr.packing import unpack_polys
from seal_ocr.params import options_from_json
from seal_ocr.result import dumps
from seal_triton.step import PipelineStep


class TritonPythonModel(PipelineStep):
    final_step = True  # gives the request's admission lease back

    async def run(self, inputs):
        options = options_from_json(inputs[names.PIPELINE_OPTIONS][0].decode())
        seal_boxes = inputs[names.SEAL_BOXES]
        regions, _ = pipeline.seal_regions(seal_boxes, options)
        polys = unpack_polys(
            inputs[names.POLY_POINTS],
            inputs[names.POLY_LENGTHS],
            inputs[names.POLY_SEAL_INDEX],
            len(regions),
        )
        texts = [text.decode("utf-8") for text in inputs[names.LINE_TEXTS]]
        # the orientation step's angles only when it ran (else PaddleX's -1 per polygon)
        angles = inputs[names.LINE_ANGLES].tolist() if options.use_textline_orientation else None
        result = pipeline.assemble(
            options,
            json.loads(inputs[names.LAYOUT_JSON][0].decode()),
            seal_boxes,
            polys,
            texts,
            inputs[names.LINE_SCORES].astype(float).tolist(),
            angles,
            int(inputs[names.DOC_ANGLE][0]),
        )
        return {names.RESULT_JSON: np.array([dumps(result)], dtype=object)}
