"""Demo: the project's own sample documents, each run end to end with one click on the offline demo model."""

import streamlit as st

from dashboard import correction_view, document_view, model_state, prompt_view, resources, session
from dashboard.run_control import RunControl
from ocr_pipeline import samples
from ocr_pipeline.llm.models import DEMO
from ocr_pipeline.metrics import cer

SLOT = "demo"
GROUND_TRUTH = {  # what each sample really says: the demo shows how far OCR and correction are from it
    "Noisy invoice": samples.INVOICE_LINES,
    "Receipt": samples.RECEIPT_LINES,
    "Handwritten-style note": samples.NOTE_LINES,
    "Two-page letter (PDF)": [*samples.LETTER_PAGES[0], "", *samples.LETTER_PAGES[1]],
}


@st.cache_resource(show_spinner="Drawing the sample documents…")
def sample_files() -> dict[str, session.UserFile]:
    return {title: session.UserFile.of(name, data) for title, (name, data) in samples.demo_documents().items()}


st.title("Demo")
st.caption("Four documents this project draws itself: scanned, read by OCR, repaired by the offline demo model "
           "under the guard that never lets it change a number, an amount or a date.")

files = sample_files()
title = st.segmented_control("Sample", list(files), key="demo.sample", default=next(iter(files)),
                             persist_state="session") or next(iter(files))
user_file = files[title]
document = document_view.decode(user_file)
slot = f"{SLOT}.{list(files).index(title)}"
if st.button(f"Run “{title}” end to end", type="primary", key="demo:run", icon=":material/play_arrow:"):
    progress = st.progress(0.0, text="OCR…")
    ocr_result = resources.run_ocr(document, user_file.digest, "auto", "handwritten" if "note" in title.lower() else "printed",
                                   on_page=lambda done, total: progress.progress(done / total / 2, text=f"OCR page {done} of {total}"))
    progress.empty()
    prompt_name = "handwritten" if "note" in title.lower() else "financial" if "PDF" not in title else "general"
    with RunControl() as control:
        result = correction_view.run(ocr_result.text, prompt_view.library()[prompt_name],
                                     model_state.current_choice(DEMO), "Demo", "strict", control,
                                     lambda result: control.save({slot: (ocr_result, result)}))
    if result is not None:
        st.rerun()  # the sidebar was drawn before the model loaded: show its new state

scan, ocr_column, corrected_column = st.columns([4, 3, 3], gap="medium")
with scan:
    st.markdown("**The scan**")
    st.image([page.image for page in document.pages], width="stretch")
run = st.session_state.get(slot)
if run is None:
    with ocr_column:
        st.info("Press **Run** to read and correct this document (the first run loads the model).", icon=":material/info:")
    st.stop()

ocr_result, result = run
truth = "\n".join(GROUND_TRUTH.get(title, []))
with ocr_column:
    st.markdown(f"**OCR text** · {ocr_result.engine}")
    st.code(ocr_result.text, language=None, wrap_lines=True)
    if truth:
        st.metric("Character error rate", f"{cer(ocr_result.text, truth):.1%}")
with corrected_column:
    st.markdown(f"**Corrected** · {result.model}")
    st.code(result.corrected, language=None, wrap_lines=True)
    if truth:
        before, after = cer(ocr_result.text, truth), cer(result.corrected, truth)
        st.metric("Character error rate", f"{after:.1%}", delta=f"{(after - before) * 100:+.1f} points", delta_color="inverse")

st.subheader("What changed")
correction_view.diff_tabs(ocr_result.text, result.corrected, key=f"{slot}.diff")
st.subheader("What the guard refused")
correction_view.refusals(result)
