"""Text files a person hands to a command or a page (pairs, replays, candidates to guard): UTF-8
or one clear error, and JSON lines that say which line is broken."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .errors import PipelineError


def decode(data: bytes, source: str) -> str:
    """The bytes as UTF-8 text (a byte-order mark is dropped), or a PipelineError naming the first bad byte."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise PipelineError(f"{source}: not UTF-8 text (binary data: a NUL byte at position {nul}).")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PipelineError(
            f"{source}: not UTF-8 text (byte 0x{data[error.start]:02x} at position {error.start}); save it as UTF-8."
        ) from None


def read_text(path: str | Path) -> str:
    """A file's text, or standard input's for '-'."""
    if str(path) == "-":
        return decode(sys.stdin.buffer.read(), "standard input")
    path = Path(path).expanduser()
    if not path.is_file():
        raise PipelineError(f"{path}: no such file.")
    return decode(path.read_bytes(), str(path))


def json_lines(text: str, source: str) -> list[tuple[int, object]]:
    """(line number, value) for each non-blank line; a line that is not JSON is an error naming it."""
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except ValueError as error:
            raise PipelineError(f"{source}, line {number}: not JSON ({error}).") from None
    return rows
