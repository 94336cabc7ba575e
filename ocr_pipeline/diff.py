"""Word-level differences with character detail, as records and as HTML for the dashboard.

Identical words anchor the alignment; between anchors, a character alignment groups the words
the way a reader sees the change: 'ten- dering' -> 'tendering' is one change, and inside
'Tota1' -> 'Total' only the '1' -> 'l' is marked. The guard decides on the same groups.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from collections.abc import Iterator

from rapidfuzz.distance import Levenshtein

WORD = re.compile(r"\S+")
_CHAR_DETAIL_MAX_RATIO = 0.5  # beyond this share of changed characters, show old and new whole

INSERT_STYLE = "background:#d3f5d3;color:#0a4a0a;text-decoration:none;border-radius:2px;"
DELETE_STYLE = "background:#fad4d4;color:#7a0000;text-decoration:line-through;border-radius:2px;"
CONTAINER_STYLE = "white-space:pre-wrap;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;line-height:1.5;"


@dataclass(frozen=True)
class Change:
    kind: str  # "insert" | "delete" | "replace"
    old: str
    new: str
    position: int  # offset in the old text where the change starts
    new_position: int  # offset in the new text
    char_changes: tuple[tuple[str, str, str], ...] = ()  # (tag, old, new) pieces inside a replacement


def changed_word_groups(old: str, new: str) -> Iterator[tuple[int, int, int, int]]:
    """(i1, i2, j1, j2): old words [i1, i2) became new words [j1, j2) (words: WORD matches).

    Identical words are anchors (a word-level alignment); between anchors, words connected by
    the character alignment form one group.
    """
    old_words, new_words = _spans(old), _spans(new)
    opcodes = Levenshtein.opcodes([old[s:e] for s, e in old_words], [new[s:e] for s, e in new_words])
    run: list = []
    for opcode in [*opcodes, None]:
        if opcode is not None and opcode.tag != "equal":
            run.append(opcode)
            continue
        if run:
            i1, i2, j1, j2 = run[0].src_start, run[-1].src_end, run[0].dest_start, run[-1].dest_end
            if i1 == i2 or j1 == j2:
                yield i1, i2, j1, j2
            else:
                yield from _connected_groups(old, new, old_words, new_words, (i1, i2, j1, j2))
        run = []


def _connected_groups(old, new, old_words, new_words, run) -> Iterator[tuple[int, int, int, int]]:
    """Split a run of changed words where no character alignment link crosses."""
    i1, i2, j1, j2 = run
    old_start, new_start = old_words[i1][0], new_words[j1][0]
    old_part, new_part = old[old_start : old_words[i2 - 1][1]], new[new_start : new_words[j2 - 1][1]]
    old_spans = [(s - old_start, e - old_start) for s, e in old_words[i1:i2]]
    new_spans = [(s - new_start, e - new_start) for s, e in new_words[j1:j2]]
    old_last = _last_links(old_part, new_part, old_spans, new_spans)
    new_last = _last_links(new_part, old_part, new_spans, old_spans)
    i = j = 0
    while i < len(old_spans) or j < len(new_spans):
        old_free = i < len(old_spans) and old_last[i] < 0
        new_free = j < len(new_spans) and new_last[j] < 0
        if old_free or new_free or i == len(old_spans) or j == len(new_spans):
            end_i = i + (old_free or j == len(new_spans))
            end_j = j + (new_free or i == len(old_spans))
        else:  # grow until no alignment link crosses the group's end
            end_i, end_j = i + 1, j + 1
            while True:
                grown_j = max([end_j] + [old_last[k] + 1 for k in range(i, end_i)])
                grown_i = max([end_i] + [new_last[k] + 1 for k in range(j, grown_j)])
                if (grown_i, grown_j) == (end_i, end_j):
                    break
                end_i, end_j = grown_i, grown_j
        yield i1 + i, i1 + end_i, j1 + j, j1 + end_j
        i, j = end_i, end_j


def _spans(text: str) -> list[tuple[int, int]]:
    return [match.span() for match in WORD.finditer(text)]


def _last_links(text, other, words, other_words) -> list[int]:
    """For each word of `text`, the last word of `other` one of its characters is aligned with (-1: none)."""
    owner, other_owner = _owners(len(text), words), _owners(len(other), other_words)
    last = [-1] * len(words)
    for opcode in Levenshtein.opcodes(text, other):
        if opcode.tag in ("equal", "replace"):
            for offset in range(min(opcode.src_end - opcode.src_start, opcode.dest_end - opcode.dest_start)):
                word, other_word = owner[opcode.src_start + offset], other_owner[opcode.dest_start + offset]
                if word >= 0 and other_word >= 0:
                    last[word] = max(last[word], other_word)
    return last


def _owners(length: int, words: list[tuple[int, int]]) -> list[int]:
    owner = [-1] * length
    for index, (start, end) in enumerate(words):
        owner[start:end] = [index] * (end - start)
    return owner


def word_changes(old: str, new: str) -> list[Change]:
    old_words, new_words = _spans(old), _spans(new)
    changes = []
    for i1, i2, j1, j2 in changed_word_groups(old, new):
        start = old_words[i1][0] if i1 < len(old_words) else len(old)
        end = old_words[i2 - 1][1] if i1 < i2 else start
        new_start = new_words[j1][0] if j1 < len(new_words) else len(new)
        new_end = new_words[j2 - 1][1] if j1 < j2 else new_start
        old_text, new_text = old[start:end], new[new_start:new_end]
        kind = "insert" if not old_text else "delete" if not new_text else "replace"
        detail = _char_changes(old_text, new_text) if kind == "replace" else ()
        changes.append(Change(kind, old_text, new_text, start, new_start, detail))
    return changes


def changed_word_count(old: str, new: str) -> int:
    """Words changed, counting the larger side of each change ('ten- dering' -> 'tendering' is 2)."""
    return sum(max(i2 - i1, j2 - j1) for i1, i2, j1, j2 in changed_word_groups(old, new))


def _char_changes(old: str, new: str) -> tuple[tuple[str, str, str], ...]:
    """Character pieces of a replacement, or the whole words when too little is shared to help."""
    if Levenshtein.normalized_distance(old, new) > _CHAR_DETAIL_MAX_RATIO:
        return (("replace", old, new),)
    return tuple(
        (op.tag, old[op.src_start : op.src_end], new[op.dest_start : op.dest_end])
        for op in Levenshtein.opcodes(old, new)
    )


def inline_html(old: str, new: str) -> str:
    """The new text with deletions struck through and insertions highlighted, line breaks kept."""
    parts = []
    position = 0  # in the new text
    for change in word_changes(old, new):
        parts.append(html.escape(new[position : change.new_position]))
        if change.kind == "insert":
            parts.append(_ins(change.new))
        elif change.kind == "delete":
            parts.append(_del(change.old) + " ")
        else:
            parts.append(_replacement_html(change))
        position = change.new_position + len(change.new)
    parts.append(html.escape(new[position:]))
    return _container("".join(parts))


def side_by_side_html(old: str, new: str, old_label: str = "OCR", new_label: str = "Corrected") -> str:
    """Two columns: the old text with what was removed marked, the new one with what was added."""
    changes = word_changes(old, new)
    columns = []
    for label, text, side in ((old_label, old, "old"), (new_label, new, "new")):
        columns.append(
            '<div style="min-width:0;">'
            f'<div class="ocr-diff-label" style="font-weight:600;">{html.escape(label)}</div>'
            f"{_container(_one_side(text, changes, side))}</div>"
        )
    grid = "display:grid;grid-template-columns:1fr 1fr;gap:1rem;"
    return f'<div class="ocr-diff-columns" style="{grid}">{"".join(columns)}</div>'


def _one_side(text: str, changes: list[Change], side: str) -> str:
    """One text of a pair with its side of every change marked, character by character."""
    mark = _del if side == "old" else _ins
    parts, position = [], 0
    for change in changes:
        start, piece = (change.position, change.old) if side == "old" else (change.new_position, change.new)
        parts.append(html.escape(text[position:start]))
        for tag, old_piece, new_piece in change.char_changes or ((change.kind, change.old, change.new),):
            piece_text = old_piece if side == "old" else new_piece
            parts.append(html.escape(piece_text) if tag == "equal" else mark(piece_text) if piece_text else "")
        position = start + len(piece)
    parts.append(html.escape(text[position:]))
    return "".join(parts)


def _replacement_html(change: Change) -> str:
    pieces = []
    for tag, old_piece, new_piece in change.char_changes:
        if tag == "equal":
            pieces.append(html.escape(new_piece))
        else:
            pieces.append((_del(old_piece) if old_piece else "") + (_ins(new_piece) if new_piece else ""))
    return f'<span class="ocr-diff-change">{"".join(pieces)}</span>'


def _ins(text: str) -> str:
    return f'<ins class="ocr-diff-ins" style="{INSERT_STYLE}">{html.escape(text)}</ins>'


def _del(text: str) -> str:
    return f'<del class="ocr-diff-del" style="{DELETE_STYLE}">{html.escape(text)}</del>'


def _container(body: str) -> str:
    return f'<div class="ocr-diff" style="{CONTAINER_STYLE}">{body}</div>'
