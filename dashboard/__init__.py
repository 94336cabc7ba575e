"""Streamlit-only helpers the pages share: cached resources, the sidebar, session state, widgets.

Nothing here is needed by the library; `ocr_pipeline` never imports this package.

Every page imports this package, so it also mends one Streamlit behaviour: a server whose app
folder has a `pages/` directory starts in the old pages-folder mode and stays there until
`st.navigation` has run once. Until then a deep link (`/demo` as the first request after a
restart) runs the page alone, without the router: no sidebar, no Release button, file names as
menu. Leaving that mode and rerunning sends the same request through `streamlit_app.py`.

There is no supported switch for it (checked on Streamlit 1.67.0): the mode follows from a `pages/`
folder beside the main script, and that folder is part of this project's required layout. This is
the one place that touches `PagesManager`; tests/test_browser.py opens `/demo` first on a fresh
server to catch a Streamlit upgrade that changes it.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False  # what st.navigation itself sets
    st.rerun()
