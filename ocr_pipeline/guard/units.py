"""Words with their punctuation, and a candidate's changes cut into units the guard judges one by one.

The diff (diff.py) groups changed words the way a reader sees them. Where a group is one word
for one word, its change is cut further: its leading and trailing marks are one unit, its core
another, and a hyphenated core of as many parts on both sides is judged part by part
(`Buckinlgham-tofts` -> `Buckingham-fields` is two units). A group that joins, splits, drops or
adds words stays one unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..diff import WORD, changed_word_groups

EDGE_PUNCTUATION = "\"'“”‘’«»()[]{}<>.,;:!?…*"
_HYPHEN = re.compile(r"[-–—]")

# unit kinds
WORD_CORE = "word"  # the letters of one word (or one part of a hyphenated word)
MARKS = "marks"  # the punctuation before or after one word
WORDS = "words"  # several words joined, split or rewritten together
REMOVAL = "removal"  # words the candidate drops
ADDITION = "addition"  # words the candidate adds


def is_number(core: str) -> bool:
    """Digits not drowned in letters: amounts, dates, identifiers ('INV-2023A'), not 'Tota1'. A
    fraction or a superscript is a digit too (`½`, `m²`)."""
    digits = sum(ch.isnumeric() for ch in core)
    letters = sum(ch.isalpha() for ch in core)
    return digits > 0 and not (letters >= 3 and letters > 2 * digits)


@dataclass(frozen=True)
class Word:
    start: int
    end: int
    core_start: int  # the word without surrounding punctuation
    core_end: int

    @classmethod
    def all_in(cls, text: str) -> list[Word]:
        words = []
        for match in WORD.finditer(text):  # the words changed_word_groups counts
            token = match.group()
            lead = len(token) - len(token.lstrip(EDGE_PUNCTUATION))
            trail = len(token) - len(token.rstrip(EDGE_PUNCTUATION))
            core_end = max(match.end() - trail, match.start() + lead)
            words.append(cls(match.start(), match.end(), match.start() + lead, core_end))
        return words

    def core(self, text: str) -> str:
        return text[self.core_start : self.core_end]


@dataclass(frozen=True)
class Unit:
    """One change: the OCR text's `start:end` becomes `new`; `words` are the OCR words it touches."""

    kind: str
    start: int
    end: int
    new: str
    first_word: int  # index of the first OCR word it touches (for context: the word before, the line)
    last_word: int


def change_units(raw: str, candidate: str) -> list[Unit]:
    """The candidate's changes to `raw`, as independent units, in text order."""
    raw_words, new_words = Word.all_in(raw), Word.all_in(candidate)
    units = []
    for i1, i2, j1, j2 in changed_word_groups(raw, candidate):
        if i2 - i1 == j2 - j1 == 1:  # a longer group is one because its characters cross between words
            units += _word_units(raw, candidate, raw_words[i1], new_words[j1], i1)
            continue
        start, end, new = _whole_word_replacement(raw, candidate, raw_words, new_words, (i1, i2, j1, j2))
        kind = ADDITION if i1 == i2 else REMOVAL if j1 == j2 else WORDS
        units.append(Unit(kind, start, end, new, min(i1, len(raw_words) - 1), max(i1, i2 - 1)))
    return [unit for unit in units if raw[unit.start : unit.end] != unit.new]


def _word_units(raw: str, candidate: str, old: Word, new: Word, index: int) -> list[Unit]:
    if old.core_start == old.core_end or new.core_start == new.core_end:  # marks only on one side
        return [Unit(WORDS, old.start, old.end, candidate[new.start : new.end], index, index)]
    units = [
        Unit(MARKS, old.start, old.core_start, candidate[new.start : new.core_start], index, index),
        Unit(MARKS, old.core_end, old.end, candidate[new.core_end : new.end], index, index),
    ]
    old_core, new_core = old.core(raw), new.core(candidate)
    old_parts, new_parts = _parts(old_core), _parts(new_core)
    parted = len(old_parts) == len(new_parts) > 1 and _hyphens(old_core) == _hyphens(new_core)
    if parted and not _has_number(old_parts, old_core):
        for (start, end), (new_start, new_end) in zip(old_parts, new_parts):
            units.append(
                Unit(WORD_CORE, old.core_start + start, old.core_start + end, new_core[new_start:new_end], index, index)
            )
    else:
        units.append(Unit(WORD_CORE, old.core_start, old.core_end, new_core, index, index))
    return units


def _parts(core: str) -> list[tuple[int, int]]:
    """Spans of the hyphen-separated parts of a word."""
    spans, start = [], 0
    for match in _HYPHEN.finditer(core):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(core)))
    return spans


def _has_number(parts: list[tuple[int, int]], core: str) -> bool:
    """A date or an identifier ('2023-07-15', 'INV-2023') is one number, not parts."""
    return any(is_number(core[start:end]) for start, end in parts)


def _hyphens(core: str) -> list[str]:
    return _HYPHEN.findall(core)


def _whole_word_replacement(raw, candidate, raw_words, new_words, group) -> tuple[int, int, str]:
    """The raw span (whole words) a change replaces, and its new text; a dropped word takes one of
    its spaces along, an added one brings its own."""
    i1, i2, j1, j2 = group
    inserted = candidate[new_words[j1].start : new_words[j2 - 1].end] if j1 < j2 else ""
    if i1 < i2 and j1 < j2:
        return raw_words[i1].start, raw_words[i2 - 1].end, inserted
    if i1 == i2:  # an insertion before raw word i1
        if i1 < len(raw_words):
            return raw_words[i1].start, raw_words[i1].start, inserted + " "
        end = raw_words[-1].end if raw_words else len(raw)
        return end, end, (" " if raw_words else "") + inserted
    start, end = raw_words[i1].start, raw_words[i2 - 1].end  # a deletion
    if i2 < len(raw_words) and "\n" not in raw[end : raw_words[i2].start]:
        end = raw_words[i2].start
    elif i1 > 0 and "\n" not in raw[raw_words[i1 - 1].end : start]:
        start = raw_words[i1 - 1].end
    return start, end, ""


def not_applied(old: str, new: str, why: str) -> str:
    """A refused change in one line: `'ferther' → 'brother' not applied: <why>`."""
    return f"{_shown(old)} → {_shown(new)} not applied: {why}"


def _shown(text: str, limit: int = 40) -> str:
    text = text.replace("\n", "⏎")
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
