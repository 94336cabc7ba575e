"""The user's own work in `st.session_state`: the current file, its OCR text, results.

Widgets that hold work use `persist_state="session"`, so it survives a visit to another page.
Keys of one file's work start with its slot name, so a new file clears them in one go. File
uploaders cannot persist, so the file itself is kept in the slot when the uploader changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from . import resources


@dataclass(frozen=True)
class UserFile:
    name: str
    data: bytes
    digest: str

    @classmethod
    def of(cls, name: str, data: bytes) -> UserFile:
        return cls(name, data, resources.digest(data))


def set_file(slot: str, user_file: UserFile | None) -> None:
    """A new file in `slot` starts over: earlier OCR text and results belong to the old one."""
    st.session_state[slot] = user_file
    for key in [key for key in st.session_state if key.startswith(f"{slot}.")]:
        del st.session_state[key]
