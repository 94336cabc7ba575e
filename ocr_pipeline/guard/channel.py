"""The OCR channel: how likely the OCR was to read a true text as the text it printed, and how
likely a word is as written.

Both answers are in log10 units ("orders of magnitude"), so a verdict can say in one line how
much more likely a change makes the text:

* `misreading_cost(ocr, truth)`: -log10 P(ocr | truth) relative to a correct reading: 0 for the
  same text (up to case), about 1 for a very common misreading (`h` read as `b`), 5 for an edit
  the table never saw. It is the cheapest way to turn the true text into the OCR text with the
  misreadings of the shipped table (`ocr_channel.json`, counted by `scripts/derive_ocr_channel.py`
  from BLN600 training pairs; MIT), plus generic look-alikes of printed capitals and digits, which
  newspaper text has few of and receipts many.
* `word_logprob(word, name_like)`: log10 P(word) as a word of text: wordfreq's frequency for a
  known word, else a spelling model (the table's letter trigrams) for the names and rare words no
  dictionary has, against which OCR garbage such as `tijoiullriledl` scores low.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path

from rapidfuzz.distance import Levenshtein

TABLE = Path(__file__).with_name("ocr_channel.json")
UNSEEN_EDIT = 5.0  # an edit the table never saw: about once in 100,000 characters
LOOKALIKE_COST = 2.5  # a generic look-alike missing from the table (`0`/`o`, `5`/`s`, `e`/`f`)
# Shapes OCR confuses in print, beyond what the newspaper pairs show: capitals (lower-cased here,
# as the table is), digits and letters, letter groups. Each pair is counted both ways.
LOOKALIKES = (
    ("o", "0"),
    ("o", "d"),
    ("o", "q"),
    ("d", "0"),
    ("q", "0"),
    ("i", "1"),
    ("l", "1"),
    ("i", "l"),
    ("i", "|"),
    ("l", "|"),
    ("1", "|"),
    ("s", "5"),
    ("b", "8"),
    ("z", "2"),
    ("g", "9"),
    ("g", "6"),
    ("b", "6"),
    ("e", "f"),
    ("c", "g"),
    ("u", "v"),
    ("m", "n"),
    ("h", "n"),
    ("p", "r"),
    ("b", "r"),
    ("m", "rn"),
    ("d", "cl"),
    ("w", "vv"),
    ("n", "ri"),
    ("h", "li"),
    ("a", "4"),
    ("t", "7"),
)
_MAX_TRUTH, _MAX_READ = 3, 4  # longest pieces in the table (a read piece may carry one more character)
_KNOWN_OOV = {False: -2.0, True: -1.0}  # log10 P(a word no dictionary knows): a name is ten times likelier
_JUNK_CHARACTER = -3.0  # log10 penalty for each character of a word that is neither letter nor apostrophe
_LETTER = re.compile(r"[^\W\d_]")
_APOSTROPHES = "'’"


class _Table:
    """The shipped statistics, loaded once: misreading costs and the letter-trigram model."""

    def __init__(self, path: Path = TABLE):
        data = json.loads(path.read_text(encoding="utf-8"))
        self.cost: dict[tuple[str, str], float] = {
            (truth, read): -math.log10(count / total) for truth, read, count, total in data["misreadings"]
        }
        for a, b in LOOKALIKES:
            for truth, read in ((a, b), (b, a)):
                self.cost[truth, read] = min(self.cost.get((truth, read), LOOKALIKE_COST), LOOKALIKE_COST)
        self.trigrams: dict[str, int] = data["letters"]
        self.contexts: dict[str, int] = {}
        self.bigrams: dict[str, int] = {}
        self.unigrams: dict[str, int] = {}
        for gram, count in self.trigrams.items():
            for table, key in ((self.contexts, gram[:2]), (self.bigrams, gram[1:]), (self.unigrams, gram[2])):
                table[key] = table.get(key, 0) + count
        self.bigram_contexts: dict[str, int] = {}
        for gram, count in self.bigrams.items():
            self.bigram_contexts[gram[0]] = self.bigram_contexts.get(gram[0], 0) + count
        self.letters = sum(self.unigrams.values())


@lru_cache(maxsize=1)
def _table() -> _Table:
    return _Table()


@lru_cache(maxsize=1 << 16)
def misreading_cost(ocr: str, truth: str) -> float:
    """-log10 P(OCR printed `ocr` | the text was `truth`), relative to reading it right; case is ignored."""
    ocr, truth = ocr.casefold(), truth.casefold()
    if ocr == truth:
        return 0.0
    read, true = "^" + ocr + "$", "^" + truth + "$"
    windows: list[list[int]] = []  # differing runs with one character of context, merged where they touch
    for op in Levenshtein.opcodes(true, read):
        if op.tag == "equal":
            continue
        window = [
            max(op.src_start - 1, 0),
            min(op.src_end + 1, len(true)),
            max(op.dest_start - 1, 0),
            min(op.dest_end + 1, len(read)),
        ]
        if windows and window[0] <= windows[-1][1] and window[2] <= windows[-1][3]:
            windows[-1][1], windows[-1][3] = max(windows[-1][1], window[1]), max(windows[-1][3], window[3])
        else:
            windows.append(window)
    return sum(_cheapest(true[a:b], read[c:d]) for a, b, c, d in windows)


def _cheapest(truth: str, read: str) -> float:
    """The cheapest chain of table misreadings (or unseen single edits) turning `truth` into `read`."""
    costs = _table().cost
    rows, columns = len(truth), len(read)
    best = [[math.inf] * (columns + 1) for _ in range(rows + 1)]
    best[0][0] = 0.0
    for i in range(rows + 1):
        for j in range(columns + 1):
            here = best[i][j]
            if here == math.inf:
                continue
            if i < rows and j < columns and truth[i] == read[j] and here < best[i + 1][j + 1]:
                best[i + 1][j + 1] = here
            for di, dj in ((1, 1), (1, 0), (0, 1)):
                if i + di <= rows and j + dj <= columns and here + UNSEEN_EDIT < best[i + di][j + dj]:
                    best[i + di][j + dj] = here + UNSEEN_EDIT
            for size in range(1, min(_MAX_TRUTH, rows - i) + 1):
                piece = truth[i : i + size]
                for length in range(min(_MAX_READ, columns - j) + 1):
                    cost = costs.get((piece, read[j : j + length]))
                    if cost is not None and here + cost < best[i + size][j + length]:
                        best[i + size][j + length] = here + cost
    return best[rows][columns]


@lru_cache(maxsize=1 << 16)
def zipf(word: str) -> float:
    """wordfreq's Zipf frequency of one word (0 for a string wordfreq would read as several words)."""
    from wordfreq import tokenize, zipf_frequency  # its word lists load on first use, not on import

    if any(ch.isdecimal() for ch in word) or tokenize(word, "en") != [word.casefold()]:
        return 0.0
    return zipf_frequency(word, "en")


def is_known(word: str, threshold: float = 3.0) -> bool:
    return zipf(word) >= threshold


@lru_cache(maxsize=1 << 16)
def word_logprob(word: str, name_like: bool = False) -> float:
    """log10 P(word) as written: a known word's frequency, or the chance of an unknown word spelled so.

    Hyphenated words count part by part; a possessive counts as its word; every character that is
    no letter (`stc'eet` has none, `SOCIETI;S` one) makes an unknown word a thousand times less likely.
    """
    total = 0.0
    for part in filter(None, re.split(r"[-–—]", word)):
        base = part[:-2] if part[-2:].casefold() in ("'s", "’s") else part
        known = 10 ** (zipf(base) - 9) if zipf(base) else 0.0
        letters = "".join(_LETTER.findall(base))
        junk = sum(1 for ch in base if not _LETTER.match(ch) and ch not in _APOSTROPHES)
        unknown = 10 ** (_KNOWN_OOV[name_like] + _spelling_logprob(letters) + _JUNK_CHARACTER * junk)
        total += math.log10(known + unknown)
    return total


def spelling_logprob_per_letter(word: str) -> float:
    """How word-like a spelling is, per letter: about -1.0 to -1.25 for English words and names,
    below -1.4 for most OCR garbage."""
    letters = "".join(_LETTER.findall(word))
    return _spelling_logprob(letters) / len(letters) if letters else -99.0


@lru_cache(maxsize=1 << 16)
def _spelling_logprob(letters: str) -> float:
    """log10 P(letters) under the letter-trigram model, interpolated with bigrams and single letters."""
    table = _table()
    padded = "<<" + letters.casefold() + ">"
    total = 0.0
    for i in range(2, len(padded)):
        gram = padded[i - 2 : i + 1]
        trigram = table.trigrams.get(gram, 0) / table.contexts[gram[:2]] if gram[:2] in table.contexts else 0.0
        context = table.bigram_contexts.get(gram[1], 0)
        bigram = table.bigrams.get(gram[1:], 0) / context if context else 0.0
        unigram = (table.unigrams.get(gram[2], 0) + 1) / (table.letters + len(table.unigrams) + 1)
        total += math.log10(0.6 * trigram + 0.3 * bigram + 0.1 * unigram)
    return total
