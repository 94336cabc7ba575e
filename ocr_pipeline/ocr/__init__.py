"""OCR engines chosen by name, created once and reused, and whole-document recognition.

`auto` picks Aspose.OCR when it runs with a license, else RapidOCR (offline, no license);
the result says which engine ran and why.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from collections.abc import Callable

from ..documents import Document, Page
from ..errors import EngineUnavailable, OcrError
from ..notices import BLANK, TEXT_LAYER, Notice
from .base import MODES, OcrEngine, OcrPage, OcrResult

ENGINE_NAMES = ("auto", "aspose", "rapidocr", "tesseract", "pdf-text")


@dataclass(frozen=True)
class EngineNote:
    """What an engine is good at, and how it read the 25 SROIE receipts (docs/benchmarks.md, OCR
    section): mean CER with and without reading order, median seconds per receipt on 2 CPU cores."""

    good_at: str
    cer: float | None = None
    cer_any_order: float | None = None
    seconds: float | None = None


# Kept equal to docs/benchmarks.md by tests/test_ocr.py, so that a user picks with the measured numbers.
ENGINE_NOTES = {
    "auto": EngineNote("a licensed Aspose.OCR when there is one, otherwise RapidOCR"),
    "rapidocr": EngineNote(
        "printed receipts, invoices and letters; offline, no license; Latin, Chinese and "
        "Japanese script; no handwriting",
        0.131,
        0.056,
        1.2,
    ),
    "aspose": EngineNote(
        "printed and handwritten text with a license; without one it returns only the first "
        "~300 characters of each page (the figures are that trial), and handwriting needs a "
        "resource it downloads",
        0.835,
        0.835,
        3.8,
    ),
    "tesseract": EngineNote(
        "clean printed pages in the languages whose packs are installed; weaker on receipts", 0.236, 0.191, 2.8
    ),
    "pdf-text": EngineNote(
        "PDFs made digitally (exported invoices, letters): their own text, exact and at once; a scanned "
        "PDF's own text is only as good as the scanner's OCR, and an image has none"
    ),
}


def engine_help() -> str:
    """The engine choice explained for a user: each engine's strengths and its figures on receipts."""
    lines = []
    for name in ENGINE_NAMES:
        note = ENGINE_NOTES[name]
        figures = ""
        if note.cer is not None:
            figures = (
                f" — SROIE receipts: CER {note.cer:.3f} ({note.cer_any_order:.3f} without reading order), "
                f"{note.seconds:.1f} s per receipt"
            )
        lines.append(f"- **{name}**: {note.good_at}{figures}")
    return "\n".join(lines) + "\n\nMeasured on 25 scanned receipts on 2 CPU cores; see docs/benchmarks.md."


_engines: dict[tuple, OcrEngine] = {}
_engines_lock = threading.Lock()


def engine_class(name: str) -> type[OcrEngine]:
    """The class behind an engine name, imported only when asked for (keeps start-up fast)."""
    if name == "rapidocr":
        from .rapid import RapidOcrEngine

        return RapidOcrEngine
    if name == "tesseract":
        from .tesseract import TesseractEngine

        return TesseractEngine
    if name == "aspose":
        from .aspose import AsposeEngine

        return AsposeEngine
    if name == "pdf-text":
        from .pdftext import PdfTextEngine

        return PdfTextEngine
    raise EngineUnavailable(name, f"unknown engine; choose one of {', '.join(ENGINE_NAMES)}.")


def engine_status() -> dict[str, tuple[bool, str]]:
    """Each concrete engine's (available, reason), for the CLI and the dashboard."""
    return {name: engine_class(name).availability() for name in ENGINE_NAMES if name != "auto"}


def get_engine(name: str, **options) -> OcrEngine:
    """The shared instance of engine `name` (created on first use, with `options`)."""
    key = (name, tuple(sorted(options.items())))
    with _engines_lock:
        if key not in _engines:
            cls = engine_class(name)
            available, reason = cls.availability()
            if not available:
                raise EngineUnavailable(name, reason)
            _engines[key] = cls(**options)
        return _engines[key]


def resolve_engine(name: str, license_path: str | None = None) -> tuple[OcrEngine, str]:
    """The engine to run for `name` and why; `auto` prefers a licensed Aspose, else RapidOCR."""
    if name != "auto":
        options = {"license_path": license_path} if name == "aspose" and license_path else {}
        return get_engine(name, **options), f"{name} was requested."
    license_path = license_path or os.environ.get("ASPOSE_LICENSE")
    if not license_path:
        reason = (
            "no Aspose license is set (ASPOSE_LICENSE), and unlicensed Aspose returns only the first ~100-300 "
            "characters of each page"
        )
    else:
        available, why = engine_class("aspose").availability()
        if available:
            aspose = get_engine("aspose", license_path=license_path)
            if aspose.is_licensed:
                return aspose, "auto: Aspose.OCR is licensed."
            reason = f"the Aspose license {license_path} was not accepted"
        else:
            reason = f"Aspose.OCR is unavailable ({why})"
    return get_engine("rapidocr"), f"auto: RapidOCR, because {reason}."


PageReader = Callable[[OcrEngine, Page], OcrPage]


def read_page(runner: OcrEngine, page: Page, mode: str, lang: str, document: Document) -> OcrPage:
    """One page through `runner`, timed; a page from which nothing was read gets a warning. A blank
    page is not sent (the document's warning names it): an engine takes a second or more to find
    nothing on it."""
    started = time.perf_counter()
    if page.is_blank:
        return OcrPage(page.index, "", [], time.perf_counter() - started, [])
    page_text = runner.read(page, mode=mode, lang=lang)
    seconds = time.perf_counter() - started
    said = [*document.warnings, *page_text.warnings]
    if not page_text.text.strip() and not any(getattr(w, "kind", "") == BLANK for w in said):
        page_text.warnings.append(
            Notice(
                f"{runner.name} found no text on page {page.index + 1} of {len(document.pages)}: check that it is "
                "the right way up and legible, or try another engine.",
                BLANK,
            )
        )
    return OcrPage(page.index, page_text.text, page_text.lines, seconds, page_text.warnings)


def ocr_document(
    document: Document,
    engine: str = "auto",
    mode: str = "printed",
    lang: str = "en",
    license_path: str | None = None,
    on_page: Callable[[int, int], None] | None = None,
    read: PageReader | None = None,
) -> OcrResult:
    """Recognize every page of `document`; `on_page(done, total)` reports progress.

    `read(runner, page)` replaces `read_page` (the dashboard's reads each page through its cache)."""
    if mode not in MODES:
        raise OcrError(f"unknown mode '{mode}'; choose one of {', '.join(MODES)}.")
    runner, reason = resolve_engine(engine, license_path)
    result = OcrResult(document.name, runner.name, mode, lang, [], list(document.warnings), reason, runner.model)
    with_text = document.pages_with_text_layer
    if with_text and runner.name != "pdf-text":
        result.warnings.append(
            Notice(
                f"This PDF carries its own text on {with_text} of {len(document.pages)} page(s) (made digitally, "
                "or OCR'd by the scanner): the engine pdf-text takes it as it is, exact where the PDF was made "
                "digitally.",
                TEXT_LAYER,
            )
        )
    on_pages: dict[Notice, list[int]] = {}
    for page in document.pages:
        ocr_page = read(runner, page) if read else read_page(runner, page, mode, lang, document)
        result.pages.append(ocr_page)
        for warning in ocr_page.warnings:
            on_pages.setdefault(warning, []).append(page.index + 1)
        if on_page:
            on_page(page.index + 1, len(document.pages))
    result.warnings += [w for w in _located(on_pages, len(document.pages)) if w not in result.warnings]
    return result


def _located(on_pages: dict[Notice, list[int]], page_count: int) -> list[Notice]:
    """Each page's warning once, saying where the document has several pages: "The page was upside
    down; it was read turned by 180° (page 3)." A page's blank notice names its page already."""
    if page_count == 1:
        return list(on_pages)
    located = []
    for warning, pages in on_pages.items():
        if getattr(warning, "kind", "") == BLANK:
            located.append(warning)
            continue
        listed = f"page {pages[0]}" if len(pages) == 1 else f"pages {', '.join(map(str, pages))}"
        where = "every page" if len(pages) == page_count else listed
        located.append(Notice(f"{warning.rstrip('.')} ({where}).", warning.kind))
    return located
