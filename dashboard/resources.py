"""What all sessions share, held in `st.cache_resource`: engine status, OCR results, the generation gate, decoded files.

Heavy imports happen inside the functions, on first use, so the first screen appears fast.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable

import streamlit as st

from ocr_pipeline.documents import Document

OCR_PAGES_KEPT = 256


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Load, in the background once per server, what the first correction would otherwise wait for
    (pandas for the review table, the guard's tables and dictionary, llama.cpp): about 1.5 s here.
    The first screen does not wait for it."""

    def load() -> None:
        import pandas  # noqa: F401
        from ocr_pipeline.guard import apply_guard
        from ocr_pipeline.guard.alternatives import explanations
        from ocr_pipeline.llm.backends.llamacpp import llamacpp_status

        apply_guard("Tota1 12.50", "Total 12.50")  # reads the channel table and wordfreq
        apply_guard("he said be was", "he said he was")  # a known word changed: reads the word-context table
        explanations("tbe")  # the dictionary a guess is checked against where the model has a good record
        llamacpp_status()

    thread = threading.Thread(target=load, name="warm-up", daemon=True)
    thread.start()
    return thread


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@st.cache_resource(show_spinner=False)
def engine_status() -> dict[str, tuple[bool, str]]:
    """Which engines can run here, checked once per process (the checks import packages)."""
    from ocr_pipeline.ocr import engine_status as check

    return check()


def run_ocr(
    document: Document,
    content_digest: str,
    engine: str,
    mode: str,
    lang: str = "en",
    license_path: str | None = None,
    on_page: Callable[[int, int], None] | None = None,
):
    """OCR a document, each page read once per content and settings for every session: a rerun, or
    another user with the same file, gets the cached pages. Progress is drawn between pages, outside
    the cached function (Streamlit cannot replay drawing done inside it)."""
    from ocr_pipeline.ocr import ocr_document

    def read(runner, page):
        return _read_page(runner, page, document, runner.name, license_path, content_digest, page.index, mode, lang)

    return ocr_document(document, engine, mode, lang, license_path, on_page, read=read)


@st.cache_resource(show_spinner=False, max_entries=OCR_PAGES_KEPT)
def _read_page(
    _runner,
    _page,
    _document,
    engine: str,
    license_path: str | None,
    content_digest: str,
    index: int,
    mode: str,
    lang: str,
):
    """One page's `OcrPage`, keyed by the engine that ran, the file's content, the page and the settings."""
    from ocr_pipeline.ocr import read_page

    return read_page(_runner, _page, mode, lang, _document)


def turn(backend, who: str, on_wait=None):
    """The gate's turn for an in-process model; a server takes requests at once and batches them itself."""
    if backend.concurrency > 1:
        return contextlib.nullcontext()
    return generation_gate().turn(who, on_wait)


@st.cache_resource(show_spinner=False)
def generation_gate():
    """One generation at a time on the in-process model, for all sessions, in arrival order."""
    from ocr_pipeline.gate import GenerationGate

    return GenerationGate()


@st.cache_resource(show_spinner="Reading the file…", max_entries=8)
def decoded_document(content_digest: str, name: str, _data: bytes) -> Document:
    """Page images for a file, decoded once per content (PDFs render at 300 dpi: worth keeping)."""
    from ocr_pipeline.documents import load_document

    return load_document(_data, name)
