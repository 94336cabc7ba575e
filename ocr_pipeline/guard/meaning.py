"""One known word changed into another that turns its meaning round: refused under every policy.

The channel may find such words close (`hypotension` and `hypertension` differ by two letters,
`employer` and `employee` by one, `ascent` and `descent` by one), and the lenient policy, trusting
the model more, took many of them (`increased` -> `decreased`, `north` -> `south`, `majority` ->
`minority`). An OCR that misread one for the other is rare; a model that wrote one for the other
changed what the document says. Four shapes:

- a negating prefix added or taken away: `paid` / `unpaid`, `legal` / `illegal` (and `a-`, `ab-`
  where they negate: `normal` / `abnormal`, `symptomatic` / `asymptomatic`, listed as opposites);
- a prefix or a suffix for its opposite: `hypo-` / `hyper-`, `over-` / `under-`, `in-` / `ex-`,
  `-er` / `-ee`, `-ful` / `-less`;
- a word for its opposite, in any inflection both share: WordNet's antonyms (`antonyms.json`,
  derived by `scripts/derive_antonyms.py`: `debit` / `credit`, `debited`; `north` / `south`,
  `northern`; `guilty` / `innocent`), and those below that WordNet lacks (`before` / `after`);
- a modal verb for another: `shall` / `may`, `should` / `could`; `and` for `or`; `inst.` (this
  month) for `ult.` (last month) or `prox.` (next month).

OCR debris that looks like a prefix (`imto` -> `to`) is no word in the frequency list, so it may
still go: both words must be words. Pairs the OCR itself confused in the training rows (`here` /
`there`, `on` / `off`) are not in the table.
"""

from __future__ import annotations

import json
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

from .channel import is_known

TABLE = Path(__file__).with_name("antonyms.json")

NEGATING_PREFIXES = frozenset(prefix + hyphen for prefix in "un in im il ir dis non".split() for hyphen in ("", "-"))
_NEGATED_WORD_ZIPF = 2.0  # a rare negated word is a word still (`undamaged`, `nonpayment`); debris is rarer
# (one, its opposite): swapped at a word's end with at least `_STEM` letters before them
OPPOSING_SUFFIXES = (("er", "ee"), ("or", "ee"), ("ful", "less"))
# (one, its opposite) that WordNet's antonyms lack: swapped at a word's start, whatever follows, the
# same in both (`-ed`, `-s`, `-tension`); both must be words in the frequency list, as OCR debris seldom is
OPPOSITES = (
    # prefixes
    ("hypo", "hyper"),
    ("over", "under"),
    ("in", "out"),
    ("in", "ex"),
    ("im", "ex"),
    ("in", "de"),  # `increase`, `inflate`, `incline`
    ("en", "dis"),  # `enable`, `encourage`
    ("pre", "post"),
    ("sub", "super"),
    ("inter", "intra"),
    ("micro", "macro"),
    ("brady", "tachy"),
    ("max", "min"),
    # `a-` and `ab-` negate these; elsewhere they do not (`waiting` / `awaiting`), or are `a` glued on
    ("symptomatic", "asymptomatic"),
    ("moral", "amoral"),
    ("septic", "aseptic"),
    ("political", "apolitical"),
    # place and direction
    ("upper", "lower"),
    ("medial", "lateral"),
    # time and order
    ("before", "after"),
    ("earlier", "later"),
    ("earliest", "latest"),
    ("entry", "exit"),
    ("arrival", "departure"),
    ("arrive", "depart"),
    # quantity and direction of change
    ("rose", "fell"),
    ("profit", "loss"),
    ("surplus", "deficit"),
    # money and law
    ("payable", "receivable"),
    ("asset", "liabilit"),
    ("income", "expense"),
    ("bought", "sold"),
    ("landlord", "tenant"),
    ("vendor", "purchaser"),
    ("approve", "reject"),
    ("grant", "deny"),
    # state
    ("opened", "closed"),
    ("valid", "void"),
    # who: not `he` / `she` or `Mr` / `Mrs`, which the OCR confuses (a letter lost: 8 times in BLN600)
    ("his", "her"),
    ("him", "her"),
    ("himself", "herself"),
    ("men", "women"),
    ("neg", "pos"),  # a result's abbreviations: `HIV neg`
)
# what is required, allowed or foreseen: one for another changes a contract (`shall` -> `may`); no
# OCR slip in the 11,873 BLN600 rows turned one into another
MODAL_VERBS = frozenset("may might must shall should can could will would".split())
# all of them or one of them: `with or without food` is not `with and without food`; the OCR never
# printed one for the other in the BLN600 training rows
CONNECTIVES = frozenset("and or both either".split())
# this month, last month, next month, as letters and court reports date things (`the 5th inst.`)
MONTH_REFERENCES = frozenset("inst instant ult ultimo prox proximo".split())
_STEM = 3  # letters a suffix must leave for the rest to be a stem (`employ|er`, not `p|er` -> `p|ee`)
_WORD_ZIPF = 1.0  # both must be words in the frequency list (`tachycardia` is, rarely); debris is not


@lru_cache(maxsize=1 << 14)
def reversed_meaning(old: str, new: str) -> str | None:
    """Why one word changed into the other turns its meaning round, or None (case ignored)."""
    old, new = old.casefold(), new.casefold()
    if old == new:
        return None
    if _negates(old, new):
        return "a prefix that negates a word (un-, in-, dis-, non-) is never added or taken away"
    old, new = old.replace("-", ""), new.replace("-", "")  # `pre-operative`, `north-east`
    if old == new or not (old.isalpha() and new.isalpha() and is_known(old, _WORD_ZIPF) and is_known(new, _WORD_ZIPF)):
        return None
    if _swapped(old, new, _opposite_starts()):
        return f"{old!r} and {new!r} are opposites: a word never becomes its opposite"
    if old in MODAL_VERBS and new in MODAL_VERBS:
        return f"{old!r} and {new!r} say what is required or allowed: one never becomes the other"
    if old in CONNECTIVES and new in CONNECTIVES:
        return f"{old!r} and {new!r} join alternatives differently: one never becomes the other"
    if old in MONTH_REFERENCES and new in MONTH_REFERENCES and old[:3] != new[:3]:  # `inst.` may be `instant`
        return f"{old!r} and {new!r} name different months: one never becomes the other"
    if _swapped(old[::-1], new[::-1], _OPPOSITE_ENDS, _STEM):  # a suffix: a start, read backwards
        return f"{old!r} and {new!r} are opposite roles: a word never becomes its opposite"
    return None


def _negates(old: str, new: str) -> bool:
    shorter, longer = sorted((old, new), key=len)
    prefix = longer[: len(longer) - len(shorter)]
    return (
        prefix in NEGATING_PREFIXES
        and longer.endswith(shorter)
        and shorter.isalpha()
        and is_known(shorter, _NEGATED_WORD_ZIPF)
        and (is_known(longer, _NEGATED_WORD_ZIPF) or prefix.endswith("-"))
    )


def _swapped(old: str, new: str, starts: dict[str, frozenset[str]], stem: int = 0) -> bool:
    """Whether `old` is `new` with one start of a pair for the other, the rest (`stem` letters or more) equal."""
    return any(
        new.endswith(old[cut:]) and new[: len(new) - len(old) + cut] in starts.get(old[:cut], ())
        for cut in range(1, len(old) - stem + 1)
    )


def _starts(pairs) -> dict[str, frozenset[str]]:
    """Each word or prefix of the pairs, with what it may not become."""
    opposites = defaultdict(set)
    for one, other in pairs:
        opposites[one].add(other)
        opposites[other].add(one)
    return {start: frozenset(others) for start, others in opposites.items()}


@lru_cache(maxsize=1)
def _opposite_starts() -> dict[str, frozenset[str]]:
    """The pairs above and WordNet's (`antonyms.json`), by start; read on first use, not at start-up."""
    return _starts([*OPPOSITES, *json.loads(TABLE.read_text(encoding="utf-8"))["pairs"]])


_OPPOSITE_ENDS = _starts((one[::-1], other[::-1]) for one, other in OPPOSING_SUFFIXES)  # read backwards
