"""Every config.pbtxt / configs/cpu.pbtxt parses and the ensemble's wiring is consistent."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from seal_ocr import tensor_names as names
from tests.conftest import MODEL_REPOSITORY, require

ONNX_ENTRIES = [names.LAYOUT_MODEL, names.SEAL_DET_MODEL, names.TEXT_REC_MODEL]
PYTHON_STEPS = [
    names.DECODE_PAGE,
    names.FIND_SEALS,
    names.DETECT_TEXT_LINES,
    names.READ_TEXT_LINES,
    names.BUILD_RESULT,
]


def load(model: str, variant: str = "config.pbtxt") -> mc.ModelConfig:
    path = MODEL_REPOSITORY / model / variant
    return text_format.Parse(path.read_text(), mc.ModelConfig())


def all_config_paths() -> list[Path]:
    return sorted(MODEL_REPOSITORY.glob("*/config.pbtxt")) + sorted(
        MODEL_REPOSITORY.glob("*/configs/*.pbtxt")
    )


@pytest.mark.parametrize(
    "path", all_config_paths(), ids=lambda p: str(p.relative_to(MODEL_REPOSITORY))
)
def test_config_parses_and_names_its_directory(path: Path):
    config = text_format.Parse(path.read_text(), mc.ModelConfig())
    model_dir = path.parent.parent if path.parent.name == "configs" else path.parent
    assert config.name == model_dir.name
    assert (model_dir / "1").is_dir()


def test_repository_holds_exactly_the_known_models():
    found = {p.parent.name for p in MODEL_REPOSITORY.glob("*/config.pbtxt")}
    assert found == {names.ENSEMBLE, *ONNX_ENTRIES, *PYTHON_STEPS}


def test_ensemble_public_contract():
    ensemble = load(names.ENSEMBLE)
    assert ensemble.platform == "ensemble"
    assert ensemble.max_batch_size == 0
    inputs = {t.name: t for t in ensemble.input}
    assert set(inputs) == {names.IMAGE, names.OPTIONS}
    assert inputs[names.IMAGE].data_type == mc.TYPE_STRING and list(inputs[names.IMAGE].dims) == [1]
    # IMAGE is optional only so decode_page can refuse its absence clearly (checked there)
    assert inputs[names.OPTIONS].optional and inputs[names.IMAGE].optional
    [output] = ensemble.output
    assert (output.name, output.data_type, list(output.dims)) == (
        names.RESULT_JSON,
        mc.TYPE_STRING,
        [1],
    )


def test_ensemble_steps_agree_on_names_dtypes_and_dims():
    ensemble = load(names.ENSEMBLE)
    # ensemble tensor -> (dtype, dims) as produced so far
    produced = {t.name: (t.data_type, list(t.dims)) for t in ensemble.input}
    assert [step.model_name for step in ensemble.ensemble_scheduling.step] == PYTHON_STEPS
    for step in ensemble.ensemble_scheduling.step:
        model = load(step.model_name)
        model_inputs = {t.name: t for t in model.input}
        assert set(step.input_map) <= set(model_inputs), step.model_name
        unmapped = {n for n, t in model_inputs.items() if not t.optional} - set(step.input_map)
        assert not unmapped, f"{step.model_name} inputs never fed: {unmapped}"
        for key, tensor in step.input_map.items():
            assert tensor in produced, f"{step.model_name}.{key} reads {tensor} before it exists"
            spec = model_inputs[key]
            assert produced[tensor] == (spec.data_type, list(spec.dims)), (step.model_name, key)
        model_outputs = {t.name: t for t in model.output}
        assert set(step.output_map) == set(model_outputs), step.model_name
        for key, tensor in step.output_map.items():
            assert tensor not in produced, f"{tensor} produced twice"
            produced[tensor] = (model_outputs[key].data_type, list(model_outputs[key].dims))
    for output in ensemble.output:
        assert produced[output.name] == (output.data_type, list(output.dims))


@pytest.mark.parametrize("step", PYTHON_STEPS)
def test_python_steps_are_cpu_and_non_batching(step):
    config = load(step)
    assert config.backend == "python"
    assert config.max_batch_size == 0
    assert all(group.kind == mc.ModelInstanceGroup.KIND_CPU for group in config.instance_group)
    assert not (MODEL_REPOSITORY / step / "configs").exists()  # same config on GPU hosts


@pytest.mark.parametrize("entry", ONNX_ENTRIES)
def test_onnx_entry_gpu_and_cpu_configs(entry):
    gpu, cpu = load(entry), load(entry, "configs/cpu.pbtxt")
    for config in (gpu, cpu):
        assert config.backend == "onnxruntime"
        assert config.default_model_filename == "model.onnx"
    assert [g.kind for g in gpu.instance_group] == [mc.ModelInstanceGroup.KIND_GPU]
    assert all(g.kind == mc.ModelInstanceGroup.KIND_CPU for g in cpu.instance_group)
    assert all(g.count >= 1 for g in cpu.instance_group)  # defaults differ by backend name
    assert cpu.max_batch_size > 0 and cpu.HasField("dynamic_batching")
    assert [t.name for t in gpu.input] == [t.name for t in cpu.input]
    assert [t.name for t in gpu.output] == [t.name for t in cpu.output]


@pytest.mark.parametrize(
    ("step", "parameter", "entry"),
    [
        (names.DETECT_TEXT_LINES, "seal_det_max_batch_size", names.SEAL_DET_MODEL),
        (names.READ_TEXT_LINES, "text_rec_max_batch_size", names.TEXT_REC_MODEL),
    ],
)
def test_bls_chunks_fit_the_called_model(step, parameter, entry):
    chunk = int(load(step).parameters[parameter].string_value)
    assert chunk >= 1
    for variant in ("config.pbtxt", "configs/cpu.pbtxt"):
        assert chunk <= load(entry, variant).max_batch_size, variant


@pytest.mark.parametrize(
    ("entry", "inputs", "outputs"),
    [
        (names.LAYOUT_MODEL, [names.LAYOUT_IMAGE, names.LAYOUT_SCALE_FACTOR],
         [names.LAYOUT_BOXES, names.LAYOUT_BOX_COUNT]),
        (names.SEAL_DET_MODEL, [names.SEAL_DET_IMAGE], [names.SEAL_DET_PROB]),
        (names.TEXT_REC_MODEL, [names.TEXT_REC_IMAGE], [names.TEXT_REC_PROB]),
    ],
)  # fmt: skip
def test_onnx_files_match_configs(entry, inputs, outputs):
    path = require(MODEL_REPOSITORY / entry / "1" / "model.onnx")
    graph = onnx.load(str(path), load_external_data=False).graph
    assert [i.name for i in graph.input] == inputs
    assert [o.name for o in graph.output] == outputs
    for variant in ("config.pbtxt", "configs/cpu.pbtxt"):
        config = load(entry, variant)
        assert [t.name for t in config.input] == inputs
        assert [t.name for t in config.output] == outputs


def test_rec_dictionary_matches_model_classes():
    characters = require(MODEL_REPOSITORY / names.CHARACTERS_FILE).read_text("utf-8").splitlines()
    dims = list(load(names.TEXT_REC_MODEL).output[0].dims)
    assert dims[-1] == len(characters) + 2  # blank + dictionary + space


@pytest.mark.parametrize("step", PYTHON_STEPS)
def test_every_step_queue_is_bounded_in_size_and_time(step):
    policy = load(step).dynamic_batching.default_queue_policy
    assert policy.max_queue_size > 0
    assert policy.timeout_action == mc.ModelQueuePolicy.REJECT
    assert 0 < policy.default_timeout_microseconds <= 60_000_000


@pytest.mark.parametrize("entry", [names.SEAL_DET_MODEL, names.TEXT_REC_MODEL, names.LAYOUT_MODEL])
def test_onnx_queues_are_capped_without_timeout(entry):
    # a page's own BLS chunks must not time out behind each other; size stays bounded
    policy = load(entry, "configs/cpu.pbtxt").dynamic_batching.default_queue_policy
    assert 0 < policy.max_queue_size <= 1024
    assert policy.default_timeout_microseconds == 0
