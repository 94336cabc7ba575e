"""Demo: the project's own sample documents, each run end to end with one click on the offline demo model."""

import streamlit as st

from dashboard import correction_view, document_view, keys, model_state, resources, session
from dashboard.run_control import RunControl
from ocr_pipeline import samples
from ocr_pipeline.metrics import cer
from ocr_pipeline.prompts import AUTO_PROMPT, choose_prompt

SLOT = "demo"


@st.cache_resource(show_spinner="Drawing the sample documents…")
def sample_files() -> dict[str, tuple[samples.DemoSample, session.UserFile]]:
    return {
        sample.title: (sample, session.UserFile.of(sample.file_name, sample.data))
        for sample in samples.demo_documents()
    }


st.title("Demo")
st.caption(
    "Four documents this project draws itself: scanned, read by OCR, repaired by the offline demo model "
    "under the guard that never lets it change a number, an amount or a date."
)

files = sample_files()
title = st.segmented_control(
    "Sample", list(files), key=keys.DEMO_SAMPLE, default=next(iter(files)), persist_state="session"
) or next(iter(files))
sample, user_file = files[title]
document = document_view.decode(user_file)
slot = f"{SLOT}.{list(files).index(title)}"
if st.button(f"Run “{title}” end to end", type="primary", key="demo:run", icon=":material/play_arrow:"):
    progress = st.progress(0.0, text="OCR…")
    ocr_result = resources.run_ocr(
        document,
        user_file.digest,
        "auto",
        sample.mode,
        on_page=lambda done, total: progress.progress(done / total / 2, text=f"OCR page {done} of {total}"),
    )
    progress.empty()
    with RunControl() as control:
        correction_view.run(
            ocr_result.text,
            choose_prompt(AUTO_PROMPT, ocr_result.text, sample.mode)[0],
            model_state.demo_choice(),
            "Demo",
            "strict",
            control,
            lambda result: control.save({slot: (ocr_result, result)}),
        )

scan, ocr_column, corrected_column = st.columns([4, 3, 3], gap="medium")
with scan:
    st.markdown("**The scan**")
    st.image([page.image for page in document.pages], width="stretch")
run = st.session_state.get(slot)
if run is None:
    with ocr_column:
        st.info(
            "Press **Run** to read and correct this document (the first run loads the model).", icon=":material/info:"
        )
    st.stop()

ocr_result, result = run
truth = sample.ground_truth
with ocr_column:
    st.markdown(f"**OCR text** · {ocr_result.engine}")
    st.code(ocr_result.text, language=None, wrap_lines=True)
    if truth:
        st.metric("Character error rate", f"{cer(ocr_result.text, truth):.1%}")
with corrected_column:
    st.markdown(f"**Corrected** · {result.model}, {result.prompt} prompt")
    st.code(result.corrected, language=None, wrap_lines=True)
    if truth:
        correction_view.error_rate("Character error rate", cer(ocr_result.text, truth), cer(result.corrected, truth))

st.subheader("What changed")
correction_view.diff_tabs(ocr_result.text, result.corrected, key=f"{slot}.diff")  # proposals: under refusals
st.subheader("What the guard refused")
correction_view.refusals(result)
