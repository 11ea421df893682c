"""Map the request's camelCase option fields onto the ensemble's ``OPTIONS`` (PaddleX names).

The fields are those of the option table :data:`seal_ocr.params.OPTIONS`, the one source of
truth; validation is :func:`seal_ocr.params.parse_options`, the same function the ensemble runs,
so a bad value is refused here with the server's own message before any file is fetched or
decoded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from seal_ocr.params import OPTIONS, parse_options

# request field -> predict() keyword, for every option the ensemble takes
REQUEST_OPTION_FIELDS: dict[str, str] = {option.camel: option.name for option in OPTIONS}


def pipeline_options(fields: Mapping[str, Any]) -> dict[str, Any]:
    """PaddleX ``predict()`` options from request fields; unset (``None``) ones are left out."""
    return {
        name: fields[field]
        for field, name in REQUEST_OPTION_FIELDS.items()
        if fields.get(field) is not None
    }


def options_json(options: Mapping[str, Any]) -> bytes | None:
    """Validate ``options`` and encode them as the ``OPTIONS`` tensor (None: all defaults).

    Raises :class:`seal_ocr.errors.InvalidOptionError` naming the first bad option.
    """
    parse_options(options)
    return json.dumps(dict(options)).encode() if options else None
