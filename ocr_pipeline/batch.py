"""OCR (and optionally correct) many files or a `.zip` of them; a bad file is a row, not a stop.

The dashboard's Batch page and scripts share this: `expand_inputs` unpacks archives under
limits, `run_batch` yields one `BatchRow` per file, and `batch_zip` packs every result.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Callable, Iterable, Iterator

from .config import DocumentLimits
from .documents import SUPPORTED_SUFFIXES, load_document
from .errors import PipelineError

MAX_ZIP_ENTRIES = 500
MAX_ZIP_UNPACKED_BYTES = 1024 * 1024 * 1024


@dataclass
class BatchInput:
    name: str
    data: bytes = b""
    error: str = ""  # set when the input could not even be unpacked


@dataclass
class BatchRow:
    file: str
    pages: int = 0
    engine: str = ""
    characters: int = 0
    changes: int | None = None  # None where correction was not run
    rejected_chunks: int | None = None
    seconds: float = 0.0
    error: str = ""
    ocr_text: str = ""
    corrected_text: str | None = None
    report: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """The table row: what a person scans to see which file needs a look."""
        return {
            "file": self.file,
            "pages": self.pages,
            "engine": self.engine,
            "characters": self.characters,
            "changes": self.changes,
            "rejected chunks": self.rejected_chunks,
            "seconds": round(self.seconds, 2),
            "error": self.error,
        }


def expand_inputs(files: Iterable[tuple[str, bytes]], limits: DocumentLimits | None = None) -> list[BatchInput]:
    """Uploaded files in order, with each `.zip` replaced by the documents inside it."""
    limits = limits or DocumentLimits.from_env()
    inputs: list[BatchInput] = []
    for name, data in files:
        if name.lower().endswith(".zip") or data[:4] == b"PK\x03\x04":
            inputs.extend(_unzip(name, data, limits))
        else:
            inputs.append(BatchInput(name, data))
    return inputs


def _unzip(name: str, data: bytes, limits: DocumentLimits) -> list[BatchInput]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in archive.infolist() if not info.is_dir() and not _is_clutter(info.filename)]
    except (zipfile.BadZipFile, OSError) as error:
        return [BatchInput(name, error=f"{name}: the zip archive is corrupt or truncated ({error}).")]
    if len(members) > MAX_ZIP_ENTRIES:
        return [BatchInput(name, error=f"{name}: {len(members)} files, over the {MAX_ZIP_ENTRIES}-file limit; split the archive.")]
    if sum(info.file_size for info in members) > MAX_ZIP_UNPACKED_BYTES:
        return [BatchInput(name, error=f"{name}: unpacks to over {MAX_ZIP_UNPACKED_BYTES // 2**30} GiB; split the archive.")]
    inputs = []
    for info in members:
        label = f"{name}/{info.filename}"
        if PurePosixPath(info.filename).suffix.lower() not in SUPPORTED_SUFFIXES:
            inputs.append(BatchInput(label, error=f"{label}: not a document type this app reads; skipped."))
        elif info.file_size > limits.max_bytes:
            inputs.append(BatchInput(label, error=f"{label}: {info.file_size / 2**20:.1f} MiB, over the "
                                     f"{limits.max_bytes / 2**20:.0f} MiB limit."))
        else:
            try:
                inputs.append(BatchInput(label, archive.read(info)))
            except (zipfile.BadZipFile, OSError, RuntimeError) as error:  # RuntimeError: encrypted entry
                inputs.append(BatchInput(label, error=f"{label}: cannot be unpacked ({error})."))
    return inputs


def _is_clutter(path: str) -> bool:
    """Folders and files archivers add that no one meant to send (macOS resource forks, dotfiles)."""
    parts = PurePosixPath(path).parts
    return any(part == "__MACOSX" or part.startswith(".") for part in parts)


Progress = Callable[[int, int, str, int, int], None]  # (file index, file count, name, pages done, page count)


def run_batch(
    inputs: list[BatchInput],
    ocr: Callable[..., object],
    correct: Callable[[str], object] | None = None,
    on_progress: Progress | None = None,
    after_file: Callable[[], None] | None = None,
) -> Iterator[BatchRow]:
    """One row per input, in order: `ocr(document, data, on_page=...)`, then `correct(text)` if given.

    `correct` returns a `CorrectionResult` (`corrected`, `changes`, `rejected_chunks` and
    `to_json()`; `after_file` runs after every file (the dashboard releases the model there).
    A failure is recorded in its row and the batch goes on.
    """
    for position, item in enumerate(inputs):

        def report(done: int, total: int, name: str = item.name, position: int = position) -> None:
            if on_progress:
                on_progress(position, len(inputs), name, done, total)

        report(0, 1)
        started = time.perf_counter()
        row = BatchRow(item.name, error=item.error)
        if not item.error:
            try:
                _process(item, row, ocr, correct, report)
            except PipelineError as error:
                row.error = str(error)
            except Exception as error:  # one file's surprise (out of memory...) must not end the batch
                row.error = f"{item.name}: unexpected failure ({type(error).__name__}: {error})."
            finally:
                if after_file is not None:
                    after_file()
        row.seconds = time.perf_counter() - started
        report(1, 1)
        yield row


def _process(item: BatchInput, row: BatchRow, ocr, correct, report) -> None:
    document = load_document(item.data, PurePosixPath(item.name).name)
    row.pages = len(document.pages)
    result = ocr(document, item.data, on_page=report)
    row.engine, row.ocr_text, row.characters = result.engine, result.text, len(result.text)
    row.report = {"ocr": result.to_json()}
    if correct is not None:
        corrected = correct(result.text)
        row.corrected_text = corrected.corrected
        row.changes = corrected.changes
        row.rejected_chunks = corrected.rejected_chunks
        row.report["correction"] = corrected.to_json()


def batch_zip(rows: Iterable[BatchRow]) -> bytes:
    """One archive: per file its OCR text, corrected text and JSON report, plus summary.json."""
    rows = list(rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        used: set[str] = set()
        for row in rows:
            stem = _unique_stem(row.file, used)
            if row.error:
                archive.writestr(f"{stem}.error.txt", row.error + "\n")
                continue
            archive.writestr(f"{stem}.ocr.txt", row.ocr_text)
            if row.corrected_text is not None:
                archive.writestr(f"{stem}.corrected.txt", row.corrected_text)
            archive.writestr(f"{stem}.json", json.dumps(row.report, indent=2, ensure_ascii=False))
        archive.writestr("summary.json", json.dumps([row.summary() for row in rows], indent=2, ensure_ascii=False))
    return buffer.getvalue()


def _unique_stem(name: str, used: set[str]) -> str:
    stem = name.replace("/", "__")
    candidate, counter = stem, 2
    while candidate in used:
        candidate, counter = f"{stem}-{counter}", counter + 1
    used.add(candidate)
    return candidate
