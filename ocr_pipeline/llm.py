"""Load a causal language model with transformers, place it on the GPU and/or CPU, generate, free it.

torch and transformers are imported inside the functions that need them, so importing this
module stays fast. `load_model` returns a `LoadedModel` (what is where, load time, memory);
`TransformersBackend` runs greedy generation on it for the correction step; `release_model`
gives its memory back.

Placement (`LoadOptions.gpu_layers`, used only where CUDA is present):
- "all": the whole model on cuda:0;
- N: the embeddings and the first N decoder layers on cuda:0, the other layers, the final norm
  and the LM head in CPU memory. accelerate streams those CPU-held weights to the GPU at each
  forward pass (it offloads; it does not compute on the CPU), which saves GPU memory at the cost
  of PCIe traffic per token. With tied embeddings the LM head shares the embedding matrix, so it
  stays on the GPU with it. With int8 or 4bit, bitsandbytes keeps the CPU-held modules unquantized;
- "auto": accelerate fills the GPU up to `gpu_memory_gib` (default: what is free) and offloads the rest.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import logging
import os
import re
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Sequence

import psutil

from ocr_pipeline.backend import ChatMessages, Generation, TokenCallback
from ocr_pipeline.config import model_dir
from ocr_pipeline.errors import ModelError, ModelReleased
from ocr_pipeline.models import ModelSource, missing_files, resolve_model

log = logging.getLogger(__name__)

# Read once, when torch starts its OpenMP threads: waiting threads sleep instead of spinning. On a
# 2-core machine shared with OCR or other processes, spinning threads made CPU generation 10-60x slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

QUANTIZATIONS = ("none", "int8", "4bit")
DTYPES = ("auto", "float32", "bfloat16", "float16")
GPU = "cuda:0"
CPU = "cpu"

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


@functools.cache
def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU. Imports torch (a few seconds the first time)."""
    import torch

    return torch.cuda.is_available()


@dataclass(frozen=True)
class MemorySnapshot:
    rss_bytes: int  # resident memory of this process
    cuda_allocated_bytes: int | None = None  # None where CUDA is not in use by this process
    cuda_reserved_bytes: int | None = None

    def describe(self) -> str:
        text = f"RSS {self.rss_bytes / 2**20:.0f} MiB"
        if self.cuda_allocated_bytes is not None:
            text += (
                f", CUDA allocated {self.cuda_allocated_bytes / 2**20:.0f} MiB"
                f" / reserved {(self.cuda_reserved_bytes or 0) / 2**20:.0f} MiB"
            )
        return text


def memory_snapshot() -> MemorySnapshot:
    """Process RSS, plus CUDA memory where this process has initialised CUDA (never imports torch)."""
    rss = psutil.Process().memory_info().rss
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return MemorySnapshot(rss)
    return MemorySnapshot(rss, torch.cuda.memory_allocated(), torch.cuda.memory_reserved())


@dataclass(frozen=True)
class LoadOptions:
    quantization: str = "none"  # none | int8 | 4bit (bitsandbytes; 4bit is NF4)
    device: str = "auto"  # auto (CUDA when present) | cuda | cpu
    gpu_layers: int | str = "all"  # "all" | "auto" | N (0: CPU only): see the module docstring
    gpu_memory_gib: float | None = None  # GPU budget for gpu_layers="auto"
    dtype: str = "auto"  # auto | float32 | bfloat16 | float16

    def __post_init__(self) -> None:
        if self.quantization not in QUANTIZATIONS:
            raise ModelError(f"Quantization '{self.quantization}' is not one of {', '.join(QUANTIZATIONS)}.")
        if self.device not in ("auto", "cuda", "cpu"):
            raise ModelError(f"Device '{self.device}' is not one of auto, cuda, cpu.")
        if self.dtype not in DTYPES:
            raise ModelError(f"dtype '{self.dtype}' is not one of {', '.join(DTYPES)}.")
        if isinstance(self.gpu_layers, str) and self.gpu_layers not in ("all", "auto"):
            raise ModelError(f"gpu_layers '{self.gpu_layers}' is not 'all', 'auto' or a number of layers.")
        if isinstance(self.gpu_layers, int) and self.gpu_layers < 0:
            raise ModelError("gpu_layers cannot be negative.")


@dataclass(frozen=True)
class Placement:
    """Where the model ended up, for the dashboard and the logs."""

    layers_by_device: dict[str, int]  # decoder layers per device, e.g. {"cuda:0": 10, "cpu": 14}
    device_map: dict[str, str]  # module name -> device ({"": device} when not split)
    dtype: str
    quantization: str

    @property
    def on_cuda(self) -> bool:
        return any(device.startswith("cuda") for device in self.device_map.values())

    def describe(self) -> str:
        total = sum(self.layers_by_device.values())
        where = ", ".join(f"{count} on {device}" for device, count in self.layers_by_device.items())
        return f"{total} layers: {where} ({self.dtype}, quantization {self.quantization})"


@dataclass(frozen=True)
class ReleaseReport:
    before: MemorySnapshot
    after: MemorySnapshot

    @property
    def rss_freed_bytes(self) -> int:
        return self.before.rss_bytes - self.after.rss_bytes

    def describe(self) -> str:
        return f"before: {self.before.describe()}; after: {self.after.describe()}"


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


def decoder_layout(model: Any) -> tuple[list[str], str]:
    """The modules to place, in execution order, and the name of the decoder-layer list.

    Walks down only into the modules that contain the decoder layers (the `ModuleList` with
    `num_hidden_layers` entries), so embeddings, norms and the head come out whole and each
    layer comes out as `<prefix>.<index>`.
    """
    import torch

    layer_count = model.config.get_text_config().num_hidden_layers
    prefix = next(
        (
            name
            for name, module in model.named_modules()
            if isinstance(module, torch.nn.ModuleList) and len(module) == layer_count
        ),
        None,
    )
    if prefix is None:
        raise ModelError(f"Cannot find the {layer_count} decoder layers of {type(model).__name__} to place them.")
    names: list[str] = []

    def walk(module: Any, path: str) -> None:
        for child_name, child in module.named_children():
            child_path = f"{path}.{child_name}" if path else child_name
            if child_path == prefix:
                names.extend(f"{prefix}.{index}" for index in range(layer_count))
            elif prefix.startswith(child_path + "."):
                walk(child, child_path)
            else:
                names.append(child_path)

    walk(model, "")
    return names, prefix


def build_gpu_layer_map(
    module_names: Sequence[str],
    layer_prefix: str,
    gpu_layers: int,
    *,
    keep_on_gpu: Collection[str] = (),
) -> dict[str, str]:
    """Device map with the input side and the first `gpu_layers` layers on cuda:0, the rest on CPU.

    Modules listed before the layers (embeddings) go to the GPU, modules after them (final norm,
    LM head) to the CPU, except those in `keep_on_gpu` (an LM head tied to the embeddings, modules
    without weights such as rotary embeddings). Pure, so it is tested without CUDA.
    """
    layer_pattern = re.compile(rf"^{re.escape(layer_prefix)}\.(\d+)$")
    layer_count = sum(1 for name in module_names if layer_pattern.match(name))
    if layer_count == 0:
        raise ModelError(f"No module named {layer_prefix}.<n> to place.")
    device_map: dict[str, str] = {}
    seen_layers = False
    for name in module_names:
        match = layer_pattern.match(name)
        if match:
            seen_layers = True
            device_map[name] = GPU if int(match.group(1)) < gpu_layers else CPU
        elif name in keep_on_gpu or not seen_layers or gpu_layers >= layer_count:
            device_map[name] = GPU
        else:
            device_map[name] = CPU
    return device_map


def _gpu_layer_map_for(folder: Path, gpu_layers: int) -> dict[str, str]:
    """`build_gpu_layer_map` for this model, from its structure on the meta device (no weights read)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(folder)
    with torch.device("meta"):
        skeleton = AutoModelForCausalLM.from_config(config)
    names, prefix = decoder_layout(skeleton)
    weightless = {name for name in names if next(skeleton.get_submodule(name).parameters(), None) is None}
    tied_head = {"lm_head"} if config.get_text_config().tie_word_embeddings and "lm_head" in names else set()
    return build_gpu_layer_map(names, prefix, gpu_layers, keep_on_gpu=weightless | tied_head)


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
    return _gpu_layer_map_for(folder, int(options.gpu_layers)), None


def count_layers_by_device(device_map: dict[str, str], layer_prefix: str, layer_count: int) -> dict[str, int]:
    """Decoder layers per device; a map entry may name a layer or any module holding it ("" = all)."""
    counts: dict[str, int] = {}
    for index in range(layer_count):
        name = f"{layer_prefix}.{index}"
        owner = max((key for key in device_map if key == "" or name == key or name.startswith(key + ".")), key=len)
        device = GPU if device_map[owner] in ("0", "cuda") else device_map[owner]  # accelerate writes 0
        counts[device] = counts.get(device, 0) + 1
    return counts


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

    Download first with `ocr_pipeline.models.resolve_model(..., allow_download=True)` where needed.
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
        raise ModelError(f"Cannot load model '{source.name}' from {source.path}: {type(error).__name__}: {error}") from error
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


def _release_cpu_heap() -> None:
    """Hand freed heap pages back to the OS (glibc keeps them otherwise, and RSS would stay high)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def release_model(loaded: LoadedModel) -> ReleaseReport:
    """Free the model's memory (waits for a running generation) and report memory before and after.

    Note for GPU checks: 8-bit bitsandbytes models with a device map have not always given their
    GPU memory back on del + empty_cache upstream; compare `cuda_reserved_bytes` in the report.
    """
    with loaded.lock:
        before = memory_snapshot()
        loaded.model = None
        loaded.tokenizer = None
        gc.collect()
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.empty_cache()
        _release_cpu_heap()
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

    def __init__(self, loaded: LoadedModel, *, batching: bool | None = None):
        self.loaded = loaded
        self.name = loaded.name
        self.supports_batching = loaded.placement.on_cuda if batching is None else batching
        self._tokenizer_lock = threading.Lock()  # the fast tokenizer's padding state is shared

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
        self,
        requests: list[ChatMessages],
        max_new_tokens: list[int],
        on_token: TokenCallback | None = None,
    ) -> list[Generation]:
        if len(requests) != len(max_new_tokens):
            raise ValueError("requests and max_new_tokens differ in length")
        if any(limit < 1 for limit in max_new_tokens):
            raise ValueError("max_new_tokens must be at least 1 for every request")
        if not requests:
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
