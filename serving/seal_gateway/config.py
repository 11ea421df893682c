"""What one gateway process is configured with (command line or :func:`build_app` argument)."""

from __future__ import annotations

from dataclasses import dataclass, field

from seal_api.service import MIB, ApiSettings
from seal_client.transport import check_protocol

__all__ = ["MIB", "GatewayConfig"]


@dataclass(frozen=True)
class GatewayConfig:
    """Settings of the HTTP gateway.

    ``api``: how requests are handled (PDF pages, page pixel cap, body and URL limits,
    ``visualize`` default, picture size), the one :class:`seal_api.ApiSettings` the Triton model
    ``seal-recognition`` has too; its ``max_request_bytes`` is the body cap (413 above it).
    ``max_in_flight``: Triton requests in flight at once (pages of all requests together).
    ``triton_timeout_s``: one Triton request's client timeout. ``font_path``: CJK font of the
    result pictures (found if ``None``).
    """

    triton_url: str = "127.0.0.1:8001"
    protocol: str = "grpc"
    api: ApiSettings = field(default_factory=ApiSettings)
    max_in_flight: int = 16
    triton_timeout_s: float = 300.0
    font_path: str | None = None

    def __post_init__(self) -> None:
        check_protocol(self.protocol)
        if self.max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {self.max_in_flight}")
        if not self.triton_timeout_s > 0:
            raise ValueError(f"triton_timeout_s must be > 0, got {self.triton_timeout_s}")
