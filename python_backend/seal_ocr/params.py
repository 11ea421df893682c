"""Defaults and per-request options of the seal pipeline: the one source of truth.

Names and defaults are PaddleX 3.x ``seal_recognition`` ``predict()`` keywords and the values of
its ``seal_recognition.yaml``. The ensemble takes them as a JSON object (``OPTIONS``);
:func:`parse_options` validates that object and fills in defaults.

:data:`OPTIONS` is the option table: one row per option (name, value kind with its range, where
the value goes in :class:`PipelineOptions`, help). Everything else that lists options is
derived from it: :func:`parse_options`, the client's command-line flags
(``seal_client.cli``), the HTTP request schema with its camelCase fields
(``seal_api.schemas``) and the README's option table (:func:`options_markdown`, kept equal by a
unit test). Adding an option is one row here (and, when the pipeline uses its value, the
dataclass field that carries it, whose default is the option's default).
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

    # PaddleX's document preprocessor, orientation only: classify the page's angle and turn it
    # upright before layout detection (seal_ocr.doc_ori); off = PaddleX's seal result without it
    use_doc_orientation_classify: bool = False
    # and unwarping (seal_ocr.uvdoc), after the turn
    use_doc_unwarping: bool = False
    use_layout_detection: bool = True
    layout: LayoutParams = field(default_factory=LayoutParams)
    seal_det: SealDetParams = field(default_factory=SealDetParams)
    seal_rec_score_thresh: float = 0.0
    # not PaddleX's seal pipeline (its OCR sub-pipeline keeps the step off): turn upside-down
    # text lines before reading them (seal_ocr.textline_ori); off = PaddleX's result
    use_textline_orientation: bool = False
    # ours: read every seal region turned 0/90/180/270 degrees, keep the best mean score
    # (seal_ocr.pipeline.seal_regions); off = PaddleX's result
    use_seal_quarter_turns: bool = False

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
        **{
            **data,
            "layout": LayoutParams(**layout),
            "seal_det": SealDetParams(**data["seal_det"]),
        }
    )


# --- value kinds: how one option's JSON value is checked, and how it is described ------------


def _number(name: str, value: Any, *, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidOptionError(f"option {name!r} must be a number, got {value!r}")
    value = float(value)
    if not (low <= value <= high) or math.isnan(value):
        raise InvalidOptionError(f"option {name!r} must be in [{low}, {high}], got {value}")
    return value


@dataclass(frozen=True)
class Flag:
    """``true`` or ``false``."""

    def parse(self, name: str, value: Any, current: Any) -> bool:
        if not isinstance(value, bool):
            raise InvalidOptionError(f"option {name!r} must be true or false, got {value!r}")
        return value

    def describe(self) -> str:
        return "bool"


@dataclass(frozen=True)
class Number:
    """A number in ``[low, high]``; ``integer``: JSON integers only. ``zero_is_default``: 0 means
    the current value (PaddleX resolves these overrides with ``x or default``)."""

    low: float
    high: float = math.inf
    integer: bool = False
    zero_is_default: bool = False

    def parse(self, name: str, value: Any, current: Any) -> float | int:
        if self.integer and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidOptionError(f"option {name!r} must be an integer, got {value!r}")
        number = _number(name, value, low=self.low, high=self.high)
        if self.zero_is_default and number == 0:
            number = current
        return int(number) if self.integer else number

    def describe(self) -> str:
        what = "integer" if self.integer else "number"
        span = f"≥ {self.low:g}" if math.isinf(self.high) else f"in [{self.low:g}, {self.high:g}]"
        return f"{what} {span}" + ("; 0 means the default" if self.zero_is_default else "")


@dataclass(frozen=True)
class Choice:
    """One of ``values`` (JSON strings)."""

    values: tuple[str, ...]

    def parse(self, name: str, value: Any, current: Any) -> str:
        if not isinstance(value, str) or value not in self.values:
            raise InvalidOptionError(f"option {name!r} must be one of {self.values}, got {value!r}")
        return value

    def describe(self) -> str:
        return ", ".join(f'`"{value}"`' for value in self.values)


@dataclass(frozen=True)
class PerClass:
    """``inner``, or a JSON object mapping layout class ids (``"2"``) to ``inner`` values."""

    inner: Number | Choice

    def parse(self, name: str, value: Any, current: Any) -> Any:
        if not isinstance(value, Mapping):
            return self.inner.parse(name, value, current)
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
            out[cls_id] = self.inner.parse(f"{name}[{key}]", item, None)
        return out

    def describe(self) -> str:
        return f'{self.inner.describe()}, or `{{"cls_id": value}}` per layout class'


@dataclass(frozen=True)
class Pair:
    """``inner``, or ``[w, h]``: one ``inner`` value per axis."""

    inner: Number

    def parse(self, name: str, value: Any, current: Any) -> Any:
        if not isinstance(value, list | tuple):
            return self.inner.parse(name, value, current)
        if len(value) != 2:
            raise InvalidOptionError(f"option {name!r} must be a number or [w, h], got {value!r}")
        return tuple(self.inner.parse(name, item, None) for item in value)

    def describe(self) -> str:
        return f"{self.inner.describe()}, or `[w, h]` of such numbers"


Kind = Flag | Number | Choice | PerClass | Pair


# --- the option table ------------------------------------------------------------------------


def to_camel(name: str) -> str:
    """``seal_det_limit_side_len`` -> ``sealDetLimitSideLen`` (PaddleX's serving field names)."""
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


@dataclass(frozen=True)
class Option:
    """One per-request option.

    ``name``: the PaddleX ``predict()`` keyword (its serving field is :attr:`camel`).
    ``kind``: the accepted JSON values. ``target``: dotted path of the :class:`PipelineOptions`
    field that takes the value ("" = the field named ``name``; None = the value is only checked);
    that field's default is the option's default. ``paddlex``: False for our own extensions.
    """

    name: str
    kind: Kind
    help: str
    target: str | None = ""
    paddlex: bool = True

    @property
    def camel(self) -> str:
        return to_camel(self.name)

    @property
    def path(self) -> tuple[str, ...]:
        if self.target is None:
            return ()
        return tuple((self.target or self.name).split("."))

    @property
    def default(self) -> Any:
        if not self.path:
            return False  # a stage not deployed: off
        return _get(PipelineOptions(), self.path)

    def apply(self, options: PipelineOptions, value: Any) -> PipelineOptions:
        """``options`` with this option set to the JSON ``value`` (checked; raises
        :class:`InvalidOptionError` naming the option)."""
        current = _get(options, self.path) if self.path else None
        parsed = self.kind.parse(self.name, value, current)
        return _set(options, self.path, parsed) if self.path else options


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        obj = getattr(obj, part)
    return obj


def _set(obj: Any, path: tuple[str, ...], value: Any) -> Any:
    head, *rest = path
    return replace(obj, **{head: _set(getattr(obj, head), tuple(rest), value) if rest else value})


_THRESHOLD = Number(0.0, 1.0)
_DET_THRESHOLD = Number(0.0, 1.0, zero_is_default=True)

# Order: PaddleX's predict() signature, then our extensions.
OPTIONS: tuple[Option, ...] = (
    Option(
        "use_doc_orientation_classify",
        Flag(),
        "`true` classifies the page's orientation (0, 90, 180 or 270 degrees, "
        "PP-LCNet_x1_0_doc_ori) and turns it upright before layout detection, as PaddleX's "
        "document preprocessor; `doc_preprocessor_res.angle` reports it and every box and "
        "polygon is in the turned page's pixels. Needs the model (`make models SOURCE=official` "
        "or `DOC_ORI=PP-LCNet_x1_0_doc_ori`); the offline stand-ins have none and refuse it",
    ),
    Option(
        "use_doc_unwarping",
        Flag(),
        "`true` unwarps the page with UVDoc (after the orientation turn, before layout "
        "detection), as PaddleX's document preprocessor; every box and polygon is in the "
        "unwarped page's pixels. Needs the model (`make models UVDOC=UVDoc`); the offline "
        "stand-ins have none and refuse it",
    ),
    Option(
        "use_layout_detection",
        Flag(),
        "find seals with the layout model; `false` reads the whole page as one seal region",
    ),
    Option(
        "layout_threshold",
        PerClass(_THRESHOLD),
        "layout boxes scoring at or below it are dropped (classes missing from the object: 0.5)",
        "layout.threshold",
    ),
    Option("layout_nms", Flag(), "non-maximum suppression of layout boxes", "layout.nms"),
    Option(
        "layout_unclip_ratio",
        Pair(Number(1e-6, 100.0)),
        "layout boxes are scaled by this about their centre (per axis with `[w, h]`)",
        "layout.unclip_ratio",
    ),
    Option(
        "layout_merge_bboxes_mode",
        PerClass(Choice(MERGE_MODES)),
        "of layout boxes lying inside another: `large` keeps the outer, `small` the inner, "
        "`union` both",
        "layout.merge_bboxes_mode",
    ),
    Option(
        "seal_det_limit_side_len",
        Number(0.0, 16000, integer=True, zero_is_default=True),
        "side length a seal region is resized towards before text detection",
        "seal_det.limit_side_len",
    ),
    Option(
        "seal_det_limit_type",
        Choice(LIMIT_TYPES),
        "`min`: shorter side at least the limit; `max`: longer side at most the limit; "
        "`resize_long`: longer side equal to the limit",
        "seal_det.limit_type",
    ),
    Option(
        "seal_det_thresh",
        _DET_THRESHOLD,
        "text probability above which a pixel counts as text",
        "seal_det.thresh",
    ),
    Option(
        "seal_det_box_thresh",
        _DET_THRESHOLD,
        "text lines with a lower mean probability are dropped",
        "seal_det.box_thresh",
    ),
    Option(
        "seal_det_unclip_ratio",
        Number(0.0, 100.0, zero_is_default=True),
        "how far each detected text polygon is expanded",
        "seal_det.unclip_ratio",
    ),
    Option(
        "seal_rec_score_thresh",
        _THRESHOLD,
        "text lines recognised with a lower score are dropped",
    ),
    Option(
        "keep_nested_seals",
        Flag(),
        "`true` keeps seal boxes that merge mode `large` would drop for lying inside another "
        "box (PaddleOCR#18306); off by default: PaddleX's result",
        "layout.keep_nested_seals",
        paddlex=False,
    ),
    Option(
        "use_textline_orientation",
        Flag(),
        "`true` classifies each text line as upright or upside down and turns the upside-down "
        "ones by 180 degrees before reading them (stamps turned past about 90 degrees); "
        "`textline_orientation_angles` says 0 or 1 per line. PaddleX's OCR step, which its seal "
        "pipeline leaves off; off by default: PaddleX's result",
        paddlex=False,
    ),
    Option(
        "use_seal_quarter_turns",
        Flag(),
        "`true` reads every seal region four times, turned by 0, 90, 180 and 270 degrees, and "
        "keeps the reading with the highest mean line score, its polygons in the unturned "
        "crop's pixels (stamps turned by about 90 or 270 degrees; 4x the detection and "
        "recognition work; best with `use_textline_orientation`); off by default: PaddleX's "
        "result",
        paddlex=False,
    ),
)
OPTION_NAMES = tuple(option.name for option in OPTIONS)
_BY_NAME = {option.name: option for option in OPTIONS}


def parse_options(
    raw: Mapping[str, Any] | None, base: PipelineOptions | None = None
) -> PipelineOptions:
    """Validate request options (PaddleX keyword names) over ``base`` (server defaults).

    ``None`` values mean "not set", as in PaddleX. Raises :class:`InvalidOptionError` naming the
    first bad option (in table order).
    """
    options = base or PipelineOptions()
    if raw is None:
        return options
    if not isinstance(raw, Mapping):
        raise InvalidOptionError(f"options must be a JSON object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(_BY_NAME))
    if unknown:
        raise InvalidOptionError(f"unknown option(s) {unknown}; known: {list(OPTION_NAMES)}")
    for option in OPTIONS:
        value = raw.get(option.name)
        if value is not None:
            options = option.apply(options, value)
    return options


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


def options_markdown() -> str:
    """The README's option table (Markdown), rendered from :data:`OPTIONS`."""
    rows = [
        "| option | HTTP field | default | accepted | what it does |",
        "|---|---|---|---|---|",
    ]
    for option in OPTIONS:
        ours = "" if option.paddlex else " (ours)"
        rows.append(
            f"| `{option.name}`{ours} | `{option.camel}` | `{json.dumps(option.default)}` "
            f"| {option.kind.describe()} | {option.help} |"
        )
    return "\n".join(rows) + "\n"
