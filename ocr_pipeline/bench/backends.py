"""The generation backends side by side: the same document through each, in one run, as ratios
to transformers; and a server's throughput as concurrent requests grow.

Each backend corrects the same text with `correct_text` (same chunks, prompt, guard and token
limits, streamed as the dashboard does), after one warm-up call; the repeats rotate which backend
goes first, so load from other processes falls on all alike. The server is given
`length_is_error=False` here, so an answer cut at max_tokens counts its tokens as it does in
process and every backend does the same work.
Without a `server_url`, a llama.cpp server is started on 127.0.0.1 for the model's GGUF file;
with one, the server's own model is measured (OCR_LLM_MODEL, else the one it serves).
On CUDA, transformers also runs one chunk at a time, to set its batching against one-by-one.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from dataclasses import dataclass, field
from collections.abc import Sequence

import psutil

from ..errors import PipelineError
from .common import MIB, Progress, load_average, machine_info
from .correction import resolve_prompt
from .report import Report, format_table, median_or_none

CONCURRENCY_LEVELS = (1, 2, 4, 8)


def default_receipt() -> str:
    from .. import samples

    return "\n".join(samples.RECEIPT_LINES)


@dataclass
class BackendRun:
    label: str  # transformers, llamacpp, openai; "transformers, one by one" on CUDA
    backend: str
    description: str = ""
    load_seconds: float | None = None
    memory_added_mib: float | None = None  # RSS this process gained loading it; for a local server, the server's RSS
    seconds: list[float] = field(default_factory=list)  # correct_text wall time, one per repeat
    new_tokens: int = 0  # per run of the document
    tokens_per_second: float | None = None  # median over repeats: new tokens / generation time (as `bench correct`)
    decode_tokens_per_second: float | None = None  # median: from each chunk's first streamed piece to its last
    chunks_per_second: float | None = None
    speedup: float | None = None  # transformers' median seconds / this backend's
    tokens_per_second_ratio: float | None = None  # this backend's tokens/s / transformers'
    error: str = ""


@dataclass
class ThroughputRun:
    concurrency: int
    requests: int
    seconds: list[float]  # one per pass
    new_tokens: int
    tokens_per_second: float
    requests_per_second: float


@dataclass
class BackendsBenchmark(Report):
    kind = "backends"

    model: str
    prompt: str
    text_characters: int
    chunks: int
    repeats: int
    runs: list[BackendRun]
    server: str | None  # the server measured ("local llama.cpp server" when this run started it)
    throughput: list[ThroughputRun]
    server_vs_llamacpp: float | None  # server seconds per document at concurrency 1 / llama.cpp in process

    def title(self) -> str:
        return (
            f"Backends on {self.model}: {self.chunks} chunks ({self.text_characters} characters), prompt "
            f"{self.prompt}, {self.repeats} repeats; server: {self.server or 'not measured'}"
        )

    def table(self) -> list[dict]:
        return [
            {
                "backend": r.label,
                "load s": r.load_seconds,
                "+MiB": r.memory_added_mib,
                "s/document (median)": median_or_none(r.seconds),
                "tokens/s": r.tokens_per_second,
                "decode tokens/s": r.decode_tokens_per_second,
                "chunks/s": r.chunks_per_second,
                "tokens/s vs transformers": r.tokens_per_second_ratio,
                "speed-up vs transformers": r.speedup,
                "new tokens": r.new_tokens or None,
                "error": r.error or None,
            }
            for r in self.runs
        ]

    def notes(self) -> list[str]:
        notes: list[str] = []
        if self.server_vs_llamacpp is not None:
            notes.append(
                f"server at concurrency 1 / llama.cpp in process, seconds per document: {self.server_vs_llamacpp}"
            )
        if self.throughput:
            notes.append(
                format_table(
                    [
                        {
                            "concurrent requests": t.concurrency,
                            "requests": t.requests,
                            "seconds": " ".join(map(str, t.seconds)),
                            "tokens/s": t.tokens_per_second,
                            "requests/s": t.requests_per_second,
                        }
                        for t in self.throughput
                    ]
                )
            )
        notes += [f"{r.label}: {r.description}" for r in self.runs if r.description]
        return notes


def _median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 3)


def _decode_rate(result, stamps: dict[int, list[float]]) -> float | None:
    """Tokens after the first, over the time from each chunk's first streamed piece to its last."""
    tokens = seconds = 0.0
    for chunk in result.chunks:
        times = stamps.get(chunk.index, [])
        if chunk.new_tokens > 1 and len(times) > 1:
            tokens += chunk.new_tokens - 1
            seconds += times[-1] - times[0]
    return round(tokens / seconds, 1) if seconds > 0 else None


def _plan(backends: Sequence[str]) -> list[tuple[str, str, dict]]:
    from ..llm.placement import cuda_available

    plan = []
    for backend in backends:
        plan.append((backend, backend, {}))
        if backend == "transformers" and cuda_available():
            plan.append(("transformers, one by one", backend, {"batching": False}))
    return plan


def benchmark_backends(
    model: str = "demo",
    text: str | None = None,
    backends: Sequence[str] = ("transformers", "llamacpp", "openai"),
    *,
    prompt: str = "general",
    guard: str = "strict",
    repeats: int = 3,
    server_url: str | None = None,
    concurrency_levels: Sequence[int] = CONCURRENCY_LEVELS,
    throughput_requests: int = 8,
    model_folder=None,
    on_progress: Progress | None = None,
) -> BackendsBenchmark:
    """Load each backend, correct `text` (default: the sample receipt) `repeats` times with each,
    then send `throughput_requests` chunk requests to the server at each concurrency level."""
    import torch  # noqa: F401 - imported before the memory baselines, so no backend is charged for it

    from ..chunking import chunk_text, max_new_tokens_for
    from ..correction import correct_text
    from ..llm.backends.llamacpp import LlamaServer, llamacpp_status
    from ..llm.factory import create_backend
    from ..llm.memory import memory_snapshot
    from ..llm.models import resolve_model
    from ..prompts import build_messages

    unknown = sorted(set(backends) - {"transformers", "llamacpp", "openai"})
    if unknown:
        raise PipelineError(f"Unknown backend {', '.join(unknown)}: choose from transformers, llamacpp, openai.")
    load_start = load_average()
    text = text or default_receipt()
    prompt_object = resolve_prompt(prompt)
    source = resolve_model(model, model_folder=model_folder)
    plan = _plan(backends)
    runs: list[BackendRun] = []
    loaded = {}
    local_server: LlamaServer | None = None
    server_label = server_url
    steps = len(plan) * (repeats + 1) + (len(concurrency_levels) * 2 if "openai" in backends else 0)
    step = 0

    def progress(what: str) -> None:
        nonlocal step
        if on_progress:
            on_progress(step, steps, what)
        step += 1

    try:
        for label, backend, extra in plan:
            progress(f"loading {label}")
            run = BackendRun(label, backend)
            runs.append(run)
            try:
                if backend == "openai" and server_url is None:
                    if not source.gguf_file or not llamacpp_status()[0]:
                        raise PipelineError("no --server-url, and no local llama.cpp server to start for this model")
                    local_server = LlamaServer(source.path).start()
                    server_label = "local llama.cpp server (started by the benchmark)"
                before = memory_snapshot().rss_bytes
                if backend == "openai":
                    instance = create_backend(
                        None,
                        backend="openai",  # the model the server serves
                        server_url=local_server.url if local_server else server_url,
                        length_is_error=False,
                        concurrency=1,
                    )
                    server_rss = psutil.Process(local_server.process.pid).memory_info().rss if local_server else None
                    run.memory_added_mib = round(server_rss / MIB, 1) if server_rss else None
                else:
                    instance = create_backend(source, backend=backend, model_folder=model_folder, **extra)
                    run.memory_added_mib = round((memory_snapshot().rss_bytes - before) / MIB, 1)
                run.load_seconds = round(instance.load_seconds, 3)
                run.description = instance.describe()
                instance.generate([build_messages(prompt_object, "warm up")], [4])
                loaded[label] = instance
            except Exception as error:  # noqa: BLE001 - a backend that cannot run here is a row
                run.error = f"{type(error).__name__}: {error}"
        chunks = (
            [chunk for chunk in chunk_text(text, next(iter(loaded.values())).count_tokens) if chunk.needs_model]
            if loaded
            else []
        )
        measured = {label: [] for label in loaded}
        for repeat in range(repeats):
            labels = list(loaded)
            for label in labels[repeat % len(labels) :] + labels[: repeat % len(labels)]:
                progress(f"{label}, repeat {repeat + 1}")
                stamps: dict[int, list[float]] = {}
                started = time.perf_counter()
                result = correct_text(
                    text,
                    loaded[label],
                    prompt_object,
                    guard,
                    on_token=lambda index, piece, stamps=stamps: stamps.setdefault(index, []).append(
                        time.perf_counter()
                    ),
                )
                measured[label].append((time.perf_counter() - started, result, _decode_rate(result, stamps)))
        for run in runs:
            if run.label not in measured or not measured[run.label]:
                continue
            outcomes = measured[run.label]
            run.seconds = [round(seconds, 3) for seconds, _, _ in outcomes]
            run.new_tokens = sum(chunk.new_tokens for chunk in outcomes[-1][1].chunks)
            run.tokens_per_second = _median([result.tokens_per_second for _, result, _ in outcomes])
            rates = [rate for _, _, rate in outcomes if rate]
            run.decode_tokens_per_second = _median(rates) if rates else None
            run.chunks_per_second = round(len(chunks) / statistics.median(run.seconds), 3)
        baseline = next((run for run in runs if run.label == "transformers" and run.seconds), None)
        for run in runs:
            if baseline and run.seconds and run.tokens_per_second:
                run.speedup = round(statistics.median(baseline.seconds) / statistics.median(run.seconds), 2)
                run.tokens_per_second_ratio = round(run.tokens_per_second / baseline.tokens_per_second, 2)
        by_label = {run.label: run for run in runs}
        server_vs_llamacpp = None
        if (
            by_label.get("openai")
            and by_label["openai"].seconds
            and by_label.get("llamacpp")
            and by_label["llamacpp"].seconds
        ):
            server_vs_llamacpp = round(
                statistics.median(by_label["openai"].seconds) / statistics.median(by_label["llamacpp"].seconds), 3
            )
        throughput = []
        if "openai" in loaded and chunks:
            requests = [
                build_messages(prompt_object, chunks[index % len(chunks)].text) for index in range(throughput_requests)
            ]
            limits = [max_new_tokens_for(chunks[index % len(chunks)].tokens) for index in range(throughput_requests)]
            throughput = _throughput(loaded["openai"], requests, limits, concurrency_levels, progress)
    finally:
        for instance in loaded.values():
            instance.release()
        if local_server is not None:
            local_server.stop()
    if on_progress:
        on_progress(steps, steps, "done")
    return BackendsBenchmark(
        model=model,
        prompt=prompt_object.name,
        text_characters=len(text),
        chunks=len(chunks),
        repeats=repeats,
        runs=runs,
        server=server_label if "openai" in backends else None,
        throughput=throughput,
        server_vs_llamacpp=server_vs_llamacpp,
        machine=machine_info() | {"llama_cpp": llamacpp_status()[1]},
        load_average=[load_start, load_average()],
    )


def _throughput(server_backend, requests, limits, levels: Sequence[int], progress) -> list[ThroughputRun]:
    """Every level twice, up then down (1 2 4 8 8 4 2 1), so drifting load falls on all levels alike."""
    from ..llm.backends.openai import OpenAIBackend

    settings = server_backend.settings
    results: dict[int, list[tuple[float, int]]] = {level: [] for level in levels}
    for level in [*levels, *reversed(levels)]:
        progress(f"server, {level} concurrent requests")
        backend = OpenAIBackend(dataclasses.replace(settings, concurrency=level))
        try:
            started = time.perf_counter()
            generations = backend.generate(requests, limits)
            results[level].append((time.perf_counter() - started, sum(g.new_tokens for g in generations)))
        finally:
            backend.release()
    runs = []
    for level in levels:
        seconds = [value for value, _ in results[level]]
        tokens = results[level][0][1]
        runs.append(
            ThroughputRun(
                level,
                len(requests),
                [round(value, 3) for value in seconds],
                tokens,
                round(tokens / statistics.mean(seconds), 1),
                round(len(requests) / statistics.mean(seconds), 3),
            )
        )
    return runs
