"""A Python-based Triton backend named ``onnxruntime``: runs ``model.onnx`` with the pip package.

The ``nvidia-pytriton`` wheel has no ONNX Runtime backend. Triton resolves a backend name to a
Python-based backend when ``<backend-dir>/<name>/model.py`` exists, so the same
``backend: "onnxruntime"`` configs serve here on CPU and with the real backend in the GPU
container. Configs must list inputs and outputs (no auto-complete).

Batching: with ``max_batch_size > 0`` the dynamic batcher hands several requests to one
``execute``; their inputs are concatenated on axis 0, run once, and the outputs split back by
each request's batch size. An output whose first axis is not the batch (the PaddleDetection
``bbox`` [K, 6] rows with per-image counts in ``bbox_num``) is declared ragged with the config
parameter ``ragged_outputs`` = ``"bbox:bbox_num"`` and split by those counts.
"""

import json
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


def _parameter(config: dict, key: str, default: str = "") -> str:
    value = config.get("parameters", {}).get(key, {}).get("string_value", "")
    return default if value == "" or value.startswith("${") else value


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        config = json.loads(args["model_config"])
        self.logger = pb_utils.Logger
        self.model_name = args["model_name"]
        self.max_batch_size = int(config.get("max_batch_size", 0))
        filename = config.get("default_model_filename") or "model.onnx"
        path = Path(args["model_repository"]) / args["model_version"] / filename
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(_parameter(config, "intra_op_thread_count", "1"))
        options.inter_op_num_threads = int(_parameter(config, "inter_op_thread_count", "1"))
        # ORT's CPU arena keeps every block it ever grew to and grows further as batch shapes
        # vary (layout's RSS rose 42 % in a 2-minute soak after warm-up); without it, tensors
        # come from malloc and large ones go back to the system when freed, at some cost in
        # speed for models with large tensors (docs/robustness.md, soak).
        options.enable_cpu_mem_arena = _parameter(config, "enable_cpu_mem_arena", "1") != "0"
        # with the arena on, give back the chunks the runs grew, after each run or from the
        # release thread (inputs whose shape varies, like seal_det's crops, otherwise ratchet
        # the arena up over hours)
        self.shrink_options = ort.RunOptions()
        if _parameter(config, "arena_shrinkage", "0") == "1" and options.enable_cpu_mem_arena:
            self.shrink_options.add_run_config_entry(
                "memory.enable_memory_arena_shrinkage", "cpu:0"
            )
        self.session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.input_names = [item["name"] for item in config["input"]]
        self.output_names = [item["name"] for item in config["output"]]
        model_inputs = {item.name for item in self.session.get_inputs()}
        model_outputs = {item.name for item in self.session.get_outputs()}
        missing = sorted(set(self.input_names) - model_inputs) + sorted(
            set(self.output_names) - model_outputs
        )
        if missing:
            raise pb_utils.TritonModelException(
                f"{self.model_name}: config names {missing} are not in {path.name} "
                f"(inputs {sorted(model_inputs)}, outputs {sorted(model_outputs)})"
            )
        ragged = _parameter(config, "ragged_outputs")
        self.ragged = dict(pair.split(":") for pair in ragged.split(",")) if ragged else {}
        self.release_input = self._release_input(config)
        interval = _parameter(config, "arena_release_interval_ms", "0")
        if not interval.isdigit():
            raise pb_utils.TritonModelException(
                f"{self.model_name}: arena_release_interval_ms must be whole milliseconds >= 0, "
                f"not {interval!r}"
            )
        self.release_interval_s = int(interval) / 1000
        periodic = self.release_input is not None and self.release_interval_s > 0
        # runs shrink the arena themselves unless the release thread does it for them
        self.run_options = ort.RunOptions() if periodic else self.shrink_options
        self.released = True
        self.stopping = threading.Event()
        if periodic:
            threading.Thread(target=self._release_periodically, daemon=True).start()
        self.logger.log_info(
            f"{self.model_name}: loaded {path} ({options.intra_op_num_threads} thr, "
            f"cpu arena {'on' if options.enable_cpu_mem_arena else 'off'})"
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
        shape = _parameter(config, "arena_release_shape")
        if not shape:
            return None
        inputs = config["input"]
        if _parameter(config, "arena_shrinkage", "0") != "1" or len(inputs) != 1:
            raise pb_utils.TritonModelException(
                f"{self.model_name}: arena_release_shape needs arena_shrinkage and one input"
            )
        if inputs[0]["data_type"] != "TYPE_FP32":
            raise pb_utils.TritonModelException(f"{self.model_name}: release input must be FP32")
        dims = [int(d) for d in shape.split(",")]
        return {self.input_names[0]: np.zeros(dims, dtype=np.float32)}

    def _run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        outputs = self.session.run(self.output_names, inputs, self.run_options)
        if self.release_input is None:
            return outputs
        if self.release_interval_s > 0:
            self.released = False  # _release_periodically frees what this run grew
            return outputs
        # the outputs are views of arena memory: copy them out before the release run
        outputs = [np.array(output, copy=True) for output in outputs]
        self.session.run(self.output_names, self.release_input, self.shrink_options)
        return outputs

    def _release_periodically(self) -> None:
        """``arena_release_interval_ms``: the release run at most once per interval, and only
        after real runs. Releasing after every run made each run regrow the arena from fresh
        pages, which cost ~10-20 % of the ensemble's throughput (perf/README.md); released every
        interval, the arena stays grown under load and goes back within an interval of idling.
        ORT runs are thread-safe, and a region a concurrent run is using is not freed."""
        while not self.stopping.wait(self.release_interval_s):
            if not self.released:
                self.released = True
                self.session.run(self.output_names, self.release_input, self.shrink_options)

    def finalize(self) -> None:
        self.stopping.set()

    def execute(self, requests):
        if self.max_batch_size > 0 and len(requests) > 1:
            try:
                return self._execute_batched(requests)
            except Exception as exc:  # shapes that cannot be stacked: fall back to one by one
                self.logger.log_warn(f"{self.model_name}: batched run failed ({exc}); per request")
        return [self._execute_one(request) for request in requests]

    def _inputs(self, request) -> dict[str, np.ndarray]:
        return {
            name: pb_utils.get_input_tensor_by_name(request, name).as_numpy()
            for name in self.input_names
        }

    def _respond(self, outputs: dict[str, np.ndarray]):
        tensors = [pb_utils.Tensor(name, np.ascontiguousarray(outputs[name])) for name in outputs]
        return pb_utils.InferenceResponse(output_tensors=tensors)

    def _execute_one(self, request):
        try:
            results = self._run(self._inputs(request))
            return self._respond(dict(zip(self.output_names, results, strict=True)))
        except Exception as exc:
            return pb_utils.InferenceResponse(
                error=pb_utils.TritonError(
                    f"{self.model_name}: {exc}", pb_utils.TritonError.INTERNAL
                )
            )

    def _execute_batched(self, requests):
        per_request = [self._inputs(request) for request in requests]
        sizes = [len(inputs[self.input_names[0]]) for inputs in per_request]
        stacked = {
            name: np.concatenate([inputs[name] for inputs in per_request])
            for name in self.input_names
        }
        outputs = self._run(stacked)
        results = dict(zip(self.output_names, outputs, strict=True))
        splits = {name: np.cumsum(sizes)[:-1] for name in self.output_names}
        for output, count_name in self.ragged.items():
            # rows of a ragged output belong to images in order; sum them per request
            image_counts = results[count_name].astype(np.int64)
            request_rows = np.add.reduceat(image_counts, np.r_[0, np.cumsum(sizes)[:-1]])
            splits[output] = np.cumsum(request_rows)[:-1]
        return [
            self._respond({name: np.split(results[name], splits[name])[index] for name in results})
            for index in range(len(requests))
        ]
