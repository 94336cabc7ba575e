"""Command line: `python -m ocr_pipeline COMMAND ...`.

Exit status: 0 when everything succeeded, 1 when any input failed (the others are still
processed), 2 for bad usage. Errors are one readable line each, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import PipelineError


def _print_json(obj: dict) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


def cmd_ocr(args: argparse.Namespace) -> int:
    from .documents import load_document
    from .ocr import ocr_document

    failed = False
    for file_name in args.files:
        path = Path(file_name)
        try:
            if not path.is_file():
                raise PipelineError(f"{file_name}: no such file.")
            document = load_document(path.read_bytes(), path.name, dpi=args.dpi)
            result = ocr_document(document, args.engine, args.mode, args.lang)
        except (PipelineError, OSError) as error:
            failed = True
            if args.json:
                _print_json({"file": file_name, "error": str(error)})
            else:
                _fail(str(error))
            continue
        if args.json:
            _print_json(result.to_json() | {"file": file_name})
            continue
        print(f"=== {file_name} — {result.engine}, {result.mode} ({result.engine_reason})")
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for page in result.pages:
            print(f"--- page {page.index + 1} of {len(result.pages)} ({page.seconds:.2f} s)")
            print(page.text)
        sys.stdout.flush()
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    from .ocr import ENGINE_NAMES
    from .ocr.base import MODES

    parser = argparse.ArgumentParser(prog="python -m ocr_pipeline", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    ocr = commands.add_parser("ocr", help="OCR images and PDFs into text, page by page")
    ocr.add_argument("files", nargs="+", metavar="FILE")
    ocr.add_argument("--engine", choices=ENGINE_NAMES, default="auto")
    ocr.add_argument("--mode", choices=MODES, default="printed")
    ocr.add_argument("--lang", default="en", help="language code, e.g. en, de, fr (default: en)")
    ocr.add_argument("--dpi", type=int, default=None, help="PDF render resolution (default: 300)")
    ocr.add_argument("--json", action="store_true", help="one JSON object per file, one per line")
    ocr.set_defaults(handler=cmd_ocr)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except PipelineError as error:
        _fail(str(error))
        return 1
    except KeyboardInterrupt:
        return 130
