"""PaddleX-compatible HTTP API (``POST /seal-recognition``) in front of the Triton ensemble.

    python -m seal_gateway --host 127.0.0.1 --port 8080 --triton-url 127.0.0.1:8001

or, in-process: ``uvicorn.run(build_app(GatewayConfig(triton_url=...)), port=8080)``.
"""

from seal_gateway.app import build_app
from seal_gateway.config import GatewayConfig

__all__ = ["GatewayConfig", "build_app"]
