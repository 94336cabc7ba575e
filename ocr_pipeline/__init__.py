"""OCR documents, then repair the OCR errors with a local language model under a guard.

The package never imports Streamlit; heavy libraries (torch, transformers, OCR engines)
load inside the functions that need them, so importing `ocr_pipeline` is fast.
"""

__version__ = "0.1.0"
