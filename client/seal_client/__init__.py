"""Python client of the ``seal_recognition`` Triton ensemble.

    from seal_client import SealClient
    for result in SealClient("127.0.0.1:8001").predict("contract.pdf", pages="1-3"):
        result.print(); result.save_to_json("out"); result.save_to_img("out")

Inputs, options and result methods follow PaddleX's ``seal_recognition`` ``predict``.
"""

from seal_client.client import SealClient
from seal_client.errors import InputError, PageError, PdfError, ServerError
from seal_client.inputs import Page
from seal_client.result import SealResult

__all__ = ["InputError", "Page", "PageError", "PdfError", "SealClient", "SealResult", "ServerError"]
