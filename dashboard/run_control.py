"""Stop a long run after the chunk that is running, and show what it did.

A click while a script runs (Stop, or any other widget) makes Streamlit start a new run of the
page at once, in a new thread, and ask the old one to stop: the old run's next `st.*` call raises
Streamlit's stop signal (a `BaseException`), and so does every call after it. Raised out of a
progress callback, that signal would abort the model mid-chunk and throw away every chunk done.

So `RunControl` catches the signal in the drawing callbacks and tells the correction to stop
before its next chunk, and only then lets the signal go on. A stopped run can no longer write to
session state (Streamlit disconnects it), so the run saves its result through a mailbox that it put
in session state when it started; the new run, which started with the click, waits for the old
one to finish (`wait_for_stopping_run`) and copies the result from the mailbox into its state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import streamlit as st

from . import keys

STOP_WAIT_SECONDS = 600  # at most one chunk on a slow model


class _Mailbox:
    """What a run saved, for the run that follows it when this one was stopped."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.values: dict[str, object] = {}
        self.dropped: set[str] = set()

    def apply(self) -> None:
        for key in self.dropped:
            st.session_state.pop(key, None)
        st.session_state.update(self.values)


class RunControl:
    """Marks a run in progress in session state; use as a context manager around the run."""

    def __init__(self) -> None:
        self.interrupt: BaseException | None = None
        self._mailbox = _Mailbox()
        self._script_thread = threading.current_thread()

    def __enter__(self) -> RunControl:
        st.session_state[keys.RUN_IN_PROGRESS] = self._mailbox
        return self

    def __exit__(self, kind, error, traceback) -> None:
        self._mailbox.done.set()
        if self.interrupt is None:
            st.session_state.pop(keys.RUN_IN_PROGRESS, None)  # saved directly: no one needs the mailbox
        elif error is None:
            raise self.interrupt  # a rerun the callbacks swallowed: let Streamlit carry it out now

    def save(self, values: dict[str, object], drop: tuple[str, ...] = ()) -> None:
        """Session-state updates of the run's result, which survive the run being stopped."""
        self._mailbox.values.update(values)
        self._mailbox.dropped.update(drop)
        self._mailbox.apply()  # ignored by Streamlit once the run was stopped; the next run applies it

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

    def shield(self, backend):
        """`backend` for the run: a stop signal raised inside a model call cannot take the chunks done with it."""
        return _Shielded(backend, self)

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


class RunStopped(Exception):
    """Streamlit's stop signal arrived inside the model's call (a reload): that chunk fails, the rest stop."""


class _Shielded:
    """A backend whose calls turn Streamlit's stop signal into `RunStopped`, which the correction
    records as that chunk's error instead of losing every chunk done."""

    def __init__(self, backend, control: RunControl) -> None:
        self._backend, self._control = backend, control
        self.name, self.supports_batching = backend.name, backend.supports_batching
        self.concurrency = backend.concurrency

    def _shielded(self, call):
        try:
            return call()
        except Exception:
            raise
        except BaseException as signal:
            self._control.interrupt = self._control.interrupt or signal
            raise RunStopped("stopped while the model was being reloaded") from None

    def count_tokens(self, text: str) -> int:
        return self._shielded(lambda: self._backend.count_tokens(text))

    def generate(self, requests, max_new_tokens, on_token=None):
        return self._shielded(lambda: self._backend.generate(requests, max_new_tokens, on_token))


def wait_for_stopping_run() -> None:
    """Called first on every run of the app: wait for a stopped run of this session to finish its
    chunk, then take what it saved, so the page and the sidebar show it."""
    mailbox = st.session_state.get(keys.RUN_IN_PROGRESS)
    if not isinstance(mailbox, _Mailbox):
        return
    if not mailbox.done.is_set():
        with st.spinner("Stopping after the chunk that is running…"):
            mailbox.done.wait(STOP_WAIT_SECONDS)
    mailbox.apply()
    del st.session_state[keys.RUN_IN_PROGRESS]
