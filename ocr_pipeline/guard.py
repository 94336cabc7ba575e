"""The guard: what a model may change in OCR text, decided per chunk and then per word.

A candidate is first judged as a whole: one that changes too many characters or the length too
much is a rewrite and is rejected. Otherwise it is aligned with the OCR text (diff.py) and each
changed word, or group of words, is applied only if

* it keeps every number, amount, currency sign, percentage, date and identifier exactly, adds
  none, and glues no sign or letter to one; the only edits allowed are a letter the OCR confused
  with a digit inside a number (`$1O0.00` -> `$100.00`) and a digit it confused with a letter
  inside a word (`Tota1` -> `Total`); and, under the strict policy,
* it turns a word that is not a known word (wordfreq) into known words with few character edits,
  keeping the OCR's punctuation and line breaks (plus two narrow cases: a known word one letter
  from a far more common one, 'tho' -> 'the'; stray marks such as '|' may go).

Everything else keeps the OCR text with a human-readable reason: the model may only repair what
is visibly broken, so a wrong guess costs little and a right one is kept.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

from rapidfuzz.distance import Levenshtein

from .diff import WORD, changed_word_groups

LOOKALIKE_DIGITS = {"O": "0", "o": "0", "l": "1", "I": "1", "|": "1", "S": "5", "B": "8", "Z": "2", "g": "9"}
PROTECTED_SYMBOLS = frozenset("$€£¥₹¢₩₽%‰")
_EDGE_PUNCTUATION = "\"'“”‘’«»()[]{}<>.,;:!?…*"
_MONTHS = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
_SINGLE_LETTER_WORDS = frozenset("aAIOo")  # single letters that are words
_MEANINGFUL_SYMBOLS = frozenset("&#@+=/")  # stand-alone symbols that are no stray marks: 'GOODS & SERVICES'
_OPENING_QUOTES = frozenset("\"'“‘«")
_ORDINARY_PUNCTUATION = frozenset(".,;:!?-–—'\"“”‘’()")
_LETTER_RUN = re.compile(r"(?:[^\W\d_]|\|)+")
_MAX_LISTED_REASONS = 8
# Letter groups OCR reads for one letter (or the reverse): a repair of one costs one edit.
_OCR_CONFUSIONS = (("rn", "m"), ("li", "h"), ("cl", "d"), ("vv", "w"), ("ii", "n"), ("ri", "n"), ("m", "rn"))
_ANY_LETTER = "any letter"  # marks a digit inside a word, which may become any letter


@dataclass(frozen=True)
class GuardPolicy:
    """Thresholds of one policy. `enabled=False` accepts every candidate (to measure the bare model)."""

    name: str
    enabled: bool = True
    max_edit_ratio: float = 0.35  # character edits per OCR character above which a candidate is a rewrite
    max_length_change: float = 0.30  # relative length change above which a candidate is a rewrite
    word_check: bool = True  # apply a word change only where it turns a non-word into known words
    known_word_zipf: float = 2.0  # wordfreq Zipf frequency from which a word counts as known
    common_word_gain: float | None = 3.0  # a known OCR word may become a word one letter away this
    # many Zipf points (10**gain times) more common: 'tho' -> 'the'
    # Character edits per character allowed inside one word change, an OCR confusion such as
    # rn -> m counting as one edit: 'tlie' -> 'the' (0.25) passes; at 0.5, 'ferther' -> 'brother'
    # (0.43) passed and made a BLN600 pair worse (its ground truth says 'father').
    max_word_edit_ratio: float = 0.4
    keep_line_breaks: bool = True


STRICT = GuardPolicy("strict")
LENIENT = GuardPolicy(
    "lenient", max_edit_ratio=0.5, max_length_change=0.4, word_check=False, max_word_edit_ratio=0.6,
    keep_line_breaks=False,
)
OFF = GuardPolicy("off", enabled=False)
POLICIES: Mapping[str, GuardPolicy] = MappingProxyType({p.name: p for p in (STRICT, LENIENT, OFF)})


def get_policy(policy: str | GuardPolicy) -> GuardPolicy:
    if isinstance(policy, GuardPolicy):
        return policy
    if policy not in POLICIES:
        raise ValueError(f"Unknown guard policy '{policy}'. Choose one of: {', '.join(POLICIES)}.")
    return POLICIES[policy]


@dataclass(frozen=True)
class GuardDecision:
    text: str  # the text to use: the candidate, the OCR text, or the OCR text with some word changes
    accepted: bool  # True when the candidate (or some of its changes) was taken, or it changed nothing
    reasons: tuple[str, ...] = ()  # why the candidate, or some of its changes, were refused
    applied: int = 0  # word changes taken from the candidate
    reverted: int = 0  # word changes refused


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
    return _apply_word_changes(raw, candidate, policy)


def _rewrite_reasons(raw: str, candidate: str, policy: GuardPolicy) -> list[str]:
    reasons = []
    length = max(len(raw), 1)
    edit_ratio = Levenshtein.distance(raw, candidate) / length
    if edit_ratio > policy.max_edit_ratio:
        reasons.append(
            f"rewrite: {edit_ratio:.0%} of characters changed (limit {policy.max_edit_ratio:.0%})"
        )
    length_change = (len(candidate) - len(raw)) / length
    if abs(length_change) > policy.max_length_change:
        reasons.append(f"length changed by {length_change:+.0%} (limit ±{policy.max_length_change:.0%})")
    return reasons


# --- word-level decisions -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Word:
    start: int
    end: int
    core_start: int  # the word without surrounding punctuation
    core_end: int

    @classmethod
    def all_in(cls, text: str) -> list["_Word"]:
        words = []
        for match in WORD.finditer(text):  # the words changed_word_groups counts
            token = match.group()
            lead = len(token) - len(token.lstrip(_EDGE_PUNCTUATION))
            trail = len(token) - len(token.rstrip(_EDGE_PUNCTUATION))
            core_end = max(match.end() - trail, match.start() + lead)
            words.append(cls(match.start(), match.end(), match.start() + lead, core_end))
        return words

    def core(self, text: str) -> str:
        return text[self.core_start : self.core_end]


def _apply_word_changes(raw: str, candidate: str, policy: GuardPolicy) -> GuardDecision:
    raw_words, candidate_words = _Word.all_in(raw), _Word.all_in(candidate)
    protection = _Protection(raw, raw_words)
    edits, number_reasons, word_reasons = [], [], []
    for i1, i2, j1, j2 in changed_word_groups(raw, candidate):
        start, end, new = _whole_word_replacement(raw, candidate, raw_words, candidate_words, (i1, i2, j1, j2))
        if policy.word_check:
            start, end, new, why = _word_replacement(
                raw, candidate, raw_words[i1:i2], candidate_words[j1:j2], (start, end, new), policy
            )
        else:
            why = _too_different(
                [w.core(raw) for w in raw_words[i1:i2]], [w.core(candidate) for w in candidate_words[j1:j2]], policy
            )
        old = raw[start:end]
        if old == new:
            continue
        if policy.keep_line_breaks and old.count("\n") != new.count("\n"):
            why = "line break removed" if old.count("\n") > new.count("\n") else "line break added"
        number_refusal = protection.refusal(start, end, new)
        if number_refusal:
            number_reasons.append(number_refusal)
        elif why:
            word_reasons.append(_not_applied(old, new, why))
        else:
            edits.append((start, end, new))
    reasons = number_reasons + word_reasons  # numbers first: they matter most to a reviewer
    reverted = len(reasons)
    if reverted > _MAX_LISTED_REASONS:
        reasons[_MAX_LISTED_REASONS:] = [f"... and {reverted - _MAX_LISTED_REASONS} more changes not applied"]
    return GuardDecision(
        _splice(raw, edits), accepted=bool(edits) or not reverted, reasons=tuple(reasons),
        applied=len(edits), reverted=reverted,
    )


def _whole_word_replacement(raw, candidate, raw_words, candidate_words, group):
    """The raw span (whole words) a change replaces, and its new text."""
    i1, i2, j1, j2 = group
    inserted = candidate[candidate_words[j1].start : candidate_words[j2 - 1].end] if j1 < j2 else ""
    if i1 < i2 and j1 < j2:
        return raw_words[i1].start, raw_words[i2 - 1].end, inserted
    if i1 == i2:  # an insertion before raw word i1
        if i1 < len(raw_words):
            return raw_words[i1].start, raw_words[i1].start, inserted + " "
        end = raw_words[-1].end if raw_words else len(raw)
        return end, end, (" " if raw_words else "") + inserted
    start, end = raw_words[i1].start, raw_words[i2 - 1].end  # a deletion: take one side's spaces along
    if i2 < len(raw_words) and "\n" not in raw[end : raw_words[i2].start]:
        end = raw_words[i2].start
    elif i1 > 0 and "\n" not in raw[raw_words[i1 - 1].end : start]:
        start = raw_words[i1 - 1].end
    return start, end, ""


def _word_replacement(raw, candidate, old_words, new_words, whole, policy):
    """Under the word check only word cores change (the OCR's punctuation stays), and only as repairs.

    Returns the span, its new text and why it is refused (None when it is a repair).
    """
    old_cored = [w for w in old_words if w.core_start < w.core_end]
    new_cored = [w for w in new_words if w.core_start < w.core_end]
    if old_cored and new_cored:
        start, end = old_cored[0].core_start, old_cored[-1].core_end
        new = candidate[new_cored[0].core_start : new_cored[-1].core_end]
        return start, end, new, _word_refusal(_non_numbers(raw, old_cored), _non_numbers(candidate, new_cored), policy)
    if not new_words and all(_is_noise(raw[w.start : w.end]) for w in old_words):
        why = None  # stray marks the OCR read as words: '|', '•', a lone 'e'
    elif new_cored:
        why = "words added"
    else:
        why = "words removed" if old_cored else "punctuation-only change"
    return (*whole, why)


def _is_noise(token: str) -> bool:
    """A stray mark: a lone letter that is not a word, or symbols that are not ordinary punctuation."""
    core = token.strip(_EDGE_PUNCTUATION)
    if core.isalnum():
        return len(core) == 1 and core.isalpha() and core not in _SINGLE_LETTER_WORDS
    return not any(ch in _MEANINGFUL_SYMBOLS for ch in token) and any(
        ch not in _ORDINARY_PUNCTUATION and not ch.isalnum() for ch in token
    )


def _non_numbers(text: str, words: list[_Word]) -> list[str]:
    """Cores the word check judges; numbers are judged by the protection check alone."""
    return [core for core in (w.core(text) for w in words) if not _is_number(core)]


def _word_refusal(old_cores: list[str], new_cores: list[str], policy: GuardPolicy) -> str | None:
    """Why a word change is not a plain repair of a non-word, or None when it is."""
    if not old_cores and not new_cores:
        return None
    if not old_cores or not new_cores:
        return "words added" if new_cores else "words removed"
    if all(_is_known(word, policy.known_word_zipf) for word in old_cores) and not _far_more_common(
        old_cores, new_cores, policy
    ):
        return "the OCR text is already made of known words"
    old_folded = {word.casefold() for word in old_cores}
    unknown = [w for w in new_cores if w.casefold() not in old_folded and not _is_known(w, policy.known_word_zipf)]
    if unknown:
        return f"{unknown[0]!r} is not a known word"
    return _too_different(old_cores, new_cores, policy)


def _far_more_common(old_cores: list[str], new_cores: list[str], policy: GuardPolicy) -> bool:
    """A real-word OCR error such as 'tho' -> 'the': one letter away, a far more common word."""
    if policy.common_word_gain is None or len(old_cores) != 1 or len(new_cores) != 1:
        return False
    old, new = old_cores[0], new_cores[0]
    return (
        Levenshtein.distance(old.casefold(), new.casefold()) == 1
        and _zipf(new) - _zipf(old) >= policy.common_word_gain
    )


def _too_different(old_cores: list[str], new_cores: list[str], policy: GuardPolicy) -> str | None:
    """A change that shares too few characters with the OCR words is a substitution, not a repair."""
    old_joined, new_joined = "".join(old_cores).casefold(), "".join(new_cores).casefold()
    if not old_joined or not new_joined:
        return None
    edit_ratio = _ocr_distance(old_joined, new_joined) / max(len(old_joined), len(new_joined))
    if edit_ratio > policy.max_word_edit_ratio:
        return f"too different ({edit_ratio:.0%} of characters changed, limit {policy.max_word_edit_ratio:.0%})"
    return None


def _ocr_distance(old: str, new: str) -> int:
    """Levenshtein distance where undoing one of the OCR confusions (all its occurrences) costs one
    edit per occurrence: 'cornrnittee' -> 'committee' is 2, not 4."""
    distance = Levenshtein.distance(old, new)
    for seen, meant in _OCR_CONFUSIONS:
        if seen in old:
            distance = min(distance, Levenshtein.distance(old.replace(seen, meant), new) + old.count(seen))
    return distance


@lru_cache(maxsize=65536)
def _zipf(word: str) -> float:
    from wordfreq import zipf_frequency  # its word lists load on first use, not on import

    return zipf_frequency(word, "en")


def _is_known(word: str, threshold: float) -> bool:
    return not any(ch.isdecimal() for ch in word) and _zipf(word) >= threshold


def _splice(raw: str, edits: list[tuple[int, int, str]]) -> str:
    pieces, position = [], 0
    for start, end, new in sorted(edits, key=lambda edit: (edit[0], edit[1])):
        pieces += [raw[position:start], new]
        position = end
    pieces.append(raw[position:])
    return "".join(pieces)


def _not_applied(old: str, new: str, why: str) -> str:
    return f"{_shown(old)} → {_shown(new)} not applied: {why}"


def _shown(text: str, limit: int = 40) -> str:
    text = text.replace("\n", "⏎")
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


# --- numbers --------------------------------------------------------------------------------------


def _is_number(core: str) -> bool:
    """Digits not drowned in letters: amounts, dates, identifiers ('INV-2023A'), not 'Tota1'."""
    digits = sum(ch.isdecimal() for ch in core)
    letters = sum(ch.isalpha() for ch in core)
    return digits > 0 and not (letters >= 3 and letters > 2 * digits)


def _repairable_positions(core: str) -> set[int]:
    """Letters inside a number the OCR may have confused with digits: all look-alikes, next to a digit."""
    positions = set()
    for run in _LETTER_RUN.finditer(core):
        before = core[run.start() - 1] if run.start() else ""
        after = core[run.end()] if run.end() < len(core) else ""
        if all(ch in LOOKALIKE_DIGITS for ch in run.group()) and (before.isdecimal() or after.isdecimal()):
            positions.update(range(run.start(), run.end()))
    return positions


def _numbers(text: str) -> list[str]:
    return [w.core(text) for w in _Word.all_in(text) if _is_number(w.core(text))]


def _repaired(number: str) -> str:
    positions = _repairable_positions(number)
    return "".join(LOOKALIKE_DIGITS[ch] if i in positions else ch for i, ch in enumerate(number))


class _Protection:
    """For each OCR character: may it change, and into what; which number it belongs to."""

    def __init__(self, raw: str, words: list[_Word]):
        self.raw = raw
        self.allowed: list[str | None] = [None] * len(raw)  # None: free; otherwise the permitted replacements
        self.number_id = [-1] * len(raw)
        cores = [w.core(raw) for w in words]
        is_number = [_is_number(core) for core in cores]
        for index, (word, core) in enumerate(zip(words, cores)):
            if is_number[index]:
                repairable = _repairable_positions(core)
                for offset in range(len(core)):
                    position = word.core_start + offset
                    self.allowed[position] = LOOKALIKE_DIGITS[core[offset]] if offset in repairable else ""
                    self.number_id[position] = index
            elif any(ch.isdecimal() for ch in core):  # a word with an OCR digit in it: 'Tota1', 'f6llowed'
                for offset, ch in enumerate(core):
                    if ch.isdecimal():
                        self.allowed[word.core_start + offset] = _ANY_LETTER
            elif core.casefold() in _MONTHS and (
                (index > 0 and is_number[index - 1]) or (index + 1 < len(words) and is_number[index + 1])
            ):
                self.allowed[word.core_start : word.core_end] = [""] * len(core)
        for position, ch in enumerate(raw):
            if ch in PROTECTED_SYMBOLS:
                self.allowed[position] = ""

    def refusal(self, start: int, end: int, new: str) -> str | None:
        """A reason if replacing raw[start:end] with `new` alters a protected character, else None."""
        old = self.raw[start:end]
        for tag, i, j in Levenshtein.editops(old, new):
            allowed = self.allowed[start + i] if i < len(old) else None
            if tag == "replace":
                if allowed is None:
                    ok = not _protected_char(new[j]) and not (
                        old[i].isspace() and not new[j].isspace() and self._separates_number(start + i)
                    )
                else:
                    ok = new[j].isalpha() if allowed is _ANY_LETTER else new[j] in allowed
            elif tag == "delete":
                ok = allowed is None and not (old[i].isspace() and self._separates_number(start + i))
            else:  # insert before old[i]: nothing inside a number, no sign or letter glued to one
                after_number = self.number_id[start + i - 1] if i > 0 else -1
                before_number = self.number_id[start + i] if i < len(old) else -1
                ok = not (
                    _protected_char(new[j])
                    or after_number == before_number != -1
                    or (after_number != -1 and new[j].isalnum())
                    or (before_number != -1 and not (new[j].isspace() or new[j] in _OPENING_QUOTES))
                )
            if not ok:
                return _number_reason(old, new)
        return None

    def _separates_number(self, position: int) -> bool:
        """Whether raw[position] is the one space between a number and another word: taking it
        away would make a number the OCR text did not have ('0. 00' -> '0.00', '#19- 18/01' -> '#19-18/01')."""
        left, right = position - 1, position + 1
        if left < 0 or right >= len(self.raw) or self.raw[left].isspace() or self.raw[right].isspace():
            return False
        return self.number_id[left] != -1 or self.number_id[right] != -1


def _protected_char(ch: str) -> bool:
    return ch.isdecimal() or ch in PROTECTED_SYMBOLS


def _number_reason(old: str, new: str) -> str:
    """Name the numbers that differ: 'number 100.00 changed to 1000.00', 'new number 250 ...'."""
    old_numbers, new_numbers = _numbers(old), _numbers(new)
    shared = Counter(map(_repaired, old_numbers)) & Counter(map(_repaired, new_numbers))
    removed, added = _unshared(old_numbers, shared.copy()), _unshared(new_numbers, shared.copy())
    parts = [f"number {a} changed to {b}" for a, b in zip(removed, added)]
    parts += [f"number {a} removed" for a in removed[len(added) :]]
    parts += [f"new number {b} not in OCR text" for b in added[len(removed) :]]
    return "; ".join(parts) or _not_applied(old, new, "numbers, dates and currency signs must stay as in the OCR text")


def _unshared(numbers: list[str], shared: Counter) -> list[str]:
    left = []
    for number in numbers:
        key = _repaired(number)
        if shared[key]:
            shared[key] -= 1
        else:
            left.append(number)
    return left


# --- chatter --------------------------------------------------------------------------------------

_FENCE = re.compile(r"```[\w+-]*[^\S\n]*\n(.*?)\n?[^\S\n]*```", re.S)
_PREAMBLE = re.compile(
    r"\A\s*(?:(?:sure|certainly|of course|okay|ok)\b[^\n]*?(?:[.!,:][^\S\n]*|\n+))?"
    r"(?:here(?:'s| is| are| you go)\b[^\n]*?:|(?:the )?(?:corrected|fixed|cleaned)(?: ocr)?(?: text| version)?(?: is)?\s*:|output\s*:)"
    r"[^\S\n]*\n?",
    re.I,
)
_TRAILING_NOTE = re.compile(
    r"\n\s*\(?\s*(?:\*\*)?(?:note|notes|explanation|changes(?: made)?|corrections(?: made)?)(?:\*\*)?\s*:.*\Z",
    re.I | re.S,
)
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»"}


def strip_chatter(candidate: str, raw: str = "") -> str:
    """Remove what a model wraps around its answer, unless the OCR text itself has it.

    Handles a preamble ("Here is the corrected text:", "Corrected text:"), a code fence, quotes
    around the whole answer and trailing notes ("Note: I fixed ...").
    """
    text = candidate.strip()
    raw = raw.strip()
    fence = _FENCE.search(text)
    if fence and "```" not in raw:
        text = fence.group(1).strip()
    preamble = _PREAMBLE.match(text)
    if preamble and not _PREAMBLE.match(raw):
        text = text[preamble.end() :].strip()
    note = _TRAILING_NOTE.search(text)
    if note and not _TRAILING_NOTE.search(raw):
        text = text[: note.start()].strip()
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1] and not (raw[:1] == text[0] and raw[-1:] == text[-1]):
        text = text[1:-1].strip()
    return text
