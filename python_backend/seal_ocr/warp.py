"""Seal text-line rectification: PaddleX 3.x ``CropByPolys(det_box_type="poly")``, ported.

The DB seal detector returns one polygon per text line, in seal-crop pixels (x right, y down).
PaddleX turns each polygon into a straight line image (``docs/pipeline.md`` §6):

* **Step A**: rotated crop of the polygon's min-area rectangle (:func:`rotated_crop`). It is the
  answer when the polygon has fewer than 4 vertices, is not a valid polygon, or covers its
  rectangle well (IoU >= 0.7).
* **Step B**: merge runs of short edges into their mean point (:func:`_merge_close_points`).
* **Step C**: find the head and tail edges and split the ring into two sidelines
  (:func:`_find_head_tail`, :func:`_split_sidelines`).
* **Step D**: resample each sideline to 16 points and put the upper one first
  (:func:`_resample_polyline`, :func:`_control_points`).
* **Step E**: one homography per quad between consecutive control points, slices stitched left
  to right; tall point sets take PaddleX's vertical path (:func:`_stitch_homographies`).

The output must equal PaddleX's pixel for pixel, so its quirks are kept on purpose: ``int()``
truncations, OpenCV treating a zero-sized ``dsize`` as "same size as the source", float32/float64
arithmetic exactly where PaddleX has it, and its fallbacks. The reference is the PaddleX 3.7.2
source (``crop_image_regions.py``, ``seal_det_warp.py``) running on numpy 2; where that source and
the reference document disagree, the source wins and a comment says so.
"""

import cv2
import numpy as np
from shapely.errors import GEOSException
from shapely.geometry import Polygon

__all__ = ["rectify_text_line", "rotated_crop"]

IOU_STRAIGHT = 0.7  # polygon/min-area-rect IoU at or above which the plain rotated crop is used
TALL_CROP_RATIO = 1.5  # rotated crops with h / w >= this are turned 90 degrees counter-clockwise
MERGE_RATIO = 0.9  # edges shorter than this times the mean edge join the current point group
ORIENTATION_THR = 2.0  # quadrilateral head/tail choice (PaddleX's "empirical hyper-parameter")
SIDELINE_SEGMENTS = 15  # each sideline is resampled to SIDELINE_SEGMENTS + 1 points
MIN_CURVE_POINTS = 10  # AutoRectifier's ``npoints``: fewer control points -> no homography path
VERTICAL_RATIO = 1.5  # control-point bbox with h / w above this takes the vertical path


def rectify_text_line(crop_bgr: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Straighten one detected text line of a seal crop, as PaddleX's seal OCR does.

    Args:
        crop_bgr: (H, W, 3) uint8 BGR seal crop, or (H, W) / (H, W, 1) uint8 grey, which is stacked
            to 3 identical channels first. PaddleX stacks a grey image only on its homography path
            and returns a 2-D crop otherwise; stacking first gives the same pixels per channel.
        poly: (n, 2) polygon vertices (x, y) in crop pixels, DB poly output. Cast to int32 with
            truncation, as PaddleX does.

    Returns:
        (h, w, 3) uint8 BGR, C-contiguous, never empty. Text reads left to right.

    Fallbacks (no error is raised for any polygon shape):
        * fewer than 4 vertices, an invalid polygon (self-intersecting, collinear, all points
          equal), or fewer than 4 points left after Step B: the Step A rotated crop. PaddleX 3.7.2
          returns it in these cases; older 3.x versions raised (shapely ``ValueError`` or an
          ``AssertionError``) for some of them.
        * shapely failing on the IoU (``GEOSException``; PaddleX would raise): the rotated crop.
        * any error inside the homography step: the axis-aligned bbox crop of the control points,
          like PaddleX's ``AutoRectifier`` (which catches ``Exception`` there).
        * an empty result (only the bbox crop can be empty): a 1x1 black image. PaddleX would
          return the empty array, and its OCR pipeline then drops the polygon from ``dt_polys``;
          callers that must match that can test for the 1x1 black output.
        * a degenerate min-area rect (zero width or height) gives OpenCV's zero-``dsize`` behaviour,
          a crop the size of the whole seal crop, exactly as in PaddleX.
    """
    image = _as_bgr(crop_bgr)
    # PaddleX: np.array(points).astype(np.int32).reshape(-1, 2) -- truncates float vertices.
    points = np.asarray(poly).astype(np.int32).reshape(-1, 2)
    box = _min_area_quad(points)
    # PaddleX warps the rotated crop up front and discards it on the curved path; it is a pure
    # function of (image, box), so it is only computed where it is returned.
    if len(points) < 4 or not _is_curved(points, box):
        return _finish(rotated_crop(image, box))

    simplified = _merge_close_points(points)
    if len(simplified) < 4:
        # PaddleX 3.7.2 guards this case and returns the rotated crop (older versions asserted).
        return _finish(rotated_crop(image, box))
    ctrl = _control_points(simplified)
    return _finish(_auto_rectify(image, ctrl))


def rotated_crop(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Step A.2: perspective crop of a 4-point box (PaddleX ``CropByPolys.get_rotate_crop_image``).

    Args:
        image: (H, W) or (H, W, C) uint8 image; channels are kept as they are.
        quad: (4, 2) box corners (x, y) in image pixels, ordered TL, TR, BR, BL; cast to float32.

    Returns:
        The box warped onto an axis-aligned (h, w[, C]) image with INTER_CUBIC and
        BORDER_REPLICATE, where w = int(max(|TL-TR|, |BR-BL|)) and h = int(max(|TL-BL|, |TR-BR|)),
        then turned 90 degrees counter-clockwise (``np.rot90``, k=1) if h / w >= 1.5. A zero w or h
        makes OpenCV produce a source-sized image (its ``dsize.empty()`` rule), as in PaddleX.
    """
    quad = np.asarray(quad, dtype=np.float32).reshape(4, 2)
    # np.linalg.norm on float32 rows, then int(): the same calls and truncation as PaddleX.
    width = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    height = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    out = _perspective_crop(image, quad, width, height, cv2.INTER_CUBIC, cv2.BORDER_REPLICATE)
    out_h, out_w = out.shape[:2]
    if out_h * 1.0 / out_w >= TALL_CROP_RATIO:
        out = np.rot90(out)
    return np.ascontiguousarray(out)


# --- input / output ---------------------------------------------------------------------------


def _as_bgr(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 view of ``image``; grey is stacked to 3 channels, as PaddleX does."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"seal crop must be uint8, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.stack((image,) * 3, axis=-1)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"seal crop must be (H, W, 3) or (H, W), got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"seal crop is empty: shape {image.shape}")
    return image


def _finish(image: np.ndarray) -> np.ndarray:
    """C-contiguous uint8 result; an empty crop becomes one black BGR pixel (never 0 pixels)."""
    if image.size == 0:
        return np.zeros((1, 1, 3), dtype=np.uint8)
    return np.ascontiguousarray(image, dtype=np.uint8)


def _perspective_crop(
    image: np.ndarray,
    quad: np.ndarray,
    width: float,
    height: float,
    interpolation: int,
    border: int,
) -> np.ndarray:
    """Warp ``quad`` ((4, 2) float32, TL, TR, BR, BL) onto the rectangle (0, 0)-(width, height).

    The destination corners use the exact (possibly fractional) sizes while the output is
    int(width) x int(height): PaddleX's ``Homography`` does the same, so a slice loses its
    fractional last column. Border value is 0 (OpenCV default).
    """
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    return cv2.warpPerspective(
        image, matrix, (int(width), int(height)), flags=interpolation, borderMode=border
    )


# --- Step A: min-area rect and the straight/curved decision -------------------------------------


def _min_area_quad(points: np.ndarray) -> np.ndarray:
    """Min-area rectangle of int32 (n, 2) points as (4, 2) float32 corners TL, TR, BR, BL.

    Corners are sorted by x (stable, like Python's ``sorted``); of the two left ones the upper is
    TL, of the two right ones the upper is TR. A strict ``>`` decides, as in PaddleX, so ties keep
    the ``cv2.boxPoints`` order.
    """
    corners = cv2.boxPoints(cv2.minAreaRect(points))
    corners = corners[np.argsort(corners[:, 0], kind="stable")]
    left = (0, 1) if corners[1, 1] > corners[0, 1] else (1, 0)  # (top, bottom)
    right = (2, 3) if corners[3, 1] > corners[2, 1] else (3, 2)
    return corners[[left[0], right[0], right[1], left[1]]]


def _is_curved(points: np.ndarray, box: np.ndarray) -> bool:
    """True when the polygon takes the curved path: valid and IoU with its rect below 0.7.

    ``points``: int32 (n >= 4, 2) polygon; ``box``: its (4, 2) float32 min-area rect.
    """
    polygon = Polygon(points)
    if not polygon.is_valid:
        return False
    rect = Polygon(box.astype(np.float64))
    try:
        inter = polygon.intersection(rect).area
        union = polygon.union(rect).area
    except GEOSException:
        return False  # PaddleX would raise here; the rotated crop is the closest safe answer.
    # PaddleX also resamples the polygon to 31 points when IoU >= 0.7 and discards the result.
    return inter / (union + 1e-10) < IOU_STRAIGHT


# --- Step B: merge dense runs of vertices ------------------------------------------------------


def _merge_close_points(points: np.ndarray) -> np.ndarray:
    """PaddleX ``sample_points_on_bbox``: collapse runs of short edges into their mean point.

    Args:
        points: int32 (n, 2) polygon ring, n >= 2.

    Returns:
        int32 (k, 2): one point per group, the group's mean truncated to int32. A point joins the
        group of its predecessor when the edge into it is shorter than 0.9 x the mean edge length
        of the open chain p0 .. p(n-1); if the closing edge p(n-1) -> p0 is short too, the last
        group is merged into the first.
    """
    edges = [np.linalg.norm(points[i + 1] - points[i]) for i in range(len(points) - 1)]
    # Left-to-right accumulation, like PaddleX's Python sum() over numpy floats.
    total = np.cumsum([0.0, *edges])[-1]
    mean = total / (len(edges) + 1e-8)
    groups: list[list[int]] = [[0]]
    for i, length in enumerate(edges):
        if length < MERGE_RATIO * mean:
            groups[-1].append(i + 1)
        else:
            groups.append([i + 1])
    if np.linalg.norm(points[0] - points[-1]) < MERGE_RATIO * mean:
        if len(groups) == 1:
            # PaddleX extends the only group with itself and then removes it: nothing is left.
            groups = []
        else:
            groups[0].extend(groups.pop())
    means = [points[g].astype(np.int64).sum(axis=0) / len(g) for g in groups]
    return np.array(means, dtype=np.float64).reshape(-1, 2).astype(np.int32)


# --- Step C: head and tail edges, sidelines ----------------------------------------------------


def _edge_angles(vec_a: np.ndarray, vec_b: np.ndarray) -> np.ndarray:
    """Row-wise angle in radians between (m, 2) vectors, as PaddleX ``vector_angle``.

    Unit vectors use norm + 1e-8, the dot product is clipped to [-1, 1] before arccos.
    """
    unit_a = vec_a / (np.linalg.norm(vec_a, axis=-1) + 1e-8).reshape(-1, 1)
    unit_b = vec_b / (np.linalg.norm(vec_b, axis=-1) + 1e-8).reshape(-1, 1)
    return np.arccos(np.clip(np.sum(unit_a * unit_b, axis=-1), -1.0, 1.0))


def _slope(vec: np.ndarray) -> float:
    """|dy / (dx + 1e-8)| of an edge vector (PaddleX ``vector_slope``)."""
    return abs(vec[1] / (float(vec[0]) + 1e-8))


def _find_head_tail(points: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]]:
    """PaddleX ``find_head_tail`` (orientation_thr 2.0) on an int32 (n >= 4, 2) ring.

    Returns ``((head_start, head_end), (tail_start, tail_end))``: vertex indices of the two short
    end edges of the text band; for n > 4, ``head_end <= tail_end``.
    """
    n = len(points)
    if n == 4:
        if _slope(points[1] - points[0]) + _slope(points[3] - points[2]) < _slope(
            points[2] - points[1]
        ) + _slope(points[0] - points[3]):
            horizontal, vertical = ((0, 1), (2, 3)), ((3, 0), (1, 2))
        else:
            horizontal, vertical = ((3, 0), (1, 2)), ((0, 1), (2, 3))

        def length_sum(pair: tuple[tuple[int, int], tuple[int, int]]) -> float:
            (a, b), (c, d) = pair
            return float(
                np.linalg.norm(points[a] - points[b]) + np.linalg.norm(points[c] - points[d])
            )

        # Very tall quads read along their long side: the "horizontal" pair becomes head/tail.
        if length_sum(vertical) > length_sum(horizontal) * ORIENTATION_THR:
            return horizontal[0], horizontal[1]
        return vertical[0], vertical[1]

    # e_i = p_{i+1} - p_i on the closed ring; its neighbours are e_{i-1} and e_{i+1}.
    edges = np.roll(points, -1, axis=0) - points
    prev_edges = np.roll(edges, 1, axis=0)
    next_edges = np.roll(edges, -1, axis=0)
    theta_sum = _edge_angles(edges, prev_edges) + _edge_angles(edges, next_edges)
    theta_adjacent = _edge_angles(prev_edges, next_edges)

    center = np.mean(points, axis=0)
    edge_dist = np.maximum(
        np.linalg.norm(np.roll(points, -1, axis=0) - center, axis=-1),
        np.linalg.norm(points - center, axis=-1),
    )
    position = np.zeros(n)
    if n % 2 == 0:
        # Favour the two edges that split an even ring into equal halves.
        position[n // 2 - 1] += 1
        position[-1] += 1
    # Same evaluation order as PaddleX, so equal inputs give bit-equal scores (argmax ties).
    score = 0.5 * (theta_sum / np.pi) + 0.15 * (theta_adjacent / np.pi)
    score += 0.35 * (edge_dist / np.max(edge_dist))
    score += 0.1 * position

    # Gaussian over the tail offset j = 0 .. n-4 (peak 1 at the middle): prefers a tail edge
    # roughly opposite the head edge.
    x = np.arange(n - 3) / float(n - 4)
    gaussian = 1.0 / (np.sqrt(2.0 * np.pi) * 0.5) * np.exp(-np.power((x - 0.5) / 0.5, 2.0) / 2)
    gaussian = gaussian / np.max(gaussian)
    partner = (np.arange(n)[:, None] + 2 + np.arange(n - 3)[None, :]) % n
    pair_score = score[:, None] + score[partner] * gaussian[None, :] * 0.3

    best_start, best_offset = np.unravel_index(int(pair_score.argmax()), pair_score.shape)
    head_start = int(best_start)
    tail_start = (head_start + int(best_offset) + 2) % n
    head_end = (head_start + 1) % n
    tail_end = (tail_start + 1) % n
    if head_end > tail_end:
        head_start, tail_start = tail_start, head_start
        head_end, tail_end = tail_end, head_end
    return (head_start, head_end), (tail_start, tail_end)


def _split_sidelines(
    points: np.ndarray, head: tuple[int, int], tail: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Cut the ring at the head and tail edges (PaddleX ``reorder_poly_edge``).

    Returns the two sidelines as int32 (k, 2) slices of the doubled ring: head_end .. tail_end
    (exclusive) and tail_end .. head_end + n (exclusive); a tail_end of 0 counts as n.
    """
    n = len(points)
    ring = np.vstack([points, points])
    tail_end = tail[1] if tail[1] >= 1 else n
    return ring[head[1] : tail_end], ring[tail_end : head[1] + n]


# --- Step D: resample the sidelines ------------------------------------------------------------


def _resample_polyline(line: np.ndarray, segments: int = SIDELINE_SEGMENTS) -> np.ndarray:
    """PaddleX ``sample_points_on_bbox_bp``: ``segments + 1`` points along a polyline.

    Args:
        line: (k >= 2, 2) polyline vertices (int32 here).
        segments: number of equal steps.

    Returns:
        float64 (segments + 1, 2): the first vertex, points at arc length i * L / (segments + 1e-8)
        for i = 1 .. segments - 1 (linear interpolation), and the last vertex. The reference doc
        says L / 15; the source divides by 15 + 1e-8, followed here. For a zero-length line the
        source stops early and returns just the two end points; so does this.
    """
    lengths = [np.linalg.norm(line[k + 1] - line[k]) for k in range(len(line) - 1)]
    cumulative = np.cumsum([0.0, *lengths])
    step = cumulative[-1] / (float(segments) + 1e-8)
    samples = [line[0]]
    edge = 0
    for i in range(1, segments):
        target = i * step
        while edge + 1 < len(cumulative) and target >= cumulative[edge + 1]:
            edge += 1
        if edge >= len(lengths):
            break
        ratio = (target - cumulative[edge]) / lengths[edge]
        samples.append(line[edge] + (line[edge + 1] - line[edge]) * ratio)
    samples.append(line[-1])
    return np.array(samples, dtype=np.float64)


def _control_points(simplified: np.ndarray) -> np.ndarray:
    """Steps C and D: (N, 2) float32 control points, upper sideline first, then the lower one.

    ``simplified`` is the int32 (k >= 4, 2) output of Step B. N is 32 in practice (16 + 16);
    a zero-length sideline contributes only 2 points. Each sideline keeps its own traversal
    direction, so the lower one runs back from right to left (a ring).
    """
    head, tail = _find_head_tail(simplified)
    first, second = _split_sidelines(simplified, head, tail)
    top, bottom = _resample_polyline(first), _resample_polyline(second)
    if (np.mean(top, axis=0) - np.mean(bottom, axis=0))[1] > 0:
        top, bottom = bottom, top
    return np.concatenate([top, bottom]).astype(np.float32)


# --- Step E: piecewise homography and AutoRectifier's fallbacks --------------------------------


def _auto_rectify(image: np.ndarray, ctrl: np.ndarray) -> np.ndarray:
    """PaddleX ``AutoRectifier.run(..., mode="homography")`` for one (N, 2) float32 point set.

    In homography mode ``CurveTextRectifier`` reports a loss of 0.01, so PlanB and the camera
    calibration never run. PaddleX catches every ``Exception`` of the homography step (e.g. the
    ZeroDivisionError of a zero-width point set) and falls back to :func:`_fallback_crop`.
    """
    if len(ctrl) >= MIN_CURVE_POINTS and len(ctrl) % 2 == 0:
        try:
            return _stitch_homographies(image, ctrl)
        except Exception:  # PaddleX logs a warning and falls back; so do we, silently.
            return _fallback_crop(image, ctrl)
    return _fallback_crop(image, ctrl)


def _fallback_crop(image: np.ndarray, ctrl: np.ndarray) -> np.ndarray:
    """PaddleX ``AutoRectifier.get_rotate_crop_image`` with INTER_LINEAR, ratios 1.0.

    Four points: a perspective crop with sizes int(max opposite edge lengths), INTER_LINEAR,
    BORDER_CONSTANT 0, no rot90. Otherwise: the axis-aligned bbox crop with int() truncated
    bounds. The source clips every bound to [0, W-1] / [0, H-1], so the last column and row are
    never included (the reference doc omits this clip; the source is followed). May be empty.
    """
    pts = ctrl.astype(np.float32)
    img_h, img_w = image.shape[:2]
    if len(pts) == 4:
        width = int(max(np.linalg.norm(pts[0] - pts[1]), np.linalg.norm(pts[2] - pts[3])))
        height = int(max(np.linalg.norm(pts[0] - pts[3]), np.linalg.norm(pts[1] - pts[2])))
        return _perspective_crop(image, pts, width, height, cv2.INTER_LINEAR, cv2.BORDER_CONSTANT)
    x_min = min(max(int(np.min(pts[:, 0])), 0), img_w - 1)
    y_min = min(max(int(np.min(pts[:, 1])), 0), img_h - 1)
    x_max = min(max(int(np.max(pts[:, 0])), 0), img_w - 1)
    y_max = min(max(int(np.max(pts[:, 1])), 0), img_h - 1)
    return image[y_min:y_max, x_min:x_max].copy()


def _paddlex_square(values: np.ndarray) -> np.ndarray:
    """Element-wise ``v ** 2`` through numpy's *scalar* power, as PaddleX computes it.

    PaddleX squares numpy scalars one at a time; for float32 that is C ``powf``, which differs from
    ``v * v`` (what ``array ** 2`` computes) by one ulp in about 0.1% of cases. A float32-typed
    exponent keeps numpy 1.x from promoting to float64, so both numpy generations match
    PaddleX-on-numpy-2.
    """
    two = values.dtype.type(2)
    return np.array([v**two for v in values], dtype=values.dtype)


def _hypot_rows(vectors: np.ndarray) -> np.ndarray:
    """Row lengths of (m, 2) vectors in their own dtype, with PaddleX's scalar squaring."""
    return np.sqrt(_paddlex_square(vectors[:, 0]) + _paddlex_square(vectors[:, 1]))


def _unrolled_layout(points: np.ndarray) -> np.ndarray:
    """PaddleX ``horizontal_text_process``: target rectangle corners of the N control points.

    Args:
        points: (N, 2) control points, N even; float64 on the horizontal path, float32 on the
            vertical one. The arithmetic runs in that dtype, as numpy 2 does with PaddleX's scalars.

    Returns:
        float32 (N, 2), the "world" points as ``dc_homo`` sees them: top row x = cumulative
        averaged segment lengths (segment i of the upper line averaged with the facing segment of
        the lower line), y = 0; bottom row the same x in reverse, y = round-half-even(mean
        distance between facing points) (PaddleX's ``np.around``; the reference doc just says
        "round"); then everything shifted by half its extent in float64 and cast to float32.
    """
    n = len(points)
    half = n // 2
    segment = _hypot_rows(points[1:] - points[:-1])
    across = _hypot_rows(points[:half] - points[::-1][:half])
    pairs = len(segment) // 2
    averaged = (segment[:pairs] + segment[::-1][:pairs]) / 2
    height = np.around(np.mean(across))

    xs = np.zeros(half, dtype=np.float64)
    xs[1:] = np.cumsum(averaged[: half - 1])  # sequential sum in the input dtype, like PaddleX
    rect = np.empty((n, 2), dtype=np.float64)
    rect[:half, 0], rect[:half, 1] = xs, 0.0
    rect[half:, 0], rect[half:, 1] = xs[::-1], height
    extent_x = np.max(rect[:, 0]) - np.min(rect[:, 0])
    extent_y = np.max(rect[:, 1]) - np.min(rect[:, 1])
    rect[:, 0] -= extent_x / 2
    rect[:, 1] -= extent_y / 2
    return rect.astype(np.float32)


def _stitch_homographies(image: np.ndarray, ctrl: np.ndarray) -> np.ndarray:
    """PaddleX ``CurveTextRectifier`` in homography mode (``dc_homo``), INTER_LINEAR.

    Args:
        image: (H, W, 3) uint8 seal crop.
        ctrl: (N, 2) float32 control points from :func:`_control_points`, N >= 10 and even.

    Returns:
        (h, w, 3) uint8: N/2 - 1 slices, quad i = [Q_i, Q_(i+1), Q_(N-2-i), Q_(N-1-i)] warped onto
        an int(a_i) x int(H) slice (BORDER_CONSTANT 0), stitched left to right on a black canvas of
        height max(slice heights). Vertical point sets (bbox h / w > 1.5) are handled in a frame
        turned 90 degrees and the canvas is turned back clockwise (``np.rot90``, k=3).

    Raises:
        ZeroDivisionError: zero-width control-point bbox (PaddleX raises it too; the caller falls
            back).
    """
    # PaddleX passes the float32 points on as Python floats, i.e. float64 from here on.
    pts = ctrl.astype(np.float64)
    span_x = int(np.max(pts[:, 0])) - int(np.min(pts[:, 0]))
    span_y = int(np.max(pts[:, 1])) - int(np.min(pts[:, 1]))
    vertical = span_y / span_x > VERTICAL_RATIO
    layout_source: np.ndarray  # float32 on the vertical path, float64 on the horizontal one
    if vertical:
        # PaddleX's vertical_text_process: move the first point to the end, then map (x, y) to
        # (y, H - 1 - x) in float32. It uses the crop *height* here, not the width; kept.
        quad_source = np.roll(pts, -1, axis=0)
        layout_source = np.empty(quad_source.shape, dtype=np.float32)
        layout_source[:, 0] = quad_source[:, 1]
        layout_source[:, 1] = image.shape[0] - quad_source[:, 0] - 1
    else:
        quad_source = layout_source = pts
    # On the vertical path PaddleX stores the layout as (-y, x); the slice sizes it reads back
    # are the same float32 differences as read here, so one code path serves both.
    world = _unrolled_layout(layout_source)

    n = len(pts)
    slices = []
    for i in range(n // 2 - 1):
        facing = n - 2 - i  # bottom-line partner of Q_(i+1); Q_(N-1-i) faces Q_i
        quad = quad_source[[i, i + 1, facing, facing + 1]].astype(np.float32)
        width = np.abs(world[i + 1, 0] - world[i, 0])  # float32, truncated by int() when warping
        height = np.abs(world[facing + 1, 1] - world[i, 1])
        slices.append(
            _perspective_crop(image, quad, width, height, cv2.INTER_LINEAR, cv2.BORDER_CONSTANT)
        )

    canvas = np.zeros(
        (max(s.shape[0] for s in slices), sum(s.shape[1] for s in slices), 3), dtype=np.uint8
    )
    left = 0
    for piece in slices:
        canvas[: piece.shape[0], left : left + piece.shape[1]] = piece
        left += piece.shape[1]
    if vertical:
        canvas = np.rot90(canvas, 3)
    return canvas
