"""Step 1: admit the request, decode the uploaded image file and validate the request options.

IMAGE (bytes of one image file) + OPTIONS (optional JSON) -> PAGE (H, W, 3) uint8 BGR,
PIPELINE_OPTIONS (validated JSON with every default filled in), DOC_ANGLE and ADMISSION_TICKET
(the request's lease, see seal_triton.admission). With ``use_doc_orientation_classify`` the page
goes through the ``doc_ori`` entry via BLS and is turned upright as PaddleX turns it
(seal_ocr.doc_ori), then with ``use_doc_unwarping`` through ``uvdoc`` (seal_ocr.uvdoc); DOC_ANGLE
is the turn's angle, -1 without it (options off: no call, no copy). Bad
bytes or options: INVALID_ARG. While max_in_flight requests are in the pipeline the next one
waits, undecoded, for a lease (up to admission_wait_s, then UNAVAILABLE), and the ones behind it
wait in this step's Triton queue.
"""

import numpy as np

from seal_ocr import doc_ori, pipeline, uvdoc
from seal_ocr import tensor_names as names
from seal_ocr.errors import InvalidImageError
from seal_ocr.image_io import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, decode_image
from seal_ocr.params import parse_options_json
from seal_triton.admission import AdmissionGate, capacity_from, default_state_path
from seal_triton.step import PipelineStep


def _single_bytes(array: np.ndarray | None) -> bytes | None:
    """The element of a TYPE_STRING [1] input, None when it was not sent (Triton has checked
    the shape against the config, and the stub gives TYPE_STRING elements as bytes)."""
    return None if array is None else array.reshape(-1)[0]


class TritonPythonModel(PipelineStep):
    admits = True  # takes each request's admission lease (PipelineStep)

    def setup(self) -> None:
        self.max_pixels = int(self.parameter("max_image_pixels", str(DEFAULT_MAX_PIXELS)))
        self.max_bytes = int(self.parameter("max_image_bytes", str(DEFAULT_MAX_BYTES)))
        self.gate = AdmissionGate(
            default_state_path(),
            capacity=capacity_from(self.parameter("max_in_flight", "0")),
            lease_s=float(self.parameter("admission_lease_s", "120")),
        )
        info = self.parameter("doc_ori_info", names.DOC_ORI_INFO_FILE)
        self.doc_ori_info = doc_ori.DocOriInfo.from_file(self.repository_root / info)
        info = self.parameter("uvdoc_info", names.UVDOC_INFO_FILE)
        self.uvdoc_info = uvdoc.UVDocInfo.from_file(self.repository_root / info)
        self.admission_wait_s = float(self.parameter("admission_wait_s", "0"))
        if not self.admission_wait_s >= 0:
            raise ValueError(f"admission_wait_s must be >= 0 seconds, not {self.admission_wait_s}")
        self.logger.log_info(
            f"{self.model_name}: max_in_flight {self.gate.capacity} (0 = no cap), "
            f"a request waits up to {self.admission_wait_s:g} s for a slot"
        )

    async def run(self, inputs):
        if inputs[names.IMAGE] is None:
            raise InvalidImageError(f"the request has no {names.IMAGE} input")
        options = parse_options_json(_single_bytes(inputs[names.OPTIONS]))
        if options.use_doc_orientation_classify:  # refused before decoding
            doc_ori.require_model(self.doc_ori_info)
        if options.use_doc_unwarping:
            uvdoc.require_model(self.uvdoc_info)
        page = decode_image(
            _single_bytes(inputs[names.IMAGE]),
            max_pixels=self.max_pixels,
            max_bytes=self.max_bytes,
        )
        angle = doc_ori.NOT_CLASSIFIED
        if options.use_doc_orientation_classify:
            [probs] = await self.infer_items(
                names.DOC_ORI_MODEL,
                names.DOC_ORI_IMAGE,
                names.DOC_ORI_PROB,
                [doc_ori.doc_ori_input(page, self.doc_ori_info)],
                max_batch=1,
            )
            page, angle = pipeline.orient_page(page, probs, self.doc_ori_info)
        if options.use_doc_unwarping:
            [unwarped] = await self.infer_items(
                names.UVDOC_MODEL, names.UVDOC_IMAGE, names.UVDOC_OUTPUT,
                [uvdoc.uvdoc_input(page)], max_batch=1,
            )  # fmt: skip
            page = uvdoc.uvdoc_output(unwarped)
        return {
            names.PAGE: page,
            names.PIPELINE_OPTIONS: np.array([options.to_json().encode()], dtype=object),
            names.DOC_ANGLE: np.array([angle], dtype=np.int32),
        }
