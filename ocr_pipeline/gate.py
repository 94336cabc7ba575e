"""One generation at a time on an in-process model, served in arrival order, each waiter told its place.

A model in this process generates for one document at a time (a second generate call would only
share the same cores). Everyone else waits in a first-come, first-served queue and is told, while
waiting, how many are ahead and what is running. A waiter whose `on_wait` raises (the dashboard
raises when its browser tab closed or its user pressed Stop) leaves the queue at once.
"""

from __future__ import annotations

import threading
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from collections.abc import Callable, Iterator

WaitCallback = Callable[[int, str], None]  # (people waiting ahead of you, what is running now)


@dataclass(eq=False)
class _Ticket:
    who: str


class GenerationGate:
    def __init__(self, poll_seconds: float = 0.5) -> None:
        self.poll_seconds = poll_seconds  # how often a waiter's `on_wait` runs
        self._condition = threading.Condition()
        self._queue: deque[_Ticket] = deque()  # waiting, in arrival order
        self._holder: _Ticket | None = None

    @contextmanager
    def turn(self, who: str, on_wait: WaitCallback | None = None) -> Iterator[None]:
        """Hold the gate for the block; `who` is what others see while they wait."""
        ticket = _Ticket(who)
        with self._condition:
            self._queue.append(ticket)
        try:
            while not self._take(ticket):
                if on_wait:
                    on_wait(*self._place(ticket))
                with self._condition:
                    if not self._is_next(ticket):
                        self._condition.wait(self.poll_seconds)
        except BaseException:
            with self._condition:
                if ticket in self._queue:
                    self._queue.remove(ticket)
                self._condition.notify_all()
            raise
        try:
            yield
        finally:
            with self._condition:
                self._holder = None
                self._condition.notify_all()

    def _is_next(self, ticket: _Ticket) -> bool:
        return self._holder is None and self._queue[0] is ticket

    def _take(self, ticket: _Ticket) -> bool:
        with self._condition:
            if not self._is_next(ticket):
                return False
            self._queue.popleft()
            self._holder = ticket
            return True

    def _place(self, ticket: _Ticket) -> tuple[int, str]:
        with self._condition:
            ahead = self._queue.index(ticket) if ticket in self._queue else 0
            return ahead, self._holder.who if self._holder else ""

    @property
    def holder(self) -> str:
        """What is generating now ('' when idle)."""
        with self._condition:
            return self._holder.who if self._holder else ""

    @property
    def waiting(self) -> int:
        with self._condition:
            return len(self._queue)

    @property
    def busy(self) -> bool:
        with self._condition:
            return self._holder is not None
