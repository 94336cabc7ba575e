"""A backend over a shared model that may be released (by a person, or evicted) between two calls.

Several people share one loaded model; one of them may release it while another is queued or
half-way through a document. A call that finds its model released under it (`ModelReleased`)
asks `acquire` for the model as it is now (a cache that loads it again when it was released) and
retries, so a release costs the others a reload, never their work.
"""

from __future__ import annotations

from typing import TypeVar
from collections.abc import Callable

from .llm.base import ChatMessages, Generation, GenerationBackend, TokenCallback
from .errors import ModelError, ModelReleased

ATTEMPTS = 3
Result = TypeVar("Result")


class ReloadingBackend:
    """`GenerationBackend` that re-acquires its model for every call; see the module docstring."""

    def __init__(self, acquire: Callable[[], GenerationBackend], name: str | None = None):
        self._acquire = acquire
        self._current = acquire()  # loads the model now, before the caller queues for its turn
        self.name = name or self._current.name
        self.supports_batching = self._current.supports_batching
        self.kind = getattr(self._current, "kind", "")
        self.concurrency = getattr(self._current, "concurrency", 1)  # > 1: a server that takes requests at once

    def _call(self, call: Callable[[GenerationBackend], Result]) -> Result:
        for _ in range(ATTEMPTS):
            try:
                return call(self._current)
            except ModelReleased:
                self._current = self._acquire()
        raise ModelError(f"Model '{self.name}' was released {ATTEMPTS} times while a correction needed it; try again.")

    def count_tokens(self, text: str) -> int:
        return self._call(lambda backend: backend.count_tokens(text))

    def generate(
        self, requests: list[ChatMessages], max_new_tokens: list[int], on_token: TokenCallback | None = None
    ) -> list[Generation]:
        return self._call(lambda backend: backend.generate(requests, max_new_tokens, on_token))
