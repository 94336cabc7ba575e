"""Loading the model a command asked for, and correcting with progress, an estimate and Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

from tqdm import tqdm

from ..errors import PipelineError
from .output import warn


@contextlib.contextmanager
def stop_on_first_interrupt() -> Iterator[threading.Event]:
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


def correct(text: str | list[str], backend, prompt, args: argparse.Namespace, stop: threading.Event, on_token=None):
    """correct_text with a progress bar and time estimate on stderr; chunk timings kept for next time."""
    from ..chunking import chunk_text
    from ..correction import correct_text
    from ..throughput import Throughput, describe_seconds

    speed = Throughput.load(f"{backend.name} on {backend.kind}")
    tokens = [chunk.tokens for chunk in chunk_text(text, backend.count_tokens) if chunk.needs_model]
    estimate = speed.seconds_for(tokens)
    about = f"about {describe_seconds(estimate)}, from earlier runs" if estimate else "no earlier runs to estimate from"
    print(
        f"correcting {len(tokens)} chunk(s) with {backend.name} ({about}); Ctrl-C stops after the current chunk",
        file=sys.stderr,
        flush=True,
    )
    with tqdm(total=len(tokens), unit="chunk", file=sys.stderr, disable=None, leave=False) as bar:
        result = correct_text(
            text,
            backend,
            prompt,
            args.guard,
            on_token=on_token,
            should_stop=stop.is_set,
            throughput=speed,
            max_chars=args.max_chars,
            on_progress=lambda done, total, chunk: bar.update(chunk.candidate is not None),
        )
    speed.save()
    return result


def load_backend(args: argparse.Namespace):
    """Resolve (downloading only with --allow-download), load and return the backend for correction."""
    from ..llm.factory import choose_backend, create_backend, default_backend, gpu_layers_apply
    from ..llm.models import default_model
    from ..llm.placement import LoadOptions

    bar = tqdm(
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        disable=None,
        leave=False,
        desc=f"downloading {args.model}",
    )

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    options = LoadOptions(
        quantization=args.quantization, gpu_layers="all" if args.gpu_layers is None else args.gpu_layers
    )
    requested = args.backend or default_backend()
    on_server = choose_backend(requested, None, server_url=args.server_url) == "openai"
    model = args.model if on_server else args.model or default_model()  # None: the model the server serves
    kind = "openai" if on_server else choose_backend(requested, model, options=options)
    if args.gpu_layers is not None and not gpu_layers_apply(kind):
        warn(
            "--gpu-layers has no effect on a server: it places its own model."
            if on_server
            else f"--gpu-layers has no effect without CUDA ({kind} runs the model on the CPU here)."
        )
    if on_server and args.quantization != "none":
        warn("--quantization has no effect on a server: it loads its own model.")
    settings = {"concurrency": args.concurrency} if on_server and args.concurrency else {}
    try:
        backend = create_backend(
            model,
            backend=kind,
            options=options,
            server_url=args.server_url,
            allow_download=args.allow_download,
            on_progress=progress,
            **settings,
        )
    finally:
        bar.close()
    print(f"model: {backend.describe()}", file=sys.stderr)
    return backend


def read_input_text(source: str | None) -> str:
    """The text to correct, from a file or standard input, refused before any model loads if it is no text."""
    from ..textinput import read_text

    text = read_text(source or "-")
    if not text.strip():
        raise PipelineError(f"{source or 'standard input'}: the text to correct is empty.")
    return text
