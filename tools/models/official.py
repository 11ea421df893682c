"""``make models SOURCE=official``: the official PaddleX inference models, through paddle2onnx.

For each role (``layout``, ``seal_det``, ``text_rec``) of the chosen profile (``mobile`` or
``server``, layout model selectable), this module

1. downloads ``<base_url>/<name>_infer.tar`` into ``.cache/official/archives`` (resumable with
   HTTP Range, tqdm progress bar, retries, clear errors);
2. verifies it: the HTTP length, the sha256/size pinned in ``official_models.json`` when known,
   the digest first seen (``.cache/official/downloads.json``), tar integrity, safe member paths
   and the required files (``inference.yml``, ``inference.pdiparams``, ``inference.json`` or
   ``inference.pdmodel``);
3. converts it with the real ``paddle2onnx`` in ``.cache/venv-official`` (``paddle_convert.py``),
   which also hands back ``inference.yml`` as JSON;
4. checks the pre/post-processing the yml asks for against what ``seal_ocr`` implements, adapts
   the graph where it can (input normalisation folded in, RT-DETR's ``im_shape`` computed inside
   the graph, the layout's ragged ``bbox``/``bbox_num`` padded per image in the graph by
   ``layout_contract.pad_per_image``), refuses loudly where it cannot, renames the I/O to
   ``seal_ocr.tensor_names`` and checks names, dtypes and ranks against the entry's
   ``config.pbtxt`` and ``configs/cpu.pbtxt``;
5. installs ``<entry>/1/model.onnx``, ``layout/layout_info.json`` (labels from the yml, seal label
   ``seal``) and ``text_rec/characters.txt`` (the yml's ``character_dict``).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from seal_ocr import tensor_names as names
from seal_ocr.layout import IMAGENET_MEAN, IMAGENET_STD
from seal_ocr.model_info import LayoutInfo
from tools.models.layout_contract import EXPORT_BOX_COUNT, EXPORT_BOXES, pad_per_image

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_PATH = Path(__file__).with_name("official_models.json")
CONVERTER_SCRIPT = Path(__file__).with_name("paddle_convert.py")
# under .cache/ (git-ignored, removed by `make clean`): PaddlePaddle is about 1 GB installed
DEFAULT_CONVERTER_VENV = REPO_ROOT / ".cache" / "venv-official"
BASE_URL_ENV = "SEAL_OFFICIAL_BASE_URL"  # another mirror of the same archives
ROLES = (names.LAYOUT_MODEL, names.SEAL_DET_MODEL, names.TEXT_REC_MODEL)
OFFICIAL_SEAL_LABEL = "seal"
REC_HEIGHT = 48  # seal_ocr.rec resizes lines to this height
REC_MEAN, REC_STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)  # (x / 255 - 0.5) / 0.5
OPSET = 16
CHUNK = 1 << 16


class OfficialModelError(RuntimeError):
    """A download, verification, conversion or install step failed; the message says which."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    role: str
    url: str
    sha256: str | None = None
    size: int | None = None


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def layout_choices(manifest: dict[str, Any] | None = None) -> list[str]:
    manifest = manifest or load_manifest()
    return [n for n, m in manifest["models"].items() if m["role"] == names.LAYOUT_MODEL]


def select_models(
    profile: str, layout: str | None = None, base_url: str | None = None
) -> dict[str, ModelSpec]:
    """Role -> model of ``profile`` (``mobile``/``server``), with ``layout`` overriding."""
    manifest = load_manifest()
    if profile not in manifest["profiles"]:
        raise OfficialModelError(f"unknown PROFILE {profile!r}: {sorted(manifest['profiles'])}")
    chosen = dict(manifest["profiles"][profile])
    if layout:
        if layout not in layout_choices(manifest):
            raise OfficialModelError(
                f"unknown LAYOUT {layout!r}; choose one of {layout_choices(manifest)}"
            )
        chosen[names.LAYOUT_MODEL] = layout
    base = (base_url or os.environ.get(BASE_URL_ENV) or manifest["base_url"]).rstrip("/")
    specs = {}
    for role, name in chosen.items():
        entry = manifest["models"][name]
        specs[role] = ModelSpec(
            name=name,
            role=role,
            url=f"{base}/{name}_infer.tar",
            sha256=entry.get("sha256"),
            size=entry.get("size"),
        )
    return specs


# --------------------------------------------------------------------------- reachability
def probe(url: str, timeout_s: float = 4.0) -> tuple[bool, str]:
    """A quick HEAD: (answered, what happened) for the loud SOURCE=auto message."""
    start = time.monotonic()
    request = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        return False, f"HTTP {error.code} for {url}"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return False, f"no answer from {url} within {timeout_s:.0f} s ({reason})"
    return status < 400, f"HTTP {status} in {time.monotonic() - start:.1f} s from {url}"


# --------------------------------------------------------------------------- download
def _total_from_headers(response, offset: int) -> int | None:
    content_range = response.headers.get("Content-Range")
    if content_range and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        return int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length")
    return int(length) + offset if length and length.isdigit() else None


def download(url: str, dest: Path, *, retries: int = 3, timeout_s: float = 30.0) -> Path:
    """Fetch ``url`` to ``dest`` through ``dest.part``, resuming with HTTP Range; idempotent."""
    from tqdm import tqdm

    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    last_error = ""
    for attempt in range(1, retries + 1):
        offset = part.stat().st_size if part.exists() else 0
        request = urllib.request.Request(url)
        if offset:
            request.add_header("Range", f"bytes={offset}-")
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                if offset and response.status != 206:  # server ignored Range: start over
                    offset = 0
                total = _total_from_headers(response, offset)
                mode = "ab" if offset else "wb"
                with (
                    open(part, mode) as out,
                    tqdm(
                        total=total, initial=offset, unit="B", unit_scale=True,
                        desc=dest.name, file=sys.stderr, leave=True,
                    ) as bar,
                ):  # fmt: skip
                    while chunk := response.read(CHUNK):
                        out.write(chunk)
                        bar.update(len(chunk))
            size = part.stat().st_size
            if total is not None and size != total:
                raise OfficialModelError(f"{url}: got {size} of {total} bytes")
            part.replace(dest)
            return dest
        except urllib.error.HTTPError as error:
            if error.code == 416 and offset:  # range past the end: the part is stale
                part.unlink(missing_ok=True)
            last_error = f"HTTP {error.code} {error.reason}"
            if error.code in (403, 404):
                break
        except (
            urllib.error.URLError,
            http.client.HTTPException,
            OSError,
            OfficialModelError,
        ) as error:
            last_error = str(getattr(error, "reason", error)) or type(error).__name__
        if attempt < retries:
            print(f"  retrying {url} ({last_error}) ...", file=sys.stderr)
            time.sleep(min(2.0 * attempt, 5.0))
    kept = f" The partial download {part} resumes next time." if part.exists() else ""
    raise OfficialModelError(
        f"cannot download {url}: {last_error}. Check the network or a proxy, point "
        f"{BASE_URL_ENV} at a mirror, or use the offline stand-ins (make models SOURCE=rapid)."
        + kept
    )


# --------------------------------------------------------------------------- verify
def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_archive(spec: ModelSpec, archive: Path, ledger_path: Path) -> str:
    """Check pinned size/sha256, the first-seen digest and tar integrity; returns the sha256."""
    size, digest = archive.stat().st_size, sha256_of(archive)
    problems = []
    if spec.size is not None and size != spec.size:
        problems.append(f"size {size} != pinned {spec.size}")
    if spec.sha256 and digest != spec.sha256:
        problems.append(f"sha256 {digest} != pinned {spec.sha256}")
    ledger = json.loads(ledger_path.read_text()) if ledger_path.exists() else {}
    seen = ledger.get(spec.name)
    if seen and seen["sha256"] != digest and seen["url"] == spec.url:
        problems.append(
            f"sha256 {digest} differs from the first download ({seen['sha256']}; delete its "
            f"entry in {ledger_path} to accept a new upstream release)"
        )
    try:
        if problems:
            raise OfficialModelError(f"{archive.name}: {'; '.join(problems)}")
        check_tar(archive)
    except OfficialModelError as error:
        bad = archive.with_name(archive.name + ".bad")
        archive.replace(bad)  # the next run downloads it afresh
        raise OfficialModelError(f"{error} (moved to {bad})") from None
    if not seen or seen["url"] != spec.url:
        ledger[spec.name] = {"url": spec.url, "size": size, "sha256": digest}
        ledger_path.write_text(json.dumps(ledger, indent=2) + "\n")
    return digest


def _model_files(members: list[str]) -> dict[str, str]:
    """Basename -> member path of the files a PaddleX inference archive must hold."""
    found = {}
    for member in members:
        base = member.rsplit("/", 1)[-1]
        if base in ("inference.yml", "inference.pdiparams", "inference.json", "inference.pdmodel"):
            found[base] = member
    return found


def check_tar(archive: Path) -> None:
    """Every member readable to its end, no path escapes, the required files present."""
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            for member in members:
                path = Path(member.name)
                if path.is_absolute() or ".." in path.parts or member.issym() or member.islnk():
                    raise OfficialModelError(f"{archive.name}: unsafe member {member.name!r}")
                if member.isfile():
                    stream = tar.extractfile(member)
                    while stream.read(1 << 20):  # reads through: a truncated tar fails here
                        pass
    except (tarfile.TarError, EOFError, OSError) as error:
        raise OfficialModelError(f"{archive.name}: not a complete tar archive ({error})") from None
    found = _model_files([m.name for m in members if m.isfile()])
    missing = [f for f in ("inference.yml", "inference.pdiparams") if f not in found]
    if "inference.json" not in found and "inference.pdmodel" not in found:
        missing.append("inference.json (or inference.pdmodel)")
    if missing:
        raise OfficialModelError(f"{archive.name}: missing {', '.join(missing)}")


def extract(archive: Path, target: Path) -> Path:
    """Extract the model files flat into ``target``; returns it."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        files = _model_files([m.name for m in tar.getmembers() if m.isfile()])
        for base, member in files.items():
            with tar.extractfile(member) as source, open(target / base, "wb") as out:
                shutil.copyfileobj(source, out)
    return target


# --------------------------------------------------------------------------- convert
def converter_python(venv: Path = DEFAULT_CONVERTER_VENV) -> Path:
    return venv / "bin" / "python"


def official_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The ``official`` extra of pyproject.toml: the pins of the converter venv."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return list(data["project"]["optional-dependencies"]["official"])


def ensure_converter_venv(venv: Path = DEFAULT_CONVERTER_VENV) -> Path:
    """Create ``.cache/venv-official`` with the ``official`` extra's pins; quick when up to date."""
    requirements = official_requirements()
    stamp = venv / f".official-{hashlib.sha256('|'.join(requirements).encode()).hexdigest()[:12]}"
    if stamp.exists():
        return converter_python(venv)
    print(f"installing paddle2onnx + PaddlePaddle (CPU) into {venv} ...", file=sys.stderr)
    if not converter_python(venv).exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    log = venv / "pip-install.log"
    with open(log, "w") as out:
        result = subprocess.run(
            [str(converter_python(venv)), "-m", "pip", "install", *requirements],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if result.returncode != 0:
        raise OfficialModelError(f"installing {requirements} into {venv} failed; see {log}")
    for old in venv.glob(".official-*"):
        old.unlink()
    stamp.touch()
    return converter_python(venv)


def convert(python: Path, model_dir: Path, out: Path) -> dict[str, Any]:
    """Run paddle_convert.py in the converter venv; returns the parsed inference.yml."""
    result = subprocess.run(
        [str(python), str(CONVERTER_SCRIPT), str(model_dir), str(out), "--opset", str(OPSET)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise OfficialModelError(
            f"conversion of {model_dir.name} failed:\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return json.loads(Path(f"{out}.yml.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- yml -> facts
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
        "postprocess": {k: config[k] for k in ("draw_threshold", "arch", "NMS") if k in config},
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


# --------------------------------------------------------------------------- graph surgery
def _dtype_rank(value: onnx.ValueInfoProto) -> tuple[int, int]:
    tensor = value.type.tensor_type
    return tensor.elem_type, len(tensor.shape.dim)


def _static_dims(value: onnx.ValueInfoProto) -> list[int | None]:
    return [
        d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim
    ]


def _redirect_consumers(graph: onnx.GraphProto, old: str, new: str) -> None:
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]


def fold_normalisation(
    graph: onnx.GraphProto, input_name: str, ours: Normalisation, theirs: Normalisation
) -> bool:
    """Prepend ``x * a + b`` so the model accepts ``ours`` (what seal_ocr feeds) in place of
    ``theirs`` (what its yml asks). False when they already agree."""
    # v * s1 = n * std1 + mean1 (ours)  ->  x = (v * s2 - mean2) / std2 (theirs)
    ratio = theirs.scale / ours.scale
    a = np.array([sd * ratio / st for sd, st in zip(ours.std, theirs.std, strict=True)], np.float32)
    b = np.array(
        [
            (m * ratio - mt) / st
            for m, mt, st in zip(ours.mean, theirs.mean, theirs.std, strict=True)
        ],
        np.float32,
    )
    if np.allclose(a, 1.0, atol=1e-6) and np.allclose(b, 0.0, atol=1e-6):
        return False
    adapted = f"{input_name}__normalised"
    _redirect_consumers(graph, input_name, adapted)
    graph.initializer.extend([
        numpy_helper.from_array(a.reshape(1, 3, 1, 1), "seal_adapter/norm_a"),
        numpy_helper.from_array(b.reshape(1, 3, 1, 1), "seal_adapter/norm_b"),
    ])  # fmt: skip
    nodes = [
        helper.make_node("Mul", [input_name, "seal_adapter/norm_a"], ["seal_adapter/scaled"]),
        helper.make_node("Add", ["seal_adapter/scaled", "seal_adapter/norm_b"], [adapted]),
    ]
    for i, node in enumerate(nodes):
        graph.node.insert(i, node)
    return True


def compute_im_shape(graph: onnx.GraphProto, input_hw: tuple[int, int]) -> bool:
    """RT-DETR exports take ``im_shape`` [N, 2] = the resized (h, w); seal_ocr sends only
    ``image`` and ``scale_factor``, so compute it in the graph (as a [N, 2] broadcast)."""
    inputs = {value.name: value for value in graph.input}
    if "im_shape" not in inputs:
        return False
    graph.input.remove(inputs["im_shape"])
    graph.initializer.extend([
        numpy_helper.from_array(np.zeros((1, 2), np.float32), "seal_adapter/zero"),
        numpy_helper.from_array(np.array([input_hw], np.float32), "seal_adapter/input_hw"),
    ])  # fmt: skip
    rows = "seal_adapter/rows"
    nodes = [
        helper.make_node("Mul", [names.LAYOUT_SCALE_FACTOR, "seal_adapter/zero"], [rows]),
        helper.make_node("Add", [rows, "seal_adapter/input_hw"], ["im_shape"]),
    ]
    for i, node in enumerate(nodes):
        graph.node.insert(i, node)
    return True


def rename_outputs(graph: onnx.GraphProto, new_names: list[str]) -> None:
    if len(graph.output) != len(new_names):
        raise OfficialModelError(
            f"expected {len(new_names)} outputs, the converted model has "
            f"{[o.name for o in graph.output]}"
        )
    for value, new in zip(graph.output, new_names, strict=True):
        old = value.name
        if old == new:
            continue
        for node in graph.node:
            node.output[:] = [new if n == old else n for n in node.output]
        _redirect_consumers(graph, old, new)
        value.name = new


def rename_single_input(graph: onnx.GraphProto, new: str) -> None:
    if len(graph.input) != 1:
        raise OfficialModelError(f"expected one input, got {[i.name for i in graph.input]}")
    old = graph.input[0].name
    if old != new:
        _redirect_consumers(graph, old, new)
        graph.input[0].name = new


def order_inputs(graph: onnx.GraphProto, order: list[str]) -> None:
    by_name = {value.name: value for value in graph.input}
    if set(by_name) != set(order):
        raise OfficialModelError(f"layout inputs {sorted(by_name)}, expected {order}")
    values = [onnx.ValueInfoProto.FromString(by_name[n].SerializeToString()) for n in order]
    del graph.input[:]
    graph.input.extend(values)


# --------------------------------------------------------------------------- config checks
_CONFIG_DTYPES = {"TYPE_FP32": TensorProto.FLOAT, "TYPE_INT32": TensorProto.INT32}


def config_tensors(path: Path) -> dict[str, tuple[int, list[int], bool]]:
    """name -> (ONNX dtype, dims, batched) of the I/O declared in a config.pbtxt."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2 as mc

    config = text_format.Parse(path.read_text(), mc.ModelConfig())
    tensors = {}
    for tensor in [*config.input, *config.output]:
        dtype = _CONFIG_DTYPES[mc.DataType.Name(tensor.data_type)]
        dims = list(tensor.reshape.shape) if tensor.HasField("reshape") else list(tensor.dims)
        tensors[tensor.name] = (dtype, dims, config.max_batch_size > 0)
    return tensors


def check_against_configs(model: onnx.ModelProto, entry_dir: Path) -> None:
    """Names, dtypes, ranks and fixed dims of the ONNX I/O agree with every config variant."""
    graph = model.graph
    values = {v.name: v for v in [*graph.input, *graph.output]}
    for path in [entry_dir / "config.pbtxt", *sorted((entry_dir / "configs").glob("*.pbtxt"))]:
        declared = config_tensors(path)
        if set(declared) != set(values):
            raise OfficialModelError(
                f"{path}: declares {sorted(declared)}, model has {sorted(values)}"
            )
        for name, (dtype, dims, batched) in declared.items():
            full = ([-1] if batched else []) + dims
            elem, rank = _dtype_rank(values[name])
            model_dims = _static_dims(values[name])
            if elem != dtype or rank != len(full):
                raise OfficialModelError(
                    f"{path}: {name} is {TensorProto.DataType.Name(elem)} rank {rank}, config "
                    f"says {TensorProto.DataType.Name(dtype)} {full}"
                )
            for want, have in zip(full, model_dims, strict=False):
                if want != -1 and have not in (None, 0, want):
                    raise OfficialModelError(f"{path}: {name} dims {model_dims} vs config {full}")


def set_layout_input_hw(entry_dir: Path, input_hw: tuple[int, int]) -> list[Path]:
    """Write the layout model's fixed input size into its configs; returns the changed files."""
    height, width = input_hw
    changed = []
    pattern = re.compile(r'(name: "image"[^}]*dims: \[[^\]]*?3, )\d+, \d+( \])')
    for path in [entry_dir / "config.pbtxt", *sorted((entry_dir / "configs").glob("*.pbtxt"))]:
        text = path.read_text()
        new = pattern.sub(rf"\g<1>{height}, {width}\g<2>", text)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


# --------------------------------------------------------------------------- install
def _adapt_layout(model: onnx.ModelProto, facts: dict[str, Any]) -> list[str]:
    graph, notes = model.graph, []
    inputs = {v.name for v in graph.input}
    if not {names.LAYOUT_IMAGE, names.LAYOUT_SCALE_FACTOR} <= inputs:
        raise OfficialModelError(f"layout inputs {sorted(inputs)} lack image/scale_factor")
    ours = Normalisation(1 / 255, IMAGENET_MEAN, IMAGENET_STD)
    if fold_normalisation(graph, names.LAYOUT_IMAGE, ours, facts["normalisation"]):
        notes.append(f"normalisation {facts['normalisation']} folded into the graph")
    if compute_im_shape(graph, facts["input_hw"]):
        notes.append("im_shape computed in the graph")
    order_inputs(graph, [names.LAYOUT_IMAGE, names.LAYOUT_SCALE_FACTOR])
    rename_outputs(graph, [EXPORT_BOXES, EXPORT_BOX_COUNT])
    boxes = _static_dims(graph.output[0])
    if boxes and boxes[-1] not in (None, 6):
        raise OfficialModelError(f"layout boxes have {boxes[-1]} columns; seal_ocr reads 6")
    try:  # ragged rows -> fixed shape per image, so Triton can batch the entry
        pad_per_image(model)
    except ValueError as error:
        raise OfficialModelError(f"layout export cannot be padded per image: {error}") from None
    notes.append(
        f"{EXPORT_BOXES}/{EXPORT_BOX_COUNT} padded per image to {names.LAYOUT_BOXES} "
        f"[N, {names.LAYOUT_MAX_BOXES}, 6] and {names.LAYOUT_BOX_COUNT} [N]"
    )
    return notes


def _adapt_det(model: onnx.ModelProto, facts: dict[str, Any]) -> list[str]:
    graph, notes = model.graph, []
    rename_single_input(graph, names.SEAL_DET_IMAGE)
    rename_outputs(graph, [names.SEAL_DET_PROB])
    ours = Normalisation(1 / 255, IMAGENET_MEAN, IMAGENET_STD)
    if fold_normalisation(graph, names.SEAL_DET_IMAGE, ours, facts["normalisation"]):
        notes.append(f"normalisation {facts['normalisation']} folded into the graph")
    return notes


def _adapt_rec(model: onnx.ModelProto, facts: dict[str, Any]) -> list[str]:
    graph = model.graph
    rename_single_input(graph, names.TEXT_REC_IMAGE)
    rename_outputs(graph, [names.TEXT_REC_PROB])
    classes = _static_dims(graph.output[0])[-1]
    expected = len(facts["characters"]) + 2  # blank + dictionary + space
    if classes not in (None, expected):
        raise OfficialModelError(
            f"rec model has {classes} classes, its dictionary gives {expected} (blank + "
            f"{len(facts['characters'])} + space)"
        )
    return []


def install_model(
    role: str, onnx_path: Path, config: dict[str, Any], repository: Path, spec: ModelSpec
) -> dict[str, Any]:
    """Adapt, check and install one converted model; returns what was installed."""
    model = onnx.load(str(onnx_path))
    entry_dir = repository / role
    record: dict[str, Any] = {"model": spec.name, "url": spec.url}
    if role == names.LAYOUT_MODEL:
        facts = layout_facts(config)
        notes = _adapt_layout(model, facts)
        changed = set_layout_input_hw(entry_dir, facts["input_hw"])
        if changed:
            written = [str(p.relative_to(repository)) for p in changed]
            notes.append(f"input {facts['input_hw']} written into {written}")
    elif role == names.SEAL_DET_MODEL:
        facts = det_facts(config)
        notes = _adapt_det(model, facts)
    else:
        facts = rec_facts(config)
        notes = _adapt_rec(model, facts)
    onnx.checker.check_model(model)
    check_against_configs(model, entry_dir)
    (entry_dir / "1").mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(entry_dir / "1" / "model.onnx"))
    if role == names.LAYOUT_MODEL:
        info = LayoutInfo(
            labels=tuple(facts["labels"]),
            seal_label=OFFICIAL_SEAL_LABEL,
            input_hw=facts["input_hw"],
            source=f"official: {spec.name} (PaddleX inference model via paddle2onnx)",
        )
        data = json.loads(info.to_json())
        data["preprocess"] = facts["preprocess"]  # the yml's, for the record
        data["postprocess"] = facts["postprocess"]
        (repository / names.LAYOUT_INFO_FILE).write_text(
            json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8"
        )
        record["labels"] = facts["labels"]
    elif role == names.TEXT_REC_MODEL:
        (repository / names.CHARACTERS_FILE).write_text(
            "\n".join(facts["characters"]) + "\n", "utf-8"
        )
        record["characters"] = len(facts["characters"])
    else:
        record["postprocess"] = facts["postprocess"]
    record["notes"] = notes
    return record


def prepare_official(
    repository: Path,
    cache: Path,
    *,
    profile: str = "mobile",
    layout: str | None = None,
    base_url: str | None = None,
    converter_venv: Path = DEFAULT_CONVERTER_VENV,
) -> dict[str, Any]:
    """Download, verify, convert and install the three official models; returns a summary."""
    specs = select_models(profile, layout, base_url)
    root = cache / "official"
    archives, work = root / "archives", root / "work"
    ledger = root / "downloads.json"
    archives.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"profile": profile, "models": {}}
    extracted = {}
    for role in ROLES:  # every download first: an unreachable host fails before any install
        spec = specs[role]
        print(f"[{role}] {spec.name}: {spec.url}", file=sys.stderr)
        archive = download(spec.url, archives / f"{spec.name}_infer.tar")
        digest = verify_archive(spec, archive, ledger)
        print(f"[{role}] verified {archive.name} sha256 {digest[:16]}...", file=sys.stderr)
        extracted[role] = (extract(archive, work / spec.name / "paddle"), digest)
    python = ensure_converter_venv(converter_venv)
    # convert and check all three in a staging copy of the entries; the repository is touched
    # only once every model passed, so a failure never leaves a mix of sources behind
    staging = work / "staging"
    if staging.exists():
        shutil.rmtree(staging)
    for role in ROLES:
        shutil.copytree(
            repository / role, staging / role,
            ignore=shutil.ignore_patterns("1", "__pycache__", "*.json", "*.txt"),
        )  # fmt: skip
    for role in ROLES:
        spec, (model_dir, digest) = specs[role], extracted[role]
        onnx_path = work / spec.name / "converted.onnx"
        config = convert(python, model_dir, onnx_path)
        record = install_model(role, onnx_path, config, staging, spec)
        record["sha256"] = digest
        summary["models"][role] = record
        print(f"[{role}] converted with paddle2onnx and installed", file=sys.stderr)
        for note in record["notes"]:
            print(f"[{role}]   {note}", file=sys.stderr)
    for path in sorted(p for p in staging.rglob("*") if p.is_file()):
        target = repository / path.relative_to(staging)
        if path.suffix == ".pbtxt" and target.read_bytes() == path.read_bytes():
            continue  # configs keep their bytes and mtime unless the model needs a change
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    (root / "installed.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary
