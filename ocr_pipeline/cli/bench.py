"""`python -m ocr_pipeline bench ...`: each subcommand runs one benchmark and prints its report,
or one JSON object with `--json`."""

from __future__ import annotations

import argparse
import json
import sys

from tqdm import tqdm

from ..errors import PipelineError
from ..bench.adversarial import benchmark_adversarial, generated_texts, transcripts
from ..bench.backends import CONCURRENCY_LEVELS, benchmark_backends
from ..bench.correction import benchmark_correction, benchmark_pipeline
from ..bench.data import load_pairs, load_replay, load_scan_set
from ..bench.memory import benchmark_release
from ..bench.ocr import PLAIN_RAPIDOCR, benchmark_ocr
from ..bench.replay import benchmark_replay
from ..bench.speed import benchmark_overhead


class _StderrProgress:
    """A benchmark's `on_progress(done, total, what)` as a tqdm bar on stderr (hidden when stderr is no terminal)."""

    def __init__(self) -> None:
        self._bar: tqdm | None = None

    def __call__(self, done: int, total: int, what: str) -> None:
        if self._bar is None:
            self._bar = tqdm(total=total, file=sys.stderr, disable=None, leave=False, unit="item")
        self._bar.total = total
        self._bar.update(done - self._bar.n)
        self._bar.set_description(what[:40])
        if done >= total:
            self._bar.close()
            self._bar = None


_stderr_progress = _StderrProgress()


def _emit(report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False), flush=True)
    else:
        print(report.render(), flush=True)


def _cmd_ocr(args: argparse.Namespace) -> int:
    report = benchmark_ocr(args.folder, args.engine or ["auto", PLAIN_RAPIDOCR], args.limit, _stderr_progress)
    _emit(report, args.json)
    return 1 if any(summary.failed for summary in report.engines) else 0


def _cmd_correct(args: argparse.Namespace) -> int:
    from .correcting import load_backend
    from ..prompts import get_prompt

    get_prompt(args.prompt)  # an unknown prompt fails before the model loads
    pairs = load_pairs(args.pairs, args.limit)
    report = benchmark_correction(pairs, load_backend(args), args.prompt, args.guard, args.pairs, _stderr_progress)
    _emit(report, args.json)
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    rows = load_replay(args.file, args.limit)
    _emit(benchmark_replay(rows, args.policy, args.file, _stderr_progress), args.json)
    return 0


def _cmd_adversarial(args: argparse.Namespace) -> int:
    texts = transcripts(args.folder) if args.folder else generated_texts(args.seed)
    source = args.folder or "generated receipts and prose"
    report = benchmark_adversarial(texts, args.policy, source, args.seed, args.good_record)
    _emit(report, args.json)
    return 0 if all(tally.refused == tally.cases for tally in report.categories) else 1


def _cmd_pipeline(args: argparse.Namespace) -> int:
    from .correcting import load_backend

    load_scan_set(args.folder, args.limit)  # a folder without transcripts fails before the model loads
    report = benchmark_pipeline(
        args.folder, load_backend(args), args.engine, args.prompt, args.guard, args.limit, _stderr_progress
    )
    _emit(report, args.json)
    return 1 if any(item.error for item in report.items) else 0


def _cmd_release(args: argparse.Namespace) -> int:
    from ..llm.models import default_model, resolve_model
    from ..llm.placement import LoadOptions

    source = resolve_model(args.model or default_model(), allow_download=args.allow_download)
    options = LoadOptions(quantization=args.quantization, gpu_layers=args.gpu_layers)
    _emit(benchmark_release(source, options, args.cycles, _stderr_progress), args.json)
    return 0


def _cmd_overhead(args: argparse.Namespace) -> int:
    from .correcting import load_backend

    if args.backend != "transformers":
        raise PipelineError(
            "bench overhead compares correct_text with transformers' own generate: use --backend "
            "transformers (bench backends compares the backends)."
        )
    from ..textinput import read_text

    text = read_text(args.text_file) if args.text_file else None
    report = benchmark_overhead(load_backend(args), text, args.prompt, args.guard, args.repeats, _stderr_progress)
    _emit(report, args.json)
    return 0


def _cmd_backends(args: argparse.Namespace) -> int:
    from ..llm.models import default_model
    from ..textinput import read_text

    text = read_text(args.text_file) if args.text_file else None
    report = benchmark_backends(
        args.model or default_model(),
        text,
        args.backends,
        prompt=args.prompt,
        guard=args.guard,
        repeats=args.repeats,
        server_url=args.server_url,
        concurrency_levels=args.concurrency,
        throughput_requests=args.requests,
        on_progress=_stderr_progress,
    )
    _emit(report, args.json)
    return 1 if any(run.error for run in report.runs) else 0


def add_bench_commands(subparsers) -> None:
    """Register `bench` and its subcommands on the CLI's subparsers (each sets `handler`)."""
    from .arguments import add_model_arguments, gpu_layers_type, positive_int
    from ..guard import POLICIES
    from ..llm.placement import QUANTIZATIONS
    from ..ocr import ENGINE_NAMES

    bench = subparsers.add_parser("bench", help="measure OCR, correction, memory and speed; tables or --json")
    commands = bench.add_subparsers(
        dest="bench_command",
        required=True,
        metavar="{ocr,correct,replay,adversarial,pipeline,release,overhead,backends}",
    )

    ocr = commands.add_parser("ocr", help="CER/WER, key fields, time and memory per engine on scans with NAME.gt.txt")
    ocr.add_argument("folder", metavar="DIR")
    ocr.add_argument(
        "--engine",
        nargs="+",
        action="extend",
        choices=(*ENGINE_NAMES, PLAIN_RAPIDOCR),
        help=f"engines to compare (default: auto {PLAIN_RAPIDOCR})",
    )
    ocr.add_argument("--limit", type=positive_int, help="only the first N scans (by name)")
    ocr.add_argument("--json", action="store_true", help="one JSON object with every figure")
    ocr.set_defaults(handler=_cmd_ocr)

    correct = commands.add_parser("correct", help="CER/WER before and after correction on {ocr, gt} pairs")
    correct.add_argument("pairs", metavar="PAIRS.jsonl", help='{"ocr", "gt"} per line, or the HIPE-OCRepair schema')
    correct.add_argument("--limit", type=positive_int, help="only the first N pairs")
    add_model_arguments(correct)
    correct.set_defaults(handler=_cmd_correct)

    replay = commands.add_parser(
        "replay", help="the guard on models' recorded corrections: CER, rows worse, preference"
    )
    replay.add_argument(
        "file",
        metavar="FILE.jsonl",
        help='{"id", "row", "ocr", "gt", "outputs": {model: text}} per line; the ground truth is added',
    )
    replay.add_argument("--policy", choices=tuple(POLICIES), default="strict")
    replay.add_argument("--limit", type=positive_int, help="only the first N rows")
    replay.add_argument("--json", action="store_true", help="one JSON object with every figure")
    replay.set_defaults(handler=_cmd_replay)

    adversarial = commands.add_parser("adversarial", help="harmful changes the guard must refuse, per category")
    adversarial.add_argument(
        "folder",
        metavar="DIR",
        nargs="?",
        help="NAME.gt.txt transcripts to build the cases from (default: generated receipts and prose)",
    )
    adversarial.add_argument("--policy", choices=tuple(POLICIES), default="strict")
    adversarial.add_argument("--seed", type=int, default=0)
    adversarial.add_argument(
        "--good-record",
        action="store_true",
        help="judge every case as if the model had a good record on its document: guesses need no budget",
    )
    adversarial.add_argument("--json", action="store_true", help="one JSON object with every figure")
    adversarial.set_defaults(handler=_cmd_adversarial)

    pipeline = commands.add_parser("pipeline", help="OCR then correction on scans; key fields kept")
    pipeline.add_argument("folder", metavar="DIR")
    pipeline.add_argument("--engine", choices=ENGINE_NAMES, default="auto")
    pipeline.add_argument("--limit", type=positive_int, help="only the first N scans (by name)")
    add_model_arguments(pipeline)
    pipeline.set_defaults(handler=_cmd_pipeline)

    release = commands.add_parser("release", help="memory after each load and each release of a model")
    release.add_argument("--model", help="the model to load and release (default: as for correct)")
    release.add_argument("--cycles", type=positive_int, default=10)
    release.add_argument("--quantization", choices=QUANTIZATIONS, default="none")
    release.add_argument("--gpu-layers", type=gpu_layers_type, default="all")
    release.add_argument("--allow-download", action="store_true")
    release.add_argument("--json", action="store_true")
    release.set_defaults(handler=_cmd_release)

    overhead = commands.add_parser("overhead", help="correct_text against plain model.generate on the same chunks")
    overhead.add_argument("--text-file", metavar="F", help="text to correct (default: the project's sample pages)")
    overhead.add_argument("--repeats", type=positive_int, default=3)
    add_model_arguments(overhead)
    overhead.set_defaults(handler=_cmd_overhead, backend="transformers")  # it compares against model.generate

    backends = commands.add_parser(
        "backends",
        help="the same chunks through transformers, llama.cpp and a server; "
        "server throughput at 1, 2, 4, 8 concurrent requests",
    )
    backends.add_argument("--model", help="the model for the in-process backends (default: as for correct)")
    backends.add_argument(
        "--backends",
        nargs="+",
        choices=("transformers", "llamacpp", "openai"),
        default=["transformers", "llamacpp", "openai"],
    )
    backends.add_argument("--text-file", metavar="F", help="the document to correct (default: the sample receipt)")
    backends.add_argument("--prompt", default="general")
    backends.add_argument("--guard", choices=tuple(POLICIES), default="strict")
    backends.add_argument("--repeats", type=positive_int, default=3)
    backends.add_argument(
        "--server-url",
        metavar="URL",
        help="the server to measure (default: a llama.cpp server started on the model's GGUF)",
    )
    backends.add_argument(
        "--concurrency",
        type=positive_int,
        nargs="+",
        default=list(CONCURRENCY_LEVELS),
        help="concurrent requests to measure the server's throughput at",
    )
    backends.add_argument("--requests", type=positive_int, default=8, help="chunk requests per throughput level")
    backends.add_argument("--json", action="store_true")
    backends.set_defaults(handler=_cmd_backends)
