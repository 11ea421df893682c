"""Step 1: decode the uploaded image file and validate the request options.

IMAGE (bytes of one image file) + OPTIONS (optional JSON) -> PAGE (H, W, 3) uint8 BGR and
PIPELINE_OPTIONS (validated JSON with every default filled in). Bad bytes or options: INVALID_ARG.
"""

import numpy as np

from seal_ocr import tensor_names as names
from seal_ocr.errors import InvalidImageError
from seal_ocr.image_io import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, decode_image
from seal_ocr.params import parse_options_json
from seal_triton.step import PipelineStep


def _single_bytes(array: np.ndarray | None, name: str) -> bytes | None:
    if array is None:
        return None
    if array.size != 1:
        raise InvalidImageError(f"{name} must hold exactly one element, got shape {array.shape}")
    value = array.reshape(-1)[0]
    if not isinstance(value, bytes):
        raise InvalidImageError(f"{name} must be BYTES, got {type(value).__name__}")
    return value


class TritonPythonModel(PipelineStep):
    def setup(self) -> None:
        self.max_pixels = int(self.parameter("max_image_pixels", str(DEFAULT_MAX_PIXELS)))
        self.max_bytes = int(self.parameter("max_image_bytes", str(DEFAULT_MAX_BYTES)))

    async def run(self, inputs):
        if inputs[names.IMAGE] is None:
            raise InvalidImageError(f"the request has no {names.IMAGE} input")
        options = parse_options_json(_single_bytes(inputs[names.OPTIONS], names.OPTIONS))
        page = decode_image(
            _single_bytes(inputs[names.IMAGE], names.IMAGE), max_pixels=self.max_pixels
        )
        return {
            names.PAGE: page,
            names.PIPELINE_OPTIONS: np.array([options.to_json().encode()], dtype=object),
        }
