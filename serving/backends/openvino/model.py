"""A Python-based Triton backend named ``openvino``: runs ``model.onnx`` with OpenVINO's CPU plugin.

It reads the parameters of Triton's own openvino backend, so a config names its settings the way
the official container expects: ``default_model_filename: "model.onnx"``,
``INFERENCE_NUM_THREADS``, ``NUM_STREAMS``, ``PERFORMANCE_HINT``. One more, which Triton's
backend does not read: ``INFERENCE_PRECISION_HINT`` (default and shipped: f32). OpenVINO's default
on a CPU with native bfloat16 is bf16, and bf16 changes the seals' polygons and texts, so the
model is always compiled with an explicit precision (seal_ocr.engines). Ours too:
``memory_release_interval_ms`` (0 = never): OpenVINO's buffers grown for a large input are given
back every that many milliseconds after real runs. A bad value is refused at load with the
parameter's name. Config checks and dynamic batching: ``seal_triton.entry_backend``.
"""

from pathlib import Path

import numpy as np
import openvino as ov

from seal_ocr.engines import OpenVinoSession, OpenVinoSettings, compile_openvino, describe_openvino
from seal_triton.entry_backend import OnnxEntryModel, PeriodicRelease, release_interval_s


class TritonPythonModel(OnnxEntryModel):
    engine = "openvino"

    def load(self, path: Path, config: dict) -> tuple[list[str], list[str]]:
        settings = OpenVinoSettings.from_parameters(self.parameters)
        self.session = OpenVinoSession(compile_openvino(path, settings))
        # OpenVINO keeps the intermediate buffers of the largest shape it ran (seal_det: 186 ->
        # 1630 MB private after one 6 x 736 x 2208 batch); release_memory() gives them back
        # when no run is in progress, every interval after real runs
        interval_s = release_interval_s(self.parameters, "memory_release_interval_ms")
        self.periodic = PeriodicRelease(interval_s, self.session.compiled.release_memory)
        self.logger.log_info(
            f"{self.model_name}: loaded {path} with openvino {ov.get_version()} "
            f"({describe_openvino(self.session.compiled)})"
        )
        compiled = self.session.compiled
        # a port may carry several tensor names; the config may use any of them
        inputs = [name for port in compiled.inputs for name in port.get_names()]
        outputs = [name for port in compiled.outputs for name in port.get_names()]
        return inputs, outputs

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        with self.periodic.lock:
            self.periodic.mark_used()
            return self.session.run(self.output_names, inputs)

    def finalize(self) -> None:
        self.periodic.stop()
