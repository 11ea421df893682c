"""Every config.pbtxt / configs/cpu.pbtxt parses and the ensemble's wiring is consistent."""

from __future__ import annotations

import functools
from pathlib import Path

import onnx
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from seal_ocr import tensor_names as names
from tests.conftest import MODEL_REPOSITORY, require
from tools.robustness.soak import SETTLE_S

ONNX_ENTRIES = [
    names.LAYOUT_MODEL,
    names.SEAL_DET_MODEL,
    names.TEXT_REC_MODEL,
    names.TEXTLINE_ORI_MODEL,
    names.DOC_ORI_MODEL,
    names.UVDOC_MODEL,
]
# UVDoc takes the page at its own size: TensorRT would build an engine per size (and FP16 would
# move its grid_sample's sampling points), so its GPU config runs plain CUDA
TENSORRT_ENTRIES = [entry for entry in ONNX_ENTRIES if entry != names.UVDOC_MODEL]
CONFIG_TO_ONNX_DTYPE = {mc.TYPE_FP32: onnx.TensorProto.FLOAT, mc.TYPE_INT32: onnx.TensorProto.INT32}
# Keys the Triton ORT backend (24.10) maps to TensorRT EP options; a typo would be ignored silently
TRT_KEYS = {
    "precision_mode", "max_workspace_size_bytes", "trt_engine_cache_enable",
    "trt_engine_cache_path", "trt_timing_cache_enable", "trt_timing_cache_path",
    "trt_profile_min_shapes", "trt_profile_opt_shapes", "trt_profile_max_shapes",
    "trt_max_partition_iterations", "trt_min_subgraph_size", "trt_builder_optimization_level",
    "trt_cuda_graph_enable", "trt_engine_cache_prefix", "trt_force_sequential_engine_build",
}  # fmt: skip
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
    assert found == {names.ENSEMBLE, *ONNX_ENTRIES, *PYTHON_STEPS, names.HPS_MODEL}


def test_hps_model_speaks_paddlexs_protocol():
    """``seal-recognition``: PaddleX HPS clients send ``input`` [1, 1] BYTES, read ``output``."""
    from seal_api import ApiSettings

    config = load(names.HPS_MODEL)
    assert config.backend == "python"
    assert config.max_batch_size >= 1  # [1, 1] is a batch of one element of dims [1]
    assert [(t.name, t.data_type, list(t.dims)) for t in config.input] == [
        (names.HPS_INPUT, mc.TYPE_STRING, [1])
    ]
    assert [(t.name, t.data_type, list(t.dims)) for t in config.output] == [
        (names.HPS_OUTPUT, mc.TYPE_STRING, [1])
    ]
    # CPU on every host: the GPU container serves the same config (no configs/ variant)
    assert config.instance_group
    assert all(group.kind == mc.ModelInstanceGroup.KIND_CPU for group in config.instance_group)
    assert not (MODEL_REPOSITORY / names.HPS_MODEL / "configs").exists()
    policy = config.dynamic_batching.default_queue_policy
    assert policy.max_queue_size > 0 and policy.default_timeout_microseconds > 0
    # every parameter is one ApiSettings knows (a typo would fail the model's load)
    parameters = {k: v.string_value for k, v in config.parameters.items()}
    parameters.pop("font_path")
    settings = ApiSettings.from_parameters(parameters)
    assert settings == ApiSettings()  # the shipped values are PaddleX serving's / the gateway's
    with pytest.raises(ValueError, match="max_pdf_page"):
        ApiSettings.from_parameters({"max_pdf_page": "3"})
    with pytest.raises(ValueError, match="allow_private_urls"):
        ApiSettings.from_parameters({"allow_private_urls": "yes"})
    assert ApiSettings.from_parameters({"max_pdf_pages": "0"}).max_pdf_pages is None


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


def load_variant(model: str, variant: str) -> mc.ModelConfig:
    """What a server started with --model-config-name=<variant> loads: configs/<variant>.pbtxt,
    else config.pbtxt."""
    path = MODEL_REPOSITORY / model / "configs" / f"{variant}.pbtxt"
    return load(model, f"configs/{variant}.pbtxt") if path.exists() else load(model)


@pytest.mark.parametrize("variant", ["gpu", "cpu", "cpu_onnxruntime"])
def test_ensemble_steps_agree_on_names_dtypes_and_dims(variant):
    load_model = functools.partial(load_variant, variant=variant)
    ensemble = load_model(names.ENSEMBLE)
    # ensemble tensor -> (dtype, dims) as produced so far
    produced = {t.name: (t.data_type, list(t.dims)) for t in ensemble.input}
    assert [step.model_name for step in ensemble.ensemble_scheduling.step] == PYTHON_STEPS
    for step in ensemble.ensemble_scheduling.step:
        model = load_model(step.model_name)
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


CPU_VARIANTS = ["configs/cpu.pbtxt", "configs/cpu_onnxruntime.pbtxt"]
ALL_VARIANTS = ["config.pbtxt", *CPU_VARIANTS]


@pytest.mark.parametrize("entry", ONNX_ENTRIES)
def test_onnx_entry_gpu_and_cpu_configs(entry):
    from seal_ocr.engines import PROFILES

    gpu, cpu, cpu_ort = (load(entry, variant) for variant in ALL_VARIANTS)
    # GPU: Triton's ONNX Runtime backend (TensorRT); CPU: the engine profiles of seal_ocr.engines
    assert gpu.backend == "onnxruntime"
    assert cpu.backend == PROFILES["openvino"][entry]
    assert cpu_ort.backend == PROFILES["onnxruntime"][entry] == "onnxruntime"
    for config in (gpu, cpu, cpu_ort):
        assert config.default_model_filename == "model.onnx"
        assert [t.name for t in gpu.input] == [t.name for t in config.input]
        assert [t.name for t in gpu.output] == [t.name for t in config.output]
    assert [g.kind for g in gpu.instance_group] == [mc.ModelInstanceGroup.KIND_GPU]
    for config in (cpu, cpu_ort):
        assert all(g.kind == mc.ModelInstanceGroup.KIND_CPU for g in config.instance_group)
        assert all(g.count >= 1 for g in config.instance_group)  # defaults differ by backend


OPENVINO_ENTRIES = [e for e in ONNX_ENTRIES if load(e, "configs/cpu.pbtxt").backend == "openvino"]


@pytest.mark.parametrize("entry", OPENVINO_ENTRIES)
def test_openvino_configs_run_fp32_and_name_tritons_parameters(entry):
    from seal_ocr.engines import OpenVinoSettings

    parameters = {k: v.string_value for k, v in load(entry, "configs/cpu.pbtxt").parameters.items()}
    # the precision is explicit: OpenVINO's default on a CPU with native bfloat16 is bf16
    assert parameters["INFERENCE_PRECISION_HINT"] == "f32"
    settings = OpenVinoSettings.from_parameters(parameters)  # every value valid
    assert settings.threads >= 1 and settings.streams >= 1
    tritons_own = {"INFERENCE_NUM_THREADS", "NUM_STREAMS", "PERFORMANCE_HINT"}
    ours = {
        "INFERENCE_PRECISION_HINT",
        "memory_release_interval_ms",
        "reference_tie_output",
        "reference_tie_margin",
    }
    assert set(parameters) <= tritons_own | ours, set(parameters) - tritons_own - ours
    # memory grown for a large input goes back before the soak reads RSS after the drain
    assert 0 < int(parameters["memory_release_interval_ms"]) / 1000 < SETTLE_S


def test_text_rec_near_ties_are_decided_by_onnx_runtime_as_in_process():
    from seal_ocr.engines import DEFAULT_TIE_MARGIN

    parameters = load(names.TEXT_REC_MODEL, "configs/cpu.pbtxt").parameters
    assert parameters["reference_tie_output"].string_value == names.TEXT_REC_PROB
    # the served margin is the in-process one (SealRecognizer's OpenVINO profile)
    assert float(parameters["reference_tie_margin"].string_value) == DEFAULT_TIE_MARGIN


@pytest.mark.parametrize("variant", ALL_VARIANTS)
@pytest.mark.parametrize("entry", ONNX_ENTRIES)
def test_every_onnx_entry_batches_on_gpu_and_cpu(entry, variant):
    # layout included: its outputs are fixed-shape per image, split on the batch axis like any
    config = load(entry, variant)
    assert config.max_batch_size > 0 and config.HasField("dynamic_batching")
    assert "ragged_outputs" not in config.parameters


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_layout_outputs_are_fixed_shape_per_image(variant):
    # the real ORT backend splits a batch's outputs between its requests on axis 0 only: every
    # layout output must have one fixed-shape item per image
    config = load(names.LAYOUT_MODEL, variant)
    outputs = {t.name: t for t in config.output}
    assert set(outputs) == {names.LAYOUT_BOXES, names.LAYOUT_BOX_COUNT}
    boxes, count = outputs[names.LAYOUT_BOXES], outputs[names.LAYOUT_BOX_COUNT]
    assert boxes.data_type == mc.TYPE_FP32 and list(boxes.dims) == [names.LAYOUT_MAX_BOXES, 6]
    assert not boxes.HasField("reshape")
    assert count.data_type == mc.TYPE_INT32 and list(count.dims) == [1]
    assert list(count.reshape.shape) == []  # the model's [N] count, one per batch item
    assert all(d > 0 for t in config.input for d in t.dims)


def test_layout_model_outputs_are_fixed_shape_per_image():
    path = require(MODEL_REPOSITORY / names.LAYOUT_MODEL / "1" / "model.onnx")
    outputs = {o.name: o for o in onnx.load(str(path), load_external_data=False).graph.output}

    def dims(name: str) -> list[int | str]:
        return [d.dim_value or d.dim_param for d in outputs[name].type.tensor_type.shape.dim]

    assert dims(names.LAYOUT_BOXES) == ["N", names.LAYOUT_MAX_BOXES, 6]
    assert dims(names.LAYOUT_BOX_COUNT) == ["N"]


@pytest.mark.parametrize(
    ("step", "parameter", "entry"),
    [
        (names.DETECT_TEXT_LINES, "seal_det_max_batch_size", names.SEAL_DET_MODEL),
        (names.READ_TEXT_LINES, "text_rec_max_batch_size", names.TEXT_REC_MODEL),
        (names.READ_TEXT_LINES, "textline_ori_max_batch_size", names.TEXTLINE_ORI_MODEL),
    ],
)
def test_bls_chunks_fit_the_called_model(step, parameter, entry):
    chunk = int(load(step).parameters[parameter].string_value)
    assert chunk >= 1
    for variant in ALL_VARIANTS:
        assert chunk <= load(entry, variant).max_batch_size, variant


@pytest.mark.parametrize(
    ("entry", "inputs", "outputs"),
    [
        (names.LAYOUT_MODEL, [names.LAYOUT_IMAGE, names.LAYOUT_SCALE_FACTOR],
         [names.LAYOUT_BOXES, names.LAYOUT_BOX_COUNT]),
        (names.SEAL_DET_MODEL, [names.SEAL_DET_IMAGE], [names.SEAL_DET_PROB]),
        (names.TEXT_REC_MODEL, [names.TEXT_REC_IMAGE], [names.TEXT_REC_PROB]),
        (names.TEXTLINE_ORI_MODEL, [names.TEXTLINE_ORI_IMAGE], [names.TEXTLINE_ORI_PROB]),
        (names.DOC_ORI_MODEL, [names.DOC_ORI_IMAGE], [names.DOC_ORI_PROB]),
        (names.UVDOC_MODEL, [names.UVDOC_IMAGE], [names.UVDOC_OUTPUT]),
    ],
)  # fmt: skip
def test_onnx_files_match_configs(entry, inputs, outputs):
    path = require(MODEL_REPOSITORY / entry / "1" / "model.onnx")
    graph = onnx.load(str(path), load_external_data=False).graph
    assert [i.name for i in graph.input] == inputs
    assert [o.name for o in graph.output] == outputs
    for variant in ALL_VARIANTS:
        config = load(entry, variant)
        assert [t.name for t in config.input] == inputs
        assert [t.name for t in config.output] == outputs
        # dtypes, ranks and fixed dims as the server sees them (batch dim + dims, or reshape)
        for value in [*graph.input, *graph.output]:
            tensor = next(t for t in [*config.input, *config.output] if t.name == value.name)
            onnx_type = value.type.tensor_type
            assert onnx_type.elem_type == CONFIG_TO_ONNX_DTYPE[tensor.data_type], value.name
            declared = list(tensor.reshape.shape) if tensor.HasField("reshape") else tensor.dims
            full = ([-1] if config.max_batch_size > 0 else []) + list(declared)
            onnx_dims = [
                d.dim_value if d.HasField("dim_value") else -1 for d in onnx_type.shape.dim
            ]
            assert len(onnx_dims) == len(full), (variant, value.name, onnx_dims, full)
            for want, have in zip(full, onnx_dims, strict=True):
                assert want == -1 or have in (-1, want), (variant, value.name, onnx_dims, full)


def test_textline_ori_configs_match_the_entrys_info_file():
    from seal_ocr.textline_ori import TextlineOriInfo

    info = TextlineOriInfo.from_file(require(MODEL_REPOSITORY / names.TEXTLINE_ORI_INFO_FILE))
    step = load(names.READ_TEXT_LINES).parameters
    assert step["textline_ori_info"].string_value == names.TEXTLINE_ORI_INFO_FILE
    for variant in ALL_VARIANTS:
        config = load(names.TEXTLINE_ORI_MODEL, variant)
        [image], [probs] = config.input, config.output
        # H, W left open: the one input size is the info file's (stand-in or official)
        assert list(image.dims) == [3, -1, -1], variant
        assert list(probs.dims) == [len(info.labels)], variant


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


@pytest.mark.parametrize("variant", CPU_VARIANTS)
@pytest.mark.parametrize("entry", ONNX_ENTRIES)
def test_onnx_queues_are_capped_without_timeout(entry, variant):
    # a page's own BLS chunks must not time out behind each other; size stays bounded
    policy = load(entry, variant).dynamic_batching.default_queue_policy
    assert 0 < policy.max_queue_size <= 1024
    assert policy.default_timeout_microseconds == 0


# --- GPU production configs (config.pbtxt of the ONNX entries) ------------------------------
def tensorrt(entry: str) -> dict[str, str]:
    [accelerator] = load(entry).optimization.execution_accelerators.gpu_execution_accelerator
    assert accelerator.name == "tensorrt"
    return dict(accelerator.parameters)


@pytest.mark.parametrize("entry", TENSORRT_ENTRIES)
def test_gpu_config_uses_tensorrt_fp16_with_a_cached_engine(entry):
    parameters = tensorrt(entry)
    assert set(parameters) <= TRT_KEYS, set(parameters) - TRT_KEYS
    assert parameters["precision_mode"] == "FP16"
    assert int(parameters["max_workspace_size_bytes"]) >= 1 << 30
    assert parameters["trt_engine_cache_enable"] == "1"
    assert parameters["trt_engine_cache_path"] == f"/trt_cache/{entry}"  # compose's trt-cache
    # no CPU accelerator: CUDA is the ORT backend's own fallback for nodes TensorRT rejects
    assert not load(entry).optimization.execution_accelerators.cpu_execution_accelerator


@pytest.mark.parametrize("entry", ONNX_ENTRIES)
def test_gpu_config_instances_and_batching(entry):
    config = load(entry)
    [group] = config.instance_group
    assert group.kind == mc.ModelInstanceGroup.KIND_GPU and group.count >= 1
    assert config.max_batch_size > 0
    batching = config.dynamic_batching
    preferred = list(batching.preferred_batch_size)
    assert preferred and preferred == sorted(preferred)
    assert all(1 < size <= config.max_batch_size for size in preferred)
    assert 0 < batching.max_queue_delay_microseconds <= 10_000
    assert 0 < batching.default_queue_policy.max_queue_size <= 1024


def test_layout_gpu_input_is_fixed_size_and_matches_layout_info():
    from seal_ocr.model_info import LayoutInfo

    [image, _] = load(names.LAYOUT_MODEL).input
    info = LayoutInfo.from_file(require(MODEL_REPOSITORY / names.LAYOUT_INFO_FILE))
    assert list(image.dims) == [3, *info.input_hw]
    assert list(load(names.LAYOUT_MODEL, "configs/cpu.pbtxt").input[0].dims) == [3, *info.input_hw]


def test_rec_tensorrt_profile_covers_every_request_the_step_can_send():
    parameters, config = tensorrt(names.TEXT_REC_MODEL), load(names.TEXT_REC_MODEL)

    def shape(key: str) -> list[int]:
        name, _, dims = parameters[key].partition(":")
        assert name == names.TEXT_REC_IMAGE
        return [int(d) for d in dims.split("x")]

    low, opt, high = (shape(f"trt_profile_{k}_shapes") for k in ("min", "opt", "max"))
    assert low[1:3] == opt[1:3] == high[1:3] == [3, 48]
    assert low[0] == 1 and high[0] == config.max_batch_size
    assert low[3] <= 320 and high[3] >= 3200  # seal_ocr.rec pads to >= 320, squashes at 3200
    assert all(a <= b <= c for a, b, c in zip(low, opt, high, strict=True))
    chunk = int(load(names.READ_TEXT_LINES).parameters["text_rec_max_batch_size"].string_value)
    assert chunk <= high[0]


ORT_CPU_CONFIGS = [
    (entry, variant)
    for entry in ONNX_ENTRIES
    for variant in CPU_VARIANTS
    if load(entry, variant).backend == "onnxruntime"
]


@pytest.mark.parametrize(("entry", "variant"), ORT_CPU_CONFIGS)
def test_cpu_arena_gives_memory_back(entry, variant):
    # an ORT CPU arena keeps the largest block a run ever grew; entries whose input shapes vary
    # must either shrink it after each run or not use it (30-minute soak, docs/robustness.md)
    parameters = load(entry, variant).parameters

    def value(key: str, default: str) -> str:
        return parameters[key].string_value if key in parameters else default

    arena_on = value("enable_cpu_mem_arena", "1") != "0"
    assert value("arena_shrinkage", "0") == "1" or not arena_on, entry
    # shrinkage alone keeps the region holding the last outputs (the largest batch's, in time)
    assert value("arena_release_shape", "") or not arena_on, entry
    # released every interval (a thread), memory is back within one interval of idling: that
    # must be before the soak reads RSS after the drain
    interval_s = int(value("arena_release_interval_ms", "0")) / 1000
    assert 0 <= interval_s < SETTLE_S, entry


def test_doc_ori_configs_match_the_entrys_info_file():
    from seal_ocr.doc_ori import DocOriInfo

    info = DocOriInfo.from_file(require(MODEL_REPOSITORY / names.DOC_ORI_INFO_FILE))
    for variant in ALL_VARIANTS:
        config = load(names.DOC_ORI_MODEL, variant)
        [image], [probs] = config.input, config.output
        assert list(image.dims) == [3, info.crop, info.crop], variant
        assert list(probs.dims) == [len(info.labels)], variant
        assert config.max_batch_size >= 1 and config.HasField("dynamic_batching"), variant


def test_uvdoc_gpu_config_runs_without_tensorrt():
    assert not load(names.UVDOC_MODEL).optimization.execution_accelerators.gpu_execution_accelerator
