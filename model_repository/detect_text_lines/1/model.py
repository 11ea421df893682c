"""Step 3: DB text detection in every seal region.

PAGE + SEAL_BOXES + PIPELINE_OPTIONS -> the polygons of all seals, packed flat: POLY_POINTS
(P, 2) int32 seal-crop pixels, POLY_LENGTHS (L,), POLY_SEAL_INDEX (L,). Crops are resized and
normalised here, run through the ``seal_det`` ONNX entry via BLS (equal shapes stacked up to
``seal_det_max_batch_size``; zero seals make no call) and post-processed in polygon mode. With
``use_seal_quarter_turns`` each seal is four regions (``pipeline.seal_regions``: the crop turned
0-3 quarter turns), POLY_SEAL_INDEX indexes those regions and polygons are in the turned crop.
"""

from seal_ocr import pipeline
from seal_ocr import tensor_names as names
from seal_ocr.packing import pack_polys
from seal_ocr.params import options_from_json
from seal_triton.step import PipelineStep


class TritonPythonModel(PipelineStep):
    def setup(self) -> None:
        self.max_batch = int(self.parameter("seal_det_max_batch_size"))

    async def run(self, inputs):
        page, seal_boxes = inputs[names.PAGE], inputs[names.SEAL_BOXES]
        options = options_from_json(inputs[names.PIPELINE_OPTIONS][0].decode())
        params = options.seal_det
        regions, turns = pipeline.seal_regions(seal_boxes, options)
        det_inputs, metas = pipeline.seal_det_inputs(page, regions, params, turns)
        prob_maps = await self.infer_items(
            names.SEAL_DET_MODEL,
            names.SEAL_DET_IMAGE,
            names.SEAL_DET_PROB,
            det_inputs,
            self.max_batch,
        )
        points, lengths, seal_index = pack_polys(
            pipeline.polys_from_seal_det(prob_maps, metas, params)
        )
        return {
            names.POLY_POINTS: points,
            names.POLY_LENGTHS: lengths,
            names.POLY_SEAL_INDEX: seal_index,
        }
