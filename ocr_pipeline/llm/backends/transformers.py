"""In-process transformers: load a causal language model, place it on the GPU and/or CPU, generate, free it.

torch and transformers are imported inside the functions that need them, so importing this
module stays fast. `load_model` returns a `LoadedModel` (what is where, load time, memory);
`TransformersBackend` runs greedy generation on it for the correction step and owns it:
`release()` gives its memory back. Placement (`LoadOptions.gpu_layers`) is described in
`ocr_pipeline.llm.placement`; it applies only where CUDA is present.

The path for bitsandbytes int8 / 4-bit, device maps with CPU offload, and the default on CUDA.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Collection

import psutil

from ocr_pipeline.config import model_dir
from ocr_pipeline.errors import ModelError, ModelReleased

from ..base import ChatMessages, Generation, TokenCallback, check_requests
from ..memory import MemorySnapshot, ReleaseReport, give_memory_back, memory_snapshot
from ..models import ModelSource, missing_files, resolve_model
from ..placement import (
    CPU,
    GPU,
    LoadOptions,
    Placement,
    count_layers_by_device,
    decoder_layout,
    gpu_layer_map_for,
)

log = logging.getLogger(__name__)

# Messages bitsandbytes logs on every forward call or at import, which say nothing actionable here.
_BITSANDBYTES_NOISE = {
    "bitsandbytes.autograd._functions": "MatMul8bitLt: inputs will be cast",
    "bitsandbytes.nn.modules": "Input type into Linear4bit is torch.float16",
    "bitsandbytes.backends.cpu.ops": "Failed to load CPU gemm_4bit_forward from kernels-community",
}


class _DropMessagesStartingWith(logging.Filter):
    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


@functools.cache
def _silence_bitsandbytes() -> None:
    """Install the filters once, before bitsandbytes is imported (one message is logged at import)."""
    for logger_name, prefix in _BITSANDBYTES_NOISE.items():
        logging.getLogger(logger_name).addFilter(_DropMessagesStartingWith(prefix))


@dataclass(eq=False)
class LoadedModel:
    """A model in memory. `release_model` empties `model` and `tokenizer`."""

    name: str
    source: ModelSource
    folder: Path  # the transformers folder loaded (for a GGUF source, its converted copy)
    options: LoadOptions
    model: Any  # transformers PreTrainedModel; None once released
    tokenizer: Any  # PreTrainedTokenizerFast; None once released
    placement: Placement
    load_seconds: float
    memory_before: MemorySnapshot  # just before loading
    memory_after: MemorySnapshot  # just after loading
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # one generation at a time

    @property
    def rss_added_bytes(self) -> int:
        return self.memory_after.rss_bytes - self.memory_before.rss_bytes

    @property
    def released(self) -> bool:
        return self.model is None

    def describe(self) -> str:
        return (
            f"{self.name}: {self.placement.describe()}; loaded in {self.load_seconds:.1f} s; "
            f"+{self.rss_added_bytes / 2**20:.0f} MiB RSS; {self.memory_after.describe()}"
        )


def quantization_advice(cuda: bool) -> str:
    """What bitsandbytes quantization buys where the model runs, as measured rather than as hoped.

    On a CPU the demo model took +173 MiB RSS unquantized, +549-585 MiB with int8 and +439-796 MiB
    with 4bit (weights quantized at load, CPU kernels keep extra buffers): no saving at all.
    """
    if cuda:
        return (
            "On a GPU, int8 needs about half and 4bit (NF4) about a quarter of the GPU memory of the weights "
            "unquantized, at some cost in speed. Needs bitsandbytes."
        )
    return (
        "On a CPU, bitsandbytes saves no memory: the demo model took +173 MiB unquantized, about +570 MiB "
        "with int8 and +440-800 MiB with 4bit. To save memory on a CPU, use a GGUF file with llama.cpp."
    )


def _torch_dtype(name: str, on_cuda: bool) -> Any:
    """The compute dtype. On CPU, bfloat16 where the CPU computes it natively (AVX512-BF16 or AMX),
    which measured faster than float32 here, prompt processing most; float32 elsewhere, where
    bfloat16 is emulated and slower."""
    import torch

    if name != "auto":
        return getattr(torch, name)
    if on_cuda:
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_native_bf16() else torch.float32


def cpu_has_native_bf16() -> bool:
    import torch

    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def _quantization_config(options: LoadOptions, dtype: Any, offloads_to_cpu: bool) -> Any:
    if options.quantization == "none":
        return None
    _silence_bitsandbytes()
    from transformers import BitsAndBytesConfig

    if options.quantization == "int8":
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_enable_fp32_cpu_offload=offloads_to_cpu)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=dtype,
        llm_int8_enable_fp32_cpu_offload=offloads_to_cpu,  # the flag covers 4-bit offload too
    )


def _device_map(folder: Path, options: LoadOptions, on_cuda: bool) -> tuple[Any, dict | None]:
    """The `device_map` and `max_memory` arguments of `from_pretrained`."""
    if not on_cuda:
        return CPU, None
    if options.gpu_layers == "all":
        return {"": GPU}, None
    if options.gpu_layers == "auto":
        if options.gpu_memory_gib is None:
            return "auto", None
        return "auto", {0: f"{options.gpu_memory_gib}GiB", CPU: psutil.virtual_memory().available}
    return gpu_layer_map_for(folder, int(options.gpu_layers)), None


def _placement(model: Any, dtype: Any, quantization: str) -> Placement:
    device_map = {name: str(device) for name, device in (getattr(model, "hf_device_map", None) or {}).items()}
    if not device_map:
        device_map = {"": str(next(model.parameters()).device)}
    _, prefix = decoder_layout(model)
    layers = count_layers_by_device(device_map, prefix, model.config.get_text_config().num_hidden_layers)
    return Placement(layers, device_map, str(dtype).removeprefix("torch."), quantization)


def _converted_from_gguf(source: ModelSource, dtype: Any, model_folder: Path) -> Path:
    """The transformers folder converted from a GGUF file, converting it on first use.

    transformers re-parses the whole GGUF file (vocabulary included) for the config, the tokenizer
    and the weights, and dequantizes it: the 98 MB demo costs about 25 CPU-seconds each time,
    against about one for the converted folder. The GGUF loader also cannot be combined with
    bitsandbytes, which a converted folder can. Keyed by file size, mtime and dtype.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    stat = source.path.stat()
    dtype_name = str(dtype).removeprefix("torch.")
    target = model_folder / ".converted" / f"{source.path.stem}-{stat.st_size}-{stat.st_mtime_ns}-{dtype_name}"
    if missing_files(ModelSource(source.name, target)) is None:
        return target
    log.info("Converting %s to a transformers folder in %s (once)", source.path, target)
    tokenizer = AutoTokenizer.from_pretrained(source.folder, gguf_file=source.gguf_file)
    model = AutoModelForCausalLM.from_pretrained(
        source.folder, gguf_file=source.gguf_file, dtype=dtype, quantization_config=GgufConfig(dequantize=True)
    )
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    try:
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        partial.replace(target)
    except OSError as error:
        if missing_files(ModelSource(source.name, target)) is None:
            return target  # another process converted it meanwhile
        raise ModelError(
            f"Cannot write the converted model into {target.parent} ({error}): free some disk space "
            "or set OCR_MODEL_DIR to a writable folder."
        ) from error
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


def load_model(
    model: ModelSource | str,
    options: LoadOptions | None = None,
    *,
    model_folder: Path | None = None,
) -> LoadedModel:
    """Load a model (a `ModelSource`, or a name resolved offline in `model_folder`) for generation.

    Download first with `ocr_pipeline.llm.models.resolve_model(..., allow_download=True)` where needed.
    A GGUF file is converted once into `<model_folder>/.converted/` and loaded from there.
    """
    options = options or LoadOptions()
    model_folder = Path(model_folder) if model_folder else model_dir()
    source = model if isinstance(model, ModelSource) else resolve_model(model, model_folder=model_folder)
    problem = missing_files(source)
    if problem:
        raise ModelError(f"Model '{source.name}' cannot be loaded: {problem}.")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    on_cuda = options.device == "cuda" or (options.device == "auto" and torch.cuda.is_available())
    if on_cuda and not torch.cuda.is_available():
        raise ModelError("device='cuda' was asked for, but torch sees no CUDA GPU here: use device='auto' or 'cpu'.")
    if on_cuda and options.gpu_layers == 0:
        on_cuda = False
    dtype = _torch_dtype(options.dtype, on_cuda)
    before = memory_snapshot()
    started = time.perf_counter()
    try:
        folder = _converted_from_gguf(source, dtype, model_folder) if source.gguf_file else source.folder
        device_map, max_memory = _device_map(folder, options, on_cuda)
        offloads = device_map == "auto" or (isinstance(device_map, dict) and CPU in device_map.values())
        quantization_config = _quantization_config(options, dtype, offloads)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        if tokenizer.chat_template is None:
            raise ModelError(f"Model '{source.name}' has no chat template: use an instruct (chat) model.")
        loaded_model = AutoModelForCausalLM.from_pretrained(
            folder,
            dtype=dtype,
            device_map=device_map,
            max_memory=max_memory,
            quantization_config=quantization_config,
        )
    except ModelError:
        raise
    except torch.cuda.OutOfMemoryError as error:
        raise ModelError(
            f"Model '{source.name}' does not fit in GPU memory: use quantization 4bit, fewer gpu_layers "
            f"or gpu_layers='auto' with a gpu_memory_gib budget. ({error})"
        ) from error
    except MemoryError as error:
        raise ModelError(f"Model '{source.name}' does not fit in RAM: use a smaller model or 4bit.") from error
    except Exception as error:  # transformers, safetensors and gguf raise many types for bad files
        raise ModelError(
            f"Cannot load model '{source.name}' from {source.path}: {type(error).__name__}: {error}"
        ) from error
    load_seconds = time.perf_counter() - started
    tokenizer.padding_side = "left"  # batched generation appends new tokens on the right
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    placement = _placement(loaded_model, dtype, options.quantization)
    loaded = LoadedModel(
        source.name,
        source,
        folder,
        options,
        loaded_model,
        tokenizer,
        placement,
        load_seconds,
        before,
        memory_snapshot(),
    )
    log.info("Loaded %s", loaded.describe())
    return loaded


def release_model(loaded: LoadedModel) -> ReleaseReport:
    """Free the model's memory (waits for a running generation) and report memory before and after.

    Note for GPU checks: 8-bit bitsandbytes models with a device map have not always given their
    GPU memory back on del + empty_cache upstream; compare `cuda_reserved_bytes` in the report.
    """
    with loaded.lock:
        before = memory_snapshot()
        loaded.model = None
        loaded.tokenizer = None
        give_memory_back()
        after = memory_snapshot()
    log.info("Released %s: %s", loaded.name, ReleaseReport(before, after).describe())
    return ReleaseReport(before, after)


def _streamer(tokenizer: Any, on_text: Any) -> Any:
    """A TextStreamer that hands each finished piece of text to `on_text` instead of printing it."""
    from transformers import TextStreamer

    class CallbackStreamer(TextStreamer):
        def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
            if text:
                on_text(text)

    return CallbackStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)


class TransformersBackend:
    """`GenerationBackend` over a `LoadedModel`: greedy decoding, one generation at a time.

    Batching (one `generate` call for several requests, left-padded) is on where the model is on
    CUDA; on CPU requests run one by one, so that each one streams.
    `on_token` streams token by token only when requests run one by one; in a batch each
    request's text is handed to `on_token` in one piece when the batch finishes.
    `Generation.seconds` is the time of the `generate` call that produced it (shared in a batch).
    """

    kind = "transformers"
    concurrency = 1

    def __init__(self, loaded: LoadedModel, *, batching: bool | None = None):
        self.loaded = loaded
        self.name = loaded.name
        self.supports_batching = loaded.placement.on_cuda if batching is None else batching
        self._tokenizer_lock = threading.Lock()  # the fast tokenizer's padding state is shared

    @property
    def placement(self) -> Placement:
        return self.loaded.placement

    @property
    def load_seconds(self) -> float:
        return self.loaded.load_seconds

    @property
    def released(self) -> bool:
        return self.loaded.released

    def describe(self) -> str:
        return f"transformers, {self.loaded.describe()}"

    def release(self) -> ReleaseReport:
        return release_model(self.loaded)

    def _parts(self) -> tuple[Any, Any]:
        model, tokenizer = self.loaded.model, self.loaded.tokenizer
        if model is None:
            raise ModelReleased(f"Model '{self.name}' was released: load it again.")
        return model, tokenizer

    def count_tokens(self, text: str) -> int:
        _, tokenizer = self._parts()
        with self._tokenizer_lock:
            return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    def generate(
        self, requests: list[ChatMessages], max_new_tokens: list[int], on_token: TokenCallback | None = None
    ) -> list[Generation]:
        if not check_requests(requests, max_new_tokens):
            return []
        with self.loaded.lock:
            model, tokenizer = self._parts()
            if self.supports_batching and len(requests) > 1:
                return self._run_generate(model, tokenizer, requests, max_new_tokens, on_token)
            return [
                self._run_generate(model, tokenizer, [request], [limit], on_token, first_index=index)[0]
                for index, (request, limit) in enumerate(zip(requests, max_new_tokens))
            ]

    def _run_generate(
        self,
        model: Any,
        tokenizer: Any,
        requests: list[ChatMessages],
        max_new_tokens: list[int],
        on_token: TokenCallback | None,
        first_index: int = 0,
    ) -> list[Generation]:
        import torch

        with self._tokenizer_lock:
            inputs = tokenizer.apply_chat_template(
                requests,
                add_generation_prompt=True,
                padding=True,
                return_dict=True,
                return_tensors="pt",
            ).to(model.device)
        streams = on_token is not None and len(requests) == 1
        streamer = _streamer(tokenizer, lambda text: on_token(first_index, text)) if streams else None
        eos_ids = _eos_ids(model, tokenizer)
        started = time.perf_counter()
        with torch.inference_mode():
            output = model.generate(
                **inputs,
                max_new_tokens=max(max_new_tokens),
                do_sample=False,
                repetition_penalty=1.0,  # the Hub's sampling defaults must not leak into greedy repair
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=eos_ids,
                streamer=streamer,
            )
        seconds = time.perf_counter() - started
        prompt_length = inputs["input_ids"].shape[1]
        generations = []
        for row, limit in enumerate(max_new_tokens):
            tokens = _until_eos(output[row, prompt_length : prompt_length + limit].tolist(), eos_ids)
            text = tokenizer.decode(tokens, skip_special_tokens=True)
            if on_token is not None and not streams and text:
                on_token(first_index + row, text)
            generations.append(Generation(text, len(tokens), seconds))
        return generations


def create(
    source: ModelSource,
    options: LoadOptions | None = None,
    model_folder: Path | None = None,
    batching: bool | None = None,
) -> TransformersBackend:
    """The factory's entry point: load the model and wrap it."""
    return TransformersBackend(load_model(source, options, model_folder=model_folder), batching=batching)


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    configured = model.generation_config.eos_token_id
    if configured is None:
        configured = tokenizer.eos_token_id
    return list(configured) if isinstance(configured, (list, tuple)) else [configured]


def _until_eos(tokens: list[int], eos_ids: Collection[int]) -> list[int]:
    """The tokens up to and including the first end-of-sequence token (padding follows it in a batch)."""
    for position, token in enumerate(tokens):
        if token in eos_ids:
            return tokens[: position + 1]
    return tokens
