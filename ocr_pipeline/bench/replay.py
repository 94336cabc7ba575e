"""Replay: the guard measured on corrections models have already written, with no model to run.

For each model of a replay file (and the ground truth, a perfect model), every row's correction
goes through the guard, and the OCR text, the model's answer and the guarded text are scored
against the ground truth: corpus CER (edits over all rows / characters of all ground truths,
case and spacing counted, as the published BLN600 figures are), the cut against the OCR text,
rows made worse, better or unchanged, and the HIPE-OCRepair preference score, (better - worse) /
rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein

from .common import Progress, load_average, machine_info
from .data import ReplayRow
from .report import Report, listed, percent


@dataclass
class TextOutcome:
    """One text (a model's answer, or the guard's) against the OCR text, over all rows."""

    cer: float  # corpus CER
    cut: float  # relative change of the corpus CER against the OCR text's: -0.42 is 42% fewer errors
    worse: int  # rows with more character errors than the OCR text
    better: int
    unchanged: int
    preference: float  # (better - worse) / rows
    rows_worse: list[str] = field(default_factory=list)


@dataclass
class ModelReplay:
    model: str
    rows: int
    ocr_cer: float  # the OCR text's corpus CER on the rows this model has
    unguarded: TextOutcome
    guarded: TextOutcome
    changes_applied: int
    changes_refused: int


@dataclass
class ReplayBenchmark(Report):
    kind = "replay"

    source: str
    policy: str
    rows: int
    ocr_cer: float
    models: list[ModelReplay]
    guard_seconds: float  # time spent in the guard, all models
    seconds: float

    def title(self) -> str:
        return (
            f"Replay of {self.rows} rows from {self.source} through the {self.policy} guard: corpus CER "
            f"(case and spacing counted), OCR text {self.ocr_cer:.4f}; "
            f"guard {self.guard_seconds} s in all"
        )

    def table(self) -> list[dict]:
        return [
            {
                "model": m.model,
                "rows": m.rows,
                "CER unguarded": m.unguarded.cer,
                "cut unguarded": percent(m.unguarded.cut),
                "worse unguarded": m.unguarded.worse,
                "CER guarded": m.guarded.cer,
                "cut guarded": percent(m.guarded.cut),
                "worse guarded": m.guarded.worse,
                "better": m.guarded.better,
                "unchanged": m.guarded.unchanged,
                "preference": m.guarded.preference,
                "changes applied": m.changes_applied,
                "refused": m.changes_refused,
            }
            for m in self.models
        ]

    def notes(self) -> list[str]:
        return [
            f"{m.model}, guarded, worse than the OCR text on: {listed(m.guarded.rows_worse)}"
            for m in self.models
            if m.guarded.rows_worse
        ]

    def document_rows(self) -> list[dict]:
        rows: list[dict] = []
        for model in self.models:
            rows.append(
                {"model": model.model, "rows": model.rows, "CER OCR": model.ocr_cer}
                | {
                    "CER unguarded": model.unguarded.cer,
                    "CER guarded": model.guarded.cer,
                    "cut unguarded": model.unguarded.cut,
                    "cut guarded": model.guarded.cut,
                    "worse unguarded": model.unguarded.worse,
                    "worse guarded": model.guarded.worse,
                    "better guarded": model.guarded.better,
                    "unchanged guarded": model.guarded.unchanged,
                    "preference unguarded": model.unguarded.preference,
                    "preference guarded": model.guarded.preference,
                }
            )
        return rows


def _outcome(errors: list[int], ocr_errors: list[int], truth_length: int, ids: list[str]) -> TextOutcome:
    ocr_total, total = sum(ocr_errors), sum(errors)
    worse = [i for i, (e, o) in enumerate(zip(errors, ocr_errors)) if e > o]
    better = sum(e < o for e, o in zip(errors, ocr_errors))
    rows = len(errors)
    return TextOutcome(
        cer=round(total / max(truth_length, 1), 5),
        cut=round((total - ocr_total) / ocr_total, 4) if ocr_total else 0.0,
        worse=len(worse),
        better=better,
        unchanged=rows - len(worse) - better,
        preference=round((better - len(worse)) / rows, 4) if rows else 0.0,
        rows_worse=[ids[i] for i in worse],
    )


def benchmark_replay(
    rows: Sequence[ReplayRow], policy: str = "strict", source: str = "replay", on_progress: Progress | None = None
) -> ReplayBenchmark:
    """Guard every recorded correction of every model, a document's rows together, and score it
    against the ground truth."""
    from ..guard import get_policy, guard_by_document

    started, load_start = time.perf_counter(), load_average()
    guard_policy = get_policy(policy)
    models = list(dict.fromkeys(name for row in rows for name in row.outputs))
    results, guard_seconds = [], 0.0
    for position, model in enumerate(models):
        if on_progress:
            on_progress(position, len(models), model)
        present = [row for row in rows if model in row.outputs]
        ids = [row.id for row in present]
        ocr_errors = [Levenshtein.distance(row.ocr, row.gt) for row in present]
        guard_started = time.perf_counter()
        decisions = guard_by_document([(row.document, row.ocr, row.outputs[model]) for row in present], guard_policy)
        guard_seconds += time.perf_counter() - guard_started
        applied = sum(decision.applied for decision in decisions)
        refused = sum(decision.reverted for decision in decisions)
        answer_errors = [Levenshtein.distance(row.outputs[model], row.gt) for row in present]
        guarded_errors = [Levenshtein.distance(decision.text, row.gt) for row, decision in zip(present, decisions)]
        truth_length = sum(len(row.gt) for row in present)
        results.append(
            ModelReplay(
                model=model,
                rows=len(present),
                ocr_cer=round(sum(ocr_errors) / max(truth_length, 1), 5),
                unguarded=_outcome(answer_errors, ocr_errors, truth_length, ids),
                guarded=_outcome(guarded_errors, ocr_errors, truth_length, ids),
                changes_applied=applied,
                changes_refused=refused,
            )
        )
    if on_progress:
        on_progress(len(models), len(models), "done")
    return ReplayBenchmark(
        source=source,
        policy=guard_policy.name,
        rows=len(rows),
        ocr_cer=round(sum(Levenshtein.distance(r.ocr, r.gt) for r in rows) / max(sum(len(r.gt) for r in rows), 1), 5),
        models=results,
        guard_seconds=round(guard_seconds, 2),
        seconds=round(time.perf_counter() - started, 1),
        machine=machine_info(),
        load_average=[load_start, load_average()],
    )
