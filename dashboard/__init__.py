"""Streamlit-only helpers the pages share: cached resources, the sidebar, session state, widgets.

Nothing here is needed by the library; `ocr_pipeline` never imports this package.
"""
