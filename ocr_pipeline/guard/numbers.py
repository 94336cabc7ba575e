"""Number protection: no digit, amount, date, time, currency sign or code, unit, percentage or
identifier changes, character by character.

Every character of the OCR text gets a permission: free, or the replacements it may take. Inside
a number only the OCR's look-alike letters may become their digits (`$1O0.00` -> `$100.00`, also
a letter opening an amount, `B.70` -> `8.70`); a digit inside a word may become a letter
(`Tota1` -> `Total`) or, where a known word results, go (`W1alton` -> `Walton`). A fraction or a
superscript is a digit (`½`, `m²`), but no OCR slip. Signs that carry a meaning (currency, `%`,
`°`, `§`, `+` as in `A+` or `+60`), and a month, unit (`mg`, `mcg`, `mmol/L`, `tsp`),
currency code or `a.m.` / `PM` beside a number, and a roman numeral where a number stands
(`section ii`, `(iv)`), may not change at all; nor may an e-mail or web
address (`info@shop.com.my`, `www.shop.com`), an identifier that a letter changes as surely as a
digit, but for the case of its letters, which an address ignores (`GmAIL` -> `GMAIL`). No digit or
sign may be added, no letter or sign glued to a number or an address, no space taken from or put
between a number and its neighbour.
"""

from __future__ import annotations

import re
from collections import Counter

from rapidfuzz.distance import Levenshtein

from .channel import is_known
from .units import EDGE_PUNCTUATION, Word, is_number, not_applied

LOOKALIKE_DIGITS = {"O": "0", "o": "0", "l": "1", "I": "1", "|": "1", "S": "5", "B": "8", "Z": "2", "g": "9"}
PROTECTED_SYMBOLS = frozenset("$€£¥₹¢₩₽%‰°§¶№+")  # `+` marks `A+` blood, a `B+` grade, a `+60` phone
# signs that compare or bound a number (`< 5`, `≥ 60`, `± 2`, `5 mg → 10 mg`): protected at a number
# or standing beside one; elsewhere the OCR makes them of specks (`>` and `=` in old newspapers)
COMPARISON_SIGNS = frozenset("<>≤≥≦≧±∓≠≈→←")
# Words that say what a number means: beside one, they are as protected as its digits.
NUMBER_NEIGHBOURS = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec "
    "mg g kg lb lbs oz ml l cl dl km m cm mm ft in yd mi kwh kw w v h hr hrs min s sec pcs pc qty x "
    "°c °f c f k rm usd eur gbp myr sgd idr inr aud cad chf jpy cny hkd rp am pm a.m p.m".split()
)
# ... and the units of science, medicine and the kitchen with their SI prefixes (`mcg`, `mmol`,
# `kPa`, `GHz`), protected beside a number only: alone, `ms` or `pa` may be OCR debris
_UNIT_SYMBOLS = frozenset(
    symbol.casefold()  # `µ` folds to the Greek `μ`
    for symbol in [prefix + base for prefix in ("m", "µ", "u", "mc", "n") for base in ("g", "l", "mol")]
    + [prefix + base for prefix in ("k", "m", "g") for base in ("w", "wh", "hz", "j", "b", "pa")]
    + "wh hz pa hpa dl µm nm µs ns ms kv mv ma mah mol meq mmhg kcal cal tsp tbsp mph kph kmh mins secs "
    "yr yrs wk wks ppm rpm cc".split()
    # the form a dose comes in: `2 tabs` is not `2 caps`
    + "tab tabs tablet tablets cap caps capsule capsules drop drops puff puffs sachet sachets vial vials "
    "ampoule ampoules dose doses".split()
)
_UNITS_BESIDE_A_NUMBER = NUMBER_NEIGHBOURS | _UNIT_SYMBOLS
_CASED_UNITS = frozenset(["IU"])  # international units; `iu` is the OCR's `in`
# e-mail and web addresses: a name with an `@`, one after `www.` or `http://`, or one that ends in a
# generic top-level domain (`shop.com`, `shop.com.my`); `end.He`, a space lost after a full stop, is none
_ADDRESS = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?:https?://|www\.)\S+"
    r"|[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|edu|gov|info|biz)(?:\.[a-z]{2})?(?:/\S*)?",
    re.IGNORECASE,
)
# a roman numeral is a number where a label asks for one or brackets hold it (`section ii`, `page xiv`,
# `(iv)`, `Stage IV`); elsewhere `ii` and `iii` are more often the OCR's `n` and `m`
_ROMAN = re.compile(r"(?=[ivxlcdm])m{0,3}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})", re.IGNORECASE)
_NUMBERED_LABELS = frozenset(
    "section sections sec sect page pages p pp chapter chap ch part article art clause schedule volume vol "
    "book para paragraph appendix annex table figure fig item note rule regulation reg stage grade class type "
    "phase level psalm".split()
)
_OPENING_QUOTES = frozenset("\"'“‘«")
_LETTER_RUN = re.compile(r"(?:[^\W\d_]|\|)+")
_ANY_LETTER = "any letter"  # marks a digit inside a word, which may become any letter


def names_a_unit(core: str) -> bool:
    """Whether a word says what the number beside it means: a month, a currency code, `a.m.`, or a
    unit, compound ones too (`mg`, `mcg`, `IU`, `mmol/L`, `km/h`, `tsp`, `mph`); no change may touch it."""
    # a compound is a unit where each part is one: `mmol/L`, `km/h`
    return core in _CASED_UNITS or all(part in _UNITS_BESIDE_A_NUMBER for part in core.casefold().split("/"))


def _repairable_positions(core: str) -> set[int]:
    """Letters inside a number the OCR may have confused with digits: all look-alikes, next to a digit
    or opening an amount before its decimal mark ('B.70')."""
    positions = set()
    for run in _LETTER_RUN.finditer(core):
        before = core[run.start() - 1] if run.start() else ""
        after = core[run.end() : run.end() + 2]
        opens_amount = run.start() == 0 and len(after) == 2 and after[0] in ".," and after[1].isdecimal()
        if all(ch in LOOKALIKE_DIGITS for ch in run.group()) and (
            before.isdecimal() or after[:1].isdecimal() or opens_amount
        ):
            positions.update(range(run.start(), run.end()))
    return positions


def _numbers(text: str) -> list[str]:
    return [w.core(text) for w in Word.all_in(text) if is_number(w.core(text))]


def _repaired(number: str) -> str:
    positions = _repairable_positions(number)
    return "".join(LOOKALIKE_DIGITS[ch] if i in positions else ch for i, ch in enumerate(number))


class NumberProtection:
    """For each OCR character: may it change, and into what; which number it belongs to."""

    def __init__(self, raw: str, words: list[Word]):
        self.raw = raw
        self.allowed: list[str | None] = [None] * len(raw)  # None: free; otherwise the permitted replacements
        self.number_id = [-1] * len(raw)  # the word index of the number (or address) a character belongs to
        self.sealed = [-1] * len(raw)  # the word index of a unit or roman numeral: no letter put in or on it
        self.addresses: list[tuple[int, int]] = []
        cores = [w.core(raw) for w in words]
        numeric = [is_number(core) for core in cores]
        self.beside_number = [
            (index > 0 and numeric[index - 1]) or (index + 1 < len(words) and numeric[index + 1])
            for index in range(len(words))
        ]
        for index, (word, core) in enumerate(zip(words, cores)):
            if _ADDRESS.fullmatch(core):  # its letters may change case only: addresses ignore case
                self.allowed[word.core_start : word.core_end] = [ch.swapcase() if ch.isalpha() else "" for ch in core]
                self.number_id[word.core_start : word.core_end] = [index] * len(core)
                self.addresses.append((word.core_start, word.core_end))
            elif numeric[index]:
                repairable = _repairable_positions(core)
                for offset in range(len(core)):
                    position = word.core_start + offset
                    self.allowed[position] = LOOKALIKE_DIGITS[core[offset]] if offset in repairable else ""
                    self.number_id[position] = index
            elif _ROMAN.fullmatch(core) and self._numbered(words, index):  # `section ii`: no letter changes
                self.allowed[word.core_start : word.core_end] = [""] * len(core)
                self.sealed[word.core_start : word.core_end] = [index] * len(core)
            elif any(ch.isnumeric() for ch in core):  # a word with an OCR digit in it: 'Tota1', 'f6llowed'
                for offset, ch in enumerate(core):
                    if ch.isnumeric():  # a fraction or superscript is no OCR slip: `metres²` keeps it
                        self.allowed[word.core_start + offset] = _ANY_LETTER if ch.isdecimal() else ""
            elif self.beside_number[index] and names_a_unit(core):
                self.allowed[word.core_start : word.core_end] = [""] * len(core)
                if len(core) > 1:  # `tsp` -> `tbsp`; a lone `f` or `m` is often debris, `;f` -> `of`
                    self.sealed[word.core_start : word.core_end] = [index] * len(core)
            token = raw[word.start : word.end]
            signs_only = set(token) <= COMPARISON_SIGNS
            if numeric[index] or (signs_only and self.beside_number[index]):  # `<5`, `< 5`
                for position in range(word.start, word.end):
                    if raw[position] in COMPARISON_SIGNS:
                        self.allowed[position] = ""
        for position, ch in enumerate(raw):
            if ch in PROTECTED_SYMBOLS:
                self.allowed[position] = ""

    def _numbered(self, words: list[Word], index: int) -> bool:
        """Whether word `index` stands where a number does: after a label (`section`, `page`) or in brackets."""
        word = words[index]
        label = index > 0 and words[index - 1].core(self.raw).casefold() in _NUMBERED_LABELS
        bracketed = self.raw[word.core_start - 1 : word.core_start] == "(" and self.raw[word.core_end :].startswith(")")
        return label or bracketed

    def refusal(self, start: int, end: int, new: str) -> str | None:
        """A reason if replacing raw[start:end] with `new` alters a protected character, else None."""
        old = self.raw[start:end]
        known_word = is_known(new.strip(EDGE_PUNCTUATION))  # what a stray digit in a word may leave behind
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
                ok = (
                    (allowed is _ANY_LETTER and known_word)
                    or allowed is None
                    and not (old[i].isspace() and self._separates_number(start + i))
                )
            else:  # insert before old[i]: nothing inside a number, no sign or letter glued to one
                after_number = self.number_id[start + i - 1] if i > 0 else -1
                before_number = self.number_id[start + i] if i < len(old) else -1
                after_sealed = self.sealed[start + i - 1] if start + i > 0 else -1
                before_sealed = self.sealed[start + i] if start + i < len(self.raw) else -1
                ok = not (
                    _protected_char(new[j])
                    or (new[j].isalnum() and (after_sealed != -1 or before_sealed != -1))
                    or after_number == before_number != -1
                    or (after_number != -1 and new[j].isalnum())
                    or (before_number != -1 and not (new[j].isspace() or new[j] in _OPENING_QUOTES))
                )
            if not ok:
                if any(a_start < end and start < a_end for a_start, a_end in self.addresses):
                    return not_applied(old, new, "e-mail and web addresses must stay as in the OCR text")
                if not new.strip() and self._whole_line(start, end):
                    lines = "a line" if "\n" not in old else f"{old.count(chr(10)) + 1} lines"
                    return not_applied(old, new, f"{lines} with numbers ({', '.join(_numbers(old))}) dropped")
                return _number_reason(old, new)
        return None

    def _whole_line(self, start: int, end: int) -> bool:
        """Whether raw[start:end] is a whole line: an invoice's item, a receipt's total."""
        return (start == 0 or self.raw[start - 1] == "\n") and (end == len(self.raw) or self.raw[end] == "\n")

    def _separates_number(self, position: int) -> bool:
        """Whether raw[position] is the one space between a number and another word: taking it
        away would make a number the OCR text did not have ('0. 00' -> '0.00', '#19- 18/01' -> '#19-18/01')."""
        left, right = position - 1, position + 1
        if left < 0 or right >= len(self.raw) or self.raw[left].isspace() or self.raw[right].isspace():
            return False
        return self.number_id[left] != -1 or self.number_id[right] != -1


def _protected_char(ch: str) -> bool:
    """What no change may bring in: a digit, a sign with a meaning, a comparison (`CRP 5` -> `CRP < 5`)."""
    return ch.isnumeric() or ch in PROTECTED_SYMBOLS or ch in COMPARISON_SIGNS


def _number_reason(old: str, new: str) -> str:
    """Name the numbers that differ: 'number 100.00 changed to 1000.00', 'new number 250 ...'."""
    old_numbers, new_numbers = _numbers(old), _numbers(new)
    shared = Counter(map(_repaired, old_numbers)) & Counter(map(_repaired, new_numbers))
    removed, added = _unshared(old_numbers, shared.copy()), _unshared(new_numbers, shared.copy())
    parts = [f"number {a} changed to {b}" for a, b in zip(removed, added)]
    parts += [f"number {a} removed" for a in removed[len(added) :]]
    parts += [f"new number {b} not in OCR text" for b in added[len(removed) :]]
    why = "numbers, dates, units and signs (currency, %, °, §, +) must stay as in the OCR text"
    return "; ".join(parts) or not_applied(old, new, why)


def _unshared(numbers: list[str], shared: Counter) -> list[str]:
    left = []
    for number in numbers:
        key = _repaired(number)
        if shared[key]:
            shared[key] -= 1
        else:
            left.append(number)
    return left
