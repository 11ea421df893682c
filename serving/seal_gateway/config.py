"""What one gateway process is configured with (command line or :func:`build_app` argument)."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 2**20
PADDLEX_MAX_PDF_PAGES = 10  # PaddleX serving's ``max_num_input_imgs`` default
PADDLEX_MAX_OUTPUT_IMAGE_SIDE = 2000  # PaddleX serving's ``max_output_img_size`` (2000 x 2000)


@dataclass(frozen=True)
class GatewayConfig:
    """Settings of the HTTP gateway; the defaults are PaddleX serving's where it has one.

    ``max_pdf_pages``: pages taken from the start of a PDF (``None``: all), as PaddleX's
    ``max_num_input_imgs``. ``max_body_bytes``: request bodies above it get 413.
    ``max_download_bytes`` / ``url_timeout_s`` / ``max_redirects``: limits of URL inputs, which
    may not reach loopback, private, link-local or other non-public addresses unless
    ``allow_private_urls``. ``visualize``: default of the request's ``visualize`` (PaddleX
    ``Serving.visualize``). ``max_in_flight``: Triton requests in flight at once (pages of all
    requests together). ``font_path``: CJK font of the result pictures (found if ``None``).
    """

    triton_url: str = "127.0.0.1:8001"
    protocol: str = "grpc"
    max_pdf_pages: int | None = PADDLEX_MAX_PDF_PAGES
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
        if self.max_pdf_pages is not None and self.max_pdf_pages < 1:
            raise ValueError(f"max_pdf_pages must be >= 1 or None, got {self.max_pdf_pages}")
        for name in ("max_body_bytes", "max_download_bytes", "max_output_image_side"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {self.max_in_flight}")
        if self.max_redirects < 0:
            raise ValueError(f"max_redirects must be >= 0, got {self.max_redirects}")
        if not (self.url_timeout_s > 0 and self.triton_timeout_s > 0):
            raise ValueError("url_timeout_s and triton_timeout_s must be > 0")
