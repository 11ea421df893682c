"""PaddleX's high-performance serving (HPS) protocol over the seal_recognition ensemble.

input (TYPE_STRING [1], clients send [1, 1]: the request JSON of ``POST /seal-recognition``)
-> output (TYPE_STRING [1]: PaddleX's response JSON ``{logId, errorCode, errorMsg, result}``).
The request is handled by the shared PaddleX API (:func:`seal_api.handle`, the gateway's own
code): file, options, PDF pages (split and capped here), pictures, envelope. Each page goes
through the ensemble with BLS, the pages of a request in flight together. Errors of the
request come back in the envelope (422, 413, 500, 503), in a successful Triton response, as
PaddleX's HPS answers them.
"""

import asyncio
import json
import logging

import numpy as np

from seal_api import ApiError, ApiSettings, handle
from seal_api.errors import INTERNAL_ERROR, UNAVAILABLE
from seal_api.service import dumps
from seal_client.inputs import Page
from seal_client.visualize import FontNotFoundError, find_cjk_font
from seal_ocr import tensor_names as names
from seal_triton.step import PipelineStep, StepError, StepRefused, StepUnavailable

_ENSEMBLE_PREFIX = f"in ensemble '{names.ENSEMBLE}', "


class _TritonLogHandler(logging.Handler):
    """Sends the shared API's log records (one line per request, with its logId) to Triton's log."""

    def __init__(self, logger) -> None:
        super().__init__(logging.INFO)
        self.logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        message = self.format(record)
        if record.levelno >= logging.ERROR:
            self.logger.log_error(message)
        elif record.levelno >= logging.WARNING:
            self.logger.log_warn(message)
        else:
            self.logger.log_info(message)


class TritonPythonModel(PipelineStep):
    def setup(self) -> None:
        parameters = {
            key: value.get("string_value", "")
            for key, value in self.config.get("parameters", {}).items()
        }
        font_path = parameters.pop("font_path", "") or None
        self.settings = ApiSettings.from_parameters(parameters)
        try:
            self.font = find_cjk_font(font_path)
        except FontNotFoundError as error:
            if font_path is not None:
                raise  # a configured font that does not work is a configuration error
            self.logger.log_warn(f"{self.model_name}: {error}: visualize=true requests get 500")
            self.font = None
        api_log = logging.getLogger("seal_api")
        api_log.setLevel(logging.INFO)
        api_log.addHandler(_TritonLogHandler(self.logger))
        api_log.propagate = False

    async def run(self, inputs):
        bodies = inputs[names.HPS_INPUT].reshape(-1)  # [n, 1]: n request bodies (usually 1)
        answers = await asyncio.gather(
            *(
                handle(bytes(body), self.settings, self.infer_pages, font=self.font)
                for body in bodies
            )
        )
        return {names.HPS_OUTPUT: np.array([[dumps(answer)] for answer in answers], dtype=object)}

    async def infer_pages(self, pages: list[Page], options: bytes | None) -> list[dict]:
        """The ensemble's result JSON of every page; all pages are sent before any is awaited."""
        calls = [
            self.infer(names.ENSEMBLE, self._page_inputs(page, options), [names.RESULT_JSON])
            for page in pages
        ]
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        for outcome in outcomes:  # every call has ended: no page is left running on failure
            if isinstance(outcome, StepError):
                raise self._page_failure(outcome)
            if isinstance(outcome, BaseException):
                raise outcome
        return [json.loads(outcome[names.RESULT_JSON][0]) for outcome in outcomes]

    @staticmethod
    def _page_inputs(page: Page, options: bytes | None) -> dict[str, np.ndarray]:
        inputs = {names.IMAGE: np.array([page.data], dtype=object)}
        if options is not None:
            inputs[names.OPTIONS] = np.array([options], dtype=object)
        return inputs

    def _page_failure(self, error: StepError) -> ApiError:
        """422 for a page the ensemble refused, 503 when it is overloaded, else 500."""
        if isinstance(error, StepRefused):
            message = str(error).removeprefix(f"{names.ENSEMBLE}: ")
            return ApiError(422, message.replace(_ENSEMBLE_PREFIX, "", 1))
        self.logger.log_warn(f"{self.model_name}: the ensemble failed a page: {error}")
        if isinstance(error, StepUnavailable):
            return ApiError(503, UNAVAILABLE)
        return ApiError(500, INTERNAL_ERROR)
