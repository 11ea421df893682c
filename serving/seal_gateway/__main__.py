"""``python -m seal_gateway``: serve the gateway with uvicorn until Ctrl-C / SIGTERM."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from seal_api import ApiSettings
from seal_client.transport import PROTOCOLS
from seal_gateway.app import build_app
from seal_gateway.config import MIB, GatewayConfig

DEFAULTS = GatewayConfig()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; every knob of :class:`GatewayConfig` plus where to listen."""
    parser = argparse.ArgumentParser(
        prog="python -m seal_gateway",
        description="PaddleX-compatible HTTP API (POST /seal-recognition) over Triton.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--triton-url", default=DEFAULTS.triton_url, help="host:port of Triton")
    parser.add_argument("--protocol", choices=PROTOCOLS, default=DEFAULTS.protocol)
    parser.add_argument(
        "--max-pdf-pages",
        type=int,
        default=DEFAULTS.api.max_pdf_pages,
        help="pages taken from the start of a PDF (PaddleX: 10); 0 = all",
    )
    parser.add_argument(
        "--max-page-pixels",
        type=int,
        default=DEFAULTS.api.max_page_pixels,
        help="largest page (image, or PDF page at 144 DPI), refused before decoding/rendering",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULTS.api.max_request_bytes,
        help=f"body cap, 413 above it (default {DEFAULTS.api.max_request_bytes // MIB} MiB)",
    )
    parser.add_argument(
        "--max-download-bytes",
        type=int,
        default=DEFAULTS.api.max_download_bytes,
        help="size cap of a URL input",
    )
    parser.add_argument("--url-timeout", type=float, default=DEFAULTS.api.url_timeout_s, help="s")
    parser.add_argument(
        "--allow-private-urls",
        action="store_true",
        help="let URL inputs reach loopback, private and link-local addresses",
    )
    parser.add_argument(
        "--no-visualize",
        action="store_true",
        help="no pictures unless a request sets visualize=true (PaddleX Serving.visualize)",
    )
    parser.add_argument(
        "--max-in-flight", type=int, default=DEFAULTS.max_in_flight, help="Triton requests"
    )
    parser.add_argument("--font-path", default=None, help="CJK font of the result pictures")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning"))
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> GatewayConfig:
    """The :class:`GatewayConfig` the command line asks for."""
    return GatewayConfig(
        triton_url=args.triton_url,
        protocol=args.protocol,
        api=ApiSettings(
            max_pdf_pages=args.max_pdf_pages or None,
            max_page_pixels=args.max_page_pixels,
            max_request_bytes=args.max_body_bytes,
            max_download_bytes=args.max_download_bytes,
            url_timeout_s=args.url_timeout,
            allow_private_urls=args.allow_private_urls,
            visualize=not args.no_visualize,
        ),
        max_in_flight=args.max_in_flight,
        font_path=args.font_path,
    )


def main(argv: list[str] | None = None) -> int:
    """Run until stopped; 2 on a bad command line or configuration."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        app = build_app(config_from_args(args))
    except (ValueError, OSError) as error:  # bad values, unusable --font-path
        print(f"seal_gateway: {error}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
