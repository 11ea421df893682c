"""Local models (``make models SEAL_DET=dir TEXT_REC=dir LAYOUT_MODEL=dir``): the user's own,
e.g. fine-tuned, PaddleX inference models, staged so the official path converts and checks them
exactly like a downloaded archive.

A local model is either

- a PaddleX inference directory: ``inference.yml``, ``inference.pdiparams`` and
  ``inference.json`` (PaddlePaddle 3) or ``inference.pdmodel`` (older), as ``paddlex
  --export`` / PaddleOCR's ``export_model.py`` write it; or
- an ONNX file with its yml beside it: ``inference.yml`` in the same directory, or
  ``<stem>.yml`` (``my_rec.onnx`` + ``my_rec.yml``).

:func:`stage_local` copies the model files flat into a work directory (the ONNX file as
``inference.onnx``, which ``paddle_convert.py`` takes as converted already) and returns what
:func:`tools.models.official.prepare_official` records: the model's name (the directory's or
file's) and a sha256 over the files.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from tools.models.official_archives import missing_model_files, model_files
from tools.models.official_catalog import OfficialModelError

ONNX_FILE = "inference.onnx"  # the name paddle_convert.py takes as converted already
YML_FILE = "inference.yml"


@dataclass(frozen=True)
class StagedModel:
    """A local model copied into a work directory, ready for ``official_converter.convert``."""

    name: str  # the directory's name (``_infer`` dropped) or the ONNX file's stem
    model_dir: Path  # flat copy: inference.{yml,pdiparams,json|pdmodel} or inference.{yml,onnx}
    sha256: str  # over the staged files, by name


def _yml_beside(onnx_path: Path) -> Path:
    for candidate in (onnx_path.with_suffix(".yml"), onnx_path.with_name(YML_FILE)):
        if candidate.is_file():
            return candidate
    raise OfficialModelError(
        f"{onnx_path}: no yml beside it ({onnx_path.with_suffix('.yml').name} or {YML_FILE}); "
        "the yml says the pre/post-processing (and a recogniser's dictionary)"
    )


def _sources(path: Path) -> tuple[str, dict[str, Path]]:
    """(model name, staged file name -> source file) of a local model path."""
    if path.is_dir():
        files = {
            base: path / base
            for base in model_files([p.name for p in path.iterdir() if p.is_file()])
        }
        missing = missing_model_files(files)
        if missing:
            raise OfficialModelError(
                f"{path}: not a PaddleX inference directory, missing {', '.join(missing)} "
                "(or give an .onnx file with its yml)"
            )
        return path.name.removesuffix("_infer"), files
    if path.is_file() and path.suffix == ".onnx":
        return path.stem, {ONNX_FILE: path, YML_FILE: _yml_beside(path)}
    raise OfficialModelError(
        f"{path}: give a PaddleX inference directory (inference.yml, inference.pdiparams, "
        "inference.json or .pdmodel) or an .onnx file with its yml"
    )


def stage_local(path: Path, work: Path) -> StagedModel:
    """Copy the local model at ``path`` into ``work`` (emptied first); refuses what is missing."""
    name, files = _sources(Path(path).expanduser().resolve())
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    digest = hashlib.sha256()
    for base in sorted(files):
        shutil.copyfile(files[base], work / base)
        digest.update(base.encode() + b"\0" + (work / base).read_bytes())
    return StagedModel(name=name, model_dir=work, sha256=digest.hexdigest())
