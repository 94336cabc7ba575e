"""Correction quality: CER/WER of the OCR text, the model's unguarded answer and the guarded
result, on text pairs and on real scans (OCR, then correction), with the key fields kept."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence

from ..documents import load_document
from ..errors import PipelineError
from .common import (
    SAFETY_FIELDS,
    Progress,
    TextScores,
    key_found,
    load_average,
    machine_info,
    mean_scores,
    numbers_kept,
    score_text,
)
from .data import Pair, load_scan_set
from .report import Report, format_table, listed, scores_row


def resolve_prompt(prompt):
    """A prompt object from a name (presets and team prompts) or as given (an edited prompt)."""
    from ..prompts import get_prompt

    return get_prompt(prompt) if isinstance(prompt, str) else prompt


def guarded_text(result, policy) -> str:
    """The document as `policy` would have left it, from a result whose chunks keep the model's
    answers: the same `guard_chunks` call `correct_text` makes, so one generation serves every policy."""
    from ..correction import guard_chunks

    chunks, _ = guard_chunks(result.chunks, policy)
    return "".join(chunk.guarded + chunk.separator for chunk in chunks)


@dataclass
class CorrectionItem:
    id: str
    ocr: TextScores
    outputs: dict[str, TextScores]  # "unguarded" and "guarded"
    numbers: int  # numbers in the OCR text
    numbers_kept: dict[str, int]  # per output
    chunks: int
    new_tokens: int
    generation_seconds: float
    seconds: float
    texts: dict[str, str]  # "ocr", "gt" and each output


@dataclass
class OutputSummary:
    output: str
    scores: TextScores
    worse: float  # share of items whose normalised CER is above the OCR text's
    better: float
    unchanged: float
    numbers_kept: float  # share of the OCR text's numbers still there
    items_worse: list[str]


@dataclass
class CorrectionBenchmark(Report):
    kind = "correct"

    source: str
    model: str
    prompt: str
    guard: str
    items: list[CorrectionItem]
    ocr: TextScores
    outputs: list[OutputSummary]
    tokens_per_second: float
    load_seconds: float | None
    seconds: float

    def title(self) -> str:
        load = "" if self.load_seconds is None else f", load {self.load_seconds} s"  # None: loaded before the run
        return (
            f"Correction of {len(self.items)} pairs from {self.source}: model {self.model}, prompt "
            f"{self.prompt}, guard {self.guard}; {self.seconds} s{load}, {self.tokens_per_second} tokens/s"
        )

    def table(self) -> list[dict]:
        return [scores_row("ocr", self.ocr)] + [
            scores_row(s.output, s.scores)
            | {"worse": s.worse, "better": s.better, "unchanged": s.unchanged, "numbers kept": s.numbers_kept}
            for s in self.outputs
        ]

    def notes(self) -> list[str]:
        return [
            f"{s.output} worse than the OCR text on: {listed(s.items_worse)}" for s in self.outputs if s.items_worse
        ]

    def document_rows(self) -> list[dict]:
        rows: list[dict] = []
        for item in self.items:
            rows.append(
                {"document": item.id, "CER OCR": item.ocr.cer}
                | {f"CER {name}": scores.cer for name, scores in item.outputs.items()}
                | {"WER OCR": item.ocr.wer}
                | {f"WER {name}": scores.wer for name, scores in item.outputs.items()}
                | {"numbers": item.numbers}
                | {f"numbers kept {name}": kept for name, kept in item.numbers_kept.items()}
                | {"new tokens": item.new_tokens, "seconds": item.seconds}
            )
        return rows


def _summarise_outputs(items: list[CorrectionItem]) -> list[OutputSummary]:
    summaries = []
    for output in items[0].outputs if items else []:
        deltas = [item.outputs[output].cer - item.ocr.cer for item in items]
        kept = sum(item.numbers_kept[output] for item in items)
        numbers = sum(item.numbers for item in items)
        summaries.append(
            OutputSummary(
                output=output,
                scores=mean_scores([item.outputs[output] for item in items]),
                worse=round(sum(d > 1e-9 for d in deltas) / len(items), 4),
                better=round(sum(d < -1e-9 for d in deltas) / len(items), 4),
                unchanged=round(sum(abs(d) <= 1e-9 for d in deltas) / len(items), 4),
                numbers_kept=round(kept / numbers, 4) if numbers else 1.0,
                items_worse=[item.id for item, d in zip(items, deltas) if d > 1e-9],
            )
        )
    return summaries


def correct_pair(backend, prompt, ocr: str | Sequence[str], guard: str):
    """Correct a text once, unguarded, and derive the guarded text from the same answers:
    {"unguarded": ..., "guarded": ...}, and the `CorrectionResult`."""
    from ..correction import correct_text

    result = correct_text(ocr, backend, prompt, "off")
    return result, {"unguarded": result.corrected, "guarded": guarded_text(result, guard)}


def benchmark_correction(
    pairs: Sequence[Pair],
    backend,
    prompt: str = "general",
    guard: str = "strict",
    source: str = "pairs",
    on_progress: Progress | None = None,
) -> CorrectionBenchmark:
    """CER/WER of the OCR text, the model's unguarded answer and the guarded result, per pair."""
    started, load_start = time.perf_counter(), load_average()
    prompt_object = resolve_prompt(prompt)
    items = []
    for position, pair in enumerate(pairs):
        if on_progress:
            on_progress(position, len(pairs), pair.id)
        item_started = time.perf_counter()
        result, outputs = correct_pair(backend, prompt_object, pair.ocr, guard)
        new_tokens = sum(chunk.new_tokens for chunk in result.chunks)
        items.append(
            CorrectionItem(
                id=pair.id,
                ocr=score_text(pair.ocr, pair.gt),
                outputs={name: score_text(text, pair.gt) for name, text in outputs.items()},
                numbers=numbers_kept(pair.ocr, pair.ocr)[1],
                numbers_kept={name: numbers_kept(pair.ocr, text)[0] for name, text in outputs.items()},
                chunks=len(result.chunks),
                new_tokens=new_tokens,
                generation_seconds=new_tokens / result.tokens_per_second if result.tokens_per_second else 0.0,
                seconds=round(time.perf_counter() - item_started, 3),
                texts={"ocr": pair.ocr, "gt": pair.gt} | outputs,
            )
        )
    if on_progress:
        on_progress(len(pairs), len(pairs), "done")
    tokens = sum(item.new_tokens for item in items)
    generation = sum(item.generation_seconds for item in items)
    return CorrectionBenchmark(
        source=source,
        model=backend.name,
        prompt=prompt_object.name,
        guard=guard,
        items=items,
        ocr=mean_scores([item.ocr for item in items]),
        outputs=_summarise_outputs(items),
        tokens_per_second=round(tokens / generation, 2) if generation else 0.0,
        load_seconds=_load_seconds(backend),
        seconds=round(time.perf_counter() - started, 1),
        machine=machine_info(),
        load_average=[load_start, load_average()],
    )


# --- OCR then correction --------------------------------------------------------------------------


@dataclass
class PipelineItem:
    document: str
    ocr_seconds: float
    correction_seconds: float
    ocr: TextScores | None
    outputs: dict[str, TextScores]
    keys: dict[str, dict[str, bool]]  # field -> {"gt", "ocr", "unguarded", "guarded"}: found in each text
    error: str = ""


@dataclass
class PipelineBenchmark(Report):
    kind = "pipeline"

    folder: str
    engine: str
    model: str
    prompt: str
    guard: str
    items: list[PipelineItem]
    ocr: TextScores | None
    outputs: dict[str, TextScores | None]
    keys_kept: dict[str, dict[str, list[int]]]  # field -> output -> [kept, found in the OCR text]
    keys_lost: list[str]  # "document: field" found in the OCR text and gone after guarded correction
    load_seconds: float | None
    seconds: float

    def title(self) -> str:
        good = [item for item in self.items if not item.error]
        return (
            f"Pipeline on {self.folder}: {len(good)} of {len(self.items)} documents, engine "
            f"{self.engine}, model {self.model}, prompt {self.prompt}, guard {self.guard}; {self.seconds} s"
        )

    def table(self) -> list[dict]:
        return [scores_row("ocr", self.ocr)] + [scores_row(name, scores) for name, scores in self.outputs.items()]

    def notes(self) -> list[str]:
        notes: list[str] = []
        notes.append(
            format_table(
                [
                    {"field": name, "output": output, "kept": kept, "found in OCR": found}
                    for name, outputs in self.keys_kept.items()
                    for output, (kept, found) in outputs.items()
                ]
            )
        )
        notes.append("key fields lost after guarded correction: " + (", ".join(self.keys_lost) or "none"))
        notes += [f"{item.document}: {item.error}" for item in self.items if item.error]
        return notes

    def document_rows(self) -> list[dict]:
        rows: list[dict] = []
        for item in self.items:
            rows.append(
                {"document": item.document, "CER OCR": item.ocr.cer if item.ocr else None}
                | {f"CER {name}": scores.cer for name, scores in item.outputs.items()}
                | {f"{name} kept": found["guarded"] if found["ocr"] else None for name, found in item.keys.items()}
                | {"OCR seconds": item.ocr_seconds, "correction seconds": item.correction_seconds, "error": item.error}
            )
        return rows


def benchmark_pipeline(
    folder: str | Path,
    backend,
    engine: str = "auto",
    prompt: str = "general",
    guard: str = "strict",
    limit: int | None = None,
    on_progress: Progress | None = None,
    license_path: str | None = None,
) -> PipelineBenchmark:
    """OCR real scans, correct them, and check that every key field the OCR read survives correction.
    `license_path`: an Aspose license (default `ASPOSE_LICENSE`)."""
    from ..ocr import ocr_document

    started, load_start = time.perf_counter(), load_average()
    items_in = load_scan_set(folder, limit)
    prompt_object = resolve_prompt(prompt)
    items: list[PipelineItem] = []
    for position, scan in enumerate(items_in):
        if on_progress:
            on_progress(position, len(items_in), scan.name)
        try:
            document = load_document(scan.path.read_bytes(), scan.name)
            ocr = ocr_document(document, engine, license_path=license_path)
            correction_started = time.perf_counter()
            pages = [page.text for page in ocr.pages]
            result, outputs = correct_pair(backend, prompt_object, pages, guard)
        except (PipelineError, OSError) as error:
            items.append(PipelineItem(scan.name, 0.0, 0.0, None, {}, {}, error=str(error)))
            continue
        texts = {"gt": scan.ground_truth, "ocr": result.raw} | outputs
        items.append(
            PipelineItem(
                document=scan.name,
                ocr_seconds=round(sum(page.seconds for page in ocr.pages), 3),
                correction_seconds=round(time.perf_counter() - correction_started, 3),
                ocr=score_text(result.raw, scan.ground_truth),
                outputs={name: score_text(text, scan.ground_truth) for name, text in outputs.items()},
                keys={
                    name: {label: key_found(name, value, text) for label, text in texts.items()}
                    for name, value in scan.keys.items()
                    if name in SAFETY_FIELDS
                },
            )
        )
    if on_progress:
        on_progress(len(items_in), len(items_in), "done")
    good = [item for item in items if not item.error]
    keys_kept: dict[str, dict[str, list[int]]] = {}
    lost = []
    for item in good:
        for name, found in item.keys.items():
            if not found["ocr"]:
                continue
            for output in ("unguarded", "guarded"):
                tally = keys_kept.setdefault(name, {}).setdefault(output, [0, 0])
                tally[0] += found[output]
                tally[1] += 1
            if not found["guarded"]:
                lost.append(f"{item.document}: {name}")
    return PipelineBenchmark(
        folder=str(folder),
        engine=engine,
        model=backend.name,
        prompt=prompt_object.name,
        guard=guard,
        items=items,
        ocr=mean_scores([item.ocr for item in good]),
        outputs={name: mean_scores([item.outputs[name] for item in good]) for name in ("unguarded", "guarded")},
        keys_kept=keys_kept,
        keys_lost=lost,
        load_seconds=_load_seconds(backend),
        seconds=round(time.perf_counter() - started, 1),
        machine=machine_info(),
        load_average=[load_start, load_average()],
    )


def _load_seconds(backend) -> float | None:
    """How long the model took to load, where the backend is one that loads a model."""
    seconds = getattr(backend, "load_seconds", None)
    return None if seconds is None else round(seconds, 2)
