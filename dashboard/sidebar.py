"""The sidebar every page shares: OCR engine and mode, the model in use and its state, Release."""

from __future__ import annotations

import os

import streamlit as st

from ocr_pipeline.errors import PipelineError
from ocr_pipeline.filenames import safe_name
from ocr_pipeline.licenses import save_license
from ocr_pipeline.ocr import ENGINE_NAMES, engine_help
from ocr_pipeline.ocr.base import MODES

from . import keys, model_state, resources, widgets
from .boundary import guarded, log

STATUS_REFRESH_SECONDS = 3


def engine() -> str:
    return st.session_state.get(keys.ENGINE, "auto")


def mode() -> str:
    return st.session_state.get(keys.MODE, "printed")


def license_path() -> str | None:
    """An uploaded Aspose license (stored by content in the user data folder), else `ASPOSE_LICENSE`."""
    return st.session_state.get(keys.ASPOSE_LICENSE) or os.environ.get("ASPOSE_LICENSE") or None


def _store_uploaded_license() -> None:
    """Runs once per new upload (not on every rerun); the client's file name never becomes a path."""
    upload = st.session_state.get(keys.LICENSE_UPLOAD)
    st.session_state.pop(keys.ASPOSE_LICENSE, None)
    st.session_state.pop(keys.LICENSE_ERROR, None)
    if upload is None:
        return
    try:
        st.session_state[keys.ASPOSE_LICENSE] = str(save_license(upload.getvalue(), safe_name(upload.name)))
    except PipelineError as error:
        st.session_state[keys.LICENSE_ERROR] = str(error)  # shown while that file stays in the uploader


def _license_uploader() -> None:
    with st.expander("Aspose.OCR license"):
        st.file_uploader(
            "License file",
            type=["lic", "xml"],
            key=keys.LICENSE_UPLOAD,
            on_change=_store_uploaded_license,
            help="Without a license Aspose returns only the start of each page (trial mode). An uploaded "
            "license is kept in the app's data folder under a name made from its content.",
        )
        if st.session_state.get(keys.LICENSE_ERROR):
            st.error(st.session_state[keys.LICENSE_ERROR], icon=":material/key_off:")
        if license_path():
            st.caption(f"Using {license_path()}")
        else:
            st.caption("No license: Aspose returns only the first ~300 characters of each page (trial mode).")


def _engine_status() -> dict[str, tuple[bool, str]]:
    """Engine availability; a broken engine install must not take the sidebar down with it."""
    try:
        return resources.engine_status()
    except Exception as error:
        log.exception("engine status failed")
        return {name: (False, f"its status cannot be checked ({error})") for name in ENGINE_NAMES}


def _engine_label(name: str) -> str:
    if name == "auto":
        return "auto (best available)"
    available, _ = _engine_status().get(name, (False, ""))
    return name if available else f"{name} (unavailable)"


def draw() -> None:
    with st.sidebar:
        st.markdown("### OCR")
        st.selectbox("Engine", ENGINE_NAMES, key=keys.ENGINE, format_func=_engine_label, help=engine_help())
        available, reason = _engine_status().get(engine(), (True, ""))
        if not available:
            st.caption(f":material/warning: {reason}")
        if engine() in ("auto", "aspose"):
            _license_uploader()
        st.selectbox(
            "Mode", MODES, key=keys.MODE, help="handwritten needs an engine with a handwriting model (Aspose)."
        )
        st.markdown("### Model")
        live_status()


@st.fragment(run_every=STATUS_REFRESH_SECONDS)
def live_status() -> None:
    """The model's state, the queue and memory, redrawn on their own every few seconds: a model that
    another page (or person) loads or releases shows here without a rerun of the page."""
    with guarded("in the sidebar's model panel"):
        model_state.sidebar_panel()
    widgets.memory_caption()
