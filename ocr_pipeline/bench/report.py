"""Reports for people: the base every benchmark report derives from, and the tables and small
formatting helpers they share. Each report renders itself: a title, its table, its notes, then
the machine it ran on (`Report.render`)."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any, ClassVar
from collections.abc import Sequence

from .common import MIB, TextScores


def listed(names: Sequence[str], limit: int = 20) -> str:
    """Names for one line of a report: the first `limit`, then '...' for the rest."""
    return ", ".join(names[:limit]) + (" ..." if len(names) > limit else "")


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


@dataclass(kw_only=True)
class Report:
    """What every benchmark report (a dataclass) shares: its kind, the machine it ran on and the
    1-minute load average at its start and end, its JSON form, and its readable form (`lines`: its
    title, table and notes, then the machine)."""

    kind: ClassVar[str]
    machine: dict
    load_average: list[float]

    def to_json(self) -> dict:
        return {"benchmark": self.kind} | asdict(self)

    def title(self) -> str:
        """The report's first line: what was measured, on what, how long it took."""
        raise NotImplementedError

    def table(self) -> list[dict]:
        """The rows of the report's main table."""
        raise NotImplementedError

    def notes(self) -> list[str]:
        """Lines after the table: further tables, failures, what a reader should know."""
        return []

    def lines(self) -> list[str]:
        return [self.title(), format_table(self.table()), *self.notes()]

    def document_rows(self) -> list[dict]:
        """One flat row per document, for a table, a chart or a CSV file (none where there are no documents)."""
        return []

    def render(self) -> str:
        return "\n".join([*self.lines(), machine_line(self)])


def machine_line(report) -> str:
    """The machine a report ran on, and the load average at its start and end: a timing means little without it."""
    machine = report.machine
    gpu = machine["gpu"]["name"] if machine.get("gpu") else "no GPU"
    versions = ", ".join(f"{name} {version}" for name, version in machine["versions"].items())
    start, end = report.load_average
    return (
        f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, {gpu}; "
        f"load average {start} -> {end}\nversions: {versions}"
    )
