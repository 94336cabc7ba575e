"""What the commands print: JSON lines on stdout, one-line errors and warnings on stderr."""

from __future__ import annotations

import json
import sys

INTERRUPTED = 130  # the exit status of a run stopped with Ctrl-C


def print_json(obj: dict) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


def fail_file(file_name: str, error: Exception, as_json: bool) -> None:
    """One file that could not be processed: a JSON line in its place, or an error line."""
    if as_json:
        print_json({"file": file_name, "error": str(error)})
    else:
        fail(str(error))


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def print_verdicts(result) -> None:
    """The guard's decisions, for a person reading the terminal."""
    counts = ", ".join(f"{count} {status}" for status, count in result.status_counts().items())
    print(f"chunks: {counts}; {result.seconds:.1f} s, {result.tokens_per_second:.1f} tokens/s", file=sys.stderr)
    if result.record:
        print(f"record: {result.record}", file=sys.stderr)
    for chunk in result.chunks:
        for reason in chunk.reasons:
            print(f"  chunk {chunk.index + 1} ({chunk.status}): {reason}", file=sys.stderr)
