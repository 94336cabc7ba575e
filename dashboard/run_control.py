"""Stop a long run after the chunk that is running, instead of losing it.

Streamlit interrupts a running script at its next `st.*` call when the user interacts (a click on
Stop) or leaves (a closed tab): it raises its rerun or stop signal, a `BaseException`. Raised out
of a progress callback, that signal would abort the model mid-chunk and throw away every chunk
done. `RunControl` catches it in the drawing callbacks, tells the correction to stop before its
next chunk, and raises it again once the partial result is stored, so Streamlit's own rerun (with
the click) or shutdown then goes on as usual.
"""

from __future__ import annotations

import threading
from typing import Callable

import streamlit as st

class RunControl:
    def __init__(self) -> None:
        self.interrupt: BaseException | None = None
        self._script_thread = threading.current_thread()

    @property
    def interrupted(self) -> bool:
        return self.interrupt is not None

    def should_stop(self) -> bool:
        return self.interrupted

    def quiet(self, draw: Callable) -> Callable:
        """`draw` for a callback inside the run: an interrupt is kept for later, and drawing stops.

        Calls from other threads (a server backend's workers) draw nothing: Streamlit draws only
        from the script's own thread."""

        def guarded(*args, **kwargs):
            if self.interrupted or threading.current_thread() is not self._script_thread:
                return None
            try:
                return draw(*args, **kwargs)
            except Exception:
                raise
            except BaseException as signal:  # Streamlit's rerun or stop: finish the chunk first
                self.interrupt = signal
                return None

        return guarded

    def watch(self, draw: Callable) -> Callable:
        """`draw` for a callback before the run starts (waiting in the queue): an interrupt leaves at once."""

        def guarded(*args, **kwargs):
            try:
                return draw(*args, **kwargs)
            except Exception:
                raise
            except BaseException as signal:
                self.interrupt = signal
                raise

        return guarded

    def rerun(self) -> None:
        """After the result is stored: go on with the interrupt (a click, a closed tab), else rerun."""
        if self.interrupt is not None:
            raise self.interrupt
        st.rerun()
