"""What an archive's ``inference.yml`` asks for, checked against what ``seal_ocr`` implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seal_ocr.doc_ori import ANGLES, DocOriInfo
from seal_ocr.layout import IMAGENET_MEAN, IMAGENET_STD
from seal_ocr.params import MERGE_MODES
from seal_ocr.textline_ori import TextlineOriInfo
from tools.models.official_catalog import OfficialModelError

OFFICIAL_SEAL_LABEL = "seal"
REC_HEIGHT = 48  # seal_ocr.rec resizes lines to this height


def _ops(config: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Preprocessing ops as (name, args): PaddleDetection ``Preprocess: [{type: ...}]`` or
    PaddleOCR ``PreProcess: {transform_ops: [{Name: {...}}]}``."""
    if isinstance(config.get("Preprocess"), list):
        return [(op["type"], op) for op in config["Preprocess"]]
    ops = []
    for op in (config.get("PreProcess") or {}).get("transform_ops", []):
        [(name, args)] = op.items()
        ops.append((name, args or {}))
    return ops


def _scale(value: Any) -> float:
    if isinstance(value, str):  # PaddleOCR writes "1./255."
        numerator, _, denominator = value.partition("/")
        return float(numerator) / float(denominator or 1)
    return float(value)


@dataclass(frozen=True)
class Normalisation:
    """x_model = (v * scale - mean) / std per channel, v the 0..255 pixel."""

    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


# the yml keys PaddleX's detection predictor reads for layout post-processing (its defaults
# when neither the pipeline config nor the request gives them), and what seal_ocr.layout does
# with each; anything else in the yml is not read by PaddleX either
LAYOUT_POSTPROCESS_KEYS = (
    "draw_threshold", "layout_nms", "layout_unclip_ratio", "layout_merge_bboxes_mode"
)  # fmt: skip
LAYOUT_ARCHS = ("PicoDet", "DETR")  # the export forms layout_contract pads (ragged bbox/bbox_num)


def _check_layout_postprocess(config: dict[str, Any]) -> dict[str, Any]:
    """The yml's post-processing settings, refused when seal_ocr.layout cannot apply them."""
    post = {key: config[key] for key in LAYOUT_POSTPROCESS_KEYS if key in config}
    problems = []
    threshold = post.get("draw_threshold", 0.5)
    if not isinstance(threshold, int | float) and not (
        isinstance(threshold, dict) and all(isinstance(v, int | float) for v in threshold.values())
    ):
        problems.append(f"draw_threshold {threshold!r} (a number or {{class id: number}})")
    if not isinstance(post.get("layout_nms", False), bool):
        problems.append(f"layout_nms {post['layout_nms']!r} (true or false)")
    ratio = post.get("layout_unclip_ratio", 1.0)
    if ratio is not None and not isinstance(ratio, int | float | list | tuple | dict):
        problems.append(f"layout_unclip_ratio {ratio!r}")
    mode = post.get("layout_merge_bboxes_mode")
    if mode is not None and not (
        mode in MERGE_MODES or (isinstance(mode, dict) and set(mode.values()) <= set(MERGE_MODES))
    ):
        problems.append(f"layout_merge_bboxes_mode {mode!r} (one of {MERGE_MODES} or per class)")
    arch = str(config.get("arch", "PicoDet"))
    if arch not in LAYOUT_ARCHS:
        problems.append(f"arch {arch!r} (seal_ocr reads the {LAYOUT_ARCHS} export forms)")
    if problems:
        raise OfficialModelError(f"layout post-processing not implemented: {'; '.join(problems)}")
    return {**post, "arch": arch, **({"NMS": config["NMS"]} if "NMS" in config else {})}


def layout_facts(config: dict[str, Any]) -> dict[str, Any]:
    ops = dict(_ops(config))
    resize = ops.get("Resize")
    if resize is None or resize.get("keep_ratio", False) or int(resize.get("interp", 2)) != 2:
        raise OfficialModelError(
            f"layout preprocessing {resize!r}: seal_ocr.layout implements Resize with "
            "keep_ratio false and interp 2 (bicubic) only"
        )
    unknown = set(ops) - {"Resize", "NormalizeImage", "Permute", "ToCHWImage"}
    if unknown:
        raise OfficialModelError(f"layout preprocessing ops {sorted(unknown)} not implemented")
    norm = ops.get("NormalizeImage", {"mean": [0, 0, 0], "std": [1, 1, 1], "is_scale": True})
    if norm.get("norm_type", "mean_std") not in ("mean_std", "none"):
        raise OfficialModelError(f"layout NormalizeImage {norm!r} not implemented")
    if norm.get("norm_type") == "none":
        norm = {**norm, "mean": [0, 0, 0], "std": [1, 1, 1]}
    labels = [str(label) for label in config.get("label_list", [])]
    if OFFICIAL_SEAL_LABEL not in labels:
        raise OfficialModelError(f"layout label_list {labels} has no {OFFICIAL_SEAL_LABEL!r}")
    height, width = (int(v) for v in resize["target_size"])
    return {
        "labels": labels,
        "input_hw": (height, width),
        "normalisation": Normalisation(
            scale=1 / 255 if norm.get("is_scale", True) else 1.0,
            mean=tuple(float(v) for v in norm["mean"]),
            std=tuple(float(v) for v in norm["std"]),
        ),
        "preprocess": [op for _, op in _ops(config)],
        "postprocess": _check_layout_postprocess(config),
    }


def det_facts(config: dict[str, Any]) -> dict[str, Any]:
    ops = dict(_ops(config))
    decode = ops.get("DecodeImage", {})
    if str(decode.get("img_mode", "BGR")).upper() != "BGR":
        raise OfficialModelError(f"seal det DecodeImage {decode!r}: seal_ocr feeds BGR")
    norm = ops.get("NormalizeImage", {})
    if norm.get("order", "hwc") != "hwc":
        raise OfficialModelError(f"seal det NormalizeImage order {norm.get('order')!r}")
    post = config.get("PostProcess") or {}
    if post.get("name", "DBPostProcess") != "DBPostProcess":
        raise OfficialModelError(f"seal det post-process {post.get('name')!r} is not DB")
    if post.get("box_type", "poly") != "poly":
        print(f"  note: seal det yml box_type {post.get('box_type')!r}; seal_ocr uses poly")
    return {
        "normalisation": Normalisation(
            scale=_scale(norm.get("scale", 1 / 255)),
            mean=tuple(float(v) for v in norm.get("mean", IMAGENET_MEAN)),
            std=tuple(float(v) for v in norm.get("std", IMAGENET_STD)),
        ),
        "postprocess": {k: v for k, v in post.items() if k != "name"},
    }


def rec_facts(config: dict[str, Any]) -> dict[str, Any]:
    ops = dict(_ops(config))
    shape = (ops.get("RecResizeImg") or {}).get("image_shape", [3, REC_HEIGHT, 320])
    if int(shape[1]) != REC_HEIGHT:
        raise OfficialModelError(f"rec image_shape {shape}: seal_ocr.rec resizes to height 48")
    post = config.get("PostProcess") or {}
    if post.get("name") != "CTCLabelDecode":
        raise OfficialModelError(f"rec post-process {post.get('name')!r} is not CTCLabelDecode")
    characters = [str(c) for c in post.get("character_dict") or []]
    if not characters:
        raise OfficialModelError("rec inference.yml has no PostProcess.character_dict")
    return {"characters": characters, "image_shape": list(shape)}


def textline_ori_facts(config: dict[str, Any], source: str = "") -> TextlineOriInfo:
    """The text-line orientation model's input recipe, as PaddleX's ``ClasPredictor`` runs it
    (``PP-LCNet_x0_25_textline_ori``): the line read as RGB, ``ResizeImage`` ``size`` [w, h]
    (stretched, bilinear), ``NormalizeImage`` per channel, ``ToCHWImage``; ``Topk`` labels, the
    one naming 180 degrees turns a line, the top-1 class decides (no threshold)."""
    ops = dict(_ops(config))
    unknown = set(ops) - {"ResizeImage", "NormalizeImage", "ToCHWImage"}
    resize = ops.get("ResizeImage") or {}
    if unknown or "size" not in resize or resize.get("resize_short"):
        raise OfficialModelError(
            f"textline_ori preprocessing {[name for name, _ in _ops(config)]} {resize!r}: "
            "seal_ocr.textline_ori implements ResizeImage to a fixed size, NormalizeImage and "
            "ToCHWImage only"
        )
    width, height = (int(v) for v in resize["size"])
    if str(resize.get("interpolation", "LINEAR")).upper() != "LINEAR":
        raise OfficialModelError(f"textline_ori ResizeImage {resize!r}: bilinear only")
    norm = ops.get("NormalizeImage", {})
    if norm.get("order", "") not in ("", "hwc") or int(norm.get("channel_num", 3)) != 3:
        raise OfficialModelError(f"textline_ori NormalizeImage {norm!r} not implemented")
    labels = [
        str(label)
        for label in ((config.get("PostProcess") or {}).get("Topk") or {}).get("label_list") or []
    ]
    turned = [i for i, label in enumerate(labels) if "180" in label]
    if len(labels) != 2 or len(turned) != 1:
        raise OfficialModelError(
            f"textline_ori Topk label_list {labels}: two classes, one of them 180 degrees"
        )
    return TextlineOriInfo(
        input_hw=(height, width),
        keep_ratio=False,
        channels="RGB",  # ClasPredictor reads every image as RGB
        scale=_scale(norm.get("scale", 1 / 255)),
        mean=tuple(float(v) for v in norm.get("mean", IMAGENET_MEAN)),
        std=tuple(float(v) for v in norm.get("std", IMAGENET_STD)),
        labels=tuple(labels),
        turned_class=turned[0],
        min_score=0.0,
        source=source,
    )


def doc_ori_facts(config: dict[str, Any], source: str = "") -> DocOriInfo:
    """The page orientation model's input recipe, as PaddleX's ``ClasPredictor`` runs it
    (``PP-LCNet_x1_0_doc_ori``): the page read as RGB, ``ResizeImage`` ``resize_short`` (bilinear),
    ``CropImage`` ``size`` (centre), ``NormalizeImage`` per channel, ``ToCHWImage``; ``Topk``
    labels, each an angle in degrees, the top-1 class decides."""
    ops = dict(_ops(config))
    resize, crop = ops.get("ResizeImage") or {}, ops.get("CropImage") or {}
    unknown = set(ops) - {"ResizeImage", "CropImage", "NormalizeImage", "ToCHWImage"}
    if unknown or "resize_short" not in resize or "size" not in crop:
        raise OfficialModelError(
            f"doc_ori preprocessing {[name for name, _ in _ops(config)]}: seal_ocr.doc_ori "
            "implements ResizeImage resize_short, CropImage, NormalizeImage and ToCHWImage only"
        )
    if str(resize.get("interpolation", "LINEAR")).upper() != "LINEAR":
        raise OfficialModelError(f"doc_ori ResizeImage {resize!r}: bilinear only")
    norm = ops.get("NormalizeImage", {})
    if norm.get("order", "") not in ("", "hwc") or int(norm.get("channel_num", 3)) != 3:
        raise OfficialModelError(f"doc_ori NormalizeImage {norm!r} not implemented")
    topk = (config.get("PostProcess") or {}).get("Topk") or {}
    labels = [str(label) for label in topk.get("label_list") or []]
    if not labels or any(not label.isdigit() or int(label) not in ANGLES for label in labels):
        raise OfficialModelError(f"doc_ori Topk label_list {labels}: angles among {ANGLES}")
    return DocOriInfo(
        resize_short=int(resize["resize_short"]),
        crop=int(crop["size"]),
        scale=_scale(norm.get("scale", 1 / 255)),
        mean=_three(norm.get("mean", IMAGENET_MEAN)),
        std=_three(norm.get("std", IMAGENET_STD)),
        labels=tuple(labels),
        available=True,
        source=source,
    )


def _three(values: Any) -> tuple[float, float, float]:
    numbers = [float(v) for v in values]
    if len(numbers) != 3:
        raise OfficialModelError(f"expected one value per channel, got {numbers}")
    return numbers[0], numbers[1], numbers[2]
