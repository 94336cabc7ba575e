"""The commands: ocr, correct, run, guard, models."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import PipelineError
from .arguments import add_model_arguments, add_ocr_arguments
from .correcting import correct, load_backend, read_input_text, stop_on_first_interrupt
from .output import INTERRUPTED, fail_file, print_json, print_verdicts


def read_file(file_name: str, args: argparse.Namespace):
    """Load one document and OCR it with the engine, mode and languages the arguments name."""
    from ..documents import load_document
    from ..ocr import ocr_document

    path = Path(file_name)
    if not path.is_file():
        raise PipelineError(f"{file_name}: no such file.")
    document = load_document(path.read_bytes(), path.name, dpi=args.dpi)
    return ocr_document(document, args.engine, args.mode, args.lang)


def cmd_ocr(args: argparse.Namespace) -> int:
    failed = False
    for file_name in args.files:
        try:
            result = read_file(file_name, args)
        except (PipelineError, OSError) as error:
            failed = True
            fail_file(file_name, error, args.json)
            continue
        if args.json:
            print_json(result.to_json() | {"file": file_name})
            continue
        print(f"=== {file_name} — {result.engine}, {result.mode} ({result.engine_reason})")
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for page in result.pages:
            print(f"--- page {page.index + 1} of {len(result.pages)} ({page.seconds:.2f} s)")
            print(page.text)
        sys.stdout.flush()
    return 1 if failed else 0


def chosen_prompt(name: str, text: str, mode: str = "printed", file_name: str = ""):
    """The prompt to correct `text` with; where `auto` chose it, stderr says which and why."""
    from ..prompts import choose_prompt

    prompt, why = choose_prompt(name, text, mode)
    if why:
        print(f"{file_name + ': ' if file_name else ''}prompt {prompt.name} ({why})", file=sys.stderr)
    return prompt


def cmd_correct(args: argparse.Namespace) -> int:
    from ..correction import check_length

    text = read_input_text(args.text_file)
    check_length(text, args.max_chars)
    backend = load_backend(args)
    prompt = chosen_prompt(args.prompt, text)
    stream = (lambda index, piece: print(piece, end="", file=sys.stderr, flush=True)) if args.stream else None
    with stop_on_first_interrupt() as stop:
        result = correct(text, backend, prompt, args, stop, on_token=stream)
    if args.json:
        print_json(result.to_json())
    else:
        print_verdicts(result)
        print(result.corrected)
    return INTERRUPTED if result.stopped else 0


def cmd_run(args: argparse.Namespace) -> int:
    """OCR each file, then correct it. With a server backend the corrections of several files run
    at once (up to the backend's concurrency) while the next files are read; output keeps the
    order of the files either way. Ctrl-C stops every correction after its chunk; files not yet
    read are skipped."""
    from concurrent.futures import Future, ThreadPoolExecutor

    backend = None
    corrections: ThreadPoolExecutor | None = None
    queued: list[tuple[str, object, Future | Exception]] = []  # (file, OCR result, correction or error)
    failed = False

    def emit(file_name: str, ocr, outcome) -> None:
        nonlocal failed
        try:
            if isinstance(outcome, Exception):
                raise outcome
            result = outcome.result()
        except (PipelineError, OSError) as error:
            failed = True
            fail_file(file_name, error, args.json)
            return
        if args.json:
            print_json({**ocr.to_json(), "file": file_name, "correction": result.to_json()})
        else:
            print(f"=== {file_name} — {ocr.engine}, {ocr.mode}; model {result.model}, prompt {result.prompt}")
            print_verdicts(result)
            print(result.corrected, flush=True)

    def emit_ready(wait: bool) -> None:
        while queued and (wait or isinstance(queued[0][2], Exception) or queued[0][2].done()):
            emit(*queued.pop(0))

    with stop_on_first_interrupt() as stop:
        try:
            for file_name in args.files:
                if stop.is_set():
                    queued.append((file_name, None, PipelineError(f"{file_name}: not processed: stopped with Ctrl-C.")))
                    continue
                try:
                    ocr = read_file(file_name, args)
                    backend = backend or load_backend(args)
                    corrections = corrections or ThreadPoolExecutor(max_workers=backend.concurrency)
                    pages = [page.text for page in ocr.pages]
                    prompt = chosen_prompt(args.prompt, ocr.text, ocr.mode, file_name)
                    queued.append((file_name, ocr, corrections.submit(correct, pages, backend, prompt, args, stop)))
                except (PipelineError, OSError) as error:
                    queued.append((file_name, None, error))
                emit_ready(wait=backend is None or backend.concurrency == 1)
            emit_ready(wait=True)
        finally:
            if corrections is not None:
                corrections.shutdown(wait=False, cancel_futures=True)
    return INTERRUPTED if stop.is_set() else 1 if failed else 0


def cmd_guard(args: argparse.Namespace) -> int:
    """Guard recorded candidates: `{"ocr", "candidate", "id"?, "document"?}` per line in, one verdict per
    line out, in order. Lines that name the same `document` are judged together (the model's record on
    the document, guard/document.py); a line without one is a document of its own."""
    from ..guard import get_policy, guard_by_document
    from ..textinput import json_lines, read_text

    source = "standard input" if args.pairs == "-" else args.pairs
    numbered = json_lines(read_text(args.pairs), source)
    for number, row in numbered:
        if not (isinstance(row, dict) and isinstance(row.get("ocr"), str) and isinstance(row.get("candidate"), str)):
            raise PipelineError(f'{source}, line {number}: expected {{"ocr": ..., "candidate": ...}}.')
    rows = [row for _, row in numbered]
    chunks = [(_document_of(row, number), row["ocr"], row["candidate"]) for number, row in numbered]
    for row, decision in zip(rows, guard_by_document(chunks, get_policy(args.policy))):
        if args.json:
            verdict = {"id": row["id"]} if "id" in row else {}
            verdict |= {"text": decision.text, "accepted": decision.accepted, "reasons": list(decision.reasons)}
            print_json(verdict)
        else:
            print(decision.text.replace("\\", "\\\\").replace("\n", "\\n"))
            for reason in decision.reasons:
                print(f"  {row.get('id', '')}: {reason}", file=sys.stderr)
    sys.stdout.flush()
    return 0


def _document_of(row: dict, number: int) -> tuple[str, str | int]:
    """The document a line of `guard` belongs to: the one it names (any JSON value), else its own."""
    return ("document", repr(row["document"])) if "document" in row else ("line", number)


def cmd_models(args: argparse.Namespace) -> int:
    from ..config import model_dir
    from ..llm.models import list_models

    entries = list_models()
    if args.json:
        for entry in entries:
            print_json(
                {
                    "name": entry.name,
                    "preset": entry.preset,
                    "available": entry.available,
                    "path": str(entry.path) if entry.path else None,
                    "size_bytes": entry.size_bytes,
                    "description": entry.description,
                }
            )
        return 0
    print(f"model folder: {model_dir()}")
    for entry in entries:
        where = f"{entry.path} ({entry.size_bytes / 2**20:.0f} MiB)" if entry.available else "not downloaded"
        print(f"{'preset' if entry.preset else 'local ':6}  {entry.name:32}  {where}\n        {entry.description}")
    return 0


def add_commands(commands) -> None:
    """Register ocr, correct, run, guard and models on the parser's subcommands (each sets `handler`)."""
    ocr = commands.add_parser("ocr", help="OCR images and PDFs into text, page by page")
    ocr.add_argument("files", nargs="+", metavar="FILE")
    add_ocr_arguments(ocr)
    ocr.add_argument("--json", action="store_true", help="one JSON object per file, one per line")
    ocr.set_defaults(handler=cmd_ocr)

    correct = commands.add_parser("correct", help="correct OCR text with a language model, under the guard")
    correct.add_argument("--text-file", metavar="F", help="the text to correct; '-' or absent: standard input")
    correct.add_argument("--stream", action="store_true", help="echo generated tokens to stderr as they come")
    add_model_arguments(correct, auto_prompt=True)
    correct.set_defaults(handler=cmd_correct)

    run = commands.add_parser("run", help="OCR files, then correct their text")
    run.add_argument("files", nargs="+", metavar="FILE")
    add_ocr_arguments(run)
    add_model_arguments(run, auto_prompt=True)
    run.set_defaults(handler=cmd_run)

    from ..guard import POLICIES

    guard = commands.add_parser(
        "guard", help="judge recorded candidates: {ocr, candidate} per line, one verdict per line"
    )
    guard.add_argument(
        "pairs",
        metavar="PAIRS.jsonl",
        help="JSON lines with ocr and candidate (and id; lines with the same document are judged together); "
        "'-': standard input",
    )
    guard.add_argument("--policy", choices=tuple(POLICIES), default="strict")
    guard.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line: {id, text, accepted, reasons}; without it the guarded text, "
        "line breaks as \\n, and the reasons on stderr",
    )
    guard.set_defaults(handler=cmd_guard)

    models = commands.add_parser("models", help="list the model presets and what is downloaded")
    models.add_argument("--json", action="store_true")
    models.set_defaults(handler=cmd_models)
