"""The two CPU engines of the ONNX entries, opened in one place for the server and in-process.

Both run the same ``<entry>/1/model.onnx`` at FP32 and agree within ~1e-5
(tests/unit/test_engines.py):

- ``onnxruntime``: ONNX Runtime's CPU execution provider (``intra_op`` threads, no inter-op pool);
- ``openvino``: OpenVINO's CPU plugin reading the ONNX file directly (no IR conversion step).

Precision: on a CPU with native bfloat16 (AVX512_BF16, AMX) OpenVINO's default inference
precision is bf16, which moves the seal polygons and texts away from PaddleX's. Every OpenVINO
model is therefore compiled with ``INFERENCE_PRECISION_HINT`` f32 unless the caller names another
precision, and :func:`compile_openvino` checks that the compiled model reports what was asked.

Exactness: FP32 on two engines is not bit-equal (different kernels; ~4e-6 on a text line of width
320, ~1e-3 on one of width 3150), so where the top two probabilities of a CTC step are that close
the two engines can pick different characters (1 line in 2520 of ``make parity``). A
:class:`TieGuardedSession` runs OpenVINO and re-runs on ONNX Runtime, the engine PaddleX runs,
exactly the items that have such a near-tie: their argmax decisions are then PaddleX's.

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

from seal_ocr import tensor_names as names

ONNXRUNTIME = "onnxruntime"
OPENVINO = "openvino"
ENGINES = (ONNXRUNTIME, OPENVINO)

# The engine of each ONNX entry in a profile; the CPU configs follow this table
# (configs/cpu.pbtxt: "openvino", configs/cpu_onnxruntime.pbtxt: "onnxruntime"; test_configs).
# Layout stays on ONNX Runtime in the OpenVINO profile: OpenVINO moved a box coordinate across an
# integer and so one seal crop by a pixel (1 page in 260 of `make parity`), for ~20 ms a page.
# The text-line orientation classifier is tiny (a few ms for 32 lines): ONNX Runtime in both.
PROFILES = {
    ONNXRUNTIME: dict.fromkeys(
        (
            names.LAYOUT_MODEL,
            names.SEAL_DET_MODEL,
            names.TEXT_REC_MODEL,
            names.TEXTLINE_ORI_MODEL,
            names.DOC_ORI_MODEL,
            names.UVDOC_MODEL,
        ),
        ONNXRUNTIME,
    ),
    OPENVINO: {
        names.LAYOUT_MODEL: ONNXRUNTIME,
        names.SEAL_DET_MODEL: OPENVINO,
        names.TEXT_REC_MODEL: OPENVINO,  # near-ties re-run on ONNX Runtime (TieGuardedSession)
        names.TEXTLINE_ORI_MODEL: ONNXRUNTIME,
        names.DOC_ORI_MODEL: ONNXRUNTIME,  # one page per request, a small classifier
        # OpenVINO's default precision hint moved UVDoc's grid_sample by whole pixels
        names.UVDOC_MODEL: ONNXRUNTIME,
    },
}

# OpenVINO settings, named as the parameters of Triton's own openvino backend (config.pbtxt
# `parameters`), plus INFERENCE_PRECISION_HINT, which that backend does not read
PERFORMANCE_HINTS = ("LATENCY", "THROUGHPUT", "CUMULATIVE_THROUGHPUT")
PRECISIONS = ("f32", "bf16", "f16")
FULL_PRECISION = "f32"
# items of a softmax output whose top two values are closer than this on any row are re-run on
# ONNX Runtime (TieGuardedSession): 4x the largest OpenVINO - ORT difference seen on a text line
# (1.0e-3 at width 3150), so a decision that can differ between the engines is always re-run
DEFAULT_TIE_MARGIN = 4e-3


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


def near_ties(probs: np.ndarray, margin: float) -> np.ndarray:
    """(N,) bool: items of ``probs`` (N, ..., C) with a row (last axis) whose two largest values
    are closer than ``margin`` (an argmax another FP32 engine could decide differently)."""
    winners = probs.argmax(axis=-1)[..., None]
    first = np.take_along_axis(probs, winners, axis=-1)
    rest = probs.copy()
    np.put_along_axis(rest, winners, -np.inf, axis=-1)
    gaps = first[..., 0] - rest.max(axis=-1)
    return (gaps < margin).reshape(len(probs), -1).any(axis=1)


class TieGuardedSession:
    """:class:`EngineSession` that runs ``fast`` and re-runs on ``reference`` the items whose
    ``guarded_output`` (a softmax, ``near_ties``) has a near-tie; their outputs are then the
    reference's. ``reruns`` counts the items re-run."""

    def __init__(
        self,
        fast: EngineSession,
        reference: EngineSession,
        guarded_output: str,
        margin: float = DEFAULT_TIE_MARGIN,
    ) -> None:
        self.fast, self.reference = fast, reference
        self.guarded_output, self.margin = guarded_output, margin
        self.reruns = 0

    def run(self, output_names: Sequence[str], feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        outputs = self.fast.run(output_names, feeds)
        if self.guarded_output not in output_names:
            return outputs
        flagged = np.flatnonzero(
            near_ties(outputs[list(output_names).index(self.guarded_output)], self.margin)
        )
        if len(flagged):
            again = self.reference.run(output_names, {k: v[flagged] for k, v in feeds.items()})
            for output, exact in zip(outputs, again, strict=True):
                output[flagged] = exact
            self.reruns += len(flagged)
        return outputs


def open_session(
    path: Path | str, engine: str, threads: int = 1, memory_arena: bool = True
) -> EngineSession:
    """A session of one ONNX file for in-process use: ``threads`` intra-op threads, FP32.

    ``memory_arena`` False: ONNX Runtime allocates from malloc instead of its arena, which keeps
    the largest block it ever grew (for a rarely used session, such as a tie guard's reference)."""
    if engine == OPENVINO:
        return OpenVinoSession(compile_openvino(path, OpenVinoSettings(threads=threads)))
    if engine == ONNXRUNTIME:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = memory_arena
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return OnnxRuntimeSession(session)
    raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
