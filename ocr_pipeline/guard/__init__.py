"""The guard: what a model may change in OCR text, decided per chunk and then per change.

The question for each change is "could the OCR have misread the new text as the old?", not "is the
old text a word?". A noisy channel answers it: how likely the new text is as written, and how
likely the OCR was to print the old text for it, from misreadings counted on real OCR pairs.

| module | what |
|---|---|
| `policy` | the policies: strict, lenient, off |
| `decision` | one chunk's decision: rewrite check, units, the guess budget |
| `document` | a document's chunks together: the model's record on it, and whether its guesses need the budget |
| `alternatives` | the dictionary words that explain an OCR word best: a guess another word explains better is refused |
| `units` | words with their punctuation; a candidate's changes cut into units |
| `numbers` | numbers, amounts, dates, currency, units: protected character by character |
| `repairs` | the verdict on one unit: sure repair, guess or refusal, with its reason |
| `meaning` | a word turned into its opposite (`unpaid`, `decreased`; `antonyms.json`): refused by every policy |
| `drugs` | a drug's name made another's (`prednisone` -> `prednisolone`; `drug_names.json`): refused by every policy |
| `channel` | the OCR channel (`ocr_channel.json`) and word likelihoods (wordfreq, letter trigrams) |
| `context` | what a word's neighbours add (`word_context.json`: word-pair counts) |
| `chatter` | what a model wraps around its answer |
"""

from .chatter import strip_chatter
from .decision import GuardDecision, JudgedCandidate, apply_guard, decide, judge_candidate
from .document import GuardedDocument, ModelRecord, decide_document, guard_by_document, guard_document
from .numbers import LOOKALIKE_DIGITS, PROTECTED_SYMBOLS
from .policy import LENIENT, OFF, POLICIES, STRICT, GuardPolicy, get_policy

__all__ = [
    "LENIENT",
    "LOOKALIKE_DIGITS",
    "OFF",
    "POLICIES",
    "PROTECTED_SYMBOLS",
    "STRICT",
    "GuardDecision",
    "GuardPolicy",
    "GuardedDocument",
    "JudgedCandidate",
    "ModelRecord",
    "apply_guard",
    "decide",
    "decide_document",
    "get_policy",
    "guard_by_document",
    "guard_document",
    "judge_candidate",
    "strip_chatter",
]
