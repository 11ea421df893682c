"""Step 2: find the seal regions of the page.

PAGE + PIPELINE_OPTIONS -> SEAL_BOXES (S, 4) float64 page pixels and LAYOUT_JSON (all layout
boxes, or null). With layout detection the ``layout`` ONNX entry is called through BLS (the page
as one batch item; its dynamic batcher merges pages of concurrent requests), and the page's
``box_count`` rows of the zero-padded ``boxes`` are its layout rows; without it the whole page is
the one region, as in PaddleX.
"""

import json

import numpy as np

from seal_ocr import layout, pipeline
from seal_ocr import tensor_names as names
from seal_ocr.model_info import LayoutInfo
from seal_ocr.params import options_from_json
from seal_triton.step import PipelineStep


class TritonPythonModel(PipelineStep):
    def setup(self) -> None:
        info_path = self.repository_root / self.parameter("layout_info", names.LAYOUT_INFO_FILE)
        self.info = LayoutInfo.from_file(info_path)
        self.logger.log_info(f"{self.model_name}: seal label {self.info.seal_label!r}")

    async def run(self, inputs):
        page = inputs[names.PAGE]
        options = options_from_json(inputs[names.PIPELINE_OPTIONS][0].decode())
        boxes = None
        if options.use_layout_detection:
            prepared = layout.preprocess_layout(page, self.info.input_hw)
            feeds = {
                names.LAYOUT_IMAGE: prepared.image[None],
                names.LAYOUT_SCALE_FACTOR: prepared.scale_factor[None],
            }
            outputs = await self.infer(
                names.LAYOUT_MODEL, feeds, [names.LAYOUT_BOXES, names.LAYOUT_BOX_COUNT]
            )
            # boxes [1, LAYOUT_MAX_BOXES, 6]: the page's box_count rows, then zero rows
            count = int(outputs[names.LAYOUT_BOX_COUNT].reshape(-1)[0])
            raw = outputs[names.LAYOUT_BOXES][0, :count]
            boxes = pipeline.layout_boxes_from_model(page.shape[:2], raw, self.info, options)
        seal_boxes = pipeline.seal_boxes_from_layout(page.shape[:2], boxes, self.info.seal_label)
        layout_json = None if boxes is None else [box.to_json() for box in boxes]
        return {
            names.SEAL_BOXES: seal_boxes,
            names.LAYOUT_JSON: np.array([json.dumps(layout_json).encode()], dtype=object),
        }
