"""Inference archives: reachability, resumable download, verification, safe extraction."""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Collection
from pathlib import Path

from tools.models.official_catalog import BASE_URL_ENV, ModelSpec, OfficialModelError

CHUNK = 1 << 16


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


def model_files(members: list[str]) -> dict[str, str]:
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
    missing = missing_model_files(model_files([m.name for m in members if m.isfile()]))
    if missing:
        raise OfficialModelError(f"{archive.name}: missing {', '.join(missing)}")


def missing_model_files(found: Collection[str]) -> list[str]:
    """What a PaddleX inference model lacks, given the basenames it has (archive or directory)."""
    missing = [f for f in ("inference.yml", "inference.pdiparams") if f not in found]
    if "inference.json" not in found and "inference.pdmodel" not in found:
        missing.append("inference.json (or inference.pdmodel)")
    return missing


def extract(archive: Path, target: Path) -> Path:
    """Extract the model files flat into ``target``; returns it."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        files = model_files([m.name for m in tar.getmembers() if m.isfile()])
        for base, member in files.items():
            with tar.extractfile(member) as source, open(target / base, "wb") as out:
                shutil.copyfileobj(source, out)
    return target
