"""Text from outside (a file, standard input, an upload) checked before any model or judge sees it.

A binary file taken for text would be sent to the model for minutes and come back as noise, so
what is not text is refused with one line saying why: NUL bytes, bytes that are not UTF-8 (UTF-16
with a byte-order mark is accepted), or a text made mostly of control characters. JSON-lines
files (pairs, replays, candidates to guard) say which line is broken.
"""

from __future__ import annotations

import codecs
import json
import sys
import unicodedata
from pathlib import Path

from .errors import TextInputError, unreadable

# Control characters a text legitimately holds: tab, line feed, carriage return, form feed (pages).
_ALLOWED_CONTROLS = frozenset("\t\n\r\f")
MAX_CONTROL_SHARE = 0.01  # above 1% of characters (and more than a few), it is not a text


def decode_text(data: bytes, source: str) -> str:
    """`data` as text, or a `TextInputError` naming `source` and what is wrong with it."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return check_text(data.decode("utf-16"), source)
        except UnicodeDecodeError as error:
            raise TextInputError(f"{source}: starts like UTF-16 text but is not ({error.reason}).") from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise TextInputError(f"{source}: not UTF-8 text (binary data: a NUL byte at position {nul}).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise TextInputError(
            f"{source}: not UTF-8 text (byte 0x{data[error.start]:02x} at position {error.start}); save it as UTF-8."
        ) from None
    return check_text(text, source)


def check_text(text: str, source: str = "the text") -> str:
    """`text` itself, unless it is mostly control characters (a binary file decoded by force)."""
    controls = sum(1 for ch in text if ch not in _ALLOWED_CONTROLS and unicodedata.category(ch) == "Cc")
    if controls > 4 and controls > MAX_CONTROL_SHARE * len(text):
        raise TextInputError(
            f"{source}: {controls} of its {len(text)} characters are control characters: this is "
            "not text. Give it as a UTF-8 text file."
        )
    return text


def read_text(path: str | Path) -> str:
    """A file's text, or standard input's for '-', checked as above."""
    if str(path) == "-":
        return decode_text(sys.stdin.buffer.read(), "standard input")
    path = Path(path).expanduser()
    try:
        if not path.is_file():
            raise TextInputError(f"{path}: no such file.")
        data = path.read_bytes()
    except (OSError, ValueError) as error:  # no permission, a name too long; ValueError: a NUL in it
        raise TextInputError(unreadable(path, error)) from error
    return decode_text(data, str(path))


def json_lines(text: str, source: str) -> list[tuple[int, object]]:
    """(line number, value) for each non-blank line; a line that is not JSON is an error naming it."""
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except ValueError as error:
            raise TextInputError(f"{source}, line {number}: not JSON ({error}).") from None
    return rows
