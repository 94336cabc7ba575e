"""Correct a document with a language model, chunk by chunk, under the guard.

The document is chunked, each chunk is sent with the chosen prompt (in batches where the backend
batches), the answer is stripped of chatter and judged by the guard, and the result keeps every
decision and its reasons so a person can review and override them.

A run can be stopped between chunks (`should_stop`): the chunks done so far keep their corrections
and the rest keep their OCR text, marked as not corrected. A text over `max_chars` is refused before
any model runs, with how long it would take and how to raise the limit.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from dataclasses import dataclass
from collections.abc import Callable, Mapping, Sequence

from . import metrics
from .llm.base import Generation, GenerationBackend
from .chunking import DEFAULT_TOKEN_BUDGET, Chunk, chunk_text, document_text, max_new_tokens_for
from .diff import changed_word_count
from .errors import TextInputError
from .guard import (
    GuardedDocument,
    GuardPolicy,
    JudgedCandidate,
    apply_guard,
    decide,
    decide_document,
    get_policy,
    guard_document,
    judge_candidate,
    strip_chatter,
)
from .prompts import Prompt, build_messages, get_prompt
from .textinput import check_text
from .throughput import Throughput, describe_seconds

DEFAULT_BATCH_SIZE = 8
# About 5,000 tokens: minutes, not hours, with the demo model on a 2-core CPU (see docs/benchmarks.md).
DEFAULT_MAX_CHARS = 20_000
STOPPED_REASON = "not corrected: the correction was stopped before this chunk; it keeps its OCR text"


def max_correction_chars() -> int:
    """The longest text one correction takes: `OCR_MAX_CORRECTION_CHARS`, else 20,000 characters."""
    value = os.environ.get("OCR_MAX_CORRECTION_CHARS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_MAX_CHARS


def check_length(text: str, max_chars: int | None = None, throughput: Throughput | None = None) -> None:
    """Refuse a text over the limit before any model loads, saying how long it would take and how to go on."""
    limit = max_chars or max_correction_chars()
    if len(text) <= limit:
        return
    estimate = throughput.seconds_for([round(len(text) / 4)]) if throughput else None  # ~4 characters a token
    how_long = f" (about {describe_seconds(estimate)} with {throughput.key} here)" if estimate else ""
    raise TextInputError(
        f"The text has {len(text):,} characters, over the {limit:,}-character limit for one correction{how_long}. "
        f"Correct it in parts, or raise the limit with --max-chars or OCR_MAX_CORRECTION_CHARS."
    )


@dataclass(frozen=True)
class ChunkResult:
    index: int
    page: int  # 1-based
    raw: str
    candidate: str | None  # the model's answer without chatter; None when the chunk was not generated
    guarded: str  # the text the guard chose
    accepted: bool
    reasons: tuple[str, ...]
    separator: str  # the text between this chunk and the next, as in the document
    override: bool | None = None  # a person's decision: True uses the candidate, False the OCR text
    seconds: float = 0.0
    new_tokens: int = 0
    split_warning: str | None = None
    error: str | None = None
    stopped: bool = False  # the run was stopped before this chunk: it keeps its OCR text

    @property
    def text(self) -> str:
        """The final text: a person's override if any, else the guard's choice."""
        if self.override is True:
            return self.candidate
        if self.override is False:
            return self.raw
        return self.guarded

    @property
    def status(self) -> str:
        """The guard's verdict: stopped, skipped, error, unchanged, accepted, partial or rejected."""
        if self.stopped:
            return "stopped"
        if self.error:
            return "error"
        if self.candidate is None:
            return "skipped"
        if self.guarded == self.raw and self.accepted:
            return "unchanged"
        if not self.accepted:
            return "rejected"
        return "partial" if self.reasons else "accepted"

    def to_json(self) -> dict:
        return {
            "index": self.index,
            "page": self.page,
            "raw": self.raw,
            "candidate": self.candidate,
            "text": self.text,
            "status": self.status,
            "accepted": self.accepted,
            "reasons": list(self.reasons),
            "override": self.override,
            "separator": self.separator,
            "seconds": self.seconds,
            "new_tokens": self.new_tokens,
            "split_warning": self.split_warning,
            "error": self.error,
            "stopped": self.stopped,
        }


@dataclass(frozen=True)
class Quality:
    """Error rates against a ground truth, before and after correction (lower is better)."""

    cer_before: float
    cer_after: float
    wer_before: float
    wer_after: float


def measure_quality(raw: str, corrected: str, ground_truth: str) -> Quality:
    return Quality(
        cer_before=metrics.cer(raw, ground_truth),
        cer_after=metrics.cer(corrected, ground_truth),
        wer_before=metrics.wer(raw, ground_truth),
        wer_after=metrics.wer(corrected, ground_truth),
    )


@dataclass(frozen=True)
class CorrectionResult:
    raw: str
    chunks: list[ChunkResult]
    model: str
    prompt: str
    guard: str
    seconds: float
    tokens_per_second: float
    warnings: list[str]
    record: str = ""  # the model's record on the document, and what it earned (guard/document.py), in a line
    record_share: float | None = None  # the share of its changed characters that are sure repairs
    good_record: bool = False  # its guesses went without the per-chunk budget

    @property
    def corrected(self) -> str:
        return "".join(chunk.text + chunk.separator for chunk in self.chunks)

    @property
    def answer(self) -> str:
        """The model's whole answer before the guard: each chunk's candidate, or its OCR text where it has none."""
        answers = (chunk.raw if chunk.candidate is None else chunk.candidate for chunk in self.chunks)
        return "".join(text + chunk.separator for text, chunk in zip(answers, self.chunks))

    @property
    def changes(self) -> int:
        """Words that differ between the OCR text and the corrected text."""
        return changed_word_count(self.raw, self.corrected)

    @property
    def stopped(self) -> bool:
        """Whether the run was stopped before every chunk was corrected."""
        return any(chunk.stopped for chunk in self.chunks)

    @property
    def rejected_chunks(self) -> int:
        """Chunks whose model answer was refused outright or failed: the ones to review first."""
        return sum(chunk.status in ("rejected", "error") for chunk in self.chunks)

    @property
    def overridden_chunks(self) -> int:
        """Chunks where a person chose the candidate or the OCR text over the guard's decision."""
        return sum(chunk.override is not None for chunk in self.chunks)

    def override(self, index: int, accept: bool | None) -> CorrectionResult:
        """A copy where chunk `index` uses the candidate (True), the OCR text (False) or the guard (None)."""
        if not 0 <= index < len(self.chunks):
            raise IndexError(f"There is no chunk {index}; this result has {len(self.chunks)} chunks.")
        chunk = self.chunks[index]
        if accept and chunk.candidate is None:
            raise ValueError(f"Chunk {index} has no model answer to accept ({chunk.status}).")
        chunks = list(self.chunks)
        chunks[index] = dataclasses.replace(chunk, override=accept)
        return dataclasses.replace(self, chunks=chunks)

    def quality(self, ground_truth: str) -> Quality:
        return measure_quality(self.raw, self.corrected, ground_truth)

    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for chunk in self.chunks:
            counts[chunk.status] = counts.get(chunk.status, 0) + 1
        return counts

    def to_json(self) -> dict:
        return {
            "raw": self.raw,
            "corrected": self.corrected,
            "chunks": [chunk.to_json() for chunk in self.chunks],
            "model": self.model,
            "prompt": self.prompt,
            "guard": self.guard,
            "seconds": self.seconds,
            "tokens_per_second": self.tokens_per_second,
            "warnings": list(self.warnings),
            "record": self.record,
            "record_share": self.record_share,
            "good_record": self.good_record,
        }

    def to_markdown(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.status_counts().items()))
        overridden = f"; {self.overridden_chunks} overridden by a person" if self.overridden_chunks else ""
        lines = [
            "# OCR correction report",
            "",
            f"- Model: {self.model}",
            f"- Prompt: {self.prompt}",
            f"- Guard: {self.guard}",
            f"- Time: {self.seconds:.1f} s ({self.tokens_per_second:.1f} tokens/s)",
            f"- Chunks: {len(self.chunks)} ({counts or 'none'}{overridden})",
        ]
        if self.record:
            lines.append(f"- Record: {self.record}")
        if self.warnings:
            lines += ["", "## Warnings", ""] + [f"- {warning}" for warning in self.warnings]
        lines += ["", "## Decisions", ""]
        for chunk in self.chunks:
            decision = chunk.status
            if chunk.override is not None:
                decision += f", overridden: {'candidate' if chunk.override else 'OCR text'} used"
            lines.append(f"- Chunk {chunk.index + 1} (page {chunk.page}): {decision}")
            lines += [f"  - {reason}" for reason in chunk.reasons]
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", self.corrected)), default=0))
        lines += ["", "## Corrected text", "", f"{fence}text", self.corrected, fence, ""]
        return "\n".join(lines)


ProgressCallback = Callable[[int, int, ChunkResult], None]
StreamCallback = Callable[[int, str], None]
StopCheck = Callable[[], bool]


def correct_text(
    text_or_pages: str | Sequence[str],
    backend: GenerationBackend,
    prompt: str | Prompt = "general",
    guard: str | GuardPolicy = "strict",
    *,
    on_progress: ProgressCallback | None = None,
    on_token: StreamCallback | None = None,
    batch_size: int | None = None,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    should_stop: StopCheck | None = None,
    throughput: Throughput | None = None,
    max_chars: int | None = None,
) -> CorrectionResult:
    """Correct a text (or a list of pages) and return every chunk's decision.

    `on_progress(done, total, chunk_result)` runs after each chunk; `on_token(chunk_index, piece)`
    streams the model's output. A chunk whose generation fails keeps its OCR text, with the error
    as its reason, and the other chunks go on. `should_stop()` is asked before each chunk (or
    batch): once it says True, the remaining chunks keep their OCR text, marked "stopped".
    `throughput` records the seconds each chunk took, for estimates of later runs.
    """
    started = time.perf_counter()
    prompt = prompt if isinstance(prompt, Prompt) else get_prompt(prompt)
    policy = get_policy(guard)
    raw = check_text(document_text(text_or_pages))
    check_length(raw, max_chars, throughput)
    chunks = chunk_text(raw, backend.count_tokens, token_budget)
    if batch_size is None:
        batch_size = DEFAULT_BATCH_SIZE if backend.supports_batching else 1
    batch_size = max(1, batch_size) if backend.supports_batching else 1

    results: dict[int, ChunkResult] = {}
    judged: dict[int, JudgedCandidate] = {}  # each answer judged once, as it comes; decided again as a document

    def finish(result: ChunkResult) -> None:
        results[result.index] = result
        if on_progress:
            on_progress(len(results), len(chunks), result)

    for chunk in chunks:
        if not chunk.needs_model:
            finish(_result(chunk, candidate=None, guarded=chunk.text, accepted=True))
    pending = [chunk for chunk in chunks if chunk.needs_model]
    generation_seconds, new_tokens = 0.0, 0
    for first in range(0, len(pending), batch_size):
        batch = pending[first : first + batch_size]
        if should_stop is not None and should_stop():
            for chunk in pending[first:]:
                finish(dataclasses.replace(_result(chunk, None, chunk.text, False, (STOPPED_REASON,)), stopped=True))
            break
        batch_started = time.perf_counter()
        outcomes = _generate(backend, prompt, batch, on_token)
        batch_seconds = time.perf_counter() - batch_started
        generation_seconds += batch_seconds
        for chunk, outcome in zip(batch, outcomes):
            if isinstance(outcome, Exception):
                error = f"generation failed ({type(outcome).__name__}: {outcome}); the OCR text was kept"
                finish(_result(chunk, candidate=None, guarded=chunk.text, accepted=False, error=error))
                continue
            if throughput is not None:
                throughput.record(chunk.tokens, batch_seconds / len(batch))
            candidate = strip_chatter(outcome.text, chunk.text)
            if policy.enabled:
                judged[chunk.index] = judge_candidate(chunk.text, candidate, policy)
                decision = decide(judged[chunk.index], policy)
            else:
                decision = apply_guard(chunk.text, candidate, policy)
            new_tokens += outcome.new_tokens
            finish(
                _result(
                    chunk,
                    candidate=candidate,
                    guarded=decision.text,
                    accepted=decision.accepted,
                    reasons=decision.reasons,
                    seconds=outcome.seconds,
                    new_tokens=outcome.new_tokens,
                )
            )

    ordered, guarded = guard_chunks([results[chunk.index] for chunk in chunks], policy, judged)
    return CorrectionResult(
        raw=raw,
        chunks=ordered,
        model=backend.name,
        prompt=prompt.name,
        guard=policy.name,
        seconds=time.perf_counter() - started,
        tokens_per_second=new_tokens / generation_seconds if generation_seconds > 0 else 0.0,
        warnings=_warnings(ordered),
        record=guarded.record.describe(policy) if policy.enabled and guarded.decisions else "",
        record_share=guarded.record.share,
        good_record=guarded.good_record,
    )


def guard_chunks(
    chunks: Sequence[ChunkResult], policy: str | GuardPolicy, judged: Mapping[int, JudgedCandidate] | None = None
) -> tuple[list[ChunkResult], GuardedDocument]:
    """The chunks decided again as one document under `policy` (each chunk was guarded alone as its
    answer came): the model's record on the whole document may let more of its guesses through.
    `judged`: the chunks' answers already judged under `policy`, by chunk index; the others are judged
    here. Returns the chunks and the guard's view of the document (the record, and whether it was good)."""
    policy = get_policy(policy)
    answered = [chunk for chunk in chunks if chunk.candidate is not None]
    if policy.enabled:
        judged = judged or {}
        guarded = decide_document(
            [judged.get(c.index) or judge_candidate(c.raw, c.candidate, policy) for c in answered], policy
        )
    else:
        guarded = guard_document([(chunk.raw, chunk.candidate) for chunk in answered], policy)
    decided = {
        chunk.index: dataclasses.replace(
            chunk, guarded=decision.text, accepted=decision.accepted, reasons=decision.reasons
        )
        for chunk, decision in zip(answered, guarded.decisions)
    }
    return [decided.get(chunk.index, chunk) for chunk in chunks], guarded


def _generate(
    backend: GenerationBackend, prompt: Prompt, batch: list[Chunk], on_token: StreamCallback | None
) -> list[Generation | Exception]:
    """One generate call for the batch; if it fails, each chunk alone, so only the culprit is lost."""

    def stream(position: int, piece: str) -> None:  # the backend counts within the batch
        on_token(batch[position].index, piece)

    try:
        generations = backend.generate(
            [build_messages(prompt, chunk.text) for chunk in batch],
            [max_new_tokens_for(chunk.tokens) for chunk in batch],
            on_token=stream if on_token else None,
        )
        if len(generations) != len(batch):
            raise RuntimeError(f"the backend returned {len(generations)} answers for {len(batch)} requests")
        return generations
    except Exception as error:  # noqa: BLE001 - any failure of the model must not lose the document
        if len(batch) == 1:
            return [error]
        return [outcome for chunk in batch for outcome in _generate(backend, prompt, [chunk], on_token)]


def _result(
    chunk: Chunk,
    candidate: str | None,
    guarded: str,
    accepted: bool,
    reasons: tuple[str, ...] = (),
    seconds: float = 0.0,
    new_tokens: int = 0,
    error: str | None = None,
) -> ChunkResult:
    return ChunkResult(
        index=chunk.index,
        page=chunk.page,
        raw=chunk.text,
        candidate=candidate,
        guarded=guarded,
        accepted=accepted,
        reasons=(error,) if error else reasons,
        separator=chunk.separator,
        seconds=seconds,
        new_tokens=new_tokens,
        split_warning=chunk.split_warning,
        error=error,
    )


def _warnings(chunks: list[ChunkResult]) -> list[str]:
    warnings = []
    stopped = [chunk for chunk in chunks if chunk.stopped]
    if stopped:
        warnings.append(
            f"Stopped: {len(chunks) - len(stopped)} of {len(chunks)} chunks were corrected; the other "
            f"{len(stopped)} keep their OCR text, marked 'stopped'."
        )
    for chunk in chunks:
        where = f"Chunk {chunk.index + 1} (page {chunk.page})"
        if chunk.split_warning:
            warnings.append(f"{where}: {chunk.split_warning}.")
        if chunk.error:
            warnings.append(f"{where}: {chunk.error}.")
    return warnings
