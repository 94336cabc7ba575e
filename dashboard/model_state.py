"""The models all sessions share, held by `st.cache_resource`, and the explicit release.

The user's choice (model, quantization, GPU layers, folder, download) lives in session state
under `settings.*`; the loaded weights live once per process in `loaded_model`'s cache, keyed by
that choice. The cache is the one registry of what is loaded:

- it holds at most `OCR_MAX_LOADED_MODELS` models (default 2); loading another evicts the least
  recently used one;
- Release clears it; its `on_release` frees each model (after the chunk that is running) and
  empties the CUDA cache;
- a released model fails `validate`, so the next call loads it again.

Sessions never hold a model between calls: their backend (`ReloadingBackend`) asks the cache for
each chunk, so a release while others are queued or half-way through a document costs them a
reload ("reloading the model after a release"), never their work. The ledger only mirrors the
cache for the sidebar: what is in memory, and the last releases and evictions.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from collections.abc import Callable, Iterator

import streamlit as st

from ocr_pipeline.llm.models import DEMO, default_model, path_exists

from . import keys, resources

EVENTS_KEPT = 5


def max_loaded_models() -> int:
    value = os.environ.get("OCR_MAX_LOADED_MODELS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 2


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
    def kind(self) -> str:
        """The backend this choice runs on ("auto" resolved): transformers, llamacpp or openai."""
        from ocr_pipeline.llm.factory import choose_backend
        from ocr_pipeline.llm.placement import LoadOptions

        return choose_backend(
            self.backend,
            self.name,
            options=LoadOptions(quantization=self.quantization),
            server_url=self.server_url or None,
            model_folder=folder_path(self.folder),
        )

    @property
    def label(self) -> str:
        """A local folder or file by its own name; a repo id (or a name not found) as written."""
        local = os.path.sep in self.name and path_exists(Path(self.name).expanduser())
        return os.path.basename(self.name.rstrip("/")) if local else self.name


def default_name() -> str:
    """The model offered first (`ocr_pipeline.llm.models.default_model`), in the user's model folder."""
    return default_model(folder_path(st.session_state.get(keys.MODEL_FOLDER, "")))


def demo_choice() -> ModelChoice:
    """The offline demo model, in this process whatever backend the user picked for their own model."""
    from ocr_pipeline.llm.factory import in_process_backend

    return ModelChoice(DEMO, backend=in_process_backend(DEMO))


def current_choice(name: str | None = None) -> ModelChoice:
    from ocr_pipeline.llm.factory import default_backend

    state = st.session_state
    choice = ModelChoice(
        name or state.get(keys.MODEL) or default_name(),
        state.get(keys.QUANTIZATION, "none"),
        state.get(keys.GPU_LAYERS, "all"),
        state.get(keys.MODEL_FOLDER, ""),
        state.get(keys.ALLOW_DOWNLOAD, False),
        state.get(keys.BACKEND) or default_backend(),
        state.get(keys.SERVER_URL, ""),
    )
    # "auto" resolved: the same model on the same backend is one cache entry, whichever page asks
    # (the Demo page's `demo_choice` names its backend)
    return replace(choice, backend=choice.kind)


class ModelLedger:
    """What the cache holds and what it did, for every session's sidebar (the cache itself is opaque)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.activity: dict[str, str] = {}  # model name -> "downloading 40%" / "loading"
        self.loaded: dict[ModelChoice, object] = {}  # choice -> its backend (ModelBackend), while in the cache
        self.released: set[ModelChoice] = set()  # released since they were last loaded
        self.events: deque[str] = deque(maxlen=EVENTS_KEPT)  # "Released demo (Release): ..." newest last
        self._releasing = threading.local()  # why the cache is being cleared on this thread, if it is

    def set_activity(self, name: str, text: str | None) -> None:
        with self.lock:
            if text:
                self.activity[name] = text
            else:
                self.activity.pop(name, None)

    def add(self, choice: ModelChoice, loaded: object) -> None:
        with self.lock:
            self.loaded[choice] = loaded
            self.released.discard(choice)

    def forget(self, loaded: object, report) -> None:
        why = getattr(self._releasing, "why", None) or f"evicted: at most {max_loaded_models()} models stay loaded"
        with self.lock:
            for choice, held in list(self.loaded.items()):
                if held is loaded:
                    del self.loaded[choice]
                    self.released.add(choice)
                    self.events.append(f"{choice.label} {why}; memory {report.describe()}")

    @contextmanager
    def releasing(self, why: str) -> Iterator[None]:
        """Label the releases this thread triggers (otherwise they are evictions)."""
        self._releasing.why = why
        try:
            yield
        finally:
            self._releasing.why = None


@st.cache_resource(show_spinner=False)
def ledger() -> ModelLedger:
    return ModelLedger()


def folder_path(folder: str) -> Path | None:
    """The model folder a user typed ('' for the default, `OCR_MODEL_DIR`)."""
    return Path(folder).expanduser() if folder else None


def download(choice: ModelChoice, on_bytes=None):
    """Make the model's files present (downloading when allowed); `on_bytes(done, total)` reports."""
    from ocr_pipeline.llm.models import resolve_model

    def report(done: int, total: int) -> None:
        ledger().set_activity(choice.name, f"downloading {done / max(total, 1):.0%}")
        if on_bytes:
            on_bytes(done, total)

    try:
        return resolve_model(
            choice.name,
            model_folder=folder_path(choice.folder),
            allow_download=choice.allow_download,
            on_progress=report,
        )
    finally:
        ledger().set_activity(choice.name, None)


def _release(loaded) -> None:
    """`on_release` of the model cache: free the model (waits for its running chunk) and say so."""
    ledger().forget(loaded, loaded.release())


def _still_loaded(loaded) -> bool:
    return not loaded.released


@st.cache_resource(show_spinner=False, max_entries=max_loaded_models(), on_release=_release, validate=_still_loaded)
def loaded_model(choice: ModelChoice):
    """The model in memory (or the connection to its server), created once per choice and shared by
    every session until released."""
    from ocr_pipeline.llm.factory import create_backend
    from ocr_pipeline.llm.placement import LoadOptions

    source = None if choice.on_server else download(choice)
    ledger().set_activity(choice.name, "loading")
    try:
        loaded = create_backend(
            source or choice.name,
            backend=choice.backend,
            options=LoadOptions(quantization=choice.quantization, gpu_layers=choice.gpu_layers),
            server_url=choice.server_url or None,
            model_folder=folder_path(choice.folder),
        )
    finally:
        ledger().set_activity(choice.name, None)
    ledger().add(choice, loaded)
    return loaded


def backend(choice: ModelChoice, on_bytes=None, on_load: Callable[[str], None] | None = None):
    """A generation backend on the shared model, which it fetches from the cache for every call.

    `on_bytes(done, total)` shows a download; `on_load(text)` is told when the model has to be
    (re)loaded first, e.g. "reloading the model after a release".
    """
    from ocr_pipeline.reloading import ReloadingBackend

    models = ledger()
    if choice not in models.loaded and not choice.on_server:
        download(choice, on_bytes)  # shows byte progress to this user before the cached load

    def acquire():
        if on_load is not None and choice not in models.loaded:
            on_load("reloading the model after a release" if choice in models.released else "loading the model")
        return loaded_model(choice)

    return ReloadingBackend(acquire, choice.label)


@st.cache_resource(show_spinner=False)
def throughput(choice: ModelChoice):
    """Seconds per chunk measured on this model, shared by all sessions and kept between runs."""
    from ocr_pipeline.throughput import Throughput

    return Throughput.load(f"{choice.label} on {choice.kind}")


def release(why: str = "released (Release)"):
    """Free every loaded model (each after its running chunk) and report memory before and after."""
    from ocr_pipeline.llm.memory import ReleaseReport, memory_snapshot

    before = memory_snapshot()
    with ledger().releasing(why):
        loaded_model.clear()
    return ReleaseReport(before, memory_snapshot())


def state_text(choice: ModelChoice) -> str:
    """not loaded / downloading 40% / loading / loaded on which devices."""
    activity = ledger().activity.get(choice.name)
    if activity:
        return activity
    loaded = ledger().loaded.get(choice)
    if loaded is None:
        return "released" if choice in ledger().released else "not loaded"
    if loaded.placement is None:
        return f"connected: {loaded.describe()}"
    where = ", ".join(f"{count} layers on {device}" for device, count in loaded.placement.layers_by_device.items())
    return f"loaded: {where}"


def release_button(key: str) -> None:
    """The explicit release action; the memory before and after stays on screen until the next one."""
    help_text = (
        "Frees the models' memory now, after the chunk that is running. Anyone correcting or queued "
        "reloads the model when their next chunk starts; nobody's work is lost."
    )

    def release_now() -> None:  # a callback: it runs before the page is drawn again, so every panel shows it
        gate = resources.generation_gate()
        running = (
            f" A correction was running ({gate.holder or 'finishing'}) and {gate.waiting} waiting: they reload "
            "the model for their next chunk."
            if gate.busy or gate.waiting
            else ""
        )
        st.session_state[keys.RELEASE_REPORT] = f"{release().describe()}.{running}"

    st.button(
        "Release model",
        key=key,
        icon=":material/eject:",
        disabled=not ledger().loaded,
        help=help_text,
        on_click=release_now,
    )
    if st.session_state.get(keys.RELEASE_REPORT):
        st.caption(f"Released. Memory {st.session_state[keys.RELEASE_REPORT]}")


def sidebar_panel() -> None:
    choice = current_choice()
    st.markdown(f"**{choice.label}** · {state_text(choice)}")
    if choice.name != DEMO and os.path.sep not in choice.name:
        st.caption(f"quantization {choice.quantization}, GPU layers {choice.gpu_layers}")
    with ledger().lock:
        others = [other for other in ledger().loaded if other != choice]
        events = list(ledger().events)
    for other in others:  # the Demo page and a second model in Compare load their own
        st.caption(f"Also in memory: **{other.label}** · {state_text(other)}")
    if events:
        st.caption(f"At most {max_loaded_models()} models stay loaded. Last: {events[-1]}")
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
