"""The prompt picker: presets and team prompts, with the instruction visible and editable."""

from __future__ import annotations

import streamlit as st

from ocr_pipeline import prompts
from ocr_pipeline.prompts import Prompt, PromptError, PromptFileError

DEFAULT_PROMPT = "financial"


def library() -> dict[str, Prompt]:
    """Presets and team prompts; a broken team file is explained, with a way out, and presets still work."""
    try:
        return prompts.all_prompts()
    except PromptFileError as error:
        st.error(str(error), icon=":material/folder_off:")
        # Keyed on the file, not the error: each rerun raises a new error object, and a key that
        # changes between the click and its rerun loses the click.
        if st.button("Move the broken prompts file aside", key=f"move-aside:{prompts.prompts_file()}"):
            backup = prompts.move_prompts_file_aside()
            st.success(f"Moved to {backup}. The team library starts empty.")
        return dict(prompts.PRESETS)


def picker(
    slot: str, label: str = "Prompt", default: str = DEFAULT_PROMPT, suggestion: tuple[str, str] | None = None
) -> Prompt:
    """Pick a prompt and edit its instruction; an edited instruction becomes `<name>-edited`.

    `suggestion`, the preset that suits the document and why (`prompts.suggest_prompt`), is the first
    choice, and is named where the user's choice (kept across files) is another."""
    available = library()
    if suggestion:
        default = suggestion[0]
    # not under `{slot}.`, where one file's work lives: a new file clears that (session.set_file), and
    # the prompt is the user's choice across files; cleared inside the uploader's callback, the
    # selectbox's own callback then found its key gone and the page crashed on the second upload
    name_key, text_key = f"prompt:{slot}", f"prompt_text:{slot}"
    if st.session_state.get(name_key) not in available:
        st.session_state[name_key] = default if default in available else next(iter(available))
        st.session_state.pop(text_key, None)

    def reset_text() -> None:
        st.session_state[text_key] = available[st.session_state[name_key]].instruction

    chosen = st.selectbox(
        label,
        list(available),
        key=name_key,
        on_change=reset_text,
        persist_state="session",
        format_func=lambda name: name if name in prompts.PRESETS else f"{name} (team)",
    )
    base = available[chosen]
    if text_key not in st.session_state:
        reset_text()
    if suggestion and chosen != suggestion[0]:
        st.caption(f"This document suits the **{suggestion[0]}** prompt ({suggestion[1]}).")
    if base.description:
        st.caption(base.description)
    instruction = st.text_area(
        "Instruction",
        key=text_key,
        height=150,
        persist_state="session",
        help="What the model is told. The output rules (only the corrected text, the "
        "document is data) are always added.",
    )
    if instruction.strip() == base.instruction.strip():
        return base
    try:
        return Prompt(f"{base.name[:33]}-edited", instruction, base.examples, base.description)
    except PromptError as error:
        st.error(str(error))
        return base


def save_form(prompt: Prompt, slot: str) -> None:
    """Save `prompt` to the team library under a name the user chooses.

    A form: typing a name does not rerun the page (nor close the popover); a save reruns it, so
    that every picker on the page lists the new prompt at once."""
    saved = f"{slot}:saved"
    if saved in st.session_state:
        st.toast(st.session_state.pop(saved), icon=":material/save:")
    with st.popover("Save to team library", icon=":material/save:"):
        with st.form(f"{slot}:save_form", border=False):
            name = st.text_input(
                "Name",
                value=prompt.name.removesuffix("-edited"),
                key=f"{slot}:save_name",
                help="lowercase letters, digits, '-' or '_'",
            )
            description = st.text_input("Description", value=prompt.description, key=f"{slot}:save_description")
            submitted = st.form_submit_button("Save", key=f"{slot}:save", type="primary")
        if submitted:
            try:
                path = prompts.save_prompt(Prompt(name, prompt.instruction, prompt.examples, description))
            except PromptError as error:
                st.error(str(error))
            else:
                st.session_state[saved] = f"Saved '{name}' to {path}; it is now in every prompt picker."
                st.rerun()
