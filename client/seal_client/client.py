"""The client of the ``seal_recognition`` ensemble: inputs in, one result per page out, in order.

Pages are sent concurrently (``max_in_flight`` requests at once, each from its own worker
thread with its own Triton client, since the HTTP client is not thread-safe) so a long PDF
keeps the server's dynamic batchers fed; results are yielded in input order all the same.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from seal_client import transport
from seal_client.errors import PageError, ServerError
from seal_client.inputs import Page, expand_inputs
from seal_client.result import SealResult
from seal_ocr import tensor_names as names
from seal_ocr.params import parse_options

EXPECTED_INPUTS = {names.IMAGE: "BYTES", names.OPTIONS: "BYTES"}
EXPECTED_OUTPUTS = {names.RESULT_JSON: "BYTES"}


class SealClient:
    """``SealClient("127.0.0.1:8001")`` (gRPC) or ``SealClient("127.0.0.1:8000", "http")``."""

    def __init__(
        self,
        url: str = "127.0.0.1:8001",
        protocol: str = "grpc",
        *,
        max_in_flight: int = 3,
        timeout_s: float = 300.0,
        busy_retry_s: float = 120.0,
    ) -> None:
        triton = transport.triton_module(protocol)
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be >= 1")
        self.url, self.protocol = url, protocol
        self.max_in_flight = max_in_flight
        self.timeout_s = timeout_s
        # a server at its admission cap refuses with UNAVAILABLE ("server busy"): such pages are
        # sent again with exponential back-off for up to this long (0 = never)
        self.busy_retry_s = busy_retry_s
        self._triton = triton
        self._local = threading.local()
        self._checked = False

    # -- connection ---------------------------------------------------------------------------
    def _client(self):
        client = getattr(self._local, "client", None)
        if client is None:
            client = transport.triton_client(self.protocol, self.url, self.timeout_s)
            self._local.client = client
        return client

    def check_server(self) -> None:
        """Check once that the server is up and its ensemble has the expected tensors."""
        if self._checked:
            return
        hint = f"cannot reach Triton at {self.url} — start it with `make serve`"
        try:
            client = self._client()
            if not client.is_server_live():
                raise ServerError(hint)
            metadata = client.get_model_metadata(names.ENSEMBLE)
        except ServerError:
            raise
        except Exception as exc:
            text = str(exc)
            if "unknown model" in text.lower() or "not found" in text.lower():
                raise ServerError(
                    f"Triton at {self.url} does not serve {names.ENSEMBLE!r}"
                ) from None
            raise ServerError(hint) from None
        inputs, outputs = transport.model_io(self.protocol, metadata)
        if inputs != EXPECTED_INPUTS or outputs != EXPECTED_OUTPUTS:
            raise ServerError(
                f"{names.ENSEMBLE!r} at {self.url} has inputs {inputs} and outputs {outputs}; "
                f"this client expects {EXPECTED_INPUTS} -> {EXPECTED_OUTPUTS}"
            )
        self._checked = True

    # -- inference ----------------------------------------------------------------------------
    def infer_page(self, page: Page, options_json: bytes | None = None) -> SealResult:
        """Send one page; raises PageError when the server refuses or fails it.

        Refusals for load (UNAVAILABLE: admission cap, full queue) are retried with jittered
        exponential back-off (0.25 s doubling to 8 s) for up to ``busy_retry_s``.
        """
        deadline = time.monotonic() + self.busy_retry_s
        pause = 0.25
        while True:
            try:
                return self._infer_once(page, options_json)
            except PageError as exc:
                if not transport.is_busy(exc.status) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause * random.uniform(0.5, 1.0))
            pause = min(pause * 2, 8.0)

    def _infer_once(self, page: Page, options_json: bytes | None) -> SealResult:
        triton = self._triton
        inputs = [triton.InferInput(names.IMAGE, [1], "BYTES")]
        inputs[0].set_data_from_numpy(np.array([page.data], dtype=object))
        if options_json is not None:
            inputs.append(triton.InferInput(names.OPTIONS, [1], "BYTES"))
            inputs[1].set_data_from_numpy(np.array([options_json], dtype=object))
        kwargs = transport.infer_kwargs(self.protocol, self.timeout_s)
        try:
            response = self._client().infer(names.ENSEMBLE, inputs, **kwargs)
        except Exception as exc:
            message = exc.message() if hasattr(exc, "message") else str(exc)
            status = exc.status() if hasattr(exc, "status") else None
            raise PageError(
                page,
                message.replace(f"in ensemble '{names.ENSEMBLE}', ", ""),
                None if status is None else str(status),
            ) from None
        result = json.loads(response.as_numpy(names.RESULT_JSON)[0])
        return SealResult.from_server(page, result)

    def predict(
        self,
        input: Any,
        *,
        pages: str | None = None,
        max_pages: int | None = None,
        raise_on_error: bool = True,
        **options: Any,
    ) -> Iterator[SealResult]:
        """Yield one :class:`SealResult` per page, in input order.

        ``input``: image or PDF path, directory, http(s) URL, bytes, BGR numpy array, or a list
        of these. ``pages`` ("1-3,7") and ``max_pages`` apply to PDFs. ``options`` are PaddleX's
        seal_recognition predict options (validated here before anything is sent). With
        ``raise_on_error=False`` a failed page yields a result whose ``error`` is set instead of
        raising :class:`PageError`. Unreadable inputs raise ``InputError`` when reached.
        """
        parse_options(options)
        options_json = json.dumps(options).encode() if options else None
        window: deque[tuple[Page, Future]] = deque()
        with ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="seal-client") as pool:
            try:
                for page in expand_inputs(input, pages=pages, max_pages=max_pages):
                    self.check_server()  # once, after the first input proved readable
                    window.append((page, pool.submit(self.infer_page, page, options_json)))
                    if len(window) >= self.max_in_flight:
                        yield self._collect(*window.popleft(), raise_on_error)
                while window:
                    yield self._collect(*window.popleft(), raise_on_error)
            finally:
                for _, future in window:
                    future.cancel()

    @staticmethod
    def _collect(page: Page, future: Future, raise_on_error: bool) -> SealResult:
        try:
            return future.result()
        except PageError as exc:
            if raise_on_error:
                raise
            return SealResult.failed(page, str(exc))
