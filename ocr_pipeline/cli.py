"""Command line: `python -m ocr_pipeline COMMAND ...`.

Exit status: 0 when everything succeeded, 1 when any input failed (the others are still
processed), 2 for bad usage, 130 when stopped with Ctrl-C. Errors are one readable line each,
never a traceback. A first Ctrl-C during a correction stops it after the chunk that is running
and prints what was done (the rest keeps its OCR text); a second one quits at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Iterator

from .errors import PipelineError

INTERRUPTED = 130


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


@contextlib.contextmanager
def _stop_on_first_interrupt() -> Iterator[threading.Event]:
    """The first Ctrl-C sets the event (the correction stops after its chunk); the second quits."""
    stop = threading.Event()

    def handler(signum, frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\nstopping after the chunk that is running (Ctrl-C again to quit now)", file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _correct(text: str | list[str], backend, prompt, args: argparse.Namespace, stop: threading.Event, on_token=None):
    """correct_text with a progress bar and time estimate on stderr; chunk timings kept for next time."""
    from tqdm import tqdm

    from .chunking import chunk_text
    from .correction import correct_text
    from .throughput import Throughput, describe_seconds

    speed = Throughput.load(f"{backend.name} on {backend.kind}")
    tokens = [chunk.tokens for chunk in chunk_text(text, backend.count_tokens) if chunk.needs_model]
    estimate = speed.seconds_for(tokens)
    about = f"about {describe_seconds(estimate)}, from earlier runs" if estimate else "no earlier runs to estimate from"
    print(f"correcting {len(tokens)} chunk(s) with {backend.name} ({about}); Ctrl-C stops after the current chunk",
          file=sys.stderr, flush=True)
    with tqdm(total=len(tokens), unit="chunk", file=sys.stderr, disable=None, leave=False) as bar:
        result = correct_text(text, backend, prompt, args.guard, on_token=on_token, should_stop=stop.is_set,
                              throughput=speed, max_chars=args.max_chars,
                              on_progress=lambda done, total, chunk: bar.update(chunk.candidate is not None))
    speed.save()
    return result


def prompt_name(value: str) -> str:
    """A prompt that exists (a preset or a team prompt): an unknown one is bad usage, exit 2."""
    from .prompts import PromptError, get_prompt

    try:
        get_prompt(value)
    except PromptError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def gpu_layers_type(value: str) -> int | str:
    """A number of layers (0 or more), 'all' or 'auto'; anything else is bad usage (exit 2)."""
    if value in ("all", "auto"):
        return value
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected a number of layers (0 or more), 'all' or 'auto', not {value!r}")
    return int(value)


def positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {value!r}")
    return int(value)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def load_backend(args: argparse.Namespace):
    """Resolve (downloading only with --allow-download), load and return the backend for correction."""
    from .llm.factory import choose_backend, create_backend, default_backend, gpu_layers_apply
    from .llm.models import default_model
    from .llm.placement import LoadOptions

    def progress(done: int, total: int) -> None:
        print(f"\rdownloading {args.model}: {done / 2**20:.0f} / {total / 2**20:.0f} MiB", end="", file=sys.stderr)

    options = LoadOptions(quantization=args.quantization,
                          gpu_layers="all" if args.gpu_layers is None else args.gpu_layers)
    requested = args.backend or default_backend()
    on_server = choose_backend(requested, None, server_url=args.server_url) == "openai"
    model = args.model if on_server else args.model or default_model()  # None: the model the server serves
    kind = "openai" if on_server else choose_backend(requested, model, options=options)
    if args.gpu_layers is not None and not gpu_layers_apply(kind):
        _warn("--gpu-layers has no effect on a server: it places its own model." if on_server
              else f"--gpu-layers has no effect without CUDA ({kind} runs the model on the CPU here).")
    if on_server and args.quantization != "none":
        _warn("--quantization has no effect on a server: it loads its own model.")
    settings = {"concurrency": args.concurrency} if on_server and args.concurrency else {}
    backend = create_backend(model, backend=kind, options=options, server_url=args.server_url,
                             allow_download=args.allow_download, on_progress=progress, **settings)
    print(f"model: {backend.describe()}", file=sys.stderr)
    return backend


def _print_verdicts(result) -> None:
    """The guard's decisions, for a person reading the terminal."""
    counts = ", ".join(f"{count} {status}" for status, count in result.status_counts().items())
    print(f"chunks: {counts}; {result.seconds:.1f} s, {result.tokens_per_second:.1f} tokens/s", file=sys.stderr)
    for chunk in result.chunks:
        for reason in chunk.reasons:
            print(f"  chunk {chunk.index + 1} ({chunk.status}): {reason}", file=sys.stderr)


def _read_text(source: str | None) -> str:
    """The text to correct, from a file or standard input, refused before any model loads if it is no text."""
    from .textinput import read_text

    text = read_text(source or "-")
    if not text.strip():
        raise PipelineError(f"{source or 'standard input'}: the text to correct is empty.")
    return text


def cmd_correct(args: argparse.Namespace) -> int:
    from .correction import check_length
    from .prompts import get_prompt

    text = _read_text(args.text_file)
    check_length(text, args.max_chars)
    prompt = get_prompt(args.prompt)
    backend = load_backend(args)
    stream = (lambda index, piece: print(piece, end="", file=sys.stderr, flush=True)) if args.stream else None
    with _stop_on_first_interrupt() as stop:
        result = _correct(text, backend, prompt, args, stop, on_token=stream)
    if args.json:
        _print_json(result.to_json())
    else:
        _print_verdicts(result)
        print(result.corrected)
    return INTERRUPTED if result.stopped else 0


def cmd_run(args: argparse.Namespace) -> int:
    """OCR each file, then correct it. With a server backend the corrections of several files run
    at once (up to the backend's concurrency) while the next files are read; output keeps the
    order of the files either way. Ctrl-C stops every correction after its chunk; files not yet
    read are skipped."""
    from concurrent.futures import Future, ThreadPoolExecutor

    from .documents import load_document
    from .ocr import ocr_document
    from .prompts import get_prompt

    prompt = get_prompt(args.prompt)
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
            if args.json:
                _print_json({"file": file_name, "error": str(error)})
            else:
                _fail(str(error))
            return
        if args.json:
            _print_json({**ocr.to_json(), "file": file_name, "correction": result.to_json()})
        else:
            print(f"=== {file_name} — {ocr.engine}, {ocr.mode}; model {result.model}, prompt {result.prompt}")
            _print_verdicts(result)
            print(result.corrected, flush=True)

    def emit_ready(wait: bool) -> None:
        while queued and (wait or isinstance(queued[0][2], Exception) or queued[0][2].done()):
            emit(*queued.pop(0))

    with _stop_on_first_interrupt() as stop:
        try:
            for file_name in args.files:
                if stop.is_set():
                    queued.append((file_name, None, PipelineError(f"{file_name}: not processed: stopped with Ctrl-C.")))
                    continue
                path = Path(file_name)
                try:
                    if not path.is_file():
                        raise PipelineError(f"{file_name}: no such file.")
                    document = load_document(path.read_bytes(), path.name, dpi=args.dpi)
                    ocr = ocr_document(document, args.engine, args.mode, args.lang)
                    backend = backend or load_backend(args)
                    corrections = corrections or ThreadPoolExecutor(max_workers=backend.concurrency)
                    pages = [page.text for page in ocr.pages]
                    queued.append((file_name, ocr, corrections.submit(_correct, pages, backend, prompt, args, stop)))
                except (PipelineError, OSError) as error:
                    queued.append((file_name, None, error))
                emit_ready(wait=backend is None or backend.concurrency == 1)
            emit_ready(wait=True)
        finally:
            if corrections is not None:
                corrections.shutdown(wait=False, cancel_futures=True)
    return INTERRUPTED if stop.is_set() else 1 if failed else 0


def cmd_guard(args: argparse.Namespace) -> int:
    """Guard recorded candidates: `{"ocr", "candidate", "id"?}` per line in, one verdict per line out, in order."""
    from .guard import apply_guard, get_policy
    from .textinput import json_lines, read_text

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
    from .llm.models import list_models

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


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    from .guard import POLICIES
    from .llm.factory import BACKEND_CHOICES
    from .llm.placement import QUANTIZATIONS

    parser.add_argument("--model", default=None,
                        help="preset, Hub repo id, local folder or .gguf file (default: OCR_MODEL, else the best "
                             "preset on disk, else demo); with a server, the "
                             "model it serves (default: OCR_LLM_MODEL, else its only model)")
    parser.add_argument("--backend", choices=BACKEND_CHOICES, default=None,
                        help="where the model runs (default: OCR_BACKEND, else auto: a server when a URL is given, "
                             "llama.cpp for a GGUF on a CPU where installed, else transformers)")
    parser.add_argument("--server-url", metavar="URL", help="OpenAI-compatible server, e.g. http://host:8000/v1 "
                        "(default: OCR_LLM_URL); the API key comes from OCR_LLM_API_KEY")
    parser.add_argument("--concurrency", type=positive_int, default=None,
                        help="requests in flight to a server at once (default: OCR_LLM_CONCURRENCY, else 4)")
    parser.add_argument("--prompt", type=prompt_name, default="general",
                        help="prompt name: a preset or a team prompt (default: general)")
    parser.add_argument("--max-chars", type=positive_int, default=None, metavar="N",
                        help="refuse a text longer than N characters (default: OCR_MAX_CORRECTION_CHARS, else 20000)")
    parser.add_argument("--quantization", choices=QUANTIZATIONS, default="none", help="bitsandbytes, transformers only")
    parser.add_argument("--gpu-layers", type=gpu_layers_type, default=None,
                        help="decoder layers on the GPU: N, all or auto (default: all; needs CUDA)")
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
    add_model_arguments(correct)
    correct.set_defaults(handler=cmd_correct)

    run = commands.add_parser("run", help="OCR files, then correct their text")
    run.add_argument("files", nargs="+", metavar="FILE")
    _add_ocr_arguments(run)
    add_model_arguments(run)
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
