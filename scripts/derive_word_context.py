"""Derive the guard's word-context table (`ocr_pipeline/guard/word_context.json`) from ground-truth text.

    .venv/bin/python scripts/derive_word_context.py ../shared/data/bln600_model_outputs/train_pairs.jsonl

The input is JSON lines with a "gt" field: here the ground truth of the 10,400 rows of the 480
BLN600 training articles (Thomas et al. 2024, github.com/Shef-AIRE/llms_post-ocr_correction,
data/train.csv, MIT licence), none of which shares an article with the rows the guard is measured
on. Only counts leave this script; no text of the rows is stored.

Words are runs of letters (with inner apostrophes), lower-cased, read within one row. Two tables
come out: `words`, each word's count, and `pairs`, each pair of neighbouring words seen at least
`MIN_PAIR` times (`"of the": 2497`). The guard smooths them with wordfreq's frequencies
(ocr_pipeline/guard/context.py), so that a pair never seen costs a word no more than its
frequency says; the table only ever adds what the neighbours make likelier.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ocr_pipeline.guard.tables import write_table  # noqa: E402

MIN_PAIR = 2  # pairs seen once are left to wordfreq's frequencies
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
OUTPUT = Path(__file__).resolve().parent.parent / "ocr_pipeline" / "guard" / "word_context.json"


def words_of(text: str) -> list[str]:
    return [word.replace("’", "'") for word in _WORD.findall(unicodedata.normalize("NFC", text).casefold())]


def derive(texts, source: str) -> dict:
    words, pairs = Counter(), Counter()
    rows = 0
    for text in texts:
        rows += 1
        sequence = words_of(text)
        words.update(sequence)
        pairs.update(f"{a} {b}" for a, b in zip(sequence, sequence[1:]))
    return {
        "about": (
            f"Word and neighbouring-pair counts by scripts/derive_word_context.py from the ground truth of {rows} "
            f"rows ({source}); BLN600 training articles, Thomas et al. 2024, "
            "github.com/Shef-AIRE/llms_post-ocr_correction, MIT licence. Lower-cased; pairs seen at least "
            f"{MIN_PAIR} times."
        ),
        "words": dict(sorted(words.items())),
        "pairs": dict(sorted((pair, count) for pair, count in pairs.items() if count >= MIN_PAIR)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", type=Path, help='JSON lines with "gt"')
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    lines = args.pairs.read_text(encoding="utf-8").splitlines()
    table = derive((json.loads(line)["gt"] for line in lines if line.strip()), args.pairs.name)
    write_table(args.output, table["about"], {key: table[key] for key in ("words", "pairs")})
    print(
        f"{args.output}: {len(table['words'])} words, {len(table['pairs'])} pairs",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
