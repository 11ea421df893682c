"""The two CPU engines of the ONNX entries, opened in one place for the server and in-process.

Both run the same ``<entry>/1/model.onnx`` at FP32 and agree within ~1e-5
(tests/unit/test_engines.py):

- ``onnxruntime``: ONNX Runtime's CPU execution provider (``intra_op`` threads, no inter-op pool);
- ``openvino``: OpenVINO's CPU plugin reading the ONNX file directly (no IR conversion step).

Precision: on a CPU with native bfloat16 (AVX512_BF16, AMX) OpenVINO's default inference
precision is bf16, which moves the seal polygons and texts away from PaddleX's. Every OpenVINO
model is therefore compiled with ``INFERENCE_PRECISION_HINT`` f32 unless the caller names another
precision, and :func:`compile_openvino` checks that the compiled model reports what was asked.

An :class:`EngineSession` is ``run(output_names, feeds) -> [arrays]`` like ONNX Runtime's, so the
Triton backends and :class:`seal_ocr.pipeline.SealRecognizer` call either engine the same way.
The returned arrays are owned by the caller (OpenVINO's output tensors are copied out: the next
run of the same request object overwrites them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

ONNXRUNTIME = "onnxruntime"
OPENVINO = "openvino"
ENGINES = (ONNXRUNTIME, OPENVINO)

# OpenVINO settings, named as the parameters of Triton's own openvino backend (config.pbtxt
# `parameters`), plus INFERENCE_PRECISION_HINT, which that backend does not read
PERFORMANCE_HINTS = ("LATENCY", "THROUGHPUT", "CUMULATIVE_THROUGHPUT")
PRECISIONS = ("f32", "bf16", "f16")
FULL_PRECISION = "f32"


class EngineSession(Protocol):
    def run(self, output_names: Sequence[str], feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Outputs in ``output_names`` order for one (batched) set of inputs."""
        ...


@dataclass(frozen=True)
class OpenVinoSettings:
    """Compile settings of one OpenVINO model on the CPU.

    threads: ``INFERENCE_NUM_THREADS`` (0 = OpenVINO picks, all cores);
    streams: ``NUM_STREAMS`` (parallel infer requests the plugin prepares for);
    hint: ``PERFORMANCE_HINT``;
    precision: ``INFERENCE_PRECISION_HINT`` (f32 keeps PaddleX's results).
    """

    threads: int = 0
    streams: int = 1
    hint: str = "LATENCY"
    precision: str = FULL_PRECISION

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, str]) -> OpenVinoSettings:
        """Settings from config parameters (upper-case keys as Triton's openvino backend reads
        them; missing keys keep the defaults). Raises ValueError naming a bad key and value."""

        def whole(key: str, default: int, minimum: int) -> int:
            text = str(parameters.get(key, "") or default).strip()
            if not text.isdigit() or int(text) < minimum:
                raise ValueError(f"{key} must be a whole number >= {minimum}, not {text!r}")
            return int(text)

        def choice(key: str, default: str, allowed: Sequence[str], fold=str.upper) -> str:
            text = fold(str(parameters.get(key, "") or default).strip())
            if text not in allowed:
                raise ValueError(f"{key} must be one of {', '.join(allowed)}, not {text!r}")
            return text

        return cls(
            threads=whole("INFERENCE_NUM_THREADS", 0, 0),
            streams=whole("NUM_STREAMS", 1, 1),
            hint=choice("PERFORMANCE_HINT", "LATENCY", PERFORMANCE_HINTS),
            precision=choice("INFERENCE_PRECISION_HINT", FULL_PRECISION, PRECISIONS, str.lower),
        )

    def properties(self) -> dict[str, str]:
        """The ``compile_model`` properties (strings, as OpenVINO's Python API takes them)."""
        properties = {
            "PERFORMANCE_HINT": self.hint,
            "NUM_STREAMS": str(self.streams),
            "INFERENCE_PRECISION_HINT": self.precision,
        }
        if self.threads:
            properties["INFERENCE_NUM_THREADS"] = str(self.threads)
        return properties


def compile_openvino(path: Path | str, settings: OpenVinoSettings):
    """An ``openvino.CompiledModel`` of the ONNX file on the CPU with ``settings``.

    Raises RuntimeError when the compiled model does not report the precision asked for (an
    OpenVINO release that ignored the hint would otherwise silently run bf16)."""
    import openvino as ov

    core = ov.Core()
    compiled = core.compile_model(core.read_model(str(path)), "CPU", settings.properties())
    reported = compiled_precision(compiled)
    if reported != settings.precision:
        raise RuntimeError(
            f"OpenVINO compiled {Path(path).name} at {reported}, not {settings.precision}"
        )
    return compiled


def compiled_precision(compiled) -> str:
    """``INFERENCE_PRECISION_HINT`` of a compiled model as a short name (f32, bf16, f16)."""
    return compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()


def describe_openvino(compiled) -> str:
    """One log line of the settings a compiled model actually runs with."""
    keys = ("INFERENCE_PRECISION_HINT", "INFERENCE_NUM_THREADS", "NUM_STREAMS", "PERFORMANCE_HINT")
    values = []
    for key in keys:
        value = compiled.get_property(key)
        values.append(f"{key}={compiled_precision(compiled) if key == keys[0] else value}")
    return " ".join(values)


class OpenVinoSession:
    """:class:`EngineSession` over one compiled model and one infer request (one caller at a
    time: a Triton model instance or the in-process pipeline)."""

    def __init__(self, compiled) -> None:
        self.compiled = compiled
        self.request = compiled.create_infer_request()
        self.input_names = [port.get_any_name() for port in compiled.inputs]
        self.output_names = [port.get_any_name() for port in compiled.outputs]

    def run(self, output_names: Sequence[str], feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        # inputs are shared, not copied into tensors of the request: a copy would also keep a
        # buffer of the largest input ever seen (seal_det: +117 MB after one 6 x 736 x 2208
        # batch, not given back by release_memory)
        inputs = {name: np.ascontiguousarray(a) for name, a in feeds.items()}
        self.request.infer(inputs, share_inputs=True)
        return [self.request.get_tensor(name).data.copy() for name in output_names]


class OnnxRuntimeSession:
    """:class:`EngineSession` over an ``onnxruntime.InferenceSession`` (which is thread-safe)."""

    def __init__(self, session, run_options=None) -> None:
        self.session = session
        self.run_options = run_options
        self.input_names = [item.name for item in session.get_inputs()]
        self.output_names = [item.name for item in session.get_outputs()]

    def run(self, output_names: Sequence[str], feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        return self.session.run(list(output_names), dict(feeds), self.run_options)


def open_session(path: Path | str, engine: str, threads: int = 1) -> EngineSession:
    """A session of one ONNX file for in-process use: ``threads`` intra-op threads, FP32."""
    if engine == OPENVINO:
        return OpenVinoSession(compile_openvino(path, OpenVinoSettings(threads=threads)))
    if engine == ONNXRUNTIME:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return OnnxRuntimeSession(session)
    raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
