"""A drug's name changed into another drug's name: refused under every policy.

Many drug names are a letter or two apart (`prednisone` / `prednisolone`, `quinine` /
`quinidine`, `nicardipine` / `nifedipine`), so the channel finds them close and a chunk's sure
repairs may pay for the change as a guess. A model that wrote one for the other changed the
prescription. The names (`drug_names.json`, derived by `scripts/derive_drug_names.py` from the
dictionary of `drug-named-entity-recognition`, MIT) are single uncommon words; a pair of them the
OCR itself printed one for the other in the training rows would be listed there and allowed (none
was). A misread name that is no drug's name (`predn1sone`) is repaired as any word.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("drug_names.json")


@lru_cache(maxsize=1)
def _drug_table() -> tuple[frozenset[str], frozenset[frozenset[str]]]:
    """The names, and the pairs of them the OCR confused; read on first use, not at start-up (370 KB)."""
    table = json.loads(TABLE.read_text(encoding="utf-8"))
    return frozenset(table["names"]), frozenset(frozenset(pair[:2]) for pair in table["confused by the OCR"])


def other_drug(old: str, new: str) -> str | None:
    """Why a word must not become the other, where both are drugs' names, or None (case ignored)."""
    old, new = old.casefold(), new.casefold()
    names, confused = _drug_table()
    if old != new and old in names and new in names and frozenset((old, new)) not in confused:
        return f"{old!r} and {new!r} are different drugs: a drug's name never becomes another's"
    return None
