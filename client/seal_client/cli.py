"""``seal-client``: ``paddlex --pipeline seal_recognition``'s command line, served by Triton.

    seal-client --input contract.pdf --save_path out --pages 1-3 --seal_det_thresh 0.3

Writes ``<stem>_res.json`` and the pictures per page into ``--save_path`` (prints the results
when no save path is given). Exit status: 0 all pages done; 1 some page failed (the others are
still written); 2 the server is unreachable or an input is unreadable (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from seal_client.client import SealClient
from seal_client.errors import InputError, PageError, ServerError
from seal_client.transport import PROTOCOLS
from seal_client.visualize import FontNotFoundError
from seal_ocr.errors import InvalidOptionError
from seal_ocr.params import OPTIONS, Choice, Flag, Number, Option, Pair, PerClass


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, got {text!r}")


def _json_or_number(text: str) -> Any:
    """``0.5``, ``{"2": 0.3}`` or ``[1.1, 1.2]`` (the per-class and per-axis forms)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError(f"expected a number or JSON, got {text!r}") from None


def _json_or_text(text: str) -> Any:
    """``{"2": "small"}`` (JSON) or a bare word such as ``large`` (also accepted quoted)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def option_flag(option: Option) -> dict[str, Any]:
    """``add_argument`` keywords of one predict option, from its kind in the option table."""
    kind = option.kind
    if isinstance(kind, Flag):
        parse: dict[str, Any] = {"type": _bool, "metavar": "{True,False}"}
    elif isinstance(kind, Number):
        parse = {"type": int if kind.integer else float}
    elif isinstance(kind, Choice):
        parse = {"choices": kind.values}
    elif isinstance(kind, PerClass | Pair):
        parse = {"type": _json_or_text if isinstance(kind.inner, Choice) else _json_or_number}
    else:
        raise TypeError(f"no command-line form for option kind {kind!r}")
    ours = "" if option.paddlex else "not PaddleX: "
    help_text = (
        f"{ours}{option.help}; {option.kind.describe()} (default {json.dumps(option.default)})"
    )
    return {**parse, "help": help_text.replace("`", "").replace("%", "%%")}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="seal-client", description=__doc__.split("\n\n")[0], allow_abbrev=False
    )
    parser.add_argument("--input", required=True, help="image, PDF, directory or http(s) URL")
    parser.add_argument("--save_path", type=Path, help="directory for results (default: print)")
    parser.add_argument("--url", default="127.0.0.1:8001", help="Triton host:port")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="grpc")
    parser.add_argument("--pages", help='PDF pages to read, 1-based, e.g. "1-3,7"')
    parser.add_argument("--max_pages", type=int, help="refuse PDFs with more selected pages")
    parser.add_argument(
        "--max_in_flight", type=int, default=3, help="pages sent at once (the server admits 3)"
    )
    parser.add_argument("--save_crops", action="store_true", help="also write the line crops")
    parser.add_argument("--json-only", dest="json_only", action="store_true",
                        help="write/print only the JSON, no pictures")  # fmt: skip
    parser.add_argument("--font_path", help="CJK font for the pictures (else found at run time)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    group = parser.add_argument_group("PaddleX seal_recognition predict options")
    for option in OPTIONS:
        group.add_argument(f"--{option.name}", **option_flag(option))
    args = parser.parse_args(argv)
    args.options = {
        option.name: getattr(args, option.name)
        for option in OPTIONS
        if getattr(args, option.name) is not None
    }
    return args


def _fail(message: str, code: int) -> int:
    print(f"seal-client: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        from tqdm import tqdm

        client = SealClient(args.url, args.protocol, max_in_flight=args.max_in_flight)
        results = client.predict(
            args.input,
            pages=args.pages,
            max_pages=args.max_pages,
            raise_on_error=False,
            **args.options,
        )
        failed = 0
        with tqdm(desc="pages", unit="page", disable=args.quiet, file=sys.stderr) as progress:
            for result in results:
                progress.update(1)
                if not result.ok:
                    failed += 1
                    progress.write(f"seal-client: {result.error}", file=sys.stderr)
                    continue
                if args.save_path is None:
                    result.print()
                    continue
                result.save_to_json(args.save_path)
                if not args.json_only:
                    result.save_to_img(args.save_path, args.font_path)
                if args.save_crops:
                    result.save_crops(args.save_path)
    except (ServerError, InputError, InvalidOptionError, FontNotFoundError, ValueError) as exc:
        return _fail(str(exc), 2)
    except PageError as exc:  # pragma: no cover - predict() runs with raise_on_error=False
        return _fail(str(exc), 1)
    if failed:
        return _fail(f"{failed} page(s) failed; the others were written", 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
