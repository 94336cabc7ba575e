"""Where a model's weights go: the load options, the GPU-layers device map, the CPU threads.

`LoadOptions.gpu_layers` means the same for every in-process backend:
- "all": the whole model on the GPU;
- N: the embeddings and the first N decoder layers on the GPU, the rest in CPU memory (0: CPU only);
- "auto": transformers fills the GPU up to `gpu_memory_gib` (default: what is free) and offloads the
  rest; llama.cpp, which has no such budget, offloads every layer.

For transformers (accelerate), CPU-held layers are streamed to the GPU at each forward pass (it
offloads; it does not compute on the CPU), which saves GPU memory at the cost of PCIe traffic per
token. With tied embeddings the LM head shares the embedding matrix, so it stays on the GPU with
it. With int8 or 4bit, bitsandbytes keeps the CPU-held modules unquantized. llama.cpp's
`n_gpu_layers` is the same count: its CPU-held layers are computed on the CPU.

Only `cuda_available` and the transformers helpers import torch, inside the functions.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Collection, Sequence

import psutil

from ocr_pipeline.errors import ModelError

QUANTIZATIONS = ("none", "int8", "4bit")
DTYPES = ("auto", "float32", "bfloat16", "float16")
GPU = "cuda:0"
CPU = "cpu"


@functools.cache
def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU. Without an NVIDIA driver on the machine the answer is no
    without importing torch (over a second on a CPU machine, paid by the first correction);
    otherwise torch is asked."""
    if not Path("/proc/driver/nvidia").exists() and not any(Path("/dev").glob("nvidia[0-9]*")):
        return False
    import torch

    return torch.cuda.is_available()


def physical_cores() -> int:
    """Cores this process may run on, one thread per physical core (hyper-threads slow llama.cpp)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    physical = psutil.cpu_count(logical=False) or usable
    return max(1, min(usable, physical))


def llama_threads() -> int:
    """llama.cpp's threads: `OCR_LLAMA_THREADS`, else one per physical core but one, left for the rest.

    llama.cpp's threads wait for each other at every layer, so one thread that loses its core
    stalls them all. On this project's 2-core machine, with OCR or another process on the other
    core, two threads took 7 s to 124 s for a receipt's 331 prompt and 128 new tokens, one thread
    3.0-3.9 s (docs/benchmarks.md). The app always shares its cores (OCR, the web server).
    """
    configured = os.environ.get("OCR_LLAMA_THREADS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, physical_cores() - 1)


def llama_batch_threads(threads: int) -> int:
    """llama.cpp's threads for reading the prompt: every physical core (at least `threads`).

    A prompt is read in large batches, which split evenly and finish in one burst, unlike the
    token-by-token decoding that a busy core stalls: on this 2-core machine the 365-token receipt
    prompt took 0.9-1.0 s with two threads against 1.7-1.8 s with one, and 1.7-2.3 s with two
    while a busy loop held the other core (docs/benchmarks.md).
    """
    return max(threads, physical_cores())


@dataclass(frozen=True)
class LoadOptions:
    quantization: str = "none"  # none | int8 | 4bit (bitsandbytes, transformers only; 4bit is NF4)
    device: str = "auto"  # auto (CUDA when present) | cuda | cpu
    gpu_layers: int | str = "all"  # "all" | "auto" | N (0: CPU only): see the module docstring
    gpu_memory_gib: float | None = None  # GPU budget for gpu_layers="auto"
    dtype: str = "auto"  # auto | float32 | bfloat16 | float16 (transformers only)

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


def llama_gpu_layers(options: LoadOptions) -> int:
    """`n_gpu_layers` for llama.cpp: -1 offloads every layer, 0 none, N the first N."""
    if options.device == "cpu":
        return 0
    if options.gpu_layers in ("all", "auto"):
        return -1
    return int(options.gpu_layers)


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


def gpu_layer_map_for(folder: Path, gpu_layers: int) -> dict[str, str]:
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


def count_layers_by_device(device_map: dict[str, str], layer_prefix: str, layer_count: int) -> dict[str, int]:
    """Decoder layers per device; a map entry may name a layer or any module holding it ("" = all)."""
    counts: dict[str, int] = {}
    for index in range(layer_count):
        name = f"{layer_prefix}.{index}"
        owner = max((key for key in device_map if key == "" or name == key or name.startswith(key + ".")), key=len)
        device = GPU if device_map[owner] in ("0", "cuda") else device_map[owner]  # accelerate writes 0
        counts[device] = counts.get(device, 0) + 1
    return counts


def layers_split(layer_count: int, gpu_layers: int) -> dict[str, int]:
    """Decoder layers per device for llama.cpp's `n_gpu_layers` (-1: all on the GPU)."""
    on_gpu = layer_count if gpu_layers < 0 else min(gpu_layers, layer_count)
    split = {GPU: on_gpu, CPU: layer_count - on_gpu}
    return {device: count for device, count in split.items() if count}
