"""The guard's decision on one chunk: how a candidate's units become the text.

A candidate that is no correction at all (most of its characters, or its length, changed) is refused
whole, unless a tenth of what it changes (`rewrite_repair_share`) is sure repairs: a line the OCR
garbled needs many changes. Otherwise each unit of change (units.py) is checked against the number
protection (numbers.py) and the line breaks, then judged (repairs.py): a sure repair is applied; a
guess is applied only while the chunk's sure repairs cover it — the characters guesses change may
not exceed `guess_budget` times those the sure repairs change, so that even if every guess is wrong,
the chunk cannot end up further from the truth than the OCR text, provided the sure repairs are
right; everything else keeps the OCR text, with its reason. One kind of guess needs no budget: stray
fragments removed (`en`, `| th`) from a chunk that has a sure repair, for a chunk the OCR is known
to have misread is where its debris lies, and nine in ten such removals are right
(docs/benchmarks.md). Where the model has a good record on the document (document.py), its guesses
need no budget either, but for joins, splits and one known word for another, which get a larger one
(`good_record_budget`), and a guess that another dictionary word explains better (alternatives.py)
is refused instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from .alternatives import better_explanation
from .channel import is_known
from .numbers import NumberProtection
from .policy import STRICT, GuardPolicy, get_policy
from .repairs import GUESS, REFUSED, REPAIR, Context, Verdict, judge
from .units import EDGE_PUNCTUATION, Unit, Word, change_units, not_applied

_MAX_LISTED_REASONS = 8


@dataclass(frozen=True)
class GuardDecision:
    text: str  # the text to use: the candidate, the OCR text, or the OCR text with some changes
    accepted: bool  # True when the candidate (or some of its changes) was taken, or it changed nothing
    reasons: tuple[str, ...] = ()  # why the candidate, or some of its changes, were refused
    applied: int = 0  # changes taken from the candidate
    reverted: int = 0  # changes refused


@dataclass(frozen=True)
class JudgedCandidate:
    """A candidate judged unit by unit, before its guesses are taken: what a document's record counts."""

    raw: str
    candidate: str
    rewrite: tuple[str, ...] = ()  # why the candidate is refused whole, where it is a rewrite
    number_reasons: tuple[str, ...] = ()  # its changes the number protection refused
    units: tuple[tuple[Unit, str, Verdict], ...] = ()  # every other unit: (unit, its OCR text, verdict)

    @property
    def repaired(self) -> int:
        """Characters the candidate's sure repairs change."""
        return sum(Levenshtein.distance(old, unit.new) for unit, old, verdict in self.units if verdict.level == REPAIR)

    @property
    def invented(self) -> int:
        """Characters of its changes no OCR misreading explains: all of them, where it is a rewrite."""
        if self.rewrite:
            return Levenshtein.distance(self.raw, self.candidate)
        return sum(Levenshtein.distance(old, unit.new) for unit, old, verdict in self.units if verdict.invented)


def apply_guard(
    raw: str, candidate: str, policy: str | GuardPolicy = STRICT, good_record: bool = False
) -> GuardDecision:
    """Judge a model's candidate (already stripped of chatter) for one chunk of OCR text; `good_record`:
    the model has a good record on the document the chunk belongs to (document.py)."""
    policy = get_policy(policy)
    if not policy.enabled:
        return GuardDecision(candidate, accepted=True, applied=int(candidate != raw))
    return decide(judge_candidate(raw, candidate, policy), policy, good_record)


def judge_candidate(raw: str, candidate: str, policy: GuardPolicy) -> JudgedCandidate:
    """Every unit of a candidate judged, under an enabled policy; nothing is decided yet."""
    if candidate == raw:
        return JudgedCandidate(raw, candidate)
    rewrite = _rewrite_reasons(raw, candidate, policy)
    if rewrite and policy.rewrite_repair_share is None:
        return JudgedCandidate(raw, candidate, rewrite=tuple(rewrite))
    judged = _judge_units(raw, candidate, policy)
    if rewrite and judged.repaired < policy.rewrite_repair_share * Levenshtein.distance(raw, candidate):
        return JudgedCandidate(raw, candidate, rewrite=tuple(rewrite))
    return judged


def _judge_units(raw: str, candidate: str, policy: GuardPolicy) -> JudgedCandidate:
    words = Word.all_in(raw)
    protection = NumberProtection(raw, words)
    context = Context(raw, words, protection.beside_number)
    judged = []
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
    return JudgedCandidate(raw, candidate, number_reasons=tuple(number_reasons), units=tuple(judged))


def decide(judged: JudgedCandidate, policy: GuardPolicy, good_record: bool = False) -> GuardDecision:
    """The text a judged candidate leaves, and the reasons for what it does not take."""
    raw = judged.raw
    if judged.candidate == raw:
        return GuardDecision(raw, accepted=True)
    if judged.rewrite:
        return GuardDecision(raw, accepted=False, reasons=judged.rewrite)
    edits, word_reasons = _take_guesses_within_budget(judged.units, policy, good_record)
    reasons = list(judged.number_reasons) + word_reasons  # numbers first: they matter most to a reviewer
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


def _take_guesses_within_budget(judged, policy: GuardPolicy, good_record: bool):
    """The edits to apply and the reasons for the rest, in text order: every sure repair, then the
    best guesses while the characters they change stay within the budget the sure repairs earn
    (debris removed from a chunk with a sure repair needs none; with a good record on the document,
    only joins, splits and known words for others need it, and a guess a dictionary word explains
    better is refused)."""
    edits, reasons = [], []
    budget = 0.0
    for unit, old, verdict in judged:
        if verdict.level == REPAIR:
            edits.append((unit.start, unit.end, unit.new))
            budget += Levenshtein.distance(old, unit.new)
    free_debris = policy.debris_in_noisy_chunks and budget > 0
    if policy.guess_budget is None:
        budget = float("inf")
    else:
        budget *= max(policy.guess_budget, policy.good_record_budget) if good_record else policy.guess_budget
    guesses = sorted((item for item in judged if item[2].level == GUESS), key=lambda item: -(item[2].score or 0.0))
    for unit, old, verdict in guesses:
        better = _better_explanation(old, unit.new, policy) if good_record else None
        if better:
            reasons.append((unit.start, not_applied(old, unit.new, better)))
            continue
        free = (free_debris and verdict.debris) or (good_record and _free_with_good_record(old, unit.new))
        size = 0 if free else Levenshtein.distance(old, unit.new)
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


def _free_with_good_record(old: str, new: str) -> bool:
    """Whether a guess needs no budget where the model has a good record: not where it joins words or
    splits one (`ofthe` -> `of the`; removing words is neither), nor where a known word becomes another
    (`advancements` -> `advancement`): a real-word error is the context's to judge, and the models' such
    guesses are right as often as wrong (docs/benchmarks.md)."""
    if new.strip() and len(old.split()) != len(new.split()):
        return False
    old_word, new_word = old.strip(EDGE_PUNCTUATION), new.strip(EDGE_PUNCTUATION)
    return not (old_word.isalpha() and new_word.isalpha() and is_known(old_word) and is_known(new_word))


def _better_explanation(old: str, new: str, policy: GuardPolicy) -> str | None:
    """Why a guess of one word for another is refused: a dictionary word that explains the OCR word
    better by `policy.alternative_margin` (`isetinctly` -> `instantly`, where `distinctly` is nearer)."""
    old_word, new_word = old.strip(EDGE_PUNCTUATION), new.strip(EDGE_PUNCTUATION)
    if not (old_word.isalpha() and new_word.isalpha()) or old_word.casefold() == new_word.casefold():
        return None
    found = better_explanation(old_word, new_word, policy.alternative_margin)
    if found is None:
        return None
    word, margin = found
    return f"{word!r} explains the OCR word better (by {margin:.1f} orders of magnitude): likelier an invention"


def _splice(raw: str, edits: list[tuple[int, int, str]]) -> str:
    pieces, position = [], 0
    for start, end, new in sorted(edits, key=lambda edit: (edit[0], edit[1])):
        pieces += [raw[position:start], new]
        position = end
    pieces.append(raw[position:])
    return "".join(pieces)
