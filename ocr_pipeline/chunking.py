"""Cut a document into pieces a model can correct, without ever losing a character.

Chunks are spans of the document: each records the exact text that follows it (its separator),
so `join_chunks` rebuilds the input byte for byte. Splits prefer page, then paragraph (blank
line), then line boundaries; a line longer than the budget is cut between words, then inside a
word, and its chunks say so.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from collections.abc import Callable, Iterable, Sequence

DEFAULT_TOKEN_BUDGET = 256
PAGE_BREAK = "\f"
NEW_TOKENS_FACTOR = 1.3  # corrections barely change length; the factor covers tokenisation differences
NEW_TOKENS_MARGIN = 32  # room for a short preamble the guard will strip

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_LINE_BREAK = re.compile(r"\s*\n\s*")
_WORD = re.compile(r"\S+")

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class Chunk:
    index: int
    page: int  # 1-based
    text: str
    separator: str  # the exact text between this chunk and the next (whitespace, page breaks)
    tokens: int
    split_warning: str | None = None

    @property
    def needs_model(self) -> bool:
        """Whitespace-only chunks (document-leading blank space, empty documents) are not sent."""
        return bool(self.text.strip())


def document_text(text_or_pages: str | Sequence[str]) -> str:
    """A list of pages is one document with a form feed between the pages, on a line of its own:
    a text box shows the pages apart (a blank line), and chunks still know their page."""
    return text_or_pages if isinstance(text_or_pages, str) else f"\n{PAGE_BREAK}\n".join(text_or_pages)


def join_chunks(chunks: Iterable[Chunk], texts: Iterable[str] | None = None) -> str:
    """Rebuild the document, optionally with replacement texts (corrections), one per chunk."""
    chunks = list(chunks)
    texts = [chunk.text for chunk in chunks] if texts is None else list(texts)
    return "".join(text + chunk.separator for chunk, text in zip(chunks, texts, strict=True))


def max_new_tokens_for(tokens: int) -> int:
    return math.ceil(tokens * NEW_TOKENS_FACTOR) + NEW_TOKENS_MARGIN


def chunk_text(
    text_or_pages: str | Sequence[str],
    count_tokens: TokenCounter,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
) -> list[Chunk]:
    if token_budget < 1:
        raise ValueError(f"token_budget must be at least 1, got {token_budget}")
    document = document_text(text_or_pages)
    splitter = _Splitter(document, count_tokens, token_budget)
    spans: list[tuple[int, int, str | None]] = []
    page_start = 0
    for page_text in document.split(PAGE_BREAK):
        page_end = page_start + len(page_text)
        spans.extend(splitter.pack(_pieces(_PARAGRAPH_BREAK, document, page_start, page_end), level=0))
        page_start = page_end + len(PAGE_BREAK)
    first_start = spans[0][0] if spans else len(document)
    if first_start:  # leading blank space (or a blank document) is a chunk of its own, never sent
        spans.insert(0, (0, first_start, None))
    chunks = []
    for index, (start, end, warning) in enumerate(spans):
        next_start = spans[index + 1][0] if index + 1 < len(spans) else len(document)
        text = document[start:end]
        chunks.append(
            Chunk(
                index=index,
                page=document.count(PAGE_BREAK, 0, start) + 1,
                text=text,
                separator=document[end:next_start],
                tokens=count_tokens(text) if text.strip() else 0,
                split_warning=warning,
            )
        )
    return chunks


def _pieces(separator: re.Pattern, document: str, start: int, end: int) -> list[tuple[int, int]]:
    """Non-blank spans of document[start:end] between matches of `separator`, stripped of blank ends."""
    pieces = []
    position = start
    for match in [*separator.finditer(document, start, end), None]:
        piece_end = match.start() if match else end
        text = document[position:piece_end]
        if text.strip():
            left = position + len(text) - len(text.lstrip())
            pieces.append((left, position + len(text.rstrip())))
        if match:
            position = match.end()
    return pieces


class _Splitter:
    """Greedy packing of spans under the budget, splitting a span that is too big one level finer."""

    def __init__(self, document: str, count_tokens: TokenCounter, budget: int):
        self.document = document
        self.count_tokens = count_tokens
        self.budget = budget

    def fits(self, start: int, end: int) -> bool:
        return self.count_tokens(self.document[start:end]) <= self.budget

    def pack(self, pieces: list[tuple[int, int]], level: int, warning: str | None = None):
        packed: list[tuple[int, int, str | None]] = []
        current: tuple[int, int] | None = None
        for start, end in pieces:
            if current and self.fits(current[0], end):
                current = (current[0], end)
                continue
            if current:
                packed.append((*current, warning))
                current = None
            if self.fits(start, end):
                current = (start, end)
            else:
                packed.extend(self.split(start, end, level + 1))
        if current:
            packed.append((*current, warning))
        return packed

    def split(self, start: int, end: int, level: int):
        if level == 1:  # a paragraph: its lines
            return self.pack(_pieces(_LINE_BREAK, self.document, start, end), level)
        if level == 2:  # a line: its words
            warning = f"a line was longer than the {self.budget}-token budget and was split between words"
            return self.pack([m.span() for m in _WORD.finditer(self.document, start, end)], level, warning)
        warning = f"a word was longer than the {self.budget}-token budget and was split inside"
        return [(piece_start, piece_end, warning) for piece_start, piece_end in self.hard_split(start, end)]

    def hard_split(self, start: int, end: int):
        """Longest prefixes that fit (binary search), at least one character each."""
        while start < end:
            low, high = start + 1, end
            while low < high:
                middle = (low + high + 1) // 2
                if self.fits(start, middle):
                    low = middle
                else:
                    high = middle - 1
            yield start, low
            start = low
