"""Diffs: word records with character detail, escaped HTML, visible line breaks."""

import re

from ocr_pipeline.diff import Change, changed_word_count, inline_html, side_by_side_html, word_changes


def visible_text(html_text: str) -> str:
    """What a browser shows, roughly: tags dropped, entities for <, >, & and quotes decoded."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def test_a_changed_word_shows_which_characters_changed():
    [change] = word_changes("Total: Tota1 due", "Total: Total due")
    assert change == Change(
        kind="replace",
        old="Tota1",
        new="Total",
        position=7,
        new_position=7,
        char_changes=(("equal", "Tota", "Tota"), ("replace", "1", "l")),
    )


def test_inserted_deleted_and_regrouped_words():
    changes = word_changes("the cat | sat on ten- dering mat", "the black cat sat on tendering mat")
    assert [(c.kind, c.old, c.new) for c in changes] == [
        ("insert", "", "black"),
        ("delete", "|", ""),
        ("replace", "ten- dering", "tendering"),
    ]
    assert changes[1].position == len("the cat ")
    assert changed_word_count("the cat | sat on ten- dering mat", "the black cat sat on tendering mat") == 4


def test_identical_texts_have_no_changes():
    assert word_changes("same\ntext", "same\ntext") == []
    assert changed_word_count("same  text", "same text") == 0
    assert visible_text(inline_html("a < b", "a < b")) == "a < b"


def test_html_escapes_the_documents():
    old = 'Tota1 <script>alert("x")</script> & more'
    new = 'Total <script>alert("y")</script> & more'
    for rendered in (inline_html(old, new), side_by_side_html(old, new, "<b>OCR</b>", "Fixed")):
        assert "<script>" not in rendered and "<b>OCR</b>" not in rendered
        assert "&lt;script&gt;" in rendered and "&amp; more" in rendered


def test_inline_html_marks_characters_and_keeps_line_breaks():
    rendered = inline_html("Tota1 due\nnext line", "Total due\nnext line")
    assert re.search(r"Tota<del[^>]*>1</del><ins[^>]*>l</ins>", rendered)
    assert 'class="ocr-diff-del"' in rendered and 'class="ocr-diff-ins"' in rendered
    assert "text-decoration:line-through" in rendered and "background:" in rendered
    assert "white-space:pre-wrap" in rendered and "due\nnext line" in rendered


def test_inline_html_reads_as_old_plus_new_pieces():
    rendered = inline_html("the cat | sat", "the black cat sat")
    assert visible_text(rendered) == "the black cat | sat"  # inserted "black" shown, deleted "|" struck
    assert "<ins" in rendered and "<del" in rendered


def test_side_by_side_marks_each_side_and_keeps_each_layout():
    rendered = side_by_side_html("Tota1 due\n$1O0.00", "Total due\n$100.00")
    left, right = rendered.split('<div class="ocr-diff-label"')[1:]
    assert "<del" in left and "<ins" not in left and "<ins" in right and "<del" not in right
    assert visible_text(left).endswith("Tota1 due\n$1O0.00")
    assert visible_text(right).endswith("Total due\n$100.00")
    assert "grid-template-columns" in rendered


def test_a_rewrite_is_shown_whole_rather_than_letter_by_letter():
    [change] = word_changes("qxzvw", "ambassador")
    assert change.char_changes == (("replace", "qxzvw", "ambassador"),)
