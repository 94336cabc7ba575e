"""Other words the OCR could have misread: the best explanation of an OCR word in the dictionary.

A model's word is one explanation of a garbled OCR word; the dictionary holds others. Where another
word explains the OCR text far better — likelier as a word, and reached by likelier misreadings
(`isetinctly` is `distinctly` with a lost `d` and an `e` for an `s`; `instantly` needs five edits
no OCR makes) — the model's word is likelier an invention than a repair. Each candidate is scored
as the guard scores the model's word (channel.py): log10 P(word) less the misreading cost. The
candidates are the commonest English words (wordfreq, the guard's "known" words) within a few
edits of the OCR word, found with rapidfuzz, then scored by the channel; no table is learned here.
"""

from __future__ import annotations

import bisect
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from .channel import misreading_cost, word_logprob

_MIN_ZIPF = 3.0  # the dictionary: words as common as the guard's known words (channel.is_known)
_VOCABULARY_SIZE = 80_000  # wordfreq's list, commonest first, is cut here before the Zipf bar (about 28,000 words)
_LENGTH_WINDOW = 2  # a candidate is at most this many letters longer or shorter than the OCR word
_CANDIDATES = 10  # the nearest candidates by edits that the channel then scores


@lru_cache(maxsize=1)
def _words_by_length() -> dict[int, tuple[str, ...]]:
    """The dictionary, grouped by the lengths of OCR word each group may explain."""
    from wordfreq import top_n_list, zipf_frequency  # its word lists load on first use, not on import

    ranked = top_n_list("en", _VOCABULARY_SIZE)  # commonest first: cut where the Zipf bar is passed
    end = bisect.bisect_left(ranked, -_MIN_ZIPF, key=lambda word: -zipf_frequency(word, "en"))
    words = [w for w in ranked[:end] if w.isalpha()]
    longest = max(map(len, words))
    return {
        length: tuple(w for w in words if abs(len(w) - length) <= _LENGTH_WINDOW)
        for length in range(1, longest + _LENGTH_WINDOW + 1)
    }


@lru_cache(maxsize=1 << 14)
def explanations(ocr_word: str) -> tuple[tuple[float, str], ...]:
    """The dictionary words nearest an OCR word, best explanation first: (log10 P(word) - misreading
    cost, word), the word in small letters. Empty for a word of no letters or too long to look up."""
    word = ocr_word.casefold()
    if not word.isalpha() or len(word) > 30:
        return ()
    nearest = process.extract(
        word,
        _words_by_length().get(len(word), ()),
        scorer=Levenshtein.distance,
        limit=_CANDIDATES,
        score_cutoff=max(2, (len(word) + 1) // 2),
    )
    scored = ((word_logprob(candidate) - misreading_cost(word, candidate), candidate) for candidate, _, _ in nearest)
    return tuple(sorted(scored, reverse=True))


def better_explanation(ocr_word: str, new_word: str, margin: float) -> tuple[str, float] | None:
    """Another dictionary word that explains `ocr_word` better than `new_word` does by more than
    `margin` orders of magnitude, with how much better; None where there is none."""
    old, new = ocr_word.casefold(), new_word.casefold()
    new_score = word_logprob(new) - misreading_cost(old, new)
    for score, candidate in explanations(old):
        if candidate in (old, new):
            continue
        return (candidate, score - new_score) if score - new_score > margin else None
    return None
