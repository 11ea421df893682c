"""Client inputs: files, PDFs, directories, URLs, bytes and arrays expanded into pages."""

from __future__ import annotations

import http.server
import io
import os
import re
import threading
import time

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from seal_client.inputs import IMAGE_SUFFIXES, InputError, Page, expand_inputs, is_pdf
from seal_client.pdf import PdfError, parse_pages, render_pdf
from tests.local_http import serve

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)  # RGB, as Pillow takes them


# --- helpers -----------------------------------------------------------------------------------


def make_pdf(*pages: tuple[int, int, tuple[int, int, int]]) -> bytes:
    """A PDF with one solid-colour page per (width, height, RGB); at 72 dpi 1 pixel = 1 pt."""
    images = [Image.new("RGB", (w, h), color) for w, h, color in pages]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:], resolution=72)
    return buffer.getvalue()


def encrypt(pdf: bytes, user: str, owner: str | None = None) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user, owner_password=owner)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def empty_pdf() -> bytes:
    buffer = io.BytesIO()
    PdfWriter().write(buffer)
    return buffer.getvalue()


def png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


def paddlex_render(pdf: bytes) -> list[np.ndarray]:
    """PaddleX's PDFReaderBackend.read_file, verbatim in its steps."""
    document = pdfium.PdfDocument(pdf)
    try:
        return [
            cv2.cvtColor(
                np.array(page.render(scale=2.0, rotation=0).to_pil().convert("RGB")),
                cv2.COLOR_RGB2BGR,
            )
            for page in document
        ]
    finally:
        document.close()


THREE_PAGES = make_pdf((50, 40, RED), (30, 20, GREEN), (20, 10, BLUE))
PNG = png(np.full((12, 16, 3), (10, 20, 30), np.uint8))


# --- pdf.py: rendering -------------------------------------------------------------------------


def test_render_doubles_the_page_size_and_keeps_bgr_order():
    rendered = list(render_pdf(THREE_PAGES))
    assert [index for index, _ in rendered] == [0, 1, 2]
    assert [image.shape for _, image in rendered] == [(80, 100, 3), (40, 60, 3), (20, 40, 3)]
    assert all(image.dtype == np.uint8 for _, image in rendered)
    red = rendered[0][1][10:-10, 10:-10].astype(int)
    assert (red[..., 2] > 240).all() and (red[..., :2] < 15).all()  # red is BGR channel 2
    blue = rendered[2][1][5:-5, 5:-5].astype(int)
    assert (blue[..., 0] > 240).all() and (blue[..., 1:] < 15).all()


def test_render_is_pixel_identical_to_paddlex_and_path_equals_bytes(tmp_path):
    path = tmp_path / "doc.pdf"
    path.write_bytes(THREE_PAGES)
    expected = paddlex_render(THREE_PAGES)
    for source in (THREE_PAGES, path):
        got = [image for _, image in render_pdf(source)]
        assert len(got) == len(expected)
        for mine, theirs in zip(got, expected, strict=True):
            np.testing.assert_array_equal(mine, theirs)


def test_page_selection_is_sorted_and_unique():
    assert [i for i, _ in render_pdf(THREE_PAGES, pages=[2, 0, 2])] == [0, 2]
    (index, image), *rest = render_pdf(THREE_PAGES, pages=[1])
    assert index == 1 and image.shape == (40, 60, 3) and rest == []


def test_page_beyond_the_document_names_the_page_count():
    with pytest.raises(PdfError, match=r"page 4 \(index 3\) is not in doc\.pdf, which has 3 pages"):
        list(render_pdf(THREE_PAGES, pages=[0, 3], name="doc.pdf"))


def test_page_cap_refuses_instead_of_truncating():
    with pytest.raises(
        PdfError, match=r"doc\.pdf has 3 pages selected, above the page cap of 2; pass pages="
    ):
        next(render_pdf(THREE_PAGES, max_pages=2, name="doc.pdf"))
    # the cap counts pages after selection
    assert [i for i, _ in render_pdf(THREE_PAGES, pages=[0, 2], max_pages=2)] == [0, 2]
    assert len(list(render_pdf(THREE_PAGES, max_pages=3))) == 3


def test_first_pages_takes_the_first_selected_pages_and_ignores_the_rest():
    assert [i for i, _ in render_pdf(THREE_PAGES, first_pages=2)] == [0, 1]
    assert [i for i, _ in render_pdf(THREE_PAGES, pages=[1, 2], first_pages=1)] == [1]
    assert [i for i, _ in render_pdf(THREE_PAGES, first_pages=5)] == [0, 1, 2]
    # the cap counts the pages kept
    assert [i for i, _ in render_pdf(THREE_PAGES, first_pages=2, max_pages=2)] == [0, 1]
    with pytest.raises(ValueError, match="first_pages must be >= 1"):
        next(render_pdf(THREE_PAGES, first_pages=0))
    pages = expand_inputs(THREE_PAGES, first_pages=2)
    assert [p.page_index for p in pages] == [0, 1]


def test_encrypted_pdf_is_reported_as_encrypted():
    locked = encrypt(THREE_PAGES, "secret")
    with pytest.raises(PdfError, match=r"locked\.pdf is encrypted \(password-protected\)"):
        list(render_pdf(locked, name="locked.pdf"))


def test_owner_password_only_pdf_renders_like_paddlex():
    restricted = encrypt(THREE_PAGES, "", owner="owner")
    rendered = list(render_pdf(restricted))
    assert len(rendered) == 3 and rendered[0][1].shape == (80, 100, 3)


@pytest.mark.parametrize(
    "data",
    [THREE_PAGES[: len(THREE_PAGES) // 2], b"%PDF-1.7\n" + b"\x00garbage\xff" * 50],
    ids=["truncated", "garbage"],
)
def test_corrupt_pdf_is_reported_as_corrupt(data):
    with pytest.raises(PdfError, match=r"bad\.pdf is corrupt or truncated"):
        list(render_pdf(data, name="bad.pdf"))


def test_zero_page_pdf_is_reported_as_empty(tmp_path):
    path = tmp_path / "empty.pdf"
    path.write_bytes(empty_pdf())
    with pytest.raises(PdfError, match=r"empty\.pdf has no pages"):
        list(render_pdf(path))
    with pytest.raises(PdfError, match="has no pages"):
        list(render_pdf(empty_pdf()))


def test_document_and_pages_are_closed(monkeypatch):
    closed = {"document": 0, "page": 0}
    document_close, page_close = pdfium.PdfDocument.close, pdfium.PdfPage.close

    def count_document(self, *args, **kwargs):
        closed["document"] += 1
        return document_close(self, *args, **kwargs)

    def count_page(self, *args, **kwargs):
        closed["page"] += 1
        return page_close(self, *args, **kwargs)

    monkeypatch.setattr(pdfium.PdfDocument, "close", count_document)
    monkeypatch.setattr(pdfium.PdfPage, "close", count_page)
    pages = render_pdf(THREE_PAGES)
    next(pages)
    assert closed == {"document": 0, "page": 1}  # the document stays open between pages
    pages.close()  # abandoned half-way
    assert closed["document"] == 1
    list(render_pdf(THREE_PAGES))
    assert closed == {"document": 2, "page": 4}


def test_rendering_is_lazy(monkeypatch):
    renders = []
    original = pdfium.PdfPage.render

    def counting_render(self, *args, **kwargs):
        renders.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pdfium.PdfPage, "render", counting_render)
    pages = expand_inputs(THREE_PAGES)
    assert renders == []
    first = next(pages)
    assert first.page_index == 0 and len(renders) == 1


# --- pdf.py: page specs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("1-3,7", [0, 1, 2, 6]),
        (" 2 - 3 , 1 ", [0, 1, 2]),
        ("3,3,1-2", [0, 1, 2]),
        ("5", [4]),
        (None, None),
        ("", None),
        ("   ", None),
    ],
)
def test_parse_pages(spec, expected):
    assert parse_pages(spec) == expected


@pytest.mark.parametrize("spec", ["0", "3-1", "a", "1-", "-2", "1,,2", "1-2-3", "2.5"])
def test_parse_pages_rejects_bad_specs_quoting_them(spec):
    with pytest.raises(ValueError, match=re.escape(repr(spec))):
        parse_pages(spec)


def test_bad_page_spec_fails_when_expand_inputs_is_called():
    with pytest.raises(ValueError, match="'1-'"):
        expand_inputs(THREE_PAGES, pages="1-")  # not only when iterated


def test_pages_and_cap_through_expand_inputs(tmp_path):
    path = tmp_path / "doc.pdf"
    path.write_bytes(THREE_PAGES)
    assert [p.page_index for p in expand_inputs(path, pages="1,3")] == [0, 2]
    assert [p.page_index for p in expand_inputs(path, pages=[1])] == [1]
    with pytest.raises(PdfError, match=r"page 5 .* which has 3 pages"):
        list(expand_inputs(path, pages="5"))
    capped = expand_inputs([PNG, path], max_pages=2)
    assert next(capped).page_index is None  # the image before the PDF is still produced
    with pytest.raises(PdfError, match=r"3 pages selected, above the page cap of 2"):
        next(capped)
    # pages / max_pages do not apply to images
    assert len(list(expand_inputs(PNG, pages="5", max_pages=1))) == 1


# --- inputs.py: files and directories ----------------------------------------------------------


def test_image_file_is_sent_as_its_original_bytes(tmp_path):
    jpeg = io.BytesIO()
    Image.new("RGB", (20, 10), RED).save(jpeg, "JPEG", quality=70)
    path = tmp_path / "seal.v2.JPG"
    path.write_bytes(jpeg.getvalue())
    [page] = expand_inputs(str(path))
    assert page.data == jpeg.getvalue()
    assert page.input_path == str(path) and page.page_index is None and page.image is None
    assert page.stem == "seal.v2"


def test_pdf_file_pages_are_lossless_png_of_the_rendered_page(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(THREE_PAGES)
    pages = list(expand_inputs(path))
    assert [(p.input_path, p.page_index, p.stem) for p in pages] == [
        (str(path), 0, "scan_0"),
        (str(path), 1, "scan_1"),
        (str(path), 2, "scan_2"),
    ]
    for page, expected in zip(pages, paddlex_render(THREE_PAGES), strict=True):
        assert page.data.startswith(b"\x89PNG")
        decoded = cv2.imdecode(np.frombuffer(page.data, np.uint8), cv2.IMREAD_COLOR)
        np.testing.assert_array_equal(decoded, expected)
        np.testing.assert_array_equal(page.image, expected)
        assert not page.image.flags.writeable


def test_missing_unsupported_and_unreadable_files_name_the_input(tmp_path):
    missing = tmp_path / "nope.png"
    with pytest.raises(InputError, match=re.escape(f"{missing}: no such file or directory")):
        list(expand_inputs(missing))
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(InputError, match=re.escape(f"{text}: unsupported file type '.txt'")):
        list(expand_inputs(text))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    with pytest.raises(InputError, match=re.escape(f"{broken}: not a decodable image")):
        list(expand_inputs(broken))
    gif = tmp_path / "anim.png"
    Image.new("RGB", (4, 4)).save(gif, "GIF")
    with pytest.raises(InputError, match=re.escape(f"{gif}: unsupported image format GIF")):
        list(expand_inputs(gif))


def test_unreadable_file_in_a_directory_names_the_file(tmp_path):
    (tmp_path / "ok.png").write_bytes(PNG)
    (tmp_path / "z.png").symlink_to(tmp_path / "gone.png")  # dangling: listed, cannot be read
    pages = expand_inputs(tmp_path)
    assert next(pages).stem == "ok"
    with pytest.raises(InputError, match=re.escape(f"{tmp_path / 'z.png'}: cannot be read")):
        next(pages)


def test_directory_is_walked_recursively_in_stable_sorted_order(tmp_path):
    root = tmp_path / "in"
    (root / "a").mkdir(parents=True)
    (root / "c" / "deeper").mkdir(parents=True)
    (root / "b.png").write_bytes(PNG)
    (root / "a.png").write_bytes(PNG)
    (root / "a" / "z.jpg").write_bytes(png_as_jpeg())
    (root / "a" / "doc.pdf").write_bytes(make_pdf((10, 10, RED), (10, 10, BLUE)))
    (root / "c" / "deeper" / "x.WEBP").write_bytes(webp())
    (root / "c" / "readme.md").write_text("ignored")
    (root / "c" / "data.json").write_text("{}")
    (root / "a" / "loop").symlink_to(root, target_is_directory=True)  # must not loop
    pages = list(expand_inputs(str(root)))
    relative = [(os.path.relpath(p.input_path, root), p.page_index) for p in pages]
    assert relative == [
        ("a.png", None),  # "a.png" < "a/..." as in PaddleX's sorted() over joined paths
        ("a/doc.pdf", 0),
        ("a/doc.pdf", 1),
        ("a/z.jpg", None),
        ("b.png", None),
        ("c/deeper/x.WEBP", None),
    ]
    assert all(p.input_path.startswith(str(root)) for p in pages)
    assert [p.stem for p in pages] == ["a", "doc_0", "doc_1", "z", "b", "x"]
    assert {p.input_index for p in pages} == {0}
    assert [p.page_index for p in expand_inputs(root, pages="2")] == [None, 1, None, None, None]


def test_directory_without_images_is_an_error(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "notes.txt").write_text("x")
    with pytest.raises(InputError, match=re.escape(f"no images or PDFs under {tmp_path}")):
        list(expand_inputs(tmp_path))


def png_as_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), GREEN).save(buffer, "JPEG")
    return buffer.getvalue()


def webp() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), BLUE).save(buffer, "WEBP", lossless=True)
    return buffer.getvalue()


def test_image_suffixes():
    assert IMAGE_SUFFIXES == (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


# --- inputs.py: bytes, arrays, lists -----------------------------------------------------------


def test_is_pdf():
    assert is_pdf(THREE_PAGES)
    assert is_pdf(b"\xef\xbb\xbf\r\n  %PDF-1.7 ...")  # BOM and whitespace tolerated
    assert not is_pdf(b"x%PDF-1.7")
    assert not is_pdf(PNG)
    assert not is_pdf(b"")
    assert not is_pdf(b" " * 2000 + b"%PDF-1.7")  # beyond PDFium's 1024-byte header window


def test_bytes_are_sniffed():
    [image] = expand_inputs(PNG)
    assert image.data == PNG and image.input_path is None and image.page_index is None
    pdf_pages = list(expand_inputs(bytearray(THREE_PAGES)))
    assert [p.page_index for p in pdf_pages] == [0, 1, 2]
    assert [p.stem for p in pdf_pages] == ["image_0_0", "image_0_1", "image_0_2"]
    with pytest.raises(InputError, match=r"bytes input #1: not a decodable image"):
        list(expand_inputs([PNG, b"hello world"]))
    with pytest.raises(PdfError, match=r"bytes input #0 is encrypted"):
        list(expand_inputs(encrypt(THREE_PAGES, "secret")))


def test_grey_array_becomes_three_channels_losslessly():
    grey = np.arange(12 * 7, dtype=np.uint8).reshape(12, 7)
    [page] = expand_inputs(grey)
    assert page.image.shape == (12, 7, 3)
    assert all((page.image[..., c] == grey).all() for c in range(3))
    decoded = cv2.imdecode(np.frombuffer(page.data, np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(decoded, page.image)
    assert page.input_path is None and page.stem == "image_0"


def test_bgr_array_is_sent_unchanged_and_copied():
    bgr = np.zeros((5, 9, 3), np.uint8)
    bgr[..., 0] = 200  # blue
    bgr[1, 2] = (1, 2, 3)
    [page] = expand_inputs(bgr)
    bgr[...] = 0  # the caller reuses its buffer
    decoded = cv2.imdecode(np.frombuffer(page.data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded[0, 0].tolist() == [200, 0, 0] and decoded[1, 2].tolist() == [1, 2, 3]
    np.testing.assert_array_equal(page.image, decoded)
    assert not page.image.flags.writeable


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((4, 4, 3), np.float32), "must be uint8, got float32"),
        (np.zeros((4, 4, 4), np.uint8), r"got shape \(4, 4, 4\)"),
        (np.zeros((4,), np.uint8), r"got shape \(4,\)"),
        (np.zeros((0, 4, 3), np.uint8), "is empty"),
    ],
)
def test_bad_arrays_are_refused(array, message):
    with pytest.raises(InputError, match=r"array input #0 .*" + message):
        list(expand_inputs(array))


def test_lists_are_flattened_in_order_with_stable_stems(tmp_path):
    path = tmp_path / "one.png"
    path.write_bytes(PNG)
    grey = np.zeros((3, 3), np.uint8)
    pages = list(expand_inputs([grey, (PNG, [str(path)]), make_pdf((5, 5, RED))]))
    assert [(p.input_index, p.stem) for p in pages] == [
        (0, "image_0"),
        (1, "image_1"),
        (2, "one"),
        (3, "image_3_0"),
    ]


def test_unsupported_input_type():
    with pytest.raises(InputError, match="input #1 has unsupported type int"):
        list(expand_inputs([PNG, 42]))


def test_page_is_frozen():
    page = Page(input_path="x.png", page_index=None, data=b"")
    with pytest.raises(AttributeError):
        page.data = b"other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("url", "page_index", "stem"),
    [
        ("http://host/a/seal%20one.png?size=2#x", None, "seal one"),
        ("https://host/docs/scan.pdf", 4, "scan_4"),
        ("http://host/", None, "image_7"),
        ("http://host", 0, "image_7_0"),
    ],
)
def test_url_stems(url, page_index, stem):
    assert Page(url, page_index, b"", input_index=7).stem == stem


# --- inputs.py: URLs ---------------------------------------------------------------------------

URL_PDF = make_pdf((40, 30, RED), (20, 20, GREEN))


class _Handler(http.server.BaseHTTPRequestHandler):
    release = threading.Event()

    def do_GET(self):
        if self.path == "/seal.png":
            self._reply(200, "image/png", PNG)
        elif self.path == "/files/doc.pdf":
            self._reply(200, "application/pdf", URL_PDF)
        elif self.path == "/notes.txt":
            self._reply(200, "text/plain; charset=utf-8", b"not an image")
        elif self.path == "/big.png":
            self._reply(200, "image/png", PNG + b"\0" * 5000)
        elif self.path == "/big-stream.png":  # no Content-Length: the cap applies while reading
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(PNG + b"\0" * 5000)
        elif self.path == "/slow.png":
            self.release.wait(5)
            self._reply(200, "image/png", PNG)
        elif self.path == "/slow-body.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG[:10])
            self.wfile.flush()
            self.release.wait(5)
        else:
            self._reply(404, "text/plain", b"not found")

    def _reply(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    with serve(_Handler) as url:
        yield url
        _Handler.release.set()


def test_url_image_is_one_page_of_the_original_bytes(server):
    url = f"{server}/seal.png"
    [page] = expand_inputs(url)
    assert page.data == PNG and page.input_path == url and page.page_index is None
    assert page.image is None and page.stem == "seal"


def test_url_pdf_is_rendered_page_by_page(server):
    url = f"{server}/files/doc.pdf"
    pages = list(expand_inputs([url], pages="2"))
    assert [(p.input_path, p.page_index, p.stem) for p in pages] == [(url, 1, "doc_1")]
    np.testing.assert_array_equal(pages[0].image, paddlex_render(URL_PDF)[1])
    assert pages[0].image.shape == (40, 40, 3)


def test_url_http_error(server):
    with pytest.raises(InputError, match=r"/missing\.png returned HTTP 404"):
        list(expand_inputs(f"{server}/missing.png"))


def test_url_that_is_not_an_image_or_pdf(server):
    with pytest.raises(
        InputError,
        match=r"/notes\.txt is not an image or PDF \(Content-Type text/plain; charset=utf-8",
    ):
        list(expand_inputs(f"{server}/notes.txt"))


@pytest.mark.parametrize("path", ["/slow.png", "/slow-body.png"])
def test_url_timeout(server, path):
    start = time.monotonic()
    with pytest.raises(InputError, match=re.escape(f"{path} timed out after 0.5s")):
        list(expand_inputs(f"{server}{path}", url_timeout_s=0.5))
    assert time.monotonic() - start < 3


@pytest.mark.parametrize("path", ["/big.png", "/big-stream.png"])
def test_url_download_cap(server, path):
    with pytest.raises(InputError, match=r"above the download cap of 1000 bytes|larger than"):
        list(expand_inputs(f"{server}{path}", max_download_bytes=1000))
    [page] = expand_inputs(f"{server}{path}", max_download_bytes=10_000)
    assert page.data.startswith(PNG)


def test_url_download_is_lazy(server):
    pages = expand_inputs([PNG, f"{server}/missing.png"])
    assert next(pages).data == PNG  # the bad URL is fetched only when reached
    with pytest.raises(InputError, match="HTTP 404"):
        next(pages)
