"""Evaluation data: scans with `NAME.gt.txt` transcripts (and `NAME.key.json` fields),
`{"ocr", "gt"}` text pairs, and rows of models' recorded corrections to replay through the guard."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..documents import SUPPORTED_SUFFIXES
from ..errors import PipelineError, unreadable
from ..textinput import json_lines, read_text

GROUND_TRUTH = "ground-truth"  # the candidate every replay adds: a perfect model


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
    items = []
    try:
        if not folder.is_dir():
            raise PipelineError(f"{folder}: no such folder.")
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
    except OSError as error:  # no permission, a name too long: said of the file it concerns
        raise PipelineError(unreadable(error.filename or folder, error)) from error
    if not items:
        raise PipelineError(f"{folder} has no scans with a NAME.gt.txt transcript beside them.")
    return items[:limit] if limit else items


@dataclass(frozen=True)
class Pair:
    id: str
    ocr: str
    gt: str


def parse_pairs(text: str, source: str = "pairs") -> list[Pair]:
    """Pairs from JSON lines: `{"ocr", "gt"}` (BLN600) or the HIPE-OCRepair schema (Overproof:
    `ocr_hypothesis.transcription_unit` and `ground_truth.transcription_unit`), told apart per line."""
    pairs = []
    for number, row in json_lines(text, source):
        if isinstance(row, dict) and isinstance(row.get("ocr"), str) and isinstance(row.get("gt"), str):
            pairs.append(Pair(str(row.get("id", number)) + f"#{number}", row["ocr"], row["gt"]))
        elif (
            isinstance(row, dict)
            and isinstance(row.get("ocr_hypothesis"), dict)
            and isinstance(row.get("ground_truth"), dict)
        ):
            identifier = (row.get("document_metadata") or {}).get("document_id", number)
            hypothesis, truth = row["ocr_hypothesis"], row["ground_truth"]
            pairs.append(Pair(str(identifier), hypothesis["transcription_unit"], truth["transcription_unit"]))
        else:
            raise PipelineError(
                f'{source}, line {number}: expected {{"ocr": ..., "gt": ...}} or the HIPE-OCRepair schema '
                "(ocr_hypothesis / ground_truth)."
            )
    if not pairs:
        raise PipelineError(f"{source} holds no pairs.")
    return pairs


def load_pairs(path: str | Path, limit: int | None = None) -> list[Pair]:
    pairs = parse_pairs(read_text(path), str(path))
    return pairs[:limit] if limit else pairs


@dataclass(frozen=True)
class ReplayRow:
    """One OCR text, its ground truth, and what each model wrote for it."""

    id: str
    ocr: str
    gt: str
    outputs: dict[str, str]  # model -> its correction; the ground truth is one of them
    document: str  # the rows of one document (an article) share it: the guard judges them together


def parse_replay(text: str, source: str = "replay") -> list[ReplayRow]:
    """Rows `{"id", "row", "ocr", "gt", "outputs": {model: text}}` (the schema of BLN600 model outputs);
    the ground truth is added to each row's outputs as the candidate `ground-truth`. Rows that share
    an `id` are one document (the rows of an article); a row without one is a document of its own."""
    rows = []
    for number, row in json_lines(text, source):
        outputs = row.get("outputs") if isinstance(row, dict) else None
        if not (
            isinstance(outputs, dict)
            and isinstance(row.get("ocr"), str)
            and isinstance(row.get("gt"), str)
            and all(isinstance(name, str) and isinstance(value, str) for name, value in outputs.items())
        ):
            raise PipelineError(
                f'{source}, line {number}: expected {{"ocr": ..., "gt": ..., "outputs": {{model: text}}}}.'
            )
        document = str(row["id"]) if "id" in row else f"line {number}"
        identifier = str(row.get("id", number)) + (f"#{row['row']}" if "row" in row else "")
        models = {GROUND_TRUTH: row["gt"]} | {name: value for name, value in outputs.items() if name != GROUND_TRUTH}
        rows.append(ReplayRow(identifier, row["ocr"], row["gt"], models, document))
    if not rows:
        raise PipelineError(f"{source} holds no rows.")
    return rows


def load_replay(path: str | Path, limit: int | None = None) -> list[ReplayRow]:
    rows = parse_replay(read_text(path), str(path))
    return rows[:limit] if limit else rows
