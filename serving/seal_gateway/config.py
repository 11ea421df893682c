"""What one gateway process is configured with (command line or :func:`build_app` argument)."""

from __future__ import annotations

from dataclasses import dataclass

from seal_api.service import (
    MIB,
    PADDLEX_MAX_OUTPUT_IMAGE_SIDE,
    PADDLEX_MAX_PDF_PAGES,
    ApiSettings,
)
from seal_ocr.image_io import DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class GatewayConfig:
    """Settings of the HTTP gateway; the defaults are PaddleX serving's where it has one.

    ``max_pdf_pages``: pages taken from the start of a PDF (``None``: all), as PaddleX's
    ``max_num_input_imgs``. ``max_page_pixels``: the largest page accepted (an image, or a PDF
    page at 144 DPI, checked before decoding or rendering). ``max_body_bytes``: request bodies
    above it get 413.
    ``max_download_bytes`` / ``url_timeout_s`` / ``max_redirects``: limits of URL inputs, which
    may not reach loopback, private, link-local or other non-public addresses unless
    ``allow_private_urls``. ``visualize``: default of the request's ``visualize`` (PaddleX
    ``Serving.visualize``). ``max_in_flight``: Triton requests in flight at once (pages of all
    requests together). ``font_path``: CJK font of the result pictures (found if ``None``).
    """

    triton_url: str = "127.0.0.1:8001"
    protocol: str = "grpc"
    max_pdf_pages: int | None = PADDLEX_MAX_PDF_PAGES
    max_page_pixels: int = DEFAULT_MAX_PIXELS
    max_body_bytes: int = 64 * MIB
    max_download_bytes: int = 48 * MIB  # the file a 64 MiB base64 body can carry
    url_timeout_s: float = 10.0
    max_redirects: int = 5
    allow_private_urls: bool = False
    visualize: bool = True
    max_output_image_side: int = PADDLEX_MAX_OUTPUT_IMAGE_SIDE
    max_in_flight: int = 16
    triton_timeout_s: float = 300.0
    font_path: str | None = None

    def __post_init__(self) -> None:
        if self.protocol not in ("grpc", "http"):
            raise ValueError(f"protocol must be 'grpc' or 'http', got {self.protocol!r}")
        if self.max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {self.max_in_flight}")
        if not self.triton_timeout_s > 0:
            raise ValueError(f"triton_timeout_s must be > 0, got {self.triton_timeout_s}")
        self.api_settings  # noqa: B018 -- checks the shared settings now, not at the first request

    @property
    def api_settings(self) -> ApiSettings:
        """The request handling settings, as the Triton model ``seal-recognition`` has them."""
        return ApiSettings(
            max_pdf_pages=self.max_pdf_pages,
            max_page_pixels=self.max_page_pixels,
            max_request_bytes=self.max_body_bytes,
            max_download_bytes=self.max_download_bytes,
            url_timeout_s=self.url_timeout_s,
            max_redirects=self.max_redirects,
            allow_private_urls=self.allow_private_urls,
            visualize=self.visualize,
            max_output_image_side=self.max_output_image_side,
        )
