"""Evaluate: the `bench` measurements on a folder of scans with transcripts or on uploaded pairs."""

import json

import pandas as pd
import streamlit as st
from dashboard import keys, model_state, prompt_view, resources, sidebar
from ocr_pipeline import bench
from ocr_pipeline.errors import PipelineError
from ocr_pipeline.guard import POLICIES
from ocr_pipeline.ocr import ENGINE_NAMES
from ocr_pipeline.textinput import decode_text

SCANS, PAIRS = "Scans with transcripts (folder)", "OCR / ground-truth pairs (.jsonl)"
REPLAY = "Recorded model outputs (.jsonl)"

st.title("Evaluate")
st.caption(
    "Measure OCR and correction against ground truth, the same way `python -m ocr_pipeline bench` does: "
    "CER and WER before and after, documents made worse, key fields kept, speed; or replay corrections "
    "models have already written through the guard, with no model to run."
)

source = st.segmented_control(
    "Data", [SCANS, PAIRS, REPLAY], default=SCANS, key="evaluate.source", persist_state="session", required=True
)
if source == REPLAY:  # no model runs: all rows take seconds
    limit = st.number_input(
        "At most this many rows (0: all)", min_value=0, value=0, step=1, key="evaluate.rows", persist_state="session"
    )
else:
    limit = st.number_input(
        "At most this many documents (0: all)",
        min_value=0,
        value=10,
        step=1,
        key="evaluate.limit",
        persist_state="session",
        help="Correction on a CPU takes seconds to minutes per document: start small.",
    )
if source == SCANS:
    folder = st.text_input(
        "Folder",
        key="evaluate.folder",
        persist_state="session",
        placeholder="/path/to/scans",
        help="Images or PDFs, each with NAME.gt.txt beside it (and optionally NAME.key.json "
        "with fields such as total and date).",
    )
    also_correct = st.toggle(
        "Correct with the model (OCR, then correction)",
        key="evaluate.correct",
        persist_state="session",
        help=f"Uses {model_state.current_choice().label}; without it, the OCR engines are compared.",
    )
    if also_correct:
        engines = [
            st.selectbox(
                "OCR engine",
                ENGINE_NAMES,
                index=ENGINE_NAMES.index(sidebar.engine()),
                key="evaluate.engine",
                persist_state="session",
            )
        ]
    else:
        engines = st.multiselect(
            "OCR engines",
            [*ENGINE_NAMES, bench.PLAIN_RAPIDOCR],
            default=[sidebar.engine()],
            key="evaluate.engines",
            persist_state="session",
            help=f"{bench.PLAIN_RAPIDOCR}: RapidOCR as it comes, the baseline for speed.",
        )
    ready = bool(folder.strip()) and bool(engines)
elif source == PAIRS:
    upload = st.file_uploader(
        "Pairs (.jsonl)",  # any file: a wrong one is told why, not refused with a red mark
        key="evaluate:pairs",
        help='One {"ocr": ..., "gt": ...} per line, or the HIPE-OCRepair schema (Overproof).',
    )
    also_correct, ready = True, upload is not None
else:
    upload = st.file_uploader(
        "Model outputs (.jsonl)",
        key="evaluate:replay",
        help='One {"id", "ocr", "gt", "outputs": {model: correction}} per line (the schema of '
        "BLN600 model outputs); the ground truth is replayed too, as a perfect model.",
    )
    also_correct, ready = False, upload is not None
prompt = prompt_view.picker("evaluate") if also_correct else None
guard = "strict"
if also_correct or source == REPLAY:
    guard = st.selectbox(
        "Guard",
        [name for name in POLICIES if name != "off"],
        key="evaluate.guard",
        persist_state="session",
        help="The unguarded answer is always measured too.",
    )

if st.button("Run", type="primary", key="evaluate:run", icon=":material/play_arrow:", disabled=not ready):
    bar = st.progress(0.0, text="Starting…")

    def show_progress(done: int, total: int, what: str) -> None:
        bar.progress(done / max(total, 1), text=f"{done} of {total}: {what}")

    try:
        with st.spinner("Measuring…"):
            if source == REPLAY:
                rows = bench.parse_replay(decode_text(upload.getvalue(), upload.name), upload.name)[: limit or None]
                report = bench.benchmark_replay(rows, guard, upload.name, show_progress)
            elif source == PAIRS:
                pairs = bench.parse_pairs(decode_text(upload.getvalue(), upload.name), upload.name)
                pairs = pairs[: limit or None]
                backend = model_state.backend(model_state.current_choice())
                with resources.turn(backend, "Evaluate"):
                    report = bench.benchmark_correction(pairs, backend, prompt, guard, upload.name, show_progress)
            elif also_correct:
                bench.load_scan_set(folder, limit or None)  # a wrong folder is reported before the model loads
                backend = model_state.backend(model_state.current_choice())
                with resources.turn(backend, "Evaluate"):
                    report = bench.benchmark_pipeline(
                        folder, backend, engines[0], prompt, guard, limit or None, show_progress, sidebar.license_path()
                    )
            else:
                report = bench.benchmark_ocr(folder, engines, limit or None, show_progress, sidebar.license_path())
        st.session_state[keys.EVALUATE_REPORT] = report
    except PipelineError as error:
        st.error(str(error), icon=":material/error:")
    bar.empty()

report = st.session_state.get(keys.EVALUATE_REPORT)
if report is None:
    st.info("Choose the data above and press Run.", icon=":material/monitoring:")
    st.stop()

st.subheader("Results")
st.code(report.render(), language=None)
rows = pd.DataFrame(report.document_rows())
cuts = {column: st.column_config.NumberColumn(format="percent") for column in rows if column.startswith("cut")}
st.dataframe(rows, hide_index=True, width="stretch", column_config=cuts)
cer_columns = [column for column in ("CER OCR", "CER unguarded", "CER guarded") if column in rows]
if report.kind == "replay":
    st.markdown("**Corpus CER per model, unguarded and guarded** (lower is better; the OCR text's beside them)")
    st.bar_chart(rows.set_index("model")[cer_columns], stack=False, x_label="model", y_label="CER")
elif cer_columns:
    st.markdown("**CER per document, before and after correction** (lower is better)")
    st.bar_chart(rows.set_index("document")[cer_columns], stack=False, x_label="document", y_label="CER")
elif "CER" in rows:
    st.markdown("**CER per document and engine** (lower is better)")
    st.bar_chart(
        rows.pivot_table(index="document", columns="engine", values="CER"),
        stack=False,
        x_label="document",
        y_label="CER",
    )
with st.container(horizontal=True):
    st.download_button(
        "Download JSON",
        json.dumps(report.to_json(), indent=2, ensure_ascii=False),
        f"evaluate-{report.kind}.json",
        "application/json",
        icon=":material/download:",
        key="evaluate:json",
    )
    st.download_button(
        "Download CSV",
        rows.to_csv(index=False),
        f"evaluate-{report.kind}.csv",
        "text/csv",
        icon=":material/download:",
        key="evaluate:csv",
    )
