"""Correct: upload a document, read it with OCR, repair the text with the model, review every change."""

import streamlit as st

from dashboard import correction_view, document_view

SLOT = "correct"

st.title("Correct a document")
st.caption(
    "1 · Upload a scan  →  2 · Run OCR  →  3 · Pick a prompt and press Correct  →  4 · Review the diff and download."
)

user_file = document_view.upload(SLOT)
if user_file is None:
    st.info(
        "Drop an invoice, receipt, letter or note above (PNG, JPEG, TIFF, PDF), or start with a sample.",
        icon=":material/waving_hand:",
    )
    document_view.sample_button(SLOT)
    st.stop()

document = document_view.decode(user_file)
if document is None:
    st.stop()

scan, text_column = st.columns([2, 3], gap="large")
with scan:
    st.subheader("Scan")
    document_view.preview(document, SLOT)
with text_column:
    st.subheader("OCR text")
    ocr_text = document_view.ocr(user_file, document, SLOT)

if ocr_text:
    st.divider()
    ocr_result = st.session_state[f"{SLOT}.ocr"]
    context = {
        "file": user_file.name,
        "engine": ocr_result.engine,
        "engine_reason": ocr_result.engine_reason,
        "ocr_seconds": round(sum(page.seconds for page in ocr_result.pages), 3),
    }
    correction_view.correct_section(SLOT, ocr_text, user_file.name, context, mode=ocr_result.mode)
