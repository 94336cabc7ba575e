"""Command line: `python -m ocr_pipeline COMMAND ...`.

Exit status: 0 when everything succeeded, 1 when any input failed (the others are still
processed), 2 for bad usage, 130 when stopped with Ctrl-C. Errors are one readable line each,
never a traceback. A first Ctrl-C during a correction stops it after the chunk that is running
and prints what was done (the rest keeps its OCR text); a second one quits at once.
"""

from __future__ import annotations

import argparse

from ..errors import PipelineError, unreadable
from .output import INTERRUPTED, fail


def build_parser() -> argparse.ArgumentParser:
    from .bench import add_bench_commands
    from .commands import add_commands

    parser = argparse.ArgumentParser(prog="python -m ocr_pipeline", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add_commands(commands)
    add_bench_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except PipelineError as error:
        fail(str(error))
        return 1
    except OSError as error:  # a path the readers did not word: still one line, not a traceback
        fail(unreadable(error.filename, error) if error.filename else str(error))
        return 1
    except KeyboardInterrupt:
        return INTERRUPTED
