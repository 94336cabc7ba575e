"""Benchmarks the project judges itself by: OCR, correction, the whole pipeline, memory, overhead, GPU.

Every measurement is a function that returns a report (a dataclass with `to_json()`), so the
`bench` command and the dashboard's Evaluate page run the same code. Each report carries the
machine it ran on and the 1-minute load average at its start and end: on a shared machine a
timing means little without it.

Text is compared the way `metrics` does (case-insensitive, whitespace collapsed) and also exactly.
Memory is the resident set (RSS) of this process plus its child processes (Tesseract, the Aspose
worker), sampled every 20 ms while the measured work runs, so a short spike between two samples
can be missed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import psutil

from . import metrics
from .documents import SUPPORTED_SUFFIXES, Document, load_document
from .errors import PipelineError

Progress = Callable[[int, int, str], None]  # (items done, items in total, what is being done)

PLAIN_RAPIDOCR = "rapidocr-plain"  # RapidOCR as it comes, without the project's reading order and spacing
SAFETY_FIELDS = ("total", "date")  # the key fields correction must never lose
MIB = 2**20


# --- the machine ----------------------------------------------------------------------------------


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def cpu_seconds() -> float:
    """CPU time of this process (all threads) and of its finished child processes: unlike wall time,
    it barely moves when other processes compete for the cores."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info() -> dict:
    """CPU, cores, memory, GPU (if torch sees one) and the versions that decide the figures."""
    packages = ("torch", "transformers", "accelerate", "bitsandbytes", "onnxruntime", "rapidocr-onnxruntime", "pytesseract")
    info = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {package: _version(package) for package in packages if _version(package)},
        "gpu": None,
    }
    if shutil.which("tesseract"):
        first_line = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        info["versions"]["tesseract"] = first_line.removeprefix("tesseract ").strip()
    if _version("torch"):
        import torch

        if torch.cuda.is_available():
            properties = torch.cuda.get_device_properties(0)
            info["gpu"] = {"name": properties.name, "memory_gib": round(properties.total_memory / 2**30, 1),
                           "cuda": torch.version.cuda}
    return info


def _rss_with_children() -> int:
    process = psutil.Process()
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:  # the child ended between listing and reading
            pass
    return total


class PeakMemory:
    """The highest RSS (this process and its children) while the block runs, sampled every 20 ms."""

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.start_bytes = self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_bytes = max(self.peak_bytes, _rss_with_children())

    def __enter__(self) -> "PeakMemory":
        self.start_bytes = self.peak_bytes = _rss_with_children()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, _rss_with_children())

    @property
    def added_bytes(self) -> int:
        return self.peak_bytes - self.start_bytes


# --- text figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextScores:
    """CER and WER against the ground truth: normalised (case, whitespace) and exact."""

    cer: float
    wer: float
    cer_exact: float
    wer_exact: float


def score_text(hypothesis: str, reference: str) -> TextScores:
    return TextScores(
        metrics.cer(hypothesis, reference),
        metrics.wer(hypothesis, reference),
        metrics.cer(hypothesis, reference, normalized=False),
        metrics.wer(hypothesis, reference, normalized=False),
    )


def mean_scores(scores: Sequence[TextScores]) -> TextScores | None:
    """The mean of each figure over documents (every document weighs the same)."""
    if not scores:
        return None
    return TextScores(*(round(statistics.fmean(getattr(s, name) for s in scores), 4)
                        for name in ("cer", "wer", "cer_exact", "wer_exact")))


_CURRENCY_PREFIX = re.compile(r"^(?:rm|usd|eur|gbp|myr|[$€£¥])\s*")


def key_found(field_name: str, value: str, text: str) -> bool:
    """Whether a key field's value appears in the text, both normalised like `metrics.normalize`.

    A `total` is looked for as a whole number, with or without a currency prefix ("RM 9.00" and
    "9.00" both find 9.00, "19.00" does not).
    """
    wanted, haystack = metrics.normalize(value), metrics.normalize(text)
    if field_name == "total":
        amount = _CURRENCY_PREFIX.sub("", wanted)
        return bool(amount) and re.search(rf"(?<![\d.,]){re.escape(amount)}(?![\d])", haystack) is not None
    return bool(wanted) and wanted in haystack


_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")


def numbers_kept(ocr: str, output: str) -> tuple[int, int]:
    """(numbers of the OCR text still in the output, numbers in the OCR text), counted with repeats.

    A number is a run of digits, possibly with . , : / - inside (amounts, dates, times, ids); a
    look-alike repair such as 1O0 -> 100 counts as a change, because the digits differ.
    """
    before, after = Counter(_NUMBER.findall(ocr)), Counter(_NUMBER.findall(output))
    return sum((before & after).values()), sum(before.values())


# --- data -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanItem:
    """A scan with its transcript and, where given, its key fields (SROIE: company, date, address, total)."""

    name: str
    path: Path
    ground_truth: str
    keys: dict[str, str] = field(default_factory=dict)


def _sidecar(path: Path, suffix: str) -> Path | None:
    """`NAME.gt.txt` for `NAME.jpg`, also for double suffixes (`x.bin.png` -> `x.gt.txt`)."""
    for stem in dict.fromkeys((path.stem, path.name.split(".")[0])):
        candidate = path.with_name(stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def load_scan_set(folder: str | Path, limit: int | None = None) -> list[ScanItem]:
    """The scans in `folder` that have a `NAME.gt.txt` transcript, sorted by name."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise PipelineError(f"{folder}: no such folder.")
    items = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in SUPPORTED_SUFFIXES or not path.is_file():
            continue
        transcript = _sidecar(path, ".gt.txt")
        if transcript is None:
            continue
        keys_file = _sidecar(path, ".key.json")
        try:
            keys = json.loads(keys_file.read_text(encoding="utf-8")) if keys_file else {}
        except ValueError as error:
            raise PipelineError(f"{keys_file}: not valid JSON ({error}).") from error
        text = transcript.read_text(encoding="utf-8", errors="replace")
        items.append(ScanItem(path.name, path, text, {k: str(v) for k, v in keys.items() if v not in (None, "")}))
    if not items:
        raise PipelineError(f"{folder} has no scans with a NAME.gt.txt transcript beside them.")
    return items[:limit] if limit else items


@dataclass(frozen=True)
class Pair:
    id: str
    ocr: str
    gt: str


def parse_pairs(lines: Sequence[str], source: str = "pairs") -> list[Pair]:
    """Pairs from JSON lines: `{"ocr", "gt"}` (BLN600) or the HIPE-OCRepair schema (Overproof:
    `ocr_hypothesis.transcription_unit` and `ground_truth.transcription_unit`), told apart per line."""
    pairs = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise PipelineError(f"{source}, line {number}: not JSON ({error}).") from error
        if isinstance(row, dict) and isinstance(row.get("ocr"), str) and isinstance(row.get("gt"), str):
            pairs.append(Pair(str(row.get("id", number)) + f"#{number}", row["ocr"], row["gt"]))
        elif isinstance(row, dict) and isinstance(row.get("ocr_hypothesis"), dict) and isinstance(row.get("ground_truth"), dict):
            identifier = (row.get("document_metadata") or {}).get("document_id", number)
            pairs.append(Pair(str(identifier), row["ocr_hypothesis"]["transcription_unit"],
                              row["ground_truth"]["transcription_unit"]))
        else:
            raise PipelineError(
                f'{source}, line {number}: expected {{"ocr": ..., "gt": ...}} or the HIPE-OCRepair schema '
                "(ocr_hypothesis / ground_truth)."
            )
    if not pairs:
        raise PipelineError(f"{source} holds no pairs.")
    return pairs


def load_pairs(path: str | Path, limit: int | None = None) -> list[Pair]:
    path = Path(path).expanduser()
    if not path.is_file():
        raise PipelineError(f"{path}: no such file.")
    pairs = parse_pairs(path.read_text(encoding="utf-8").splitlines(), str(path))
    return pairs[:limit] if limit else pairs


# --- OCR ------------------------------------------------------------------------------------------


@dataclass
class OcrScore:
    """One document read by one engine."""

    document: str
    engine: str
    pages: int = 0
    seconds_per_page: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0  # for the whole document
    scores: TextScores | None = None
    keys_found: dict[str, bool] = field(default_factory=dict)
    text: str = ""
    error: str = ""


@dataclass
class OcrEngineSummary:
    engine: str  # as asked for
    ran_as: str  # the engine that ran (auto resolves to one)
    documents: int
    failed: int
    scores: TextScores | None
    keys_found: dict[str, list[int]]  # field -> [found, documents with that field]
    median_seconds_per_page: float | None
    median_cpu_seconds_per_page: float | None
    start_seconds: float  # creating the engine (loading its models)
    start_rss_added_mib: float
    peak_rss_mib: float  # highest RSS (process + children) while this engine read pages


@dataclass
class OcrBenchmark:
    folder: str
    engines: list[OcrEngineSummary]
    documents: list[OcrScore]
    machine: dict
    load_average: list[float]  # 1-minute load average at start and end
    seconds: float

    def time_ratio(self, engine: str, figure: str = "median_seconds_per_page") -> float | None:
        """`figure` of `engine` over the same figure of plain RapidOCR, where both ran."""
        by_name = {summary.engine: getattr(summary, figure) for summary in self.engines}
        if by_name.get(engine) and by_name.get(PLAIN_RAPIDOCR):
            return round(by_name[engine] / by_name[PLAIN_RAPIDOCR], 3)
        return None

    def to_json(self) -> dict:
        others = [summary.engine for summary in self.engines if summary.engine != PLAIN_RAPIDOCR]
        return {"benchmark": "ocr"} | asdict(self) | {
            "time_ratio_vs_plain": {engine: self.time_ratio(engine) for engine in others},
            "cpu_ratio_vs_plain": {engine: self.time_ratio(engine, "median_cpu_seconds_per_page") for engine in others},
        }


class _PlainRapidOcr:
    """RapidOCR called with its defaults, lines joined in the order it returns them: the baseline."""

    name = PLAIN_RAPIDOCR

    def __init__(self) -> None:
        from rapidocr_onnxruntime import RapidOCR

        self._ocr = RapidOCR()

    def read(self, document: Document) -> tuple[str, list[float]]:
        import numpy as np

        texts, seconds = [], []
        for page in document.pages:
            started = time.perf_counter()
            result, _ = self._ocr(np.asarray(page.image.convert("RGB")))
            seconds.append(time.perf_counter() - started)
            texts.append("\n".join(line[1] for line in result or []))
        return "\n\n".join(texts), seconds


class _ProjectEngine:
    """An engine name as the pipeline runs it (`ocr_document`), resolved and started once."""

    def __init__(self, name: str) -> None:
        from .ocr import resolve_engine

        self.name = name
        self.ran_as = resolve_engine(name)[0].name

    def read(self, document: Document) -> tuple[str, list[float]]:
        from .ocr import ocr_document

        result = ocr_document(document, self.name)
        return result.text, [page.seconds for page in result.pages]


def _start_reader(name: str):
    return _PlainRapidOcr() if name == PLAIN_RAPIDOCR else _ProjectEngine(name)


def benchmark_ocr(
    folder: str | Path,
    engines: Sequence[str] = ("auto",),
    limit: int | None = None,
    on_progress: Progress | None = None,
) -> OcrBenchmark:
    """Read every scan with every engine, interleaved (the order flips every document) so that
    load from other processes falls on all engines alike."""
    started, load_start = time.perf_counter(), load_average()
    items = load_scan_set(folder, limit)
    readers, summaries_start = [], {}
    for name in dict.fromkeys(engines):
        before = time.perf_counter()
        with PeakMemory() as memory:
            reader = _start_reader(name)
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
        summaries.append(OcrEngineSummary(
            engine=reader.name,
            ran_as=getattr(reader, "ran_as", reader.name),
            documents=len(mine),
            failed=len(mine) - len(good),
            scores=mean_scores([score.scores for score in good]),
            keys_found=keys,
            median_seconds_per_page=round(statistics.median(page_seconds), 3) if page_seconds else None,
            median_cpu_seconds_per_page=round(statistics.median(page_cpu), 3) if page_cpu else None,
            start_seconds=round(start_seconds, 2),
            start_rss_added_mib=round(start_bytes / MIB, 1),
            peak_rss_mib=round(peaks[reader.name] / MIB, 1),
        ))
    return OcrBenchmark(str(folder), summaries, results, machine_info(), [load_start, load_average()],
                        round(time.perf_counter() - started, 1))


# --- correction -----------------------------------------------------------------------------------


def _prompt(prompt):
    """A prompt object from a name (presets and team prompts) or as given (an edited prompt)."""
    from .prompts import get_prompt

    return get_prompt(prompt) if isinstance(prompt, str) else prompt


def guarded_text(result, policy) -> str:
    """The document as `policy` would have left it, from a result whose chunks keep the model's
    answers: the same `apply_guard` call `correct_text` makes, so one generation serves every policy."""
    from .guard import apply_guard, get_policy

    policy = get_policy(policy)
    return "".join(
        (apply_guard(chunk.raw, chunk.candidate, policy).text if chunk.candidate is not None else chunk.raw)
        + chunk.separator
        for chunk in result.chunks
    )


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
class CorrectionBenchmark:
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
    machine: dict
    load_average: list[float]

    def to_json(self) -> dict:
        return {"benchmark": "correct"} | asdict(self)


def _summarise_outputs(items: list[CorrectionItem]) -> list[OutputSummary]:
    summaries = []
    for output in items[0].outputs if items else []:
        deltas = [item.outputs[output].cer - item.ocr.cer for item in items]
        kept = sum(item.numbers_kept[output] for item in items)
        numbers = sum(item.numbers for item in items)
        summaries.append(OutputSummary(
            output=output,
            scores=mean_scores([item.outputs[output] for item in items]),
            worse=round(sum(d > 1e-9 for d in deltas) / len(items), 4),
            better=round(sum(d < -1e-9 for d in deltas) / len(items), 4),
            unchanged=round(sum(abs(d) <= 1e-9 for d in deltas) / len(items), 4),
            numbers_kept=round(kept / numbers, 4) if numbers else 1.0,
            items_worse=[item.id for item, d in zip(items, deltas) if d > 1e-9],
        ))
    return summaries


def correct_pair(backend, prompt, ocr: str | Sequence[str], guard: str):
    """Correct a text once, unguarded, and derive the guarded text from the same answers:
    {"unguarded": ..., "guarded": ...}, and the `CorrectionResult`."""
    from .correction import correct_text

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
    prompt_object = _prompt(prompt)
    items = []
    for position, pair in enumerate(pairs):
        if on_progress:
            on_progress(position, len(pairs), pair.id)
        item_started = time.perf_counter()
        result, outputs = correct_pair(backend, prompt_object, pair.ocr, guard)
        new_tokens = sum(chunk.new_tokens for chunk in result.chunks)
        items.append(CorrectionItem(
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
        ))
    if on_progress:
        on_progress(len(pairs), len(pairs), "done")
    tokens = sum(item.new_tokens for item in items)
    generation = sum(item.generation_seconds for item in items)
    loaded = getattr(backend, "loaded", None)
    return CorrectionBenchmark(
        source=source,
        model=backend.name,
        prompt=prompt_object.name,
        guard=guard,
        items=items,
        ocr=mean_scores([item.ocr for item in items]),
        outputs=_summarise_outputs(items),
        tokens_per_second=round(tokens / generation, 2) if generation else 0.0,
        load_seconds=round(loaded.load_seconds, 2) if loaded else None,
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
class PipelineBenchmark:
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
    machine: dict
    load_average: list[float]

    def to_json(self) -> dict:
        return {"benchmark": "pipeline"} | asdict(self)


def benchmark_pipeline(
    folder: str | Path,
    backend,
    engine: str = "auto",
    prompt: str = "general",
    guard: str = "strict",
    limit: int | None = None,
    on_progress: Progress | None = None,
) -> PipelineBenchmark:
    """OCR real scans, correct them, and check that every key field the OCR read survives correction."""
    from .ocr import ocr_document

    started, load_start = time.perf_counter(), load_average()
    items_in = load_scan_set(folder, limit)
    prompt_object = _prompt(prompt)
    items: list[PipelineItem] = []
    for position, scan in enumerate(items_in):
        if on_progress:
            on_progress(position, len(items_in), scan.name)
        try:
            document = load_document(scan.path.read_bytes(), scan.name)
            ocr = ocr_document(document, engine)
            correction_started = time.perf_counter()
            pages = [page.text for page in ocr.pages]
            result, outputs = correct_pair(backend, prompt_object, pages, guard)
        except (PipelineError, OSError) as error:
            items.append(PipelineItem(scan.name, 0.0, 0.0, None, {}, {}, error=str(error)))
            continue
        texts = {"gt": scan.ground_truth, "ocr": result.raw} | outputs
        items.append(PipelineItem(
            document=scan.name,
            ocr_seconds=round(sum(page.seconds for page in ocr.pages), 3),
            correction_seconds=round(time.perf_counter() - correction_started, 3),
            ocr=score_text(result.raw, scan.ground_truth),
            outputs={name: score_text(text, scan.ground_truth) for name, text in outputs.items()},
            keys={name: {label: key_found(name, value, text) for label, text in texts.items()}
                  for name, value in scan.keys.items() if name in SAFETY_FIELDS},
        ))
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
    loaded = getattr(backend, "loaded", None)
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
        load_seconds=round(loaded.load_seconds, 2) if loaded else None,
        seconds=round(time.perf_counter() - started, 1),
        machine=machine_info(),
        load_average=[load_start, load_average()],
    )


# --- memory across load and release ---------------------------------------------------------------


@dataclass
class ReleaseCycle:
    cycle: int
    load_seconds: float
    after_load: dict  # MemorySnapshot fields, bytes
    after_release: dict


@dataclass
class ReleaseBenchmark:
    model: str
    options: dict
    before: dict  # before the first load (torch and transformers already imported)
    cycles: list[ReleaseCycle]
    rss_growth: float  # RSS after the last release over RSS before the first load, minus 1
    rss_growth_after_first: float  # after the last release over after the first release, minus 1
    cuda_returned: bool | None  # CUDA allocated after every release == before the first load; None without CUDA
    machine: dict
    load_average: list[float]

    def to_json(self) -> dict:
        return {"benchmark": "release"} | asdict(self)


def benchmark_release(source, options=None, cycles: int = 10, on_progress: Progress | None = None) -> ReleaseBenchmark:
    """Load and release the model `cycles` times; memory after each load and each release."""
    from .llm import LoadOptions, load_model, memory_snapshot, release_model

    import torch  # noqa: F401 - imported before the baseline, so the baseline is not the import
    import transformers  # noqa: F401

    options = options or LoadOptions()
    load_start = load_average()
    before = memory_snapshot()
    records = []
    for cycle in range(1, cycles + 1):
        if on_progress:
            on_progress(cycle - 1, cycles, f"cycle {cycle}")
        loaded = load_model(source, options)
        report = release_model(loaded)
        records.append(ReleaseCycle(cycle, round(loaded.load_seconds, 2), asdict(loaded.memory_after), asdict(report.after)))
        del loaded
    if on_progress:
        on_progress(cycles, cycles, "done")
    last, first = records[-1].after_release["rss_bytes"], records[0].after_release["rss_bytes"]
    cuda = [cycle.after_release["cuda_allocated_bytes"] for cycle in records]
    cuda_returned = None if cuda[-1] is None else all(value == (before.cuda_allocated_bytes or 0) for value in cuda)
    return ReleaseBenchmark(
        model=getattr(source, "name", str(source)),
        options=asdict(options),
        before=asdict(before),
        cycles=records,
        rss_growth=round(last / before.rss_bytes - 1, 4),
        rss_growth_after_first=round(last / first - 1, 4),
        cuda_returned=cuda_returned,
        machine=machine_info(),
        load_average=[load_start, load_average()],
    )


# --- the pipeline's cost over plain generation ----------------------------------------------------


def default_overhead_text() -> str:
    """Five pages the project renders for its samples: five chunks at the default token budget."""
    from . import samples
    from .chunking import PAGE_BREAK

    pages = [samples.INVOICE_LINES, samples.RECEIPT_LINES, samples.NOTE_LINES, *samples.LETTER_PAGES]
    return PAGE_BREAK.join("\n".join(lines) for lines in pages)


@dataclass
class OverheadBenchmark:
    model: str
    prompt: str
    guard: str
    chunks: int
    batching: bool  # whether the pipeline batched chunks (CUDA); plain generation is always one by one
    pipeline_seconds: list[float]  # one per repeat
    plain_seconds: list[float]
    pipeline_new_tokens: int  # per repeat; equal to plain_new_tokens when both decoded the same tokens
    plain_new_tokens: int
    ratio: float  # total pipeline seconds / total plain seconds
    machine: dict
    load_average: list[float]

    def to_json(self) -> dict:
        return {"benchmark": "overhead"} | asdict(self)


def benchmark_overhead(
    backend,
    text: str | None = None,
    prompt: str = "general",
    guard: str = "strict",
    repeats: int = 3,
    on_progress: Progress | None = None,
) -> OverheadBenchmark:
    """`correct_text` against a loop of plain `model.generate` on the same chat-formatted chunks.

    Both decode the same way (greedy, no repetition penalty, the same max_new_tokens per chunk),
    the plain inputs are tokenised before the clock starts, one warm-up call runs first, and the
    order alternates every repeat so that load from other processes falls on both alike.
    """
    import torch

    from .chunking import chunk_text, max_new_tokens_for
    from .correction import correct_text
    from .prompts import build_messages

    load_start = load_average()
    text = text or default_overhead_text()
    prompt_object = _prompt(prompt)
    model, tokenizer = backend.loaded.model, backend.loaded.tokenizer
    chunks = [chunk for chunk in chunk_text(text, backend.count_tokens) if chunk.needs_model]
    inputs = [
        (tokenizer.apply_chat_template([build_messages(prompt_object, chunk.text)], add_generation_prompt=True,
                                       return_dict=True, return_tensors="pt").to(model.device),
         max_new_tokens_for(chunk.tokens))
        for chunk in chunks
    ]

    def plain(limit_override: int | None = None) -> int:
        new_tokens = 0
        with torch.inference_mode():
            for encoded, limit in inputs:
                output = model.generate(**encoded, max_new_tokens=limit_override or limit, do_sample=False,
                                        repetition_penalty=1.0, pad_token_id=tokenizer.pad_token_id)
                new_tokens += output.shape[1] - encoded["input_ids"].shape[1]
        return new_tokens

    def pipeline() -> int:
        result = correct_text(text, backend, prompt_object, guard)
        return sum(chunk.new_tokens for chunk in result.chunks)

    plain(limit_override=2)  # warm-up: first-call allocations and kernel selection
    seconds: dict[str, list[float]] = {"pipeline": [], "plain": []}
    tokens: dict[str, int] = {}
    runs = {"pipeline": pipeline, "plain": plain}
    for repeat in range(repeats):
        if on_progress:
            on_progress(repeat, repeats, f"repeat {repeat + 1}")
        for name in ("pipeline", "plain") if repeat % 2 == 0 else ("plain", "pipeline"):
            started = time.perf_counter()
            tokens[name] = runs[name]()
            seconds[name].append(round(time.perf_counter() - started, 3))
    if on_progress:
        on_progress(repeats, repeats, "done")
    return OverheadBenchmark(
        model=backend.name,
        prompt=prompt_object.name,
        guard=guard,
        chunks=len(chunks),
        batching=backend.supports_batching,
        pipeline_seconds=seconds["pipeline"],
        plain_seconds=seconds["plain"],
        pipeline_new_tokens=tokens["pipeline"],
        plain_new_tokens=tokens["plain"],
        ratio=round(sum(seconds["pipeline"]) / sum(seconds["plain"]), 3),
        machine=machine_info(),
        load_average=[load_start, load_average()],
    )


# --- GPU: Qwen2.5 shapes with random weights ------------------------------------------------------

# The real configurations of the Qwen2.5 instruct models (config.json on the Hub), written here
# because GPU machines have no internet: random weights in these shapes cost the same time and
# memory as the real ones, though what they generate is noise.
QWEN25_SHAPES: dict[str, dict[str, Any]] = {
    "Qwen2.5-0.5B": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                         num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
    "Qwen2.5-1.5B": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                         num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
    "Qwen2.5-3B": dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36, num_attention_heads=16,
                       num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
    "Qwen2.5-7B": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                       num_key_value_heads=4, vocab_size=152064, tie_word_embeddings=False),
}
QWEN25_COMMON = dict(max_position_embeddings=32768, rms_norm_eps=1e-6, rope_theta=1000000.0, hidden_act="silu")
GPU_VARIANTS = {"bf16": {"dtype": "bfloat16"}, "int8": {"quantization": "int8"}, "4bit": {"quantization": "4bit"}}
GPU_LAYER_FRACTIONS = (0.75, 0.5, 0.25)  # of the decoder layers, for the bf16 sweep (besides "all")
NO_CUDA = "no CUDA: skipped (torch sees no GPU on this machine)"
_CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def build_random_model(folder: Path, shape: dict[str, Any], device: str = "cpu") -> Path:
    """A Qwen2 model with random bf16 weights in `shape`, and a stub chat tokenizer, saved in `folder`.

    The benchmarks feed token ids directly, so the tokenizer only has to satisfy the loader.
    """
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast, Qwen2Config

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    stub = Tokenizer(models.WordLevel({token: index for index, token in enumerate(specials)}, unk_token="<|endoftext|>"))
    stub.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=stub, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                            chat_template=_CHATML).save_pretrained(folder)
    config = Qwen2Config(**QWEN25_COMMON, **shape, eos_token_id=2, pad_token_id=0)
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(folder)
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return folder


def measure_generation(model, batch: int, prompt_tokens: int, new_tokens: int) -> dict:
    """Tokens per second for `batch` random prompts generated one by one, then in one batched call.

    Every prompt yields exactly `new_tokens` (min = max), so both ways do the same work.
    """
    import torch

    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(10, 30000, (batch, prompt_tokens), generator=generator).to(model.device)
    settings = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False, pad_token_id=0)
    cuda = torch.cuda.is_available()
    with torch.inference_mode():
        model.generate(input_ids=ids[:1], attention_mask=torch.ones_like(ids[:1]), **settings | {"max_new_tokens": 2, "min_new_tokens": 2})
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        for row in range(batch):
            model.generate(input_ids=ids[row : row + 1], attention_mask=torch.ones_like(ids[row : row + 1]), **settings)
        if cuda:
            torch.cuda.synchronize()
        one_by_one = time.perf_counter() - started
        started = time.perf_counter()
        model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **settings)
        if cuda:
            torch.cuda.synchronize()
        batched = time.perf_counter() - started
    tokens = batch * new_tokens
    return {
        "one_by_one_tokens_per_second": round(tokens / one_by_one, 1),
        "batched_tokens_per_second": round(tokens / batched, 1),
        "batched_speedup": round(one_by_one / batched, 2),
        "peak_cuda_mib": round(torch.cuda.max_memory_allocated() / MIB) if cuda else None,
    }


@dataclass
class GpuRun:
    shape: str
    variant: str  # bf16 | int8 | 4bit
    gpu_layers: int | str
    load_seconds: float | None = None
    after_load: dict | None = None  # MemorySnapshot fields, bytes
    after_release: dict | None = None
    generation: dict | None = None  # see `measure_generation`
    error: str = ""


@dataclass
class GpuBenchmark:
    skipped: str | None
    settings: dict
    runs: list[GpuRun]
    machine: dict
    load_average: list[float]

    def to_json(self) -> dict:
        return {"benchmark": "gpu"} | asdict(self)


def _gpu_plan(shape: str) -> list[tuple[str, int | str]]:
    """bf16, int8 and 4bit with every layer on the GPU, then bf16 with a share of the layers there."""
    layers = QWEN25_SHAPES[shape]["num_hidden_layers"]
    plan: list[tuple[str, int | str]] = [(variant, "all") for variant in GPU_VARIANTS]
    return plan + [("bf16", max(1, round(layers * fraction))) for fraction in GPU_LAYER_FRACTIONS]


def benchmark_gpu(
    shapes: Sequence[str] = ("Qwen2.5-0.5B", "Qwen2.5-1.5B", "Qwen2.5-3B"),
    batch: int = 8,
    prompt_tokens: int = 256,
    new_tokens: int = 128,
    on_progress: Progress | None = None,
) -> GpuBenchmark:
    """Load time, memory and tokens per second (one by one and batched) per shape, variant and
    gpu_layers; returns a report with `skipped` set where there is no CUDA."""
    from .llm import LoadOptions, cuda_available, load_model, release_model
    from .models import ModelSource

    settings = {"shapes": list(shapes), "batch": batch, "prompt_tokens": prompt_tokens, "new_tokens": new_tokens,
                "weights": "random, in the real Qwen2.5 configurations (speed and memory only)"}
    load_start = load_average()
    unknown = [shape for shape in shapes if shape not in QWEN25_SHAPES]
    if unknown:
        raise PipelineError(f"Unknown shape {', '.join(unknown)}; choose from {', '.join(QWEN25_SHAPES)}.")
    if not cuda_available():
        return GpuBenchmark(NO_CUDA, settings, [], machine_info(), [load_start, load_average()])
    runs = []
    plan = [(shape, variant, layers) for shape in shapes for variant, layers in _gpu_plan(shape)]
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as scratch:
        folders: dict[str, Path] = {}
        for position, (shape, variant, layers) in enumerate(plan):
            if on_progress:
                on_progress(position, len(plan), f"{shape} {variant} gpu_layers={layers}")
            if shape not in folders:
                folders[shape] = build_random_model(Path(scratch) / shape, QWEN25_SHAPES[shape], device="cuda")
            run = GpuRun(shape, variant, layers)
            try:
                loaded = load_model(ModelSource(shape, folders[shape]), LoadOptions(gpu_layers=layers, **GPU_VARIANTS[variant]))
                run.load_seconds, run.after_load = round(loaded.load_seconds, 2), asdict(loaded.memory_after)
                try:
                    run.generation = measure_generation(loaded.model, batch, prompt_tokens, new_tokens)
                finally:
                    run.after_release = asdict(release_model(loaded).after)
            except Exception as error:  # noqa: BLE001 - one variant that fails (out of memory) is a row
                run.error = f"{type(error).__name__}: {error}"
            runs.append(run)
    if on_progress:
        on_progress(len(plan), len(plan), "done")
    return GpuBenchmark(None, settings, runs, machine_info(), [load_start, load_average()])


# --- per-document tables (the Evaluate page, CSV export) -----------------------------------------


def document_rows(report) -> list[dict]:
    """One row per document (per engine for OCR), flat, for a table, a chart or a CSV file.

    Correction rows carry "CER OCR", "CER unguarded" and "CER guarded": before and after.
    """
    kind = report.to_json()["benchmark"]
    rows = []
    if kind == "ocr":
        for score in report.documents:
            figures = score.scores or TextScores(*[None] * 4)
            rows.append({"document": score.document, "engine": score.engine, "pages": score.pages,
                         "CER": figures.cer, "WER": figures.wer, "CER exact": figures.cer_exact,
                         "WER exact": figures.wer_exact}
                        | {"seconds": round(sum(score.seconds_per_page), 3), "CPU seconds": score.cpu_seconds}
                        | {f"{name} found": found for name, found in score.keys_found.items()}
                        | {"error": score.error})
    elif kind == "correct":
        for item in report.items:
            rows.append({"document": item.id, "CER OCR": item.ocr.cer}
                        | {f"CER {name}": scores.cer for name, scores in item.outputs.items()}
                        | {"WER OCR": item.ocr.wer} | {f"WER {name}": scores.wer for name, scores in item.outputs.items()}
                        | {"numbers": item.numbers} | {f"numbers kept {name}": kept for name, kept in item.numbers_kept.items()}
                        | {"new tokens": item.new_tokens, "seconds": item.seconds})
    elif kind == "pipeline":
        for item in report.items:
            rows.append({"document": item.document, "CER OCR": item.ocr.cer if item.ocr else None}
                        | {f"CER {name}": scores.cer for name, scores in item.outputs.items()}
                        | {f"{name} kept": found["guarded"] if found["ocr"] else None for name, found in item.keys.items()}
                        | {"OCR seconds": item.ocr_seconds, "correction seconds": item.correction_seconds,
                           "error": item.error})
    return rows


# --- the command line -----------------------------------------------------------------------------


def format_table(rows: list[dict]) -> str:
    """A plain text table; numbers right-aligned, None shown as '-'."""
    if not rows:
        return "(no rows)"
    columns = list(dict.fromkeys(column for row in rows for column in row))

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
        return str(value)

    cells = [[cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    numeric = [all(isinstance(row.get(column), (int, float)) or row.get(column) is None for row in rows) for column in columns]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if right else v.ljust(w) for v, w, right in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(values) for values in cells)])


def _scores_row(label: str, scores: TextScores | None) -> dict:
    return {"text": label} | (asdict(scores) if scores else {})


def _machine_line(report) -> str:
    machine = report.machine
    gpu = machine["gpu"]["name"] if machine.get("gpu") else "no GPU"
    versions = ", ".join(f"{name} {version}" for name, version in machine["versions"].items())
    start, end = report.load_average
    return (f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, {gpu}; "
            f"load average {start} -> {end}\nversions: {versions}")


def _mib(snapshot: dict | None, key: str = "rss_bytes") -> float | None:
    value = (snapshot or {}).get(key)
    return None if value is None else round(value / MIB, 1)


def render_report(report) -> str:
    """The readable form of any benchmark report."""
    kind = report.to_json()["benchmark"]
    lines = []
    if kind == "ocr":
        lines.append(f"OCR on {report.folder}: {len(report.documents) // max(len(report.engines), 1)} documents, {report.seconds} s")
        lines.append(format_table([
            {"engine": s.engine, "ran as": s.ran_as, "docs": s.documents, "failed": s.failed}
            | (asdict(s.scores) if s.scores else {})
            | {f"{name} found": f"{found}/{total}" for name, (found, total) in s.keys_found.items()}
            | {"s/page (median)": s.median_seconds_per_page, "time vs plain": report.time_ratio(s.engine),
               "CPU s/page": s.median_cpu_seconds_per_page,
               "CPU vs plain": report.time_ratio(s.engine, "median_cpu_seconds_per_page"),
               "start s": s.start_seconds, "start +MiB": s.start_rss_added_mib, "peak RSS MiB": s.peak_rss_mib}
            for s in report.engines
        ]))
        lines += [f"{score.document} ({score.engine}): {score.error}" for score in report.documents if score.error]
    elif kind == "correct":
        lines.append(f"Correction of {len(report.items)} pairs from {report.source}: model {report.model}, prompt "
                     f"{report.prompt}, guard {report.guard}; {report.seconds} s, load {report.load_seconds} s, "
                     f"{report.tokens_per_second} tokens/s")
        lines.append(format_table([_scores_row("ocr", report.ocr)] + [
            _scores_row(s.output, s.scores) | {"worse": s.worse, "better": s.better, "unchanged": s.unchanged,
                                               "numbers kept": s.numbers_kept}
            for s in report.outputs
        ]))
        for summary in report.outputs:
            if summary.items_worse:
                lines.append(f"{summary.output} worse than the OCR text on: {', '.join(summary.items_worse[:20])}"
                             + (" ..." if len(summary.items_worse) > 20 else ""))
    elif kind == "pipeline":
        good = [item for item in report.items if not item.error]
        lines.append(f"Pipeline on {report.folder}: {len(good)} of {len(report.items)} documents, engine "
                     f"{report.engine}, model {report.model}, prompt {report.prompt}, guard {report.guard}; {report.seconds} s")
        lines.append(format_table([_scores_row("ocr", report.ocr)]
                                  + [_scores_row(name, scores) for name, scores in report.outputs.items()]))
        lines.append(format_table([
            {"field": name, "output": output, "kept": kept, "found in OCR": found}
            for name, outputs in report.keys_kept.items() for output, (kept, found) in outputs.items()
        ]))
        lines.append("key fields lost after guarded correction: " + (", ".join(report.keys_lost) or "none"))
        lines += [f"{item.document}: {item.error}" for item in report.items if item.error]
    elif kind == "release":
        lines.append(f"Load/release of {report.model}, {len(report.cycles)} cycles; before: "
                     f"RSS {_mib(report.before)} MiB")
        lines.append(format_table([
            {"cycle": c.cycle, "load s": c.load_seconds, "RSS after load MiB": _mib(c.after_load),
             "RSS after release MiB": _mib(c.after_release),
             "CUDA alloc after load MiB": _mib(c.after_load, "cuda_allocated_bytes"),
             "CUDA alloc after release MiB": _mib(c.after_release, "cuda_allocated_bytes")}
            for c in report.cycles
        ]))
        lines.append(f"RSS growth: {report.rss_growth:+.2%} over before the first load, "
                     f"{report.rss_growth_after_first:+.2%} over after the first release; CUDA returned: "
                     f"{'n/a (no CUDA)' if report.cuda_returned is None else report.cuda_returned}")
    elif kind == "overhead":
        lines.append(f"Overhead of correct_text over plain generate: model {report.model}, {report.chunks} chunks, "
                     f"prompt {report.prompt}, pipeline batching {report.batching}")
        lines.append(format_table([
            {"run": "pipeline", "seconds per repeat": " ".join(map(str, report.pipeline_seconds)),
             "total s": round(sum(report.pipeline_seconds), 3), "new tokens": report.pipeline_new_tokens},
            {"run": "plain generate", "seconds per repeat": " ".join(map(str, report.plain_seconds)),
             "total s": round(sum(report.plain_seconds), 3), "new tokens": report.plain_new_tokens},
        ]))
        lines.append(f"ratio (pipeline / plain): {report.ratio}")
    elif kind == "gpu":
        if report.skipped:
            lines.append(report.skipped)
        else:
            lines.append(f"GPU benchmark ({report.settings['weights']}); batch {report.settings['batch']}, "
                         f"{report.settings['prompt_tokens']} prompt tokens, {report.settings['new_tokens']} new tokens")
            lines.append(format_table([
                {"shape": r.shape, "variant": r.variant, "gpu_layers": str(r.gpu_layers), "load s": r.load_seconds,
                 "CUDA alloc MiB": _mib(r.after_load, "cuda_allocated_bytes")}
                | ({"tok/s 1-by-1": r.generation["one_by_one_tokens_per_second"],
                    "tok/s batched": r.generation["batched_tokens_per_second"],
                    "speedup": r.generation["batched_speedup"], "peak CUDA MiB": r.generation["peak_cuda_mib"]}
                   if r.generation else {})
                | {"CUDA after release MiB": _mib(r.after_release, "cuda_allocated_bytes"), "error": r.error or None}
                for r in report.runs
            ]))
    lines.append(_machine_line(report))
    return "\n".join(lines)


def _stderr_progress(done: int, total: int, what: str) -> None:
    print(f"\r[{done}/{total}] {what[:60]:60}", end="\n" if done == total else "", file=sys.stderr, flush=True)


def _emit(report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False), flush=True)
    else:
        print(render_report(report), flush=True)


def _cmd_ocr(args: argparse.Namespace) -> int:
    report = benchmark_ocr(args.folder, args.engine or ["auto", PLAIN_RAPIDOCR], args.limit, _stderr_progress)
    _emit(report, args.json)
    return 1 if any(summary.failed for summary in report.engines) else 0


def _cmd_correct(args: argparse.Namespace) -> int:
    from .cli import _load_backend
    from .prompts import get_prompt

    get_prompt(args.prompt)  # an unknown prompt fails before the model loads
    pairs = load_pairs(args.pairs, args.limit)
    report = benchmark_correction(pairs, _load_backend(args), args.prompt, args.guard, args.pairs, _stderr_progress)
    _emit(report, args.json)
    return 0


def _cmd_pipeline(args: argparse.Namespace) -> int:
    from .cli import _load_backend

    load_scan_set(args.folder, args.limit)  # a folder without transcripts fails before the model loads
    report = benchmark_pipeline(args.folder, _load_backend(args), args.engine, args.prompt, args.guard, args.limit,
                                _stderr_progress)
    _emit(report, args.json)
    return 1 if any(item.error for item in report.items) else 0


def _cmd_release(args: argparse.Namespace) -> int:
    from .llm import LoadOptions
    from .models import resolve_model

    source = resolve_model(args.model, allow_download=args.allow_download)
    options = LoadOptions(quantization=args.quantization, gpu_layers=args.gpu_layers)
    _emit(benchmark_release(source, options, args.cycles, _stderr_progress), args.json)
    return 0


def _cmd_overhead(args: argparse.Namespace) -> int:
    from .cli import _load_backend

    text = Path(args.text_file).read_text(encoding="utf-8") if args.text_file else None
    report = benchmark_overhead(_load_backend(args), text, args.prompt, args.guard, args.repeats, _stderr_progress)
    _emit(report, args.json)
    return 0


def _cmd_gpu(args: argparse.Namespace) -> int:
    _emit(benchmark_gpu(args.shape, args.batch, args.prompt_tokens, args.new_tokens, _stderr_progress), args.json)
    return 0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("expected a whole number of at least 1")
    return number


def add_bench_commands(subparsers) -> None:
    """Register `bench` and its subcommands on the CLI's subparsers (each sets `handler`)."""
    from .cli import _add_model_arguments, _gpu_layers
    from .llm import QUANTIZATIONS
    from .ocr import ENGINE_NAMES

    bench = subparsers.add_parser("bench", help="measure OCR, correction, memory and speed; tables or --json")
    commands = bench.add_subparsers(dest="bench_command", required=True, metavar="{ocr,correct,pipeline,release,overhead,gpu}")

    ocr = commands.add_parser("ocr", help="CER/WER, key fields, time and memory per engine on scans with NAME.gt.txt")
    ocr.add_argument("folder", metavar="DIR")
    ocr.add_argument("--engine", nargs="+", action="extend", choices=(*ENGINE_NAMES, PLAIN_RAPIDOCR),
                     help=f"engines to compare (default: auto {PLAIN_RAPIDOCR})")
    ocr.add_argument("--limit", type=_positive, help="only the first N scans (by name)")
    ocr.add_argument("--json", action="store_true", help="one JSON object with every figure")
    ocr.set_defaults(handler=_cmd_ocr)

    correct = commands.add_parser("correct", help="CER/WER before and after correction on {ocr, gt} pairs")
    correct.add_argument("pairs", metavar="PAIRS.jsonl", help='{"ocr", "gt"} per line, or the HIPE-OCRepair schema')
    correct.add_argument("--limit", type=_positive, help="only the first N pairs")
    _add_model_arguments(correct)
    correct.set_defaults(handler=_cmd_correct)

    pipeline = commands.add_parser("pipeline", help="OCR then correction on scans; key fields kept")
    pipeline.add_argument("folder", metavar="DIR")
    pipeline.add_argument("--engine", choices=ENGINE_NAMES, default="auto")
    pipeline.add_argument("--limit", type=_positive, help="only the first N scans (by name)")
    _add_model_arguments(pipeline)
    pipeline.set_defaults(handler=_cmd_pipeline)

    release = commands.add_parser("release", help="memory after each load and each release of a model")
    release.add_argument("--model", default="demo")
    release.add_argument("--cycles", type=_positive, default=10)
    release.add_argument("--quantization", choices=QUANTIZATIONS, default="none")
    release.add_argument("--gpu-layers", type=_gpu_layers, default="all")
    release.add_argument("--allow-download", action="store_true")
    release.add_argument("--json", action="store_true")
    release.set_defaults(handler=_cmd_release)

    overhead = commands.add_parser("overhead", help="correct_text against plain model.generate on the same chunks")
    overhead.add_argument("--text-file", metavar="F", help="text to correct (default: the project's sample pages)")
    overhead.add_argument("--repeats", type=_positive, default=3)
    _add_model_arguments(overhead)
    overhead.set_defaults(handler=_cmd_overhead)

    gpu = commands.add_parser("gpu", help="Qwen2.5 shapes (random weights): bf16/int8/4bit, gpu_layers, batching")
    gpu.add_argument("--shape", nargs="+", choices=tuple(QWEN25_SHAPES), default=["Qwen2.5-0.5B", "Qwen2.5-1.5B", "Qwen2.5-3B"])
    gpu.add_argument("--batch", type=_positive, default=8)
    gpu.add_argument("--prompt-tokens", type=_positive, default=256)
    gpu.add_argument("--new-tokens", type=_positive, default=128)
    gpu.add_argument("--json", action="store_true")
    gpu.set_defaults(handler=_cmd_gpu)
