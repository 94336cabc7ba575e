"""Upload a document and read its OCR text page by page."""

import streamlit as st

from ocr_pipeline.documents import SUPPORTED_SUFFIXES, load_document
from ocr_pipeline.errors import PipelineError
from ocr_pipeline.ocr import ENGINE_NAMES, ocr_document

st.title("Correct a document")
upload = st.file_uploader("Document", type=[suffix[1:] for suffix in SUPPORTED_SUFFIXES])
engine = st.selectbox("OCR engine", ENGINE_NAMES)

if upload is not None and st.button("Run OCR", type="primary"):
    try:
        document = load_document(upload.getvalue(), upload.name)
        progress = st.progress(0.0, text="Reading pages…")
        result = ocr_document(document, engine, on_page=lambda done, total: progress.progress(done / total))
    except PipelineError as error:
        st.error(str(error))
    else:
        st.caption(result.engine_reason)
        for warning in result.warnings:
            st.warning(warning)
        for page in result.pages:
            st.subheader(f"Page {page.index + 1}")
            st.text_area("Text", page.text, key=f"page-{page.index}", height=240)
