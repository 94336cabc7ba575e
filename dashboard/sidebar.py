"""The sidebar every page shares: OCR engine and mode, the model in use and its state, Release."""

from __future__ import annotations

import os

import streamlit as st

from ocr_pipeline.config import data_dir
from ocr_pipeline.ocr import ENGINE_NAMES, engine_help
from ocr_pipeline.ocr.base import MODES

from . import model_state, resources, widgets
from .boundary import guarded, log

ENGINE_KEY = "settings.engine"
MODE_KEY = "settings.mode"


def engine() -> str:
    return st.session_state.get(ENGINE_KEY, "auto")


def mode() -> str:
    return st.session_state.get(MODE_KEY, "printed")


LICENSE_KEY = "settings.aspose_license"


def license_path() -> str | None:
    """An uploaded Aspose license (kept in the user data folder), else `ASPOSE_LICENSE`."""
    return st.session_state.get(LICENSE_KEY) or os.environ.get("ASPOSE_LICENSE") or None


def _license_uploader() -> None:
    with st.expander("Aspose.OCR license"):
        upload = st.file_uploader("License file", type=["lic", "xml"], key="settings.license_upload",
                                  help="Without a license Aspose returns only the start of each page (trial mode).")
        if license_path():
            st.caption(f"Using {license_path()}")
    if upload is not None:
        path = data_dir() / "aspose" / upload.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(upload.getvalue())
        st.session_state[LICENSE_KEY] = str(path)


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
        st.selectbox("Engine", ENGINE_NAMES, key=ENGINE_KEY, format_func=_engine_label, help=engine_help())
        available, reason = _engine_status().get(engine(), (True, ""))
        if not available:
            st.caption(f":material/warning: {reason}")
        if engine() in ("auto", "aspose"):
            _license_uploader()
        st.selectbox("Mode", MODES, key=MODE_KEY, help="handwritten needs an engine with a handwriting model (Aspose).")
        st.markdown("### Model")
        with guarded("in the sidebar's model panel"):
            model_state.sidebar_panel()
        widgets.memory_caption()
