"""What all sessions share, held in `st.cache_resource`: OCR engines, OCR results, the generation gate.

Heavy imports happen inside the functions, on first use, so the first screen appears fast.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections import OrderedDict
from typing import Callable

import streamlit as st

from ocr_pipeline.documents import Document

OCR_CACHE_ENTRIES = 64


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@st.cache_resource(show_spinner=False)
def engine_status() -> dict[str, tuple[bool, str]]:
    """Which engines can run here, checked once per process (the checks import packages)."""
    from ocr_pipeline.ocr import engine_status as check

    return check()


@st.cache_resource(show_spinner="Starting the OCR engine…")
def ocr_engine(name: str, license_path: str | None):
    """The engine `name` resolves to, created once and shared; returns (engine, why it was chosen)."""
    from ocr_pipeline.ocr import resolve_engine

    return resolve_engine(name, license_path)


class OcrCache:
    """OCR results by (file content, engine, mode, language): a rerun never reads the same file twice."""

    def __init__(self, entries: int = OCR_CACHE_ENTRIES):
        self._results: OrderedDict[tuple, object] = OrderedDict()
        self._entries = entries
        self._lock = threading.Lock()

    def get(self, key: tuple):
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
            return self._results.get(key)

    def put(self, key: tuple, result) -> None:
        with self._lock:
            self._results[key] = result
            while len(self._results) > self._entries:
                self._results.popitem(last=False)


@st.cache_resource(show_spinner=False)
def ocr_cache() -> OcrCache:
    return OcrCache()


def run_ocr(
    document: Document,
    content_digest: str,
    engine: str,
    mode: str,
    lang: str = "en",
    license_path: str | None = None,
    on_page: Callable[[int, int], None] | None = None,
):
    """OCR `document` once per content and settings; later calls return the cached `OcrResult`."""
    from ocr_pipeline.ocr import ocr_document

    key = (content_digest, engine, mode, lang, license_path)
    cached = ocr_cache().get(key)
    if cached is not None:
        return cached
    ocr_engine(engine, license_path)  # warm, shared instance; ocr_document reuses it
    result = ocr_document(document, engine, mode, lang, license_path, on_page)
    ocr_cache().put(key, result)
    return result


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
