"""Tables for people: what every report's `lines` draws its tables with.

Each report renders itself (`Report.render` in common.py, with its own `lines` and `rows`); this
module only holds the table and the small formatting helpers they share.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict
from typing import Any
from collections.abc import Sequence

from .common import MIB, TextScores


def format_table(rows: list[dict]) -> str:
    """A plain text table through pandas: numbers right-aligned, missing values shown as '-'."""
    import pandas as pd

    if not rows:
        return "(no rows)"

    def cell(value: Any) -> Any:
        if isinstance(value, float):
            return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
        return "-" if value is None else value

    table = pd.DataFrame([{column: cell(value) for column, value in row.items()} for row in rows])
    return table.fillna("-").to_string(index=False)


def scores_row(label: str, scores: TextScores | None) -> dict:
    return {"text": label} | (asdict(scores) if scores else {})


def percent(share: float) -> str:
    return f"{share:+.1%}"


def mib(snapshot: dict | None, key: str = "rss_bytes") -> float | None:
    value = (snapshot or {}).get(key)
    return None if value is None else round(value / MIB, 1)


def median_or_none(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None
