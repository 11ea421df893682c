"""Shared shape of the Python-backend steps: request loop, per-request errors, chunked BLS.

A step's ``model.py`` subclasses :class:`PipelineStep` and implements ``setup`` (read its
config) and ``run`` (one request -> output arrays). Errors stay with their request:
``InvalidInputError`` from ``seal_ocr`` becomes ``INVALID_ARG``; a request refused for load
(admission control, or a model call refused by a full queue or a queue timeout) is
``UNAVAILABLE``, so clients can tell "retry later" from a bug; anything else is ``INTERNAL``.
Admission leases live here too: the first step (``admits``) takes the request's lease before
``run``, waiting up to ``admission_wait_s`` for one, and adds it to its outputs as
``ADMISSION_TICKET``; the step that fails a request gives
it back, and the last step (``final_step``) gives it back on success.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from seal_ocr import tensor_names as names
from seal_ocr.errors import InvalidInputError
from seal_ocr.packing import plan_batches
from seal_triton.admission import AdmissionGate, ServerBusyError, default_state_path


def _pb():
    import triton_python_backend_utils as pb_utils

    return pb_utils


class StepError(Exception):
    """A failure of a step's own model call (BLS); reported as INTERNAL with its message."""


class StepUnavailable(StepError):
    """A model call refused for load (``UNAVAILABLE``); reported as ``UNAVAILABLE``."""


class StepRefused(StepError):
    """A model call refused as invalid (``INVALID_ARG``); still INTERNAL for a pipeline step
    (its own inputs were checked), but a caller of whole pages can blame the page."""


class PipelineStep:
    """Base class of the ``TritonPythonModel`` of each Python step."""

    admits = False  # the first step of the ensemble takes the admission lease (self.gate)
    admission_wait_s = 0.0  # how long that step waits for a free lease before refusing
    final_step = False  # the last step of the ensemble releases the admission lease on success

    def initialize(self, args: dict[str, Any]) -> None:
        self.pb = _pb()
        self.logger = self.pb.Logger
        self.model_name = args["model_name"]
        self.config = json.loads(args["model_config"])
        # the repository root: assets of other entries are configured relative to it
        self.repository_root = Path(args["model_repository"]).parent
        self.gate = AdmissionGate(default_state_path())
        self.setup()

    def parameter(self, key: str, default: str | None = None) -> str:
        value = self.config.get("parameters", {}).get(key, {}).get("string_value", "")
        if value == "" or value.startswith("${"):
            if default is None:
                raise self.pb.TritonModelException(f"{self.model_name}: parameter {key} not set")
            return default
        return value

    def setup(self) -> None:
        """Read parameters and assets; override."""

    async def run(self, inputs: dict[str, np.ndarray | None]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _inputs(self, request) -> dict[str, np.ndarray | None]:
        arrays = {}
        for spec in self.config["input"]:
            tensor = self.pb.get_input_tensor_by_name(request, spec["name"])
            arrays[spec["name"]] = None if tensor is None else tensor.as_numpy()
        return arrays

    @staticmethod
    def ticket_of(inputs: dict[str, np.ndarray | None]) -> str:
        """The request's admission lease ("" when none was sent; Triton checked its shape)."""
        ticket = inputs.get(names.ADMISSION_TICKET)
        return "" if ticket is None else ticket.reshape(-1)[0].decode()

    async def _one(self, request):
        pb = self.pb
        inputs = self._inputs(request)
        ticket = self.ticket_of(inputs)
        if self.admits:  # refuse overload before spending anything on the request
            try:
                ticket = await self.gate.acquire(self.admission_wait_s)
            except ServerBusyError as exc:
                return pb.InferenceResponse(
                    error=pb.TritonError(str(exc), pb.TritonError.UNAVAILABLE)
                )
        response = await self._respond(inputs, ticket if self.admits else None)
        if response.has_error() or self.final_step:
            self.gate.release(ticket)
        return response

    async def _respond(self, inputs: dict[str, np.ndarray | None], new_ticket: str | None):
        pb = self.pb
        started = time.perf_counter()
        try:
            outputs = await self.run(inputs)
            if new_ticket is not None:
                outputs[names.ADMISSION_TICKET] = np.array([new_ticket.encode()], dtype=object)
            tensors = [pb.Tensor(name, np.ascontiguousarray(a)) for name, a in outputs.items()]
            return pb.InferenceResponse(output_tensors=tensors)
        except InvalidInputError as exc:
            self.logger.log_info(f"{self.model_name}: rejected request: {exc}")
            return pb.InferenceResponse(error=pb.TritonError(str(exc), pb.TritonError.INVALID_ARG))
        except StepUnavailable as exc:
            self.logger.log_warn(f"{self.model_name}: refused for load: {exc}")
            message = f"{self.model_name}: {exc}"
            return pb.InferenceResponse(error=pb.TritonError(message, pb.TritonError.UNAVAILABLE))
        except Exception as exc:
            elapsed = time.perf_counter() - started
            self.logger.log_error(f"{self.model_name}: failed after {elapsed:.3f} s: {exc!r}")
            message = f"{self.model_name}: {type(exc).__name__}: {exc}"
            return pb.InferenceResponse(error=pb.TritonError(message, pb.TritonError.INTERNAL))

    async def execute(self, requests):
        return list(await asyncio.gather(*(self._one(request) for request in requests)))

    async def infer(
        self, model: str, inputs: dict[str, np.ndarray], outputs: list[str]
    ) -> dict[str, np.ndarray]:
        """One BLS call; inputs already carry their batch axis."""
        pb = self.pb
        request = pb.InferenceRequest(
            model_name=model,
            requested_output_names=outputs,
            inputs=[pb.Tensor(name, np.ascontiguousarray(a)) for name, a in inputs.items()],
        )
        response = await request.async_exec()
        if response.has_error():
            error = response.error()
            kinds = {
                pb.TritonError.UNAVAILABLE: StepUnavailable,
                pb.TritonError.INVALID_ARG: StepRefused,
            }
            raise kinds.get(error.code(), StepError)(f"{model}: {error.message()}")
        return {name: pb.get_output_tensor_by_name(response, name).as_numpy() for name in outputs}

    async def infer_items(
        self,
        model: str,
        input_name: str,
        output_name: str,
        items: list[np.ndarray],
        max_batch: int,
        spread: int = 1,
    ) -> list[np.ndarray]:
        """Run ``model`` on independent items (each without batch axis); one output per item.

        Items of equal shape are stacked into chunks of at most ``max_batch`` (the model's
        max_batch_size: Triton rejects larger requests), each shape's items over at least
        ``spread`` chunks (the model's instances: ``plan_batches``), all chunks in flight together;
        the dynamic batcher may merge them with other requests' chunks. No items, no call.
        """
        plan = plan_batches([item.shape for item in items], max_batch, spread)

        def batch(group: list[int]) -> np.ndarray:
            # a group of one is a view with a batch axis, not a copy (det inputs are large)
            return items[group[0]][None] if len(group) == 1 else np.stack([items[i] for i in group])

        calls = [self.infer(model, {input_name: batch(group)}, [output_name]) for group in plan]
        results: dict[int, np.ndarray] = {}
        for group, output in zip(plan, await asyncio.gather(*calls), strict=True):
            for row, index in enumerate(group):
                results[index] = output[output_name][row]
        return [results[index] for index in range(len(items))]  # the plan covers every item
