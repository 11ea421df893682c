"""Triton-facing glue: the embedded server launcher and helpers for the Python-backend steps.

Unlike ``seal_ocr`` this package knows Triton; the helpers that need
``triton_python_backend_utils`` import it lazily, since it only exists inside a backend stub.
"""
