"""Word context: how much likelier the neighbouring words make one word than another.

A real-word misreading (`be` for `he`, `tho` for `the`, `bark` for `bank`) is a known word in
both readings, so its likelihood as a word cannot tell them apart; its neighbours can ("said he",
not "said be"). `context_gain(previous, old, new, following)` is the log10 odds the neighbours add
to `new` over `old`, beyond the words' own frequencies: for each neighbour, how much more often
the pair was seen than the two words' counts predict (word and pair counts from the ground truth
of the BLN600 training articles, `word_context.json`, counted by `scripts/derive_word_context.py`;
MIT), smoothed so that a pair of rare words, seen or not, says little. Only neighbours that are
known words count: OCR debris says nothing. `removal_gain(previous, removed, following)` asks the
same of words the OCR put between two others ("refused a to pay": "refused to" is far likelier
than "refused a" and "a to").
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

from .channel import is_known

TABLE = Path(__file__).with_name("word_context.json")
SMOOTHING = 1.0  # pairs added to both the observed and the expected count of a pair
_APOSTROPHES = str.maketrans("’", "'")


class _Pairs:
    """The shipped counts, loaded once."""

    def __init__(self, path: Path = TABLE):
        data = json.loads(path.read_text(encoding="utf-8"))
        self.words: dict[str, int] = data["words"]
        self.pairs: dict[str, int] = data["pairs"]
        self.total = sum(self.words.values())

    def affinity(self, first: str, second: str) -> float:
        """log10 of how much more often the pair was seen than its words' counts predict (smoothed)."""
        expected = self.words.get(first, 0) * self.words.get(second, 0) / self.total
        return math.log10((self.pairs.get(f"{first} {second}", 0) + SMOOTHING) / (expected + SMOOTHING))


@lru_cache(maxsize=1)
def _pairs() -> _Pairs:
    return _Pairs()


def _folded(word: str) -> str:
    return word.casefold().translate(_APOSTROPHES)


def context_gain(previous: str | None, old: str, new: str, following: str | None) -> float:
    """log10 odds the neighbours add to `new` over `old` (0 without a known neighbour)."""
    old, new = _folded(old), _folded(new)
    pairs = _pairs()
    gain = 0.0
    if previous and is_known(previous):
        previous = _folded(previous)
        gain += pairs.affinity(previous, new) - pairs.affinity(previous, old)
    if following and is_known(following):
        following = _folded(following)
        gain += pairs.affinity(new, following) - pairs.affinity(old, following)
    return gain


def removal_gain(previous: str | None, removed: list[str], following: str | None) -> float:
    """log10 odds the neighbours add to the text without `removed` (0 unless both are known words)."""
    if not (previous and following and is_known(previous) and is_known(following)):
        return 0.0
    pairs = _pairs()
    sequence = [_folded(previous)] + [_folded(word) for word in removed] + [_folded(following)]
    kept = pairs.affinity(sequence[0], sequence[-1])
    return kept - sum(pairs.affinity(first, second) for first, second in zip(sequence, sequence[1:]))
