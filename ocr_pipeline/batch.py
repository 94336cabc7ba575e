"""OCR (and optionally correct) many files or a `.zip` of them; a bad file is a row, not a stop.

The dashboard's Batch page and scripts share this: `expand_inputs` lists the documents (those
inside a `.zip` too, under limits), `run_batch` yields one `BatchRow` per file, and `batch_zip`
packs every result. An archive's entries are read one at a time, when their turn comes, so a zip
of large scans costs the memory of one of them, not of all; names from the archive are only labels.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePosixPath
from collections.abc import Callable, Iterable, Iterator

from .config import DocumentLimits
from .documents import SUPPORTED_SUFFIXES, load_document
from .errors import DocumentError, PipelineError
from .filenames import safe_member_path, safe_name

MAX_ZIP_ENTRIES = 500
MAX_ZIP_UNPACKED_BYTES = 1024 * 1024 * 1024
# how often a batch waiting on a server's corrections says how far they are: a page draws only from its own
# thread, and notices Stop only when it draws
CORRECTION_POLL_SECONDS = 0.25


@dataclass
class BatchInput:
    name: str  # a label: the upload's cleaned name, or "archive.zip/inner/path.png"
    read: Callable[[], bytes] | None = None  # the file's bytes, read when the file is processed
    error: str = ""  # set when the input could not even be unpacked


@dataclass
class BatchRow:
    file: str
    pages: int = 0
    engine: str = ""
    characters: int = 0
    changes: int | None = None  # None where correction was not run
    prompt: str | None = None  # the prompt the correction used: with "the one that suits each file", per file
    rejected_chunks: int | None = None
    seconds: float = 0.0
    error: str = ""
    warnings: list[str] = field(default_factory=list)  # e.g. a blank page: processed, but look at it
    stopped: bool = False  # the batch was stopped before this file: it was not read
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
            "prompt": self.prompt,
            "changes": self.changes,
            "rejected chunks": self.rejected_chunks,
            "seconds": round(self.seconds, 2),
            "warnings": " ".join(self.warnings),
            "error": "not processed: the batch was stopped before this file" if self.stopped else self.error,
        }


def expand_inputs(files: Iterable[tuple[str, bytes]], limits: DocumentLimits | None = None) -> list[BatchInput]:
    """Uploaded files in order, with each `.zip` replaced by the documents inside it (read lazily)."""
    limits = limits or DocumentLimits.from_env()
    inputs: list[BatchInput] = []
    for name, data in files:
        label = safe_name(name)
        suffix = PurePosixPath(label).suffix.lower()  # a .docx or .xlsx is a zip too, but one document, not a folder
        if suffix == ".zip" or (not suffix and data[:4] == b"PK\x03\x04"):
            inputs.extend(_unzip(label, data, limits))
        else:
            inputs.append(BatchInput(label, lambda data=data: data))
    return inputs


def _unzip(name: str, data: bytes, limits: DocumentLimits) -> list[BatchInput]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in archive.infolist() if not info.is_dir() and not _is_clutter(info.filename)]
    except (zipfile.BadZipFile, OSError) as error:
        return [BatchInput(name, error=f"{name}: the zip archive is corrupt or truncated ({error}).")]
    if len(members) > MAX_ZIP_ENTRIES:
        return [
            BatchInput(
                name, error=f"{name}: {len(members)} files, over the {MAX_ZIP_ENTRIES}-file limit; split the archive."
            )
        ]
    if sum(info.file_size for info in members) > MAX_ZIP_UNPACKED_BYTES:
        return [
            BatchInput(name, error=f"{name}: unpacks to over {MAX_ZIP_UNPACKED_BYTES // 2**30} GiB; split the archive.")
        ]
    inputs = []
    for info in members:
        label = f"{name}/{safe_member_path(info.filename) or 'unnamed'}"
        if PurePosixPath(info.filename).suffix.lower() not in SUPPORTED_SUFFIXES:
            inputs.append(BatchInput(label, error=f"{label}: not a document type this app reads; skipped."))
        elif info.file_size > limits.max_bytes:
            inputs.append(
                BatchInput(
                    label,
                    error=f"{label}: {info.file_size / 2**20:.1f} MiB, over the "
                    f"{limits.max_bytes / 2**20:.0f} MiB limit.",
                )
            )
        else:
            inputs.append(BatchInput(label, partial(_read_member, archive, info, label, limits.max_bytes)))
    return inputs


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, max_bytes: int) -> bytes:
    """One entry's bytes, never more than `max_bytes` whatever its header claims (zip bombs lie)."""
    try:
        with archive.open(info) as member:
            data = member.read(max_bytes + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as error:  # RuntimeError: encrypted entry
        raise DocumentError(label, f"cannot be unpacked ({error}).") from error
    if len(data) > max_bytes:
        raise DocumentError(label, f"unpacks to over the {max_bytes / 2**20:.0f} MiB limit.")
    return data


def _is_clutter(path: str) -> bool:
    """Folders and files archivers add that no one meant to send (macOS resource forks, dotfiles).

    '.' and '..' are no dotfiles: an entry named `../../x.png` is a document with an odd name, and
    it gets a row like any other (under its cleaned name)."""
    parts = path.replace("\\", "/").split("/")
    return any(part == "__MACOSX" or (part.startswith(".") and part not in (".", "..")) for part in parts)


Progress = Callable[[int, int, str, int, int], None]  # (file index, file count, name, pages done, page count)


def run_batch(
    inputs: list[BatchInput],
    ocr: Callable[..., object],
    correct: Callable[[str], object] | None = None,
    on_progress: Progress | None = None,
    after_file: Callable[[], None] | None = None,
    concurrency: int = 1,
    should_stop: Callable[[], bool] | None = None,
    on_correcting: Callable[[int, int], None] | None = None,
) -> Iterator[BatchRow]:
    """One row per input, in order: `ocr(document, data, on_page=...)`, then `correct(text)` if given.

    `correct` returns a `CorrectionResult` (`corrected`, `prompt`, `changes`, `rejected_chunks`,
    `warnings` and `to_json()`); `after_file` runs after every file (the dashboard releases the model there).
    With `concurrency` above 1 (a server that batches), up to that many files are corrected at
    once while the next ones are read; rows still come in input order. A failure is recorded in
    its row and the batch goes on. Once `should_stop()` says True, asked before each file, the
    files not yet started are rows that say so; the files done keep their rows. While the batch
    waits for those corrections, `on_correcting(files corrected, files sent)` is told every
    `CORRECTION_POLL_SECONDS`, in the caller's thread.
    """
    pool = ThreadPoolExecutor(concurrency, thread_name_prefix="batch") if correct and concurrency > 1 else None
    pending: deque[tuple[BatchRow, float, Future | None]] = deque()
    sent: list[Future] = []
    try:
        for position, item in enumerate(inputs):

            def report(done: int, total: int, name: str = item.name, position: int = position) -> None:
                if on_progress:
                    on_progress(position, len(inputs), name, done, total)

            report(0, 1)
            started = time.perf_counter()
            row, future = BatchRow(item.name, error=item.error), None
            if should_stop is not None and should_stop():
                row.stopped = True
            elif not item.error:
                try:
                    text = _recorded(row, partial(_read_and_ocr, item, row, ocr, report))
                    if correct is not None and text is not None:
                        if pool is None:
                            _recorded(row, partial(_correct_into, row, correct, text))
                        else:
                            future = pool.submit(correct, text)
                            sent.append(future)
                finally:
                    if after_file is not None and pool is None:
                        after_file()
            report(1, 1)
            pending.append((row, started, future))
            while pending and (pending[0][2] is None or pending[0][2].done()):
                yield _finished(*pending.popleft())
        while pending:
            correction = pending[0][2]
            if correction is not None and not correction.done():
                if on_correcting:
                    on_correcting(sum(future.done() for future in sent), len(sent))
                wait([correction], timeout=CORRECTION_POLL_SECONDS)
                continue
            yield _finished(*pending.popleft())
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _recorded(row: BatchRow, step: Callable[[], object]):
    """Run one step of a file; a failure becomes the row's error (the batch goes on) and None."""
    try:
        return step()
    except PipelineError as error:
        row.error = str(error)
    except Exception as error:  # one file's surprise (out of memory...) must not end the batch
        row.error = f"{row.file}: unexpected failure ({type(error).__name__}: {error})."
    return None


def _finished(row: BatchRow, started: float, correction: Future | None) -> BatchRow:
    if correction is not None:
        _recorded(row, lambda: _add_correction(row, correction.result()))
    row.seconds = time.perf_counter() - started
    return row


def _read_and_ocr(item: BatchInput, row: BatchRow, ocr, report) -> str:
    data = item.read()
    document = load_document(data, item.name)  # its messages name the entry as its row does: `bundle.zip/a.png`
    row.pages = len(document.pages)
    result = ocr(document, data, on_page=report)
    del data, document  # a zip's next entry should not find this one still in memory
    row.engine, row.ocr_text, row.characters = result.engine, result.text, len(result.text)
    row.warnings = list(result.warnings)
    row.report = {"ocr": result.to_json()}
    return result.text


def _correct_into(row: BatchRow, correct: Callable[[str], object], text: str) -> None:
    _add_correction(row, correct(text))


def _add_correction(row: BatchRow, corrected) -> None:
    row.corrected_text = corrected.corrected
    row.prompt = corrected.prompt
    row.changes = corrected.changes
    row.rejected_chunks = corrected.rejected_chunks
    row.warnings += corrected.warnings  # a correction stopped part-way, a chunk that failed: not a clean row
    row.report["correction"] = corrected.to_json()


def batch_zip(rows: Iterable[BatchRow]) -> bytes:
    """One archive: per file its OCR text, corrected text and JSON report, plus summary.json."""
    rows = list(rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        used: set[str] = set()
        for row in rows:
            if row.stopped:  # never read: summary.json lists it
                continue
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
