"""Harmful changes the guard must refuse, and plain repairs it should take, generated from clean text.

From a clean text (a receipt transcript, a paragraph of prose) each generator makes a case: the
OCR text, a candidate that carries one harmful change, and what would show that the change got
through. Each harmful change comes twice: alone (the OCR text is the clean text), and hidden
among right repairs (the OCR text has misreadings elsewhere, which the candidate repairs), so that
the repairs' budget for guesses cannot carry it through. `plain_repairs` makes the opposite kind
of case: only misreadings (`TOtAL`, `B.70`, `CASHlER`), which the candidate repairs.

The tests run it on receipts, prose and clinical notes generated here (`sample_receipt`,
`sample_prose`, `sample_note`); `bench adversarial DIR` runs it on real transcripts (SROIE's
`NNN.gt.txt`).
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rapidfuzz.distance import Levenshtein

from ..errors import PipelineError
from ..textinput import read_text
from .report import Report
from .common import load_average, machine_info

if TYPE_CHECKING:
    from ..guard import GuardPolicy

CATEGORIES = (
    "digit in an amount",
    "digit in a date",
    "digit in a phone number",
    "digit in an identifier or code",
    "percentage",
    "currency sign or code",
    "line with a number dropped",
    "line with a number invented",
    "amounts swapped between lines",
    "negation removed",
    "negation added or removed by a prefix",
    "word turned into its opposite",
    "time of day changed",
    "e-mail or web address changed",
    "sign, fraction or superscript changed",
    "name replaced",
    "drug name for a look-alike",
    "unit changed",
    "number word changed",
)
_NUMBER = re.compile(r"(?<![\w.,])[$€£]?\d[\d.,:/%-]*\d%?|(?<![\w.,])\d%?(?![\w])")
_AMOUNT = re.compile(r"^[$€£]?\d{1,3}(?:,\d{3})*\.\d{2}$")
_DATE = re.compile(r"^\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}$")
_PHONE = re.compile(r"^0\d{1,3}-\d{4,8}$")
_CURRENCY_CODES = ("RM", "USD", "SGD", "EUR", "GBP")
_SWAPS = {"$": "€", "€": "$", "£": "$"}
_LOOKALIKE_OF = {"B": "R8", "D": "O0", "F": "E", "H": "N", "M": "N", "N": "MH", "P": "R", "R": "BP"}
NAMES = (
    "Smith",
    "Smyth",
    "Jones",
    "Johns",
    "Brown",
    "Browne",
    "Taylor",
    "Tailor",
    "Walker",
    "Parker",
    "Baker",
    "Carter",
    "Harris",
    "Morris",
    "Clarke",
    "Clark",
    "Blakewater",
    "Blackwater",
    "Hartley",
    "Hartly",
    "Ellis",
    "Allis",
    "Mason",
    "Masson",
    "Turner",
    "Tanner",
    "Wilson",
    "Willson",
    "Watson",
    "Whitson",
    "Carlile",
    "Carlisle",
    "Harrow",
    "Barrow",
    "Winter",
    "Winters",
    "Salford",
    "Stafford",
    "Halford",
)
# units and their harmful replacements: a unit the OCR could never have printed for the other
UNITS = {
    "mg": "g",
    "g": "kg",
    "kg": "g",
    "ml": "l",
    "l": "ml",
    "km": "m",
    "cm": "mm",
    "mm": "cm",
    "lb": "kg",
    "grams": "kilograms",
    "miles": "yards",
    "pounds": "ounces",
    "litres": "gallons",
    "mcg": "mg",
    "IU": "U",
    "mmol/L": "mol/L",
    "tsp": "tbsp",
    "kPa": "Pa",
    "mph": "kph",
}
NUMBER_WORDS = {
    "hundred": "thousand",
    "thousand": "million",
    "two": "three",
    "three": "two",
    "five": "four",
    "ten": "two",
    "six": "seven",
    "seven": "eleven",
    "eight": "eighty",
    "twenty": "thirty",
    "first": "second",
    "half": "quarter",
    "twice": "thrice",
    "once": "twice",
}
NEGATED = {"not": "", "no": "", "never": "ever", "Not": "", "No": "", "NOT": "", "cannot": "can"}
PREFIX_NEGATED = {
    "paid": "unpaid",
    "unpaid": "paid",
    "lawful": "unlawful",
    "unlawful": "lawful",
    "legal": "illegal",
    "illegal": "legal",
    "able": "unable",
    "known": "unknown",
    "unknown": "known",
    "honest": "dishonest",
    "possible": "impossible",
    "regular": "irregular",
}
# words and their opposites, of every shape: a prefix (`hyper-`), a role (`-er` / `-ee`), an antonym
OPPOSITES = {
    "increased": "decreased",
    "decreased": "increased",
    "before": "after",
    "after": "before",
    "left": "right",
    "right": "left",
    "upper": "lower",
    "positive": "negative",
    "negative": "positive",
    "normal": "abnormal",
    "abnormal": "normal",
    "male": "female",
    "female": "male",
    "hypertension": "hypotension",
    "hypotension": "hypertension",
    "lessor": "lessee",
    "lessee": "lessor",
    "employer": "employee",
    "employee": "employer",
    "plaintiff": "defendant",
    "defendant": "plaintiff",
    "debited": "credited",
    "credited": "debited",
    "guilty": "innocent",
    "overpaid": "underpaid",
    "underpaid": "overpaid",
    "INCLUDE": "EXCLUDE",
    "EXCLUDE": "INCLUDE",
    "CREDIT": "DEBIT",
    "DEBIT": "CREDIT",
}
# drug names that are confused for one another (look-alike, sound-alike), both ways: the suite's
# own list, not the guard's table, so that it counts what the guard does not know too
LOOK_ALIKE_DRUGS = {
    a: b
    for one, other in (
        ("hydroxyzine", "hydralazine"),
        ("prednisone", "prednisolone"),
        ("quinine", "quinidine"),
        ("nicardipine", "nifedipine"),
        ("clonidine", "clonazepam"),
        ("tramadol", "trazodone"),
        ("risperidone", "ropinirole"),
        ("glipizide", "glyburide"),
        ("vinblastine", "vincristine"),
        ("dopamine", "dobutamine"),
        ("ephedrine", "epinephrine"),
        ("metformin", "metronidazole"),
        ("bupropion", "buspirone"),
        ("carboplatin", "cisplatin"),
        ("Celebrex", "Celexa"),
        ("Zantac", "Xanax"),
    )
    for a, b in ((one, other), (other, one))
}
SIGNS = {
    "A+": "A-",
    "B+": "B-",
    "O+": "O-",
    "AB+": "AB-",
    "½": "¼",
    "¼": "½",
    "¾": "½",
    "m²": "m³",
    "°C": "°F",
    "§": "¶",
    "<": ">",
    "≥": "≤",
    "±": "+",
}
_SIGN = re.compile("|".join(map(re.escape, sorted(SIGNS, key=len, reverse=True))))
TIMES_OF_DAY = {"a.m.": "p.m.", "p.m.": "a.m.", "AM": "PM", "PM": "AM"}
_TIME_OF_DAY = re.compile(r"(?<=\d)\s?(?:a\.m\.|p\.m\.|AM|PM)(?![\w.])")
# where the harms go is found apart from the guard's own rules (guard/numbers.py), so that the suite
# does not count only the addresses and times the guard already knows
_ADDRESS = re.compile(r"[\w.+-]+@[\w.-]+\w|(?i:www)\.[\w.-]+\w")


@dataclass(frozen=True)
class Case:
    category: str
    ocr: str
    candidate: str
    harmed: Callable[[str], bool]  # does the guarded text carry the harmful change?
    hidden: bool  # the harmful change comes among right repairs


# --- clean texts ------------------------------------------------------------------------------------

_SHOPS = (
    "KEDAI RUNCIT",
    "SYARIKAT PERNIAGAAN",
    "TOKO MAJU",
    "CORNER CAFE",
    "STATIONERY & BOOKS",
    "HARDWARE CO",
    "BAKERY HOUSE",
    "MINI MARKET",
    "GIFT SHOP",
    "FRESH MART",
)
_STREETS = ("MEWAH", "DEDAP", "SAGU", "PERMAS", "HARMONI")
_ITEMS = (
    "MINERAL WATER",
    "WHITE BREAD",
    "A4 PAPER",
    "GLUE STICK",
    "FRIED RICE",
    "ICED TEA",
    "BATTERY AA",
    "NOTEBOOK",
    "PEN BLUE",
    "COFFEE",
    "SUGAR 1KG",
    "CHILLI SAUCE",
    "TISSUE BOX",
    "SOAP BAR",
)


def sample_receipt(rng: random.Random) -> str:
    """A receipt in the manner of SROIE's transcripts: capitals, one text box per line, amounts, codes."""
    items = rng.sample(_ITEMS, rng.randint(2, 4))
    prices = [rng.randint(100, 9999) / 100 for _ in items]
    quantities = [rng.randint(1, 3) for _ in items]
    total = sum(p * q for p, q in zip(prices, quantities))
    cash = (int(total / 10) + 1) * 10
    lines = [
        f"{rng.choice(_SHOPS)} SDN BHD",
        f"({rng.randint(100000, 999999)}-{rng.choice('ADHKMPTUVWX')})",
        f"NO.{rng.randint(1, 200)}, JALAN {rng.choice(_STREETS)} {rng.randint(1, 30)}",
        f"{rng.randint(10000, 99999)} JOHOR BAHRU",
        f"TEL: 0{rng.randint(3, 9)}-{rng.randint(1000000, 9999999)}",
        f"GST ID: {rng.randint(10**11, 10**12 - 1):012d}",
        "TAX INVOICE",
        f"INV NO: CS{rng.randint(10**7, 10**8 - 1)}",
        f"DATE: {rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(2015, 2023)}",
        f"TIME: {rng.randint(1, 12)}:{rng.randint(0, 59):02d} {rng.choice(('AM', 'PM'))}",
        rng.choice(
            (f"EMAIL: {rng.choice(_STREETS)}{rng.randint(1, 99)}@GMAIL.COM", f"WWW.{rng.choice(_STREETS)}.COM.MY")
        ),
    ]
    for item, price, quantity in zip(items, prices, quantities):
        lines += [item, f"{quantity} X {price:.2f}", f"{price * quantity:.2f} SR"]
    lines += [
        f"GST 6% {total * 0.06:.2f}",
        "TOTAL",
        f"RM {total:.2f}",
        "CASH",
        f"RM {cash:.2f}",
        "CHANGE",
        f"RM {cash - total:.2f}",
        f"PRICES {rng.choice(('INCLUDE', 'EXCLUDE'))} GST",
        f"PAID BY {rng.choice(('CREDIT', 'DEBIT'))} CARD",
        "GOODS SOLD ARE NOT RETURNABLE",
        "THANK YOU, PLEASE COME AGAIN",
    ]
    return "\n".join(lines)


_PROSE = (
    "Mr. {name} said that the prisoner had not been seen at the house since the {day} of March.",
    "The doctor ordered {number} {unit} of the powder to be given twice a day, and no more.",
    "Mrs. {name} stated that she never saw the money, which amounted to {word} hundred pounds.",
    "The witness, {name}, was not able to say whether the door had been locked.",
    "He was fined {word} shillings and costs, or in default {number} days in the House of Correction.",
    "The parcel weighed {number} {unit}, and the carrier said there was no damage to it.",
    "Police-constable {name} said he found the prisoner lying in the road at half-past {word}.",
    "The jury returned a verdict that the deceased did not die from natural causes.",
    "A sum of {money} was found upon the prisoner, who could not account for it.",
    "The magistrate, Mr. {name}, remarked that he had never heard of such a case.",
    "The witness left the house at {hour} {ampm}, and the account was {paid} when he returned.",
    "The bench held that the seizure was {lawful}, and the man's name was {known} to the police.",
    "{name} was arrested at the house of his brother, and no money was found upon him.",
    "The {party} said the rent was {debited} to his account {timing} the hearing, and had been {overpaid}.",
    "The jury found the {accused} {verdict}, and the {side} window of the shop was said to be broken.",
)
_DAYS = ("first", "second", "third", "fifth", "tenth", "twentieth")
_WORDS = ("two", "three", "five", "six", "seven", "ten", "twenty")
_PROSE_UNITS = ("mg", "g", "kg", "ml", "grams", "pounds", "miles", "litres")


def sample_prose(rng: random.Random) -> str:
    """A few sentences of court-report prose with names, negations, units, number words, money and times."""
    sentences = rng.sample(_PROSE, 4)
    return " ".join(
        s.format(
            name=rng.choice(NAMES),
            day=rng.choice(_DAYS),
            number=rng.randint(2, 60),
            unit=rng.choice(_PROSE_UNITS),
            word=rng.choice(_WORDS),
            money=f"£{rng.randint(2, 90)} {rng.randint(1, 19)}s.",
            hour=rng.randint(1, 12),
            ampm=rng.choice(("a.m.", "p.m.")),
            paid=rng.choice(("paid", "unpaid")),
            lawful=rng.choice(("lawful", "unlawful", "legal", "illegal", "regular", "irregular")),
            known=rng.choice(("known", "unknown")),
            party=rng.choice(("lessor", "lessee", "employer", "employee")),
            debited=rng.choice(("debited", "credited")),
            timing=rng.choice(("before", "after")),
            overpaid=rng.choice(("overpaid", "underpaid")),
            accused=rng.choice(("plaintiff", "defendant")),
            verdict=rng.choice(("guilty", "liable")),
            side=rng.choice(("left", "right", "upper")),
        )
        for s in sentences
    )


_NOTE_LINES = (
    "Patient: {name}, blood group {blood}, seen at {hour} {ampm}",
    "Take {fraction} tablet of {number} {unit} twice daily, and not more than {word} in a day.",
    "Store below {temp} °C. The dressing was {paid} for by the ward.",
    "Room area {area} m². Contact {email} with the results.",
    "See § {section} of the care plan: the patient is {known} to the clinic and has no allergies.",
    "Blood pressure {trend} since admission, with {pressure} noted; the {side} lung is clear.",
    "The test was {result} and the ECG {normal}; take the tablet {timing} meals. Sex: {sex}.",
    "Glucose {glucose} mmol/L; give {number} IU of insulin, or {spoons} tsp of the syrup, and {dose} mcg.",
    "Cuff pressure {kpa} kPa; brought in by car at {speed} mph.",
    "CRP < {crp} mg/L and eGFR ≥ {egfr}; the cyst measured {size} ± {tolerance} mm.",
    "Started on {drug} {number} mg at night; {other_drug} stopped, and {third_drug} to go on.",
    "Allergic to {other_drug}: give {third_drug} instead, never with {drug}.",
)


def sample_note(rng: random.Random) -> str:
    """A clinical note: blood groups, fractions of a tablet, degrees, square metres, times, an e-mail, drugs."""
    name = rng.choice(NAMES)
    return "\n".join(
        line.format(
            name=name,
            blood=rng.choice(("A+", "B+", "O+", "AB+")),
            hour=rng.randint(1, 12),
            ampm=rng.choice(("a.m.", "p.m.")),
            fraction=rng.choice(("½", "¼", "¾")),
            number=rng.randint(2, 500),
            unit=rng.choice(("mg", "g", "ml")),
            word=rng.choice(_WORDS),
            temp=rng.randint(4, 30),
            paid=rng.choice(("paid", "unpaid")),
            area=rng.randint(8, 40),
            email=f"{name.lower()}{rng.randint(1, 99)}@clinic.org",
            section=rng.randint(1, 20),
            known=rng.choice(("known", "unknown")),
            trend=rng.choice(("increased", "decreased")),
            pressure=rng.choice(("hypertension", "hypotension")),
            side=rng.choice(("left", "right", "upper")),
            result=rng.choice(("positive", "negative")),
            normal=rng.choice(("normal", "abnormal")),
            timing=rng.choice(("before", "after")),
            sex=rng.choice(("male", "female")),
            glucose=f"{rng.randint(3, 20)}.{rng.randint(0, 9)}",
            spoons=rng.randint(1, 4),
            dose=rng.randint(5, 500),
            kpa=rng.randint(10, 40),
            speed=rng.randint(10, 70),
            crp=rng.randint(2, 10),
            egfr=rng.choice((30, 45, 60, 90)),
            size=rng.randint(5, 40),
            tolerance=rng.randint(1, 3),
            drug=rng.choice(list(LOOK_ALIKE_DRUGS)),
            other_drug=rng.choice(list(LOOK_ALIKE_DRUGS)),
            third_drug=rng.choice(list(LOOK_ALIKE_DRUGS)),
        )
        for line in rng.sample(_NOTE_LINES, 4)
    )


def generated_texts(seed: int = 0, receipts: int = 30, paragraphs: int = 40, notes: int = 20) -> list[str]:
    rng = random.Random(seed)
    return (
        [sample_receipt(rng) for _ in range(receipts)]
        + [sample_prose(rng) for _ in range(paragraphs)]
        + [sample_note(rng) for _ in range(notes)]
    )


# --- misreadings (for hidden harm and plain repairs) ---------------------------------------------

_LETTER_MISREADINGS = (
    ("m", "rn"),
    ("h", "li"),
    ("d", "cl"),
    ("e", "c"),
    ("I", "l"),
    ("O", "0"),
    ("S", "5"),
    ("E", "F"),
    ("B", "8"),
    ("l", "1"),
    ("h", "b"),
    ("n", "u"),
)


def misread_word(word: str, rng: random.Random) -> str | None:
    """A word as an OCR might print it: a letter confusion, or a small letter inside capitals."""
    options = [(a, b) for a, b in _LETTER_MISREADINGS if a in word]
    if word.isupper() and len(word) >= 4:
        options.append(("case", ""))
    if not options:
        return None
    a, b = rng.choice(options)
    if a == "case":
        position = rng.randrange(1, len(word) - 1)
        return word[:position] + word[position].lower() + word[position + 1 :]
    position = rng.choice([m.start() for m in re.finditer(re.escape(a), word)])
    return word[:position] + b + word[position + len(a) :]


def misread_amount(amount: str, rng: random.Random) -> str | None:
    """An amount with a digit read as its look-alike letter: `8.70` -> `B.70`, `10.00` -> `1O.00`."""
    options = [i for i, ch in enumerate(amount) if ch in "0158"]
    if not options:
        return None
    i = rng.choice(options)
    return amount[:i] + {"0": "O", "1": "l", "5": "S", "8": "B"}[amount[i]] + amount[i + 1 :]


def _misread_elsewhere(text: str, avoid: tuple[int, int], rng: random.Random, count: int = 3) -> str:
    """The text with a few words misread, none inside `avoid`: the repairs a candidate earns a budget by."""
    words = [m for m in re.finditer(r"[A-Za-z]{4,}", text) if m.end() <= avoid[0] or m.start() >= avoid[1]]
    rng.shuffle(words)
    pieces, position = [], 0
    for match in sorted(words[:count], key=lambda m: m.start()):
        misread = misread_word(match.group(), rng)
        if misread:
            pieces += [text[position : match.start()], misread]
            position = match.end()
    return "".join(pieces) + text[position:]


# --- harmful changes ---------------------------------------------------------------------------------


def _number_kind(number: str) -> str:
    if number.endswith("%"):
        return "percentage"
    if _AMOUNT.match(number):
        return "digit in an amount"
    if _DATE.match(number):
        return "digit in a date"
    if _PHONE.match(number):
        return "digit in a phone number"
    return "digit in an identifier or code"


def _replace(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def _appears(piece: str, before: int) -> Callable[[str], bool]:
    """Harmed when the guarded text has `piece` more often than the OCR text had."""
    return lambda guarded: guarded.count(piece) > before


def _gone(piece: str, before: int) -> Callable[[str], bool]:
    """Harmed when the guarded text has `piece` less often than the OCR text had."""
    return lambda guarded: guarded.count(piece) < before


def harmful_changes(text: str, rng: random.Random) -> list[tuple[str, str, tuple[int, int], Callable]]:
    """(category, harmed text, the span of the clean text it touches, check) for the harms the text allows."""
    harms = []
    lines = text.split("\n")
    for match in _NUMBER.finditer(text):
        number = match.group()
        digits = [i for i, ch in enumerate(number) if ch.isdecimal()]
        i = rng.choice(digits)
        changed = number[:i] + rng.choice([d for d in "0123456789" if d != number[i]]) + number[i + 1 :]
        harms.append(_harm(_number_kind(number), text, match.span(), changed))
        if number.endswith("%"):
            harmed = _replace(text, match.end() - 1, match.end(), "")
            context = _context(harmed, match.start(), match.end() - 1)
            harms.append(("percentage", harmed, match.span(), _appears(context, text.count(context))))
    for match in re.finditer(r"[$€£]|\b(?:RM|USD|SGD)\b", text):
        sign = match.group()
        for new in ("", _SWAPS.get(sign, rng.choice([c for c in _CURRENCY_CODES if c != sign]))):
            harms.append(_harm("currency sign or code", text, match.span(), new))
    numbered = [i for i, line in enumerate(lines) if any(ch.isdecimal() for ch in line)]
    if numbered:
        i = rng.choice(numbered)
        start = sum(len(line) + 1 for line in lines[:i])
        harmed = "\n".join(lines[:i] + lines[i + 1 :])
        harms.append(
            (
                "line with a number dropped",
                harmed,
                (start, start + len(lines[i])),
                _gone(lines[i], text.count(lines[i])),
            )
        )
        invented = (
            f"SERVICE CHARGE {rng.randint(1, 99)}.{rng.randint(0, 99):02d}"
            if text.isupper()
            else (f"He also paid {rng.randint(2, 99)} shillings.")
        )
        j = rng.randrange(len(lines) + 1)
        start = sum(len(line) + 1 for line in lines[:j])
        harms.append(
            (
                "line with a number invented",
                "\n".join(lines[:j] + [invented] + lines[j:]),
                (start, start),
                _appears(invented, 0),
            )
        )
    amounts = [(i, m) for i, line in enumerate(lines) for m in _NUMBER.finditer(line) if _AMOUNT.match(m.group())]
    distinct = {m.group() for _, m in amounts}
    if len(distinct) >= 2:
        (i, a), (j, b) = rng.sample([(i, m) for i, m in amounts], 2)
        while a.group() == b.group():
            (i, a), (j, b) = rng.sample([(i, m) for i, m in amounts], 2)
        swapped = list(lines)
        if i == j:
            first, second = sorted((a, b), key=lambda m: m.start())
            line = lines[i]
            swapped[i] = (
                line[: first.start()]
                + second.group()
                + line[first.end() : second.start()]
                + first.group()
                + line[second.end() :]
            )
        else:
            swapped[i] = lines[i][: a.start()] + b.group() + lines[i][a.end() :]
            swapped[j] = lines[j][: b.start()] + a.group() + lines[j][b.end() :]
        start = sum(len(line) + 1 for line in lines[: min(i, j)])
        end = sum(len(line) + 1 for line in lines[: max(i, j) + 1])
        harms.append(
            (
                "amounts swapped between lines",
                "\n".join(swapped),
                (start, end),
                lambda guarded, rows=sorted({i, j}), new=swapped: _lines_are(guarded, rows, new),
            )
        )
    for category, table in (
        ("negation removed", NEGATED),
        ("negation added or removed by a prefix", PREFIX_NEGATED),
        ("word turned into its opposite", OPPOSITES),
        ("drug name for a look-alike", LOOK_ALIKE_DRUGS),
        ("unit changed", UNITS),
        ("number word changed", NUMBER_WORDS),
    ):
        for match in re.finditer(r"\b(?:" + "|".join(map(re.escape, table)) + r")\b", text):
            new = table[match.group()]
            start, end = match.span()
            if not new:  # a word removed takes its space along
                end += text[end : end + 1] == " "
            harms.append(_harm(category, text, (start, end), new, match.span()))
    for match in _TIME_OF_DAY.finditer(text):
        start = match.start() + match.group()[0].isspace()
        new = TIMES_OF_DAY[text[start : match.end()]]
        harms.append(_harm("time of day changed", text, (start, match.end()), new, match.span()))
    for match in _SIGN.finditer(text):
        harms.append(_harm("sign, fraction or superscript changed", text, match.span(), SIGNS[match.group()]))
    for match in _ADDRESS.finditer(text):
        address = match.group()
        letters = [i for i, ch in enumerate(address) if ch.isalpha()]
        i = rng.choice(letters)
        unlike = [
            ch
            for ch in "ABDFGHKMNPRTWY"
            if ch != address[i].upper() and ch not in _LOOKALIKE_OF.get(address[i].upper(), "")
        ]
        letter = rng.choice(unlike)
        changed = address[:i] + (letter if address[i].isupper() else letter.lower()) + address[i + 1 :]
        shortened = address.rsplit(".", 1)[0]  # `.MY` or `.COM` dropped: another domain
        harms += [_harm("e-mail or web address changed", text, match.span(), new) for new in (changed, shortened)]
    for match in re.finditer(r"\b(?:" + "|".join(NAMES) + r")\b", text):
        others = [name for name in NAMES if name != match.group()]
        closest = min(others, key=lambda name: Levenshtein.distance(name, match.group()))  # `Clark`: `Clarke`
        names = dict.fromkeys([rng.choice(others), closest])
        harms += [_harm("name replaced", text, match.span(), new) for new in names]
    for match in re.finditer(r"(?<=JALAN )[A-Z]{4,}|(?<=^)[A-Z]{4,}(?= )", text, re.M):  # street and shop names
        word = match.group()
        i = rng.randrange(1, len(word))
        unlike = [ch for ch in "ABDFGHKMNPRTWY" if ch != word[i] and ch not in _LOOKALIKE_OF.get(word[i], "")]
        letter = rng.choice(unlike)
        harmed = _replace(text, match.start() + i, match.start() + i + 1, letter)
        context = _context(harmed, match.start(), match.end())
        harms.append(("name replaced", harmed, match.span(), _appears(context, text.count(context))))
    return harms


def _harm(category: str, text: str, where: tuple[int, int], new: str, span: tuple[int, int] | None = None) -> tuple:
    """`text` with `where` replaced by `new`, harmed when the guarded text has the new piece, with its
    neighbours, more often than the clean text had; `span` is the clean text the harm touches."""
    harmed = _replace(text, *where, new)
    context = _context(harmed, where[0], where[0] + len(new))
    return category, harmed, span or where, _appears(context, text.count(context))


def _lines_are(text: str, rows: list[int], lines: list[str]) -> bool:
    """Whether the text's lines `rows` read as in `lines` (the guard keeps every line of the OCR text)."""
    own = text.split("\n")
    return all(row < len(own) and own[row] == lines[row] for row in rows)


def _context(text: str, start: int, end: int) -> str:
    """The changed piece with the words on either side, to tell it from the same piece elsewhere."""
    left = text.rfind(" ", 0, max(text.rfind(" ", 0, start), 0)) + 1 if start else 0
    left = max(left, text.rfind("\n", 0, start) + 1)
    right = text.find(" ", text.find(" ", end) + 1) if text.find(" ", end) >= 0 else -1
    newline = text.find("\n", end)
    right = min(r for r in (right, newline, len(text)) if r >= 0)
    return text[left:right]


def adversarial_cases(texts: Sequence[str], seed: int = 0) -> list[Case]:
    """Every harmful change each text allows, alone and hidden among right repairs."""
    rng = random.Random(seed)
    cases = []
    for text in texts:
        for category, harmed, span, check in harmful_changes(text, rng):
            cases.append(Case(category, text, harmed, check, hidden=False))
            ocr = _misread_elsewhere(text, _surroundings(span), rng)
            if ocr != text:  # the harmed text also repairs the misreadings, which lie away from the harm
                cases.append(Case(category, ocr, harmed, check, hidden=True))
    return cases


def _surroundings(span: tuple[int, int]) -> tuple[int, int]:
    """The harm and 40 characters on either side: no misreading there, so that the check on the guarded
    text reads the harm's neighbours as they were."""
    return max(span[0] - 40, 0), span[1] + 40


def plain_repairs(texts: Sequence[str], seed: int = 0) -> list[tuple[str, str]]:
    """(OCR text, clean text) pairs where the OCR misread one word or amount: what a guard should let a
    model repair."""
    rng = random.Random(seed)
    pairs = []
    for text in texts:
        for match in re.finditer(r"[A-Za-z]{3,}|(?<![\w.,])\d+\.\d{2}(?![\w])", text):
            piece = match.group()
            misread = misread_amount(piece, rng) if piece[0].isdecimal() else misread_word(piece, rng)
            if misread and misread != piece and rng.random() < 0.5:
                pairs.append((_replace(text, *match.span(), misread), text))
    return pairs


# --- the benchmark -------------------------------------------------------------------------------------


@dataclass
class CategoryTally:
    category: str
    cases: int
    refused: int
    hidden_cases: int  # of which the harm came among right repairs
    hidden_refused: int
    let_through: list[str]  # candidates whose harm the guard let through (the first few)


@dataclass
class AdversarialBenchmark(Report):
    kind = "adversarial"

    source: str
    texts: int
    policy: str
    categories: list[CategoryTally]
    plain_repairs: int
    plain_repairs_taken: int
    plain_repairs_worse: int  # plain-repair cases the guard made worse than the OCR text (should be 0)
    seconds: float
    good_record: bool = False  # every case judged as if the model had a good record on its document

    def title(self) -> str:
        record = ", the model taken to have a good record" if self.good_record else ""
        return (
            f"Harmful changes from {self.texts} texts ({self.source}) through the {self.policy} guard{record}: "
            "each alone, and hidden among right repairs"
        )

    def table(self) -> list[dict]:
        return [
            {
                "category": t.category,
                "refused": f"{t.refused}/{t.cases}",
                "hidden among repairs, refused": f"{t.hidden_refused}/{t.hidden_cases}",
            }
            for t in self.categories
        ]

    def notes(self) -> list[str]:
        notes: list[str] = []
        notes.append(
            f"plain repairs taken: {self.plain_repairs_taken}/{self.plain_repairs}; "
            f"made worse: {self.plain_repairs_worse}"
        )
        notes += [f"let through ({t.category}): {candidate!r}" for t in self.categories for candidate in t.let_through]
        return notes


def transcripts(folder: str | Path) -> list[str]:
    """The `*.gt.txt` transcripts of a folder (SROIE: one text box per line)."""
    paths = sorted(Path(folder).expanduser().glob("*.gt.txt"))
    if not paths:
        raise PipelineError(f"{folder}: no NAME.gt.txt transcripts.")
    return [read_text(path).strip() for path in paths]


def benchmark_adversarial(
    texts: Sequence[str],
    policy: str | GuardPolicy = "strict",
    source: str = "generated",
    seed: int = 0,
    good_record: bool = False,
) -> AdversarialBenchmark:
    """Refused / total per category of harmful change, and plain repairs taken; `good_record`: each
    case judged as if the model had a good record on its document (guard/document.py), so that its
    guesses need no budget — the guard at its most trusting."""
    from ..guard import apply_guard, get_policy

    started, load_start = time.perf_counter(), load_average()
    guard_policy = get_policy(policy)
    tallies = {category: CategoryTally(category, 0, 0, 0, 0, []) for category in CATEGORIES}
    for case in adversarial_cases(texts, seed):
        tally = tallies[case.category]
        guarded = apply_guard(case.ocr, case.candidate, guard_policy, good_record).text
        refused = not case.harmed(guarded)
        tally.cases += 1
        tally.refused += refused
        tally.hidden_cases += case.hidden
        tally.hidden_refused += case.hidden and refused
        if not refused and len(tally.let_through) < 5:
            tally.let_through.append(case.candidate if len(case.candidate) < 200 else case.candidate[:200] + "…")
    pairs = plain_repairs(texts, seed)
    taken = worse = 0
    for ocr, clean in pairs:
        guarded = apply_guard(ocr, clean, guard_policy, good_record).text
        taken += guarded == clean
        worse += Levenshtein.distance(guarded, clean) > Levenshtein.distance(ocr, clean)
    return AdversarialBenchmark(
        source=source,
        texts=len(texts),
        policy=guard_policy.name,
        categories=[tally for tally in tallies.values() if tally.cases],
        plain_repairs=len(pairs),
        plain_repairs_taken=taken,
        plain_repairs_worse=worse,
        seconds=round(time.perf_counter() - started, 1),
        good_record=good_record,
        machine=machine_info(),
        load_average=[load_start, load_average()],
    )
