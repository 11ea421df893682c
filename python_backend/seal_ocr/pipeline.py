"""The stages glued together, once, for the Triton steps and the in-process reference.

Each stage is split into "inputs for the model" and "model outputs to results", so a caller can
run the model however it likes: the Triton steps call the ONNX entries through BLS (batched
across requests), :class:`SealRecognizer` calls ONNX Runtime directly. Flow (``docs/pipeline.md``
§1): page -> seal regions (layout, or the whole page) -> per region DB polygons sorted by min y
-> one rectified line image per polygon -> (option ``use_textline_orientation``: lines the
orientation model calls upside down turned by 180 degrees) -> CTC text -> score filter -> result
JSON. With ``use_seal_quarter_turns`` the text stages read every seal region four times, turned
by 0, 90, 180 and 270 degrees (:func:`seal_regions`), and :func:`assemble` keeps, per seal, the
reading with the highest mean line score, its polygons turned back into the crop's frame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seal_ocr import doc_ori, engines, layout, rec, seal_det, tensor_names, textline_ori, uvdoc
from seal_ocr.model_info import LayoutInfo
from seal_ocr.params import PipelineOptions, SealDetParams
from seal_ocr.result import SealText, build_result
from seal_ocr.textline_ori import TextlineOriInfo
from seal_ocr.warp import rectify_text_line

QUARTER_TURNS = 4  # regions per seal with use_seal_quarter_turns: 0, 90, 180, 270 degrees


def _seal_view(page: np.ndarray, box: Sequence[float], turn: int = 0) -> np.ndarray:
    """The seal crop PaddleX reads (``CropByBoxes``): ``page[int(y1):int(y2), int(x1):int(x2)]``
    of the (H, W, 3) uint8 BGR page for ``box`` = (x1, y1, x2, y2) page pixels, as a view;
    turned counter-clockwise by ``turn`` quarter turns (``np.rot90``, then a copy).

    Det pre-processing and the warp only read the crop (resize, warpPerspective and slicing
    take row-strided views), so the copy PaddleX makes per seal is not needed here.
    """
    x1, y1, x2, y2 = (int(v) for v in box)
    crop = page[y1:y2, x1:x2]
    return np.ascontiguousarray(np.rot90(crop, turn)) if turn % QUARTER_TURNS else crop


def _crop_hw(box: Sequence[float]) -> tuple[int, int]:
    x1, y1, x2, y2 = (int(v) for v in box)
    return max(y2 - y1, 0), max(x2 - x1, 0)


def seal_regions(seal_boxes: np.ndarray, options: PipelineOptions) -> tuple[np.ndarray, np.ndarray]:
    """The regions the text stages read: (R, 4) float64 page boxes and (R,) int32 quarter turns
    (counter-clockwise). One region per seal, unturned; with ``use_seal_quarter_turns`` four per
    seal, in seal order, turned 0, 1, 2, 3 times. Every step derives them from the options, so
    polygon tensors index regions (R) up to :func:`assemble`, which gives one reading per seal."""
    boxes = np.asarray(seal_boxes, np.float64).reshape(-1, 4)
    if not options.use_seal_quarter_turns:
        return boxes, np.zeros(len(boxes), np.int32)
    turns = np.tile(np.arange(QUARTER_TURNS, dtype=np.int32), len(boxes))
    return np.repeat(boxes, QUARTER_TURNS, axis=0), turns


def unturn_poly(poly: np.ndarray, turn: int, crop_hw: tuple[int, int]) -> np.ndarray:
    """Vertices (n, 2) found in a crop of size ``crop_hw`` (h, w) turned counter-clockwise by
    ``turn`` quarter turns -> the same points in the crop itself, (n, 2) int32.

    Pixel-corner coordinates (DB polygons reach the crop's width and height): one turn of a
    crop of width w maps its point (x, y) to (y, w - x), so undoing it maps (x', y') to
    (w - y', x').
    """
    h, w = crop_hw
    points = np.asarray(poly, np.int64).reshape(-1, 2)
    for done in range(turn % QUARTER_TURNS, 0, -1):
        width = w if (done - 1) % 2 == 0 else h  # the crop's width before turn number ``done``
        points = np.stack([width - points[:, 1], points[:, 0]], axis=1)
    return points.astype(np.int32)


def crop_seal(page: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """The seal crop of :func:`_seal_view` as a copy (h, w, 3) uint8 BGR, free of ``page``."""
    return _seal_view(page, box).copy()


def layout_boxes_from_model(
    page_hw: tuple[int, int], raw_boxes: np.ndarray, info: LayoutInfo, options: PipelineOptions
) -> list[layout.LayoutBox]:
    """Layout post-processing of one page's raw model rows (K, 6)."""
    return layout.postprocess_layout(
        raw_boxes, info.labels, page_hw, options.layout, seal_label=info.seal_label
    )


def seal_boxes_from_layout(
    page_hw: tuple[int, int], boxes: list[layout.LayoutBox] | None, seal_label: str
) -> np.ndarray:
    """(S, 4) float64 seal regions in page pixels: the seal-labelled layout boxes in order, or
    the whole page as one region when layout detection is off (``boxes is None``)."""
    if boxes is None:
        height, width = page_hw
        return np.array([[0.0, 0.0, float(width), float(height)]])
    seals = layout.select_seal_boxes(boxes, seal_label)
    return np.array([box.coordinate for box in seals], dtype=np.float64).reshape(-1, 4)


def seal_det_inputs(
    page: np.ndarray,
    seal_boxes: np.ndarray,
    params: SealDetParams,
    turns: Sequence[int] | np.ndarray | None = None,
) -> tuple[list[np.ndarray], list[seal_det.DetInputMeta | None]]:
    """Det inputs (3, H, W) float32 for the seals whose crop is not empty, and one resize meta
    per seal (None for an empty crop: a box thinner than a pixel after ``int()``, which has no
    text and gets no model call). ``turns``: quarter turns per box (:func:`seal_regions`)."""
    inputs: list[np.ndarray] = []
    metas: list[seal_det.DetInputMeta | None] = []
    turns = [0] * len(seal_boxes) if turns is None else turns
    for box, turn in zip(seal_boxes, turns, strict=True):
        crop = _seal_view(page, box, int(turn))
        if crop.size == 0:
            metas.append(None)
            continue
        tensor, meta = seal_det.preprocess_det(crop, params)
        inputs.append(tensor)
        metas.append(meta)
    return inputs, metas


def polys_from_seal_det(
    prob_maps: Sequence[np.ndarray],
    metas: Sequence[seal_det.DetInputMeta | None],
    params: SealDetParams,
) -> list[list[np.ndarray]]:
    """Per seal, the DB polygons (n_i, 2) int32 in crop pixels, sorted by min y (PaddleX).

    ``prob_maps`` holds one map per non-None meta, in order.
    """
    if len(prob_maps) != sum(meta is not None for meta in metas):
        raise ValueError(f"{len(prob_maps)} probability maps for {len(metas)} seal crops")
    maps = iter(prob_maps)
    polys: list[list[np.ndarray]] = []
    for meta in metas:
        if meta is None:
            polys.append([])
            continue
        prob = np.asarray(next(maps))
        result = seal_det.postprocess_db(prob.reshape(prob.shape[-2:]), meta, params)
        polys.append(list(seal_det.sort_polys_by_min_y(result).polys))
    return polys


def line_images(
    page: np.ndarray,
    seal_boxes: np.ndarray,
    polys_per_seal: Sequence[Sequence[np.ndarray]],
    turns: Sequence[int] | np.ndarray | None = None,
) -> list[np.ndarray]:
    """The rectified BGR line image of every polygon, seals in order then polygons in order;
    ``turns``: quarter turns per box, the frame of its polygons (:func:`seal_regions`)."""
    lines: list[np.ndarray] = []
    turns = [0] * len(seal_boxes) if turns is None else turns
    for box, polys, turn in zip(seal_boxes, polys_per_seal, turns, strict=True):
        if not polys:
            continue
        crop = _seal_view(page, box, int(turn))
        lines.extend(rectify_text_line(crop, poly) for poly in polys)
    return lines


def textline_ori_inputs(lines: Sequence[np.ndarray], info: TextlineOriInfo) -> list[np.ndarray]:
    """(3, H, W) float32 input of the orientation model for each line, all of one size
    (``info.input_hw``), so any number of them stack into one batch."""
    return [textline_ori.preprocess_textline_ori(line, info) for line in lines]


def orient_lines(
    lines: Sequence[np.ndarray], probs: Sequence[np.ndarray], info: TextlineOriInfo
) -> tuple[list[np.ndarray], list[int]]:
    """The lines to read (those the model calls upside down turned by 180 degrees) and PaddleX's
    angle of each, 0 or 1; ``probs``: the model's (C,) scores per line
    (:func:`seal_ocr.textline_ori.orient_lines`)."""
    return textline_ori.orient_lines(lines, probs, info)


def rec_inputs(lines: Sequence[np.ndarray]) -> list[np.ndarray]:
    """(3, 48, W) float32 rec input of each line, each at its own width (batch-1 semantics)."""
    return [rec.preprocess_rec(line) for line in lines]


def texts_from_rec(
    probs: Sequence[np.ndarray], decoder: rec.CTCDecoder
) -> tuple[list[str], list[float]]:
    """CTC-decode each (T, C) softmax output."""
    decoded = [decoder.decode(np.asarray(p).reshape(p.shape[-2:])) for p in probs]
    return [text for text, _ in decoded], [float(score) for _, score in decoded]


def assemble(
    options: PipelineOptions,
    layout_json: list[dict[str, Any]] | None,
    seal_boxes: np.ndarray,
    polys_per_seal: Sequence[Sequence[np.ndarray]],
    texts: Sequence[str],
    scores: Sequence[float],
    angles: Sequence[int] | None = None,
    doc_angle: int = doc_ori.NOT_CLASSIFIED,
) -> dict[str, Any]:
    """Apply the rec score filter (``score >= thresh``) and build the result dict.

    ``layout_json``: PaddleX dicts of all layout boxes, None when layout detection was off;
    ``polys_per_seal``: per region of :func:`seal_regions` (per seal unless
    ``use_seal_quarter_turns``); ``texts``/``scores``/``angles`` are flat over all polygons in
    :func:`line_images` order; ``angles`` (:func:`orient_lines`) is None when the orientation
    step did not run; ``doc_angle`` the page's angle when ``use_doc_orientation_classify``
    turned it (:func:`orient_page`).
    """
    total = sum(len(polys) for polys in polys_per_seal)
    if not (len(texts) == len(scores) == total):
        raise ValueError(f"{len(texts)} texts and {len(scores)} scores for {total} polygons")
    if angles is not None and len(angles) != total:
        raise ValueError(f"{len(angles)} angles for {total} polygons")
    if options.use_seal_quarter_turns:
        polys_per_seal, texts, scores, angles = best_quarter_turns(
            seal_boxes, polys_per_seal, texts, scores, angles
        )
    lines_per_seal: list[list[SealText]] = []
    angles_per_seal: list[list[int]] | None = None if angles is None else []
    cursor = 0
    for polys in polys_per_seal:
        kept = []
        for poly in polys:
            text, score = texts[cursor], scores[cursor]
            cursor += 1
            if score >= options.seal_rec_score_thresh:
                kept.append(SealText(poly=poly, text=text, score=score))
        lines_per_seal.append(kept)
        if angles is not None and angles_per_seal is not None:
            angles_per_seal.append([int(a) for a in angles[cursor - len(polys) : cursor]])
    return build_result(
        options, layout_json, seal_boxes, polys_per_seal, lines_per_seal, angles_per_seal,
        doc_angle,
    )  # fmt: skip


def orient_page(
    page: np.ndarray, probs: np.ndarray, info: doc_ori.DocOriInfo
) -> tuple[np.ndarray, int]:
    """(page turned upright as PaddleX turns it, its angle in degrees) from the ``doc_ori``
    entry's (C,) scores for :func:`doc_ori.doc_ori_input` of ``page``."""
    angle = doc_ori.angle_of(probs, info)
    return doc_ori.rotate_page(page, angle), angle


def best_quarter_turns(
    seal_boxes: np.ndarray,
    polys_per_region: Sequence[Sequence[np.ndarray]],
    texts: Sequence[str],
    scores: Sequence[float],
    angles: Sequence[int] | None,
) -> tuple[list[list[np.ndarray]], list[str], list[float], list[int] | None]:
    """Per seal, the reading of the quarter turn whose lines have the highest mean score (every
    detected line, before the score filter; no line: 0.0; a tie keeps the lesser turn, so an
    unreadable seal stays unturned), with its polygons turned back into the crop's frame
    (:func:`unturn_poly`). Regions come as :func:`seal_regions` makes them: ``QUARTER_TURNS``
    per seal, turns 0, 1, 2, 3. Returns per seal its polygons, and the chosen lines' texts,
    scores and angles, flat."""
    if len(polys_per_region) != QUARTER_TURNS * len(seal_boxes):
        raise ValueError(f"{len(polys_per_region)} regions for {len(seal_boxes)} seals")
    starts = np.cumsum([0, *(len(polys) for polys in polys_per_region)])
    chosen_polys: list[list[np.ndarray]] = []
    chosen: list[int] = []  # line indices kept, in order
    for seal, box in enumerate(seal_boxes):
        regions = range(seal * QUARTER_TURNS, (seal + 1) * QUARTER_TURNS)
        means = [float(np.mean(scores[starts[r] : starts[r + 1]] or [0.0])) for r in regions]
        region = regions[int(np.argmax(means))]  # first maximum: the lesser turn on a tie
        turn = region - regions[0]
        chosen_polys.append([unturn_poly(p, turn, _crop_hw(box)) for p in polys_per_region[region]])
        chosen.extend(range(starts[region], starts[region + 1]))
    return (
        chosen_polys,
        [texts[i] for i in chosen],
        [scores[i] for i in chosen],
        None if angles is None else [angles[i] for i in chosen],
    )


# ---------------------------------------------------------------------------------------------
# In-process pipeline (no Triton): the reference the ensemble is tested against, and the
# "floor" of the benchmark.

BatchRunner = Callable[[np.ndarray], np.ndarray]  # stacked model input -> stacked output


@dataclass
class SealRecognizer:
    """Runs the whole pipeline in this process, one model call per item (PaddleX's batch 1).

    run_layout(image (1, 3, h, w), scale_factor (1, 2)) -> (boxes (1, LAYOUT_MAX_BOXES, 6)
    zero-padded, box_count (1,) int32: rows of boxes[0] that hold detections);
    run_det((1, 3, H, W)) -> (1, 1, H, W); run_rec((1, 3, 48, W)) -> (1, T, C);
    run_textline_ori((N, 3, H, W) of ``textline_ori_info.input_hw``) -> (N, C), only for options
    with ``use_textline_orientation`` (the page's lines in one call: they share one size);
    run_doc_ori((1, 3, 224, 224)) -> (1, C), only with ``use_doc_orientation_classify``;
    run_uvdoc((1, 3, H, W)) -> (1, 3, H, W), only with ``use_doc_unwarping``.
    """

    run_layout: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    run_det: BatchRunner
    run_rec: BatchRunner
    layout_info: LayoutInfo
    decoder: rec.CTCDecoder
    run_textline_ori: BatchRunner | None = None
    textline_ori_info: TextlineOriInfo | None = None
    run_doc_ori: BatchRunner | None = None
    doc_ori_info: doc_ori.DocOriInfo | None = None
    run_uvdoc: BatchRunner | None = None
    uvdoc_info: uvdoc.UVDocInfo | None = None

    @classmethod
    def from_model_repository(
        cls, repository: Path, threads: int = 1, engine: str = engines.ONNXRUNTIME
    ) -> SealRecognizer:
        """Sessions of the ``engine`` profile (seal_ocr.engines.PROFILES: the served CPU configs'
        engine per entry, FP32) with ``threads`` intra-op threads over the same
        ``<entry>/1/model.onnx`` files Triton serves."""
        profile = engines.PROFILES[engine]

        def session(name: str, entry_engine: str | None = None) -> engines.EngineSession:
            path = Path(repository) / name / "1" / "model.onnx"
            return engines.open_session(path, entry_engine or profile[name], threads)

        layout_s = session(tensor_names.LAYOUT_MODEL)
        det_s = session(tensor_names.SEAL_DET_MODEL)
        rec_s = session(tensor_names.TEXT_REC_MODEL)
        ori_s = session(tensor_names.TEXTLINE_ORI_MODEL)
        page_ori_s = session(tensor_names.DOC_ORI_MODEL)
        uvdoc_s = session(tensor_names.UVDOC_MODEL)
        if profile[tensor_names.TEXT_REC_MODEL] == engines.OPENVINO:  # as the served text_rec
            reference = session(tensor_names.TEXT_REC_MODEL, engines.ONNXRUNTIME)
            rec_s = engines.TieGuardedSession(rec_s, reference, tensor_names.TEXT_REC_PROB)
        names = tensor_names

        def run_layout(image, scale):
            feeds = {names.LAYOUT_IMAGE: image, names.LAYOUT_SCALE_FACTOR: scale}
            boxes, count = layout_s.run([names.LAYOUT_BOXES, names.LAYOUT_BOX_COUNT], feeds)
            return boxes, count

        return cls(
            run_layout=run_layout,
            run_det=lambda x: det_s.run([names.SEAL_DET_PROB], {names.SEAL_DET_IMAGE: x})[0],
            run_rec=lambda x: rec_s.run([names.TEXT_REC_PROB], {names.TEXT_REC_IMAGE: x})[0],
            layout_info=LayoutInfo.from_file(Path(repository) / names.LAYOUT_INFO_FILE),
            decoder=rec.CTCDecoder(rec.load_characters(Path(repository) / names.CHARACTERS_FILE)),
            run_textline_ori=lambda x: ori_s.run(
                [names.TEXTLINE_ORI_PROB], {names.TEXTLINE_ORI_IMAGE: x}
            )[0],
            textline_ori_info=TextlineOriInfo.from_file(
                Path(repository) / names.TEXTLINE_ORI_INFO_FILE
            ),
            run_doc_ori=lambda x: page_ori_s.run([names.DOC_ORI_PROB], {names.DOC_ORI_IMAGE: x})[0],
            doc_ori_info=doc_ori.DocOriInfo.from_file(Path(repository) / names.DOC_ORI_INFO_FILE),
            run_uvdoc=lambda x: uvdoc_s.run([names.UVDOC_OUTPUT], {names.UVDOC_IMAGE: x})[0],
            uvdoc_info=uvdoc.UVDocInfo.from_file(Path(repository) / names.UVDOC_INFO_FILE),
        )

    def predict(self, page: np.ndarray, options: PipelineOptions | None = None) -> dict[str, Any]:
        """Result dict for one (H, W, 3) uint8 BGR page."""
        options = options or PipelineOptions()
        doc_angle = doc_ori.NOT_CLASSIFIED
        if options.use_doc_orientation_classify:
            if self.run_doc_ori is None or self.doc_ori_info is None:
                raise ValueError("use_doc_orientation_classify needs run_doc_ori and its info")
            doc_ori.require_model(self.doc_ori_info)
            probs = self.run_doc_ori(doc_ori.doc_ori_input(page, self.doc_ori_info)[None])[0]
            page, doc_angle = orient_page(page, probs, self.doc_ori_info)
        if options.use_doc_unwarping:
            if self.run_uvdoc is None or self.uvdoc_info is None:
                raise ValueError("use_doc_unwarping needs run_uvdoc and its info")
            uvdoc.require_model(self.uvdoc_info)
            page = uvdoc.uvdoc_output(self.run_uvdoc(uvdoc.uvdoc_input(page)[None])[0])
        page_hw = (int(page.shape[0]), int(page.shape[1]))
        layout_boxes = None
        if options.use_layout_detection:
            prepared = layout.preprocess_layout(page, self.layout_info.input_hw)
            boxes, count = self.run_layout(prepared.image[None], prepared.scale_factor[None])
            rows = boxes[0, : int(count[0])]  # the rest are zero padding
            layout_boxes = layout_boxes_from_model(page_hw, rows, self.layout_info, options)
        seal_boxes = seal_boxes_from_layout(page_hw, layout_boxes, self.layout_info.seal_label)
        regions, turns = seal_regions(seal_boxes, options)
        det_in, metas = seal_det_inputs(page, regions, options.seal_det, turns)
        prob_maps = [self.run_det(item[None])[0] for item in det_in]
        polys = polys_from_seal_det(prob_maps, metas, options.seal_det)
        lines = line_images(page, regions, polys, turns)
        angles = None
        if options.use_textline_orientation:
            lines, angles = self.orient(lines)
        probs = [self.run_rec(item[None])[0] for item in rec_inputs(lines)]
        texts, scores = texts_from_rec(probs, self.decoder)
        layout_json = None if layout_boxes is None else [box.to_json() for box in layout_boxes]
        return assemble(options, layout_json, seal_boxes, polys, texts, scores, angles, doc_angle)

    def orient(self, lines: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[int]]:
        """:func:`orient_lines` over this recognizer's orientation model."""
        if self.run_textline_ori is None or self.textline_ori_info is None:
            raise ValueError("use_textline_orientation needs run_textline_ori and its info")
        if not lines:
            return [], []
        inputs = np.stack(textline_ori_inputs(lines, self.textline_ori_info))
        probs = self.run_textline_ori(inputs)
        return orient_lines(lines, list(probs), self.textline_ori_info)
