"""PaddleX's ``seal_recognition`` serving API, written once for both of its front ends.

The HTTP gateway (``seal_gateway``, ``POST /seal-recognition``) and the Triton model
``seal-recognition`` (PaddleX's high-performance serving protocol) share: the request schema
(:mod:`~seal_api.schemas`), the camelCase options onto the ensemble's ``OPTIONS``
(:mod:`~seal_api.options`), the file (base64 or URL, image or PDF, pages and their size caps:
:mod:`~seal_api.files`, :mod:`~seal_api.fetch`), the per-page result (:mod:`~seal_api.results`),
the envelope (:mod:`~seal_api.errors`) and the request flow itself (:mod:`~seal_api.service`).
No Triton and no FastAPI import: each front end brings its own transport.
"""

from seal_api.errors import ApiError
from seal_api.service import ApiSettings, InferPages, handle, recognize

__all__ = ["ApiError", "ApiSettings", "InferPages", "handle", "recognize"]
