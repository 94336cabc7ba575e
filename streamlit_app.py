"""The dashboard's router: page config, the shared sidebar, navigation. Nothing heavy at start-up."""

import streamlit as st

from dashboard import resources, sidebar
from dashboard.boundary import guarded
from dashboard.run_control import wait_for_stopping_run

st.set_page_config(page_title="OCR Correction Studio", page_icon="🧾", layout="wide")
wait_for_stopping_run()  # a click that stopped a correction: show what it did, sidebar included
resources.warm_up()

navigation = st.navigation(
    [
        st.Page("pages/correct.py", title="Correct", icon=":material/edit_document:", default=True),
        st.Page("pages/compare.py", title="Compare prompts", icon=":material/compare:"),
        st.Page("pages/batch.py", title="Batch", icon=":material/folder_copy:"),
        st.Page("pages/evaluate.py", title="Evaluate", icon=":material/monitoring:"),
        st.Page("pages/models.py", title="Models & resources", icon=":material/memory:"),
        st.Page("pages/demo.py", title="Demo", icon=":material/slideshow:"),
    ]
)
with st.sidebar, guarded("in the sidebar"):
    sidebar.draw()
with guarded(f"on page {navigation.title}"):
    navigation.run()
