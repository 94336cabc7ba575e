"""Chunking: nothing is lost, budgets hold, splits prefer pages, paragraphs and lines."""

import math
import random

import pytest

from ocr_pipeline.chunking import (
    DEFAULT_TOKEN_BUDGET,
    NEW_TOKENS_FACTOR,
    NEW_TOKENS_MARGIN,
    chunk_text,
    document_text,
    join_chunks,
    max_new_tokens_for,
)


def words(text: str) -> int:
    """A token counter where every word and every 4 characters of a long word cost a token."""
    return sum(max(1, math.ceil(len(word) / 4)) for word in text.split())


def word_count(text: str) -> int:
    return len(text.split())


def characters(text: str) -> int:
    return len(text)


def check_invariants(source, chunks, budget, count=words):
    assert join_chunks(chunks) == document_text(source)
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
    for position, chunk in enumerate(chunks):
        assert chunk.separator.strip() == ""  # only blank space and page breaks between chunks
        if chunk.needs_model:
            assert chunk.text == chunk.text.strip() and "\f" not in chunk.text
            assert chunk.tokens == count(chunk.text) <= budget
        else:
            assert position == 0 and chunk.tokens == 0  # only blank space at the very start


_PIECES = [
    "word",
    "Tota1",
    "$100.00",
    "a",
    "longerwordwithoutspaces",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n",
    "\n \n",
    "\f",
    "\r\n",
    "é",
    "\u00a0",
]


@pytest.mark.parametrize("seed", range(400))
def test_joining_the_chunks_gives_back_the_input_exactly(seed):
    rng = random.Random(seed)
    text = "".join(rng.choice(_PIECES) for _ in range(rng.randrange(0, 120)))
    budget = rng.choice([1, 2, 3, 5, 8, 20, 200])
    count = rng.choice([words, word_count, characters])
    check_invariants(text, chunk_text(text, count, budget), budget, count)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n",
        "\f",
        "\f\f",
        "  \n\n  ",
        "a",
        " a",
        "a ",
        "\na\n",
        "a\f\fb",
        "\f a \f",
        "a\n\n\n\nb",
        "x\r\n\r\ny",
        "\u00a0a\u00a0",
    ],
)
def test_whitespace_edge_cases_round_trip(text):
    for budget in (1, 3, DEFAULT_TOKEN_BUDGET):
        check_invariants(text, chunk_text(text, words, budget), budget)


def test_blank_documents_send_nothing_to_the_model():
    assert chunk_text("", words) == []
    chunks = chunk_text(" \n\n\t", words)
    assert len(chunks) == 1 and not chunks[0].needs_model and chunks[0].text == " \n\n\t"
    leading = chunk_text("\n\n  Hello there", words)
    assert [c.needs_model for c in leading] == [False, True] and leading[1].text == "Hello there"


def test_pages_from_a_list_or_form_feeds_give_page_numbers():
    pages = ["First page text.", "", "Third page\n\nwith two paragraphs."]
    chunks = chunk_text(pages, word_count, 4)
    check_invariants(pages, chunks, 4, word_count)
    assert join_chunks(chunks) == "First page text.\n\f\n\n\f\nThird page\n\nwith two paragraphs."
    assert [(c.page, c.text) for c in chunks] == [
        (1, "First page text."),
        (3, "Third page"),
        (3, "with two paragraphs."),
    ]
    assert chunk_text("a\fb", words)[1].page == 2


def test_paragraphs_are_packed_and_never_cut_when_they_fit():
    paragraphs = ["one two three", "four five", "six seven eight nine", "ten"]
    chunks = chunk_text("\n\n".join(paragraphs), word_count, 6)
    assert [c.text for c in chunks] == ["one two three\n\nfour five", "six seven eight nine\n\nten"]
    assert all(c.split_warning is None for c in chunks)


def test_a_long_paragraph_is_split_at_lines():
    text = "alpha beta\ngamma delta\nepsilon zeta"
    chunks = chunk_text(text, word_count, 4)
    assert [c.text for c in chunks] == ["alpha beta\ngamma delta", "epsilon zeta"]
    assert [c.separator for c in chunks] == ["\n", ""]


def test_a_line_longer_than_the_budget_is_split_between_words_and_says_so():
    line = "one two three four five six seven"
    chunks = chunk_text(f"short\n{line}", word_count, 3)
    assert [c.text for c in chunks] == ["short", "one two three", "four five six", "seven"]
    assert chunks[0].split_warning is None
    assert all("split between words" in c.split_warning for c in chunks[1:])


def test_a_word_longer_than_the_budget_is_split_inside_and_says_so():
    chunks = chunk_text("x" * 30, words, 2)
    assert "".join(c.text for c in chunks) == "x" * 30
    assert all(c.tokens <= 2 and "split inside" in c.split_warning for c in chunks)


def test_max_new_tokens_follows_the_chunk_length():
    assert max_new_tokens_for(100) == math.ceil(100 * NEW_TOKENS_FACTOR) + NEW_TOKENS_MARGIN
    assert max_new_tokens_for(10) < max_new_tokens_for(100) < max_new_tokens_for(1000)


def test_budget_must_be_positive():
    with pytest.raises(ValueError, match="token_budget"):
        chunk_text("text", words, 0)
