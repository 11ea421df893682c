"""Step 4: straighten every text polygon and read it.

PAGE + SEAL_BOXES + packed polygons + PIPELINE_OPTIONS -> LINE_TEXTS (L,) UTF-8, LINE_SCORES (L,)
float32 and LINE_ANGLES (L,) int32, one per polygon. Each polygon is rectified with PaddleX's
piecewise homography; with ``use_textline_orientation`` all lines of the page go through the
``textline_ori`` entry via BLS (one input size, chunks of ``textline_ori_max_batch_size``) and
the upside-down ones are turned by 180 degrees (angles 0/1; -1 each without the option). Lines
are resized to height 48 at their own width (batch-1 semantics), run through ``text_rec`` via BLS
(equal widths stacked up to ``text_rec_max_batch_size``) and CTC-decoded with the entry's
dictionary. Polygons belong to the regions of ``pipeline.seal_regions`` (four turned crops per
seal with ``use_seal_quarter_turns``).
"""

import numpy as np

from seal_ocr import pipeline, rec
from seal_ocr import tensor_names as names
from seal_ocr.packing import unpack_polys
from seal_ocr.params import options_from_json
from seal_ocr.textline_ori import NOT_CLASSIFIED, TextlineOriInfo
from seal_triton.step import PipelineStep


class TritonPythonModel(PipelineStep):
    def setup(self) -> None:
        self.max_batch = int(self.parameter("text_rec_max_batch_size"))
        self.spread = int(self.parameter("text_rec_spread", "1"))
        characters = self.repository_root / self.parameter("characters", names.CHARACTERS_FILE)
        self.decoder = rec.CTCDecoder(rec.load_characters(characters))
        self.ori_max_batch = int(self.parameter("textline_ori_max_batch_size"))
        info = self.parameter("textline_ori_info", names.TEXTLINE_ORI_INFO_FILE)
        self.ori_info = TextlineOriInfo.from_file(self.repository_root / info)

    async def run(self, inputs):
        page, seal_boxes = inputs[names.PAGE], inputs[names.SEAL_BOXES]
        options = options_from_json(inputs[names.PIPELINE_OPTIONS][0].decode())
        regions, turns = pipeline.seal_regions(seal_boxes, options)
        polys = unpack_polys(
            inputs[names.POLY_POINTS],
            inputs[names.POLY_LENGTHS],
            inputs[names.POLY_SEAL_INDEX],
            len(regions),
        )
        lines = pipeline.line_images(page, regions, polys, turns)
        angles = [NOT_CLASSIFIED] * len(lines)
        if options.use_textline_orientation:
            classes = await self.infer_items(
                names.TEXTLINE_ORI_MODEL,
                names.TEXTLINE_ORI_IMAGE,
                names.TEXTLINE_ORI_PROB,
                pipeline.textline_ori_inputs(lines, self.ori_info),
                self.ori_max_batch,
            )
            lines, angles = pipeline.orient_lines(lines, classes, self.ori_info)
        probs = await self.infer_items(
            names.TEXT_REC_MODEL,
            names.TEXT_REC_IMAGE,
            names.TEXT_REC_PROB,
            pipeline.rec_inputs(lines),
            self.max_batch,
            self.spread,
        )
        texts, scores = pipeline.texts_from_rec(probs, self.decoder)
        return {
            names.LINE_TEXTS: np.array([text.encode() for text in texts], dtype=object),
            names.LINE_SCORES: np.asarray(scores, dtype=np.float32),
            names.LINE_ANGLES: np.asarray(angles, dtype=np.int32),
        }
