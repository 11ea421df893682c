"""Typed errors of the processing library.

The Triton adapters map :class:`InvalidInputError` to ``INVALID_ARG`` for the offending request
only; any other exception is an internal error of that request.
"""


class SealOCRError(Exception):
    """Base class of every error raised on purpose by ``seal_ocr``."""


class InvalidInputError(SealOCRError, ValueError):
    """The request carries data we refuse: bad image bytes, bad option values."""


class InvalidImageError(InvalidInputError):
    """The image bytes cannot be decoded, or the image is outside the accepted limits."""


class InvalidOptionError(InvalidInputError):
    """A per-request option has an unknown name, a wrong type or an out-of-range value."""
