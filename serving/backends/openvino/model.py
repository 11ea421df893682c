"""A Python-based Triton backend named ``openvino``: runs ``model.onnx`` with OpenVINO's CPU plugin.

It reads the parameters of Triton's own openvino backend, so a config names its settings the way
the official container expects: ``default_model_filename: "model.onnx"``,
``INFERENCE_NUM_THREADS``, ``NUM_STREAMS``, ``PERFORMANCE_HINT``. One more, which Triton's
backend does not read: ``INFERENCE_PRECISION_HINT`` (default and shipped: f32). OpenVINO's default
on a CPU with native bfloat16 is bf16, and bf16 changes the seals' polygons and texts, so the
model is always compiled with an explicit precision (seal_ocr.engines). Ours too:
``memory_release_interval_ms`` (0 = never): OpenVINO's buffers grown for a large input are given
back every that many milliseconds after real runs; ``reference_tie_output`` (a softmax output)
and ``reference_tie_margin``: items whose top two values on a row of that output are closer than
the margin are run again on ONNX Runtime (``seal_ocr.engines.TieGuardedSession``). A bad value
is refused at load with the parameter's name. Config checks and dynamic batching:
``seal_triton.entry_backend``.
"""

import math
from pathlib import Path

import numpy as np
import openvino as ov

from seal_ocr import engines
from seal_ocr.engines import OpenVinoSession, OpenVinoSettings, compile_openvino, describe_openvino
from seal_triton.entry_backend import OnnxEntryModel, PeriodicRelease, release_interval_s


def _number(text: str) -> float:
    """``text`` as a float; NaN (refused by any range check) when it is not a number."""
    try:
        return float(text)
    except ValueError:
        return math.nan


class TritonPythonModel(OnnxEntryModel):
    engine = "openvino"

    def load(self, path: Path, config: dict) -> tuple[list[str], list[str]]:
        # every parameter is checked before anything is compiled or started
        settings = OpenVinoSettings.from_parameters(self.parameters)
        # OpenVINO keeps the intermediate buffers of the largest shape it ran (seal_det: 186 ->
        # 1630 MB private after one 6 x 736 x 2208 batch); release_memory() gives them back
        # when no run is in progress, every interval after real runs
        interval_s = release_interval_s(self.parameters, "memory_release_interval_ms")
        guarded = self.parameters.get("reference_tie_output", "")
        margin = self._tie_margin(guarded) if guarded else 0.0
        self.session = OpenVinoSession(compile_openvino(path, settings))
        self.periodic = PeriodicRelease(interval_s, self.session.compiled.release_memory)
        self.runner: engines.EngineSession = self.session
        if guarded:
            # items with a near-tie in this softmax output are re-run on ONNX Runtime, the
            # engine PaddleX runs, so their argmax decisions are PaddleX's (seal_ocr.engines);
            # re-runs are rare (~5 % of lines): no ORT arena to keep their largest block
            threads = max(settings.threads, 1)
            reference = engines.open_session(path, engines.ONNXRUNTIME, threads, memory_arena=False)
            self.runner = engines.TieGuardedSession(self.session, reference, guarded, margin)
        guard = f"; near-ties in {guarded} (< {margin:g}) re-run on onnxruntime" if guarded else ""
        self.logger.log_info(
            f"{self.model_name}: loaded {path} with openvino {ov.get_version()} "
            f"({describe_openvino(self.session.compiled)}{guard})"
        )
        compiled = self.session.compiled
        # a port may carry several tensor names; the config may use any of them
        inputs = [name for port in compiled.inputs for name in port.get_names()]
        outputs = [name for port in compiled.outputs for name in port.get_names()]
        return inputs, outputs

    def _tie_margin(self, guarded: str) -> float:
        """``reference_tie_margin`` for the ``reference_tie_output`` ``guarded``; ValueError
        naming the parameter when either is bad."""
        if guarded not in self.output_names:
            raise ValueError(f"reference_tie_output {guarded!r} is not an output of the config")
        text = self.parameters.get("reference_tie_margin", str(engines.DEFAULT_TIE_MARGIN))
        margin = _number(text)
        if not 0 < margin < 1:
            raise ValueError(f"reference_tie_margin must be in (0, 1), not {text!r}")
        return margin

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        with self.periodic.lock:
            self.periodic.mark_used()
            return self.runner.run(self.output_names, inputs)

    def finalize(self) -> None:
        self.periodic.stop()
