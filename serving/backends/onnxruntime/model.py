"""A Python-based Triton backend named ``onnxruntime``: runs ``model.onnx`` with the pip package.

Config, name checks and dynamic batching are shared with the ``openvino`` backend
(``seal_triton.entry_backend``); this file opens the ONNX Runtime session and manages its CPU
memory arena. Parameters: ``intra_op_thread_count`` / ``inter_op_thread_count`` (the keys of
Triton's own ONNX Runtime backend), and ours: ``enable_cpu_mem_arena``, ``arena_shrinkage``,
``arena_release_shape``, ``arena_release_interval_ms`` (below). A bad value is refused at load
with the parameter's name.
"""

from pathlib import Path

import numpy as np
import onnxruntime as ort

from seal_triton.entry_backend import (
    OnnxEntryModel,
    PeriodicRelease,
    flag,
    release_interval_s,
    whole_number,
)


class TritonPythonModel(OnnxEntryModel):
    engine = "onnxruntime"

    def load(self, path: Path, config: dict) -> tuple[list[str], list[str]]:
        options = ort.SessionOptions()
        # 0 threads: ONNX Runtime's default (one per core)
        options.intra_op_num_threads = whole_number(self.parameters, "intra_op_thread_count", 1)
        options.inter_op_num_threads = whole_number(self.parameters, "inter_op_thread_count", 1)
        # ORT's CPU arena keeps every block it ever grew to and grows further as batch shapes
        # vary (layout's RSS rose 42 % in a 2-minute soak after warm-up); without it, tensors
        # come from malloc and large ones go back to the system when freed, at some cost in
        # speed for models with large tensors (docs/robustness.md, soak).
        options.enable_cpu_mem_arena = flag(self.parameters, "enable_cpu_mem_arena", True)
        # with the arena on, give back the chunks the runs grew, after each run or from the
        # release thread (inputs whose shape varies, like seal_det's crops, otherwise ratchet
        # the arena up over hours)
        self.shrink_options = ort.RunOptions()
        self.arena_shrinkage = flag(self.parameters, "arena_shrinkage", False)
        if self.arena_shrinkage and options.enable_cpu_mem_arena:
            self.shrink_options.add_run_config_entry(
                "memory.enable_memory_arena_shrinkage", "cpu:0"
            )
        self.session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.release_input = self._release_input(config)
        interval_s = release_interval_s(self.parameters, "arena_release_interval_ms")
        periodic = self.release_input is not None and interval_s > 0
        # runs shrink the arena themselves unless the release thread does it for them (ORT
        # runs are thread-safe, and a region a concurrent run is using is not freed)
        self.run_options = ort.RunOptions() if periodic else self.shrink_options
        self.periodic = PeriodicRelease(interval_s if periodic else 0, self._release_arena)
        self.logger.log_info(
            f"{self.model_name}: loaded {path} with onnxruntime {ort.__version__} "
            f"({options.intra_op_num_threads} thr, "
            f"cpu arena {'on' if options.enable_cpu_mem_arena else 'off'})"
        )
        return (
            [item.name for item in self.session.get_inputs()],
            [item.name for item in self.session.get_outputs()],
        )

    def _release_input(self, config: dict) -> dict[str, np.ndarray] | None:
        """A tiny input (``arena_release_shape``, e.g. "1,3,32,32") run with shrinkage after
        every real run, or every ``arena_release_interval_ms`` (``_release_periodically``).

        Shrinkage frees only the arena regions entirely free at the end of a run, and the run's
        own outputs are still alive then: after one large batch, the region holding its outputs
        stays (later outputs land in it too), so RSS ratchets up to the largest batch ever seen
        (seal_det +66 % in a 30-minute soak). Copying the outputs out and running this input
        frees that region; it costs ~1-3 ms (docs/robustness.md, soak).
        """
        shape = self.parameters.get("arena_release_shape", "")
        if not shape:
            return None
        inputs = config["input"]
        if not self.arena_shrinkage or len(inputs) != 1:
            raise ValueError("arena_release_shape needs arena_shrinkage and one input")
        if inputs[0]["data_type"] != "TYPE_FP32":
            raise ValueError("arena_release_shape: the arena release input must be FP32")
        dims = shape.split(",")
        if not all(d.strip().isdigit() and int(d) > 0 for d in dims):
            raise ValueError(f"arena_release_shape must be sizes > 0 like 1,3,32,32, not {shape!r}")
        return {self.input_names[0]: np.zeros([int(d) for d in dims], dtype=np.float32)}

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        outputs = self.session.run(self.output_names, inputs, self.run_options)
        if self.release_input is None:
            return outputs
        if self.periodic.interval_s > 0:
            self.periodic.mark_used()  # the release thread frees what this run grew
            return outputs
        # the outputs are views of arena memory: copy them out before the release run
        outputs = [np.array(output, copy=True) for output in outputs]
        self.session.run(self.output_names, self.release_input, self.shrink_options)
        return outputs

    def _release_arena(self) -> None:
        self.session.run(self.output_names, self.release_input, self.shrink_options)

    def finalize(self) -> None:
        self.periodic.stop()
