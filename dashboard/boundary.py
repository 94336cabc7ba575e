"""The page boundary: every failure becomes a plain message with a next step, never a traceback."""

from __future__ import annotations

import contextlib
import logging

import streamlit as st

from ocr_pipeline.errors import PipelineError

log = logging.getLogger("dashboard")


def explain(error: BaseException) -> str:
    """A message a user can act on, for errors the library did not already word for them."""
    if isinstance(error, PipelineError):
        return str(error)
    text = str(error) or type(error).__name__
    if isinstance(error, MemoryError) or "out of memory" in text.lower():
        return (
            f"Out of memory ({text}). Release the model in the sidebar, then load it with fewer GPU "
            "layers or 4-bit quantization on the Models page, or try a smaller file."
        )
    return f"Something went wrong: {text}. Try again; if it happens again, reload the page or try another file."


@contextlib.contextmanager
def guarded(what: str = ""):
    """Show any exception inside the block as an error box where it happened, and carry on."""
    try:
        yield
    except Exception as error:  # the boundary: Streamlit's own control flow is BaseException
        if not isinstance(error, PipelineError):
            log.exception("unexpected error %s", what)
        st.error(explain(error), icon=":material/error:")
