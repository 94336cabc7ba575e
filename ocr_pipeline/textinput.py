"""Text from outside (a file, standard input, an upload) checked before any model sees it.

A binary file taken for text would be sent to the model for minutes and come back as noise, so
what is not text is refused with one line saying why: NUL bytes, bytes that are not UTF-8 (UTF-16
with a byte-order mark is accepted), or a text made mostly of control characters.
"""

from __future__ import annotations

import codecs
import unicodedata

from .errors import TextInputError

# Control characters a text legitimately holds: tab, line feed, carriage return, form feed (pages).
_ALLOWED_CONTROLS = frozenset("\t\n\r\f")
MAX_CONTROL_SHARE = 0.01  # above 1% of characters (and more than a few), it is not a text


def decode_text(data: bytes, source: str) -> str:
    """`data` as text, or a `TextInputError` naming `source` and what is wrong with it."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return check_text(data.decode("utf-16"), source)
        except UnicodeDecodeError as error:
            raise TextInputError(f"{source}: starts like UTF-16 text but is not ({error.reason}).") from error
    if b"\x00" in data:
        raise TextInputError(f"{source}: a binary file (it contains NUL bytes), not text. Give the OCR text as a "
                             "UTF-8 .txt file; to read a scan, use `ocr` or `run` instead.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise TextInputError(f"{source}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}). "
                             "Save it as UTF-8 and try again.") from error
    return check_text(text, source)


def check_text(text: str, source: str = "the text") -> str:
    """`text` itself, unless it is mostly control characters (a binary file decoded by force)."""
    controls = sum(1 for ch in text if ch not in _ALLOWED_CONTROLS and unicodedata.category(ch) == "Cc")
    if controls > 4 and controls > MAX_CONTROL_SHARE * len(text):
        raise TextInputError(f"{source}: {controls} of its {len(text)} characters are control characters: this is "
                             "not text. Give the OCR text as a UTF-8 .txt file.")
    return text
