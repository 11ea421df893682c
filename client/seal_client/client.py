"""Send one page image to the ensemble and get the result dict back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from seal_ocr import tensor_names as names
from seal_ocr.params import parse_options


class SealClient:
    """``SealClient("127.0.0.1:8001")`` (gRPC) or ``SealClient("127.0.0.1:8000", "http")``."""

    def __init__(self, url: str = "127.0.0.1:8001", protocol: str = "grpc", timeout_s: float = 120):
        if protocol == "grpc":
            import tritonclient.grpc as triton
        elif protocol == "http":
            import tritonclient.http as triton
        else:
            raise ValueError(f"protocol must be 'grpc' or 'http', got {protocol!r}")
        self.protocol = protocol
        self._triton = triton
        self._client = triton.InferenceServerClient(url)
        self.timeout_s = timeout_s

    def predict_bytes(self, image: bytes, **options: Any) -> dict[str, Any]:
        """Result dict (see ``seal_ocr/schemas/result.schema.json``) of one encoded image."""
        parse_options(options)  # fail fast, locally, with the server's own message
        inputs = [self._triton.InferInput(names.IMAGE, [1], "BYTES")]
        inputs[0].set_data_from_numpy(np.array([image], dtype=object))
        if options:
            inputs.append(self._triton.InferInput(names.OPTIONS, [1], "BYTES"))
            inputs[1].set_data_from_numpy(np.array([json.dumps(options).encode()], dtype=object))
        kwargs = {"client_timeout": self.timeout_s} if self.protocol == "grpc" else {}
        response = self._client.infer(names.ENSEMBLE, inputs, **kwargs)
        return json.loads(response.as_numpy(names.RESULT_JSON)[0])

    def predict(self, path: str | Path, **options: Any) -> dict[str, Any]:
        """Result dict of one image file."""
        return self.predict_bytes(Path(path).read_bytes(), **options)
