"""The one interface correction talks to, so generation can move out of process later.

In-process transformers implements it now (`ocr_pipeline.llm.TransformersBackend`); an
OpenAI-compatible server (vLLM, TGI, llama.cpp server) can implement it without touching
chunking, the guard or the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, runtime_checkable

ChatMessages = list[dict[str, str]]  # [{"role": "system"|"user"|"assistant", "content": str}]
TokenCallback = Callable[[int, str], None]  # (index of the request in the batch, new text piece)


@dataclass
class Generation:
    text: str
    new_tokens: int
    seconds: float


@runtime_checkable
class GenerationBackend(Protocol):
    name: str  # what the reports call the model
    supports_batching: bool  # True where several requests go through one generate call (GPU)

    def count_tokens(self, text: str) -> int:
        """Tokens in `text` for this model's tokenizer (used to size chunks and max_new_tokens)."""

    def generate(
        self,
        requests: list[ChatMessages],
        max_new_tokens: list[int],
        on_token: TokenCallback | None = None,
    ) -> list[Generation]:
        """Greedy generation for each request, in order; streams pieces through `on_token`."""
