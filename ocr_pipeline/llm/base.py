"""The interfaces correction and the app talk to, whichever backend generates.

`GenerationBackend` is all `correct_text` needs (token counts to size chunks, greedy generation);
`ModelBackend` adds what the app needs to manage a model it created through
`ocr_pipeline.llm.factory.create_backend`: a description, where it sits, and its release.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from collections.abc import Callable

from .memory import ReleaseReport
from .placement import Placement

ChatMessages = list[dict[str, str]]  # [{"role": "system"|"user"|"assistant", "content": str}]
TokenCallback = Callable[[int, str], None]  # (index of the request in the batch, new text piece)


@dataclass
class Generation:
    text: str
    new_tokens: int
    seconds: float
    logprobs: list[float] | None = None  # per generated token, where the backend offers them


def check_requests(requests: list[ChatMessages], max_new_tokens: list[int]) -> bool:
    """Raise on a malformed call; False when there is nothing to generate."""
    if len(requests) != len(max_new_tokens):
        raise ValueError("requests and max_new_tokens differ in length")
    if any(limit < 1 for limit in max_new_tokens):
        raise ValueError("max_new_tokens must be at least 1 for every request")
    return bool(requests)


@runtime_checkable
class GenerationBackend(Protocol):
    name: str  # what the reports call the model
    supports_batching: bool  # True where several requests of one call run together (GPU, server)

    def count_tokens(self, text: str) -> int:
        """Tokens in `text` for this model's tokenizer (used to size chunks and max_new_tokens)."""

    def generate(
        self, requests: list[ChatMessages], max_new_tokens: list[int], on_token: TokenCallback | None = None
    ) -> list[Generation]:
        """Greedy generation for each request, in order; streams pieces through `on_token`."""


@runtime_checkable
class ModelBackend(GenerationBackend, Protocol):
    kind: str  # the backend's name in `ocr_pipeline.llm.backends.BACKENDS`
    concurrency: int  # requests worth sending at once: 1 in process, more to a server that batches
    placement: Placement | None  # None where the model is not in this process
    load_seconds: float

    @property
    def released(self) -> bool:
        """True once `release` ran: every call then raises `ModelReleased`."""

    def describe(self) -> str:
        """One line for people: the model, where it runs, load time and memory."""

    def release(self) -> ReleaseReport:
        """Free what this backend holds (waits for a running generation); memory before and after."""
