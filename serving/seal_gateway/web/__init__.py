"""The gateway's pages for people: ``GET /`` (the seal page) and offline ``/docs`` / ``/redoc``.

Everything these pages load is served by the gateway itself, so they work on a server with no
internet: the seal page is plain HTML, JS and CSS from ``static/`` (no build step, no fonts of
its own: the browser's CJK fonts draw the texts), and the API docs take Swagger UI's and
ReDoc's bundles from the pinned ``fastapi-offline`` package instead of FastAPI's CDN default.
The seal page calls the same ``POST /seal-recognition`` as any client and reads its option
fields from ``/openapi.json``; it holds no pipeline logic.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).with_name("static")
WEB_PREFIX = "/web"  # the page's scripts, styles and icon
DOCS_ASSETS_PREFIX = "/docs-assets"  # Swagger UI and ReDoc bundles
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
FAVICON = f"{WEB_PREFIX}/favicon.svg"
# Swagger UI would ask validator.swagger.io about the spec: an outside host, so off
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}
# The browser may fetch from the gateway only (and inline data: / blob: pictures), so a page
# keeps working offline and never tells another host it was opened. The docs need inline
# scripts (FastAPI's page starts Swagger UI inline) and ReDoc a blob: worker; ReDoc's sidebar
# also shows a logo from cdn.redoc.ly, which this policy stops in the browser.
_CSP_COMMON = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'self'"
)
PAGE_CSP = f"{_CSP_COMMON}; script-src 'self'"
DOCS_CSP = f"{_CSP_COMMON}; script-src 'self' 'unsafe-inline'; worker-src 'self' blob:"


def docs_assets_dir() -> Path:
    """The folder of fastapi-offline's Swagger UI and ReDoc bundles (JS, CSS)."""
    return Path(str(files("fastapi_offline"))) / "static"


def install_web_pages(app: FastAPI) -> None:
    """Add ``GET /``, ``/docs``, ``/redoc`` and their static files to ``app`` (not in the schema).

    ``app`` must be built with ``docs_url=None, redoc_url=None`` (FastAPI's own pages load
    their scripts from a CDN). Paths honour ``root_path``, so the pages work behind a proxy
    that mounts the gateway under a prefix.
    """
    app.mount(WEB_PREFIX, StaticFiles(directory=STATIC_DIR), name="web")
    app.mount(DOCS_ASSETS_PREFIX, StaticFiles(directory=docs_assets_dir()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/", include_in_schema=False)
    async def seal_page() -> FileResponse:
        headers = {"Content-Security-Policy": PAGE_CSP}
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=headers)

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{DOCS_ASSETS_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{root}{FAVICON}",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS_PREFIX}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{FAVICON}",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page
