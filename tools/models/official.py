"""``make models SOURCE=official``: the official PaddleX inference models, through paddle2onnx.

For each role (``layout``, ``seal_det``, ``text_rec``, ``textline_ori``) of the chosen profile
(``mobile`` or ``server``, layout model selectable), this module

1. downloads ``<base_url>/<name>_infer.tar`` into ``.cache/official/archives`` (resumable with
   HTTP Range, tqdm progress bar, retries, clear errors);
2. verifies it: the HTTP length, the sha256/size pinned in ``official_models.json`` when known,
   the digest first seen (``.cache/official/downloads.json``), tar integrity, safe member paths
   and the required files (``inference.yml``, ``inference.pdiparams``, ``inference.json`` or
   ``inference.pdmodel``);
3. converts it with the real ``paddle2onnx`` in ``.cache/venv-official`` (``paddle_convert.py``),
   which also hands back ``inference.yml`` as JSON;
4. checks the pre/post-processing the yml asks for against what ``seal_ocr`` implements, adapts
   the graph where it can (input normalisation folded in, RT-DETR's ``im_shape`` computed inside
   the graph, the layout's ragged ``bbox``/``bbox_num`` padded per image in the graph by
   ``layout_contract.pad_per_image``), refuses loudly where it cannot, renames the I/O to
   ``seal_ocr.tensor_names`` and checks names, dtypes and ranks against the entry's
   ``config.pbtxt`` and ``configs/cpu.pbtxt``;
5. installs ``<entry>/1/model.onnx``, ``layout/layout_info.json`` (labels from the yml, seal label
   ``seal``), ``text_rec/characters.txt`` (the yml's ``character_dict``) and
   ``textline_ori/textline_ori_info.json`` (the classifier's input recipe and labels).

A role may instead come from a local model (``make models SEAL_DET=dir TEXT_REC=x.onnx
LAYOUT_MODEL=dir``, ``official_local``): the user's own PaddleX inference directory or ONNX file
with its yml replaces step 1-2 and goes through steps 3-5 unchanged. Every install records which
model each entry holds in ``models.json`` at the repository root (``seal_ocr.model_info``) and in
the ONNX file's metadata (``seal_model``, ``seal_model_source``).

This module runs the steps (:func:`prepare_official`, :func:`install_model`); each step lives in
a module beside it: ``official_catalog`` (the models and their URLs), ``official_archives``
(1, 2), ``official_local`` (local models), ``official_converter`` (3), ``official_yml`` and
``official_graph`` (4). The names the Makefile, ``prepare.py`` and the tests use are importable
from here.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import onnx

from seal_ocr import tensor_names as names
from seal_ocr.layout import IMAGENET_MEAN, IMAGENET_STD
from seal_ocr.model_info import LayoutInfo, ModelRecord, read_model_records, write_model_records
from seal_ocr.uvdoc import UVDocInfo
from tools.models.layout_contract import EXPORT_BOX_COUNT, EXPORT_BOXES, pad_per_image
from tools.models.official_archives import download, extract, probe, verify_archive
from tools.models.official_catalog import (
    ModelSpec,
    OfficialModelError,
    layout_choices,
    model_choices,
    select_models,
)
from tools.models.official_converter import (
    DEFAULT_CONVERTER_VENV,
    convert,
    ensure_converter_venv,
    official_requirements,
)
from tools.models.official_graph import (
    check_against_configs,
    compute_im_shape,
    fold_normalisation,
    order_inputs,
    rename_outputs,
    rename_single_input,
    set_layout_input_hw,
    set_rec_classes,
    static_dims,
)
from tools.models.official_local import stage_local
from tools.models.official_yml import (
    OFFICIAL_SEAL_LABEL,
    Normalisation,
    det_facts,
    doc_ori_facts,
    layout_facts,
    rec_facts,
    textline_ori_facts,
)

# what `make models`, `make official-env` and the tests use, from one place
__all__ = [
    "ModelSpec",
    "Normalisation",
    "OfficialModelError",
    "check_against_configs",
    "compute_im_shape",
    "det_facts",
    "doc_ori_facts",
    "download",
    "ensure_converter_venv",
    "extract",
    "fold_normalisation",
    "install_model",
    "layout_choices",
    "layout_facts",
    "model_choices",
    "official_requirements",
    "order_inputs",
    "prepare_official",
    "probe",
    "rec_facts",
    "select_models",
    "set_layout_input_hw",
    "set_rec_classes",
    "stage_local",
    "textline_ori_facts",
    "verify_archive",
]

ROLES = (
    names.LAYOUT_MODEL,
    names.SEAL_DET_MODEL,
    names.TEXT_REC_MODEL,
    names.TEXTLINE_ORI_MODEL,
    names.DOC_ORI_MODEL,
    names.UVDOC_MODEL,  # in no profile: UVDOC=UVDoc (or your own) installs it
)


def _adapt_layout(model: onnx.ModelProto, facts: dict[str, Any]) -> list[str]:
    graph, notes = model.graph, []
    inputs = {v.name for v in graph.input}
    if not {names.LAYOUT_IMAGE, names.LAYOUT_SCALE_FACTOR} <= inputs:
        raise OfficialModelError(f"layout inputs {sorted(inputs)} lack image/scale_factor")
    ours = Normalisation(1 / 255, IMAGENET_MEAN, IMAGENET_STD)
    if fold_normalisation(graph, names.LAYOUT_IMAGE, ours, facts["normalisation"]):
        notes.append(f"normalisation {facts['normalisation']} folded into the graph")
    if compute_im_shape(graph, facts["input_hw"]):
        notes.append("im_shape computed in the graph")
    order_inputs(graph, [names.LAYOUT_IMAGE, names.LAYOUT_SCALE_FACTOR])
    rename_outputs(graph, [EXPORT_BOXES, EXPORT_BOX_COUNT])
    boxes = static_dims(graph.output[0])
    if boxes and boxes[-1] not in (None, 6):
        raise OfficialModelError(f"layout boxes have {boxes[-1]} columns; seal_ocr reads 6")
    try:  # ragged rows -> fixed shape per image, so Triton can batch the entry
        pad_per_image(model)
    except ValueError as error:
        raise OfficialModelError(f"layout export cannot be padded per image: {error}") from None
    notes.append(
        f"{EXPORT_BOXES}/{EXPORT_BOX_COUNT} padded per image to {names.LAYOUT_BOXES} "
        f"[N, {names.LAYOUT_MAX_BOXES}, 6] and {names.LAYOUT_BOX_COUNT} [N]"
    )
    return notes


def _adapt_det(model: onnx.ModelProto, facts: dict[str, Any]) -> list[str]:
    graph, notes = model.graph, []
    rename_single_input(graph, names.SEAL_DET_IMAGE)
    rename_outputs(graph, [names.SEAL_DET_PROB])
    ours = Normalisation(1 / 255, IMAGENET_MEAN, IMAGENET_STD)
    if fold_normalisation(graph, names.SEAL_DET_IMAGE, ours, facts["normalisation"]):
        notes.append(f"normalisation {facts['normalisation']} folded into the graph")
    return notes


def _adapt_rec(model: onnx.ModelProto, facts: dict[str, Any]) -> list[str]:
    graph = model.graph
    rename_single_input(graph, names.TEXT_REC_IMAGE)
    rename_outputs(graph, [names.TEXT_REC_PROB])
    classes = static_dims(graph.output[0])[-1]
    expected = len(facts["characters"]) + 2  # blank + dictionary + space
    if classes not in (None, expected):
        raise OfficialModelError(
            f"rec model has {classes} classes, its dictionary gives {expected} (blank + "
            f"{len(facts['characters'])} + space)"
        )
    return []


def _adapt_textline_ori(model: onnx.ModelProto, labels: int) -> list[str]:
    graph = model.graph
    rename_single_input(graph, names.TEXTLINE_ORI_IMAGE)
    rename_outputs(graph, [names.TEXTLINE_ORI_PROB])
    classes = static_dims(graph.output[0])[-1]
    if classes not in (None, labels):
        raise OfficialModelError(f"textline_ori model has {classes} classes, its yml {labels}")
    return []


def _adapt_doc_ori(model: onnx.ModelProto, labels: int) -> list[str]:
    graph = model.graph
    rename_single_input(graph, names.DOC_ORI_IMAGE)
    rename_outputs(graph, [names.DOC_ORI_PROB])
    classes = static_dims(graph.output[0])[-1]
    if classes not in (None, labels):
        raise OfficialModelError(f"doc_ori model has {classes} classes, its yml {labels}")
    return []


def _adapt_uvdoc(model: onnx.ModelProto, config: dict[str, Any]) -> list[str]:
    post = (config.get("PostProcess") or {}).get("name", "DocTrPostProcess")
    if post != "DocTrPostProcess":
        raise OfficialModelError(f"uvdoc post-process {post!r}: seal_ocr.uvdoc reads DocTr's")
    rename_single_input(model.graph, names.UVDOC_IMAGE)
    rename_outputs(model.graph, [names.UVDOC_OUTPUT])
    return []


def install_model(
    role: str,
    onnx_path: Path,
    config: dict[str, Any],
    repository: Path,
    record: ModelRecord,
) -> dict[str, Any]:
    """Adapt, check and install one converted model; returns what was installed (``record``'s
    fields, what the yml said and the notes of every adaptation)."""
    model = onnx.load(str(onnx_path))
    entry_dir = repository / role
    installed: dict[str, Any] = asdict(record)
    if role == names.LAYOUT_MODEL:
        facts = layout_facts(config)
        notes = _adapt_layout(model, facts)
        changed = set_layout_input_hw(entry_dir, facts["input_hw"])
        if changed:
            written = [str(p.relative_to(repository)) for p in changed]
            notes.append(f"input {facts['input_hw']} written into {written}")
    elif role == names.SEAL_DET_MODEL:
        facts = det_facts(config)
        notes = _adapt_det(model, facts)
    elif role == names.TEXTLINE_ORI_MODEL:
        source = f"{record.source}: {record.model} (PaddleX inference model via paddle2onnx)"
        facts = {"info": textline_ori_facts(config, source)}
        notes = _adapt_textline_ori(model, len(facts["info"].labels))
    elif role == names.DOC_ORI_MODEL:
        source = f"{record.source}: {record.model} (PaddleX inference model via paddle2onnx)"
        facts = {"info": doc_ori_facts(config, source)}
        notes = _adapt_doc_ori(model, len(facts["info"].labels))
    elif role == names.UVDOC_MODEL:
        source = f"{record.source}: {record.model} (PaddleX inference model via paddle2onnx)"
        facts = {"info": UVDocInfo(available=True, source=source)}
        notes = _adapt_uvdoc(model, config)
    else:
        facts = rec_facts(config)
        notes = _adapt_rec(model, facts)
        changed = set_rec_classes(entry_dir, len(facts["characters"]) + 2)
        if changed:
            written = [str(p.relative_to(repository)) for p in changed]
            notes.append(f"{len(facts['characters']) + 2} classes written into {written}")
    onnx.helper.set_model_props(
        model, {"seal_model": record.model, "seal_model_source": record.source}
    )
    onnx.checker.check_model(model)
    check_against_configs(model, entry_dir)
    (entry_dir / "1").mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(entry_dir / "1" / "model.onnx"))
    if role == names.LAYOUT_MODEL:
        info = LayoutInfo(
            labels=tuple(facts["labels"]),
            seal_label=OFFICIAL_SEAL_LABEL,
            input_hw=facts["input_hw"],
            source=f"{record.source}: {record.model} (PaddleX inference model via paddle2onnx)",
        )
        data = json.loads(info.to_json())
        data["preprocess"] = facts["preprocess"]  # the yml's, for the record
        data["postprocess"] = facts["postprocess"]
        (repository / names.LAYOUT_INFO_FILE).write_text(
            json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8"
        )
        installed["labels"] = facts["labels"]
    elif role == names.TEXT_REC_MODEL:
        (repository / names.CHARACTERS_FILE).write_text(
            "\n".join(facts["characters"]) + "\n", "utf-8"
        )
        installed["characters"] = len(facts["characters"])
    elif role == names.TEXTLINE_ORI_MODEL:
        info = facts["info"]
        (repository / names.TEXTLINE_ORI_INFO_FILE).write_text(info.to_json() + "\n", "utf-8")
        installed["labels"] = list(info.labels)
    elif role == names.DOC_ORI_MODEL:
        (repository / names.DOC_ORI_INFO_FILE).write_text(facts["info"].to_json() + "\n", "utf-8")
        installed["labels"] = list(facts["info"].labels)
    elif role == names.UVDOC_MODEL:
        (repository / names.UVDOC_INFO_FILE).write_text(facts["info"].to_json() + "\n", "utf-8")
    else:
        installed["postprocess"] = facts["postprocess"]
    installed["notes"] = notes
    return installed


def _fetch(role: str, spec: ModelSpec, root: Path) -> tuple[Path, ModelRecord]:
    """Download, verify and extract one official archive: (model directory, record)."""
    print(f"[{role}] {spec.name}: {spec.url}", file=sys.stderr)
    archive = download(spec.url, root / "archives" / f"{spec.name}_infer.tar")
    digest = verify_archive(spec, archive, root / "downloads.json")
    print(f"[{role}] verified {archive.name} sha256 {digest[:16]}...", file=sys.stderr)
    model_dir = extract(archive, root / "work" / spec.name / "paddle")
    record = ModelRecord(model=spec.name, source="official", origin=spec.url, sha256=digest)
    return model_dir, record


def _stage_local(role: str, path: Path, root: Path) -> tuple[Path, ModelRecord]:
    """Stage one local model: (model directory, record)."""
    staged = stage_local(path, root / "work" / f"local-{role}" / "model")
    print(f"[{role}] local {staged.name}: {path} sha256 {staged.sha256[:16]}...", file=sys.stderr)
    record = ModelRecord(
        model=staged.name, source="local", origin=str(Path(path).resolve()), sha256=staged.sha256
    )
    return staged.model_dir, record


def prepare_official(
    repository: Path,
    cache: Path,
    *,
    profile: str = "mobile",
    layout: str | None = None,
    base_url: str | None = None,
    converter_venv: Path = DEFAULT_CONVERTER_VENV,
    local: Mapping[str, Path] | None = None,
    models: Mapping[str, str] | None = None,
    download_official: bool = True,
) -> dict[str, Any]:
    """Install the four roles, converted and checked; returns a summary.

    Each role's model is the official one of ``profile`` (``layout`` and ``models``, role ->
    official name, overriding), downloaded and verified, unless ``local`` maps the role to a
    local model (official_local). ``download_official`` False installs only the roles ``local``
    and ``models`` name (over the stand-ins).
    """
    local, models = dict(local or {}), dict(models or {})
    unknown = (set(local) | set(models)) - set(ROLES)
    if unknown:
        raise OfficialModelError(f"models for unknown roles {sorted(unknown)}: {ROLES}")
    specs = select_models(profile, layout, base_url, models)
    wanted = {*specs, *local} if download_official else {*local, *models}
    roles = tuple(role for role in ROLES if role in wanted)
    root = cache / "official"
    (root / "archives").mkdir(parents=True, exist_ok=True)
    work = root / "work"
    summary: dict[str, Any] = {"profile": profile, "models": {}}
    # local models first (a wrong path fails at once), then every download: an unreachable host
    # fails before any install
    staged = {role: _stage_local(role, local[role], root) for role in roles if role in local}
    for role in roles:
        if role not in local:
            staged[role] = _fetch(role, specs[role], root)
    python = ensure_converter_venv(converter_venv)
    # convert and check every model in a staging copy of the entries; the repository is touched
    # only once every model passed, so a failure never leaves a mix of sources behind
    staging = work / "staging"
    if staging.exists():
        shutil.rmtree(staging)
    for role in roles:
        shutil.copytree(
            repository / role, staging / role,
            ignore=shutil.ignore_patterns("1", "__pycache__", "*.json", "*.txt"),
        )  # fmt: skip
    records = read_model_records(repository)
    for role in roles:
        model_dir, record = staged[role]
        onnx_path = model_dir.parent / "converted.onnx"
        config = convert(python, model_dir, onnx_path)
        if record.source == "local":  # what the fine-tuned model started from, for the record
            base = str((config.get("Global") or {}).get("model_name") or "")
            record = ModelRecord(**{**asdict(record), "base_model": base})
        summary["models"][role] = install_model(role, onnx_path, config, staging, record)
        records[role] = record
        print(f"[{role}] converted and installed", file=sys.stderr)
        for note in summary["models"][role]["notes"]:
            print(f"[{role}]   {note}", file=sys.stderr)
    for path in sorted(p for p in staging.rglob("*") if p.is_file()):
        target = repository / path.relative_to(staging)
        if path.suffix == ".pbtxt" and target.read_bytes() == path.read_bytes():
            continue  # configs keep their bytes and mtime unless the model needs a change
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    write_model_records(repository, records)
    (root / "installed.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary
