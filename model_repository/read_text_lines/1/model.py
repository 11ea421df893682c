"""Step 4: straighten every text polygon and read it.

PAGE + SEAL_BOXES + packed polygons -> LINE_TEXTS (L,) UTF-8 and LINE_SCORES (L,) float32, one
per polygon. Each polygon is rectified with PaddleX's piecewise homography, resized to height
48 at its own width (batch-1 semantics), run through ``text_rec`` via BLS (equal widths stacked
up to ``text_rec_max_batch_size``) and CTC-decoded with the entry's dictionary.
"""

import numpy as np

from seal_ocr import pipeline, rec
from seal_ocr import tensor_names as names
from seal_ocr.packing import unpack_polys
from seal_triton.step import PipelineStep


class TritonPythonModel(PipelineStep):
    def setup(self) -> None:
        self.max_batch = int(self.parameter("text_rec_max_batch_size"))
        self.spread = int(self.parameter("text_rec_spread", "1"))
        characters = self.repository_root / self.parameter("characters", names.CHARACTERS_FILE)
        self.decoder = rec.CTCDecoder(rec.load_characters(characters))

    async def run(self, inputs):
        page, seal_boxes = inputs[names.PAGE], inputs[names.SEAL_BOXES]
        polys = unpack_polys(
            inputs[names.POLY_POINTS],
            inputs[names.POLY_LENGTHS],
            inputs[names.POLY_SEAL_INDEX],
            len(seal_boxes),
        )
        lines = pipeline.line_images(page, seal_boxes, polys)
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
        }
