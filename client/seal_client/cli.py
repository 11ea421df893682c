"""``seal-client --input IMAGE``: print the seal texts (or the result JSON) of one image."""

from __future__ import annotations

import argparse
import json
import sys

from seal_client.client import SealClient


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="seal-client", description=__doc__)
    parser.add_argument("--input", required=True, help="an image file")
    parser.add_argument("--url", default="127.0.0.1:8001")
    parser.add_argument("--protocol", choices=["grpc", "http"], default="grpc")
    parser.add_argument("--json-only", action="store_true", help="print the whole result JSON")
    parser.add_argument("--no-layout", action="store_true", help="use_layout_detection=False")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = {"use_layout_detection": False} if args.no_layout else {}
    try:
        result = SealClient(args.url, args.protocol).predict(args.input, **options)
    except Exception as exc:  # one clear line, non-zero exit
        print(f"seal-client: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.json_only:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        for line in result["texts"]:
            print(f"seal {line['seal_index'] + 1}: {line['text']}  ({line['score']:.3f})")
    return 0
