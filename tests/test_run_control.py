"""Stop keeps the chunks done: Streamlit's interrupt is caught in the callbacks and raised again after."""

import threading

import pytest

from dashboard.run_control import RunControl
from ocr_pipeline.correction import correct_text
from tests.test_correction import DOCUMENT, ScriptedBackend, fix_look_alikes


class StreamlitRerun(BaseException):
    """Stands in for Streamlit's RerunException: a BaseException raised at the next st.* call."""


def test_an_interrupt_in_a_progress_callback_stops_after_that_chunk_and_is_raised_again():
    control = RunControl()
    drawn = []

    def draw(done, total, chunk):
        drawn.append(done)
        if done == 2:
            raise StreamlitRerun  # the user pressed Stop while chunk 2 was being drawn

    result = correct_text(
        DOCUMENT,
        ScriptedBackend(fix_look_alikes),
        token_budget=8,
        on_progress=control.quiet(draw),
        should_stop=control.should_stop,
    )
    assert drawn == [1, 2], "nothing is drawn after the interrupt"
    assert [chunk.status for chunk in result.chunks][:2] == ["accepted", "accepted"] and result.stopped


def test_a_stopped_run_hands_its_result_to_the_next_run():
    """Streamlit ignores a stopped run's session-state writes: the mailbox carries them over."""
    import streamlit as st

    from dashboard.keys import RUN_IN_PROGRESS as RUN_KEY
    from dashboard.run_control import wait_for_stopping_run

    with pytest.raises(StreamlitRerun):
        with RunControl() as control:
            mailbox = st.session_state[RUN_KEY]
            control.quiet(lambda: (_ for _ in ()).throw(StreamlitRerun()))()
            assert control.should_stop() and not mailbox.done.is_set()
            control.save({"page.result": "partial"}, drop=("page.overrides",))
            st.session_state.pop("page.result")  # as if the write had been ignored
    assert mailbox.done.is_set() and st.session_state[RUN_KEY] is mailbox
    st.session_state["page.overrides"] = {1: True}
    wait_for_stopping_run()
    assert st.session_state["page.result"] == "partial" and "page.overrides" not in st.session_state
    assert RUN_KEY not in st.session_state


def test_a_run_that_ends_normally_leaves_no_mailbox():
    import streamlit as st

    from dashboard.keys import RUN_IN_PROGRESS as RUN_KEY

    with RunControl() as control:
        control.save({"page.result": "done"})
    assert st.session_state["page.result"] == "done" and RUN_KEY not in st.session_state


def test_an_interrupt_while_queued_leaves_the_queue_at_once():
    control = RunControl()

    def wait(ahead, holder):
        raise StreamlitRerun

    with pytest.raises(StreamlitRerun):
        control.watch(wait)(1, "someone")
    assert control.interrupted


def test_errors_are_not_mistaken_for_interrupts():
    control = RunControl()
    with pytest.raises(ValueError):
        control.quiet(lambda: (_ for _ in ()).throw(ValueError("bug")))()
    assert not control.interrupted


def test_callbacks_from_other_threads_draw_nothing():
    control = RunControl()
    drawn = []
    thread = threading.Thread(target=control.quiet(lambda: drawn.append("drawn")))
    thread.start()
    thread.join()
    assert drawn == []
