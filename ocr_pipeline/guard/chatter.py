"""Chatter: what a model wraps around its answer (preambles, code fences, quotes, notes), stripped
before the guard judges the answer."""

from __future__ import annotations

import re

_FENCE = re.compile(r"```[\w+-]*[^\S\n]*\n(.*?)\n?[^\S\n]*```", re.S)
_PREAMBLE = re.compile(
    r"\A\s*(?:(?:sure|certainly|of course|okay|ok)\b[^\n]*?(?:[.!,:][^\S\n]*|\n+))?"
    r"(?:here(?:'s| is| are| you go)\b[^\n]*?:"
    r"|(?:the )?(?:corrected|fixed|cleaned)(?: ocr)?(?: text| version)?(?: is)?\s*:"
    r"|output\s*:)"
    r"[^\S\n]*\n?",
    re.I,
)
_TRAILING_NOTE = re.compile(
    r"\n\s*\(?\s*(?:\*\*)?(?:note|notes|explanation|changes(?: made)?|corrections(?: made)?)(?:\*\*)?\s*:.*\Z",
    re.I | re.S,
)
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»"}


def strip_chatter(candidate: str, raw: str = "") -> str:
    """Remove what a model wraps around its answer, unless the OCR text itself has it.

    Handles a preamble ("Here is the corrected text:", "Corrected text:"), a code fence, quotes
    around the whole answer and trailing notes ("Note: I fixed ...").
    """
    text = candidate.strip()
    raw = raw.strip()
    fence = _FENCE.search(text)
    if fence and "```" not in raw:
        text = fence.group(1).strip()
    preamble = _PREAMBLE.match(text)
    if preamble and not _PREAMBLE.match(raw):
        text = text[preamble.end() :].strip()
    note = _TRAILING_NOTE.search(text)
    if note and not _TRAILING_NOTE.search(raw):
        text = text[: note.start()].strip()
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1] and not (raw[:1] == text[0] and raw[-1:] == text[-1]):
        text = text[1:-1].strip()
    return text
