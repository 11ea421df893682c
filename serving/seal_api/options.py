"""Map the request's camelCase option fields onto the ensemble's ``OPTIONS`` (PaddleX names).

The names come from :mod:`seal_ocr.params` (``OPTION_NAMES`` and our extensions), the one
source of truth; validation is :func:`seal_ocr.params.parse_options`, the same function the
ensemble runs, so a bad value is refused here with the server's own message before any file is
fetched or decoded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from seal_ocr.params import EXTENSION_OPTION_NAMES, OPTION_NAMES, parse_options


def to_camel(name: str) -> str:
    """``seal_det_limit_side_len`` -> ``sealDetLimitSideLen`` (PaddleX's serving field names)."""
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


# request field -> predict() keyword, for every option the ensemble takes
REQUEST_OPTION_FIELDS: dict[str, str] = {
    to_camel(name): name for name in OPTION_NAMES + EXTENSION_OPTION_NAMES
}


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
