"""Request and response bodies of PaddleX's ``seal_recognition`` serving API (3.x + the seed's).

The request is PaddleX 3.x ``InferRequest``; its option fields are derived from the option table
:data:`seal_ocr.params.OPTIONS` (camelCase names of the ``predict()`` keywords, types from each
option's kind, descriptions from its help). Ranges are checked by :mod:`seal_ocr.params`, not
here, so that limits live in one place. The model is strict: ``"0.3"`` for a number or
``"true"`` for a bool is a 422, as the OpenAPI document says, where PaddleX's lax pydantic would
coerce them. Unknown fields are ignored, as in PaddleX.

Each page of the response carries PaddleX 3.x's ``prunedResult`` / ``outputImages`` /
``inputImage`` and the seed's (PaddleX 3.0.0b2) ``texts`` / ``layoutImage`` / ``ocrImage``.

Two request fields are ours, both unset by default so that the output stays PaddleX's:
``pdfPages`` picks PDF pages (the client's ``--pages`` spec) and ``details`` adds each page's
number, seal boxes and rectified line images (what the gateway's web page draws).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from seal_ocr.params import OPTIONS, Choice, Flag, Kind, Number, Option, Pair, PerClass


class _RequestBase(BaseModel):
    """``POST /seal-recognition`` body. ``null`` for an option means "the default"."""

    model_config = ConfigDict(strict=True, extra="ignore")

    file: str = Field(description="URL (http or https) or base64 of an image or a PDF.")
    fileType: Literal[0, 1] | None = Field(
        None, description="0 = PDF, 1 = image; null: inferred from a URL's file extension."
    )
    visualize: bool | None = Field(
        None, description="Return the pictures; null: the server's default (on)."
    )
    pdfPages: str | None = Field(
        None,
        description="Not PaddleX: the PDF pages to read, 1-based, e.g. '2-4,7'; the server's "
        "page limit takes the first of them. null: the first pages, as PaddleX.",
    )
    details: bool | None = Field(
        None,
        description="Not PaddleX: add `details` to each page (its number, the seal boxes and the "
        "rectified image of each text line); null: off.",
    )


def value_type(kind: Kind) -> Any:
    """The (strict) pydantic type of an option's JSON value, ``null`` not included."""
    if isinstance(kind, Flag):
        return bool
    if isinstance(kind, Number):
        return int if kind.integer else float
    if isinstance(kind, Choice):
        return Literal[kind.values]
    if isinstance(kind, PerClass):
        inner = value_type(kind.inner)
        # a type built at run time for pydantic: mypy checks annotations, not such values
        return Union[inner, dict[str, inner]]  # type: ignore[valid-type]  # noqa: UP007
    if isinstance(kind, Pair):
        inner = value_type(kind.inner)
        # a list, not a tuple: strict mode takes a JSON array as a list only (a run-time type,
        # as above)
        pair = Annotated[list[inner], Field(min_length=2, max_length=2)]  # type: ignore[valid-type]
        return Union[inner, pair]  # noqa: UP007
    raise TypeError(f"no request type for option kind {kind!r}")


def field_description(option: Option) -> str:
    """An option's help, accepted values and default, for the OpenAPI document."""
    ours = "" if option.paddlex else "Not PaddleX: "
    return (
        f"{ours}{option.help[0].upper()}{option.help[1:]}. Accepted: {option.kind.describe()}; "
        f"default {json.dumps(option.default)}."
    )


if TYPE_CHECKING:  # the option fields are read by name (model_dump), never as attributes
    InferRequest = _RequestBase
else:
    InferRequest = create_model(
        "InferRequest",
        __base__=_RequestBase,
        __module__=__name__,
        __doc__=_RequestBase.__doc__,
        **{
            option.camel: (
                value_type(option.kind) | None,
                Field(None, description=field_description(option)),
            )
            for option in OPTIONS
        },
    )


Point = Annotated[list[int], Field(min_length=2, max_length=2)]


class Text(BaseModel):
    """One recognised line (seed API): polygon in page pixels."""

    poly: list[Point]
    text: str
    score: float


Box = Annotated[list[float], Field(min_length=4, max_length=4)]


class PageDetails(BaseModel):
    """Not PaddleX (request ``details``): the page's number and what its texts were read from.

    ``pageNumber``: 1-based page of the PDF (1 for an image). ``sealBoxes``: [x1, y1, x2, y2]
    page pixels of each seal region, one per ``prunedResult.seal_res_list`` entry (PaddleX's
    polygons there are in these regions' pixels). ``lineImages``: base64 PNG of the rectified
    line the recogniser read, one per ``texts`` entry.
    """

    pageNumber: int
    sealBoxes: list[Box]
    lineImages: list[str]


class SealRecResult(BaseModel):
    """One page. The pictures are base64 JPEG and absent when ``visualize`` is false."""

    texts: list[Text]
    prunedResult: dict[str, Any]
    outputImages: dict[str, str] | None = None
    inputImage: str | None = None
    layoutImage: str | None = None
    ocrImage: str | None = None
    details: PageDetails | None = None


class ImageInfo(BaseModel):
    width: int
    height: int
    type: Literal["image"] = "image"


class PDFPageInfo(BaseModel):
    width: int
    height: int


class PDFInfo(BaseModel):
    numPages: int
    pages: list[PDFPageInfo]
    type: Literal["pdf"] = "pdf"


class InferResult(BaseModel):
    sealRecResults: list[SealRecResult]
    dataInfo: Annotated[ImageInfo | PDFInfo, Field(discriminator="type")]


class InferResponse(BaseModel):
    logId: str
    errorCode: Literal[0] = 0
    errorMsg: Literal["Success"] = "Success"
    result: InferResult


class NoResultResponse(BaseModel):
    """Errors (errorCode = the HTTP status) and ``GET /health`` (errorCode 0)."""

    logId: str
    errorCode: int
    errorMsg: str
