"""How the guard's shipped tables are written: JSON with one entry per line, so that a new
derivation (scripts/derive_*.py) reads as a diff of the entries it changed; and which word pairs
the OCR itself confuses, which a table of words that must not become one another leaves out."""

from __future__ import annotations

import argparse
import difflib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

_WORD = re.compile(r"[^\W\d_]+")


def write_table(path: Path, about: str, sections: dict[str, list | dict]) -> None:
    """`{"about": ..., section: [entries] or {key: value}, ...}`, each entry on a line of its own."""
    lines = ["{", f'"about": {json.dumps(about, ensure_ascii=False)},']
    for number, (name, section) in enumerate(sections.items()):
        if isinstance(section, dict):
            entries = [f"{json.dumps(key, ensure_ascii=False)}: {json.dumps(value)}" for key, value in section.items()]
            opening, closing = "{", "}"
        else:
            entries = [json.dumps(entry, ensure_ascii=False) for entry in section]
            opening, closing = "[", "]"
        lines.append(f"{json.dumps(name)}: {opening}")
        lines += [entry + ("," if i < len(entries) - 1 else "") for i, entry in enumerate(entries)]
        lines.append(closing + ("," if number < len(sections) - 1 else ""))
    lines.append("}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def ocr_confusions(rows: Iterable[tuple[str, str]], counts: Callable[[tuple[str, str]], bool]) -> Counter:
    """How often each pair that `counts` (two lower-cased words, sorted) stands as OCR word / true
    word, word for word, where aligned (OCR text, truth) rows differ: `here` printed for `there`."""
    found = Counter()
    for ocr, truth in rows:
        ocr_words, true_words = _WORD.findall(ocr.casefold()), _WORD.findall(truth.casefold())
        matcher = difflib.SequenceMatcher(None, ocr_words, true_words, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "replace" and i2 - i1 == j2 - j1:  # word for word; not `Mon- day` for `Monday`
                for printed, meant in zip(ocr_words[i1:i2], true_words[j1:j2]):
                    pair = tuple(sorted((printed, meant)))
                    if counts(pair):
                        found[pair] += 1
    return found


def ocr_confusions_in(path: Path | None, counts: Callable[[tuple[str, str]], bool]) -> tuple[Counter, str]:
    """`ocr_confusions` of a file of `{"ocr", "gt"}` rows, one per line (none without a file), and how
    a table's "about" names what they were counted on."""
    if path is None:
        return Counter(), "no OCR rows"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return ocr_confusions(((row["ocr"], row["gt"]) for row in rows), counts), f"{len(rows)} rows of {path.name}"


def word_list_arguments(argv: list[str] | None, doc: str, source: str, help: str, output: Path) -> argparse.Namespace:
    """What a word list's derivation (scripts/derive_*.py) is run with: its source, the OCR rows
    whose confusions it leaves out (`--confusions`), and where the table goes (`--output`)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(source, type=Path, help=help)
    parser.add_argument("--confusions", type=Path, help='OCR / truth rows, {"ocr", "gt"} per line')
    parser.add_argument("--output", type=Path, default=output)
    return parser.parse_args(argv)
