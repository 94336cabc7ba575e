"""The generation gate: one at a time, first come first served, each waiter told its own place."""

import threading
import time

import pytest

from ocr_pipeline.gate import GenerationGate


def _wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_waiters_are_served_in_arrival_order_and_see_their_own_place():
    gate = GenerationGate(poll_seconds=0.02)
    order, places = [], {}
    release_first = threading.Event()

    def first():
        with gate.turn("first"):
            order.append("first")
            release_first.wait(5)

    def waiter(name):
        def on_wait(ahead, holder):
            places.setdefault(name, set()).add((ahead, holder))

        with gate.turn(name, on_wait):
            order.append(name)

    threads = [threading.Thread(target=first)]
    threads[0].start()
    _wait_until(lambda: gate.busy)
    for index, name in enumerate(["second", "third", "fourth"]):
        thread = threading.Thread(target=waiter, args=(name,))
        thread.start()
        threads.append(thread)
        _wait_until(lambda index=index: gate.waiting == index + 1)
    _wait_until(lambda: len(places) == 3)
    release_first.set()
    for thread in threads:
        thread.join(5)
    assert order == ["first", "second", "third", "fourth"]
    assert (0, "first") in places["second"] and (1, "first") in places["third"] and (2, "first") in places["fourth"]
    assert not gate.busy and gate.waiting == 0


def test_a_waiter_that_gives_up_frees_its_place():
    """A closed browser tab raises inside on_wait: the queue must not keep its ticket."""
    gate = GenerationGate(poll_seconds=0.02)

    class TabClosed(BaseException):
        pass

    def leave(ahead, running):
        raise TabClosed

    with gate.turn("running"):
        with pytest.raises(TabClosed):
            with gate.turn("quitter", leave):
                pass
        assert gate.waiting == 0
    assert not gate.busy


def test_an_error_inside_the_turn_frees_the_gate():
    gate = GenerationGate()
    with pytest.raises(RuntimeError):
        with gate.turn("x"):
            raise RuntimeError("model failed")
    with gate.turn("y"):
        assert gate.holder == "y"
