"""Is one change a repair of an OCR misreading? The verdict on a unit (units.py), with its reason.

A word change is scored in orders of magnitude (log10), as a noisy channel does: how much likelier
the new text is as written than the OCR text (`word_logprob`), less how unlikely the OCR was to
misread the new text as the old (`misreading_cost`), plus the trust the model's proposal earns.
`tho` -> `the` scores high (a far likelier word, one common misreading); `ran` -> `rang` low (a
real word already, and the new one is rarer); `conflagration` -> `blaze` very low (no OCR reads
one as the other). The score decides between a sure repair, a guess (taken only while the
chunk's sure repairs cover it, decision.py) and a refusal.

Around the score, rules no score may overrule: no invisible character comes in; case changes
must repair a slip or follow the line (`STAtIONERY` -> `STATIONERY`, not `Smith` -> `SMITH`); a
hyphen does not become a dash; a negation, number word or unit is never removed, replaced or
conjured from a real word, nor a word turned into its opposite (`paid` -> `unpaid`, `increased`
-> `decreased`, meaning.py); a name that
spells like one (mid-sentence, opening one, or after a title) changes only as a sure repair;
punctuation may lose stray marks, not gain new ones; words may be removed only when they are
stray fragments (a lone `I` before a capital is a rule the OCR read, a lone `e` a speck), and
never added.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from .channel import is_known, misreading_cost, spelling_logprob_per_letter, word_logprob
from .context import context_gain, removal_gain
from .drugs import other_drug
from .meaning import reversed_meaning
from .numbers import NUMBER_NEIGHBOURS
from .policy import GuardPolicy
from .units import ADDITION, EDGE_PUNCTUATION, MARKS, REMOVAL, WORD_CORE, Word, is_number

REPAIR, GUESS, REFUSED = "repair", "guess", "refused"

NEGATIONS = frozenset(
    "not no nor never none nothing nobody neither cannot can't don't won't isn't aren't wasn't "
    "weren't didn't doesn't hasn't haven't hadn't shouldn't wouldn't couldn't shan't mustn't needn't "
    "mightn't daren't oughtn't ain't nowhere "
    "without hardly scarcely barely seldom rarely "  # `taken without food`, `he hardly knew her`
    # in the other languages the OCR reads (German, French, Spanish, Italian, Dutch, Portuguese),
    # but for the short ones that English OCR debris spells (`ni`, `non`, `nem`) or English has (`sin`)
    "nicht kein keine keinen keinem keiner keines nie niemals nichts ohne nein "
    "pas jamais aucun aucune rien sans "
    "nunca nada ningún ninguno ninguna nadie tampoco "
    "senza nessuno nessuna niente "
    "niet geen nooit zonder "
    "não nenhum nenhuma".split()
)
NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million "
    "billion trillion dozen half quarter first second third fourth fifth sixth seventh eighth ninth tenth once "
    "twice thrice double triple nought naught "
    # in the other languages the OCR reads, but for those English has (`due`, `six`, `sept`, `mil`,
    # `um`, `dos`), that a name spells (`Otto`) or the OCR makes of English (`tre`, `mille`: `the`, `Mills`)
    "eins zwei drei vier fünf sechs sieben acht neun zehn zwölf zwanzig hundert tausend "
    "deux trois quatre cinq huit neuf dix vingt "
    "uno tres cuatro cinco seis siete ocho nueve diez veinte cien ciento "
    "quattro cinque sette nove dieci venti cento "
    "twee drie vijf zes zeven negen tien twintig honderd duizend "
    "dois três quatro oito dez vinte cem "
    # how often a dose is taken (twice a day, four times, every other day, at bedtime, as needed),
    # with its stops: without, `tid` and `bid` are the OCR's `did` and `and` too
    "b.i.d t.i.d q.i.d q.d q.o.d q.h.s o.d b.d t.d.s q.d.s p.r.n".split()
)
UNIT_WORDS = frozenset(
    "gram grams kilogram kilograms milligram milligrams pound pounds ounce ounces litre litres liter liters "
    "millilitre millilitres metre metres meter meters kilometre kilometres mile miles yard yards foot feet inch "
    "inches acre acres ton tons tonne tonnes percent per cent shilling shillings pence penny guinea guineas "
    "dollar dollars cent cents euro euros ringgit teaspoon teaspoons tablespoon tablespoons".split()
) | (NUMBER_NEIGHBOURS - frozenset("may march x in m s h l g w v c f k am".split()))  # those are words, too
PROTECTED_WORDS = NEGATIONS | NUMBER_WORDS | UNIT_WORDS
_DASHES = str.maketrans("–—", "--")
_MARKS_INSIDE = re.compile(r"[^\w'’-]+")
_QUOTE_MARKS = frozenset('"“”«»')
_BRACKETS = (("(", ")"), ("[", "]"), ("{", "}"))
# words in capitalised parts that are each a word (`TakeOut`, `HotCakes`) are written so; a capital
# inside a word that makes no such parts is an OCR slip (`EaSt`, `ClAptain`); `Mc` leads a name
_CAMEL_CASE = re.compile(r"(?<![^\W\d_])[A-Z][a-z]+(?:[A-Z][a-z]+)+(?![^\W\d_])")
_CAPITALISED_PART = re.compile(r"[A-Z][a-z]+")
_NAME_PREFIX = re.compile(r"^(?:Mc|M['’]|O['’])(?=[A-Z][a-z])")
_SENTENCE_END = tuple('.!?:;"”)')
_TITLES = frozenset("mr mrs ms dr st rev revd capt col gen lieut sgt messrs mme mlle prof hon jun sen no".split())
_SAME_SHAPE_CASE = frozenset("cosuvwxz")  # letters whose capital is their small letter, larger
_STRAY_BEFORE_LOWER = frozenset([",", ".", "'", ":", ";", "*", "..", "(", ")", "]", "[", "!", "_", ",'", ".'", ";'"])
_STRAY_BEFORE_UPPER = frozenset(["'", ";", "*", "_"])
_MEANINGFUL_SYMBOLS = frozenset("&#@+=/%$€£")  # stand-alone symbols that are no stray marks: 'GOODS & SERVICES'
_SINGLE_LETTER_WORDS = frozenset("aAIOo")
# a lone small letter that is no word (`v` is versus, `x` times) is a speck where the words around it
# meet without it (in the BLN600 training pairs: 422 gone from the transcript, 116 part of a misread
# word, `deceased b an` for `had`; the OCR text has 1,371 such letters, the transcripts 5)
_STRAY_LETTERS = frozenset("bcdefghjklmnpqrstuwyz")
_PLAUSIBLE_SPELLING = -1.35  # log10 per letter above which an unknown word spells like a real one
_NAME_FLOOR = -6.0  # a name (in title case) that spells like one is as likely as a word of Zipf frequency 3
# Capitals (receipts, headlines) carry names no dictionary has, and no small letters to betray a slip:
# such a word changes only by about one generic look-alike (channel.LOOKALIKE_COST): `TFL` -> `TEL`,
# not `TOKO` -> `TOGO`.
_NAME_MISREADING = 2.5
_FRAGMENT_ZIPF = 5.0  # a fragment of at most 3 letters less common than this may be a stray
_COMMON_ZIPF = 5.0  # a word this common (`to`, `the`, `if`) is no OCR debris a join may swallow
_SENTENCE_WORD_ZIPF = 5.5  # a capital opening a sentence is a name's, unless the word is this common
_PRINTED_WORD_ZIPF = 2.0  # ... or no word at all: below this, likelier an OCR garble than a name as printed
_JOIN_OR_SPLIT_GUESS = 1.0  # how much more (log10) a join or a split needs to be worth a guess
_REMOVAL_CONTEXT = 1.0  # log10 odds by which the neighbours must prefer to meet for words between them to go


@dataclass(frozen=True)
class Verdict:
    level: str  # REPAIR, GUESS or REFUSED
    why: str = ""  # for a guess or a refusal: one line a reviewer can check
    score: float | None = None  # log10 odds for the new text, where the verdict came from one
    debris: bool = False  # a guess that only removes OCR debris (stray fragments): see decision.py
    invented: bool = False  # a change no OCR misreading explains: it counts against the model's record (document.py)


@dataclass(frozen=True)
class Context:
    """What a verdict may look at besides the change: the OCR text and its words."""

    raw: str
    words: list[Word]
    beside_number: list[bool]  # per word: is the word before or after it a number

    def sentence_start(self, index: int) -> bool:
        """Whether word `index` opens a sentence (or the text, or a line); `Mr.` and an initial end none."""
        if index <= 0:
            return True
        previous = self.words[index - 1]
        if "\n" in self.raw[previous.end : self.words[index].start]:
            return True
        token = self.raw[previous.start : previous.end]
        core = previous.core(self.raw)
        if token.endswith(".") and (len(core) == 1 or core.casefold() in _TITLES):
            return False
        return token.endswith(_SENTENCE_END)

    def neighbours(self, first: int, last: int) -> tuple[str | None, str | None]:
        """The OCR words before word `first` and after word `last`, without their punctuation."""
        before = self.words[first - 1].core(self.raw) if first > 0 else None
        after = self.words[last + 1].core(self.raw) if last + 1 < len(self.words) else None
        return before, after

    def line_case(self, first: int, last: int) -> str:
        """'upper' when the other words of the line are (nearly) all in capitals, else ''."""
        line_start = self.raw.rfind("\n", 0, self.words[first].start) + 1
        line_end = self.raw.find("\n", self.words[last].end)
        line_end = len(self.raw) if line_end < 0 else line_end
        classes = [
            case_class(w.core(self.raw))
            for i, w in enumerate(self.words)
            if line_start <= w.start < line_end and not first <= i <= last
        ]
        classes = [c for c in classes if c]
        return "upper" if len(classes) >= 2 and sum(c == "upper" for c in classes) >= 0.8 * len(classes) else ""


def case_class(text: str) -> str:
    """'lower', 'upper', 'title' or 'mixed'; a name's `Mc`, `M'` or `O'` before its capital is no mixing."""
    letters = "".join(ch for ch in _NAME_PREFIX.sub("", text, count=1) if ch.isalpha())
    if not letters:
        return ""
    if letters.islower():
        return "lower"
    if letters.isupper():
        return "upper" if len(letters) > 1 else "title"
    if letters[0].isupper() and letters[1:].islower():
        return "title"
    return "mixed"


def judge(unit, context: Context, policy: GuardPolicy) -> Verdict:
    """The verdict on one unit under `policy`."""
    old, new = context.raw[unit.start : unit.end], unit.new
    invisible = [ch for ch in set(new) if unicodedata.category(ch) == "Cf" and new.count(ch) > old.count(ch)]
    if invisible:  # a zero-width space or a direction override: nothing an OCR misread, and unseen in review
        return Verdict(REFUSED, f"an invisible character (U+{ord(invisible[0]):04X}) is no OCR repair")
    if unit.kind == ADDITION:
        return Verdict(REFUSED, "words added: nothing in the OCR text shows them")
    if unit.kind == REMOVAL:
        return _removal(old, unit, context)
    if unit.kind == MARKS:
        return _marks(old, new, unit, context)
    return _words(old, new, unit, context, policy)


def _words(old, new, unit, context, policy: GuardPolicy) -> Verdict:
    if old.translate(_DASHES) == new.translate(_DASHES):
        return Verdict(REFUSED, "a dash for a hyphen is a matter of style, not an OCR repair")
    old_words, new_words = _letter_words(old), _letter_words(new)
    if old_words and all(map(is_number, old_words + new_words)):
        return Verdict(REPAIR)  # the number protection let only look-alike digits through
    protected = _protected_change(old_words, new_words)
    if protected:
        return Verdict(REFUSED, protected)
    case_refusal = _case_refusal(old, new, unit, context)
    if case_refusal:
        return Verdict(REFUSED, case_refusal)
    join_refusal = _join_refusal(old, new, old_words, new_words)
    if join_refusal:
        return Verdict(REFUSED, join_refusal)
    first_is_name = (
        _name_like(old, unit.first_word, context)
        and not _kept(old_words[0], new)
        and _letters(old) != _letters(new)  # the same letters, spaced or marked otherwise: no other name
    )
    gain = sum(word_logprob(w) for w in new_words) - sum(
        max(word_logprob(w, name_like=True), _NAME_FLOOR)
        if first_is_name and case_class(w) == "title" and _spells_like_a_word(w)
        else word_logprob(w, name_like=first_is_name)
        for w in old_words
    )
    cost = misreading_cost(old.strip(), new.strip())
    detail = f"word likelihood {gain:+.1f}"
    support = None  # what the neighbours add, for one known word changed into another
    if not first_is_name and _real_word_for_real_word(old_words, new_words, unit, context):
        before, after = context.neighbours(unit.first_word, unit.last_word)
        support = context_gain(before, old_words[0], new_words[0], after)
        gain += support
        detail += f", context {support:+.1f}"
    # a name earns no more trust from a lenient policy than from the strict one: a model's
    # `Browne` -> `Brown` is as likely a slip of its own as a repair
    trust = min(policy.model_trust, policy.name_trust) if first_is_name else policy.model_trust
    score = trust + gain - cost
    detail = f"log-odds {score:+.1f}: {detail}, misreading cost {cost:.1f}"
    if new_words and any(
        _folded(w) in PROTECTED_WORDS and _folded(w) not in map(_folded, old_words) for w in new_words
    ):
        if score >= policy.repair_score and not any(is_known(w) for w in old_words):
            return Verdict(REPAIR, score=score)
        return Verdict(REFUSED, f"a negation, number word or unit appears only as a sure repair ({detail})", score)
    # ... unless the text alone makes the new word likelier by more than the misreading costs
    # (`PLYBIOUTH` -> `PLYMOUTH`), without the trust the model's proposal earns
    if first_is_name and case_class(old) == "upper" and cost > max(_NAME_MISREADING, gain) and not _junk(old):
        return Verdict(REFUSED, f"a word in capitals changes only by one common misreading ({detail})", score)
    # a glued word that splits into common words as it is (`subjectto`) may still be split
    # otherwise (`thatshemight` -> `that he might`), but only as a guess (`subjected to`?)
    resplit = _changes_a_plain_split(old_words, new_words)
    if resplit:
        detail += "; the OCR word splits into common words as it is"
    if score >= policy.repair_score and not resplit:
        return Verdict(REPAIR, score=score)
    if first_is_name and any(_spells_like_a_word(w) for w in old_words):
        return Verdict(REFUSED, f"a name that spells like one changes only as a sure repair ({detail})", score)
    if first_is_name and not all(is_known(w) for w in new_words) and not _junk(old):
        return Verdict(REFUSED, f"a name is not changed into another unknown word ({detail})", score)
    supported = support is not None and support >= policy.known_word_context
    if not (policy.guess_known_words or supported) and old_words and all(is_known(w) for w in old_words):
        return Verdict(
            REFUSED, f"the OCR text is already made of known words, and this is no sure repair ({detail})", score
        )
    # a join or a split is likelier a wrong guess than a single word: it needs a better score
    if score >= policy.guess_score + (0 if unit.kind == WORD_CORE else _JOIN_OR_SPLIT_GUESS):
        return Verdict(GUESS, f"a guess, not a sure repair ({detail})", score)
    return Verdict(REFUSED, f"unlikely as an OCR misreading ({detail})", score, invented=True)


def _join_refusal(old: str, new: str, old_words: list[str], new_words: list[str]) -> str | None:
    """Words joined where the OCR text shows no misreading: a hyphen between two known words is
    spelling (`Good-bye`, `to-day`), not debris; a join keeps every common word it joins (`to tbe`
    -> `the` drops `to`)."""
    parts = old.strip().split("-")
    if (
        len(parts) == 2
        and not any(ch.isspace() for ch in old.strip())
        and new.strip() == "".join(parts)
        and all(part.isalpha() and is_known(part) for part in parts)
    ):
        return "a hyphen between two known words is spelling, not an OCR misreading"
    new_letters = _letters(new)
    if len(old_words) > len(new_words):
        dropped = [
            w
            for w in old_words
            if len(_letters(w)) > 1 and is_known(w, _COMMON_ZIPF) and _letters(w) not in new_letters
        ]
        if dropped:
            return f"words joined, and the known word {dropped[0]!r} lost in the join"
    return None


def _letters(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalpha())


def _changes_a_plain_split(old_words: list[str], new_words: list[str]) -> bool:
    return (
        len(old_words) == 1
        and len(new_words) > 1
        and old_words[0].isalpha()
        and old_words[0].casefold() != _letters("".join(new_words))
        and _splits_into_words(old_words[0], len(new_words))
    )


def _splits_into_words(word: str, count: int) -> bool:
    """Whether the word is `count` common words run together (`subjectto`, `ofthe`)."""
    letters = word.casefold()
    if is_known(letters) or len(letters) > 40:
        return False
    ways = {0: 0}  # end of a prefix made of common words -> how many words (the fewest)
    for end in range(1, len(letters) + 1):
        counts = [
            ways[start] + 1
            for start in range(max(0, end - 20), end - 1)
            if start in ways and is_known(letters[start:end], _COMMON_ZIPF - 1)
        ]
        if counts:
            ways[end] = min(counts)
    return ways.get(len(letters)) == count


def _real_word_for_real_word(old_words: list[str], new_words: list[str], unit, context: Context) -> bool:
    """One whole known word for another (not a part of a hyphenated word): what only context can judge."""
    word = context.words[unit.first_word]
    return (
        unit.kind == WORD_CORE
        and (unit.start, unit.end) == (word.core_start, word.core_end)
        and len(old_words) == len(new_words) == 1
        and is_known(old_words[0])
        and is_known(new_words[0])
    )


def _letter_words(text: str) -> list[str]:
    return [w for w in (token.strip(EDGE_PUNCTUATION) for token in text.split()) if w]


def _protected_change(old_words: list[str], new_words: list[str]) -> str | None:
    """A negation, number word or unit of the OCR text that the change drops or replaces, a word
    whose meaning the change turns round (meaning.py), or a drug's name made another's (drugs.py);
    a word is read whole and split at its marks too (not at hyphens or apostrophes), so that a code
    inside brackets counts (`TAX(RM)`)."""
    kept = {_folded(w) for w in new_words + _pieces(new_words)}
    for word in old_words + _pieces(old_words):
        folded = _folded(word)
        if folded in PROTECTED_WORDS and folded not in kept:
            kind = "negation" if folded in NEGATIONS else "number word" if folded in NUMBER_WORDS else "unit"
            return f"the {kind} {word!r} must stay"
    if len(old_words) == len(new_words) == 1:
        return reversed_meaning(old_words[0], new_words[0]) or other_drug(old_words[0], new_words[0])
    return None


def _folded(word: str) -> str:
    """A word as the protected lists spell it: small letters, a straight apostrophe (`can’t`)."""
    return word.casefold().replace("’", "'")


def _pieces(words: list[str]) -> list[str]:
    return [piece for word in words for piece in _MARKS_INSIDE.split(word) if piece]


def _case_refusal(old: str, new: str, unit, context: Context) -> str | None:
    """A letter may change case where the OCR slipped: a capital shaped like its small letter
    (`c o s u v w x z`: `SaW` -> `saw`, `Would` -> `would`), a word of mixed case made regular
    (`STAtIONERY`, `THAnK`), or a word put in capitals like the rest of its line. Any other case
    change is style, not a repair. Letters the change replaces are judged by the channel instead."""
    changed = _case_changes(old, new)
    if not changed:
        return None
    new_class = case_class(new)
    if any(case_class(word) == "mixed" for word in _letter_words(new)):
        return "the new text mixes capitals and small letters"
    if any(_written_in_parts(match.group()) for match in _CAMEL_CASE.finditer(old)):
        return "a word made of capitalised words is written so (`TakeOut`), not an OCR slip"
    line_in_capitals = context.line_case(unit.first_word, unit.last_word) == "upper"
    if line_in_capitals and case_class(old) == "upper":
        return "a word in capitals stays in capitals, like the rest of its line"
    if all(ch.casefold() in _SAME_SHAPE_CASE for ch in changed) or case_class(old) == "mixed":
        return None
    if new_class == "upper" and line_in_capitals:
        return None
    return f"case changed from {case_class(old)} to {new_class}: not an OCR slip, and not the line's case"


def _written_in_parts(word: str) -> bool:
    """`TakeOut`, `HotCakes`, `McDonald`: capitalised words of three letters or more (after `Mc`)."""
    parts = _CAPITALISED_PART.findall(word)
    if parts[0] == "Mc":
        parts = parts[1:]
    return all(len(part) >= 3 and is_known(part) for part in parts)


def _case_changes(old: str, new: str) -> list[str]:
    """The letters that are the same letter in both texts but in another case."""
    folded_old, folded_new = old.casefold(), new.casefold()
    if len(folded_old) != len(old) or len(folded_new) != len(new):  # 'ß' and the like: no case slip to judge
        return []
    changed = []
    for op in Levenshtein.opcodes(folded_old, folded_new):
        if op.tag == "equal":
            changed += [a for a, b in zip(old[op.src_start : op.src_end], new[op.dest_start : op.dest_end]) if a != b]
    return changed


def _name_like(old: str, index: int, context: Context) -> bool:
    """A capital where a sentence does not start (`Blakewater`), a word in capitals (`JALAN`), or a
    capital opening a sentence or a field (`Smith said`, `Blakewater was`, `Patient: Hartly`) unless
    the word is one of the commonest (`The`, `He`, `Mr`) or a label of a line that is no sentence
    (a receipt's `Discounl 0.00`); and any word after a title (`mr. smith`)."""
    word = _letter_words(old)[:1]
    if not word:
        return False
    kind = case_class(word[0])
    previous = context.words[index - 1] if index > 0 else None
    if previous is not None and previous.core(context.raw).casefold() in _TITLES:
        return word[0].isalpha()
    if kind != "title" or not context.sentence_start(index):
        return kind in ("upper", "title")
    if is_known(word[0], _SENTENCE_WORD_ZIPF):
        return False
    after_colon = previous is not None and context.raw[previous.start : previous.end].endswith(":")
    return after_colon or is_known(word[0], _PRINTED_WORD_ZIPF) or _prose_follows(index, context)


def _prose_follows(index: int, context: Context) -> bool:
    """Whether the next word, on the same line, starts with a small letter: a sentence runs on."""
    if index + 1 >= len(context.words):
        return False
    following = context.words[index + 1]
    if "\n" in context.raw[context.words[index].end : following.start]:
        return False
    core = following.core(context.raw)
    return bool(core) and core[0].islower()


def _junk(text: str) -> bool:
    """OCR debris in a word: a digit, a mark inside it, or capitals and small letters mixed."""
    return any(ch.isdecimal() for ch in text) or any(
        case_class(w) == "mixed" or not w.replace("'", "").isalpha() for w in _letter_words(text)
    )


def _kept(word: str, new: str) -> bool:
    """Whether a word with debris after its first run of letters keeps that run in the new text:
    `Higham.street` -> `Higham-street`, `W0ON` -> `WOON`. A name made of letters only is no such
    case: `Clark` -> `Clarke` is another name."""
    word = word.lstrip("-–—")
    letters = re.match(r"[^\W\d_]*", word).group()
    if not letters or letters == word:
        return False
    return letters in new


def _spells_like_a_word(word: str) -> bool:
    return is_known(word) or (not _junk(word) and spelling_logprob_per_letter(word) >= _PLAUSIBLE_SPELLING)


def _removal(old: str, unit, context: Context) -> Verdict:
    if any(context.beside_number[i] for i in range(unit.first_word, unit.last_word + 1)):
        return Verdict(REFUSED, "words removed beside a number")
    tokens = old.split()
    protected = _protected_change(_letter_words(old), [])
    if protected:
        return Verdict(REFUSED, protected)
    if all(_stray_symbols(token) for token in tokens):
        return Verdict(REPAIR)
    if all(_stray_symbols(token) or token in _STRAY_LETTERS for token in tokens) and _between_words(unit, context):
        return Verdict(REPAIR)  # a speck; else it may be a misread word (`b` for `had`) or a piece (`H s` for `his`)
    if tokens == ["I"] and _before_a_capital_or_nothing(unit.last_word, context):
        return Verdict(REPAIR)  # a column rule or border the OCR read as a letter (`I MURDER OF A ...`)
    if context.raw[: unit.start].rstrip().endswith("-"):
        return Verdict(REFUSED, "the rest of a word split at a hyphen is no stray fragment")
    if all(_stray_symbols(token) or _fragment(token) for token in tokens):
        return Verdict(GUESS, "a guess: the words removed may be stray fragments of the OCR", debris=True)
    support = _removal_support(unit, context)
    if support >= _REMOVAL_CONTEXT and not any(
        _name_like(context.words[i].core(context.raw), i, context) for i in range(unit.first_word, unit.last_word + 1)
    ):
        return Verdict(
            GUESS, f"a guess: the words around meet without the words removed (context {support:+.1f})", debris=True
        )
    return Verdict(REFUSED, "words removed: only stray marks and fragments may go")


def _before_a_capital_or_nothing(index: int, context: Context) -> bool:
    """Whether the word after word `index` starts with a capital or with no letter, or there is none:
    where a lone `I` stands so, the OCR read a rule or a border, not the pronoun (184 times in 194
    in the BLN600 training pairs; before a small letter it is the pronoun more often than not)."""
    if index + 1 >= len(context.words):
        return True
    following = context.raw[context.words[index + 1].start : context.words[index + 1].end]
    return not following[0].islower()


def _between_words(unit, context: Context) -> bool:
    """Whether the unit stands between two words of more than one letter that meet without it."""
    before, after = context.neighbours(unit.first_word, unit.last_word)
    return len(before or "") > 1 and len(after or "") > 1 and _removal_support(unit, context) > 0


def _removal_support(unit, context: Context) -> float:
    """What the neighbours add to the text without the unit's words (0 at either end of the text)."""
    before, after = context.neighbours(unit.first_word, unit.last_word)
    removed = [context.words[i].core(context.raw) for i in range(unit.first_word, unit.last_word + 1)]
    return removal_gain(before, removed, after)


def _stray_symbols(token: str) -> bool:
    return not any(ch.isalnum() or ch in _MEANINGFUL_SYMBOLS for ch in token)


def _fragment(token: str) -> bool:
    """A stray letter or a few small letters that make no common word: 'e', 'ti'; 'sllip' and 'TEO' are none."""
    core = token.strip(EDGE_PUNCTUATION + "-")
    letters = re.sub(r"[^\w]", "", core)
    if not letters or not letters.isalpha():
        return False
    if len(letters) == 1:
        return letters not in _SINGLE_LETTER_WORDS
    # capitals are a name or an abbreviation (`TEO`, `SDN`), not debris
    return len(letters) <= 3 and not letters.isupper() and not is_known(letters, _FRAGMENT_ZIPF)


def _marks(old: str, new: str, unit, context: Context) -> Verdict:
    """Punctuation before or after a word: stray marks may go and a doubled mark may lose its twin;
    a new mark, a quotation mark, or a number's punctuation stays as the OCR read it."""
    index = unit.first_word
    word = context.words[index]
    if context.beside_number[index] or any(ch.isdecimal() for ch in word.core(context.raw)):
        return Verdict(REFUSED, "a number's punctuation stays as in the OCR text")
    if _QUOTE_MARKS & set(old + new):
        return Verdict(REFUSED, "quotation marks stay as in the OCR text")
    if unit.start == word.start:  # before the word
        if any(opening in old and closing in context.raw[word.end :] for opening, closing in _BRACKETS):
            return Verdict(REFUSED, "a bracket that is closed later stays")
        if not new:
            return Verdict(REPAIR)
        return Verdict(REFUSED, "punctuation added or changed before a word")
    rest = context.raw[word.end :].lstrip()
    following = rest[:1]
    if len(old) > 1 and len(new) == 1 and new in old:
        return Verdict(GUESS, "a guess: a doubled mark reduced to one")
    if not rest:
        if old in (",", ";", ":") and new == ".":
            return Verdict(GUESS, "a guess: the text ends with a full stop")
        if not old and new == "." and case_class(word.core(context.raw)) == "lower":
            return Verdict(GUESS, "a guess: a sentence of prose ends with a full stop")
        return Verdict(REFUSED, "the text's last punctuation stays as in the OCR text")
    stray = old in _STRAY_BEFORE_LOWER and following.islower() or old in _STRAY_BEFORE_UPPER and following.isupper()
    if not new and stray:
        return Verdict(GUESS, "a guess: a stray mark inside a sentence")
    if old == "." and new == "," and following.islower():
        return Verdict(GUESS, "a guess: a full stop inside a sentence read for a comma")
    return Verdict(REFUSED, "punctuation added or changed: only stray marks may go")
