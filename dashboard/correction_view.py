"""Correct with progress per chunk and streamed tokens; the result as a diff, verdicts with toggles, downloads."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import streamlit as st

from ocr_pipeline.chunking import chunk_text
from ocr_pipeline.correction import CorrectionResult, check_length, correct_text
from ocr_pipeline.diff import inline_html, side_by_side_html
from ocr_pipeline.guard import POLICIES
from ocr_pipeline.errors import TextInputError
from ocr_pipeline.prompts import AUTO_PROMPT, choose_prompt, suggest_prompt
from ocr_pipeline.textinput import check_text, decode_text
from ocr_pipeline.throughput import describe_seconds

from . import model_state, prompt_view, resources
from .boundary import explain
from .model_state import ModelChoice
from .run_control import RunControl

STREAM_REFRESH_SECONDS = 0.15
VERDICT_ICONS = {
    "accepted": "✓ accepted",
    "partial": "◐ partial",
    "rejected": "✗ rejected",
    "error": "! error",
    "unchanged": "= unchanged",
    "skipped": "· skipped",
    "stopped": "■ not corrected (stopped)",
}


def run(
    text: str,
    prompt,
    choice: ModelChoice,
    who: str,
    guard: str,
    control: RunControl,
    on_result: Callable[[CorrectionResult], None],
) -> CorrectionResult | None:
    """Correct `text`, showing model download/load, the queue, an estimate, progress per chunk and the tokens.

    `on_result` stores the result the moment it exists. A Stop (or any click, or a closed tab) ends
    the run after the chunk that is running: the result then holds the chunks done and the OCR
    text for the rest, it is stored all the same, and the interrupt goes on from here.
    """
    speed = model_state.throughput(choice)
    with st.status(f"Correcting with {choice.label}…", expanded=True) as status:
        try:
            check_length(check_text(text), throughput=speed)  # before the model loads
            bar, loading = st.empty(), st.empty()
            try:
                with st.spinner(f"Preparing {choice.label} ({model_state.state_text(choice)})…"):
                    backend = control.shield(
                        model_state.backend(
                            choice,
                            lambda done, total: bar.progress(
                                min(done / max(total, 1), 1.0),
                                text=f"Downloading: {done / 2**20:,.0f} of {total / 2**20:,.0f} MiB",
                            ),
                            control.quiet(
                                lambda what: loading.info(f"{choice.label}: {what}…", icon=":material/autorenew:")
                            ),
                        )
                    )
            finally:  # a model that failed to load leaves no "loading…" beside its error
                bar.empty()
                loading.empty()
            st.button(
                "Stop",
                key=f"{who}:stop",
                icon=":material/stop_circle:",
                help="Stops after the chunk that is running: the chunks done keep their corrections, the rest "
                "keep their OCR text.",
            )
            tokens = [chunk.tokens for chunk in chunk_text(text, backend.count_tokens) if chunk.needs_model]
            estimate = speed.seconds_for(tokens)
            plan = (
                f"{len(tokens)} chunk(s), about {describe_seconds(estimate)} (measured on {speed.key} here)"
                if estimate is not None
                else f"{len(tokens)} chunk(s); the first one tells how long the rest take"
            )
            queue = st.empty()
            progress = st.progress(0.0, text=plan)
            stream = st.empty()
            streamed = {"chunk": -1, "text": "", "shown_at": 0.0}

            def on_token(chunk_index: int, piece: str) -> None:
                if chunk_index != streamed["chunk"]:
                    streamed.update(chunk=chunk_index, text="")
                streamed["text"] += piece
                if time.monotonic() - streamed["shown_at"] > STREAM_REFRESH_SECONDS:
                    stream.code(streamed["text"], language=None, wrap_lines=True)
                    streamed["shown_at"] = time.monotonic()

            def on_progress(done: int, total: int, chunk) -> None:
                left = speed.seconds_for(tokens[done:]) if done < total else 0
                time_left = f" — about {describe_seconds(left)} left" if left else ""
                progress.progress(done / total, text=f"Chunk {done} of {total}: {chunk.status}{time_left}")

            def on_wait(ahead: int, holder: str) -> None:
                place = "next" if ahead == 0 else f"number {ahead + 1} in line"
                queue.info(
                    f"Queued: the model is busy ({holder or 'finishing'}); you are {place}. Yours starts as soon "
                    f"as it is free. {plan}.",
                    icon=":material/hourglass_top:",
                )

            try:
                with resources.turn(backend, who, control.watch(on_wait)):
                    queue.empty()
                    result = correct_text(
                        text,
                        backend,
                        prompt,
                        guard,
                        on_progress=control.quiet(on_progress),
                        on_token=control.quiet(on_token),
                        should_stop=control.should_stop,
                        throughput=speed,
                    )
            except BaseException as signal:
                if signal is not control.interrupt:
                    raise
                # Stopped (or the tab closed) while queued: the document keeps its OCR text, chunk by chunk, with why.
                result = correct_text(text, backend, prompt, guard, should_stop=lambda: True)
            on_result(result)  # before any st.* call: after an interrupt, each one raises it again
            speed.save()
            if not control.interrupted:
                stream.empty()
        except Exception as error:
            status.update(label="Correction failed", state="error", expanded=True)
            st.error(explain(error), icon=":material/error:")
            return None
        if result.stopped:
            done = sum(not chunk.stopped for chunk in result.chunks)
            status.update(
                label=f"Stopped after {done} of {len(result.chunks)} chunks — the rest keep their OCR text",
                state="complete",
                expanded=False,
            )
        else:
            status.update(
                label=f"Corrected in {result.seconds:.1f} s — {result.changes} word(s) changed, "
                f"{result.rejected_chunks} chunk(s) refused",
                state="complete",
                expanded=False,
            )
    return result


def corrector(
    prompt,
    choice: ModelChoice,
    who: str,
    on_chunk: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    mode: str = "printed",
) -> tuple[Callable[[str], CorrectionResult], int]:
    """`text -> CorrectionResult` for the batch, and how many files it can take at once (a server: several).

    `prompt` None: each text gets the preset that suits it (`prompts.suggest_prompt`, the texts read
    in OCR `mode`). The model is loaded now, in the page's own thread; one generation at a time in
    process.
    `on_chunk(done, total)` is told of each chunk done where files are corrected one at a time, in
    the page's thread; a server's files run in worker threads, which may not draw. Once
    `should_stop()` says True, a file's remaining chunks keep their OCR text (marked stopped)."""
    backend = model_state.backend(choice)
    speed = model_state.throughput(choice)
    progress = (lambda done, total, chunk: on_chunk(done, total)) if on_chunk and backend.concurrency == 1 else None

    def correct(text: str) -> CorrectionResult:
        chosen = prompt or choose_prompt(AUTO_PROMPT, text, mode)[0]
        with resources.turn(backend, who):
            result = correct_text(
                text, backend, chosen, throughput=speed, on_progress=progress, should_stop=should_stop
            )
        speed.save()
        return result

    return correct, backend.concurrency


def diff_tabs(old: str, new: str, key: str, answer: str | None = None) -> None:
    """Side by side and inline, word-level with character detail; insertions green, deletions red.
    With the model's `answer` where the guard refused some of it, a third tab shows all it proposed."""
    shown_answer = answer is not None and answer != new
    tabs = st.tabs(["Side by side", "Inline"] + (["The model's answer"] if shown_answer else []), key=f"{key}:tabs")
    with tabs[0]:
        st.html(side_by_side_html(old, new))
    with tabs[1]:
        st.html(inline_html(old, new))
    if shown_answer:
        with tabs[2]:
            st.caption("Everything the model proposed, before the guard, against the OCR text.")
            st.html(inline_html(old, answer))


def refusals(result: CorrectionResult) -> None:
    """What the guard refused, chunk by chunk, in words."""
    refused = [chunk for chunk in result.chunks if chunk.reasons]
    if not refused:
        st.success(
            "The guard refused nothing: every change the model proposed looked like a repair.",
            icon=":material/verified:",
        )
    for chunk in refused:
        st.markdown(f"**Chunk {chunk.index + 1}** (page {chunk.page}) — {VERDICT_ICONS[chunk.status]}")
        st.markdown("\n".join(f"- {reason}" for reason in chunk.reasons))
        if chunk.candidate is not None and chunk.candidate != chunk.guarded:
            # what was refused, to see: a reason alone ("rewrite: 84% changed") does not show the
            # invented total or the dropped lines the guard kept out
            with st.expander("What the model proposed, against the OCR text", expanded=len(refused) <= 2):
                if chunk.candidate.strip():
                    st.html(inline_html(chunk.raw, chunk.candidate))
                else:
                    st.caption("The model's answer was empty.")


def with_overrides(result: CorrectionResult, overrides: dict[int, bool]) -> CorrectionResult:
    for index, accept in overrides.items():
        result = result.override(index, accept)
    return result


def decisions_table(result: CorrectionResult, key: str) -> CorrectionResult:
    """Each chunk's verdict and reasons with an accept toggle; returns the result with the user's overrides."""
    import pandas as pd  # only once there is a result: keeps the first screen fast

    store, version = f"{key}.overrides", f"{key}.table_version"
    overrides: dict[int, bool] = st.session_state.setdefault(store, {})
    st.session_state.setdefault(version, 0)
    current = with_overrides(result, overrides)
    rows = [chunk for chunk in current.chunks if chunk.candidate is not None]
    if not rows:  # stopped while queued, a blank text, a server that failed every chunk: nothing to accept
        st.caption("No chunk has a model answer to accept: the text is the OCR text.")
        return current
    editor_key = f"{key}:table:{st.session_state[version]}"

    def take_edits() -> None:
        for row, change in st.session_state[editor_key]["edited_rows"].items():
            if "accept" in change:
                chunk = rows[int(row)]
                overrides[chunk.index] = bool(change["accept"])
        st.session_state[version] += 1

    table = pd.DataFrame(
        {
            "chunk": [chunk.index + 1 for chunk in rows],
            "page": [chunk.page for chunk in rows],
            "verdict": [VERDICT_ICONS[result.chunks[chunk.index].status] for chunk in rows],
            "accept": [chunk.text == chunk.candidate and chunk.override is not False for chunk in rows],
            "reasons": ["; ".join(chunk.reasons) for chunk in rows],
            "OCR text": [chunk.raw for chunk in rows],
            "model's answer": [chunk.candidate for chunk in rows],
        }
    )
    st.data_editor(
        table,
        key=editor_key,
        on_change=take_edits,
        hide_index=True,
        width="stretch",
        disabled=[column for column in table.columns if column != "accept"],
        column_config={
            "accept": st.column_config.CheckboxColumn(
                "accept", help="Use the model's whole answer for this chunk (off: keep the OCR text)."
            )
        },
    )
    if overrides and st.button("Back to the guard's decisions", key=f"{key}:reset"):
        st.session_state[store] = {}
        st.session_state[version] += 1
        st.rerun(scope="fragment")
    return current


def quality(result: CorrectionResult, key: str) -> None:
    """Optional ground truth (pasted or uploaded) gives CER and WER before and after."""
    with st.expander("Ground truth: measure CER / WER", icon=":material/rule:"):
        truth_file = st.file_uploader("Upload the true text (.txt)", key=f"{key}:truth_file")
        truth = st.text_area("…or paste it", key=f"{key}.truth", persist_state="session", height=120)
        if truth_file is not None:
            try:  # UTF-8, UTF-16 or Latin-1, as the CLI reads it; a scan or a PDF is told why not
                truth = decode_text(truth_file.getvalue(), truth_file.name)
            except TextInputError as error:
                st.error(str(error), icon=":material/error:")
                return
        if truth.strip():
            figures = result.quality(truth)
            pairs = {"CER": (figures.cer_before, figures.cer_after), "WER": (figures.wer_before, figures.wer_after)}
            for column, (name, (before, after)) in zip(st.columns(2), pairs.items()):
                with column:
                    error_rate(name, before, after)


def error_rate(label: str, before: float, after: float) -> None:
    """An error rate after correction, and its change in points: green down, red up, grey and no arrow for none."""
    points = round((after - before) * 100, 1)
    st.metric(
        label,
        f"{after:.1%}",
        f"{points:+.1f} points" if points else "no change",
        delta_color="inverse" if points else "off",
        delta_arrow="auto" if points else "off",
        help=f"before correction: {before:.1%}",
    )


def downloads(result: CorrectionResult, context: dict, stem: str, key: str) -> None:
    """Corrected .txt, a .json report (raw, corrected, chunks, verdicts, engine, model, prompt, timings), .md."""
    report = context | result.to_json()
    markdown = "\n".join(f"- {name}: {value}" for name, value in context.items() if not isinstance(value, (dict, list)))
    with st.container(horizontal=True):
        st.download_button(
            "Corrected text (.txt)",
            result.corrected,
            f"{stem}.corrected.txt",
            "text/plain",
            key=f"{key}:txt",
            icon=":material/download:",
        )
        st.download_button(
            "Report (.json)",
            json.dumps(report, indent=2, ensure_ascii=False),
            f"{stem}.report.json",
            "application/json",
            key=f"{key}:json",
            icon=":material/data_object:",
        )
        st.download_button(
            "Report (.md)",
            result.to_markdown().replace("\n\n", f"\n\n{markdown}\n\n", 1),
            f"{stem}.report.md",
            "text/markdown",
            key=f"{key}:md",
            icon=":material/description:",
        )


def correct_section(slot: str, ocr_text: str, file_name: str, context: dict, mode: str = "printed") -> None:
    """The Correct page's second half: prompt, Correct, and everything about the result."""
    prompt = prompt_view.picker(slot, suggestion=suggest_prompt(ocr_text, mode))
    # one row that wraps on a narrow window, where a column beside the prompt cut "Correct" to "Cor…"
    with st.container(horizontal=True, vertical_alignment="bottom"):
        guard = st.selectbox(
            "Guard",
            list(POLICIES),
            key=f"{slot}.guard",
            persist_state="session",
            width=180,
            help="strict: only repairs of non-words, numbers untouched; lenient: any small edit "
            "that keeps numbers; off: the model's raw answer.",
        )
        pressed = st.button("Correct", type="primary", key=f"{slot}:correct", icon=":material/auto_fix_high:")
        prompt_view.save_form(prompt, slot)
    if pressed:
        with RunControl() as control:
            run(
                ocr_text,
                prompt,
                model_state.current_choice(),
                "Correct",
                guard,
                control,
                lambda result: control.save(
                    {f"{slot}.result": result, f"{slot}.result_prompt": prompt.instruction}, drop=(f"{slot}.overrides",)
                ),
            )
    review(slot, ocr_text, file_name, context)


@st.fragment
def review(slot: str, ocr_text: str, file_name: str, context: dict) -> None:
    """The result: figures, verdicts with toggles, diff, final text, quality, downloads.

    A fragment: toggling one verdict reruns this part only, not the page and its 300-dpi preview."""
    result: CorrectionResult | None = st.session_state.get(f"{slot}.result")
    if result is None:
        return
    if result.raw != ocr_text:
        st.caption(
            ":material/info: The OCR text was edited after this correction; press **Correct** again to include "
            "the edits."
        )
    st.subheader("What changed")
    figures = st.columns(4)  # filled once the user's overrides are known
    for warning in result.warnings:
        st.warning(warning, icon=":material/warning:")
    if result.record:
        st.caption(f":material/fact_check: **The model's record.** {result.record}")
    st.markdown(
        "**Decisions per chunk** — untick *accept* to keep the OCR text of a chunk, tick it to take the model's answer."
    )
    final = decisions_table(result, slot)
    figures[0].metric("Words changed", final.changes)
    figures[1].metric(
        "Chunks refused",
        final.rejected_chunks,
        f"{final.overridden_chunks} overridden by you" if final.overridden_chunks else None,
        delta_color="off",
        delta_arrow="off",
        help="rejected outright by the guard, or failed",
    )
    figures[2].metric("Time", f"{result.seconds:.1f} s")
    figures[3].metric("Speed", f"{result.tokens_per_second:.1f} tok/s")
    diff_tabs(result.raw, final.corrected, key=f"{slot}.diff", answer=result.answer)
    st.subheader("Final text")
    st.code(final.corrected, language=None, wrap_lines=True)
    quality(final, slot)
    downloads(
        final,
        context | {"prompt_text": st.session_state.get(f"{slot}.result_prompt", "")},
        file_name.rsplit(".", 1)[0],
        slot,
    )
