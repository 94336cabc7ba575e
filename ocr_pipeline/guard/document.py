"""The guard over a whole document: the model's record on it decides whether its guesses need a budget.

The per-chunk budget (decision.py) keeps a chunk from ending further from the truth than its OCR
text, but it holds back every guess in a chunk where the model found nothing sure to repair, and
most chunks of a good model's document are such. A model shows what it is worth over the whole
document: where at least `record_share` of the characters it changed are sure repairs rather than
inventions (changes no OCR misreading explains, chunks rewritten whole), over at least
`record_evidence` characters of sure repairs, it has a good record there, and its guesses need no
budget, but for joins, splits and one known word for another; a guess that another dictionary word
explains better is refused instead (alternatives.py). A model that invents is held to the budget on
the whole document. The rules that protect numbers, names, negations and meaning are the same
either way.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from .decision import GuardDecision, JudgedCandidate, apply_guard, decide, judge_candidate
from .policy import STRICT, GuardPolicy, get_policy


@dataclass(frozen=True)
class ModelRecord:
    """What a model changed in one document, as the guard judged it."""

    repaired: int = 0  # characters its sure repairs change
    invented: int = 0  # characters of its changes no OCR misreading explains, rewritten chunks included

    @classmethod
    def of(cls, judged: Iterable[JudgedCandidate]) -> ModelRecord:
        judged = list(judged)
        return cls(sum(j.repaired for j in judged), sum(j.invented for j in judged))

    @property
    def share(self) -> float | None:
        """The share of sure repairs among the characters counted; None where the model changed none."""
        counted = self.repaired + self.invented
        return self.repaired / counted if counted else None

    def good(self, policy: GuardPolicy) -> bool:
        return (
            policy.record_share is not None
            and self.repaired >= policy.record_evidence
            and self.share is not None
            and self.share >= policy.record_share
        )

    def describe(self, policy: GuardPolicy) -> str:
        """One line for a reviewer: the record, and what it earned."""
        if self.share is None:
            return (
                "The model's changes on this document held no sure repair, and no invention, to judge it by: "
                "its guesses needed the per-chunk budget."
            )
        rest = "; no OCR misreading explains the rest" if self.invented else ""
        record = (
            f"{self.share:.0%} of the characters the model changed on this document are sure repairs "
            f"({self.repaired:,} of {self.repaired + self.invented:,}{rest})"
        )
        if self.good(policy):
            return f"{record}: a good record, so its guesses were taken without the per-chunk budget."
        if policy.record_share is None:
            return f"{record}."
        if self.share < policy.record_share:
            return f"{record}: under {policy.record_share:.0%}, so its guesses needed the per-chunk budget."
        return f"{record}: too few sure repairs to judge it by, so its guesses needed the per-chunk budget."


@dataclass(frozen=True)
class GuardedDocument:
    decisions: list[GuardDecision]  # one per chunk, in order
    record: ModelRecord
    good_record: bool


def guard_document(pairs: Sequence[tuple[str, str]], policy: str | GuardPolicy = STRICT) -> GuardedDocument:
    """Judge a model's candidates for the chunks of one document, `(OCR text, candidate)` each, the
    candidates already stripped of chatter: first every chunk, for the model's record, then the
    decisions under that record."""
    policy = get_policy(policy)
    if not policy.enabled:
        return GuardedDocument([apply_guard(raw, candidate, policy) for raw, candidate in pairs], ModelRecord(), False)
    return decide_document([judge_candidate(raw, candidate, policy) for raw, candidate in pairs], policy)


def decide_document(judged: Sequence[JudgedCandidate], policy: GuardPolicy) -> GuardedDocument:
    """The decisions on a document's chunks already judged under an enabled `policy` (`judge_candidate`):
    a correction judges each chunk as its answer comes, and need not judge it again."""
    record = ModelRecord.of(judged)
    good = record.good(policy)
    return GuardedDocument([decide(j, policy, good) for j in judged], record, good)


def guard_by_document(
    chunks: Sequence[tuple[Hashable, str, str]], policy: str | GuardPolicy = STRICT
) -> list[GuardDecision]:
    """The decision on each `(document, OCR text, candidate)`, in order, the chunks that name the same
    document judged together: for replays and streams of chunks from many documents."""
    documents: dict[Hashable, list[int]] = {}
    for position, (document, _, _) in enumerate(chunks):
        documents.setdefault(document, []).append(position)
    decisions: list[GuardDecision | None] = [None] * len(chunks)
    for positions in documents.values():
        guarded = guard_document([chunks[i][1:] for i in positions], policy)
        for position, decision in zip(positions, guarded.decisions):
            decisions[position] = decision
    return decisions
