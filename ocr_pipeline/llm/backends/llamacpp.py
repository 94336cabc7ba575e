"""llama.cpp in process (llama-cpp-python): a GGUF file decoded greedily, streamed, on the CPU or
with `n_gpu_layers` layers on the GPU.

On a CPU this is the fast path: llama.cpp decodes the 4-bit demo model several times faster than
transformers, whose per-token Python overhead dominates for small models. llama-cpp-python ships
only as a source package (it builds with cmake and a C compiler; `scripts/setup.sh` builds it
once and caches the wheel); without it this backend reports itself unavailable and the app uses
transformers. `LlamaServer` runs the same package's OpenAI-compatible server
(`python -m llama_cpp.server`) for the tests and the benchmarks.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ocr_pipeline.chunking import DEFAULT_TOKEN_BUDGET, max_new_tokens_for
from ocr_pipeline.errors import ModelError, ModelReleased

from ..base import ChatMessages, Generation, TokenCallback, check_requests
from ..memory import ReleaseReport, give_memory_back, memory_snapshot
from ..models import ModelSource, missing_files
from ..placement import (
    CPU,
    GPU,
    LoadOptions,
    Placement,
    layers_split,
    llama_batch_threads,
    llama_gpu_layers,
    llama_threads,
)

log = logging.getLogger(__name__)

PACKAGE = "llama-cpp-python"
VERSION = "0.3.36"
INSTALL_HINT = (
    f"`bash scripts/setup.sh app` builds {PACKAGE} {VERSION} once (cmake and a C compiler; a few minutes) "
    "and caches the wheel"
)
PROMPT_ALLOWANCE = 1024  # tokens for the instruction, the rules and a few examples (the presets take ~250)
CONTEXT_STEP = 256
SEED = 0


def llamacpp_status() -> tuple[bool, str]:
    """Whether llama-cpp-python can be used here, and a sentence saying so (with the fix if not)."""
    if importlib.util.find_spec("llama_cpp") is None:
        return False, f"{PACKAGE} is not installed, so GGUF models run through transformers: {INSTALL_HINT}."
    try:
        import llama_cpp
    except (ImportError, OSError) as error:  # a wheel built for another machine: its library does not load
        return False, f"{PACKAGE} is installed but does not load ({error}): {INSTALL_HINT}."
    version = importlib.metadata.version(PACKAGE)
    build = "with GPU offload" if llama_cpp.llama_supports_gpu_offload() else "CPU build"
    return True, f"{PACKAGE} {version} ({build})"


def gpu_offload_available() -> bool:
    """Whether the installed llama.cpp build can put layers on a GPU."""
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def context_tokens(token_budget: int = DEFAULT_TOKEN_BUDGET, prompt_tokens: int = PROMPT_ALLOWANCE) -> int:
    """The context to allocate: the prompt, the largest chunk and its answer, in steps of 256.

    Sized from the chunk budget rather than the model's training context (often 8k-128k tokens),
    whose KV cache would cost memory no chunk uses.
    """
    needed = prompt_tokens + token_budget + max_new_tokens_for(token_budget)
    return -(-needed // CONTEXT_STEP) * CONTEXT_STEP


def _file_type(metadata: dict[str, str]) -> str:
    """The GGUF's quantization (Q4_1, F16...) from `general.file_type`."""
    from gguf import LlamaFileType

    try:
        return LlamaFileType(int(metadata.get("general.file_type", -1))).name.removeprefix("MOSTLY_")
    except ValueError:
        return "unknown"


class LlamaCppBackend:
    """`ModelBackend` on a GGUF file in this process: one generation at a time, streamed.

    `gpu_layers` maps to llama.cpp's `n_gpu_layers` (see `ocr_pipeline.llm.placement`); threads
    are the physical cores; the context is sized from the chunk budget; decoding is greedy
    (temperature 0, no repetition penalty, a fixed seed); token counts come from the model's own
    tokenizer.
    """

    kind = "llamacpp"
    concurrency = 1
    supports_batching = False  # one sequence at a time; each request streams

    def __init__(
        self,
        source: ModelSource,
        options: LoadOptions | None = None,
        *,
        context: int | None = None,
        threads: int | None = None,
    ):
        options = options or LoadOptions()
        if options.quantization != "none":
            raise ModelError(
                f"Quantization {options.quantization} is a transformers (bitsandbytes) option: llama.cpp runs the "
                "GGUF file's own quantization. Choose quantization none, or the transformers backend."
            )
        if source.gguf_file is None:
            raise ModelError(f"Model '{source.name}' is a transformers folder: llama.cpp needs a .gguf file.")
        problem = missing_files(source)
        if problem:
            raise ModelError(f"Model '{source.name}' cannot be loaded: {problem}.")
        installed, status = llamacpp_status()
        if not installed:
            raise ModelError(status)
        from llama_cpp import Llama

        self.name = source.name
        self.source = source
        self.threads = threads or llama_threads()
        n_gpu_layers = llama_gpu_layers(options) if gpu_offload_available() else 0
        self._lock = threading.Lock()  # one generation at a time; also held to release
        self._model_lock = threading.Lock()  # tokenizing never races a release
        self.memory_before = memory_snapshot()
        started = time.perf_counter()
        try:
            self._llm: Any = Llama(
                model_path=str(source.path),
                n_gpu_layers=n_gpu_layers,
                n_ctx=context or context_tokens(),
                n_threads=self.threads,
                n_threads_batch=llama_batch_threads(self.threads),
                seed=SEED,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as error:
            raise ModelError(f"llama.cpp cannot load '{source.name}' from {source.path}: {error}") from error
        self.load_seconds = time.perf_counter() - started
        self.memory_after = memory_snapshot()
        metadata = self._llm.metadata
        layers = int(metadata.get(f"{metadata.get('general.architecture', 'llama')}.block_count", 0))
        by_device = layers_split(layers, n_gpu_layers)
        on_gpu = by_device.get(GPU, 0)
        device_map = {f"blk.{index}": GPU if index < on_gpu else CPU for index in range(layers)} or {"": CPU}
        self.placement = Placement(by_device, device_map, _file_type(metadata), "gguf")
        self.context = self._llm.n_ctx()
        log.info("Loaded %s", self.describe())

    def _model(self) -> Any:
        if self._llm is None:
            raise ModelReleased(f"Model '{self.name}' was released: load it again.")
        return self._llm

    @property
    def released(self) -> bool:
        return self._llm is None

    def describe(self) -> str:
        added = (self.memory_after.rss_bytes - self.memory_before.rss_bytes) / 2**20
        return (
            f"llama.cpp, {self.name}: {self.placement.describe()}; {self.threads} threads "
            f"({llama_batch_threads(self.threads)} for the prompt), context {self.context}; "
            f"loaded in {self.load_seconds:.1f} s; +{added:.0f} MiB RSS; {self.memory_after.describe()}"
        )

    def count_tokens(self, text: str) -> int:
        with self._model_lock:
            return len(self._model().tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def generate(
        self, requests: list[ChatMessages], max_new_tokens: list[int], on_token: TokenCallback | None = None
    ) -> list[Generation]:
        if not check_requests(requests, max_new_tokens):
            return []
        with self._lock:
            return [
                self._complete(index, request, limit, on_token)
                for index, (request, limit) in enumerate(zip(requests, max_new_tokens))
            ]

    def _complete(self, index: int, messages: ChatMessages, limit: int, on_token: TokenCallback | None) -> Generation:
        llm = self._model()
        settings = dict(temperature=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0, seed=SEED, max_tokens=limit)
        started = time.perf_counter()
        try:
            if on_token is None:
                text = llm.create_chat_completion(messages, **settings)["choices"][0]["message"]["content"] or ""
            else:
                pieces = []
                for chunk in llm.create_chat_completion(messages, stream=True, **settings):
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        pieces.append(piece)
                        on_token(index, piece)
                text = "".join(pieces)
        except ValueError as error:  # llama-cpp-python: the prompt does not fit the context
            raise ModelError(f"llama.cpp refused the request: {error} (context {self.context} tokens).") from error
        seconds = time.perf_counter() - started
        # Counted by the model's tokenizer, alike streamed or not (llama-cpp-python's usage can say limit + 1).
        with self._model_lock:
            new_tokens = len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))
        return Generation(text, new_tokens, seconds)

    def release(self) -> ReleaseReport:
        with self._lock, self._model_lock:
            before = memory_snapshot()
            if self._llm is not None:
                self._llm.close()
            self._llm = None
            give_memory_back()
            after = memory_snapshot()
        report = ReleaseReport(before, after)
        log.info("Released %s: %s", self.name, report.describe())
        return report


def create(
    source: ModelSource, options: LoadOptions | None = None, model_folder: Path | None = None, **settings: Any
) -> LlamaCppBackend:
    """The factory's entry point; `model_folder` is unused, llama.cpp reads the GGUF file in place."""
    return LlamaCppBackend(source, options, **settings)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LlamaServer:
    """`python -m llama_cpp.server` on 127.0.0.1 serving one GGUF under `alias`, as a context manager.

    Deterministic settings: a fixed seed, one request at a time (this server has one slot), and
    no interruption of a streamed answer by the next request (its default would cut answers
    short when requests overlap).
    """

    def __init__(
        self,
        gguf: Path,
        *,
        alias: str = "demo",
        threads: int | None = None,
        context: int | None = None,
        api_key: str | None = None,
        ready_timeout: float = 120.0,
    ):
        self.gguf, self.alias, self.api_key = Path(gguf), alias, api_key
        self.threads = threads or llama_threads()
        self.context = context or context_tokens()
        self.ready_timeout = ready_timeout
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LlamaServer:
        self.port = _free_port()
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.gguf),
            "--model_alias",
            self.alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_threads",
            str(self.threads),
            "--n_threads_batch",
            str(llama_batch_threads(self.threads)),
            "--n_ctx",
            str(self.context),
            "--seed",
            str(SEED),
            "--interrupt_requests",
            "false",
            "--verbose",
            "false",
        ]
        environment = dict(os.environ) | ({"API_KEY": self.api_key} if self.api_key else {})
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=environment)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                message = f"The llama.cpp server exited at start ({self.process.returncode}): {self.log_tail()}"
                self.stop()
                raise ModelError(message)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.2)
        message = f"The llama.cpp server did not start within {self.ready_timeout:.0f} s: {self.log_tail()}"
        self.stop()
        raise ModelError(message)

    def log_tail(self, characters: int = 2000) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-characters:].strip()

    def stop(self) -> None:
        """End the server (if still running) and drop its log."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
