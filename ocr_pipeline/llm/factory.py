"""One way to get a working backend, shared by the CLI, the benchmarks and the dashboard.

`create_backend(model, backend=...)` resolves the model (downloading when allowed), loads it in
the chosen backend and returns a `ModelBackend`; `choose_backend` says what "auto" picks:
- a server when a URL is given (`server_url`, else OCR_LLM_URL);
- on a machine without CUDA, llama.cpp for a GGUF model (the `demo` model is one) where
  llama-cpp-python is installed: it decodes several times faster than transformers there;
- transformers otherwise (the default on CUDA, and the only one for a transformers folder).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from ocr_pipeline.errors import ModelError

from .backends import BACKENDS
from .base import ModelBackend
from .models import ModelSource, ProgressCallback, parse_model_name, resolve_model
from .placement import LoadOptions, cuda_available

AUTO = "auto"
BACKEND_CHOICES = (AUTO, *BACKENDS)
ENV_BACKEND = "OCR_BACKEND"


def server_url_given(server_url: str | None = None) -> str | None:
    """The server URL in force: the one given, else OCR_LLM_URL, else None."""
    from .backends.openai import ENV_URL

    return server_url or os.environ.get(ENV_URL) or None


def default_backend() -> str:
    """OCR_BACKEND where set (a deployment pointing every user at a server), else auto."""
    value = os.environ.get(ENV_BACKEND) or AUTO
    if value not in BACKEND_CHOICES:
        raise ModelError(f"{ENV_BACKEND}={value!r} is not one of {', '.join(BACKEND_CHOICES)}.")
    return value


def _is_gguf(model: ModelSource | str, model_folder: Path | None) -> bool:
    if isinstance(model, ModelSource):
        return model.gguf_file is not None
    try:
        return parse_model_name(model, model_folder).gguf_file is not None
    except ModelError:
        return False


def choose_backend(
    backend: str,
    model: ModelSource | str | None,
    *,
    options: LoadOptions | None = None,
    server_url: str | None = None,
    model_folder: Path | None = None,
) -> str:
    """The concrete backend `backend` stands for ("auto": see the module docstring; a bitsandbytes
    quantization keeps transformers, the only backend that has it)."""
    if backend not in BACKEND_CHOICES:
        raise ModelError(f"Backend '{backend}' is not one of {', '.join(BACKEND_CHOICES)}.")
    if backend != AUTO:
        return backend
    if server_url_given(server_url):
        return "openai"
    quantized = options is not None and options.quantization != "none"
    if model is not None and not quantized and _is_gguf(model, model_folder):
        from .backends.llamacpp import llamacpp_status

        if not cuda_available() and llamacpp_status()[0]:
            return "llamacpp"
    return "transformers"


def in_process_backend(model: ModelSource | str) -> str:
    """The backend "auto" picks for `model` in this process, even where a server is configured (the Demo page)."""
    kind = choose_backend(AUTO, model, server_url=None)
    if kind != "openai":
        return kind
    if _is_gguf(model, None) and not cuda_available():
        from .backends.llamacpp import llamacpp_status

        if llamacpp_status()[0]:
            return "llamacpp"
    return "transformers"


def gpu_layers_apply(kind: str) -> bool:
    """Whether `gpu_layers` changes anything for this backend here (a GPU it can use)."""
    if kind == "transformers":
        return cuda_available()
    if kind == "llamacpp":
        from .backends.llamacpp import gpu_offload_available, llamacpp_status

        return llamacpp_status()[0] and gpu_offload_available()
    return False


def create_backend(
    model: ModelSource | str | None = None,
    *,
    backend: str = AUTO,
    options: LoadOptions | None = None,
    server_url: str | None = None,
    model_folder: Path | None = None,
    allow_download: bool = False,
    on_progress: ProgressCallback | None = None,
    **settings: Any,
) -> ModelBackend:
    """A loaded, ready backend for `model`; release it with `.release()`.

    For the server backend `model` names the model on the server (None: the one it serves, or
    OCR_LLM_MODEL) and `settings` override `ServerSettings` fields (concurrency, timeouts, retries);
    for llama.cpp they are `context` and `threads`, for transformers `batching`.
    """
    kind = choose_backend(backend, model, options=options, server_url=server_url, model_folder=model_folder)
    module = importlib.import_module(f"{__package__}.backends.{kind}")
    if kind == "openai":
        name = model.name if isinstance(model, ModelSource) else model
        return module.create(module.ServerSettings.from_env(server_url, name, **settings))
    if model is None:
        raise ModelError("Name a model to load: a preset, a Hub repo id, a folder or a .gguf file.")
    if isinstance(model, str):
        model = resolve_model(model, model_folder=model_folder, allow_download=allow_download, on_progress=on_progress)
    return module.create(model, options, model_folder, **settings)
