"""A stand-in for ``triton_python_backend_utils``, the module a Python-backend stub provides.

Only what our adapters use, with the real module's signatures and behaviour
(``.build/backends/python/triton_python_backend_utils.py`` and the stub's C++ bindings):
:class:`Tensor`, :class:`InferenceRequest` (BLS ``async_exec`` included),
:class:`InferenceResponse`, :class:`TritonError`, :class:`TritonModelException`,
:func:`get_input_tensor_by_name`, :func:`get_output_tensor_by_name` and :class:`Logger`.

Installed as ``sys.modules["triton_python_backend_utils"]`` by the ``pb`` fixture (conftest),
one fresh copy per test. BLS calls go to the handlers a test registers with :func:`serve`; every
call is recorded in :data:`calls` as ``(model name, {input name: array})``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np


class TritonModelException(Exception):
    """Raised by the stub for a bad tensor or request; also what ``initialize`` raises to refuse
    the load."""


class TritonError:
    """An error of one response; the codes are TRITONSERVER_Error_Code's."""

    UNKNOWN = 0
    INTERNAL = 1
    NOT_FOUND = 2
    INVALID_ARG = 3
    UNAVAILABLE = 4
    UNSUPPORTED = 5
    ALREADY_EXISTS = 6
    CANCELLED = 7

    def __init__(self, message: str, code: int = INTERNAL) -> None:
        self._message = message
        self._code = code

    def message(self) -> str:
        return self._message

    def code(self) -> int:
        return self._code


class Tensor:
    """A named array. The real stub refuses arrays that are not C-contiguous, and so do we."""

    def __init__(self, name: str, array: np.ndarray) -> None:
        if not isinstance(array, np.ndarray):
            raise TritonModelException(f"tensor {name}: a numpy array is required")
        if not array.flags.c_contiguous:
            raise TritonModelException(f"tensor {name}: the numpy array is not C-contiguous")
        self._name = name
        self._array = array

    def name(self) -> str:
        return self._name

    def as_numpy(self) -> np.ndarray:
        return self._array


class InferenceResponse:
    def __init__(
        self, output_tensors: Sequence[Tensor] | None = None, error: TritonError | None = None
    ) -> None:
        self._outputs = list(output_tensors or [])
        self._error = error

    def output_tensors(self) -> list[Tensor]:
        return self._outputs

    def has_error(self) -> bool:
        return self._error is not None

    def error(self) -> TritonError | None:
        return self._error


Handler = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray] | InferenceResponse]
handlers: dict[str, Handler] = {}
calls: list[tuple[str, dict[str, np.ndarray]]] = []


def serve(model_name: str, handler: Handler) -> None:
    """Answer BLS calls to ``model_name``: ``handler(inputs)`` returns the outputs by name (only
    the requested ones are sent back) or a whole :class:`InferenceResponse` (e.g. an error)."""
    handlers[model_name] = handler


class InferenceRequest:
    def __init__(
        self,
        model_name: str = "",
        inputs: Sequence[Tensor] = (),
        requested_output_names: Sequence[str] = (),
        **_: object,
    ) -> None:
        self.model_name = model_name
        self._inputs = list(inputs)
        self.requested_output_names = list(requested_output_names)

    def inputs(self) -> list[Tensor]:
        return self._inputs

    def exec(self) -> InferenceResponse:
        arrays = {tensor.name(): tensor.as_numpy() for tensor in self._inputs}
        calls.append((self.model_name, arrays))
        handler = handlers.get(self.model_name)
        if handler is None:
            message = f"Model '{self.model_name}' is not ready."
            return InferenceResponse(error=TritonError(message, TritonError.NOT_FOUND))
        outcome = handler(arrays)
        if isinstance(outcome, InferenceResponse):
            return outcome
        names = self.requested_output_names
        return InferenceResponse([Tensor(n, np.ascontiguousarray(outcome[n])) for n in names])

    async def async_exec(self) -> InferenceResponse:
        await asyncio.sleep(0)  # other calls of the same gather run in between, as in the stub
        return self.exec()


def get_input_tensor_by_name(inference_request: InferenceRequest, name: str) -> Tensor | None:
    for tensor in inference_request.inputs():
        if tensor.name() == name:
            return tensor
    return None


def get_output_tensor_by_name(inference_response: InferenceResponse, name: str) -> Tensor | None:
    for tensor in inference_response.output_tensors():
        if tensor.name() == name:
            return tensor
    return None


class Logger:
    """Records what the model logs: ``Logger.records`` holds ``(level, message)``."""

    records: ClassVar[list[tuple[str, str]]] = []

    @classmethod
    def log_info(cls, message: str) -> None:
        cls.records.append(("info", message))

    @classmethod
    def log_warn(cls, message: str) -> None:
        cls.records.append(("warn", message))

    @classmethod
    def log_error(cls, message: str) -> None:
        cls.records.append(("error", message))

    @classmethod
    def log_verbose(cls, message: str) -> None:
        cls.records.append(("verbose", message))
