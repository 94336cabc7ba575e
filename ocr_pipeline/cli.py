"""Command line: `python -m ocr_pipeline COMMAND ...`.

Exit status: 0 when everything succeeded, 1 when any input failed (the others are still
processed), 2 for bad usage. Errors are one readable line each, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import PipelineError


def _print_json(obj: dict) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


def cmd_ocr(args: argparse.Namespace) -> int:
    from .documents import load_document
    from .ocr import ocr_document

    failed = False
    for file_name in args.files:
        path = Path(file_name)
        try:
            if not path.is_file():
                raise PipelineError(f"{file_name}: no such file.")
            document = load_document(path.read_bytes(), path.name, dpi=args.dpi)
            result = ocr_document(document, args.engine, args.mode, args.lang)
        except (PipelineError, OSError) as error:
            failed = True
            if args.json:
                _print_json({"file": file_name, "error": str(error)})
            else:
                _fail(str(error))
            continue
        if args.json:
            _print_json(result.to_json() | {"file": file_name})
            continue
        print(f"=== {file_name} — {result.engine}, {result.mode} ({result.engine_reason})")
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for page in result.pages:
            print(f"--- page {page.index + 1} of {len(result.pages)} ({page.seconds:.2f} s)")
            print(page.text)
        sys.stdout.flush()
    return 1 if failed else 0


def _gpu_layers(value: str) -> int | str:
    if value in ("all", "auto"):
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number of layers, 'all' or 'auto'") from None


def _load_backend(args: argparse.Namespace):
    """Resolve (downloading only with --allow-download), load and wrap the model for correction."""
    from .llm import LoadOptions, TransformersBackend, load_model
    from .models import resolve_model

    def progress(done: int, total: int) -> None:
        print(f"\rdownloading {args.model}: {done / 2**20:.0f} / {total / 2**20:.0f} MiB", end="", file=sys.stderr)

    source = resolve_model(args.model, allow_download=args.allow_download, on_progress=progress)
    options = LoadOptions(quantization=args.quantization, gpu_layers=args.gpu_layers)
    loaded = load_model(source, options)
    print(f"model: {loaded.describe()}", file=sys.stderr)
    return TransformersBackend(loaded)


def _print_verdicts(result) -> None:
    """The guard's decisions, for a person reading the terminal."""
    counts = ", ".join(f"{count} {status}" for status, count in result.status_counts().items())
    print(f"chunks: {counts}; {result.seconds:.1f} s, {result.tokens_per_second:.1f} tokens/s", file=sys.stderr)
    for chunk in result.chunks:
        for reason in chunk.reasons:
            print(f"  chunk {chunk.index + 1} ({chunk.status}): {reason}", file=sys.stderr)


def cmd_correct(args: argparse.Namespace) -> int:
    from .correction import correct_text
    from .prompts import get_prompt

    if args.text_file in (None, "-"):
        text = sys.stdin.read()
    else:
        path = Path(args.text_file)
        if not path.is_file():
            raise PipelineError(f"{args.text_file}: no such file.")
        text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise PipelineError("the text to correct is empty.")
    prompt = get_prompt(args.prompt)
    backend = _load_backend(args)
    stream = (lambda index, piece: print(piece, end="", file=sys.stderr, flush=True)) if args.stream else None
    result = correct_text(text, backend, prompt, args.guard, on_token=stream)
    if args.json:
        _print_json(result.to_json())
    else:
        _print_verdicts(result)
        print(result.corrected)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .correction import correct_text
    from .documents import load_document
    from .ocr import ocr_document
    from .prompts import get_prompt

    prompt = get_prompt(args.prompt)
    backend = None
    failed = False
    for file_name in args.files:
        path = Path(file_name)
        try:
            if not path.is_file():
                raise PipelineError(f"{file_name}: no such file.")
            document = load_document(path.read_bytes(), path.name, dpi=args.dpi)
            ocr = ocr_document(document, args.engine, args.mode, args.lang)
            backend = backend or _load_backend(args)
            result = correct_text([page.text for page in ocr.pages], backend, prompt, args.guard)
        except (PipelineError, OSError) as error:
            failed = True
            if args.json:
                _print_json({"file": file_name, "error": str(error)})
            else:
                _fail(str(error))
            continue
        if args.json:
            _print_json({**ocr.to_json(), "file": file_name, "correction": result.to_json()})
        else:
            print(f"=== {file_name} — {ocr.engine}, {ocr.mode}; model {result.model}, prompt {result.prompt}")
            _print_verdicts(result)
            print(result.corrected, flush=True)
    return 1 if failed else 0


def cmd_guard(args: argparse.Namespace) -> int:
    """Guard recorded candidates: `{"ocr", "candidate", "id"?}` per line in, one verdict per line out, in order."""
    from .guard import apply_guard, get_policy
    from .textfiles import json_lines, read_text

    source = "standard input" if args.pairs == "-" else args.pairs
    rows = json_lines(read_text(args.pairs), source)
    for number, row in rows:
        if not (isinstance(row, dict) and isinstance(row.get("ocr"), str) and isinstance(row.get("candidate"), str)):
            raise PipelineError(f'{source}, line {number}: expected {{"ocr": ..., "candidate": ...}}.')
    policy = get_policy(args.policy)
    for _, row in rows:
        decision = apply_guard(row["ocr"], row["candidate"], policy)
        if args.json:
            verdict = {"id": row["id"]} if "id" in row else {}
            verdict |= {"text": decision.text, "accepted": decision.accepted, "reasons": list(decision.reasons)}
            _print_json(verdict)
        else:
            print(decision.text.replace("\\", "\\\\").replace("\n", "\\n"))
            for reason in decision.reasons:
                print(f"  {row.get('id', '')}: {reason}", file=sys.stderr)
    sys.stdout.flush()
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .config import model_dir
    from .models import list_models

    entries = list_models()
    if args.json:
        for entry in entries:
            _print_json({"name": entry.name, "preset": entry.preset, "available": entry.available,
                         "path": str(entry.path) if entry.path else None, "size_bytes": entry.size_bytes,
                         "description": entry.description})
        return 0
    print(f"model folder: {model_dir()}")
    for entry in entries:
        where = f"{entry.path} ({entry.size_bytes / 2**20:.0f} MiB)" if entry.available else "not downloaded"
        print(f"{'preset' if entry.preset else 'local ':6}  {entry.name:32}  {where}\n        {entry.description}")
    return 0


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    from .guard import POLICIES
    from .llm import QUANTIZATIONS

    parser.add_argument("--model", default="demo", help="preset, Hub repo id, local folder or .gguf file (default: demo)")
    parser.add_argument("--prompt", default="general", help="prompt name: a preset or a team prompt (default: general)")
    parser.add_argument("--quantization", choices=QUANTIZATIONS, default="none")
    parser.add_argument("--gpu-layers", type=_gpu_layers, default="all", help="decoder layers on the GPU: N, all or auto")
    parser.add_argument("--guard", choices=tuple(POLICIES), default="strict")
    parser.add_argument("--allow-download", action="store_true", help="fetch a missing model from the Hugging Face Hub")
    parser.add_argument("--json", action="store_true", help="one JSON object per result")


def _add_ocr_arguments(parser: argparse.ArgumentParser) -> None:
    from .ocr import ENGINE_NAMES
    from .ocr.base import MODES

    parser.add_argument("--engine", choices=ENGINE_NAMES, default="auto")
    parser.add_argument("--mode", choices=MODES, default="printed")
    parser.add_argument("--lang", default="en", help="language code, e.g. en, de, fr (default: en)")
    parser.add_argument("--dpi", type=int, default=None, help="PDF render resolution (default: 300)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ocr_pipeline", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    ocr = commands.add_parser("ocr", help="OCR images and PDFs into text, page by page")
    ocr.add_argument("files", nargs="+", metavar="FILE")
    _add_ocr_arguments(ocr)
    ocr.add_argument("--json", action="store_true", help="one JSON object per file, one per line")
    ocr.set_defaults(handler=cmd_ocr)

    correct = commands.add_parser("correct", help="correct OCR text with a language model, under the guard")
    correct.add_argument("--text-file", metavar="F", help="the text to correct; '-' or absent: standard input")
    correct.add_argument("--stream", action="store_true", help="echo generated tokens to stderr as they come")
    _add_model_arguments(correct)
    correct.set_defaults(handler=cmd_correct)

    run = commands.add_parser("run", help="OCR files, then correct their text")
    run.add_argument("files", nargs="+", metavar="FILE")
    _add_ocr_arguments(run)
    _add_model_arguments(run)
    run.set_defaults(handler=cmd_run)

    from .guard import POLICIES

    guard = commands.add_parser("guard",
                                help="judge recorded candidates: {ocr, candidate} per line, one verdict per line")
    guard.add_argument("pairs", metavar="PAIRS.jsonl",
                       help="JSON lines with ocr and candidate (and id); '-': standard input")
    guard.add_argument("--policy", choices=tuple(POLICIES), default="strict")
    guard.add_argument("--json", action="store_true",
                       help="one JSON object per line: {id, text, accepted, reasons}; without it the guarded text, "
                            "line breaks as \\n, and the reasons on stderr")
    guard.set_defaults(handler=cmd_guard)

    models = commands.add_parser("models", help="list the model presets and what is downloaded")
    models.add_argument("--json", action="store_true")
    models.set_defaults(handler=cmd_models)

    from .bench import add_bench_commands  # noqa: PLC0415 - bench imports this module's helpers

    add_bench_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except PipelineError as error:
        _fail(str(error))
        return 1
    except KeyboardInterrupt:
        return 130
