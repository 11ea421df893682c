"""What the Python-based ONNX backends (``onnxruntime``, ``openvino``) share: one ``model.onnx``
per entry, the config's inputs and outputs checked against it, and dynamic batching.

The ``nvidia-pytriton`` wheel ships no ONNX Runtime or OpenVINO backend. Triton resolves a
backend name to a Python-based backend when ``<backend-dir>/<name>/model.py`` exists, so configs
written for Triton's own backends (``backend: "onnxruntime"`` / ``backend: "openvino"``,
``default_model_filename``, explicit inputs and outputs) serve here unchanged.

Batching: with ``max_batch_size > 0`` the dynamic batcher hands several requests to one
``execute``; their inputs are concatenated on axis 0, run once, and every output is split back
on axis 0 by each request's batch size, as Triton's own backends do: every output of a batching
entry has one fixed-shape item per image (the layout export pads its rows, issue 21).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np


def config_parameters(config: Mapping[str, Any]) -> dict[str, str]:
    """The config's ``parameters`` as plain strings; unset ``${...}`` placeholders are dropped."""
    values = {}
    for key, entry in config.get("parameters", {}).items():
        value = entry.get("string_value", "")
        if value and not value.startswith("${"):
            values[key] = value
    return values


def split_batch(results: Mapping[str, np.ndarray], sizes: list[int]) -> list[dict[str, np.ndarray]]:
    """Outputs of one run over stacked requests -> one dict per request, split on axis 0.

    ``sizes``: batch size of each request, in stacking order."""
    offsets = np.cumsum(sizes)[:-1]
    parts = {name: np.split(array, offsets) for name, array in results.items()}
    return [{name: parts[name][index] for name in results} for index in range(len(sizes))]


def whole_number(parameters: Mapping[str, str], key: str, default: int, minimum: int = 0) -> int:
    """``parameters[key]`` as a whole number >= ``minimum`` (``default`` when unset).

    Raises ValueError naming the key and the value, so a bad config fails the model's load."""
    text = parameters.get(key, str(default)).strip()
    if not (text.isascii() and text.isdigit()) or int(text) < minimum:
        raise ValueError(f"{key} must be a whole number >= {minimum}, not {text!r}")
    return int(text)


def flag(parameters: Mapping[str, str], key: str, default: bool) -> bool:
    """``parameters[key]`` "1" or "0" as a bool (``default`` when unset); ValueError naming it."""
    text = parameters.get(key, "1" if default else "0").strip()
    if text not in ("0", "1"):
        raise ValueError(f"{key} must be 0 or 1, not {text!r}")
    return text == "1"


def release_interval_s(parameters: Mapping[str, str], key: str) -> float:
    """``parameters[key]`` whole milliseconds -> seconds (0 when unset); ValueError naming it."""
    return whole_number(parameters, key, 0) / 1000


class PeriodicRelease:
    """Gives an engine's grown memory back once per interval, and only after real runs.

    Releasing after every run makes each run regrow its buffers from fresh pages, which cost
    ~10-20 % of the ensemble's throughput (perf/README.md); released every interval, memory
    stays grown under load and goes back within an interval of idling. ``release`` runs in a
    thread of its own, under ``lock``, which the model's runs hold too (engines whose release
    must not overlap a run; for ONNX Runtime the lock is simply uncontended)."""

    def __init__(self, interval_s: float, release: Callable[[], None]) -> None:
        self.interval_s = interval_s
        self.release = release
        self.lock = threading.Lock()
        self.used = False
        self.stopping = threading.Event()
        if interval_s > 0:
            threading.Thread(target=self._loop, daemon=True).start()

    def mark_used(self) -> None:
        self.used = True

    def _loop(self) -> None:
        while not self.stopping.wait(self.interval_s):
            if self.used:
                with self.lock:
                    self.used = False
                    self.release()

    def stop(self) -> None:
        self.stopping.set()


class OnnxEntryModel:
    """Base ``TritonPythonModel`` of an engine backend; subclasses give ``load`` and ``run``."""

    engine = ""

    def initialize(self, args: dict) -> None:
        import triton_python_backend_utils as pb_utils

        self.pb = pb_utils
        self.logger = pb_utils.Logger
        config = json.loads(args["model_config"])
        self.model_name = args["model_name"]
        self.max_batch_size = int(config.get("max_batch_size", 0))
        self.parameters = config_parameters(config)
        filename = config.get("default_model_filename") or "model.onnx"
        path = Path(args["model_repository"]) / args["model_version"] / filename
        self.input_names = [item["name"] for item in config["input"]]
        self.output_names = [item["name"] for item in config["output"]]
        try:
            model_inputs, model_outputs = self.load(path, config)
            missing = sorted(set(self.input_names) - set(model_inputs)) + sorted(
                set(self.output_names) - set(model_outputs)
            )
            if missing:
                raise ValueError(
                    f"config names {missing} are not in {path.name} "
                    f"(inputs {sorted(model_inputs)}, outputs {sorted(model_outputs)})"
                )
        except Exception as exc:  # refused at load, naming the model and the cause
            raise pb_utils.TritonModelException(
                f"{self.model_name} ({self.engine}): {exc}"
            ) from exc

    def load(self, path: Path, config: dict) -> tuple[list[str], list[str]]:
        """Open ``path``; return the model's input and output names. ValueError: bad config."""
        raise NotImplementedError

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        """One run: outputs in ``self.output_names`` order, owned by the caller."""
        raise NotImplementedError

    def execute(self, requests):
        if self.max_batch_size > 0 and len(requests) > 1:
            try:
                return self._execute_batched(requests)
            except Exception as exc:  # shapes that cannot be stacked: fall back to one by one
                self.logger.log_warn(f"{self.model_name}: batched run failed ({exc}); per request")
        return [self._execute_one(request) for request in requests]

    def _inputs(self, request) -> dict[str, np.ndarray]:
        return {
            name: self.pb.get_input_tensor_by_name(request, name).as_numpy()
            for name in self.input_names
        }

    def _respond(self, outputs: Mapping[str, np.ndarray]):
        tensors = [
            self.pb.Tensor(name, np.ascontiguousarray(array)) for name, array in outputs.items()
        ]
        return self.pb.InferenceResponse(output_tensors=tensors)

    def _execute_one(self, request):
        try:
            results = self.run(self._inputs(request))
            return self._respond(dict(zip(self.output_names, results, strict=True)))
        except Exception as exc:
            error = self.pb.TritonError(f"{self.model_name}: {exc}", self.pb.TritonError.INTERNAL)
            return self.pb.InferenceResponse(error=error)

    def _execute_batched(self, requests):
        per_request = [self._inputs(request) for request in requests]
        sizes = [len(inputs[self.input_names[0]]) for inputs in per_request]
        stacked = {
            name: np.concatenate([inputs[name] for inputs in per_request])
            for name in self.input_names
        }
        results = dict(zip(self.output_names, self.run(stacked), strict=True))
        return [self._respond(part) for part in split_batch(results, sizes)]
