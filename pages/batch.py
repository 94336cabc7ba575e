"""Batch: OCR (and optionally correct) many files or a .zip; every file becomes a row, errors included."""

import pandas as pd
import streamlit as st

from dashboard import correction_view, keys, model_state, prompt_view, resources, sidebar
from dashboard.run_control import RunControl
from ocr_pipeline.batch import batch_zip, expand_inputs, run_batch
from ocr_pipeline.documents import SUPPORTED_FORMATS

st.title("Batch")
st.caption(
    "Drop many documents, or one .zip of them. A file that cannot be read becomes a row with its error; the rest go on."
)

uploads = st.file_uploader(  # every type: a file that is none of ours is a row with its error
    "Documents or a .zip",
    accept_multiple_files=True,
    key="batch:uploader",
    help=f"Supported: {SUPPORTED_FORMATS}, .zip.",
)
with st.container(horizontal=True):
    also_correct = st.toggle(
        "Correct with the model",
        key="batch.correct",
        persist_state="session",
        help=f"Uses {model_state.current_choice().label} and the prompt below.",
    )
    release_each = st.toggle(
        "Release the model after each file",
        key="batch.release",
        persist_state="session",
        disabled=not also_correct,
        help="Slower, but keeps memory low between files.",
    )
suited = also_correct and st.toggle(
    "The prompt that suits each file",
    value=True,
    key="batch.suited_prompt",
    persist_state="session",
    help="Amounts: financial; doses: medical; columns: table; handwriting: handwritten; else general. "
    "The table says which each file got. Off: one prompt for every file.",
)
prompt = prompt_view.picker("batch") if also_correct and not suited else None

if not uploads:  # the uploader forgets its files on another page; the session keeps the last batch's rows
    last_batch = keys.BATCH_ROWS in st.session_state
    st.info(
        "The table below is the last batch's; drop files above for another."
        if last_batch
        else "Nothing to process yet: drop files above.",
        icon=":material/upload_file:",
    )
elif st.button(f"Process {len(uploads)} upload(s)", type="primary", key="batch:run", icon=":material/play_arrow:"):
    inputs = expand_inputs((upload.name, upload.getvalue()) for upload in uploads)
    stop = st.empty()  # gone once the batch is done: a Stop beside a finished table stops nothing
    stop.button(
        "Stop",
        key="batch:stop",
        icon=":material/stop_circle:",
        help="Stops after the file that is being read, or the chunk that is being corrected: the files done keep "
        "their rows, and the rest are listed as not processed.",
    )
    files_bar = st.progress(0.0, text=f"{len(inputs)} file(s)")
    pages_bar = st.progress(0.0, text="")

    def show_progress(position, count, name, done, total):
        files_bar.progress((position + done / max(total, 1)) / count, text=f"File {position + 1} of {count}: {name}")
        pages_bar.progress(done / max(total, 1), text=f"Page {done} of {total}" if total > 1 or done else "")

    def ocr(document, data, on_page):
        return resources.run_ocr(
            document,
            resources.digest(data),
            sidebar.engine(),
            sidebar.mode(),
            license_path=sidebar.license_path(),
            on_page=on_page,
        )

    with RunControl() as control:  # a click (Stop, or any other) ends the batch after the file or chunk running
        correct, concurrency = None, 1
        if also_correct:
            with st.spinner(f"Preparing {model_state.current_choice().label}…"):
                correct, concurrency = correction_view.corrector(
                    prompt,  # None: the one that suits each file
                    model_state.current_choice(),
                    "Batch",
                    control.quiet(
                        lambda done, total: pages_bar.progress(
                            done / max(total, 1), text=f"Correcting: chunk {done} of {total}"
                        )
                    ),
                    should_stop=control.should_stop,
                    mode=sidebar.mode(),
                )

        def release_after_file() -> None:
            model_state.release("released (Batch: after each file)")

        after_file = release_after_file if also_correct and release_each else None

        def show_corrections(done: int, sent: int) -> None:
            pages_bar.progress(done / max(sent, 1), text=f"Correcting on the server: {done} of {sent} file(s) done")

        rows = run_batch(
            inputs,
            ocr,
            correct,
            control.quiet(show_progress),
            after_file,
            concurrency,
            should_stop=control.should_stop,
            on_correcting=control.quiet(show_corrections),
        )
        control.save({keys.BATCH_ROWS: list(rows)})
        if not control.interrupted:
            stop.empty()

rows = st.session_state.get(keys.BATCH_ROWS)
if rows:
    failed = sum(1 for row in rows if row.error)
    warned = sum(1 for row in rows if row.warnings and not row.error)
    stopped = sum(1 for row in rows if row.stopped)
    summary = (
        f"{len(rows)} file(s): {len(rows) - failed - stopped} read, {failed} failed, {warned} with warnings "
        "(see the table)." + (f" Stopped: {stopped} file(s) not processed." if stopped else "")
    )
    if failed or warned or stopped:
        st.warning(summary, icon=":material/warning:")
    else:
        st.success(summary, icon=":material/check_circle:")
    table = pd.DataFrame([row.summary() for row in rows])
    uncorrected = [column for column in ("prompt", "changes", "rejected chunks") if table[column].isna().all()]
    st.dataframe(table.drop(columns=uncorrected), hide_index=True, width="stretch")
    st.download_button(
        "Download everything (.zip)",
        batch_zip(rows),
        "batch-results.zip",
        "application/zip",
        icon=":material/download:",
        key="batch:download",
    )
