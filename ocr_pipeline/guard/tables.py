"""How the guard's shipped tables are written: JSON with one entry per line, so that a new
derivation (scripts/derive_*.py) reads as a diff of the entries it changed."""

from __future__ import annotations

import json
from pathlib import Path


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
