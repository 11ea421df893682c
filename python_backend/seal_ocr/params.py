"""Defaults and per-request options of the seal pipeline: the one source of truth.

Names and defaults are PaddleX 3.x ``seal_recognition`` ``predict()`` keywords and the values of
its ``seal_recognition.yaml`` (see ``paddlex-seal-pipeline.md`` §1). The ensemble takes them as a
JSON object (``OPTIONS``); :func:`parse_options` validates that object and fills in defaults.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from seal_ocr.errors import InvalidOptionError

LIMIT_TYPES = ("min", "max", "resize_long")
MERGE_MODES = ("large", "small", "union")


@dataclass(frozen=True)
class LayoutParams:
    """Layout post-processing. ``threshold`` may map class id -> threshold (others: 0.5)."""

    threshold: float | Mapping[int, float] = 0.5
    nms: bool = True
    unclip_ratio: float | tuple[float, float] = 1.0
    merge_bboxes_mode: str | Mapping[int, str] = "large"
    # not PaddleX: exempt seal boxes from merge removal (PaddleOCR#18306); off = PaddleX's result
    keep_nested_seals: bool = False


@dataclass(frozen=True)
class SealDetParams:
    """DB seal text detection (PP-OCRv4 seal det defaults, ``text_type == "seal"``)."""

    limit_side_len: int = 736
    limit_type: str = "min"
    max_side_limit: int = 4000
    thresh: float = 0.2
    box_thresh: float = 0.6
    unclip_ratio: float = 0.5

    def as_text_det_params(self) -> dict[str, Any]:
        """The ``text_det_params`` block of a PaddleX seal result, keys in PaddleX order."""
        return {
            "limit_side_len": self.limit_side_len,
            "limit_type": self.limit_type,
            "thresh": self.thresh,
            "max_side_limit": self.max_side_limit,
            "box_thresh": self.box_thresh,
            "unclip_ratio": self.unclip_ratio,
        }


@dataclass(frozen=True)
class PipelineOptions:
    """Everything one request may set; the defaults are PaddleX's."""

    use_layout_detection: bool = True
    layout: LayoutParams = field(default_factory=LayoutParams)
    seal_det: SealDetParams = field(default_factory=SealDetParams)
    seal_rec_score_thresh: float = 0.0

    def to_json(self) -> str:
        """Serialise (for passing between ensemble steps); inverse of :func:`options_from_json`."""
        data = asdict(self)
        layout = data["layout"]
        for key in ("threshold", "merge_bboxes_mode"):
            if isinstance(layout[key], Mapping):
                layout[key] = {str(k): v for k, v in layout[key].items()}
        return json.dumps(data, sort_keys=True)


def options_from_json(text: str) -> PipelineOptions:
    """Rebuild :class:`PipelineOptions` written by :meth:`PipelineOptions.to_json`."""
    data = json.loads(text)
    layout = dict(data["layout"])
    for key in ("threshold", "merge_bboxes_mode"):
        if isinstance(layout[key], dict):
            layout[key] = {int(k): v for k, v in layout[key].items()}
    if isinstance(layout["unclip_ratio"], list):
        layout["unclip_ratio"] = tuple(layout["unclip_ratio"])
    return PipelineOptions(
        use_layout_detection=data["use_layout_detection"],
        layout=LayoutParams(**layout),
        seal_det=SealDetParams(**data["seal_det"]),
        seal_rec_score_thresh=data["seal_rec_score_thresh"],
    )


# PaddleX predict() keyword -> (parser, where it goes). Order = PaddleX's signature.
OPTION_NAMES = (
    "use_doc_orientation_classify",
    "use_doc_unwarping",
    "use_layout_detection",
    "layout_threshold",
    "layout_nms",
    "layout_unclip_ratio",
    "layout_merge_bboxes_mode",
    "seal_det_limit_side_len",
    "seal_det_limit_type",
    "seal_det_thresh",
    "seal_det_box_thresh",
    "seal_det_unclip_ratio",
    "seal_rec_score_thresh",
)
# our own options, beyond PaddleX's keywords
EXTENSION_OPTION_NAMES = ("keep_nested_seals",)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidOptionError(f"option {name!r} must be true or false, got {value!r}")
    return value


def _number(name: str, value: Any, *, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidOptionError(f"option {name!r} must be a number, got {value!r}")
    value = float(value)
    if not (low <= value <= high) or math.isnan(value):
        raise InvalidOptionError(f"option {name!r} must be in [{low}, {high}], got {value}")
    return value


def _positive_or_default(name: str, value: Any, default: float, high: float = math.inf) -> float:
    """PaddleX applies ``x or default``: 0 means "use the default"; negatives are refused."""
    number = _number(name, value, low=0.0, high=high)
    return default if number == 0 else number


def _class_map(name: str, value: Any, parse_value) -> dict[int, Any]:
    out = {}
    for key, item in value.items():
        try:
            cls_id = int(key)
        except (TypeError, ValueError):
            raise InvalidOptionError(
                f"option {name!r}: class id {key!r} is not an integer"
            ) from None
        if cls_id < 0:
            raise InvalidOptionError(f"option {name!r}: class id {cls_id} is negative")
        out[cls_id] = parse_value(f"{name}[{key}]", item)
    return out


def _threshold(name: str, value: Any) -> float | dict[int, float]:
    if isinstance(value, Mapping):
        return _class_map(name, value, lambda n, v: _number(n, v, low=0.0, high=1.0))
    return _number(name, value, low=0.0, high=1.0)


def _unclip(name: str, value: Any) -> float | tuple[float, float]:
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise InvalidOptionError(f"option {name!r} must be a number or [w, h], got {value!r}")
        return tuple(_number(name, v, low=1e-6, high=100.0) for v in value)
    return _number(name, value, low=1e-6, high=100.0)


def _merge_mode(name: str, value: Any) -> str | dict[int, str]:
    if isinstance(value, Mapping):
        return _class_map(name, value, _merge_mode)
    if value not in MERGE_MODES:
        raise InvalidOptionError(f"option {name!r} must be one of {MERGE_MODES}, got {value!r}")
    return value


def parse_options(
    raw: Mapping[str, Any] | None, base: PipelineOptions | None = None
) -> PipelineOptions:
    """Validate request options (PaddleX keyword names) over ``base`` (server defaults).

    ``None`` values mean "not set", as in PaddleX. Raises :class:`InvalidOptionError` naming the
    first bad option.
    """
    options = base or PipelineOptions()
    if raw is None:
        return options
    if not isinstance(raw, Mapping):
        raise InvalidOptionError(f"options must be a JSON object, got {type(raw).__name__}")
    known = OPTION_NAMES + EXTENSION_OPTION_NAMES
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise InvalidOptionError(f"unknown option(s) {unknown}; known: {list(known)}")
    given = {k: v for k, v in raw.items() if v is not None}
    layout, det = options.layout, options.seal_det

    for name in ("use_doc_orientation_classify", "use_doc_unwarping"):
        if name in given and _bool(name, given[name]):
            raise InvalidOptionError(
                f"option {name!r}: the document preprocessor is not deployed in this service"
            )
    if "use_layout_detection" in given:
        options = replace(
            options,
            use_layout_detection=_bool("use_layout_detection", given["use_layout_detection"]),
        )
    if "layout_threshold" in given:
        layout = replace(
            layout, threshold=_threshold("layout_threshold", given["layout_threshold"])
        )
    if "layout_nms" in given:
        layout = replace(layout, nms=_bool("layout_nms", given["layout_nms"]))
    if "layout_unclip_ratio" in given:
        layout = replace(
            layout, unclip_ratio=_unclip("layout_unclip_ratio", given["layout_unclip_ratio"])
        )
    if "layout_merge_bboxes_mode" in given:
        mode = _merge_mode("layout_merge_bboxes_mode", given["layout_merge_bboxes_mode"])
        layout = replace(layout, merge_bboxes_mode=mode)

    if "keep_nested_seals" in given:
        keep = _bool("keep_nested_seals", given["keep_nested_seals"])
        layout = replace(layout, keep_nested_seals=keep)

    if "seal_det_limit_side_len" in given:
        value = given["seal_det_limit_side_len"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidOptionError(
                f"option 'seal_det_limit_side_len' must be an integer, got {value!r}"
            )
        limit = int(
            _positive_or_default("seal_det_limit_side_len", value, det.limit_side_len, 16000)
        )
        det = replace(det, limit_side_len=limit)
    if "seal_det_limit_type" in given:
        value = given["seal_det_limit_type"]
        if value not in LIMIT_TYPES:
            raise InvalidOptionError(
                f"option 'seal_det_limit_type' must be one of {LIMIT_TYPES}, got {value!r}"
            )
        det = replace(det, limit_type=value)
    if "seal_det_thresh" in given:
        det = replace(
            det,
            thresh=_positive_or_default(
                "seal_det_thresh", given["seal_det_thresh"], det.thresh, 1.0
            ),
        )
    if "seal_det_box_thresh" in given:
        value = _positive_or_default(
            "seal_det_box_thresh", given["seal_det_box_thresh"], det.box_thresh, 1.0
        )
        det = replace(det, box_thresh=value)
    if "seal_det_unclip_ratio" in given:
        value = _positive_or_default(
            "seal_det_unclip_ratio", given["seal_det_unclip_ratio"], det.unclip_ratio, 100.0
        )
        det = replace(det, unclip_ratio=value)
    if "seal_rec_score_thresh" in given:
        value = _number("seal_rec_score_thresh", given["seal_rec_score_thresh"], low=0.0, high=1.0)
        options = replace(options, seal_rec_score_thresh=value)
    return replace(options, layout=layout, seal_det=det)


def parse_options_json(
    text: str | bytes | None, base: PipelineOptions | None = None
) -> PipelineOptions:
    """Parse the ensemble's ``OPTIONS`` tensor: UTF-8 JSON object, or empty for defaults."""
    if text is None:
        return base or PipelineOptions()
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidOptionError("OPTIONS is not UTF-8 text") from None
    if not text.strip():
        return base or PipelineOptions()
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidOptionError(f"OPTIONS is not valid JSON: {exc}") from None
    return parse_options(raw, base)
