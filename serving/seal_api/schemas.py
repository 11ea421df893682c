"""Request and response bodies of PaddleX's ``seal_recognition`` serving API (3.x + the seed's).

The request is PaddleX 3.x ``InferRequest``; the option fields are the camelCase names of the
``predict()`` keywords in :mod:`seal_ocr.params` (a unit test keeps the two lists equal), and
their ranges are checked there, not here, so that limits live in one place. The model is
strict: ``"0.3"`` for a number or ``"true"`` for a bool is a 422, as the OpenAPI document says,
where PaddleX's lax pydantic would coerce them. Unknown fields are ignored, as in PaddleX.

Each page of the response carries PaddleX 3.x's ``prunedResult`` / ``outputImages`` /
``inputImage`` and the seed's (PaddleX 3.0.0b2) ``texts`` / ``layoutImage`` / ``ocrImage``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from seal_ocr.params import LIMIT_TYPES, MERGE_MODES

MergeMode = Literal[MERGE_MODES]  # type: ignore[valid-type]
LimitType = Literal[LIMIT_TYPES]  # type: ignore[valid-type]


class InferRequest(BaseModel):
    """``POST /seal-recognition`` body. ``null`` for an option means "the default"."""

    model_config = ConfigDict(strict=True, extra="ignore")

    file: str = Field(description="URL (http or https) or base64 of an image or a PDF.")
    fileType: Literal[0, 1] | None = Field(
        None, description="0 = PDF, 1 = image; null: inferred from a URL's file extension."
    )
    useDocOrientationClassify: bool | None = Field(None, description="Only false (not deployed).")
    useDocUnwarping: bool | None = Field(None, description="Only false (not deployed).")
    useLayoutDetection: bool | None = None
    layoutThreshold: float | dict[str, float] | None = Field(
        None, description="In [0, 1], or {clsId: threshold}."
    )
    layoutNms: bool | None = None
    # a list, not a tuple: strict mode takes a JSON array as a list only
    layoutUnclipRatio: float | Annotated[list[float], Field(min_length=2, max_length=2)] | None = (
        Field(None, description="> 0, or [w, h].")
    )
    layoutMergeBboxesMode: MergeMode | dict[str, MergeMode] | None = None
    sealDetLimitSideLen: int | None = Field(None, description=">= 0; 0 means the default.")
    sealDetLimitType: LimitType | None = None
    sealDetThresh: float | None = Field(None, description="In [0, 1]; 0 means the default.")
    sealDetBoxThresh: float | None = Field(None, description="In [0, 1]; 0 means the default.")
    sealDetUnclipRatio: float | None = Field(None, description=">= 0; 0 means the default.")
    sealRecScoreThresh: float | None = Field(None, description="In [0, 1].")
    keepNestedSeals: bool | None = Field(
        None, description="Not PaddleX: keep seal boxes nested in another box (default false)."
    )
    visualize: bool | None = Field(
        None, description="Return the pictures; null: the server's default (on)."
    )


Point = Annotated[list[int], Field(min_length=2, max_length=2)]


class Text(BaseModel):
    """One recognised line (seed API): polygon in page pixels."""

    poly: list[Point]
    text: str
    score: float


class SealRecResult(BaseModel):
    """One page. The pictures are base64 JPEG and absent when ``visualize`` is false."""

    texts: list[Text]
    prunedResult: dict[str, Any]
    outputImages: dict[str, str] | None = None
    inputImage: str | None = None
    layoutImage: str | None = None
    ocrImage: str | None = None


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
