"""Lay out our ONNX models as PaddleX 3.7.2 local model folders, plus the pipeline configs.

Runs in either venv (stdlib only at import; the YAML is written by hand because the main venv has
no PyYAML; building the folders needs ``onnx`` and the project's ``seal_ocr``, i.e. the main
venv). From model_repository/ it builds, under --out:

  PicoDet_layout_1x/         inference.onnx (layout/1/model.onnx without its per-image padding:
                             the PaddleDetection export PaddleX reads) + inference.yml
  PP-OCRv4_mobile_seal_det/  inference.onnx (seal_det) + inference.yml
  PP-OCRv4_mobile_rec/       inference.onnx (text_rec) + inference.yml (character_dict from
                             text_rec/characters.txt)
  seal_recognition_layout.yaml, seal_recognition_nolayout.yaml   (create_pipeline configs)

The yml contents and the pipeline configs are described in ``docs/pipeline.md`` §11.1. The
served layout model is the export (outputs ``bbox`` [K, 6] + ``bbox_num`` [N], read by PaddleX's
detection predictor by position) plus nodes that pad the rows per image into ``boxes``
[N, 1000, 6] + ``box_count`` [N] for Triton (tools/models/layout_contract.py); PaddleX gets the
served file with those nodes removed: the same nodes and weights up to the export's outputs, so
a layout box the padding lost would show as a parity difference.

Our layout labels are used with the seal stand-in label (`figure` for CDLA) renamed `seal`, since
PaddleX only crops boxes labelled "seal".

PaddleX's ONNX Runtime runner feeds inputs by the session's own input names (after sorting them
alphabetically, which matches the order its predictors emit), so our renamed tensors
(`images`, `line_images`, `image` + `scale_factor`) work as they are: no renamed copy is needed.

    python -m parity.build_paddlex_models [--repo model_repository] [--out .build/paddlex/models]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REPO = ROOT / "model_repository"
DEFAULT_OUT = ROOT / ".build" / "paddlex" / "models"

LAYOUT_NAME = "PicoDet_layout_1x"
DET_NAME = "PP-OCRv4_mobile_seal_det"
REC_NAME = "PP-OCRv4_mobile_rec"

# --------------------------------------------------------------------------- tiny YAML writer


def _yaml_str(s: str) -> str:
    """A YAML double-quoted scalar that PyYAML (YAML 1.1) reads back as exactly `s`."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif 0x20 <= o < 0x7F:
            out.append(ch)
        elif (
            o >= 0xA0
            and o not in (0x2028, 0x2029, 0xFEFF)  # YAML 1.1 line breaks / BOM
            and not 0xD800 <= o <= 0xDFFF
            and o not in (0xFFFE, 0xFFFF)
        ):
            out.append(ch)  # printable in YAML 1.1 (incl. U+3000 and non-BMP characters)
        elif o <= 0xFFFF:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def _scalar(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return _yaml_str(v)
    raise TypeError(f"unsupported YAML scalar {v!r}")


def _is_flow(v) -> bool:
    """Short lists of scalars are written inline, e.g. mean: [0.485, 0.456, 0.406]."""
    return isinstance(v, list) and len(v) <= 8 and all(not isinstance(x, (dict, list)) for x in v)


def _emit(v, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    if isinstance(v, dict):
        for k, x in v.items():
            if (isinstance(x, dict) and x) or (isinstance(x, list) and x and not _is_flow(x)):
                lines.append(f"{pad}{k}:")
                _emit(x, indent + 2, lines)
            elif isinstance(x, list):
                lines.append(f"{pad}{k}: [{', '.join(_scalar(i) for i in x)}]")
            elif isinstance(x, dict):
                lines.append(f"{pad}{k}: {{}}")
            else:
                lines.append(f"{pad}{k}: {_scalar(x)}")
    elif isinstance(v, list):
        for x in v:
            if isinstance(x, dict) and x:
                sub: list[str] = []
                _emit(x, indent + 2, sub)
                lines.append(f"{pad}- {sub[0][indent + 2 :]}")
                lines.extend(sub[1:])
            elif isinstance(x, list):
                lines.append(f"{pad}- [{', '.join(_scalar(i) for i in x)}]")
            else:
                lines.append(f"{pad}- {_scalar(x)}")
    else:
        lines.append(pad + _scalar(v))


def to_yaml(obj: dict) -> str:
    lines: list[str] = []
    _emit(obj, 0, lines)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- model folders


def det_yml() -> dict:
    """PaddleOCR export format; values of PaddleOCR's PP-OCRv4_mobile_seal_det.yml (configs/det)."""
    from seal_ocr.image_io import IMAGENET_MEAN, IMAGENET_STD  # main venv only (see the top)

    return {
        "Global": {"model_name": DET_NAME},
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
                {"DetLabelEncode": None},
                {"DetResizeForTest": {"resize_long": 736}},
                {
                    "NormalizeImage": {
                        "scale": "1./255.",
                        "mean": list(IMAGENET_MEAN),
                        "std": list(IMAGENET_STD),
                        "order": "hwc",
                    }
                },
                {"ToCHWImage": None},
                {"KeepKeys": {"keep_keys": ["image", "shape", "polys", "ignore_tags"]}},
            ]
        },
        "PostProcess": {
            "name": "DBPostProcess",
            "thresh": 0.2,
            "box_thresh": 0.6,
            "max_candidates": 1000,
            "unclip_ratio": 0.5,
            "box_type": "poly",
        },
    }


def rec_yml(characters: list[str]) -> dict:
    return {
        "Global": {"model_name": REC_NAME},
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
                {"MultiLabelEncode": {"gtc_encode": "NRTRLabelEncode"}},
                {"RecResizeImg": {"image_shape": [3, 48, 320]}},
                {
                    "KeepKeys": {
                        "keep_keys": ["image", "label_ctc", "label_gtc", "length", "valid_ratio"]
                    }
                },
            ]
        },
        "PostProcess": {"name": "CTCLabelDecode", "character_dict": characters},
    }


def layout_yml(labels: list[str], input_hw: list[int]) -> dict:
    """PaddleDetection export format (note `Preprocess`, a list of maps with `type`)."""
    from seal_ocr.image_io import IMAGENET_MEAN, IMAGENET_STD  # main venv only (see the top)

    return {
        "Global": {"model_name": LAYOUT_NAME},
        "mode": "paddle",
        "draw_threshold": 0.5,
        "metric": "COCO",
        "use_dynamic_shape": False,
        "arch": "PicoDet",
        "min_subgraph_size": 3,
        "Preprocess": [
            {"type": "Resize", "target_size": list(input_hw), "keep_ratio": False, "interp": 2},
            {
                "type": "NormalizeImage",
                "mean": list(IMAGENET_MEAN),
                "std": list(IMAGENET_STD),
                "is_scale": True,
            },
            {"type": "Permute"},
        ],
        "label_list": labels,
    }


def create_seal_pipeline(models: Path, use_layout: bool):
    """PaddleX's seal_recognition on the stand-in folders in ``models``, ONNX Runtime on CPU."""
    from paddlex import create_pipeline

    return create_pipeline(
        config=pipeline_config(models, use_layout), device="cpu", engine="onnxruntime"
    )


def predict_image(pipeline, path: Path, use_layout: bool) -> list:
    """One image file through PaddleX as a user calls it (doc preprocessor off)."""
    return list(
        pipeline.predict(
            str(path),
            use_doc_orientation_classify=False,
            use_doc_unwarping=False,
            use_layout_detection=use_layout,
        )
    )


def pipeline_config(models: Path, use_layout: bool) -> dict:
    """doc §5: PaddleX's seal_recognition.yaml values with our stand-in model names and dirs."""
    cfg: dict = {
        "pipeline_name": "seal_recognition",
        "use_doc_preprocessor": False,
        "use_layout_detection": use_layout,
    }
    if use_layout:
        cfg["SubModules"] = {
            "LayoutDetection": {
                "module_name": "layout_detection",
                "model_name": LAYOUT_NAME,
                "model_dir": str(models / LAYOUT_NAME),
                "engine": "onnxruntime",
                "threshold": 0.5,
                "layout_nms": True,
                "layout_unclip_ratio": 1.0,
                "layout_merge_bboxes_mode": "large",
            }
        }
    cfg["SubPipelines"] = {
        "SealOCR": {
            "pipeline_name": "OCR",
            "text_type": "seal",
            "use_doc_preprocessor": False,
            "use_textline_orientation": False,
            "SubModules": {
                "TextDetection": {
                    "module_name": "seal_text_detection",
                    "model_name": DET_NAME,
                    "model_dir": str(models / DET_NAME),
                    "limit_side_len": 736,
                    "limit_type": "min",
                    # as in the official yaml; ignored (the key PaddleX reads is max_side_limit)
                    "max_side_len": 4000,
                    "thresh": 0.2,
                    "box_thresh": 0.6,
                    "unclip_ratio": 0.5,
                },
                "TextRecognition": {
                    "module_name": "text_recognition",
                    "model_name": REC_NAME,
                    "model_dir": str(models / REC_NAME),
                    "batch_size": 1,
                    "score_thresh": 0,
                },
            },
        }
    }
    return cfg


def _link_or_copy(src: Path, dst: Path) -> None:
    if dst.exists() or dst.is_symlink():
        if dst.stat().st_ino == src.stat().st_ino:
            return
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _layout_export(src: Path, dst: Path) -> None:
    """The served layout model without its per-image padding (module doc), written to ``dst``."""
    import onnx

    from tools.models.layout_contract import strip_per_image

    data = strip_per_image(onnx.load(str(src))).SerializeToString()
    if dst.is_file() and dst.read_bytes() == data:
        return
    dst.unlink(missing_ok=True)  # an older build hard-linked the served file: never write into it
    dst.write_bytes(data)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def build(repo: Path, out: Path) -> dict:
    info = json.loads((repo / "layout" / "layout_info.json").read_text(encoding="utf-8"))
    seal_label = info.get("seal_label", "seal")
    labels = ["seal" if lab == seal_label else lab for lab in info["labels"]]
    if labels.count("seal") != 1:
        raise SystemExit(f"expected exactly one seal label after renaming {seal_label!r}: {labels}")
    input_hw = info.get("input_hw", [800, 608])

    chars_text = (repo / "text_rec" / "characters.txt").read_text(encoding="utf-8")
    characters = chars_text.split("\n")
    if characters and characters[-1] == "":
        characters.pop()  # trailing newline
    if len(characters) != 6623:
        print(f"warning: {len(characters)} characters (expected 6623)", file=sys.stderr)

    folders = {
        LAYOUT_NAME: ("layout", layout_yml(labels, input_hw)),
        DET_NAME: ("seal_det", det_yml()),
        REC_NAME: ("text_rec", rec_yml(characters)),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, (repo_model, yml) in folders.items():
        src = repo / repo_model / "1" / "model.onnx"
        if not src.is_file():
            raise SystemExit(f"{src} missing: run `make models` first")
        (out / name).mkdir(exist_ok=True)
        if name == LAYOUT_NAME:
            _layout_export(src, out / name / "inference.onnx")
        else:
            _link_or_copy(src, out / name / "inference.onnx")
        _write(out / name / "inference.yml", to_yaml(yml))

    configs = {}
    for mode, use_layout in (("layout", True), ("nolayout", False)):
        path = out / f"seal_recognition_{mode}.yaml"
        _write(path, to_yaml(pipeline_config(out, use_layout)))
        configs[mode] = str(path)
    return {"models": str(out), "labels": labels, "characters": len(characters), "configs": configs}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--repo",
        type=Path,
        default=DEFAULT_REPO,
        help="Triton model repository (default: %(default)s)",
    )
    ap.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)"
    )
    args = ap.parse_args(argv)
    summary = build(args.repo.resolve(), args.out.resolve())
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
