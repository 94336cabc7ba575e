"""OCR accuracy, speed and memory per engine on scans with transcripts, beside plain RapidOCR.

Accuracy is CER and WER as `metrics` counts them (reading order included), the CER without the
reading order (`cer_any_order`: what is left is misreading), the words of 15+ letters that stand
for several words of the transcript (glued words), and whether each key field is found.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Sequence

from ..documents import Document, load_document
from ..errors import PipelineError
from .report import Report
from .common import (
    MIB,
    PeakMemory,
    Progress,
    TextScores,
    cer_any_order,
    cpu_seconds,
    glued_words,
    key_found,
    load_average,
    machine_info,
    mean_scores,
    score_text,
)
from .data import load_scan_set

PLAIN_RAPIDOCR = "rapidocr-plain"  # RapidOCR as it comes, without the project's reading order and spacing


@dataclass
class OcrScore:
    """One document read by one engine."""

    document: str
    engine: str
    pages: int = 0
    seconds_per_page: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0  # for the whole document
    scores: TextScores | None = None
    cer_any_order: float | None = None
    glued_words: list[str] = field(default_factory=list)
    keys_found: dict[str, bool] = field(default_factory=dict)
    text: str = ""
    error: str = ""


@dataclass
class OcrEngineSummary:
    engine: str  # as asked for
    ran_as: str  # the engine that ran (auto resolves to one)
    model: str  # its package and model version, where it says
    documents: int
    failed: int
    scores: TextScores | None
    cer_any_order: float | None  # mean over documents, like scores.cer
    glued_words: int  # over all documents
    keys_found: dict[str, list[int]]  # field -> [found, documents with that field]
    median_seconds_per_page: float | None
    median_cpu_seconds_per_page: float | None
    start_seconds: float  # creating the engine (loading its models)
    start_rss_added_mib: float
    peak_rss_mib: float  # highest RSS (process + children) while this engine read pages


@dataclass
class OcrBenchmark(Report):
    kind = "ocr"

    folder: str
    engines: list[OcrEngineSummary]
    documents: list[OcrScore]
    seconds: float

    def time_ratio(self, engine: str, figure: str = "median_seconds_per_page") -> float | None:
        """`figure` of `engine` over the same figure of plain RapidOCR, where both ran."""
        by_name = {summary.engine: getattr(summary, figure) for summary in self.engines}
        if by_name.get(engine) and by_name.get(PLAIN_RAPIDOCR):
            return round(by_name[engine] / by_name[PLAIN_RAPIDOCR], 3)
        return None

    def to_json(self) -> dict:
        others = [summary.engine for summary in self.engines if summary.engine != PLAIN_RAPIDOCR]
        return super().to_json() | {
            "time_ratio_vs_plain": {engine: self.time_ratio(engine) for engine in others},
            "cpu_ratio_vs_plain": {engine: self.time_ratio(engine, "median_cpu_seconds_per_page") for engine in others},
        }

    def title(self) -> str:
        return f"OCR on {self.folder}: {len(self.documents) // max(len(self.engines), 1)} documents, {self.seconds} s"

    def table(self) -> list[dict]:
        return [
            {"engine": s.engine, "ran as": s.ran_as, "docs": s.documents, "failed": s.failed}
            | (asdict(s.scores) if s.scores else {})
            | {"cer any order": s.cer_any_order, "glued words": s.glued_words}
            | {f"{name} found": f"{found}/{total}" for name, (found, total) in s.keys_found.items()}
            | {
                "s/page (median)": s.median_seconds_per_page,
                "time vs plain": self.time_ratio(s.engine),
                "CPU s/page": s.median_cpu_seconds_per_page,
                "CPU vs plain": self.time_ratio(s.engine, "median_cpu_seconds_per_page"),
                "start s": s.start_seconds,
                "start +MiB": s.start_rss_added_mib,
                "peak RSS MiB": s.peak_rss_mib,
            }
            for s in self.engines
        ]

    def notes(self) -> list[str]:
        notes: list[str] = []
        models = "; ".join(f"{s.engine}: {s.model}" for s in self.engines if s.model)
        if models:
            notes.append(f"models: {models}")
        notes += [f"{score.document} ({score.engine}): {score.error}" for score in self.documents if score.error]
        return notes

    def document_rows(self) -> list[dict]:
        rows: list[dict] = []
        for score in self.documents:
            figures = score.scores or TextScores(*[None] * 4)
            rows.append(
                {
                    "document": score.document,
                    "engine": score.engine,
                    "pages": score.pages,
                    "CER": figures.cer,
                    "CER any order": score.cer_any_order,
                    "WER": figures.wer,
                    "CER exact": figures.cer_exact,
                    "WER exact": figures.wer_exact,
                    "glued words": len(score.glued_words),
                }
                | {"seconds": round(sum(score.seconds_per_page), 3), "CPU seconds": score.cpu_seconds}
                | {f"{name} found": found for name, found in score.keys_found.items()}
                | {"error": score.error}
            )
        return rows


class _PlainRapidOcr:
    """RapidOCR with its default settings (its bundled models named by path, so that it stays
    offline), lines joined in the order it returns them: the baseline."""

    name = PLAIN_RAPIDOCR

    def __init__(self) -> None:
        from rapidocr import RapidOCR

        from ..ocr.rapid import bundled_model_params, engine_model

        self._ocr = RapidOCR(params=bundled_model_params())
        self.model = engine_model()

    def read(self, document: Document) -> tuple[str, list[float]]:
        import numpy as np

        texts, seconds = [], []
        for page in document.pages:
            started = time.perf_counter()
            result = self._ocr(np.asarray(page.image.convert("RGB")))
            seconds.append(time.perf_counter() - started)
            texts.append("\n".join(result.txts or []))
        return "\n\n".join(texts), seconds


class _ProjectEngine:
    """An engine name as the pipeline runs it (`ocr_document`), resolved and started once."""

    def __init__(self, name: str, license_path: str | None = None) -> None:
        from ..ocr import resolve_engine

        self.name, self.license_path = name, license_path
        engine = resolve_engine(name, license_path)[0]
        self.ran_as, self.model = engine.name, engine.model

    def read(self, document: Document) -> tuple[str, list[float]]:
        from ..ocr import ocr_document

        result = ocr_document(document, self.name, license_path=self.license_path)
        return result.text, [page.seconds for page in result.pages]


def _start_reader(name: str, license_path: str | None):
    return _PlainRapidOcr() if name == PLAIN_RAPIDOCR else _ProjectEngine(name, license_path)


def benchmark_ocr(
    folder: str | Path,
    engines: Sequence[str] = ("auto",),
    limit: int | None = None,
    on_progress: Progress | None = None,
    license_path: str | None = None,
) -> OcrBenchmark:
    """Read every scan with every engine, interleaved (the order flips every document) so that
    load from other processes falls on all engines alike. `license_path`: an Aspose license
    (default `ASPOSE_LICENSE`)."""
    started, load_start = time.perf_counter(), load_average()
    items = load_scan_set(folder, limit)
    readers, summaries_start = [], {}
    for name in dict.fromkeys(engines):
        before = time.perf_counter()
        with PeakMemory() as memory:
            reader = _start_reader(name, license_path)
        readers.append(reader)
        summaries_start[name] = (time.perf_counter() - before, memory.added_bytes)
    peaks = {reader.name: 0 for reader in readers}
    results: list[OcrScore] = []
    for position, item in enumerate(items):
        if on_progress:
            on_progress(position, len(items), item.name)
        try:
            document = load_document(item.path.read_bytes(), item.name)
        except (PipelineError, OSError) as error:
            results += [OcrScore(item.name, reader.name, error=str(error)) for reader in readers]
            continue
        order = readers if position % 2 == 0 else readers[::-1]
        for reader in order:
            score = OcrScore(item.name, reader.name, pages=len(document.pages))
            try:
                cpu_before = cpu_seconds()
                with PeakMemory() as memory:
                    score.text, score.seconds_per_page = reader.read(document)
                score.cpu_seconds = round(cpu_seconds() - cpu_before, 3)
                peaks[reader.name] = max(peaks[reader.name], memory.peak_bytes)
                score.scores = score_text(score.text, item.ground_truth)
                score.cer_any_order = round(cer_any_order(score.text, item.ground_truth), 4)
                score.glued_words = glued_words(score.text, item.ground_truth)
                score.keys_found = {name: key_found(name, value, score.text) for name, value in item.keys.items()}
            except PipelineError as error:
                score.error = str(error)
            results.append(score)
    if on_progress:
        on_progress(len(items), len(items), "done")
    summaries = []
    for reader in readers:
        mine = [score for score in results if score.engine == reader.name]
        good = [score for score in mine if not score.error]
        keys: dict[str, list[int]] = {}
        for score in good:
            for name, found in score.keys_found.items():
                keys.setdefault(name, [0, 0])
                keys[name][0] += found
                keys[name][1] += 1
        page_seconds = [seconds for score in good for seconds in score.seconds_per_page]
        page_cpu = [score.cpu_seconds / score.pages for score in good if score.pages]
        start_seconds, start_bytes = summaries_start[reader.name]
        summaries.append(
            OcrEngineSummary(
                engine=reader.name,
                ran_as=getattr(reader, "ran_as", reader.name),
                model=reader.model,
                documents=len(mine),
                failed=len(mine) - len(good),
                scores=mean_scores([score.scores for score in good]),
                cer_any_order=round(statistics.fmean(score.cer_any_order for score in good), 4) if good else None,
                glued_words=sum(len(score.glued_words) for score in good),
                keys_found=keys,
                median_seconds_per_page=round(statistics.median(page_seconds), 3) if page_seconds else None,
                median_cpu_seconds_per_page=round(statistics.median(page_cpu), 3) if page_cpu else None,
                start_seconds=round(start_seconds, 2),
                start_rss_added_mib=round(start_bytes / MIB, 1),
                peak_rss_mib=round(peaks[reader.name] / MIB, 1),
            )
        )
    return OcrBenchmark(
        str(folder),
        summaries,
        results,
        round(time.perf_counter() - started, 1),
        machine=machine_info(),
        load_average=[load_start, load_average()],
    )
