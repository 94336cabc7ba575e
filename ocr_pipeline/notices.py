"""Warnings for people, with a kind a user interface can act on (pick an icon), instead of matching text.

A `Notice` is a `str`: reports, JSON and the CLI print it as the sentence it is, while the dashboard
reads its `kind`.
"""

from __future__ import annotations

TRUNCATED = "truncated"  # the engine returned only part of the page (Aspose's trial mode)
BLANK = "blank"  # a page with nothing to read, or from which nothing was read
ENGINE = "engine"  # the engine read the page differently from what was asked (mode, language, turned)
TEXT_LAYER = "text-layer"  # the PDF carries its own text, which the engine `pdf-text` takes as it is
KINDS = (TRUNCATED, BLANK, ENGINE, TEXT_LAYER)


class Notice(str):
    kind: str

    def __new__(cls, text: str, kind: str) -> Notice:
        if kind not in KINDS:
            raise ValueError(f"unknown notice kind {kind!r}")
        notice = super().__new__(cls, text)
        notice.kind = kind
        return notice

    def __reduce__(self):  # pickled (st.cache_data, multiprocessing) with its kind
        return Notice, (str(self), self.kind)
