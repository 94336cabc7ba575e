"""The one small interface every OCR engine implements, and the results it returns."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

from PIL import Image

from ..chunking import document_text
from ..documents import Page

MODES = ("printed", "handwritten")
TURNED_NOTES = {  # by quarter turns counter-clockwise, as np.rot90 counts them
    1: "The page lay on its side; it was read turned 90° counter-clockwise.",
    2: "The page was upside down; it was read turned by 180°.",
    3: "The page lay on its side; it was read turned 90° clockwise.",
}


@dataclass
class OcrLine:
    """One line of recognized text; `box` is (left, top, right, bottom) in page pixels."""

    text: str
    box: tuple[int, int, int, int] | None = None
    confidence: float | None = None


@dataclass
class PageText:
    """What an engine returns for one page image."""

    text: str
    lines: list[OcrLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class OcrPage:
    index: int
    text: str
    lines: list[OcrLine]
    seconds: float
    warnings: list[str] = field(default_factory=list)


@dataclass
class OcrResult:
    """A whole document's OCR: which engine ran (and why), in which mode, page by page."""

    file: str
    engine: str
    mode: str
    lang: str
    pages: list[OcrPage]
    warnings: list[str] = field(default_factory=list)
    engine_reason: str = ""
    engine_model: str = ""  # the engine's package and model version, where it has one

    @property
    def text(self) -> str:
        """The pages as one document, page breaks kept (so that correction reports pages)."""
        return document_text([page.text for page in self.pages])

    def to_json(self) -> dict:
        pages = []
        for page in self.pages:
            item = {"index": page.index, "text": page.text, "seconds": round(page.seconds, 3)}
            if page.warnings:
                item["warnings"] = page.warnings
            pages.append(item)
        return {
            "file": self.file,
            "engine": self.engine,
            "engine_reason": self.engine_reason,
            "engine_model": self.engine_model,
            "mode": self.mode,
            "lang": self.lang,
            "pages": pages,
            "warnings": self.warnings,
        }


class OcrEngine(abc.ABC):
    """An engine is created once and reused; `recognize` must be safe to call from several threads."""

    name: str = ""
    modes: tuple[str, ...] = ("printed",)
    model: str = ""  # package and model version, noted in every result

    @classmethod
    @abc.abstractmethod
    def availability(cls) -> tuple[bool, str]:
        """(can run here, reason): cheap, never raises, never loads heavy models."""

    @abc.abstractmethod
    def recognize(self, image: Image.Image, mode: str = "printed", lang: str = "en") -> PageText:
        """Recognize one page image. Raises OcrError for a page it cannot read."""

    def read(self, page: Page, mode: str = "printed", lang: str = "en") -> PageText:
        """One page of a document: its image recognized (an engine that needs more of the page overrides this)."""
        return self.recognize(page.image, mode=mode, lang=lang)

    def close(self) -> None:  # noqa: B027 - engines without resources need nothing here
        """Free what the engine holds (worker processes, sessions)."""


def turned_back(text: PageText, shape: tuple[int, int], quarter_turns: int) -> PageText:
    """Lines read on the page turned counter-clockwise by `quarter_turns` quarters, with their
    boxes put back on the page as it is (`shape`: its height and width)."""
    height, width = shape
    for line in text.lines:
        left, top, right, bottom = line.box
        line.box = {
            1: (width - bottom, left, width - top, right),
            2: (width - right, height - bottom, width - left, height - top),
            3: (top, height - right, bottom, height - left),
        }[quarter_turns]
    return text


def page_confidence(text: PageText) -> float:
    """Mean recognition confidence per character; 0 for a page without text."""
    scored = [(len(line.text), line.confidence) for line in text.lines if line.confidence is not None]
    characters = sum(length for length, _ in scored)
    return sum(length * score for length, score in scored) / characters if characters else 0.0
