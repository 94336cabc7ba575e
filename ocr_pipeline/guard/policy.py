"""Guard policies: named, frozen sets of thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from collections.abc import Mapping


@dataclass(frozen=True)
class GuardPolicy:
    """Thresholds of one policy. `enabled=False` accepts every candidate (to measure the bare model).

    Scores are log10 odds that the new text is what was printed (repairs.py): `model_trust` is what
    the model's proposal itself is worth, `repair_score` the score of a sure repair, `guess_score`
    the lowest score still worth a guess. A model has a good record on a document (document.py)
    where at least `record_share` of the characters it changed there are sure repairs rather than
    inventions, over at least `record_evidence` characters of sure repairs: its guesses there need
    no budget (but joins and splits), and a guess for which another dictionary word explains the
    OCR word better by `alternative_margin` orders of magnitude is refused (alternatives.py). The
    defaults were chosen by cross-validation over the articles of BLN600 model outputs
    (docs/benchmarks.md).
    """

    name: str
    enabled: bool = True
    max_edit_ratio: float = 0.6  # character edits per OCR character above which a candidate is a rewrite
    max_length_change: float = 0.5  # relative length change above which a candidate is a rewrite
    # ... unless its sure repairs make at least this share of the characters it changes: a line the OCR
    # garbled badly needs many changes, and such a candidate is judged change by change
    rewrite_repair_share: float | None = 0.1
    model_trust: float = 2.0
    name_trust: float = 2.0  # the most a proposal earns where it changes a name: lenient trusts words more, not names
    repair_score: float = 1.0
    guess_score: float = -4.0
    guess_budget: float | None = 1.0  # characters guesses may change per character of sure repairs; None: any
    # ... where the model has a good record on the document, for the guesses that still need a budget there
    # (joins, splits, one known word for another)
    good_record_budget: float = 2.0
    debris_in_noisy_chunks: bool = True  # stray fragments go without budget where the chunk has a sure repair
    guess_known_words: bool = True  # may a known word become another as a guess (not only as a sure repair)
    known_word_context: float = 0.5  # ... or where its neighbours prefer the new word by this much (log10 odds)
    keep_line_breaks: bool = True
    record_share: float | None = 0.6  # None: no record is good enough, every guess needs the budget
    record_evidence: int = 20
    alternative_margin: float = 4.0


STRICT = GuardPolicy("strict")
LENIENT = GuardPolicy(
    "lenient",
    max_edit_ratio=0.7,
    max_length_change=0.6,
    model_trust=3.0,
    guess_score=-6.0,
    guess_budget=None,
    keep_line_breaks=False,
    record_share=None,  # its guesses need no budget anyway
)
OFF = GuardPolicy("off", enabled=False)
POLICIES: Mapping[str, GuardPolicy] = MappingProxyType({p.name: p for p in (STRICT, LENIENT, OFF)})


def get_policy(policy: str | GuardPolicy) -> GuardPolicy:
    if isinstance(policy, GuardPolicy):
        return policy
    if policy not in POLICIES:
        raise ValueError(f"Unknown guard policy '{policy}'. Choose one of: {', '.join(POLICIES)}.")
    return POLICIES[policy]
