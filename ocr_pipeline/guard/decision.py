"""The guard's decision on one chunk: how a candidate's units become the text.

A candidate that is no correction at all (most of its characters, or its length, changed) is
refused whole. Otherwise each unit of change (units.py) is checked against the number protection
(numbers.py) and the line breaks, then judged (repairs.py): a sure repair is applied; a guess is
applied only while the chunk's sure repairs cover it — the characters guesses change may not
exceed `guess_budget` times those the sure repairs change, so that even if every guess is wrong,
the chunk cannot end up further from the truth than the OCR text, provided the sure repairs are
right; everything else keeps the OCR text, with its reason. One kind of guess needs no budget:
stray fragments removed (`en`, `| th`) from a chunk that has a sure repair, for a chunk the OCR is
known to have misread is where its debris lies, and nine in ten such removals are right
(docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from .numbers import NumberProtection
from .policy import STRICT, GuardPolicy, get_policy
from .repairs import GUESS, REFUSED, REPAIR, Context, Verdict, judge
from .units import Word, change_units, not_applied

_MAX_LISTED_REASONS = 8


@dataclass(frozen=True)
class GuardDecision:
    text: str  # the text to use: the candidate, the OCR text, or the OCR text with some changes
    accepted: bool  # True when the candidate (or some of its changes) was taken, or it changed nothing
    reasons: tuple[str, ...] = ()  # why the candidate, or some of its changes, were refused
    applied: int = 0  # changes taken from the candidate
    reverted: int = 0  # changes refused


def apply_guard(raw: str, candidate: str, policy: str | GuardPolicy = STRICT) -> GuardDecision:
    """Judge a model's candidate (already stripped of chatter) for one chunk of OCR text."""
    policy = get_policy(policy)
    if not policy.enabled:
        return GuardDecision(candidate, accepted=True, applied=int(candidate != raw))
    if candidate == raw:
        return GuardDecision(raw, accepted=True)
    rewrite = _rewrite_reasons(raw, candidate, policy)
    if rewrite:
        return GuardDecision(raw, accepted=False, reasons=tuple(rewrite))
    return _apply_units(raw, candidate, policy)


def _rewrite_reasons(raw: str, candidate: str, policy: GuardPolicy) -> list[str]:
    reasons = []
    length = max(len(raw), 1)
    edit_ratio = Levenshtein.distance(raw, candidate) / length
    if edit_ratio > policy.max_edit_ratio:
        reasons.append(f"rewrite: {edit_ratio:.0%} of characters changed (limit {policy.max_edit_ratio:.0%})")
    length_change = (len(candidate) - len(raw)) / length
    if abs(length_change) > policy.max_length_change:
        reasons.append(f"length changed by {length_change:+.0%} (limit ±{policy.max_length_change:.0%})")
    return reasons


def _apply_units(raw: str, candidate: str, policy: GuardPolicy) -> GuardDecision:
    words = Word.all_in(raw)
    protection = NumberProtection(raw, words)
    context = Context(raw, words, protection.beside_number)
    judged = []  # (unit, old, verdict)
    number_reasons = []
    for unit in change_units(raw, candidate):
        old = raw[unit.start : unit.end]
        number_refusal = protection.refusal(unit.start, unit.end, unit.new)
        if number_refusal:
            number_reasons.append(number_refusal)
            continue
        if policy.keep_line_breaks and old.count("\n") != unit.new.count("\n"):
            removed = old.count("\n") > unit.new.count("\n")
            verdict = Verdict(REFUSED, "line break removed" if removed else "line break added")
        else:
            verdict = judge(unit, context, policy)
        judged.append((unit, old, verdict))
    edits, word_reasons = _take_guesses_within_budget(judged, policy)
    reasons = number_reasons + word_reasons  # numbers first: they matter most to a reviewer
    reverted = len(reasons)
    if reverted > _MAX_LISTED_REASONS:
        reasons[_MAX_LISTED_REASONS:] = [f"... and {reverted - _MAX_LISTED_REASONS} more changes not applied"]
    return GuardDecision(
        _splice(raw, edits),
        accepted=bool(edits) or not reverted,
        reasons=tuple(reasons),
        applied=len(edits),
        reverted=reverted,
    )


def _take_guesses_within_budget(judged, policy: GuardPolicy):
    """The edits to apply and the reasons for the rest, in text order: every sure repair, then the
    best guesses while the characters they change stay within the budget the sure repairs earn
    (debris removed from a chunk with a sure repair needs none)."""
    edits, reasons = [], []
    budget = 0.0
    for unit, old, verdict in judged:
        if verdict.level == REPAIR:
            edits.append((unit.start, unit.end, unit.new))
            budget += Levenshtein.distance(old, unit.new)
    free_debris = policy.debris_in_noisy_chunks and budget > 0
    budget = float("inf") if policy.guess_budget is None else budget * policy.guess_budget
    guesses = sorted((item for item in judged if item[2].level == GUESS), key=lambda item: -(item[2].score or 0.0))
    for unit, old, verdict in guesses:
        size = 0 if free_debris and verdict.debris else Levenshtein.distance(old, unit.new)
        if size <= budget:
            budget -= size
            edits.append((unit.start, unit.end, unit.new))
        else:
            why = verdict.why + "; the chunk's sure repairs do not cover it"
            reasons.append((unit.start, not_applied(old, unit.new, why)))
    reasons += [
        (unit.start, not_applied(old, unit.new, verdict.why))
        for unit, old, verdict in judged
        if verdict.level == REFUSED
    ]
    return edits, [reason for _, reason in sorted(reasons, key=lambda item: item[0])]


def _splice(raw: str, edits: list[tuple[int, int, str]]) -> str:
    pieces, position = [], 0
    for start, end, new in sorted(edits, key=lambda edit: (edit[0], edit[1])):
        pieces += [raw[position:start], new]
        position = end
    pieces.append(raw[position:])
    return "".join(pieces)
