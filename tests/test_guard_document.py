"""The guard over a document: the model's record on it, what a good record earns, and what it does not."""

import dataclasses
import json
import subprocess
import sys

import pytest

from ocr_pipeline.guard import LENIENT, OFF, STRICT, ModelRecord, apply_guard, guard_by_document, guard_document
from ocr_pipeline.guard.alternatives import better_explanation, explanations

# Sure repairs a careful model makes: each the one likely reading of an OCR misreading (`tbe`,
# `tliat`, `dootor`), worth 22 characters over the nine chunks.
CAREFUL = [
    ("Tbe dootor said tliat tbe man was ill.", "The doctor said that the man was ill."),
    ("He left on Tuesdav.", "He left on Tuesday."),
    ("Tbe jury retired for an hour.", "The jury retired for an hour."),
    ("Tliey found tbe prisoner guilty.", "They found the prisoner guilty."),
    ("Tbe court rose at six.", "The court rose at six."),
    ("Tbe magistrate tben adjourned tbe case.", "The magistrate then adjourned the case."),
    ("Tbe witness oould not remember tbe hour.", "The witness could not remember the hour."),
    ("Tbe police-constable produced tbe knife.", "The police-constable produced the knife."),
    ("Tbe prisoner was tben removed.", "The prisoner was then removed."),
]
# A clean chunk where the model guesses one word: a guess no sure repair in the chunk pays for
GUESS = ("a bilae stood there", "a bill stood there")
# The same document from a model that invents: changes no OCR misreading explains
INVENTING = [
    ("Tbe dootor said tliat tbe man was ill.", "The physician declared the fellow unwell."),
    ("He went borne on Tuesdav.", "He rode home on Wednesday evening."),
    ("Tbe jury retired for an hour.", "The jurors withdrew for sixty minutes."),
    ("Tliey found tbe prisoner guilty.", "They found the prisoner guilty."),
]


def test_a_guess_alone_needs_the_budget_but_a_good_record_on_the_document_pays_for_it():
    assert apply_guard(*GUESS).text == GUESS[0]  # no sure repair in the chunk: the guess is held back
    guarded = guard_document(CAREFUL + [GUESS])
    assert guarded.record.repaired >= STRICT.record_evidence and guarded.record.invented == 0
    assert guarded.good_record
    assert guarded.decisions[-1].text == GUESS[1]
    assert [d.text for d in guarded.decisions[:-1]] == [candidate for _, candidate in CAREFUL]
    assert "a good record" in guarded.record.describe(STRICT)


def test_a_model_that_invents_keeps_the_budget_on_the_whole_document():
    guarded = guard_document(INVENTING + [GUESS])
    assert guarded.record.invented > guarded.record.repaired  # the rewritten chunks count against it
    assert not guarded.good_record
    assert guarded.decisions[-1].text == GUESS[0]
    assert "needed the per-chunk budget" in guarded.record.describe(STRICT)


def test_too_few_sure_repairs_are_no_record_to_judge():
    small = [CAREFUL[1], GUESS]  # `Tuesdav` -> `Tuesday`: 1 character
    guarded = guard_document(small)
    assert guarded.record.share == 1.0 and guarded.record.repaired < STRICT.record_evidence
    assert not guarded.good_record and guarded.decisions[-1].text == GUESS[0]
    assert "too few sure repairs" in guarded.record.describe(STRICT)


def test_the_record_s_bar_and_evidence_are_the_policy_s():
    assert not guard_document(CAREFUL + [GUESS], dataclasses.replace(STRICT, record_share=None)).good_record
    assert guard_document(CAREFUL[1:3] + [GUESS], dataclasses.replace(STRICT, record_evidence=1)).good_record
    record = ModelRecord(repaired=55, invented=45)
    assert record.share == 0.55
    assert not record.good(STRICT) and record.good(dataclasses.replace(STRICT, record_share=0.5))
    assert ModelRecord().share is None and not ModelRecord().good(STRICT)


@pytest.mark.parametrize(
    "raw, candidate",
    [
        ("a 5 mg dose", "a 50 mg dose"),  # a digit
        ("Mr. Clark said", "Mr. Clarke said"),  # a name
        ("he did not pay", "he did pay"),  # a negation
        ("the bill was paid", "the bill was unpaid"),  # the opposite
        ("take 2 tabs daily", "take 2 caps daily"),  # a unit
    ],
)
def test_a_good_record_lets_no_harmful_change_through(raw, candidate):
    guarded = guard_document(CAREFUL + [(raw, candidate)])
    assert guarded.good_record
    assert guarded.decisions[-1].text == raw


def test_with_a_good_record_a_guess_another_word_explains_better_is_refused():
    # 'isetinctly' is 'distinctly' with two common slips; 'instantly' needs edits no OCR makes
    best = explanations("isetinctly")[0]
    assert best[1] == "distinctly"
    word, margin = better_explanation("isetinctly", "instantly", STRICT.alternative_margin)
    assert word == "distinctly" and margin > STRICT.alternative_margin
    assert better_explanation("isetinctly", "distinctly", STRICT.alternative_margin) is None
    chunk = ("the identity was isetinctly proved", "the identity was instantly proved")
    guarded = guard_document(CAREFUL + [chunk])
    assert guarded.good_record and guarded.decisions[-1].text == chunk[0]
    assert "'distinctly' explains the OCR word better" in guarded.decisions[-1].reasons[0]
    right = ("the identity was isetinctly proved", "the identity was distinctly proved")
    assert guard_document(CAREFUL + [right]).decisions[-1].text == right[1]


def test_with_a_good_record_joins_splits_and_known_words_for_others_still_need_the_budget():
    known_for_known = ("devoted to its advancements", "devoted to its advancement")
    split = ("he returnedathe money", "he returned at the money")
    for chunk in (known_for_known, split):
        guarded = guard_document(CAREFUL + [chunk])
        assert guarded.good_record and guarded.decisions[-1].text == chunk[0], chunk


def test_with_a_good_record_those_guesses_get_a_larger_budget():
    """One sure repair (`Tbe`) pays for one known word made another alone, for two with a good record."""
    chunk = ("Tbe advancements and improvements", "The advancement and improvement")
    assert apply_guard(*chunk).text == "The advancement and improvements"  # budget 1: one character
    guarded = guard_document(CAREFUL + [chunk])
    assert guarded.good_record and guarded.decisions[-1].text == chunk[1]  # `good_record_budget`: 2
    tight = dataclasses.replace(STRICT, name="tight", good_record_budget=1.0)
    assert guard_document(CAREFUL + [chunk], tight).decisions[-1].text == "The advancement and improvements"


def test_lenient_and_off_keep_no_record():
    assert not guard_document(CAREFUL + [GUESS], LENIENT).good_record
    assert guard_document(CAREFUL + [GUESS], LENIENT).decisions[-1].text == GUESS[1]  # no budget anyway
    off = guard_document([("a 5 mg dose", "a 50 mg dose")], OFF)
    assert off.decisions[0].text == "a 50 mg dose" and off.record == ModelRecord()


def test_chunks_of_many_documents_are_judged_per_document_in_their_order():
    chunks = [("careful", raw, candidate) for raw, candidate in CAREFUL]
    chunks.insert(2, ("alone", *GUESS))
    chunks.append(("careful", *GUESS))
    decisions = guard_by_document(chunks)
    assert decisions[2].text == GUESS[0]  # a document of its own, with no record
    assert decisions[-1].text == GUESS[1]  # one of the careful model's document
    assert [d.text for d in decisions[:2]] == [CAREFUL[0][1], CAREFUL[1][1]]


def test_guard_command_judges_lines_of_one_document_together(tmp_path):
    lines = [{"id": i, "document": "article-1", "ocr": raw, "candidate": cand} for i, (raw, cand) in enumerate(CAREFUL)]
    lines.append({"id": "guess", "document": "article-1", "ocr": GUESS[0], "candidate": GUESS[1]})
    lines.append({"id": "alone", "ocr": GUESS[0], "candidate": GUESS[1]})
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "ocr_pipeline", "guard", str(pairs), "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    verdicts = [json.loads(line) for line in out.splitlines()]
    assert [v["id"] for v in verdicts] == [line["id"] for line in lines]
    assert verdicts[-2]["text"] == GUESS[1]  # the article's record pays for its guess
    assert verdicts[-1]["text"] == GUESS[0] and "do not cover it" in verdicts[-1]["reasons"][0]
