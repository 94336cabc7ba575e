"""The models all sessions share (`st.cache_resource`), what they are doing, and the explicit release.

The user's choice (model, quantization, GPU layers, folder, download) lives in session state
under `settings.*`; the loaded weights live once per process, keyed by that choice.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import streamlit as st

from . import resources

MODEL_KEY = "settings.model"
QUANTIZATION_KEY = "settings.quantization"
GPU_LAYERS_KEY = "settings.gpu_layers"
FOLDER_KEY = "settings.model_folder"
DOWNLOAD_KEY = "settings.allow_download"
BACKEND_KEY = "settings.backend"
SERVER_URL_KEY = "settings.server_url"
DEMO_MODEL = "demo"


@dataclass(frozen=True)
class ModelChoice:
    """Everything that makes one loaded model different from another (the cache key)."""

    name: str
    quantization: str = "none"
    gpu_layers: int | str = "all"
    folder: str = ""
    allow_download: bool = False
    backend: str = "auto"  # auto | transformers | llamacpp | openai (ocr_pipeline.llm.factory)
    server_url: str = ""  # "": OCR_LLM_URL where set

    @property
    def on_server(self) -> bool:
        from ocr_pipeline.llm.factory import choose_backend

        return choose_backend(self.backend, None, server_url=self.server_url or None) == "openai"

    @property
    def label(self) -> str:
        return os.path.basename(self.name.rstrip("/")) if os.path.sep in self.name else self.name


def default_model() -> str:
    """`OCR_MODEL` where set (the tests point it at a tiny model), else the offline demo model."""
    return os.environ.get("OCR_MODEL") or DEMO_MODEL


def current_choice(name: str | None = None) -> ModelChoice:
    from ocr_pipeline.llm.factory import default_backend

    state = st.session_state
    return ModelChoice(
        name or state.get(MODEL_KEY) or default_model(),
        state.get(QUANTIZATION_KEY, "none"),
        state.get(GPU_LAYERS_KEY, "all"),
        state.get(FOLDER_KEY, ""),
        state.get(DOWNLOAD_KEY, False),
        state.get(BACKEND_KEY) or default_backend(),
        state.get(SERVER_URL_KEY, ""),
    )


class ModelHub:
    """What each model is doing (downloading, loading) and which are loaded, for every session to see."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.activity: dict[str, str] = {}  # model name -> "downloading 40%" / "loading"
        self.loaded: dict[ModelChoice, object] = {}  # choice -> LoadedModel
        self.last_release = None  # ReleaseReport of the last Release

    def set_activity(self, name: str, text: str | None) -> None:
        with self.lock:
            if text:
                self.activity[name] = text
            else:
                self.activity.pop(name, None)


@st.cache_resource(show_spinner=False)
def hub() -> ModelHub:
    return ModelHub()


def folder_path(choice: ModelChoice):
    from pathlib import Path

    return Path(choice.folder).expanduser() if choice.folder else None


def download(choice: ModelChoice, on_bytes=None):
    """Make the model's files present (downloading when allowed); `on_bytes(done, total)` reports."""
    from ocr_pipeline.llm.models import resolve_model

    def report(done: int, total: int) -> None:
        hub().set_activity(choice.name, f"downloading {done / max(total, 1):.0%}")
        if on_bytes:
            on_bytes(done, total)

    try:
        return resolve_model(choice.name, model_folder=folder_path(choice), allow_download=choice.allow_download,
                             on_progress=report)
    finally:
        hub().set_activity(choice.name, None)


@st.cache_resource(show_spinner=False)
def loaded_model(choice: ModelChoice):
    """The model in memory (or the connection to its server), created once per choice and shared by
    every session until Release."""
    from ocr_pipeline.llm.factory import create_backend
    from ocr_pipeline.llm.placement import LoadOptions

    source = None if choice.on_server else download(choice)
    hub().set_activity(choice.name, "loading")
    try:
        loaded = create_backend(source or choice.name, backend=choice.backend,
                                options=LoadOptions(quantization=choice.quantization, gpu_layers=choice.gpu_layers),
                                server_url=choice.server_url or None, model_folder=folder_path(choice))
    finally:
        hub().set_activity(choice.name, None)
    with hub().lock:
        hub().loaded[choice] = loaded
    return loaded


def backend(choice: ModelChoice, on_bytes=None):
    """A generation backend on the chosen model, downloading and loading it first where needed."""
    if choice not in hub().loaded and not choice.on_server:
        download(choice, on_bytes)  # shows byte progress to this user before the cached load
    return loaded_model(choice)


def release():
    """Free every loaded model, empty the CUDA cache, forget the cached resource; memory before/after."""
    from ocr_pipeline.llm.memory import ReleaseReport, cuda_in_use, memory_snapshot

    before = memory_snapshot()
    with hub().lock:
        models = list(hub().loaded.values())
        hub().loaded.clear()
    for loaded in models:
        loaded.release()
    loaded_model.clear()
    torch = cuda_in_use()  # never import torch just to release
    if torch is not None:
        torch.cuda.empty_cache()
    report = ReleaseReport(before, memory_snapshot())
    hub().last_release = report
    return report


def state_text(choice: ModelChoice) -> str:
    """not loaded / downloading 40% / loading / loaded on which devices."""
    activity = hub().activity.get(choice.name)
    if activity:
        return activity
    loaded = hub().loaded.get(choice)
    if loaded is None:
        return "not loaded"
    if loaded.placement is None:
        return f"connected: {loaded.describe()}"
    where = ", ".join(f"{count} layers on {device}" for device, count in loaded.placement.layers_by_device.items())
    return f"loaded: {where}"


def release_button(key: str) -> None:
    """The explicit release action; the memory before and after stays on screen until the next one."""
    if st.button("Release model", key=key, icon=":material/eject:", disabled=not hub().loaded,
                 help="Frees the model's memory for everyone; the next correction loads it again."):
        st.session_state["model.release_report"] = release().describe()
        st.rerun()  # every panel, the sidebar included, must show the model as released
    if st.session_state.get("model.release_report"):
        st.caption(f"Released. Memory {st.session_state['model.release_report']}")


def sidebar_panel() -> None:
    choice = current_choice()
    st.markdown(f"**{choice.label}** · {state_text(choice)}")
    if choice.name != DEMO_MODEL and os.path.sep not in choice.name:
        st.caption(f"quantization {choice.quantization}, GPU layers {choice.gpu_layers}")
    with hub().lock:
        others = [other for other in hub().loaded if other != choice]
    for other in others:  # the Demo page and a second model in Compare load their own
        st.caption(f"Also in memory: **{other.label}** · {state_text(other)}")
    gate = resources.generation_gate()
    if gate.busy:
        st.caption(f":material/hourglass_top: generating ({gate.holder}); {gate.waiting} waiting")
    release_button("sidebar:release")


@st.cache_data(show_spinner=False)
def layer_count(choice: ModelChoice) -> int:
    """Decoder layers of the model, read from its config (no weights), to bound the GPU-layers slider."""
    from transformers import AutoConfig

    source = download(ModelChoice(choice.name, folder=choice.folder))
    config = AutoConfig.from_pretrained(source.folder, gguf_file=source.gguf_file)
    return config.get_text_config().num_hidden_layers
