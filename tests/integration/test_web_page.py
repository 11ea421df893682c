"""The gateway's page for people in a real browser, against a real gateway and tritonserver.

Debian's ``chromium`` (``make setup`` installs it: tools/install_chromium.sh) is driven by
Playwright; Playwright's own browser download is never used. Every request the browser makes
to a host other than the gateway is aborted and recorded, and each test asserts there was none,
so the pages are shown to work offline. Screenshots go to ``.build/test-logs/web-page/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Browser, Page, Request, Route, sync_playwright

from seal_gateway import GatewayConfig
from seal_gateway.web import STATIC_DIR, WEB_PREFIX
from tests.conftest import REPO_ROOT
from tests.integration.test_gateway import SEAL, _free_port, in_process_gateway, pdf_of

pytestmark = pytest.mark.triton

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO_ROOT / ".build" / "test-logs" / "web-page"
INFERENCE_TIMEOUT_MS = 180_000  # CPU inference is 1-3 s a page, far more on a loaded machine
SECOND_PAGE = "nephren_10_oval.jpg"  # its seal reads 现金收讫章
# the only absolute URL allowed in what the gateway serves: the SVG namespace (not fetched)
ALLOWED_URLS = {"http://www.w3.org/2000/svg"}
URL = re.compile(r"https?://[^\s\"'<>()`]+")


# --- servers and browser -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway(triton_server) -> Iterator[str]:
    """A gateway over gRPC with PaddleX's defaults; yields its base URL."""
    with in_process_gateway(GatewayConfig(triton_url=triton_server.grpc_url)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` (tools/install_chromium.sh)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page_and_blocked(browser: Browser, gateway: str) -> Iterator[tuple[Page, list[str]]]:
    """A fresh browser page, and the URLs it tried on another host than the gateway's (each
    request to another host is aborted and recorded)."""
    own = urlsplit(gateway).netloc
    blocked: list[str] = []

    def route(route: Route, request: Request) -> None:
        if urlsplit(request.url).netloc == own:
            route.continue_()
        else:
            blocked.append(request.url)
            route.abort()

    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page, blocked
    context.close()
    assert errors == [], f"the page's scripts failed: {errors}"


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def upload(page: Page, path: Path, runs: int) -> dict:
    """Pick ``path`` in the page; the gateway's JSON answer once the page has drawn it.

    ``runs``: how many requests the page will have finished (``<body data-runs>``).
    """
    with page.expect_response(
        lambda response: response.url.endswith("/seal-recognition"), timeout=INFERENCE_TIMEOUT_MS
    ) as answer:
        page.set_input_files("#file", str(path))
    page.wait_for_selector(f'body[data-runs="{runs}"]', state="attached")
    return answer.value.json()


def rerun(page: Page, runs: int) -> dict:
    """Press "Recognise" again (same file, the form's current options)."""
    with page.expect_response(
        lambda response: response.url.endswith("/seal-recognition"), timeout=INFERENCE_TIMEOUT_MS
    ) as answer:
        page.click("#run")
    page.wait_for_selector(f'body[data-runs="{runs}"]', state="attached")
    return answer.value.json()


def shown_texts(section) -> list[str]:
    return section.locator(".texts tbody td.text").all_inner_texts()


# --- the seal page -----------------------------------------------------------------------------


def test_seal_image_shows_texts_polygons_and_line_images(page_and_blocked, gateway, eval_dir):
    page, blocked = page_and_blocked
    page.goto(gateway + "/")
    page.wait_for_selector("#main-options select, #main-options input")  # from /openapi.json
    body = upload(page, eval_dir / SEAL, runs=1)

    assert body["errorCode"] == 0, body
    [entry] = body["result"]["sealRecResults"]
    lines = entry["texts"]
    assert page.locator("#error").is_hidden()
    [section] = page.locator(".page-result").all()
    assert "发票专用章" in shown_texts(section)
    assert shown_texts(section) == [line["text"] for line in lines]
    # the overlay: one polygon per line, with the line's own points, and the seal boxes
    polygons = section.locator("svg.overlay polygon.line")
    assert polygons.count() == len(lines) > 0
    points = polygons.first.get_attribute("points").split()
    assert [[float(v) for v in point.split(",")] for point in points] == lines[0]["poly"]
    seal_boxes = entry["details"]["sealBoxes"]
    assert section.locator("svg.overlay rect.seal-box").count() == len(seal_boxes) >= 1
    # the rectified line beside each text, decoded by the browser
    images = section.locator("img.line-image")
    assert images.count() == len(lines)
    widths = images.evaluate_all("(images) => images.map((image) => image.naturalWidth)")
    assert all(width > 0 for width in widths), widths

    # hovering a text highlights its polygon
    row = section.locator("tbody tr", has_text="发票专用章")
    row.hover()
    index = row.get_attribute("data-line")
    assert "hl" in section.locator(f'polygon[data-line="{index}"]').get_attribute("class")
    # layers toggle; zoom grows the drawing
    section.locator('input[data-layer="lines"]').uncheck()
    assert polygons.first.is_hidden()
    section.locator('input[data-layer="lines"]').check()
    assert polygons.first.is_visible()
    width = section.locator(".canvas").bounding_box()["width"]
    section.locator('button[data-zoom="in"]').click()
    assert section.locator(".canvas").bounding_box()["width"] > width * 1.2
    section.locator('button[data-zoom="fit"]').click()
    # the downloads: the page's result JSON and the pictures
    with page.expect_download() as download:
        section.locator("button.download", has_text="Result JSON").click()
    assert download.value.suggested_filename == "paddlex_seal_text_det_res.json"
    picture_buttons = section.locator("button.download").count() - 1
    assert picture_buttons == len(entry["outputImages"]) + 1  # and the page itself

    row.hover()
    screenshot(page, "seal-image")
    assert blocked == []


def test_two_page_pdf_shows_two_pages_and_a_page_range(
    page_and_blocked, gateway, eval_dir, tmp_path
):
    page, blocked = page_and_blocked
    pdf = tmp_path / "two-pages.pdf"
    pdf.write_bytes(pdf_of(eval_dir, [SEAL, SECOND_PAGE]))
    page.goto(gateway + "/")
    body = upload(page, pdf, runs=1)

    assert body["errorCode"] == 0, body
    entries = body["result"]["sealRecResults"]
    sections = page.locator(".page-result")
    assert sections.count() == len(entries) == 2
    assert sections.locator(".page-title").all_inner_texts() == ["Page 1", "Page 2"]
    for section, entry in zip(sections.all(), entries, strict=True):
        assert section.locator("svg.overlay polygon.line").count() == len(entry["texts"])
    assert "发票专用章" in shown_texts(sections.nth(0))
    assert "现金收讫章" in shown_texts(sections.nth(1))
    screenshot(page, "two-page-pdf")

    page.fill("#pdf-pages", "2")
    body = rerun(page, runs=2)
    [entry] = body["result"]["sealRecResults"]
    assert entry["details"]["pageNumber"] == 2
    [section] = page.locator(".page-result").all()
    assert section.locator(".page-title").inner_text() == "Page 2"
    assert "现金收讫章" in shown_texts(section)
    assert blocked == []


def test_a_dropped_file_is_read_with_the_options_set(page_and_blocked, gateway, eval_dir):
    page, blocked = page_and_blocked
    page.goto(gateway + "/")
    page.fill("#option-sealRecScoreThresh", "0.9")  # a control built from /openapi.json
    data = list((eval_dir / SEAL).read_bytes())
    transfer = page.evaluate_handle(
        """(bytes) => {
            const transfer = new DataTransfer();
            const file = new File([new Uint8Array(bytes)], "dropped.png", { type: "image/png" });
            transfer.items.add(file);
            return transfer;
        }""",
        data,
    )
    with page.expect_response(
        lambda response: response.url.endswith("/seal-recognition"), timeout=INFERENCE_TIMEOUT_MS
    ) as answer:
        page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    page.wait_for_selector('body[data-runs="1"]', state="attached")

    assert answer.value.request.post_data_json["sealRecScoreThresh"] == 0.9
    [entry] = answer.value.json()["result"]["sealRecResults"]
    scores = [float(text) for text in page.locator("td.score .score-value").all_inner_texts()]
    assert len(scores) == len(entry["texts"]) >= 1
    assert all(score >= 0.9 for score in scores), scores
    assert "发票专用章" in shown_texts(page.locator(".page-result"))
    assert blocked == []


def test_a_text_file_shows_the_gateways_error(page_and_blocked, gateway, tmp_path):
    page, blocked = page_and_blocked
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a scan\n", encoding="utf-8")
    page.goto(gateway + "/")
    body = upload(page, text_file, runs=1)

    assert body["errorCode"] == 422
    error = page.locator("#error")
    assert error.is_visible()
    assert body["errorMsg"] in error.inner_text()  # the gateway's own words
    assert page.locator(".page-result").count() == 0
    screenshot(page, "text-file-error")
    assert blocked == []


def test_a_busy_server_says_try_again(browser, eval_dir):
    """A gateway whose Triton is not there answers 503: the page says to try again."""
    config = GatewayConfig(triton_url=f"127.0.0.1:{_free_port()}", triton_timeout_s=5)
    with in_process_gateway(config) as url:
        context = browser.new_context()
        page = context.new_page()
        page.goto(url + "/")
        with page.expect_response(lambda response: response.url.endswith("/seal-recognition")):
            page.set_input_files("#file", str(eval_dir / SEAL))
        page.wait_for_selector('body[data-runs="1"]', state="attached")
        assert "Server busy, try again" in page.locator("#error").inner_text()
        context.close()


def test_a_malformed_page_range_names_the_field(page_and_blocked, gateway, eval_dir, tmp_path):
    page, _ = page_and_blocked
    pdf = tmp_path / "one-page.pdf"
    pdf.write_bytes(pdf_of(eval_dir, [SEAL]))
    page.goto(gateway + "/")
    page.set_input_files("#file", str(pdf))
    page.wait_for_selector('body[data-runs="1"]', state="attached")
    page.fill("#pdf-pages", "3-1")
    body = rerun(page, runs=2)
    assert body["errorCode"] == 422 and body["errorMsg"].startswith("pdfPages")
    assert body["errorMsg"] in page.locator("#error").inner_text()


# --- the API docs, offline ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_list_the_operations_with_no_other_host(page_and_blocked, gateway, path):
    page, blocked = page_and_blocked
    page.goto(gateway + path)
    spec = requests.get(gateway + "/openapi.json", timeout=10).json()
    for route, methods in spec["paths"].items():  # every operation: its path and its summary
        page.get_by_text(route, exact=True).first.wait_for(timeout=30_000)
        for operation in methods.values():
            page.get_by_text(operation["summary"], exact=True).first.wait_for(timeout=30_000)
    screenshot(page, path.strip("/"))
    assert blocked == []


# --- nothing served names another host -----------------------------------------------------------


def test_served_pages_and_scripts_reference_no_other_host(gateway):
    paths = ["/", "/docs", "/redoc"]
    paths += [f"{WEB_PREFIX}/{file.name}" for file in sorted(STATIC_DIR.iterdir())]
    assert len(paths) >= 7  # the page's html, js, css and icon at least
    own = urlsplit(gateway).netloc
    for path in paths:
        response = requests.get(gateway + path, timeout=10)
        assert response.status_code == 200, path
        for url in URL.findall(response.text):
            assert url in ALLOWED_URLS or urlsplit(url).netloc == own, f"{path} names {url}"
