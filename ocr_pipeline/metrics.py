"""Character and word error rates, normalised the way OCR benchmarks compare text."""

from __future__ import annotations

import re

from rapidfuzz.distance import Levenshtein

_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Case-insensitive, whitespace collapsed: layout differences are not recognition errors."""
    return _SPACE.sub(" ", text).strip().casefold()


def cer(hypothesis: str, reference: str, normalized: bool = True) -> float:
    """Character error rate: edits needed to turn hypothesis into reference, per reference character."""
    if normalized:
        hypothesis, reference = normalize(hypothesis), normalize(reference)
    if not reference:
        return 0.0 if not hypothesis else 1.0
    return Levenshtein.distance(hypothesis, reference) / len(reference)


def wer(hypothesis: str, reference: str, normalized: bool = True) -> float:
    """Word error rate over whitespace-separated words."""
    if normalized:
        hypothesis, reference = normalize(hypothesis), normalize(reference)
    ref_words, hyp_words = reference.split(), hypothesis.split()
    if not ref_words:
        return 0.0 if not hyp_words else 1.0
    return Levenshtein.distance(hyp_words, ref_words) / len(ref_words)
