"""Compare our ensemble with real PaddleX 3.7.2, stage by stage, on the same ONNX files.

PaddleX's side is produced by ``parity/run_paddlex.py`` in its own venv (one JSON per image and
mode, plus the rectified line crops PaddleX recognised). This module runs our side through a
real ``tritonserver`` (the client saves the same JSON and re-creates the line crops with the
server's warp), compares every stage and writes ``parity/results/report.{md,json}``.

Stages and tolerances (issue "Parity with PaddleX"): layout boxes (class, score within 1e-3,
coordinates within 1e-3, identical ``int()`` crop rectangles); detected polygons (identical, or
IoU >= 0.98); rectified crops (shape and pixel difference, reported); recognised texts
(identical: 100% of real lines, >= 99% of synthetic ones) and scores (within 1e-3).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from shapely.geometry import Polygon

SCORE_TOL = 1e-3
COORD_TOL = 1e-3
POLY_IOU_MIN = 0.98
REAL_TEXT_MIN = 1.0
SYNTH_TEXT_MIN = 0.99
# the stand-in layout has no seal class: PaddleX's copy of the labels renames figure -> seal
LABEL_ALIASES = {"figure": "seal"}


@dataclass
class LineReport:
    seal: int
    index: int
    ours_text: str | None
    theirs_text: str | None
    iou: float
    poly_identical: bool
    score_diff: float | None
    crop_max_diff: int | None  # None when a crop is missing or shapes differ
    crop_same_shape: bool

    @property
    def text_identical(self) -> bool:
        return self.ours_text is not None and self.ours_text == self.theirs_text


@dataclass
class PageReport:
    image: str
    mode: str
    synthetic: bool
    problems: list[str] = field(default_factory=list)
    layout_boxes: int = 0
    layout_identical: bool = True
    seal_boxes_identical: bool = True
    lines: list[LineReport] = field(default_factory=list)
    seconds_ours: float = 0.0
    seconds_paddlex: float = 0.0
    order_differs: int = 0  # matched lines at another position (ties of PaddleX's min-y sort)


def poly_iou(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> float:
    """IoU of two polygons (invalid ones are repaired with buffer(0)); 1.0 for identical lists."""
    if [list(p) for p in a] == [list(p) for p in b]:
        return 1.0
    pa, pb = Polygon(a).buffer(0), Polygon(b).buffer(0)
    union = pa.union(pb).area
    return 0.0 if union == 0 else pa.intersection(pb).area / union


def _label(label: str) -> str:
    return LABEL_ALIASES.get(label, label)


def compare_layout(ours: dict, theirs: dict, report: PageReport) -> None:
    """Every layout box, in order: class, label, score and coordinates."""
    if ("layout_det_res" in ours) != ("layout_det_res" in theirs):
        report.problems.append("layout_det_res present on one side only")
        report.layout_identical = False
        return
    if "layout_det_res" not in ours:
        return
    a, b = ours["layout_det_res"]["boxes"], theirs["layout_det_res"]["boxes"]
    report.layout_boxes = len(b)
    if len(a) != len(b):
        report.problems.append(f"layout: {len(a)} boxes vs PaddleX {len(b)}")
        report.layout_identical = False
        return
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        same = (
            x["cls_id"] == y["cls_id"]
            and _label(x["label"]) == _label(y["label"])
            and abs(x["score"] - y["score"]) <= SCORE_TOL
            and np.allclose(x["coordinate"], y["coordinate"], atol=COORD_TOL, rtol=0)
        )
        if not same:
            report.problems.append(f"layout box {i}: {x} vs PaddleX {y}")
            report.layout_identical = False


def seal_rectangles(result: dict, page_hw: tuple[int, int]) -> list[list[int]]:
    """The int() crop rectangles of the seal regions, as PaddleX cuts them."""
    if "layout_det_res" not in result:
        height, width = page_hw
        return [[0, 0, width, height]]
    boxes = [
        box["coordinate"]
        for box in result["layout_det_res"]["boxes"]
        if _label(box["label"]).lower() == "seal"
    ]
    return [[int(v) for v in box] for box in boxes]


def _match(ours: list, theirs: list) -> list[tuple[int | None, int | None, float]]:
    """Pair polygons: identical ones first, then greedily by IoU (>= 0.5).

    Not by index: PaddleX sorts polygons by min y with numpy's default (unstable, CPU-dependent)
    argsort, so lines on the same y may come in another order; that is no content difference.
    """
    pairs: list[tuple[int | None, int | None, float]] = []
    used: set[int] = set()
    free: list[int] = []
    for i, poly in enumerate(ours):
        same = next((j for j, other in enumerate(theirs) if j not in used and other == poly), None)
        if same is None:
            free.append(i)
        else:
            used.add(same)
            pairs.append((i, same, 1.0))
    for i in free:
        best = max(
            ((poly_iou(ours[i], other), j) for j, other in enumerate(theirs) if j not in used),
            default=(0.0, None),
        )
        if best[1] is not None and best[0] >= 0.5:
            used.add(best[1])
            pairs.append((i, best[1], best[0]))
        else:
            pairs.append((i, None, 0.0))
    pairs += [(None, j, 0.0) for j in range(len(theirs)) if j not in used]
    return sorted(pairs, key=lambda pair: (pair[0] is None, pair[0] or 0, pair[1] or 0))


def _crop_diff(ours: np.ndarray | None, theirs: np.ndarray | None) -> tuple[int | None, bool]:
    if ours is None or theirs is None or ours.shape != theirs.shape:
        return None, False
    return int(np.abs(ours.astype(np.int16) - theirs.astype(np.int16)).max(initial=0)), True


def compare_seals(
    ours: dict,
    theirs: dict,
    ours_crops: list[list[np.ndarray]],
    theirs_crops: list[list[np.ndarray]],
    report: PageReport,
) -> None:
    """Per seal: polygons, rectified crops, texts and scores (by rec line, in dt_polys order)."""
    a, b = ours["seal_res_list"], theirs["seal_res_list"]
    if len(a) != len(b):
        report.problems.append(f"{len(a)} seal regions vs PaddleX {len(b)}")
    for seal in range(max(len(a), len(b))):
        x = a[seal] if seal < len(a) else {"dt_polys": [], "rec_polys": [], "rec_texts": []}
        y = b[seal] if seal < len(b) else {"dt_polys": [], "rec_polys": [], "rec_texts": []}
        texts_x = _texts_by_poly(x)
        texts_y = _texts_by_poly(y)
        for i, j, iou in _match(x["dt_polys"], y["dt_polys"]):
            if i is not None and j is not None and i != j:
                report.order_differs += 1
            crop_x = _crop(ours_crops, seal, i)
            crop_y = _crop(theirs_crops, seal, j)
            diff, same_shape = _crop_diff(crop_x, crop_y)
            tx = texts_x[i] if i is not None else None
            ty = texts_y[j] if j is not None else None
            report.lines.append(
                LineReport(
                    seal=seal,
                    index=i if i is not None else j,
                    ours_text=None if tx is None else tx[0],
                    theirs_text=None if ty is None else ty[0],
                    iou=iou,
                    poly_identical=(
                        i is not None and j is not None and x["dt_polys"][i] == y["dt_polys"][j]
                    ),
                    score_diff=None if tx is None or ty is None else abs(tx[1] - ty[1]),
                    crop_max_diff=diff,
                    crop_same_shape=same_shape,
                )
            )


def _crop(crops: list[list[np.ndarray]], seal: int, index: int | None) -> np.ndarray | None:
    if index is None or seal >= len(crops) or index >= len(crops[seal]):
        return None
    return crops[seal][index]


def _texts_by_poly(seal: dict) -> list[tuple[str, float] | None]:
    """rec text/score of each dt_poly (None where the score filter dropped it)."""
    kept = {
        json.dumps(poly): (text, score)
        for poly, text, score in zip(
            seal["rec_polys"], seal["rec_texts"], seal.get("rec_scores", []), strict=False
        )
    }
    return [kept.get(json.dumps(poly)) for poly in seal["dt_polys"]]


def compare_page(
    image: Path,
    mode: str,
    ours: dict,
    theirs: dict,
    ours_crops: list[list[np.ndarray]],
    theirs_crops: list[list[np.ndarray]],
    page_hw: tuple[int, int],
    synthetic: bool,
) -> PageReport:
    report = PageReport(image=image.name, mode=mode, synthetic=synthetic)
    if ours["model_settings"] != theirs["model_settings"]:
        report.problems.append(
            f"model_settings {ours['model_settings']} vs {theirs['model_settings']}"
        )
    compare_layout(ours, theirs, report)
    rect_ours, rect_theirs = seal_rectangles(ours, page_hw), seal_rectangles(theirs, page_hw)
    if rect_ours != rect_theirs:
        report.seal_boxes_identical = False
        report.problems.append(f"seal crops {rect_ours} vs PaddleX {rect_theirs}")
    compare_seals(ours, theirs, ours_crops, theirs_crops, report)
    return report


# ---------------------------------------------------------------------------------------------
# Aggregation and the verdict


@dataclass
class Summary:
    texts_real: tuple[int, int]
    texts_synth: tuple[int, int]
    polys_ok: tuple[int, int]
    polys_identical: tuple[int, int]
    scores_ok: tuple[int, int]
    seal_boxes: tuple[int, int]
    layout_pages: tuple[int, int]
    crops_identical: tuple[int, int]
    crop_max_diff: int
    passed: bool
    failures: list[str]

    def line(self) -> str:
        def frac(pair: tuple[int, int]) -> str:
            return f"{pair[0]}/{pair[1]}"

        texts = (self.texts_real[0] + self.texts_synth[0], self.texts_real[1] + self.texts_synth[1])
        return (
            f"parity: texts {frac(texts)} identical (real {frac(self.texts_real)}, "
            f"synthetic {frac(self.texts_synth)}), polygons {frac(self.polys_identical)} identical "
            f"({frac(self.polys_ok)} IoU>={POLY_IOU_MIN}), scores {frac(self.scores_ok)} within "
            f"{SCORE_TOL}, seal boxes {frac(self.seal_boxes)} identical, layout pages "
            f"{frac(self.layout_pages)} identical, crops {frac(self.crops_identical)} "
            f"pixel-identical (max diff {self.crop_max_diff}) -> "
            f"{'PASS' if self.passed else 'FAIL'}"
        )


def summarise(pages: Sequence[PageReport]) -> Summary:
    def count(predicate, lines) -> tuple[int, int]:
        lines = list(lines)
        return sum(1 for line in lines if predicate(line)), len(lines)

    real_lines = [line for page in pages if not page.synthetic for line in page.lines]
    synth_lines = [line for page in pages if page.synthetic for line in page.lines]
    all_lines = real_lines + synth_lines
    scored = [line for line in all_lines if line.score_diff is not None]
    cropped = [line for line in all_lines if line.crop_same_shape or line.crop_max_diff is not None]
    texts_real = count(lambda line: line.text_identical, [
        line for line in real_lines if line.ours_text is not None or line.theirs_text is not None
    ])  # fmt: skip
    texts_synth = count(lambda line: line.text_identical, [
        line for line in synth_lines if line.ours_text is not None or line.theirs_text is not None
    ])  # fmt: skip
    summary = Summary(
        texts_real=texts_real,
        texts_synth=texts_synth,
        polys_ok=count(lambda line: line.iou >= POLY_IOU_MIN, all_lines),
        polys_identical=count(lambda line: line.poly_identical, all_lines),
        scores_ok=count(lambda line: line.score_diff <= SCORE_TOL, scored),
        seal_boxes=count(lambda page: page.seal_boxes_identical, pages),
        layout_pages=count(lambda page: page.layout_identical, pages),
        crops_identical=count(lambda line: line.crop_max_diff == 0, cropped),
        crop_max_diff=max((line.crop_max_diff or 0 for line in cropped), default=0),
        passed=True,
        failures=[],
    )

    def ratio(pair: tuple[int, int]) -> float:
        return 1.0 if pair[1] == 0 else pair[0] / pair[1]

    checks = [
        (ratio(summary.texts_real) >= REAL_TEXT_MIN, "real-image texts below 100% identical"),
        (ratio(summary.texts_synth) >= SYNTH_TEXT_MIN, "synthetic texts below 99% identical"),
        (ratio(summary.polys_ok) >= 1.0, f"polygons with IoU < {POLY_IOU_MIN}"),
        (ratio(summary.scores_ok) >= 1.0, f"scores differing by more than {SCORE_TOL}"),
        (ratio(summary.seal_boxes) >= 1.0, "seal boxes differ"),
    ]
    summary.failures = [message for ok, message in checks if not ok]
    summary.passed = not summary.failures
    return summary


def write_report(
    pages: Sequence[PageReport], summary: Summary, out_dir: Path, command: str
) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(
        json.dumps(
            {"summary": asdict(summary), "pages": [asdict(page) for page in pages]},
            ensure_ascii=False,
            indent=1,
        ),
        "utf-8",
    )
    rows = [
        "| image | mode | layout | seal boxes | lines | texts identical | polys identical | "
        "max score diff | max crop diff | order differs | ours s | PaddleX s | problems |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for page in pages:
        diffs = [line.score_diff for line in page.lines if line.score_diff is not None]
        crops = [line.crop_max_diff for line in page.lines if line.crop_max_diff is not None]
        rows.append(
            f"| {page.image} | {page.mode} | {'ok' if page.layout_identical else 'DIFF'} | "
            f"{'ok' if page.seal_boxes_identical else 'DIFF'} | {len(page.lines)} | "
            f"{sum(line.text_identical for line in page.lines)} | "
            f"{sum(line.poly_identical for line in page.lines)} | "
            f"{max(diffs, default=0):.2e} | {max(crops, default=0)} | {page.order_differs} | "
            f"{page.seconds_ours:.2f} | {page.seconds_paddlex:.2f} | "
            f"{'; '.join(page.problems)[:200]} |"
        )
    text_diffs = [
        f"- {page.image} ({page.mode}) seal {line.seal + 1} line {line.index + 1}: "
        f"ours {line.ours_text!r} vs PaddleX {line.theirs_text!r}"
        for page in pages
        for line in page.lines
        if not line.text_identical
    ]
    body = [
        "# Parity with PaddleX 3.7.2",
        "",
        f"Command: `{command}`",
        "",
        f"**{summary.line()}**",
        "",
        *(f"- failed: {failure}" for failure in summary.failures),
        "",
        "## Lines whose texts differ",
        "",
        *(text_diffs or ["none"]),
        "",
        "## Per page",
        "",
        *rows,
        "",
    ]
    (out_dir / "report.md").write_text("\n".join(body), "utf-8")


# ---------------------------------------------------------------------------------------------
# Running our side and reading PaddleX's


def load_paddlex(root: Path, mode: str, stem: str) -> tuple[dict, list[list[np.ndarray]], float]:
    path = root / mode / f"{stem}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: run parity/run_paddlex.py for mode {mode}")
    record = json.loads(path.read_text("utf-8"))
    crops = [
        [cv2.imread(str(root / name), cv2.IMREAD_COLOR) for name in seal]
        for seal in record.get("line_crops", [])
    ]
    return record["res"], crops, float(record.get("seconds", 0.0))


def run_ours(images: Sequence[Path], mode: str, grpc_url: str) -> dict[str, tuple]:
    """Our ensemble's result, line crops and seconds per image (one request at a time)."""
    from seal_client import SealClient

    client = SealClient(grpc_url, max_in_flight=1)
    results = {}
    for number, image in enumerate(images, start=1):
        started = time.perf_counter()
        [result] = client.predict(
            image, use_layout_detection=(mode == "layout"), raise_on_error=False
        )
        seconds = time.perf_counter() - started
        if result.ok:
            results[image.stem] = (
                result.json,
                result.line_crops(),
                seconds,
                result.image.shape[:2],
            )
        else:
            results[image.stem] = (None, result.error, seconds, None)
        if number % 20 == 0:
            print(f"  ours ({mode}): {number}/{len(images)} images", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paddlex-out", type=Path, required=True)
    parser.add_argument("--real", type=Path, nargs="*", default=[])
    parser.add_argument("--synthetic", type=Path, nargs="*", default=[])
    parser.add_argument("--modes", nargs="+", default=["layout", "nolayout"])
    parser.add_argument("--report-dir", type=Path, default=Path("parity/results"))
    parser.add_argument("--command", default="make parity")
    args = parser.parse_args(argv)

    from seal_triton.launcher import ServerConfig, TritonServer

    images = [(path, False) for path in args.real] + [(path, True) for path in args.synthetic]
    pages: list[PageReport] = []
    config = ServerConfig(http_port=0, grpc_port=0, metrics_port=0)
    log = Path(".build/parity-tritonserver.log")
    with TritonServer(config, log_path=log) as server:
        for mode in args.modes:
            ours = run_ours([path for path, _ in images], mode, server.grpc_url)
            for path, synthetic in images:
                theirs, theirs_crops, seconds_px = load_paddlex(args.paddlex_out, mode, path.stem)
                result, crops, seconds, page_hw = ours[path.stem]
                if result is None:  # the server refused or failed this page
                    page = PageReport(image=path.name, mode=mode, synthetic=synthetic)
                    page.problems.append(f"our request failed: {crops}")
                    page.seal_boxes_identical = page.layout_identical = False
                else:
                    page = compare_page(
                        path, mode, result, theirs, crops, theirs_crops, page_hw, synthetic
                    )
                page.seconds_ours, page.seconds_paddlex = seconds, seconds_px
                pages.append(page)
    summary = summarise(pages)
    write_report(pages, summary, args.report_dir, args.command)
    print(summary.line())
    for failure in summary.failures:
        print(f"  failed: {failure}")
    print(f"  report: {args.report_dir / 'report.md'}")
    return 0 if summary.passed else 1


if __name__ == "__main__":
    sys.exit(main())
