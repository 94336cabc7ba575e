"""The dashboard's router: page config, navigation, and nothing heavy at start-up."""

import streamlit as st

st.set_page_config(page_title="OCR Correction Studio", page_icon="📄", layout="wide")

navigation = st.navigation([st.Page("pages/correct.py", title="Correct", icon="✏️", default=True)])
navigation.run()
