"""Derive the guard's OCR channel table (`ocr_pipeline/guard/ocr_channel.json`) from OCR / ground-truth pairs.

    .venv/bin/python scripts/derive_ocr_channel.py ../shared/data/bln600_model_outputs/train_pairs.jsonl

The input is JSON lines `{"ocr", "gt"}`: here the 10,400 rows of the 480 BLN600 training articles
(Thomas et al. 2024, github.com/Shef-AIRE/llms_post-ocr_correction, data/train.csv, MIT licence),
none of which shares an article with the rows the guard is measured on. Only counts leave this
script; no text of the pairs is stored.

Two tables come out, both lower-cased (case slips are judged by the guard's own rule):

* `misreadings`: `[truth, ocr, count, truth_count]`: the OCR read the true piece `truth` (1 to 3
  characters, `^` and `$` mark the start and end of a row) as `ocr` `count` times, out of
  `truth_count` times the piece occurs in the ground truth. Each pair is aligned character by
  character (Levenshtein); each run of differing characters is one misreading, counted alone and
  with one character of context on either side (so an insertion is attached to its neighbour:
  `e` -> `e-` is a hyphen added after an `e`). Runs longer than 3 characters are counted as their
  single-character edits. Only misreadings seen at least `MIN_COUNT` times are kept.
* `letters`: letter-trigram counts of the ground-truth words (`<` `>` mark a word's ends), the
  spelling model for words no dictionary knows (names, rare words), against which OCR garbage
  looks unlikely.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

from rapidfuzz.distance import Levenshtein

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ocr_pipeline.guard.tables import write_table  # noqa: E402

MAX_PIECE = 3  # characters of true text in one misreading
MIN_COUNT = 3  # misreadings seen fewer times are left to the guard's cost for an unseen edit
MIN_TRIGRAM = 2
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
OUTPUT = Path(__file__).resolve().parent.parent / "ocr_pipeline" / "guard" / "ocr_channel.json"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _runs(truth: str, ocr: str):
    """(start, end, ocr_start, ocr_end) of each run of differing characters."""
    run = None
    for op in Levenshtein.opcodes(truth, ocr):
        if op.tag == "equal":
            if run:
                yield run
            run = None
        elif run is None:
            run = [op.src_start, op.src_end, op.dest_start, op.dest_end]
        else:
            run[1], run[3] = op.src_end, op.dest_end
    if run:
        yield run


def count_misreadings(pairs) -> tuple[Counter, Counter]:
    misreadings, pieces = Counter(), Counter()
    for ocr, gt in pairs:
        truth, read = "^" + _fold(gt) + "$", "^" + _fold(ocr) + "$"
        for size in range(1, MAX_PIECE + 1):
            pieces.update(truth[i : i + size] for i in range(len(truth) - size + 1))
        for start, end, ocr_start, ocr_end in _runs(truth, read):
            piece, seen = truth[start:end], read[ocr_start:ocr_end]
            if len(piece) <= MAX_PIECE and len(seen) <= MAX_PIECE:
                for left in (0, 1):
                    for right in (0, 1):
                        wide = truth[start - left : end + right]
                        if start - left >= 0 and end + right <= len(truth) and 0 < len(wide) <= MAX_PIECE:
                            misreadings[wide, read[ocr_start - left : ocr_end + right]] += 1
                continue
            for op in Levenshtein.editops(piece, seen):
                if op.tag == "replace":
                    misreadings[piece[op.src_pos], seen[op.dest_pos]] += 1
                elif op.tag == "delete":
                    misreadings[piece[op.src_pos], ""] += 1
                else:  # an inserted character, attached to the true character before it
                    left = truth[start + op.src_pos - 1]
                    misreadings[left, left + seen[op.dest_pos]] += 1
    return misreadings, pieces


def count_trigrams(texts) -> Counter:
    trigrams = Counter()
    for text in texts:
        for word in _WORD.findall(_fold(text)):
            padded = "<<" + word + ">"
            trigrams.update(padded[i - 2 : i + 1] for i in range(2, len(padded)))
    return trigrams


def derive(rows: list[dict], source: str) -> dict:
    pairs = [(row["ocr"], row["gt"]) for row in rows]
    misreadings, pieces = count_misreadings(pairs)
    trigrams = count_trigrams(gt for _, gt in pairs)
    return {
        "about": (
            f"OCR misreadings and letter trigrams counted by scripts/derive_ocr_channel.py from {len(rows)} "
            f"OCR / ground-truth rows ({source}); BLN600 training articles, Thomas et al. 2024, "
            "github.com/Shef-AIRE/llms_post-ocr_correction, MIT licence. Lower-cased; ^ and $ mark a row's ends, "
            "< and > a word's."
        ),
        "misreadings": sorted(
            [truth, ocr, count, pieces[truth]]
            for (truth, ocr), count in misreadings.items()
            if count >= MIN_COUNT and pieces[truth]
        ),
        "letters": dict(sorted((gram, count) for gram, count in trigrams.items() if count >= MIN_TRIGRAM)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", type=Path, help='JSON lines with "ocr" and "gt"')
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in args.pairs.read_text(encoding="utf-8").splitlines() if line.strip()]
    table = derive(rows, args.pairs.name)
    write_table(args.output, table["about"], {key: table[key] for key in ("misreadings", "letters")})
    print(
        f"{args.output}: {len(table['misreadings'])} misreadings, {len(table['letters'])} trigrams "
        f"from {len(rows)} rows",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
