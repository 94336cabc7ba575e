"""Speed: the pipeline's cost over plain `generate`, and Qwen2.5 shapes with random weights on a
GPU (bf16, int8, 4-bit, a sweep of gpu_layers, batched against one-by-one generation)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from .report import Report
from .common import Progress, load_average, machine_info
from .correction import resolve_prompt


def default_overhead_text() -> str:
    """Five pages the project renders for its samples: five chunks at the default token budget."""
    from .. import samples
    from ..chunking import PAGE_BREAK

    pages = [samples.INVOICE_LINES, samples.RECEIPT_LINES, samples.NOTE_LINES, *samples.LETTER_PAGES]
    return PAGE_BREAK.join("\n".join(lines) for lines in pages)


@dataclass
class OverheadBenchmark(Report):
    kind = "overhead"

    model: str
    prompt: str
    guard: str
    chunks: int
    batching: bool  # whether the pipeline batched chunks (CUDA); plain generation is always one by one
    pipeline_seconds: list[float]  # one per repeat
    plain_seconds: list[float]
    pipeline_new_tokens: int  # per repeat; equal to plain_new_tokens when both decoded the same tokens
    plain_new_tokens: int
    ratio: float  # total pipeline seconds / total plain seconds

    def title(self) -> str:
        return (
            f"Overhead of correct_text over plain generate: model {self.model}, {self.chunks} chunks, "
            f"prompt {self.prompt}, pipeline batching {self.batching}"
        )

    def table(self) -> list[dict]:
        return [
            {
                "run": "pipeline",
                "seconds per repeat": " ".join(map(str, self.pipeline_seconds)),
                "total s": round(sum(self.pipeline_seconds), 3),
                "new tokens": self.pipeline_new_tokens,
            },
            {
                "run": "plain generate",
                "seconds per repeat": " ".join(map(str, self.plain_seconds)),
                "total s": round(sum(self.plain_seconds), 3),
                "new tokens": self.plain_new_tokens,
            },
        ]

    def notes(self) -> list[str]:
        notes: list[str] = []
        notes.append(f"ratio (pipeline / plain): {self.ratio}")
        return notes


def benchmark_overhead(
    backend,
    text: str | None = None,
    prompt: str = "general",
    guard: str = "strict",
    repeats: int = 3,
    on_progress: Progress | None = None,
) -> OverheadBenchmark:
    """`correct_text` against a loop of plain `model.generate` on the same chat-formatted chunks.

    Both decode the same way (greedy, no repetition penalty, the same max_new_tokens per chunk),
    the plain inputs are tokenised before the clock starts, one warm-up call runs first, and the
    order alternates every repeat so that load from other processes falls on both alike.
    """
    import torch

    from ..chunking import chunk_text, max_new_tokens_for
    from ..correction import correct_text
    from ..prompts import build_messages

    load_start = load_average()
    text = text or default_overhead_text()
    prompt_object = resolve_prompt(prompt)
    model, tokenizer = backend.loaded.model, backend.loaded.tokenizer
    chunks = [chunk for chunk in chunk_text(text, backend.count_tokens) if chunk.needs_model]
    inputs = [
        (
            tokenizer.apply_chat_template(
                [build_messages(prompt_object, chunk.text)],
                add_generation_prompt=True,
                return_dict=True,
                return_tensors="pt",
            ).to(model.device),
            max_new_tokens_for(chunk.tokens),
        )
        for chunk in chunks
    ]

    def plain(limit_override: int | None = None) -> int:
        new_tokens = 0
        with torch.inference_mode():
            for encoded, limit in inputs:
                output = model.generate(
                    **encoded,
                    max_new_tokens=limit_override or limit,
                    do_sample=False,
                    repetition_penalty=1.0,
                    pad_token_id=tokenizer.pad_token_id,
                )
                new_tokens += output.shape[1] - encoded["input_ids"].shape[1]
        return new_tokens

    def pipeline() -> int:
        result = correct_text(text, backend, prompt_object, guard)
        return sum(chunk.new_tokens for chunk in result.chunks)

    plain(limit_override=2)  # warm-up: first-call allocations and kernel selection
    seconds: dict[str, list[float]] = {"pipeline": [], "plain": []}
    tokens: dict[str, int] = {}
    runs = {"pipeline": pipeline, "plain": plain}
    for repeat in range(repeats):
        if on_progress:
            on_progress(repeat, repeats, f"repeat {repeat + 1}")
        for name in ("pipeline", "plain") if repeat % 2 == 0 else ("plain", "pipeline"):
            started = time.perf_counter()
            tokens[name] = runs[name]()
            seconds[name].append(round(time.perf_counter() - started, 3))
    if on_progress:
        on_progress(repeats, repeats, "done")
    return OverheadBenchmark(
        model=backend.name,
        prompt=prompt_object.name,
        guard=guard,
        chunks=len(chunks),
        batching=backend.supports_batching,
        pipeline_seconds=seconds["pipeline"],
        plain_seconds=seconds["plain"],
        pipeline_new_tokens=tokens["pipeline"],
        plain_new_tokens=tokens["plain"],
        ratio=round(sum(seconds["pipeline"]) / sum(seconds["plain"]), 3),
        machine=machine_info(),
        load_average=[load_start, load_average()],
    )
