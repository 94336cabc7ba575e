"""Upload, page preview and OCR with progress: the first half of the Correct and Compare pages."""

from __future__ import annotations

import streamlit as st

from ocr_pipeline import notices
from ocr_pipeline.documents import SUPPORTED_FORMATS, Document

from . import resources, session, sidebar
from .boundary import explain
from .session import UserFile

NOTICE_ICONS = {
    notices.TRUNCATED: ":material/content_cut:",
    notices.BLANK: ":material/hide_image:",
    notices.ENGINE: ":material/info:",
    notices.TEXT_LAYER: ":material/text_snippet:",
}


def upload(slot: str, label: str = "Drop a scan, photo or PDF here") -> UserFile | None:
    """The file in `slot`: set when the user drops or removes one, kept while they visit other pages."""
    uploader_key = f"{slot}:uploader"

    def take_upload() -> None:
        received = st.session_state.get(uploader_key)
        session.set_file(slot, UserFile.of(received.name, received.getvalue()) if received else None)

    # no `type=` filter: the browser would refuse another file type with only a red mark on its name;
    # let it through, and `decode` says what the file is and what is supported
    st.file_uploader(label, key=uploader_key, on_change=take_upload, help=f"Supported: {SUPPORTED_FORMATS}.")
    return st.session_state.get(slot)


def sample_button(slot: str) -> None:
    """Start a page with the project's own sample invoice instead of an upload."""
    from ocr_pipeline import samples

    if st.button("Use a sample invoice", key=f"{slot}:sample"):
        invoice = samples.demo_documents()[0]
        session.set_file(slot, UserFile.of(invoice.file_name, invoice.data))
        st.rerun()


def decode(user_file: UserFile) -> Document | None:
    """The file's pages, or an error box saying why it cannot be read and what to do."""
    try:
        return resources.decoded_document(user_file.digest, user_file.name, user_file.data)
    except Exception as error:  # a corrupt file must never take the page down
        st.error(explain(error) + " Try another file, or export it again as PNG or PDF.", icon=":material/block:")
        return None


def preview(document: Document, slot: str) -> None:
    """A page picker (for multi-page files) and the picked page."""
    count = len(document.pages)
    index = 0
    if count > 1:
        index = (
            st.select_slider(
                "Page", options=list(range(count)), format_func=lambda i: f"{i + 1} of {count}", key=f"{slot}.page"
            )
            or 0
        )
    page = document.pages[index]
    st.image(
        page.image,
        caption=f"{document.name} — page {index + 1} of {count}, {page.image.width}×{page.image.height}px",
        width="stretch",
    )


def ocr(user_file: UserFile, document: Document, slot: str) -> str | None:
    """Run OCR (button, progress per page) and show the text, editable; returns the current text."""
    text_key = f"{slot}.text"
    result_key = f"{slot}.ocr"
    settings = (sidebar.engine(), sidebar.mode())
    pressed = st.button("Run OCR", type="primary", key=f"{slot}:run_ocr", icon=":material/document_scanner:")
    if pressed:
        progress = st.progress(0.0, text=f"Reading {len(document.pages)} page(s)…")
        try:
            result = resources.run_ocr(
                document,
                user_file.digest,
                *settings,
                license_path=sidebar.license_path(),
                on_page=lambda done, total: progress.progress(done / total, text=f"Page {done} of {total} read"),
            )
        except Exception as error:
            progress.empty()
            st.error(explain(error), icon=":material/block:")
            return st.session_state.get(text_key)
        progress.empty()
        st.session_state[result_key] = result
        st.session_state[text_key] = result.text
    result = st.session_state.get(result_key)
    if result is None:
        st.caption("Press **Run OCR** to read the text; you can edit it before correcting.")
        return None
    seconds = sum(page.seconds for page in result.pages)
    st.caption(
        f"**{result.engine}**, {result.mode} — {result.engine_reason} {len(result.pages)} page(s) in {seconds:.1f} s."
    )
    for warning in result.warnings:
        st.warning(warning, icon=NOTICE_ICONS.get(getattr(warning, "kind", ""), ":material/warning:"))
    st.text_area("OCR text (editable)", key=text_key, height=320, persist_state="session")
    return st.session_state.get(text_key)
