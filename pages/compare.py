"""Compare prompts: one document, two to four prompts (and optionally two models) side by side; keep the best."""

import pandas as pd
import streamlit as st

from dashboard import correction_view, document_view, model_state, prompt_view
from dashboard.run_control import RunControl
from ocr_pipeline.compare import Contender, comparison_json, comparison_markdown, figures
from ocr_pipeline.prompts import PRESETS, suggest_prompt

SLOT = "compare"
LETTERS = "ABCD"

st.title("Compare prompts")
st.caption(
    "Run the same OCR text through several prompts, see each diff and its figures, mark a winner, keep the best prompt."
)

user_file = document_view.upload(SLOT)
if user_file is None:
    st.info("Drop the document to compare the prompts on, or start with a sample.", icon=":material/upload_file:")
    document_view.sample_button(SLOT)
    st.stop()
document = document_view.decode(user_file)
if document is None:
    st.stop()
with st.expander(f"{user_file.name} — scan and OCR text", expanded=f"{SLOT}.ocr" not in st.session_state):
    scan, text = st.columns([2, 3])
    with scan:
        document_view.preview(document, SLOT)
    with text:
        ocr_text = document_view.ocr(user_file, document, SLOT)
if not ocr_text:
    st.stop()

with st.container(horizontal=True, vertical_alignment="bottom"):
    count = st.number_input("Prompts", 2, 4, 2, key=f"{SLOT}.count", persist_state="session")
    two_models = st.toggle("Two models", key=f"{SLOT}.two_models", persist_state="session")
    second_model = st.text_input(
        "Second model",
        key=f"{SLOT}.second_model",
        persist_state="session",
        disabled=not two_models,
        placeholder="demo, a folder, a repo id",
    )
ground_truth = st.text_area(
    "Ground truth (optional): gives CER/WER per run", key=f"{SLOT}.truth", persist_state="session", height=80
)

suggested, why = suggest_prompt(ocr_text, st.session_state[f"{SLOT}.ocr"].mode)
st.caption(f"This document suits the **{suggested}** prompt ({why}).")  # A's first choice; the rest follow
defaults = [suggested, *(name for name in PRESETS if name != suggested)]
columns = st.columns(int(count), gap="medium")
setups = []
for position, column in enumerate(columns):
    with column:
        st.markdown(f"### {LETTERS[position]}")
        prompt = prompt_view.picker(f"{SLOT}.{position}", default=defaults[position])
        model = second_model if two_models and second_model and position % 2 else None
        choice = model_state.current_choice(model)
        st.caption(f"Model: {choice.label}")
        setups.append((f"{LETTERS[position]}: {prompt.name} on {choice.label}", prompt, choice))

if st.button(f"Run all {len(setups)}", type="primary", key=f"{SLOT}:run", icon=":material/play_arrow:"):
    st.session_state[f"{SLOT}.prompts"] = {label: prompt for label, prompt, _ in setups}
    st.session_state[f"{SLOT}.runs"] = runs = {}
    with RunControl() as control:
        for label, prompt, choice in setups:
            if control.interrupted:
                break  # Stop (or any click) ends the comparison; the runs done so far are kept

            def keep(result, label=label, prompt=prompt) -> None:
                runs[label] = Contender(label, prompt.instruction, result)
                control.save({f"{SLOT}.runs": dict(runs)})

            correction_view.run(ocr_text, prompt, choice, f"Compare {label[0]}", "strict", control, keep)

runs: dict = st.session_state.get(f"{SLOT}.runs", {})
if not runs:
    st.stop()
st.dataframe(
    pd.DataFrame([figures(contender, ground_truth) for contender in runs.values()]), hide_index=True, width="stretch"
)
for column, contender in zip(st.columns(len(runs), gap="medium"), runs.values()):
    with column:
        st.markdown(f"**{contender.label}**")
        correction_view.diff_tabs(
            contender.result.raw, contender.result.corrected, key=f"{SLOT}.diff.{contender.label[0]}"
        )
        prompt_view.save_form(st.session_state[f"{SLOT}.prompts"][contender.label], f"{SLOT}.save.{contender.label[0]}")

winner = st.radio("Winner", ["none yet", *runs], key=f"{SLOT}.winner", horizontal=True, persist_state="session")
winner = None if winner == "none yet" else winner
contenders = list(runs.values())
exports = (
    ("md", comparison_markdown, "text/markdown", ":material/description:"),
    ("json", comparison_json, "application/json", ":material/data_object:"),
)
with st.container(horizontal=True):
    for suffix, export, mime, icon in exports:
        data = export(user_file.name, contenders, winner, ground_truth)
        st.download_button(
            f"Comparison (.{suffix})", data, f"comparison.{suffix}", mime, key=f"{SLOT}:{suffix}", icon=icon
        )
