"""Run the REAL PaddleX 3.7.2 seal_recognition pipeline offline on our ONNX files (parity ref).

Runs inside .venv-paddlex (parity/setup_paddlex.sh); the model folders come from
parity/build_paddlex_models.py. For each mode it creates the pipeline once with
create_pipeline(config=..., device="cpu", engine="onnxruntime") (doc preprocessor off) and feeds
the images one at a time as file paths (PaddleX decodes them itself). Per image it writes
OUT/<mode>/<stem>.json:

  image             absolute path
  mode              "layout" | "nolayout"
  seconds           wall time of predict() for this image
  res               exactly what result.save_to_json() writes (the "res" object)
  line_crops        per seal region, per dt_poly (dt_polys order): PNG paths, relative to OUT, of
                    the rectified line images PaddleX itself produced and recognised in this run
  rec_inputs_shape  per seal region, per dt_poly: the [C, H, W] rec input PaddleX fed to ORT
  det_inputs_shape  per seal region: the [N, C, H, W] seal-det input
  reader            image decoder backend(s) PaddleX used for this image

The crops are captured by wrapping (not editing) CropByPolys.__call__ in memory, and the input
shapes by wrapping ONNXRuntimeRunner.__call__. OUT/<mode>/_run.json records the config,
versions, reader backend and timings.

    .venv-paddlex/bin/python parity/run_paddlex.py --out OUT --mode layout IMAGE...
    .venv-paddlex/bin/python parity/run_paddlex.py --out OUT --mode both --images-dir DIR
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_MODELS = ROOT / ".build" / "paddlex" / "models"
DEFAULT_CACHE = ROOT / ".cache" / "paddlex"

# Must be set before paddlex is imported.
os.environ["PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK"] = "True"
os.environ.setdefault("PADDLE_PDX_CACHE_HOME", str(DEFAULT_CACHE))

sys.path.insert(0, str(HERE))
# this venv does not install the project: the image suffixes come from its source tree
sys.path.insert(1, str(ROOT / "python_backend"))
from build_paddlex_models import (  # noqa: E402
    DET_NAME,
    LAYOUT_NAME,
    REC_NAME,
    create_seal_pipeline,
    pipeline_config,
    predict_image,
)

from seal_ocr.image_io import IMAGE_SUFFIXES  # noqa: E402


class Capture:
    """In-memory wrappers around PaddleX components: they record, then return the originals."""

    def __init__(self) -> None:
        import numpy as np
        from paddlex.inference.models.runners.onnxruntime_runner import ONNXRuntimeRunner
        from paddlex.inference.pipelines.components.common.crop_image_regions import CropByPolys
        from paddlex.inference.utils.io import readers

        self.np = np
        self.reset()
        cap = self

        orig_crop = CropByPolys.__call__

        def crop_call(self, img, dt_polys):
            out = orig_crop(self, img, dt_polys)
            if self.det_box_type == "poly":
                cap.crop_calls.append(
                    ([np.asarray(p).copy() for p in dt_polys], [o.copy() for o in out])
                )
            return out

        CropByPolys.__call__ = crop_call

        orig_run = ONNXRuntimeRunner.__call__

        def run_call(self, x=None, **kwargs):
            xs = x if x is not None else kwargs.get("x")
            xs = [xs] if isinstance(xs, np.ndarray) else list(xs)
            cap.runner_calls.append((Path(self.model_dir).name, [list(a.shape) for a in xs]))
            return orig_run(self, x, **kwargs)

        ONNXRuntimeRunner.__call__ = run_call

        for cls_name in ("OpenCVImageReaderBackend", "PILImageReaderBackend"):
            cls = getattr(readers, cls_name, None)
            if cls is None:
                continue
            orig_read = cls.read_file

            def read_file(self, in_path, _orig=orig_read, _name=cls_name):
                cap.readers.append(
                    {"backend": _name, "flags": getattr(self, "flags", None), "path": str(in_path)}
                )
                return _orig(self, in_path)

            cls.read_file = read_file

    def reset(self) -> None:
        self.crop_calls: list = []
        self.runner_calls: list = []
        self.readers: list = []


def _res_json(result, tmp: Path) -> dict:
    """What result.save_to_json(dir) writes, read back."""
    for f in tmp.glob("*"):
        f.unlink()
    result.save_to_json(str(tmp))
    files = sorted(tmp.glob("*.json"))
    if len(files) != 1:
        raise RuntimeError(f"save_to_json wrote {[f.name for f in files]}")
    data = json.loads(files[0].read_text(encoding="utf-8"))
    return data["res"] if set(data) == {"res"} else data


def _match_regions(cap: Capture, seal_res_list: list, np) -> list:
    """Assign each recorded CropByPolys call (and rec input) to its seal region, in order.

    PaddleX's OCR sub-pipeline runs one seal crop at a time, calls the cropper only when the crop
    has polygons, drops empty line images together with their polygons, then recognises the line
    images sorted by width/height (stable sort), one per ONNX Runtime call (batch_size 1).
    """
    calls = []
    for polys, crops in cap.crop_calls:
        kept = [
            (p, c)
            for p, c in zip(polys, crops, strict=True)
            if c.size > 0 and c.shape[0] > 0 and c.shape[1] > 0
        ]
        calls.append(kept)
    rec_shapes = [s[0] for name, s in cap.runner_calls if name == REC_NAME]
    out = []
    for res in seal_res_list:
        dt_polys = [np.asarray(p) for p in res.get("dt_polys", [])]
        if not dt_polys:
            # no cropper call (no polygon), or one whose line images were all empty
            if calls and not calls[0]:
                calls.pop(0)
            out.append([])
            continue
        if not calls:
            raise RuntimeError("a seal region has dt_polys but no CropByPolys call was recorded")
        kept = calls.pop(0)
        if len(kept) != len(dt_polys) or not all(
            np.array_equal(p, q) for (p, _), q in zip(kept, dt_polys, strict=True)
        ):
            raise RuntimeError(
                f"captured {len(kept)} line crops but the result has {len(dt_polys)} dt_polys"
            )
        out.append([c for _, c in kept])
    if calls:
        raise RuntimeError(f"{len(calls)} CropByPolys calls were not matched to a seal region")
    n_lines = sum(len(c) for c in out)
    if len(rec_shapes) != n_lines:
        raise RuntimeError(f"{len(rec_shapes)} rec calls for {n_lines} line crops")
    # undo PaddleX's sort by w/h to give each line its rec input shape
    shapes, k = [], 0
    for crops in out:
        order = sorted(
            range(len(crops)), key=lambda i: crops[i].shape[1] / float(crops[i].shape[0])
        )
        region = [None] * len(crops)
        for pos, i in enumerate(order):
            region[i] = rec_shapes[k + pos][1:]  # [N=1, C, H, W] -> [C, H, W]
        k += len(crops)
        shapes.append(region)
    return list(zip(out, shapes, strict=True))


def run_mode(mode: str, images: list[Path], models: Path, out: Path, cap: Capture) -> dict:
    import cv2
    import paddlex

    np = cap.np
    use_layout = mode == "layout"
    for name in ([LAYOUT_NAME] if use_layout else []) + [DET_NAME, REC_NAME]:
        if not (models / name / "inference.onnx").is_file():
            raise SystemExit(f"{models / name} incomplete: run parity/build_paddlex_models.py")
    mode_dir = out / mode
    mode_dir.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    pipeline = create_seal_pipeline(models, use_layout)
    create_s = time.perf_counter() - t0

    per_image = {}
    readers_seen = set()
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        for img in images:
            stem = img.stem
            cap.reset()
            t1 = time.perf_counter()
            results = predict_image(pipeline, img, use_layout)
            seconds = time.perf_counter() - t1
            if len(results) != 1:
                raise RuntimeError(f"{img}: {len(results)} results (expected 1)")
            result = results[0]
            if isinstance(result, dict) and "error" in result:
                raise RuntimeError(f"{img}: {result['error']}")
            res = _res_json(result, tmp)
            seal_res_list = list(result["seal_res_list"])
            regions = _match_regions(cap, seal_res_list, np)

            line_crops, rec_shapes = [], []
            for s, (crops, shapes) in enumerate(regions, start=1):
                names = []
                for j, crop in enumerate(crops, start=1):
                    rel = f"{mode}/{stem}_s{s}_l{j}.png"
                    if not cv2.imwrite(str(out / rel), crop):
                        raise RuntimeError(f"could not write {out / rel}")
                    names.append(rel)
                line_crops.append(names)
                rec_shapes.append(shapes)
            det_shapes = [s[0] for name, s in cap.runner_calls if name == DET_NAME]
            if len(det_shapes) != len(seal_res_list):
                raise RuntimeError(
                    f"{len(det_shapes)} det calls for {len(seal_res_list)} seal regions"
                )
            readers = sorted({r["backend"] for r in cap.readers})
            readers_seen.update(readers)
            doc = {
                "image": str(img),
                "mode": mode,
                "seconds": round(seconds, 4),
                "res": res,
                "line_crops": line_crops,
                "rec_inputs_shape": rec_shapes,
                "det_inputs_shape": det_shapes,
                "reader": [{"backend": r["backend"], "flags": r["flags"]} for r in cap.readers],
            }
            (mode_dir / f"{stem}.json").write_text(
                json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8"
            )
            texts = [t for r in res.get("seal_res_list", []) for t in r.get("rec_texts", [])]
            print(
                f"[{mode}] {img.name}: {seconds:.2f} s, {len(seal_res_list)} seal(s), {texts}",
                flush=True,
            )
            per_image[img.name] = round(seconds, 4)
    total_s = time.perf_counter() - t_all

    import onnxruntime

    summary = {
        "mode": mode,
        "paddlex": paddlex.__version__,
        "onnxruntime": onnxruntime.__version__,
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "engine": "onnxruntime",
        "device": "cpu",
        "image_reader": sorted(readers_seen),
        "imdecode_flags": "cv2.IMREAD_COLOR (BGR, EXIF orientation applied, alpha dropped)",
        "pipeline_create_seconds": round(create_s, 3),
        "predict_seconds_total": round(total_s, 3),
        "per_image_seconds": per_image,
        "config": pipeline_config(models, use_layout),
    }
    (mode_dir / "_run.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    print(
        f"[{mode}] {len(images)} image(s) in {total_s:.2f} s (+{create_s:.2f} s pipeline creation)",
        flush=True,
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("images", nargs="*", type=Path, help="image files")
    ap.add_argument("--images-dir", type=Path, help="add every image file in this folder (sorted)")
    ap.add_argument(
        "--models",
        type=Path,
        default=DEFAULT_MODELS,
        help="build_paddlex_models.py output (default: %(default)s)",
    )
    ap.add_argument("--out", type=Path, required=True, help="output folder")
    ap.add_argument("--mode", choices=("layout", "nolayout", "both"), default="both")
    args = ap.parse_args(argv)

    images = [p.resolve() for p in args.images]
    if args.images_dir:
        images += sorted(
            p.resolve() for p in args.images_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
        )
    if not images:
        ap.error("no images given")
    stems = [p.stem for p in images]
    if len(set(stems)) != len(stems):
        ap.error("image file names (stems) must be unique: outputs are named after them")
    missing = [str(p) for p in images if not p.is_file()]
    if missing:
        ap.error(f"missing: {missing}")

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    cap = Capture()
    modes = ("layout", "nolayout") if args.mode == "both" else (args.mode,)
    for mode in modes:
        if (out / mode).exists():
            shutil.rmtree(out / mode)
        run_mode(mode, images, args.models.resolve(), out, cap)
    return 0


if __name__ == "__main__":
    sys.exit(main())
