"""Python client of the ``seal_recognition`` Triton ensemble (minimal; the full client with PDF
splitting, pictures and crops is tracked separately)."""

from seal_client.client import SealClient

__all__ = ["SealClient"]
