"""Bad and odd inputs through ``SealClient`` and its CLI inputs: what the client refuses before
sending anything (an ``InputError`` naming the input), what the server refuses for one page (a
``PageError``), PDFs, URLs and directories. The raw requests are in ``test_bad_inputs.py``.
Every test records its outcome for the summary table printed at the end of the run.
"""

from __future__ import annotations

import http.server
import io
import threading
import time
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

import seal_client.pdf
from seal_client import InputError, PageError, SealClient
from seal_client.pdf import PdfError
from seal_ocr.errors import InvalidOptionError
from tests.integration.odd_files import (
    GOOD_IMAGE,
    GOOD_TEXT,
    PIXEL_CAP,
    animated_gif,
    exif_rotated_jpeg,
    first_half,
    pdf_of,
    png_claiming,
    random_bytes,
    seal_pil,
    tiff_of,
)
from tests.local_http import serve

UNREACHABLE = "127.0.0.1:1"  # a client pointed here proves a refusal happened before sending

# Regression found by these tests (fixed): a 0-page PDF read after an encrypted one was called
# "encrypted" (PDFium's stale error code).


def short(error: Exception, tmp_path: Path) -> str:
    """The error message with the test's temporary directory shortened, for the table."""
    return str(error).replace(str(tmp_path), "<tmp>")


# --- 1. through the client ---------------------------------------------------------------------


@pytest.fixture(params=["grpc", "http"])
def seal_client_(request, triton_server) -> SealClient:
    url = triton_server.grpc_url if request.param == "grpc" else triton_server.http_url
    return SealClient(url, request.param, max_in_flight=2)


def test_client_exif_page_is_rotated(seal_client_, eval_dir, record_outcome):
    data = exif_rotated_jpeg(eval_dir)
    [result] = seal_client_.predict(data, use_layout_detection=False)
    record_outcome(
        "client: JPEG with EXIF orientation 6",
        seal_client_.protocol,
        "OK" if result.ok else "error",
        f"page {result.image.shape}, seal_boxes {result.json['seal_boxes']}",
    )
    assert result.image.shape == (800, 500, 3)
    assert result.json["seal_boxes"] == [[0.0, 0.0, 500.0, 800.0]]


def test_client_multi_page_tiff_is_one_page(seal_client_, eval_dir, tmp_path, record_outcome):
    path = tmp_path / "scan.tiff"
    seal = seal_pil(eval_dir)
    path.write_bytes(tiff_of(seal, Image.new("RGB", (300, 200), "white")))
    results = list(seal_client_.predict(path))
    record_outcome(
        "client: 2-page TIFF", seal_client_.protocol, f"{len(results)} result(s)", results[0].texts
    )
    assert len(results) == 1 and results[0].json["page_index"] is None
    [first_page] = seal_client_.predict(tiff_of(seal))
    assert results[0].texts == first_page.texts and GOOD_TEXT in first_page.texts


@pytest.mark.parametrize(
    ("input_class", "build", "error", "parts"),
    [
        ("empty bytes", lambda d: b"", InputError, ("bytes input #0", "0 bytes")),
        ("random bytes", lambda d: random_bytes(), InputError, ("not a decodable image",)),
        ("text file", lambda d: b"Total: 100 CNY\n", InputError, ("not a decodable image",)),
        ("animated GIF", animated_gif, InputError, ("unsupported image format GIF",)),
        ("header 50000 x 50000 px", lambda d: png_claiming(50000, 50000), InputError, ("pixel",)),
        (
            "corrupt PDF bytes",
            lambda d: b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
            PdfError,
            ("is corrupt or truncated",),
        ),
    ],
)
def test_client_refuses_unreadable_bytes_before_sending(
    eval_dir, record_outcome, input_class, build, error, parts
):
    # the client points at a closed port: reaching the server would raise ServerError instead
    with pytest.raises(InputError) as raised:
        list(SealClient(UNREACHABLE).predict(build(eval_dir)))
    record_outcome(f"client: {input_class}", "local", type(raised.value).__name__, raised.value)
    assert isinstance(raised.value, error)
    for part in parts:
        assert part in str(raised.value)


@pytest.mark.parametrize(
    ("input_class", "build", "parts"),
    [
        (
            "truncated PNG",
            lambda d: first_half((d / "vignette_3_school_form.png").read_bytes()),
            ("corrupt or truncated PNG data",),
        ),
        (
            "header 11000 x 10000 px",
            lambda d: png_claiming(11000, 10000),
            (f"above the limit of {PIXEL_CAP} pixels",),
        ),
    ],
)
def test_client_page_refused_by_the_server(
    seal_client_, eval_dir, record_outcome, input_class, build, parts
):
    with pytest.raises(PageError) as raised:
        list(seal_client_.predict(build(eval_dir)))
    record_outcome(f"client: {input_class}", seal_client_.protocol, "PageError", raised.value)
    for part in parts:
        assert part in str(raised.value)
    assert "in ensemble" not in str(raised.value)
    [good] = seal_client_.predict(eval_dir / GOOD_IMAGE)
    assert GOOD_TEXT in good.texts


@pytest.mark.parametrize(
    ("options", "part"),
    [
        ({"seal_det_thresh": -0.1}, "'seal_det_thresh'"),
        ({"seal_det_limit_type": "longest"}, "'seal_det_limit_type'"),
        ({"layout_merge_bboxes_mode": "biggest"}, "'layout_merge_bboxes_mode'"),
        ({"use_layout_detection": "true"}, "'use_layout_detection' must be true or false"),
    ],
    ids=["negative-thresh", "limit-type", "merge-mode", "bool-as-string"],
)
def test_client_checks_options_before_sending(eval_dir, record_outcome, options, part):
    with pytest.raises(InvalidOptionError) as raised:
        list(SealClient(UNREACHABLE).predict(eval_dir / GOOD_IMAGE, **options))
    record_outcome(f"client: option {options}", "local", "InvalidOptionError", raised.value)
    assert part in str(raised.value)


# --- 1. client: PDFs, URLs, directories --------------------------------------------------------


def encrypted(pdf: bytes, password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def blank_pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("input_class", "build", "part"),
    [
        (
            "corrupt PDF (first half)",
            lambda d: first_half(pdf_of(seal_pil(d))),
            "doc.pdf is corrupt or truncated",
        ),
        (
            "encrypted PDF",
            lambda d: encrypted(pdf_of(seal_pil(d)), "secret"),
            "doc.pdf is encrypted (password-protected)",
        ),
    ],
)
def test_client_bad_pdf_file(
    triton_server, eval_dir, tmp_path, record_outcome, input_class, build, part
):
    path = tmp_path / "doc.pdf"
    path.write_bytes(build(eval_dir))
    with pytest.raises(PdfError) as raised:
        list(SealClient(triton_server.grpc_url).predict(path))
    record_outcome(f"client: {input_class}", "local", "PdfError", short(raised.value, tmp_path))
    assert part in str(raised.value)


def test_client_zero_page_pdf(triton_server, eval_dir, tmp_path, record_outcome):
    client = SealClient(triton_server.grpc_url)
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(encrypted(pdf_of(seal_pil(eval_dir)), "secret"))
    with pytest.raises(PdfError, match="is encrypted"):
        list(client.predict(locked))  # any earlier encrypted PDF in the same process
    path = tmp_path / "empty.pdf"
    path.write_bytes(blank_pdf(0))
    assert len(PdfReader(path).pages) == 0
    with pytest.raises(PdfError) as raised:
        list(client.predict(path))
    record_outcome("client: PDF with 0 pages", "local", "PdfError", short(raised.value, tmp_path))
    assert "empty.pdf has no pages (0-page PDF)" in str(raised.value)


def test_client_500_page_pdf_above_max_pages_fails_before_rendering(
    triton_server, tmp_path, record_outcome, monkeypatch
):
    path = tmp_path / "long.pdf"
    path.write_bytes(blank_pdf(500))
    rendered = []
    render = seal_client.pdf._render_page
    monkeypatch.setattr(
        seal_client.pdf, "_render_page", lambda *args: rendered.append(args[1]) or render(*args)
    )
    started = time.perf_counter()
    with pytest.raises(PdfError) as raised:
        list(SealClient(triton_server.grpc_url).predict(path, max_pages=10))
    elapsed = time.perf_counter() - started
    outcome = f"PdfError {elapsed:.2f} s"
    record_outcome(
        "client: 500-page PDF, max_pages=10", "local", outcome, short(raised.value, tmp_path)
    )
    assert "long.pdf has 500 pages selected, above the page cap of 10" in str(raised.value)
    assert "pages='1-10'" in str(raised.value)
    assert rendered == []
    assert elapsed < 3.0


class _Handler(http.server.BaseHTTPRequestHandler):
    release = threading.Event()

    def do_GET(self):
        if self.path == "/slow.png":  # never answers within the client's 10 s URL timeout
            self.release.wait(20)
            return
        if self.path == "/notes.txt":
            body, kind = b"just some text, not a seal", "text/plain"
        else:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def web():
    with serve(_Handler) as url:
        yield url
        _Handler.release.set()


@pytest.mark.parametrize(
    ("input_class", "path", "part"),
    [
        ("URL returning 404", "/missing.png", "/missing.png returned HTTP 404"),
        (
            "URL returning text",
            "/notes.txt",
            "/notes.txt is not an image or PDF (Content-Type text/plain, 26 bytes)",
        ),
        ("URL timing out", "/slow.png", "/slow.png timed out after 10s"),
    ],
)
def test_client_bad_url(triton_server, web, record_outcome, input_class, path, part):
    started = time.perf_counter()
    with pytest.raises(InputError) as raised:
        list(SealClient(triton_server.grpc_url).predict(web + path))
    elapsed = time.perf_counter() - started
    record_outcome(f"client: {input_class}", "local", f"InputError {elapsed:.1f} s", raised.value)
    assert part in str(raised.value)
    assert elapsed < 15.0


def test_client_directory_without_images(triton_server, tmp_path, record_outcome):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("no seals here")
    (tmp_path / "scan.gif").write_bytes(b"GIF89a")
    with pytest.raises(InputError) as raised:
        list(SealClient(triton_server.grpc_url).predict(tmp_path))
    record_outcome(
        "client: directory without images", "local", "InputError", short(raised.value, tmp_path)
    )
    assert f"no images or PDFs under {tmp_path}" in str(raised.value)
