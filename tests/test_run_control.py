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

    result = correct_text(DOCUMENT, ScriptedBackend(fix_look_alikes), token_budget=8,
                          on_progress=control.quiet(draw), should_stop=control.should_stop)
    assert drawn == [1, 2], "nothing is drawn after the interrupt"
    assert [chunk.status for chunk in result.chunks][:2] == ["accepted", "accepted"] and result.stopped
    with pytest.raises(StreamlitRerun):
        control.rerun()


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
