"""Adapter tests: the Triton-facing ``model.py`` files run in this process, without a server.

The ``pb`` fixture installs :mod:`tests.unit.adapters.fake_pb_utils` as
``triton_python_backend_utils`` (the module a backend stub provides); adapters are loaded from
their own files and initialised with the shipped ``config.pbtxt`` turned into the JSON Triton
passes. Backends open the real ``model_repository/*/1/model.onnx`` files.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from google.protobuf import json_format, text_format
from tritonclient.grpc import model_config_pb2 as mc

import seal_triton.step
from seal_triton.admission import MAX_IN_FLIGHT_ENV, AdmissionGate
from tests.conftest import MODEL_REPOSITORY, REPO_ROOT, require

FAKE_PB_UTILS = Path(__file__).with_name("fake_pb_utils.py")
BACKENDS = REPO_ROOT / "serving" / "backends"
_loaded: dict[Path, ModuleType] = {}


@pytest.fixture
def pb(monkeypatch) -> ModuleType:
    """A fresh fake ``triton_python_backend_utils`` in ``sys.modules`` for this test."""
    spec = importlib.util.spec_from_file_location("triton_python_backend_utils", FAKE_PB_UTILS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", module)
    return module


@pytest.fixture(autouse=True)
def lease_file(tmp_path, monkeypatch) -> Path:
    """The admission lease file of every step in the test (never the real server's in
    /dev/shm), and no ``$SEAL_MAX_IN_FLIGHT`` from the environment."""
    path = tmp_path / "leases"
    monkeypatch.setattr(seal_triton.step, "default_state_path", lambda: path)
    monkeypatch.delenv(MAX_IN_FLIGHT_ENV, raising=False)
    return path


def leases_held(path: Path) -> int:
    return AdmissionGate(path).in_flight()


def adapter_module(path: Path) -> ModuleType:
    """The module of a ``model.py`` (loaded once; each file under its own module name)."""
    if path not in _loaded:
        name = "adapter_" + "_".join(path.relative_to(REPO_ROOT).parts[:-1]).replace("-", "_")
        spec = importlib.util.spec_from_file_location(name, require(path))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _loaded[path] = module
    return _loaded[path]


def step_module(model: str) -> ModuleType:
    return adapter_module(MODEL_REPOSITORY / model / "1" / "model.py")


def backend_module(engine: str) -> ModuleType:
    return adapter_module(BACKENDS / engine / "model.py")


def model_config(model: str, variant: str = "config.pbtxt") -> dict[str, Any]:
    """A shipped config as the JSON dict Triton hands ``initialize`` (proto field names)."""
    text = require(MODEL_REPOSITORY / model / variant).read_text()
    message = text_format.Parse(text, mc.ModelConfig())
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def with_parameters(config: dict[str, Any], **values: str) -> dict[str, Any]:
    """``config`` with these ``parameters`` set (a copy)."""
    config = json.loads(json.dumps(config))
    for key, value in values.items():
        config.setdefault("parameters", {})[key] = {"string_value": value}
    return config


def initialize(instance: Any, model: str, config: dict[str, Any]) -> Any:
    """``instance`` initialised as Triton initialises version 1 of ``model`` with ``config``."""
    instance.initialize(
        {
            "model_name": model,
            "model_config": json.dumps(config),
            "model_repository": str(MODEL_REPOSITORY / model),
            "model_version": "1",
            "model_instance_kind": "CPU",
            "model_instance_name": f"{model}_0_0",
        }
    )
    return instance


@pytest.fixture
def make_step(pb, lease_file, monkeypatch) -> Callable[..., Any]:
    """``make_step(model, **parameters)``: the shipped step ``model`` initialised with its
    config.pbtxt, these parameters overridden, its admission leases in ``lease_file``."""

    def make(model: str, **parameters: str) -> Any:
        module = step_module(model)
        if hasattr(module, "default_state_path"):  # decode_page makes its own gate
            monkeypatch.setattr(module, "default_state_path", lambda: lease_file)
        config = with_parameters(model_config(model), **parameters)
        return initialize(module.TritonPythonModel(), model, config)

    return make


@pytest.fixture
def load_backend(pb) -> Iterator[Callable[..., Any]]:
    """``load_backend(engine, model, config)``: an initialised engine backend; finalised (its
    release thread stopped) after the test, also when its load was refused."""
    instances: list[Any] = []

    def load(engine: str, model: str, config: dict[str, Any]) -> Any:
        instance = backend_module(engine).TritonPythonModel()
        instances.append(instance)
        return initialize(instance, model, config)

    yield load
    for instance in instances:
        if hasattr(instance, "periodic"):
            instance.finalize()


def request(pb: ModuleType, **inputs: np.ndarray) -> Any:
    """An incoming request carrying these inputs."""
    return pb.InferenceRequest(inputs=[pb.Tensor(name, array) for name, array in inputs.items()])


def outputs(pb: ModuleType, response: Any) -> dict[str, np.ndarray]:
    """The output arrays of a successful response (fails the test on an error response)."""
    assert not response.has_error(), response.error().message()
    return {tensor.name(): tensor.as_numpy() for tensor in response.output_tensors()}


def execute_step(step: Any, *requests: Any) -> list[Any]:
    """A Python step's (async) ``execute`` run to completion."""
    return asyncio.run(step.execute(list(requests)))


def strings(*values: str | bytes) -> np.ndarray:
    """A TYPE_STRING tensor as the stub gives it: an object array of bytes."""
    return np.array([v.encode() if isinstance(v, str) else v for v in values], dtype=object)
